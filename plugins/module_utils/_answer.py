# Copyright (c) 2026, wabiz.api_client contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Reading the Webapp's answers: the one place that checks every field the collection reads.

PRIVATE to this collection. A broken or hostile Webapp may answer JSON of any shape, type and depth. Every module
reads answers with :func:`read`: a body that is not an object or is nested too deeply, or a field that is missing or
of another type, raises :class:`AnswerError` naming the call and the field. It is a ``WAApiError``, so each module's
``api_errors`` turns it into one clear failure, never a traceback.
"""

from __future__ import annotations

from ansible_collections.wabiz.api_client.plugins.module_utils._api import WAApiError

#: No answer of Meta's reference nests half as deep; deeper ones could not even be printed in a result.
MAX_DEPTH = 32
#: ``kind`` of :func:`read` -> what the message says; ``"text"`` is a non-empty string, ``"port"`` a port number
#: written as a string (the Docker engine's ``HostPort``).
KINDS = {str: "a string", "text": "a non-empty string", int: "an integer", dict: "an object", list: "a list",
         bool: "a boolean", "port": "a port number (text)"}
#: The type of a decoded JSON value -> its name in a message.
JSON_TYPES = {bool: "a boolean", str: "a string", int: "a number", float: "a number", dict: "an object", list: "a list"}


class AnswerError(WAApiError):
    """A successful call whose body lacks a field the collection reads, or has it of another type."""

    retryable = False

    def __init__(self, call, problem):
        method, _sep, path = call.partition(" ")
        WAApiError.__init__(self, title="unexpected answer to %s" % call, details=problem, method=method, path=path)


def _is(value, kind):
    if kind == "text":
        return isinstance(value, str) and value != ""
    if kind == "port":
        return isinstance(value, str) and value.isdecimal() and len(value) < 6 and 0 < int(value) < 65536
    return isinstance(value, kind) and not (kind is int and isinstance(value, bool))


def read(answer, call, kind, *path, required=True):
    """The field at ``path`` (keys, and indexes of lists) of the JSON ``answer`` to ``call`` (``"GET /v1/health"``),
    checked to be ``kind``; with no path the body itself. A field that is null or missing is ``None`` when not
    ``required``; a field of another type always raises :class:`AnswerError`."""
    root = kind if not path else list if isinstance(path[0], int) else dict
    if not _is(answer, root):
        raise AnswerError(call, "the body must be %s, got %s" % (KINDS[root], JSON_TYPES.get(type(answer), "nothing")))
    level, depth = [answer] if isinstance(answer, (dict, list)) else [], 0
    while level:
        depth += 1
        if depth > MAX_DEPTH:
            raise AnswerError(call, "the body is nested more than %d levels deep" % MAX_DEPTH)
        level = [item for value in level for item in (value.values() if isinstance(value, dict) else value)
                 if isinstance(item, (dict, list))]
    value = answer
    for index, key in enumerate(path):
        if isinstance(value, list):
            value = value[key] if key < len(value) else None
        else:
            value = value.get(key)
        want = kind if index == len(path) - 1 else list if isinstance(path[index + 1], int) else dict
        if value is None and not required:
            return None
        if not _is(value, want):
            raise AnswerError(call, "%s must be %s, got %s" % (".".join(map(str, path[:index + 1])), KINDS[want],
                                                               JSON_TYPES.get(type(value), "nothing")))
    return value


def version(*calls):
    """The client version (``meta.version``) of the first ``(call, answer)`` that carries one, else ``None``."""
    return next(filter(None, (read(answer, call, str, "meta", "version", required=False)
                              for call, answer in calls if answer is not None)), None)
