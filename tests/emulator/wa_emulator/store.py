"""The setup's state in its database: identity, registration, settings, users, tokens, nodes.

Everything that the Webapp and the CoreApps/Masters share goes through here, so Docker mode (several
processes on MySQL) and process mode (threads on SQLite) behave the same.
"""
import json
import os
import threading
import time

from . import appsettings, secrets_util

VALID_SHARDS = (1, 2, 4, 8, 16, 32)


def env_float(name, default, env=None):
    try:
        return float((os.environ if env is None else env).get(name, default))
    except ValueError:
        return float(default)


class Timing:
    """Heartbeat / lease timings (same in every process of a setup)."""

    def __init__(self, tick=None, lease=None, env=None):
        self.tick = tick if tick is not None else env_float("WA_EMULATOR_TICK_SECONDS", 1.0, env)
        self.lease = lease if lease is not None else env_float("WA_EMULATOR_LEASE_SECONDS", 10.0, env)
        # How often the network stand-in is polled (who serves the number, inbound messages).
        self.poll = env_float("WA_EMULATOR_POLL_SECONDS", max(self.tick, 0.5), env)
        # A primary Master / shard holder whose heartbeat is older than this is taken as dead by the Webapp
        # (failover election: 1017/1018) — a few missed ticks, never more than the lease.
        self.failover_grace = min(self.lease, max(3.0, 8 * self.tick))


