"""The emulator's admin interface (``/_emulator/...``, same HTTPS port as the API, no auth): state, seed,
faults, clock, config, restart and the CA certificate. Not part of Meta's API; documented in
tests/emulator/README.md ("Admin interface")."""
import hashlib
import json
import re
import time

from . import appsettings, secrets_util
from .api import RESTORE_ANSWERS, iso
from .faults import FaultError, normalise_faults
from .store import VALID_SHARDS

RATE_LIMITS = ("requests_per_second", "burst", "messages_per_second", "messages_burst", "max_concurrent")


class AdminError(Exception):
    def __init__(self, status, message):
        super().__init__(message)
        self.status = status


class AdminHandlers:
    """The admin half of the Webapp's request handler (a mixin of ``webapp.WebHandler``): ``admin(path)``
    answers one request under ``/_emulator``."""

    def admin_body(self):
        if not self._raw:
            return {}
        try:
            obj = json.loads(self._raw)
        except ValueError:
            raise AdminError(400, "invalid JSON") from None
        if not isinstance(obj, dict):
            raise AdminError(400, "a JSON object is required")
        return obj

    def admin(self, path):
        app, s = self.app, self.app.setup
        method = self.command
        if path == "/_emulator/ca.pem" and method == "GET":
            with open(app.ca_path, "rb") as f:
                return self.send_raw(200, f.read(), "application/x-pem-file")
        if path == "/_emulator/state" and method == "GET":
            return self.send_json(200, self.state())
        if path == "/_emulator/seed" and method == "POST":
            return self.send_json(200, self.admin_seed(self.admin_body()))
        if path == "/_emulator/faults":
            if method == "GET":
                return self.send_json(200, s.faults())
            if method in ("POST", "PUT"):
                try:
                    faults = normalise_faults(self.admin_body())
                except FaultError as exc:
                    raise AdminError(400, str(exc)) from None
                with app.fault_lock:
                    s.set_json("faults", faults)
                return self.send_json(200, faults)
            if method == "DELETE":
                with app.fault_lock:
                    s.set_json("faults", {})
                return self.send_json(200, {})
        if path == "/_emulator/clock":
            if method == "POST":
                body = self.admin_body()
                try:
                    offset = s.advance_clock(float(body.get("advance_seconds", 0)))
                except (TypeError, ValueError):
                    raise AdminError(400, "advance_seconds must be a number") from None
                return self.send_json(200, {"offset_seconds": offset, "now": iso(s.now())})
            if method == "GET":
                s.refresh_clock()
                return self.send_json(200, {"offset_seconds": s.clock_offset, "now": iso(s.now())})
        if path == "/_emulator/config":
            if method == "POST":
                body = self.admin_body()
                cfg = s.config()
                for key, value in body.items():
                    if key == "init_seconds":
                        try:
                            cfg[key] = float(value)
                        except (TypeError, ValueError):
                            raise AdminError(400, "init_seconds must be a number") from None
                    elif key == "expires_after_format":
                        if value not in ("current", "legacy"):
                            raise AdminError(400, "expires_after_format must be current or legacy")
                        cfg[key] = value
                    elif key == "restore_answer":
                        if value not in RESTORE_ANSWERS:
                            raise AdminError(400, "restore_answer must be one of %s" % ", ".join(RESTORE_ANSWERS))
                        cfg[key] = value
                    elif key == "rate_limits":
                        if value is not False and not (isinstance(value, dict) and set(value) <= set(RATE_LIMITS) and all(
                                isinstance(v, (int, float)) and not isinstance(v, bool) and v > 0
                                for v in value.values())):
                            raise AdminError(400, "rate_limits must be false or an object of positive numbers: %s"
                                             % ", ".join(RATE_LIMITS))
                        cfg[key] = value
                    else:
                        raise AdminError(400, "unknown config key %s (known: init_seconds, expires_after_format, "
                                         "restore_answer, rate_limits)" % key)
                s.set_json("config", cfg)
                return self.send_json(200, cfg)
            if method == "GET":
                return self.send_json(200, s.config())
        if path in ("/_emulator/recipients", "/_emulator/templates") and method in ("GET", "POST"):
            # The network stand-in decides message outcomes: who is a WhatsApp user, who reads, the 24-hour window,
            # which templates exist. Passed through to the network this setup uses.
            try:
                status, answer = app.network._call(method, path[len("/_emulator"):],
                                                   self.admin_body() if method == "POST" else None)
            except OSError as exc:
                raise AdminError(502, "the network stand-in is unreachable: %s" % exc) from None
            return self.send_json(status, answer)
        if path == "/_emulator/restart" and method == "POST":
            if not app.restart_callback:
                raise AdminError(501, "restart is only available in process mode: restart the containers")
            app.restart_callback()
            return self.send_json(200, {"restarted": True})
        raise AdminError(404, "unknown admin endpoint %s %s" % (method, path))

    def admin_seed(self, body):
        app, s = self.app, self.app.setup
        wa_id = str(body.get("wa_id", ""))
        if not wa_id.isdigit() or not 8 <= len(wa_id) <= 15:
            raise AdminError(400, "wa_id must be 8 to 15 digits")
        shards = body.get("shards", 1)
        if shards not in VALID_SHARDS:
            raise AdminError(400, "shards must be one of %s" % (VALID_SHARDS,))
        if not app.multiconnect and shards != 1:
            raise AdminError(400, "a single-instance setup runs 1 shard")
        pin = body.get("two_step_pin")
        if pin is not None and not re.fullmatch(r"[0-9]{6}", str(pin)):
            raise AdminError(400, "two_step_pin must be six digits")
        url = body.get("webhook_url")
        if url is not None and not appsettings.is_webhook_url(url):
            raise AdminError(400, "webhook_url must be https://... or empty")
        admin_password = body.get("admin_password")
        if admin_password is not None and secrets_util.password_problems(admin_password):
            raise AdminError(400, secrets_util.password_problems(admin_password))
        unknown = set(body) - {"wa_id", "shards", "two_step_pin", "webhook_url", "admin_password"}
        if unknown:
            raise AdminError(400, "unknown seed keys: %s" % sorted(unknown))
        with app.write_lock:
            if s.registration():
                raise AdminError(409, "this setup is already registered")
            s.seed(wa_id, shards, str(pin) if pin is not None else None, url)
            if admin_password is not None:
                s.set_password("admin", admin_password)
        return self.state()

    @staticmethod
    def restart_pending(kv, nodes):
        """Settings changed since the running CoreApps/Masters read them: they apply after a restart."""
        stored = appsettings.restart_values(kv.get("app_settings") or appsettings.defaults())
        pending = set()
        for n in nodes:
            effective = (n.get("info") or {}).get("effective_settings")
            if n["alive"] and isinstance(effective, dict):
                pending |= {k for k, v in stored.items() if effective.get(k) != v}
        return sorted(pending)

    def state(self):
        app, s = self.app, self.app.setup
        kv = s.all_json()
        s.refresh_clock()
        reg = kv.get("registration")
        ca = kv.get("webhook_ca")
        two = kv.get("two_step") or {"enabled": False}
        net = kv.get("network_status") or {}
        keys = kv.get("encryption_keys")
        nodes = s.nodes()
        return {
            "setup_id": kv.get("setup_id"), "version": app.version, "mode": app.mode,
            "multiconnect": app.multiconnect, "db_engine": s.db.engine, "db_prefix": s.db.prefix,
            "registered": bool(reg), "wa_id": reg["wa_id"] if reg else None,
            "registration_origin": kv.get("registration_origin") if reg else None,
            "registration_sha256": hashlib.sha256(json.dumps(reg, sort_keys=True).encode()).hexdigest()
            if reg else None,
            "encryption_keys_sha256": hashlib.sha256(json.dumps(keys, sort_keys=True).encode()).hexdigest()
            if keys else None,
            "shards": kv.get("shards"), "topology": s.topology(nodes),
            "two_step": {"enabled": bool(two.get("enabled")), "pin_sha256": two.get("pin_sha256")},
            "application_settings": s.settings_for_api(),
            "restart_pending": self.restart_pending(kv, nodes),
            "registration_cert": reg.get("cert") if reg else None,
            "webhook_ca_present": bool(ca),
            "webhook_ca_sha256": hashlib.sha256(ca.encode()).hexdigest() if isinstance(ca, str) else None,
            "restore_count": int(kv.get("restore_count") or 0), "last_restore": kv.get("last_restore"),
            "callbacks_pending": len(kv.get("callbacks") or []), "db_version": kv.get("db_version"),
            "stopped": s.is_stopped(nodes), "pending_init": bool(kv.get("pending_init")),
            "initializing": time.time() < float(kv.get("init_until") or 0),
            "serving": bool(net.get("serving")), "network_holder": net.get("holder"),
            "network_url": app.network_url,
            "nodes": nodes, "health": app.health(nodes),
            "users": s.list_users(), "active_tokens": s.active_tokens(),
            "clock_offset_seconds": s.clock_offset, "now": iso(s.now()),
            "config": kv.get("config"), "faults": kv.get("faults") or {},
        }
