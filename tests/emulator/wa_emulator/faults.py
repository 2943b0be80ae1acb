"""Fault rules: what ``POST /_emulator/faults`` (or ``WA_EMULATOR_FAULTS``) may configure, how a rule is taken
(one of its ``count`` consumed, compare-and-set on the setup's database) and how the Webapp injects it.

The faults live in the setup's ``faults`` record, shared by every node of the setup: the Webapp takes the
``errors``, ``drop``, ``latency_ms`` and ``restore`` rules, the CoreApps and Masters the ``crash`` rules and
``init_extra_seconds``. See tests/emulator/README.md ("Fault injection").
"""
import json
import random
import time

from .api import TITLES

RULE_KEYS = {"status", "code", "share", "count", "path_prefix", "method"}
FAULT_KEYS = {"latency_ms", "latency_path_prefix", "errors", "drop", "restore", "init_extra_seconds", "crash"}
CRASH_ROLES = ("coreapp", "master", "primary_master", "secondary_master", "any")
DEFAULT_STATUS_FOR_CODE = {1011: 503, 1014: 500, 1015: 429, 1016: 503, 1017: 503, 1018: 503}
DEFAULT_CODE_FOR_STATUS = {429: 1015, 500: 1014, 503: 1016}


class FaultError(ValueError):
    """A fault configuration the emulator cannot use (the admin interface answers 400 with its text)."""


def normalise_faults(obj):
    """The fault configuration ``obj`` checked and completed with its defaults; raises :class:`FaultError`."""
    if not isinstance(obj, dict):
        raise FaultError("faults must be a JSON object")
    unknown = set(obj) - FAULT_KEYS
    if unknown:
        raise FaultError("unknown fault keys: %s (known: %s)" % (sorted(unknown), sorted(FAULT_KEYS)))
    out = {}
    if obj.get("latency_ms"):
        out["latency_ms"] = float(obj["latency_ms"])
        if obj.get("latency_path_prefix"):
            out["latency_path_prefix"] = str(obj["latency_path_prefix"])
    for kind in ("errors", "drop"):
        rules = obj.get(kind) or []
        if isinstance(rules, dict):
            rules = [rules]
        norm = []
        for rule in rules:
            if not isinstance(rule, dict) or set(rule) - RULE_KEYS:
                raise FaultError("%s rules take only %s" % (kind, sorted(RULE_KEYS)))
            r = dict(rule)
            if kind == "errors":
                status, code = r.get("status"), r.get("code")
                if status is None and code is None:
                    raise FaultError("an error rule needs status and/or code")
                if code is not None and code not in TITLES:
                    raise FaultError("unknown error code %r" % code)
                r["status"] = int(status) if status is not None else DEFAULT_STATUS_FOR_CODE.get(code, 500)
                if code is None:
                    r["code"] = DEFAULT_CODE_FOR_STATUS.get(r["status"])
            r["share"] = float(r.get("share", 1.0))
            if r.get("count") is not None:
                r["count"] = int(r["count"])
            r.setdefault("path_prefix", "/")
            norm.append(r)
        if norm:
            out[kind] = norm
    if obj.get("restore"):
        r = dict(obj["restore"]) if isinstance(obj["restore"], dict) else {}
        if set(r) - {"status", "code", "count", "after_apply"}:
            raise FaultError("restore fault takes status, code, count, after_apply")
        r.setdefault("status", 500)
        r.setdefault("code", DEFAULT_CODE_FOR_STATUS.get(r["status"], 1014))
        r["after_apply"] = bool(r.get("after_apply", False))
        out["restore"] = r
    if obj.get("init_extra_seconds"):
        out["init_extra_seconds"] = float(obj["init_extra_seconds"])
    crash = obj.get("crash") or []
    if isinstance(crash, dict):
        crash = [crash]
    norm = []
    for rule in crash:
        if not isinstance(rule, dict) or set(rule) - {"role", "node", "count"}:
            raise FaultError("crash rules take role, node, count")
        role = rule.get("role", "coreapp")
        if role not in CRASH_ROLES:
            raise FaultError("crash role must be coreapp, master, primary_master, secondary_master or any")
        norm.append({"role": role, "node": rule.get("node"), "count": int(rule.get("count", 1))})
    if norm:
        out["crash"] = norm
    return out


