# Copyright (c) 2026, wabiz.api_client contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Input validation and secret masking shared by every module of this collection.

PRIVATE to this collection: no compatibility promise to other collections.

It owns, in one place:

* the rules an option value must follow beyond its Ansible type (ranges, finite numbers, URLs,
  header-safe tokens, readable text files, PEM files) and one message per broken rule that names the
  option and what is allowed (:func:`problems`, :class:`CheckedModule`);
* masking of secrets that are not options of their own: the userinfo of any URL
  (``https://user:pass@host``), credentials inside container environment values (DSNs, proxy URLs,
  ``password=...`` pairs, ``-pPASSWORD``) and values under a *name* that says they hold a secret
  (:func:`mask_url`, :func:`mask_value`, :func:`mask_secrets`).

Every module is built on :class:`CheckedModule`, so a bad value fails before anything is sent, and every
result, message and the printed module arguments have URL userinfo and environment secrets masked.
"""

from __future__ import annotations

import math
import os
import re

from ansible.module_utils.basic import AnsibleModule

SECRET_MASK = "********"
#: The documented shard counts (wa-api-facts section 7).
VALID_SHARDS = (1, 2, 4, 8, 16, 32)

#: ``scheme://userinfo@`` anywhere in a text. The userinfo runs to the last ``@`` of the authority, so a
#: password with an unencoded ``@`` is masked whole.
_URL_USERINFO = re.compile(r"(?P<head>\b[A-Za-z][A-Za-z0-9+.\-]*://)(?P<userinfo>[^/?#\s]+)@")
#: ``password=...``-like pairs in DSNs and connection strings (``host=db password=x``, ``Pwd=x;``) and the
#: ``-pPASSWORD`` of a MySQL command line.
_KV_SECRET = re.compile(r"(?P<key>\b(?:password|passwd|pwd|pass|secret|token|api_?key|access_?key|"
                        r"secret_?key|auth_?token|sslpassword)\s*[=:]\s*|(?<!\S)-p)(?P<value>[^\s;&,'\"]+)", re.I)
#: Variable and key names that say the value is a secret: a part like PASSWORD, SECRET or TOKEN anywhere
#: (``MYSQLPASSWORD``), or a word of its own like PW, PASS, KEY, PIN or PEM (``MYSQL_ROOT_PW``, ``SSL_KEY_PEM``).
_SECRET_NAME = re.compile(r"PASSW|PWD|SECRET|TOKEN|PASSPHRASE|CREDENTIAL|PRIVATE|APIKEY|API_KEY|DSN|AUTH|"
                          r"(?:^|[_.-])(?:PASS|PW|KEY|PIN|PEM)(?:$|[_.-])", re.I)
#: Secrets shorter than this are not added to Ansible's ``no_log_values`` (it would garble every short
#: word of the output); they are still masked explicitly wherever this module returns them.
MIN_NO_LOG_LENGTH = 3


# --------------------------------------------------------------------------------------------------
# Masking
# --------------------------------------------------------------------------------------------------

def mask_url(text):
    """``text`` with the userinfo of every URL in it replaced by the mask (``https://********@host``)."""
    if not isinstance(text, str) or "@" not in text:
        return text
    return _URL_USERINFO.sub(lambda m: m.group("head") + SECRET_MASK + "@", text)


def mask_value(text):
    """A value that may carry credentials (DSN, proxy URL, connection string), with them masked."""
    if not isinstance(text, str):
        return text
    return _KV_SECRET.sub(lambda m: m.group("key") + SECRET_MASK, mask_url(text))


def is_secret_name(name):
    """True when a variable or key name says it holds a secret (``MYSQL_PWD``, ``MYSQL_ROOT_PW``, ``SSL_KEY_PEM``)."""
    return bool(_SECRET_NAME.search(str(name or "")))


def mask_secrets(value, by_name=True):
    """A record or result safe to write or print: every string has URL userinfo, ``password=``-like pairs and
    ``-pPASSWORD`` masked and, with ``by_name``, values under keys named like secrets are masked too (a module's
    result keeps them: login returns its token). Use it on anything that may hold webhook URLs, container
    environments or DSNs before writing it anywhere."""
    if isinstance(value, dict):
        return dict((k, SECRET_MASK if by_name and is_secret_name(k) and isinstance(v, (str, int, float)) and v != ""
                     and not isinstance(v, bool) else mask_secrets(v, by_name)) for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return [mask_secrets(v, by_name) for v in value]
    return mask_value(value)


def secrets_in(value):
    """Every secret substring found in ``value`` (recursively): URL userinfo (whole and password part)
    and the values of ``password=``-like pairs. Used to feed Ansible's ``no_log_values``."""
    found = set()
    if isinstance(value, str):
        for match in _URL_USERINFO.finditer(value):
            userinfo = match.group("userinfo")
            found.add(userinfo)
            if ":" in userinfo:
                found.add(userinfo.split(":", 1)[1])
        for match in _KV_SECRET.finditer(value):
            found.add(match.group("value"))
    elif isinstance(value, dict):
        for key, item in value.items():
            if is_secret_name(key) and isinstance(item, str):
                found.add(item)
            found |= secrets_in(item)
    elif isinstance(value, (list, tuple)):
        for item in value:
            found |= secrets_in(item)
    return set(s for s in found if len(s) >= MIN_NO_LOG_LENGTH)


# --------------------------------------------------------------------------------------------------
# Rules: each returns None when the value is fine, else what the value must be
# --------------------------------------------------------------------------------------------------

def _number(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def int_range(low=None, high=None):
    """An integer from ``low`` to ``high`` (either may be ``None``)."""
    def rule(value):
        ok = _number(value) and math.isfinite(value) and int(value) == value and (low is None or value >= low) and \
            (high is None or value <= high)
        if ok:
            return None
        if low is not None and high is not None:
            return "an integer from %d to %d" % (low, high)
        return "an integer >= %d" % low if low is not None else "an integer <= %d" % high
    return rule


def number_range(low, high, low_open=False):
    """A finite number from ``low`` (excluded when ``low_open``) to ``high``."""
    def rule(value):
        if _number(value) and math.isfinite(value) and (value > low if low_open else value >= low) and value <= high:
            return None
        return "a number %s %s and <= %s" % (">" if low_open else ">=", _fmt(low), _fmt(high))
    return rule


def one_of(*allowed):
    def rule(value):
        return None if value in allowed and not isinstance(value, bool) else "one of %s" % ", ".join(str(a) for a in allowed)
    return rule


def health_wait_rules():
    """The rules of the health-wait options (wait_timeout, wait_interval, expected_shards) of every module
    that waits for a healthy setup."""
    return dict(
        wait_timeout=[int_range(0, 86400)],
        wait_interval=[number_range(0, 3600, low_open=True)],
        expected_shards=[one_of(*VALID_SHARDS)],
    )


def _fmt(number):
    return ("%d" % number) if float(number).is_integer() else ("%s" % number)


def non_empty():
    def rule(value):
        return None if value not in ("", [], {}) else "not empty"
    return rule


def single_line():
    """Text without line breaks or other control characters (a trailing newline from a file lookup
    is the usual cause)."""
    def rule(value):
        if isinstance(value, str) and not any(ord(c) < 32 or ord(c) == 127 for c in value):
            return None
        return "text without line breaks or control characters (strip the trailing newline of a file lookup)"
    return rule


def header_safe():
    """A token or key that can go into an HTTP header: printable ASCII, no spaces."""
    def rule(value):
        if isinstance(value, str) and value and all(33 <= ord(c) <= 126 for c in value):
            return None
        return "printable ASCII without spaces or line breaks (a token or key as the client issued it)"
    return rule


def url(schemes=("https",), example="https://wa.example.com:9090", credentials=None):
    """An absolute URL with one of ``schemes``, a host and, if given, a valid port. ``credentials``: when
    set, the URL must not carry userinfo and this text says where credentials go instead."""
    def rule(value):
        what = "a URL starting with %s, like %s" % (" or ".join("%s://" % s for s in schemes), example)
        if not isinstance(value, str) or any(c.isspace() or ord(c) < 32 for c in value):
            return what + " (no spaces or line breaks)"
        match = re.match(r"^([A-Za-z][A-Za-z0-9+.\-]*)://", value)
        if not match or match.group(1).lower() not in schemes:
            return what
        from urllib.parse import urlsplit
        try:
            parts = urlsplit(value)
            port = parts.port
        except ValueError:
            return what + " (the host or port is not valid)"
        if not parts.hostname:
            return what + " (the host name is missing)"
        if port is not None and not 1 <= port <= 65535:
            return what + " (the port must be from 1 to 65535)"
        if credentials and "@" in parts.netloc:
            return "a URL without credentials (user:password@): %s" % credentials
        return None
    return rule


def text_file(pem=False):
    """An existing, readable text file (a PEM certificate file when ``pem``)."""
    def rule(value):
        if not isinstance(value, str) or "\x00" in value:
            return "a file path"
        if not os.path.exists(value):
            return "an existing file (it does not exist)"
        if not os.path.isfile(value):
            return "a file (it is not a regular file)"
        try:
            text = read_text(value)
        except (IOError, OSError) as exc:
            return "a readable file (%s)" % (exc.strerror or exc)
        except UnicodeDecodeError:
            return "a %s (it is binary)" % ("PEM text file" if pem else "text file")
        if pem and "-----BEGIN CERTIFICATE-----" not in text:
            return "a PEM file with at least one certificate (-----BEGIN CERTIFICATE-----; it has none)"
        return None
    return rule


def docker_name():
    """A Docker container, network or volume name."""
    def rule(value):
        if isinstance(value, str) and re.match(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}\Z", value):
            return None
        return "a Docker name: 1 to 128 letters, digits, '_', '.' or '-', starting with a letter or digit"
    return rule


def path():
    """A path or a text without NUL bytes (applied to every option of type ``path`` or ``str``)."""
    def rule(value):
        return None if isinstance(value, str) and "\x00" not in value else "a text without NUL characters"
    return rule


def env_mapping():
    """Environment variables: names without ``=``, scalar values without NUL characters."""
    def rule(value):
        for key, item in (value or {}).items():
            if not isinstance(key, str) or not key or "=" in key or "\x00" in key:
                return "a mapping of variable names (no '=', not empty) to values"
            if isinstance(item, (dict, list, tuple)) or (isinstance(item, str) and "\x00" in item):
                return "a mapping of variable names to strings, numbers or booleans (%s is not)" % key
        return None
    return rule


def read_text(filename, limit=16 * 1024 * 1024):
    """The UTF-8 text of a file; raises ``OSError`` or ``UnicodeDecodeError`` (binary content)."""
    with open(filename, "rb") as handle:
        content = handle.read(limit + 1)
    if len(content) > limit:
        raise OSError("%s is larger than %d bytes" % (filename, limit))
    if b"\x00" in content:
        raise UnicodeDecodeError("utf-8", content[:1], 0, 1, "binary content (NUL bytes)")
    return content.decode("utf-8")


# --------------------------------------------------------------------------------------------------
# Checking parameters
# --------------------------------------------------------------------------------------------------

def _lookup(params, dotted):
    value = params
    for part in dotted.split("."):
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return value


def _spec_of(argument_spec, dotted):
    spec = {"options": argument_spec}
    for part in dotted.split("."):
        spec = (spec.get("options") or {}).get(part) or {}
    return spec


def _shown(value):
    text = repr(mask_value(value) if isinstance(value, str) else value)
    return text if len(text) <= 80 else text[:77] + "..."


def path_rules(argument_spec, prefix=""):
    """A NUL-free rule for every option of type ``path`` or ``str`` (and lists of them), suboptions included:
    the collection names the option on every ansible-core (on Python 3.12+ Ansible's own syslog call fails
    on a NUL, naming nothing)."""
    rules = {}
    for name, spec in (argument_spec or {}).items():
        kind = spec.get("elements") if spec.get("type") == "list" else spec.get("type", "str")
        if kind in ("path", "str"):
            rules[prefix + name] = [path()]
        if spec.get("options"):
            rules.update(path_rules(spec["options"], prefix + name + "."))
    return rules


def problems(params, rules, argument_spec=None):
    """One sentence per broken rule: ``"<option> must be <what is allowed> (got <value>)"``.

    ``rules``: dotted option name -> list of rules. Unset (``None``) options are not checked. The value
    of a ``no_log`` option is never shown.
    """
    found = []
    for name in sorted(rules):
        value = _lookup(params, name)
        if value is None:
            continue
        items = value if isinstance(value, list) and _spec_of(argument_spec or {}, name).get("type") == "list" \
            else [value]
        for item in items:
            for rule in rules[name]:
                what = rule(item)
                if what:
                    secret = _spec_of(argument_spec or {}, name).get("no_log")
                    found.append("%s must be %s%s" % (name, what, "" if secret else " (got %s)" % _shown(item)))
                    break
            else:
                continue
            break
    return found


def _defuse_infinite_ints(params, argument_spec):
    """ansible-core's type checks crash on some values (OverflowError for an infinite int or a list given
    for an int, TypeError for a number given for a dictionary with suboptions): give them a text they
    refuse cleanly instead, so that the message names the option."""
    if not isinstance(params, dict):
        return
    for name, spec in (argument_spec or {}).items():
        value = params.get(name)
        if name not in params:
            continue
        if spec.get("type") == "int":
            params[name] = _defused(value)
        elif spec.get("type") == "list" and spec.get("elements") == "int" and isinstance(value, list):
            params[name] = [_defused(item) for item in value]
        if spec.get("options") and spec.get("type") == "dict" and not isinstance(value, (dict, str, type(None))):
            # ansible-core crashes (TypeError) on a number or a list where a dictionary with suboptions is due.
            params[name] = "%r (not a dictionary)" % (value,)
        elif spec.get("options"):
            for item in (value if isinstance(value, list) else [value]):
                _defuse_infinite_ints(item, spec["options"])


def declared_secrets(params, argument_spec):
    """The values of the ``no_log`` options (suboptions too) as given, whatever their shape. ansible-core lists
    them only after its type checks, and loses the whole list (TypeError) when a dictionary with suboptions is
    given as text: a failure then printed the other secrets in the module's arguments."""
    found = set()
    if not isinstance(params, dict):
        return found
    for name, spec in (argument_spec or {}).items():
        for key in [name] + list(spec.get("aliases") or []):
            value = params.get(key)
            if value is None:
                continue
            if spec.get("no_log"):
                found.update(_texts(value))
            elif spec.get("options"):
                for item in (value if isinstance(value, list) else [value]):
                    found.update(declared_secrets(item, spec["options"]))
    return found


def _texts(value):
    """The texts of a value as ansible-core masks them: strings and numbers, inside containers too; never a
    boolean (it would mask every "True" in the result)."""
    if isinstance(value, dict):
        value = list(value.values())
    if isinstance(value, (list, tuple, set)):
        return set(text for item in value for text in _texts(item))
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        return set()
    text = value if isinstance(value, str) else str(value)
    return set([text]) if text.strip() else set()


def _defused(value):
    if isinstance(value, (list, tuple, dict)):
        # decimal.Decimal reads a sequence as (sign, digits, exponent) and may overflow.
        return "%r (not an integer)" % (value,)
    if isinstance(value, float) and math.isinf(value):
        return "%s (not finite)" % value
    if isinstance(value, str) and value.strip().lstrip("+-").lower() in ("inf", "infinity"):
        return "%s (not finite)" % value
    return value


class CheckedModule(AnsibleModule):
    """``AnsibleModule`` that checks ``rules`` (plus NUL-free paths) right after Ansible's own type checks,
    fails with one message naming every bad option before the module does anything, and masks URL
    userinfo and environment secrets in every result, message and in the printed module arguments."""

    def __init__(self, argument_spec, rules=None, **kwargs):
        self._check_rules = dict(path_rules(argument_spec))
        for name, extra in (rules or {}).items():
            self._check_rules[name] = list(self._check_rules.get(name, [])) + list(extra)
        self._type_checked = False
        super().__init__(argument_spec=argument_spec, **kwargs)
        self._check()  # a module-level no_log skips _log_invocation

    def _check(self):
        if self._type_checked:
            return
        self._type_checked = True
        self.no_log_values.update(secrets_in(self.params))
        found = problems(self.params, self._check_rules, self.argument_spec)
        if found:
            self.fail_json(msg="invalid input, nothing was changed: %s" % "; ".join(found))

    def _load_params(self):
        super()._load_params()
        self.no_log_values.update(declared_secrets(self.params, self.argument_spec))
        _defuse_infinite_ints(self.params, self.argument_spec)

    def _log_invocation(self):
        # Runs inside AnsibleModule.__init__ right after its type checks: the rules run before anything is
        # logged (syslog refuses a NUL on Python 3.12+), and URL userinfo and DSN passwords are known by then.
        self._check()
        super()._log_invocation()

    def masked_params(self):
        """The module arguments as printed in ``invocation``: URL userinfo and env secrets masked. The
        ``no_log`` options themselves are masked by Ansible afterwards, as usual."""
        return dict((k, mask_secrets(item)) for k, item in (getattr(self, "params", None) or {}).items())

    def exit_json(self, **kwargs):
        kwargs.setdefault("invocation", dict(module_args=self.masked_params()))
        super().exit_json(**mask_secrets(kwargs, by_name=False))

    def _name_the_option(self, msg):
        """Ansible's own message for a dictionary option given as unparsable text names no option."""
        if any(name in msg for name in self.argument_spec):
            return msg
        bad = [name for name, spec in self.argument_spec.items() if spec.get("type") == "dict"
               and not isinstance((getattr(self, "params", None) or {}).get(name), (dict, type(None)))]
        return "%s must be a dictionary: %s" % (" or ".join(sorted(bad)), msg) if bad else msg

    def fail_json(self, msg, **kwargs):
        if not self._type_checked:
            msg = self._name_the_option(msg)
        kwargs.setdefault("invocation", dict(module_args=self.masked_params()))
        super().fail_json(msg=mask_value(msg), **mask_secrets(kwargs, by_name=False))


class ModuleWrapper:
    """A module wrapper (``_api.WAModule``, ``_docker.DockerModule``): what it does not define itself is its
    :class:`CheckedModule`'s (``self.module``)."""

    module = None

    def __getattr__(self, name):
        return getattr(self.module, name)

    @property
    def diff_mode(self):
        return self.module._diff
