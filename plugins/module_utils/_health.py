# Copyright (c) 2026, wabiz.api_client contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Reading ``GET /v1/health``: one normalised view of single-instance and multiconnect answers.

PRIVATE to this collection. Used by ``health_info``, ``settings_restore`` and ``account_info`` so the
meaning of "healthy", "registered" and "topology" exists once.

Shapes (facts page, section 6):

* single instance: ``{"health": {"gateway_status": "connected"}}``;
* multiconnect: ``{"health": {"<hostname>:<container-id>": {"gateway_status": ..., "role": ...}}}``
  with roles ``primary_master``, ``secondary_master`` and ``coreapp``.

Meta's health reference (note under the response) gives two rules:

* high availability (1 shard): only one CoreApp is ``connected``; every other node, **the primary Master
  included**, reports ``disconnected``, which is normal;
* multiconnect (N >= 2 shards): N CoreApps **and** the primary Master are ``connected``; secondary Masters
  and spare CoreApps are ``disconnected``.

Meta calls ``connected`` and ``connecting`` "good" health. The collection waits for ``connected``: a node
that is still ``connecting`` cannot send the test message of step 7 yet, so it is reported in ``not_ready``.
"""

from __future__ import annotations

import time
import traceback

JMESPATH_IMPORT_ERROR = None
try:
    import jmespath
except ImportError:  # pragma: no cover - exercised by the sanity import test
    jmespath = None
    JMESPATH_IMPORT_ERROR = traceback.format_exc()

from ansible_collections.wabiz.api_client.plugins.module_utils import _answer, _wait
from ansible_collections.wabiz.api_client.plugins.module_utils._api import WAApiError

HEALTH_PATH = "/v1/health"
SHARDS_PATH = "/v1/account/shards"

STATUSES = ("connected", "connecting", "disconnected", "uninitialized", "unregistered")
MASTER_ROLES = ("primary_master", "secondary_master")
SINGLE_NAME = "single"

REASONS = {
    "connecting": "connecting to the WhatsApp servers",
    "disconnected": "disconnected",
    "uninitialized": "initialising or upgrading its schema (retry later)",
    "unregistered": "not registered (needs a restore or a registration)",
}


class HealthError(ValueError):
    """A JMESPath ``condition`` that cannot be evaluated against the health answer."""


def normalise(response):
    """Return the list of nodes of a ``/v1/health`` answer, single or multiconnect.

    Each node: ``name``, ``hostname``, ``container_id``, ``gateway_status``, ``role``.
    A single instance is one node named ``single`` with role ``coreapp``. Any other shape raises ``AnswerError``.
    """
    call = "GET " + HEALTH_PATH
    health = _answer.read(response, call, dict, "health")
    if "gateway_status" in health:
        return [dict(name=SINGLE_NAME, hostname=None, container_id=None, role="coreapp",
                     gateway_status=_answer.read(response, call, str, "health", "gateway_status"))]
    if not health:
        raise _answer.AnswerError(call, "health names no node")
    nodes = []
    for name in sorted(health):
        hostname, sep, container_id = name.rpartition(":")
        nodes.append(dict(name=name, hostname=hostname if sep else name, container_id=container_id if sep else None,
                          gateway_status=_answer.read(response, call, str, "health", name, "gateway_status"),
                          role=_answer.read(response, call, str, "health", name, "role", required=False)))
    return nodes


def is_multiconnect(nodes):
    return not (len(nodes) == 1 and nodes[0]["name"] == SINGLE_NAME)


def topology(nodes):
    """Masters and CoreApps counted from the health roles (a single instance: 0 Masters, 1 CoreApp)."""
    masters = sum(1 for n in nodes if n.get("role") in MASTER_ROLES)
    coreapps = sum(1 for n in nodes if n.get("role") == "coreapp")
    return dict(masters=masters, coreapps=coreapps)


def describe_topology(topo):
    if not topo:
        return "unknown"
    text = "%s Masters, %s CoreApps" % (topo.get("masters"), topo.get("coreapps"))
    if topo.get("shards") is not None:
        text += ", %s shards" % topo["shards"]
    return text


def registration(nodes):
    """``unregistered`` when some node reports it and none is connected or initialising, else ``registered``.

    ``uninitialized`` counts as registered: it is what the nodes report while they initialise
    after a restore.
    """
    statuses = set(n.get("gateway_status") for n in nodes)
    if "unregistered" in statuses and not statuses & {"connected", "uninitialized", "connecting"}:
        return "unregistered"
    return "registered"


def summarise(nodes, expected_shards=None):
    """The health summary: ``healthy``, ``primary_master``, ``connected_coreapps``, ``expected_shards``,
    ``not_ready`` (nodes not where they should be, each with a reason), ``registered`` and ``topology``.

    ``expected_shards`` unknown (``None``) means "at least one CoreApp connected" (and, when two or more
    are, the primary Master connected too). With 1 shard (high availability) the primary Master may report
    ``disconnected``; with N >= 2 it must be ``connected``.
    """
    multi = is_multiconnect(nodes)
    connected = [n for n in nodes if n.get("gateway_status") == "connected"]
    not_ready = []
    primary = None
    if not multi:
        node = nodes[0]
        healthy = node["gateway_status"] == "connected"
        if not healthy:
            not_ready.append(_entry(node, REASONS.get(node["gateway_status"], "unknown status %r"
                                                      % node["gateway_status"])))
        connected_coreapps = 1 if healthy else 0
    else:
        primaries = [n for n in nodes if n.get("role") == "primary_master"]
        primary = primaries[0]["name"] if primaries else None
        coreapps = [n for n in nodes if n.get("role") == "coreapp"]
        connected_coreapps = sum(1 for n in coreapps if n.get("gateway_status") == "connected")
        needed = expected_shards if expected_shards else 1
        # The primary Master is connected only with 2 or more shards (multiconnect). Shards unknown: judged
        # by what the CoreApps show (2 or more connected means multiconnect).
        master_serves = needed >= 2 or (not expected_shards and connected_coreapps >= 2)
        primary_ok = bool(primaries) and (
            primaries[0].get("gateway_status") == "connected" if master_serves
            else primaries[0].get("gateway_status") in ("connected", "disconnected"))
        if not primaries:
            not_ready.append(dict(name=None, hostname=None, container_id=None, gateway_status=None,
                                  role="primary_master", reason="no node reports the primary_master role"))
        for node in nodes:
            status = node.get("gateway_status")
            role = node.get("role")
            if status == "connected":
                continue
            if role == "primary_master":
                if master_serves or status != "disconnected":
                    not_ready.append(_entry(node, "primary Master is %s" % REASONS.get(status, status)))
            elif status in ("uninitialized", "unregistered", "connecting") or status not in STATUSES:
                not_ready.append(_entry(node, REASONS.get(status, "unknown status %r" % status)))
            elif role == "coreapp" and connected_coreapps < needed:
                not_ready.append(_entry(node, "disconnected while only %d of the %d needed CoreApps are "
                                              "connected" % (connected_coreapps, needed)))
        if connected_coreapps < needed and not any(n.get("role") == "coreapp" for n in not_ready):
            not_ready.append(dict(name=None, hostname=None, container_id=None, gateway_status=None,
                                  role="coreapp", reason="only %d of the %d needed CoreApps are connected"
                                  % (connected_coreapps, needed)))
        healthy = primary_ok and connected_coreapps >= needed
    return dict(
        healthy=healthy,
        multiconnect=multi,
        primary_master=primary,
        connected_coreapps=connected_coreapps,
        connected_nodes=len(connected),
        expected_shards=expected_shards,
        registered=registration(nodes) == "registered",
        topology=topology(nodes),
        not_ready=not_ready,
    )


def _entry(node, reason):
    entry = dict((k, node.get(k)) for k in ("name", "hostname", "container_id", "gateway_status", "role"))
    entry["reason"] = reason
    return entry


def describe_not_ready(summary):
    parts = []
    for entry in summary.get("not_ready") or []:
        who = entry.get("name") or entry.get("role") or "?"
        if entry.get("role") and entry.get("name"):
            who = "%s (%s)" % (entry["name"], entry["role"])
        parts.append("%s: %s" % (who, entry["reason"]))
    return "; ".join(parts) if parts else "all nodes where they should be"


def wait_failed(msg, summary, last_error):
    """``msg`` (what timed out) followed by what is not ready and the last error of the wait, if known."""
    if summary is not None:
        msg += "; not ready: %s" % describe_not_ready(summary)
    if last_error is not None:
        msg += "; last error: %s" % last_error.describe()
    return msg


def compile_condition(expression):
    """Compile a JMESPath condition; raises ``ValueError`` with a clear text when it is invalid."""
    if jmespath is None:
        raise RuntimeError("jmespath")
    try:
        return jmespath.compile(expression)
    except (jmespath.exceptions.JMESPathError, ValueError, TypeError, RecursionError) as exc:
        raise ValueError("condition is not a valid JMESPath expression: %s" % exc)


def view(response, nodes, summary):
    """What a custom condition is evaluated against: the raw answer (an object) plus ``nodes`` and ``summary``."""
    return dict(response, nodes=nodes, summary=summary)


def evaluate(compiled, response, nodes, summary):
    """Truthiness of a compiled JMESPath condition (JMESPath false, null, empty list/object are false)."""
    try:
        result = compiled.search(view(response, nodes, summary))
    except (jmespath.exceptions.JMESPathError, TypeError, ValueError, RecursionError) as exc:
        raise HealthError("condition cannot be evaluated against the health answer: %s" % exc)
    return bool(result), result


def shard_count(client, retries=None):
    """``GET /v1/account/shards`` → N, or ``None`` when the setup cannot tell (e.g. not registered)."""
    try:
        answer = client.get(SHARDS_PATH, auth="token", retries=retries)
    except WAApiError as error:
        if error.status in (400, 403, 404):
            return None
        raise
    return _answer.read(answer, "GET " + SHARDS_PATH, int, "account", "shards")


class HealthReader:
    """Fetch, normalise and summarise health, optionally waiting for a condition.

    ``read_shards``: read the shard count from ``/v1/account/shards`` at the first read that answers, when
    ``expected_shards`` is not given (needs a token or a password). ``clock``/``sleep`` are injectable for tests.
    """

    def __init__(self, client, expected_shards=None, condition=None, clock=time.monotonic, sleep=time.sleep,
                 read_shards=False):
        self.client = client
        self.expected_shards = expected_shards
        self.read_shards = read_shards and expected_shards is None
        self.condition = compile_condition(condition) if condition else None
        self.clock = clock
        self.sleep = sleep

    def read(self, retries=None):
        if self.read_shards:
            self.expected_shards = shard_count(self.client, retries)
            self.read_shards = False
        response = self.client.get(HEALTH_PATH, auth="any", retries=retries)
        nodes = normalise(response)
        summary = summarise(nodes, self.expected_shards)
        return response, nodes, summary

    def satisfied(self, response, nodes, summary):
        if self.condition is not None:
            return evaluate(self.condition, response, nodes, summary)[0]
        return summary["healthy"]

    def wait(self, timeout, interval=2.0):
        """Poll until satisfied. Returns ``(ok, response, nodes, summary, last_error, polls)``.

        A Webapp that does not answer yet (no answer, 5xx, 1011...) is polled again until the deadline, which
        bounds every call of the wait; any other API error is raised at once.
        """
        seen = dict(answer=(None, None, None), error=None)

        def check(deadline):
            try:
                # One attempt per poll: the loop polls again after ``interval``, never after the client's backoff.
                with self.client.within(deadline):
                    seen.update(answer=self.read(retries=0), error=None)
            except WAApiError as error:
                if not (error.retryable or (error.status is not None and error.status >= 500)):
                    raise
                seen["error"] = error
                return False
            return self.satisfied(*seen["answer"])

        ok, polls = _wait.poll(check, timeout, interval, self.clock, self.sleep)
        return (ok,) + seen["answer"] + (None if ok else seen["error"], polls)