def consume(db, pick, lock=None):
    """Find a rule with ``pick(faults)`` (a dict of the parsed record, or None) and consume one of its
    ``count``: compare-and-set on the record, since the Webapp and the nodes consume from the same one.
    Returns the rule (its ``count`` already reduced), or None when nothing matches or the record kept changing.
    A rule without ``count`` is returned unchanged and nothing is written."""
    if lock is None:
        return _consume(db, pick)
    with lock:
        return _consume(db, pick)


def _consume(db, pick):
    for dummy in range(50):
        raw = db.kv_get("faults") or "{}"
        faults = json.loads(raw)
        rule = pick(faults)
        if rule is None:
            return None
        if rule.get("count") is None:
            return rule
        rule["count"] -= 1
        if db.kv_cas("faults", raw, json.dumps(faults, sort_keys=True)):
            return rule
        time.sleep(0.005)
    return None


def take(db, lock, kind, path, method):
    """The first ``errors`` or ``drop`` rule matching the request (one of its count consumed), else None."""
    def pick(faults):
        for rule in faults.get(kind) or []:
            if not path.startswith(rule.get("path_prefix", "/")):
                continue
            if rule.get("method") and rule["method"].upper() != method:
                continue
            if rule.get("count") is not None and rule["count"] <= 0:
                continue
            if random.random() >= rule.get("share", 1.0):
                continue
            return rule
        return None
    return consume(db, pick, lock)


def take_restore(db, lock):
    """The ``restore`` rule (one of its count consumed), else None."""
    def pick(faults):
        rule = faults.get("restore")
        if not rule or (rule.get("count") is not None and rule["count"] <= 0):
            return None
        return rule
    return consume(db, pick, lock)


def take_crash(db, node_name, hostname, roles):
    """The first ``crash`` rule for this node (its name or hostname, one of its ``roles``), one of its count
    consumed, else None."""
    def pick(faults):
        for rule in faults.get("crash") or []:
            if rule.get("count", 1) <= 0:
                continue
            if rule.get("node") and rule["node"] not in (node_name, hostname):
                continue
            if rule.get("role", "coreapp") not in roles:
                continue
            rule.setdefault("count", 1)
            return rule
        return None
    return consume(db, pick)


NGINX_TEXT = {502: "Bad Gateway", 504: "Gateway Time-out"}


def inject(handler, path):
    """Apply the Webapp's fault rules to one request: latency, a dropped connection, or an injected error
    answer (the client's JSON error, or the nginx page of a proxy in front of it when the rule has no code).
    True when the request was answered (or dropped) here."""
    app = handler.app
    faults = app.setup.faults()
    if faults.get("latency_ms") and path.startswith(faults.get("latency_path_prefix", "/")):
        time.sleep(faults["latency_ms"] / 1000.0)
    if faults.get("drop") and take(app.setup.db, app.fault_lock, "drop", path, handler.command):
        handler.drop_connection()
        return True
    if faults.get("errors"):
        rule = take(app.setup.db, app.fault_lock, "errors", path, handler.command)
        if rule:
            status, code = rule["status"], rule.get("code")
            headers = {"Retry-After": "1"} if status in (429, 503) else None
            if code is None:
                text = NGINX_TEXT.get(status, "Error")
                body = ("<html><head><title>%d %s</title></head><body><center><h1>%d %s</h1></center>"
                        "<hr><center>nginx</center></body></html>\n" % (status, text, status, text)).encode()
                handler.send_raw(status, body, "text/html", headers)
            else:
                handler.error(status, code, "injected fault", headers)
            return True
    return False