class Setup:
    def __init__(self, db, timing=None):
        self.db = db
        self.timing = timing or Timing()
        self.clock_offset = 0.0
        self.lock = threading.RLock()

    # --- bootstrap ------------------------------------------------------------------------
    def initialise(self, env=None):
        env = os.environ if env is None else env
        self.db.create_schema()
        self.db.kv_add("setup_id", "setup-" + secrets_util.new_id(6))
        self.db.kv_add("jwt_secret", secrets_util.new_id(32))
        self.db.kv_add("app_settings", json.dumps(appsettings.defaults()))
        self.db.kv_add("restore_count", "0")
        self.db.kv_add("clock_offset", "0")
        self.db.kv_add("faults", "{}")
        self.db.kv_add("db_version", json.dumps(env.get("WA_EMULATOR_VERSION") or "v2.63.1"))
        init = env.get("WA_EMULATOR_INIT_SECONDS")
        config = {"init_seconds": float(init) if init else 3.0}
        if not self.db.kv_add("config", json.dumps(config)) and init:
            cfg = self.config()
            cfg["init_seconds"] = float(init)
            self.set_json("config", cfg)
        self.db.insert_ignore("users", {"username": "admin", "pwhash": secrets_util.hash_password("secret"),
                                        "role": "ADMIN", "must_change": 1, "created": time.time()})
        self.db.insert_ignore("leases", {"name": "primary_master", "holder": None, "expires": 0})
        self.refresh_clock()
        return self

    # --- generic JSON kv ----------------------------------------------------------------------
    def get_json(self, key, default=None):
        raw = self.db.kv_get(key)
        if raw is None:
            return default
        return json.loads(raw)

    def set_json(self, key, value):
        self.db.kv_set(key, json.dumps(value, sort_keys=True))

    def set_json_if_newer(self, key, value, stamp="asked"):
        """Write ``value`` unless the stored value has a later ``stamp`` (compare-and-set; True when written).

        Several nodes observe the same thing (the network's answer to their poll); an answer that was slow to
        come back must not overwrite one that was asked for later.
        """
        for _attempt in range(10):
            raw = self.db.kv_get(key)
            if raw is None:
                self.set_json(key, value)
                return True
            try:
                current = json.loads(raw)
            except (TypeError, ValueError):
                current = {}
            if isinstance(current, dict) and float(current.get(stamp) or 0) > float(value[stamp]):
                return False
            if self.db.kv_cas(key, raw, json.dumps(value, sort_keys=True)):
                return True
        return False

    def all_json(self):
        out = {}
        for k, v in self.db.kv_all().items():
            try:
                out[k] = json.loads(v)
            except (TypeError, ValueError):
                out[k] = v
        return out

    @property
    def setup_id(self):
        return self.db.kv_get("setup_id")

    # --- emulated wall clock (tokens) ------------------------------------------------------
    def refresh_clock(self):
        try:
            self.clock_offset = float(self.db.kv_get("clock_offset", "0"))
        except ValueError:
            self.clock_offset = 0.0

    def now(self):
        return time.time() + self.clock_offset

    def advance_clock(self, seconds):
        with self.lock:
            self.refresh_clock()
            self.clock_offset += seconds
            self.db.kv_set("clock_offset", repr(self.clock_offset))
        return self.clock_offset

    # --- configuration --------------------------------------------------------------------
    def config(self):
        return self.get_json("config", {"init_seconds": 3.0})

    def faults(self):
        return self.get_json("faults", {}) or {}

    # --- registration / topology ------------------------------------------------------------
    def registration(self):
        return self.get_json("registration")

    def shards(self):
        return self.get_json("shards")

    def set_shards(self, n):
        self.set_json("shards", n)
        self.db.execute("DELETE FROM {shards} WHERE shard >= ?", (n,))
        for s in range(n):
            self.db.insert_ignore("shards", {"shard": s, "holder": None, "expires": 0})

    def live_nodes(self, nodes=None):
        """Rows of nodes that heartbeat (age < lease time)."""
        return [n for n in (self.nodes() if nodes is None else nodes) if n["alive"]]

    def nodes(self, include_gone=False):
        """Node rows with the gateway status as the Webapp reports it.

        A node writes its own status every tick; setup-wide changes (registration, restore, stop,
        initialisation) are applied here at once, so the API never shows a state older than its last write.
        """
        rows = self.db.query("SELECT name, kind, role, status, shard, started, heartbeat, pid, info FROM {nodes}"
                             " ORDER BY name")
        kv = self.all_json()
        registered = bool(kv.get("registration"))
        stopped_at = kv.get("stopped_at") or 0
        initialising = time.time() < float(kv.get("init_until") or 0)
        now = time.time()
        gone = now - 3 * self.timing.lease
        out = []
        for name, kind, role, status, shard, started, heartbeat, pid, info in rows:
            if not include_gone and heartbeat < gone:
                continue
            stale = heartbeat < now - self.timing.lease
            if stale:
                status = "disconnected"
                if kind == "master":
                    role = "secondary_master"  # its lease has expired (or is about to)
            elif not registered:
                status = "unregistered"
            elif stopped_at and started <= stopped_at:
                status = "disconnected"
            elif initialising or (kv.get("pending_init") and status != "disconnected"):
                status = "uninitialized"
            elif status in ("unregistered", "uninitialized"):
                status = "connecting"  # the node has not noticed the change yet (at most one tick)
            out.append({"name": name, "kind": kind, "role": role, "status": status,
                        "shard": shard, "started": started, "heartbeat": heartbeat, "pid": pid,
                        "alive": not stale, "info": json.loads(info) if info else {}})
        return out

    def topology(self, nodes=None):
        live = self.live_nodes(nodes)
        return {"shards": self.shards(),
                "masters": sum(1 for n in live if n["kind"] == "master"),
                "coreapps": sum(1 for n in live if n["kind"] == "coreapp")}

    def is_stopped(self, nodes=None):
        """Stopped after a restore on a registered client: every live node started before the stop."""
        stopped_at = self.get_json("stopped_at")
        if not stopped_at:
            return False
        live = self.live_nodes(nodes)
        return not live or all(n["started"] <= stopped_at for n in live)

    def settings_for_api(self):
        current = self.get_json("app_settings") or appsettings.defaults()
        reg = self.registration()
        current = dict(current)
        current["wa_id"] = reg["wa_id"] if reg else ""
        return current

    def seed(self, wa_id, shards=1, two_step_pin=None, webhook_url=None):
        """Make this setup an already-registered production setup (registration is blocked in reality)."""
        reg = {"wa_id": wa_id, "cert": secrets_util.new_id(48), "identity_key": secrets_util.new_id(32),
               "registered_at": time.time()}
        self.set_json("registration_origin", "seed")
        self.set_json("encryption_keys", {"store_key": secrets_util.new_id(32),
                                          "media_key": secrets_util.new_id(32)})
        if two_step_pin:
            self.set_json("two_step", {"enabled": True, "pin_sha256": pin_hash(two_step_pin)})
        if webhook_url is not None:
            settings = self.get_json("app_settings") or appsettings.defaults()
            settings = appsettings.merge_patch(settings, {"webhooks": {"url": webhook_url}})
            self.set_json("app_settings", settings)
        self.set_shards(shards)
        self.db.kv_delete("init_until")
        self.db.kv_delete("stopped_at")
        self.set_json("registration", reg)

    # --- users and tokens -------------------------------------------------------------------
    def get_user(self, username):
        row = self.db.query_one("SELECT username, pwhash, role, must_change FROM {users} WHERE username = ?",
                                (username,))
        if not row:
            return None
        return {"username": row[0], "pwhash": row[1], "role": row[2], "must_change": bool(row[3])}

    def list_users(self):
        return [{"username": r[0], "role": r[1]} for r in
                self.db.query("SELECT username, role FROM {users} ORDER BY username")]

    def set_password(self, username, password, must_change=False):
        self.db.execute("UPDATE {users} SET pwhash = ?, must_change = ? WHERE username = ?",
                        (secrets_util.hash_password(password), 1 if must_change else 0, username))

    def issue_token(self, username):
        secret = self.db.kv_get("jwt_secret")
        now = self.now()
        expires = now + 7 * 24 * 3600
        jti = secrets_util.new_id(16)
        claims = {"jti": jti, "sub": username, "iat": int(now), "exp": int(expires), "setup": self.setup_id}
        token = secrets_util.make_token(secret, claims)
        self.db.execute("DELETE FROM {tokens} WHERE expires < ?", (now - 86400,))
        self.db.upsert("tokens", ["jti"], {"jti": jti, "username": username, "expires": expires, "issued": now})
        return token, expires

    def check_token(self, token):
        """The user dict of a valid token, else None."""
        claims = secrets_util.read_token(self.db.kv_get("jwt_secret"), token)
        if not claims or "jti" not in claims:
            return None
        row = self.db.query_one("SELECT username, expires FROM {tokens} WHERE jti = ?", (claims["jti"],))
        if not row or row[1] <= self.now():
            return None
        user = self.get_user(row[0])
        if user:
            user["jti"] = claims["jti"]
        return user

    def revoke_token(self, jti):
        self.db.execute("DELETE FROM {tokens} WHERE jti = ?", (jti,))

    def active_tokens(self):
        return self.db.query_one("SELECT COUNT(*) FROM {tokens} WHERE expires > ?", (self.now(),))[0]


def pin_hash(pin):
    import hashlib
    return hashlib.sha256(("wa-two-step:" + pin).encode()).hexdigest()
