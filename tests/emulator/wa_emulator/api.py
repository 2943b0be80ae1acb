"""The Webapp's REST API (``/v1/...``, ``/metrics``): routes, authentication, the client's answers and errors.

Judged only against Meta's reference; tests/emulator/README.md records each emulator convention where the
reference is silent.
"""
import base64
import datetime
import json
import re
import secrets
import time
import urllib.parse

from . import appsettings, certs, secrets_util
from .store import VALID_SHARDS, pin_hash

TITLES = {
    1000: "Generic error", 1001: "Message too long", 1002: "Invalid recipient type", 1004: "Resource already exists", 1005: "Access denied",
    1006: "Resource not found", 1008: "Required parameter is missing", 1009: "Parameter value is not valid",
    1010: "Parameter not available",
    1011: "Service not ready", 1014: "Internal error", 1015: "Too many requests", 1016: "System overloaded",
    1017: "Not Primary Master", 1018: "Not Primary Coreapp", 1024: "Password Change Required",
}
BACKUP_FORMAT = "wa_emulator-settings-backup/1"
#: The documented shapes of a successful restore answer: "null or {}" (reference text) and {"meta": ...}
#: (Meta's own example). ``POST /_emulator/config {"restore_answer": ...}`` picks one.
RESTORE_ANSWERS = ("null", "empty", "meta")
#: Top-level fields of a POST /v1/messages body in Meta's reference (any message type).
MESSAGE_FIELDS = {"to", "type", "recipient_type", "preview_url", "text", "context", "ttl", "render_mentions",
                  "audio", "contacts", "document", "hsm", "image", "interactive", "location", "sticker",
                  "template", "video", "reaction"}
#: Paths served by the Webapp alone (its database): they answer during a failover election.
WEBAPP_ONLY = ("/v1/users", "/v1/health", "/metrics", "/v1/stats")


class ApiError(Exception):
    def __init__(self, status, code, details):
        super().__init__(details)
        self.status, self.code, self.details = status, code, details


def iso(ts):
    return datetime.datetime.fromtimestamp(ts, datetime.timezone.utc).strftime("%Y-%m-%d %H:%M:%S+00:00")


class ApiHandlers:
    """The REST API half of the Webapp's request handler (a mixin of ``webapp.WebHandler``): ``route(path)``
    answers one request under ``/v1`` or ``/metrics``; every ``h_<name>`` answers one route."""

    # ------------------------------------------------------------------ answers
    def json_body(self, required=True):
        raw = self._raw
        if not raw:
            if required:
                raise ApiError(400, 1008, "a JSON request body is required")
            return {}
        try:
            obj = json.loads(raw)
        except ValueError:
            raise ApiError(400, 1009, "the request body is not valid JSON") from None
        if not isinstance(obj, dict):
            raise ApiError(400, 1009, "the request body must be a JSON object")
        return obj

    def ok(self, status=200, body=None):
        body = dict(body or {})
        body["meta"] = self.app.meta
        self.send_json(status, body)

    def error(self, status, code, details, headers=None):
        self.send_json(status, {"errors": [{"code": code, "title": TITLES.get(code, "Error"), "details": details}],
                                "meta": self.app.meta}, headers)

    # ------------------------------------------------------------------ authentication
    def authenticate(self, level):
        """level: 'user', 'admin' or 'monitor' (Bearer, or Apikey for monitoring paths)."""
        header = self.headers.get("Authorization", "")
        scheme, dummy, cred = header.partition(" ")
        scheme = scheme.lower()
        cred = cred.strip()
        if scheme == "apikey":
            if level == "monitor" and self.app.api_key and secrets.compare_digest(cred, self.app.api_key):
                return {"username": "(apikey)", "role": "MONITOR"}
            raise ApiError(401, 1005, "invalid API key, or the API key is not accepted on this path")
        if scheme != "bearer" or not cred:
            raise ApiError(401, 1005, "missing bearer token: log in with POST /v1/users/login")
        user = self.app.setup.check_token(cred)
        if not user:
            raise ApiError(401, 1005, "invalid or expired token")
        if level == "admin" and user["role"] != "ADMIN":
            raise ApiError(403, 1005, "this endpoint needs an admin user")
        return user

    # ------------------------------------------------------------------ routing
    ROUTES = [
        (r"/v1/users/login", {"POST": ("login", None)}),
        (r"/v1/users/logout", {"POST": ("logout", "user")}),
        (r"/v1/users", {"POST": ("user_create", "admin"), "GET": ("user_list", "admin")}),
        (r"/v1/users/(?P<username>[^/]+)", {"GET": ("user_get", "admin"), "PUT": ("user_update", "admin"),
                                            "DELETE": ("user_delete", "admin")}),
        (r"/v1/health", {"GET": ("health", "monitor")}),
        (r"/metrics", {"GET": ("metrics", "monitor")}),
        (r"/v1/stats/(?P<kind>[a-z_]+)(?:/.*)?", {"GET": ("stats", "monitor")}),
        (r"/v1/settings/backup", {"POST": ("backup", "admin")}),
        (r"/v1/settings/restore", {"POST": ("restore", "admin")}),
        (r"/v1/settings/account/two-step", {"POST": ("two_step_enable", "admin"),
                                            "DELETE": ("two_step_disable", "admin")}),
        (r"/v1/settings/application", {"GET": ("settings_get", "admin"), "PATCH": ("settings_patch", "admin"),
                                       "DELETE": ("settings_reset", "admin")}),
        (r"/v1/certificates/webhooks/ca", {"GET": ("ca_get", "admin"), "POST": ("ca_post", "admin"),
                                           "DELETE": ("ca_delete", "admin")}),
        (r"/v1/account", {"POST": ("register", "admin")}),
        (r"/v1/account/verify", {"POST": ("register", "admin")}),
        (r"/v1/account/shards", {"GET": ("shards_get", "admin"), "POST": ("shards_post", "admin")}),
        (r"/v1/messages", {"POST": ("messages", "user")}),
        (r"/v1/contacts", {"POST": ("contacts", "user")}),
        (r"/v1/support", {"GET": ("support", "admin")}),
    ]
    COMPILED = [(re.compile("^" + p + "$"), m) for p, m in ROUTES]

    def route(self, path):
        method = "GET" if self.command == "HEAD" else self.command
        for regex, methods in self.COMPILED:
            m = regex.match(path)
            if not m:
                continue
            if method not in methods:
                raise ApiError(405, 1000, "method %s is not supported on %s" % (self.command, path))
            handler, level = methods[method]
            user = self.authenticate(level) if level else None
            if not path.startswith(WEBAPP_ONLY):
                self.failover_check()
            return getattr(self, "h_" + handler)(user, **m.groupdict())
        # Meta's error table lists "endpoint not found" under 1014; the HTTP status is not shown (convention: 404).
        raise ApiError(404, 1014, "endpoint not found: %s" % path)

    # ------------------------------------------------------------------ state helpers
    def failover_check(self):
        """During a failover election, answer as the client does: 1017 / 1018 (retry later).

        Multiconnect only. 1017 "Not Primary Master": Masters run but none holds the primary lease with a fresh
        heartbeat (the primary died and its lease has not expired yet, or nobody has taken it over).
        1018 "Not Primary Coreapp": a shard's CoreApp died and no other CoreApp has taken the shard over yet.
        """
        s = self.app.setup
        if not self.app.multiconnect:
            return
        nodes = s.nodes(include_gone=True)
        masters = [n for n in nodes if n["kind"] == "master"]
        fresh = time.time() - s.timing.failover_grace
        if masters and any(n["alive"] for n in masters) and not any(
                n["role"] == "primary_master" and n["heartbeat"] >= fresh for n in masters):
            raise ApiError(503, 1017, "no primary Master: a failover election is in progress, retry later")
        held = {}
        shards = s.shards() or 0
        for n in nodes:
            if n["kind"] == "coreapp" and n["shard"] is not None and n["shard"] < shards:
                held.setdefault(n["shard"], []).append(n["heartbeat"] >= fresh)
        if any(not any(flags) for flags in held.values()):
            raise ApiError(503, 1018, "a shard's CoreApp is gone and no CoreApp has taken the shard over yet: "
                           "retry later")

    def registered_running(self, what, nodes=None):
        s = self.app.setup
        reg = s.registration()
        if not reg:
            raise ApiError(400, 1011, "%s: the client is not registered" % what)
        nodes = s.nodes() if nodes is None else nodes
        if s.is_stopped(nodes):
            raise ApiError(400, 1011, "%s: the client is stopped (restart it after the restore)" % what)
        if time.time() < float(s.get_json("init_until") or 0) or s.get_json("pending_init"):
            raise ApiError(400, 1011, "%s: the client is initialising" % what)
        if not any(n["kind"] == "coreapp" for n in s.live_nodes(nodes)):
            raise ApiError(400, 1011, "%s: no CoreApp is running" % what)
        return reg

    def connected(self, what):
        nodes = self.app.setup.nodes()
        reg = self.registered_running(what, nodes)
        statuses = [n["status"] for n in self.app.setup.live_nodes(nodes) if n["kind"] == "coreapp"]
        if "connected" not in statuses:
            raise ApiError(400, 1011, "%s: not connected to the WhatsApp network (gateway status: %s)"
                           % (what, ", ".join(sorted(set(statuses))) or "none"))
        return reg

    # ------------------------------------------------------------------ users
    def h_login(self, _user):
        header = self.headers.get("Authorization", "")
        scheme, dummy, cred = header.partition(" ")
        if scheme.lower() != "basic":
            raise ApiError(401, 1005, "log in with HTTP Basic authentication")
        try:
            username, dummy, password = base64.b64decode(cred.strip()).decode("utf-8").partition(":")
        except (ValueError, UnicodeDecodeError):
            raise ApiError(401, 1005, "malformed Basic authorization header") from None
        s = self.app.setup
        user = s.get_user(username)
        if not user or not secrets_util.check_password(password, user["pwhash"]):
            raise ApiError(401, 1005, "invalid username or password")
        body = self.login_body()
        new_password = body.get("new_password")
        if new_password is None and user["must_change"]:
            raise ApiError(400, 1024, "the password must be changed on first login: send {\"new_password\": ...}")
        if new_password is not None:
            problem = secrets_util.password_problems(new_password)
            if problem:
                raise ApiError(400, 1009, problem)
            s.set_password(username, new_password)
        token, expires = s.issue_token(username)
        if s.config().get("expires_after_format") == "legacy":  # older client versions
            expires_after = datetime.datetime.fromtimestamp(expires, datetime.timezone.utc).strftime(
                "%Y-%m-%dT%H:%M:%SZ")
        else:
            expires_after = iso(expires)
        return self.ok(200, {"users": [{"token": token, "expires_after": expires_after}]})

    def login_body(self):
        """JSON, or ``new_password=...`` form-encoded (a published Helm chart for the real client sends that)."""
        ctype = (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()
        if ctype == "application/x-www-form-urlencoded" and self._raw and not self._raw.lstrip().startswith(b"{"):
            try:
                return dict(urllib.parse.parse_qsl(self._raw.decode("utf-8"), strict_parsing=True))
            except (ValueError, UnicodeDecodeError):
                raise ApiError(400, 1009, "the form-encoded body is not valid") from None
        return self.json_body(required=False)

    def h_logout(self, user):
        self.app.setup.revoke_token(user["jti"])
        return self.ok(200)

    def h_user_create(self, _user):
        body = self.json_body()
        username, password = body.get("username"), body.get("password")
        if not username or password is None:
            raise ApiError(400, 1008, "username and password are required")
        if not isinstance(username, str) or not 4 <= len(username) <= 32:
            raise ApiError(400, 1009, "username must be 4 to 32 characters")
        problem = secrets_util.password_problems(password)
        if problem:
            raise ApiError(400, 1009, problem)
        s = self.app.setup
        if s.db.insert_ignore("users", {"username": username, "pwhash": secrets_util.hash_password(password),
                                        "role": "USER", "must_change": 0, "created": time.time()}) != 1:
            # Meta's reference, "Users": a duplicate username answers code 1014 "Unable to create user. Already exist?",
            # HTTP 500 in Meta's Postman collection.
            raise ApiError(500, 1014, "Unable to create user. Already exist?")
        return self.ok(201, {"users": [{"username": username}]})

    def h_user_list(self, _user):
        return self.ok(200, {"users": [{"username": u["username"], "ROLES": "ROLE_" + u["role"]}
                                       for u in self.app.setup.list_users()]})

    def _existing_user(self, username):
        user = self.app.setup.get_user(username)
        if not user:
            raise ApiError(404, 1006, "user %s not found" % username)
        return user

    def h_user_get(self, _user, username):
        user = self._existing_user(username)
        # Meta's Postman sample: {"users": [{"ROLES": "ROLE_USER", "username": "username"}]}
        return self.ok(200, {"users": [{"username": user["username"], "ROLES": "ROLE_" + user["role"]}]})

    def h_user_update(self, _user, username):
        self._existing_user(username)
        body = self.json_body()
        if "password" not in body:
            raise ApiError(400, 1008, "password is required")
        problem = secrets_util.password_problems(body["password"])
        if problem:
            raise ApiError(400, 1009, problem)
        self.app.setup.set_password(username, body["password"])
        return self.ok(200, {"users": [{"username": username}]})

    def h_user_delete(self, _user, username):
        if username == "admin":
            raise ApiError(403, 1005, "the admin user cannot be deleted")
        self._existing_user(username)
        s = self.app.setup
        s.db.execute("DELETE FROM {tokens} WHERE username = ?", (username,))
        s.db.execute("DELETE FROM {users} WHERE username = ?", (username,))
        return self.ok(200, {"users": [{"username": username}]})

    # ------------------------------------------------------------------ monitoring
    def h_health(self, _user):
        return self.ok(200, {"health": self.app.health()})

    def _metric_families(self, kind):
        """Metric families as Meta's stats reference shapes them: name -> {"data": [{"labels", "value"}], "help",
        "type"}."""
        s = self.app.setup
        nodes = s.nodes()
        if kind == "web":
            counts = {}
            for n in nodes:
                counts[n["status"]] = counts.get(n["status"], 0) + 1
            return {
                "wa_nodes": {"type": "gauge", "help": "Nodes by gateway status",
                             "data": [{"labels": {"gateway_status": k}, "value": v} for k, v in sorted(counts.items())]},
                "wa_registered": {"type": "gauge", "help": "1 when the client is registered",
                                  "data": [{"value": 1 if s.registration() else 0}]},
            }
        if kind == "app":
            return {
                "callback_queue_size": {"type": "gauge", "help": "Current callback queue size",
                                        "data": [{"value": len(s.get_json("callbacks") or [])}]},
                "callbacks_delivered": {"type": "counter", "help": "Callbacks delivered since the node started",
                                        "data": [{"labels": {"node": n["name"]},
                                                  "value": int(n["info"].get("callbacks_delivered", 0))}
                                                 for n in nodes if n["kind"] == "coreapp"]},
            }
        return {
            "db_users": {"type": "gauge", "help": "API users in the database",
                         "data": [{"value": len(s.list_users())}]},
            "db_active_tokens": {"type": "gauge", "help": "Unexpired, unrevoked tokens",
                                 "data": [{"value": s.active_tokens()}]},
        }

    def _send_metrics(self, families, wrap):
        """JSON by default; Prometheus text with ``?format=prometheus`` (Meta's stats and metrics reference)."""
        fmt = self.query.get("format", "json")
        if fmt == "prometheus":
            lines = []
            for name, fam in sorted(families.items()):
                lines += ["# HELP %s %s" % (name, fam["help"]), "# TYPE %s %s" % (name, fam["type"])]
                for point in fam["data"]:
                    labels = ",".join('%s="%s"' % kv for kv in sorted((point.get("labels") or {}).items()))
                    lines.append("%s%s %s" % (name, "{%s}" % labels if labels else "", point["value"]))
            return self.send_raw(200, ("\n".join(lines) + "\n").encode(), "text/plain; version=0.0.4")
        if fmt != "json":
            raise ApiError(400, 1009, "format must be json or prometheus")
        return self.ok(200, wrap(families))

    def h_metrics(self, _user):
        return self._send_metrics(self._metric_families("web"), lambda fams: {"metrics": fams})

    def h_stats(self, _user, kind):
        if kind not in ("app", "db"):
            raise ApiError(404, 1006, "unknown stats %s" % kind)
        return self._send_metrics(self._metric_families(kind), lambda fams: {"stats": {kind: fams}})

    # ------------------------------------------------------------------ backup / restore
    def h_backup(self, _user):
        body = self.json_body()
        password = body.get("password")
        if password is None:
            raise ApiError(400, 1008, "password is required")
        if not isinstance(password, str) or not password:
            raise ApiError(400, 1009, "password must be a non-empty string")
        s = self.app.setup
        reg = self.registered_running("backup")
        settings = s.get_json("app_settings") or appsettings.defaults()
        topo = s.topology()
        doc = {"format": BACKUP_FORMAT, "created": iso(s.now()), "version": self.app.version,
               "application_settings": settings, "registration": reg,
               "encryption_keys": s.get_json("encryption_keys") or {},
               "two_step": s.get_json("two_step") or {"enabled": False},
               "topology": {"shards": topo["shards"] or 1, "masters": topo["masters"],
                            "coreapps": topo["coreapps"]}}
        return self.ok(200, {"settings": {"data": secrets_util.encrypt_backup(password, doc)}})

    def h_restore(self, _user):
        body = self.json_body()
        password, data = body.get("password"), body.get("data")
        if password is None or data is None:
            raise ApiError(400, 1008, "password and data are required")
        if not isinstance(password, str) or not isinstance(data, str):
            raise ApiError(400, 1009, "password and data must be strings")
        try:
            doc = secrets_util.decrypt_backup(password, data)
        except secrets_util.BackupError as exc:
            raise ApiError(400, 1009, str(exc)) from None
        if not isinstance(doc, dict) or doc.get("format") != BACKUP_FORMAT or not isinstance(
                doc.get("registration"), dict) or not isinstance(doc.get("topology"), dict):
            raise ApiError(400, 1009, "backup data is corrupt (unknown format)")
        s = self.app.setup
        with self.app.write_lock:
            if s.is_stopped():
                raise ApiError(400, 1011, "restore: the client is stopped (restart it after the previous restore)")
            if s.get_json("pending_init") or time.time() < float(s.get_json("init_until") or 0):
                raise ApiError(400, 1011, "restore: the client is initialising")
            topo = s.topology()
            if topo["coreapps"] == 0:
                raise ApiError(400, 1011, "restore: no CoreApp is running")
            bt = doc["topology"]
            mismatch = [k for k in ("masters", "coreapps") if bt.get(k) != topo[k]]
            if topo["shards"] is not None and topo["shards"] != bt.get("shards"):
                mismatch.insert(0, "shards")
            if mismatch:
                def fmt(t):
                    return "%s shards, %s Masters, %s CoreApps" % (
                        t.get("shards") if t.get("shards") is not None else "unset", t.get("masters"),
                        t.get("coreapps"))
                raise ApiError(400, 1009, "topology mismatch (%s differ): the backup was made on %s; this setup "
                               "runs %s. Restore onto a setup with the same shards, Masters and CoreApps"
                               % (", ".join(mismatch), fmt(bt), fmt(topo)))
            fault = self.app.take_restore_fault()
            if fault and not fault.get("after_apply"):
                raise ApiError(fault["status"], fault["code"], "restore failed (injected fault)")
            was_registered = bool(s.registration())
            s.set_json("app_settings", appsettings.merge_patch(appsettings.defaults(),
                                                               doc.get("application_settings") or {}))
            s.set_json("encryption_keys", doc.get("encryption_keys") or {})
            s.set_json("two_step", doc.get("two_step") or {"enabled": False})
            s.set_shards(int(bt.get("shards") or 1))
            reg = dict(doc["registration"])
            # The nodes read the kv table on every tick, between any two of these writes: the stop (registered
            # client) or the initialisation (new client) goes first, so no node ever sees the restored
            # registration without it (a node that did would claim the number before its initialisation).
            if was_registered:
                s.set_json("stopped_at", time.time())
                s.set_json("pending_init", True)
            else:
                extra = float(s.faults().get("init_extra_seconds", 0) or 0)
                s.set_json("init_until", time.time() + float(s.config().get("init_seconds", 3)) + extra)
            s.set_json("registration_origin", "restore")
            s.set_json("registration", reg)
            s.set_json("restore_count", int(s.get_json("restore_count") or 0) + 1)
            s.set_json("last_restore", {"at": time.time(), "was_registered": was_registered,
                                        "backup_created": doc.get("created"), "wa_id": reg.get("wa_id")})
        if fault:
            raise ApiError(fault["status"], fault["code"], "restore failed (injected fault)")
        # Meta's reference: "null or {}" in the text, {"meta": ...} in its example; POST /_emulator/config picks one.
        answer = s.config().get("restore_answer", "null")
        if answer == "meta":
            return self.ok(200)
        return self.send_json(200, {} if answer == "empty" else None)

    # ------------------------------------------------------------------ two-step
    def h_two_step_enable(self, _user):
        body = self.json_body()
        if "pin" not in body:
            raise ApiError(400, 1008, "pin is required")
        pin = body["pin"]
        if not isinstance(pin, str) or not re.fullmatch(r"[0-9]{6}", pin):
            raise ApiError(400, 1009, "pin must be exactly six digits")
        self.connected("two-step verification")
        self.app.setup.set_json("two_step", {"enabled": True, "pin_sha256": pin_hash(pin)})
        return self.ok(200)

    def h_two_step_disable(self, _user):
        self.connected("two-step verification")
        self.app.setup.set_json("two_step", {"enabled": False})
        return self.ok(200)

    # ------------------------------------------------------------------ application settings
    def h_settings_get(self, _user):
        return self.ok(200, {"settings": {"application": self.app.setup.settings_for_api()}})

    def h_settings_patch(self, _user):
        body = self.json_body()
        s = self.app.setup
        with self.app.write_lock:
            current = s.get_json("app_settings") or appsettings.defaults()
            try:
                new = appsettings.merge_patch(current, body)
            except appsettings.SettingsError as exc:
                raise ApiError(400, 1009, str(exc)) from None
            s.set_json("app_settings", new)
        return self.ok(200)

    def h_settings_reset(self, _user):
        self.app.setup.set_json("app_settings", appsettings.defaults())
        return self.ok(200)

    # ------------------------------------------------------------------ webhook CA
    def h_ca_get(self, _user):
        pem = self.app.setup.db.kv_get("webhook_ca")
        if not pem:
            return self.send_raw(404, b"", None)
        return self.send_raw(200, pem.encode(), "text/plain")

    def h_ca_post(self, _user):
        ctype = (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()
        if ctype != "text/plain":
            raise ApiError(400, 1009, "send the CA certificate as PEM with Content-Type: text/plain")
        if not self._raw.strip():
            raise ApiError(400, 1008, "the PEM certificate is missing")
        try:
            pem = self._raw.decode("ascii")
            certs.load_pem_certificates(pem)
        except (ValueError, UnicodeDecodeError):
            raise ApiError(400, 1009, "the body is not a valid PEM certificate") from None
        self.app.setup.db.kv_set("webhook_ca", pem)
        return self.ok(200)

    def h_ca_delete(self, _user):
        self.app.setup.db.kv_delete("webhook_ca")
        return self.ok(200)

    # ------------------------------------------------------------------ account
    def h_register(self, _user):
        raise ApiError(403, 1005, "biz_link_on_prem_reg_blocked: registration of on-premises clients is blocked")

    def h_shards_get(self, _user):
        return self.ok(200, {"account": {"shards": self.app.setup.shards() or 1}})

    def h_shards_post(self, _user):
        body = self.json_body()
        missing = [k for k in ("cc", "phone_number", "shards", "cert") if k not in body]
        s = self.app.setup
        two_step = s.get_json("two_step") or {}
        if two_step.get("enabled") and "pin" not in body:
            missing.append("pin")
        if missing:
            raise ApiError(400, 1008, "missing: %s" % ", ".join(missing))
        reg = self.connected("shards")
        if body["shards"] not in VALID_SHARDS or isinstance(body["shards"], bool):
            raise ApiError(400, 1009, "shards must be one of %s" % ", ".join(map(str, VALID_SHARDS)))
        if str(body["cc"]) + str(body["phone_number"]) != reg["wa_id"]:
            raise ApiError(400, 1009, "cc and phone_number do not match the registered number")
        if not isinstance(body["cert"], str) or not body["cert"] or body["cert"] != reg.get("cert"):
            raise ApiError(400, 1009, "cert is not the certificate of the registered number (the base64 cert from "
                           "WhatsApp Manager)")
        if two_step.get("enabled") and pin_hash(str(body["pin"])) != two_step.get("pin_sha256"):
            raise ApiError(400, 1009, "wrong two-step verification pin")
        if not self.app.multiconnect and body["shards"] != 1:
            raise ApiError(400, 1009, "a single-instance setup runs 1 shard")
        s.set_shards(body["shards"])
        return self.ok(201)

    # ------------------------------------------------------------------ messages
    def h_messages(self, _user):
        body = self.json_body()
        # Meta's error table: 1010 "Parameter not available" for a parameter that was not supposed to be present.
        unknown = sorted(set(body) - MESSAGE_FIELDS)
        if unknown:
            raise ApiError(400, 1010, "unknown field(s): %s" % ", ".join(unknown))
        if "to" not in body:
            raise ApiError(400, 1008, "to is required")
        if body.get("recipient_type", "individual") != "individual":
            raise ApiError(400, 1002, "recipient_type must be individual")
        mtype = body.get("type", "text")
        if mtype not in ("text", "template"):
            raise ApiError(400, 1009, "the emulator sends only text and template messages")
        if "preview_url" in body and not isinstance(body["preview_url"], bool):
            raise ApiError(400, 1009, "preview_url must be a boolean")
        content = self._template(body.get("template")) if mtype == "template" else self._text(body.get("text"))
        to = str(body["to"]).lstrip("+")
        if not to.isdigit():
            raise ApiError(400, 1009, "to must be a phone number")
        reg = self.connected("messages")
        s = self.app.setup
        msg_id = "gBEG" + secrets.token_hex(14).upper()
        try:
            code, resp = self.app.network.send(dict({"setup_id": s.setup_id, "from": reg["wa_id"], "to": to,
                                                     "type": mtype, "id": msg_id}, **content))
        except OSError as exc:
            raise ApiError(400, 1011, "messages: the WhatsApp network is unreachable (%s)" % exc) from None
        if code != 200:
            raise ApiError(400, 1011, "messages: this client does not serve %s any more (another instance "
                           "took the number over)" % reg["wa_id"])
        # 201 = accepted: the outcome comes later as status callbacks to the webhook (sent/delivered/read/failed).
        return self.ok(201, {"messages": [{"id": resp.get("id", msg_id)}]})

    @staticmethod
    def _text(text):
        if not isinstance(text, dict) or "body" not in text:
            raise ApiError(400, 1008, "text.body is required")
        if set(text) - {"body"}:
            raise ApiError(400, 1010, "unknown field(s) in text: %s" % ", ".join(sorted(set(text) - {"body"})))
        if not isinstance(text["body"], str) or not text["body"]:
            raise ApiError(400, 1009, "text.body must be a non-empty string")
        if len(text["body"]) > 4096:
            raise ApiError(400, 1001, "text.body is longer than 4096 characters")
        return {"text": {"body": text["body"]}}

    @staticmethod
    def _template(tpl):
        """Meta's on-premises template message: namespace, name, language {policy: deterministic, code}, components."""
        if not isinstance(tpl, dict):
            raise ApiError(400, 1008, "template (an object) is required with type template")
        extra = sorted(set(tpl) - {"namespace", "name", "language", "components"})
        if extra:
            raise ApiError(400, 1010, "unknown field(s) in template: %s" % ", ".join(extra))
        missing = [k for k in ("namespace", "name", "language") if not tpl.get(k)]
        lang = tpl.get("language")
        if isinstance(lang, dict) and not lang.get("code"):
            missing.append("language.code")
        if missing:
            raise ApiError(400, 1008, "template needs %s" % ", ".join(missing))
        if not isinstance(tpl["namespace"], str) or not isinstance(tpl["name"], str) or not isinstance(lang, dict) \
                or not isinstance(lang["code"], str) or lang.get("policy", "deterministic") != "deterministic" \
                or set(lang) - {"policy", "code"}:
            raise ApiError(400, 1009, "template namespace and name must be strings and language "
                           "{\"policy\": \"deterministic\", \"code\": \"<language>\"}")
        components = tpl.get("components", [])
        params = []
        if not isinstance(components, list):
            raise ApiError(400, 1009, "template components must be a list")
        for comp in components:
            if not isinstance(comp, dict) or comp.get("type") not in ("header", "body", "footer", "button") \
                    or not isinstance(comp.get("parameters", []), list) \
                    or not all(isinstance(p, dict) and isinstance(p.get("type"), str) for p in comp.get("parameters", [])):
                raise ApiError(400, 1009, "each template component needs a type (header, body, footer, button) and a "
                               "list of parameters, each with a type")
            params += comp.get("parameters", [])
        return {"template": {"namespace": tpl["namespace"], "name": tpl["name"], "language": {"code": lang["code"]},
                             "parameters": params}}

    def h_contacts(self, _user):
        body = self.json_body()
        contacts = body.get("contacts")
        if not isinstance(contacts, list):
            raise ApiError(400, 1008, "contacts (a list) is required")
        # Meta's reference: blocking "no_wait" (default) or "wait"; force_check a boolean.
        if body.get("blocking", "no_wait") not in ("no_wait", "wait"):
            raise ApiError(400, 1009, "blocking must be no_wait or wait")
        if not isinstance(body.get("force_check", False), bool):
            raise ApiError(400, 1009, "force_check must be a boolean")
        self.registered_running("contacts")
        out = [{"input": c, "status": "valid", "wa_id": re.sub(r"\D", "", str(c))} for c in contacts]
        return self.ok(200, {"contacts": out})

    def h_support(self, _user):
        s = self.app.setup
        reg = s.registration()
        nodes = ", ".join("%(name)s %(status)s" % n for n in s.nodes()) or "none"
        number = reg["wa_id"] if reg else "unregistered"
        info = "version %s; setup %s; number %s; nodes %s" % (self.app.version, s.setup_id, number, nodes)
        return self.ok(200, {"support": {"debug_info": info}})
