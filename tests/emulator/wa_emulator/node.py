"""CoreApp and Master processes (threads in process mode).

Every tick a node: heartbeats its row in the database, competes for the primary-Master lease (Masters)
or holds a shard lease (CoreApps), applies a pending initialisation, claims the number on the network
when it is the setup's claimer (the primary Master, or the CoreApp of a single instance) and polls the
network for who serves the number and for inbound messages (the CoreApp holding shard 0), which it
delivers to ``webhooks.url``.  It writes its own ``gateway_status`` and ``role`` for the Webapp to read.
"""
import hashlib
import json
import logging
import os
import secrets
import socket
import ssl
import threading
import time
import urllib.request

from . import appsettings, faults
from .network import NetworkClient

LOG = logging.getLogger("wa_emulator.node")


def container_identity(hostname_override=None):
    """("<hostname>", "<container-id>") as the real client names nodes."""
    host = socket.gethostname()
    cid = host[:12] if len(host) >= 12 and all(c in "0123456789abcdef" for c in host[:12]) else None
    if cid is None:
        cid = secrets.token_hex(6)
    return (hostname_override or host), cid


class Node(threading.Thread):
    def __init__(self, setup, kind, hostname, container_id, network_url, multiconnect,
                 exit_on_crash=False):
        super().__init__(name="node-%s" % hostname, daemon=True)
        assert kind in ("master", "coreapp")
        self.setup = setup
        self.db = setup.db
        self.kind = kind
        self.hostname = hostname
        self.container_id = container_id
        self.node_name = "%s:%s" % (hostname, container_id)
        self.network = NetworkClient(network_url, timeout=2)
        self.multiconnect = multiconnect
        self.exit_on_crash = exit_on_crash
        self.started_at = time.time()
        self.activation = secrets.token_hex(8)
        self.claimed = False
        self.primary = False
        self.shard = None
        self.status = "unregistered"
        self.stop_event = threading.Event()
        self.ready = threading.Event()
        self.crashed = False
        self.webhook_ca = None
        self.webhook_ca_sha = None
        self.delivery = None
        self.last_poll = None
        self.stats = {"callbacks_delivered": 0, "callback_attempts_failed": 0}
        # Settings documented as needing a CoreApp restart: read when the node starts (or initialises).
        self.effective_settings = {}
        self.effective_init = None

    # --- lifecycle --------------------------------------------------------------------------
    def run(self):
        # The webhook CA is read when the CoreApp starts: after an upload, CoreApps must restart.
        ca = self.db.kv_get("webhook_ca")
        if ca:
            self.webhook_ca = ca
            self.webhook_ca_sha = hashlib.sha256(ca.encode()).hexdigest()
        self.load_effective_settings(self.setup.get_json("init_until"))
        self.delivery = Delivery(self)
        self.delivery.start()
        try:
            while not self.stop_event.is_set():
                t0 = time.monotonic()
                try:
                    if self.tick() == "crash":
                        return
                except Exception:  # noqa: BLE001 - a broken tick must not kill the node
                    LOG.exception("%s: tick failed", self.node_name)
                self.ready.set()
                self.stop_event.wait(max(0.01, self.setup.timing.tick - (time.monotonic() - t0)))
        finally:
            if self.delivery:
                self.delivery.stop_event.set()
        if not self.crashed:
            self._cleanup()

    def load_effective_settings(self, init_until=None):
        """Read the settings that take effect only after a CoreApp restart (a start or an initialisation)."""
        self.effective_settings = appsettings.restart_values(self.setup.get_json("app_settings") or {})
        self.effective_init = init_until

    def stop(self, wait=True):
        self.stop_event.set()
        if wait and self.is_alive():
            self.join(timeout=10)

    def _cleanup(self):
        try:
            self.db.execute("DELETE FROM {nodes} WHERE name = ?", (self.node_name,))
            self.db.execute("UPDATE {leases} SET holder = NULL, expires = 0 WHERE holder = ?", (self.node_name,))
            self.db.execute("UPDATE {shards} SET holder = NULL, expires = 0 WHERE holder = ?", (self.node_name,))
        except Exception:  # noqa: BLE001
            LOG.warning("%s: cleanup failed", self.node_name, exc_info=True)

    # --- one tick ---------------------------------------------------------------------------
    def tick(self):
        kv = self.setup.all_json()
        now = time.time()
        lease = self.setup.timing.lease
        try:
            self.setup.clock_offset = float(kv.get("clock_offset") or 0)
        except (TypeError, ValueError):
            pass
        if self._crash_requested(kv):
            return "crash"
        reg = kv.get("registration")
        shards = kv.get("shards")
        stopped_at = kv.get("stopped_at")
        stopped = bool(stopped_at) and self.started_at <= stopped_at
        pending = bool(kv.get("pending_init")) and not stopped and bool(reg)
        if pending and kv["pending_init"] is True:
            # First start after "restore on a registered client, then stop": one node initialises the setup.
            # The marker keeps a true value (the end of the initialisation) until init_until is written, so a
            # node ticking in between never takes itself for initialised (it would claim the number at once).
            cfg = kv.get("config") or {}
            extra = (kv.get("faults") or {}).get("init_extra_seconds", 0) or 0
            until = now + float(cfg.get("init_seconds", 3)) + float(extra)
            if self.db.kv_cas("pending_init", json.dumps(True), json.dumps({"init_until": until})):
                self.setup.set_json("init_until", until)
                self.db.kv_delete("pending_init")
                kv["init_until"] = until
        # A node that lost the race, or read the marker of another node's initialisation, waits a tick.
        initialising = pending or now < float(kv.get("init_until") or 0)
        if kv.get("init_until") and kv.get("init_until") != self.effective_init:
            # An initialisation (after a restore) restarts the client's services: settings are read again.
            self.load_effective_settings(kv.get("init_until"))

        # Leases: primary Master / shards.
        if self.kind == "master":
            self.primary = self.db.execute(
                "UPDATE {leases} SET holder = ?, expires = ? WHERE name = 'primary_master'"
                " AND (holder = ? OR holder IS NULL OR expires < ?)",
                (self.node_name, now + lease, self.node_name, now)) == 1
        else:
            self._manage_shard(reg, shards, stopped, now, lease)

        claimer = (self.kind == "master" and self.primary) or (self.kind == "coreapp" and not self.multiconnect)
        inbound_poller = self.kind == "coreapp" and self.shard == 0
        net = kv.get("network_status") or {}
        active = bool(reg) and not stopped and not initialising
        poll_due = self.last_poll is None or time.monotonic() - self.last_poll >= self.setup.timing.poll
        if active and (claimer or inbound_poller) and (poll_due or (claimer and not self.claimed)):
            self.last_poll = time.monotonic()
            net = self._network(reg["wa_id"], kv, claimer, inbound_poller) or net
        status = self._status(reg, stopped, initialising, net, now, kv, shards)
        self.status = status
        role = ("primary_master" if self.primary else "secondary_master") if self.kind == "master" else "coreapp"
        info = {"hostname": self.hostname, "container_id": self.container_id, "activation": self.activation,
                "claimed": self.claimed, "webhook_ca_sha256": self.webhook_ca_sha,
                "multiconnect": self.multiconnect, **self.stats,
                "effective_settings": self.effective_settings,
                "callbacks_pending": len(self.delivery.pending) if self.delivery else 0}
        self.db.upsert("nodes", ["name"], {
            "name": self.node_name, "kind": self.kind, "role": role, "status": status, "shard": self.shard,
            "started": self.started_at, "heartbeat": time.time(), "pid": os.getpid(),
            "info": json.dumps(info)})
        return None

    def _manage_shard(self, reg, shards, stopped, now, lease):
        if not reg or not shards or stopped:
            if self.shard is not None:
                self.db.execute("UPDATE {shards} SET holder = NULL, expires = 0 WHERE holder = ?", (self.node_name,))
                self.shard = None
            return
        if self.shard is not None:
            if self.shard >= shards or self.db.execute(
                    "UPDATE {shards} SET expires = ? WHERE shard = ? AND holder = ?",
                    (now + lease, self.shard, self.node_name)) != 1:
                self.shard = None
        if self.shard is None:
            for s in range(shards):
                if self.db.execute("UPDATE {shards} SET holder = ?, expires = ? WHERE shard = ?"
                                   " AND (holder IS NULL OR expires < ? OR holder = ?)",
                                   (self.node_name, now + lease, s, now, self.node_name)) == 1:
                    self.shard = s
                    break

    def _network(self, number, kv, claimer, inbound_poller):
        setup_id = kv.get("setup_id")
        try:
            if claimer and not self.claimed:
                code, body = self.network.claim(number, setup_id, self.activation)
                self.claimed = True  # one claim per activation (process start), accepted or not
                self.setup.set_json("last_claim", {"at": time.time(), "ok": code == 200, "node": self.node_name})
                LOG.info("%s: claimed %s on the network: %s %s", self.node_name, number, code, body)
            asked = time.time()
            code, body = self.network.poll(number, setup_id, inbound=inbound_poller)
            if claimer and code == 200 and body.get("holder") is None:
                # Nobody serves the number: the network stand-in restarted and lost its state. Claim again.
                self.network.claim(number, setup_id, self.activation)
                asked = time.time()
                code, body = self.network.poll(number, setup_id, inbound=inbound_poller)
        except (OSError, ValueError) as exc:
            LOG.debug("%s: network unreachable: %s", self.node_name, exc)
            return None
        if code != 200:
            return None
        status = {"holder": body.get("holder"), "serving": bool(body.get("serving")), "at": time.time(), "asked": asked}
        # The claimer and the shard-0 CoreApp both poll: a slow answer must not overwrite a later one (it would
        # report a setup that has just claimed the number as not serving, i.e. kicked off).
        self.setup.set_json_if_newer("network_status", status)
        for message in body.get("inbound") or []:
            self.delivery.add(message)
        # Status callbacks of sent messages: webhooks.message.sent|delivered|read false leaves that status out.
        wanted = ((kv.get("app_settings") or {}).get("webhooks") or {}).get("message") or {}
        for payload in body.get("statuses") or []:
            if wanted.get(payload["statuses"][0]["status"], True):
                self.delivery.add(payload)
        return status

    def _status(self, reg, stopped, initialising, net, now, kv, shards=None):
        if not reg:
            return "unregistered"
        if stopped:
            return "disconnected"
        if initialising:
            return "uninitialized"
        if self.kind == "master" and not self.primary:
            return "disconnected"
        if self.kind == "master" and int(shards or 1) < 2:
            # High availability (1 shard): only the serving CoreApp is connected; every other node, the
            # primary Master included, reports disconnected (Meta's health reference, note under the response).
            return "disconnected"
        if self.kind == "coreapp" and self.shard is None:
            return "disconnected"
        if not net or now - float(net.get("at") or 0) > max(5.0, 5 * self.setup.timing.tick):
            return "connecting"
        if net.get("serving"):
            return "connected"
        # Initialised, but the claimer has not claimed the number since: still connecting, not kicked off.
        if float((kv.get("last_claim") or {}).get("at") or 0) < float(kv.get("init_until") or 0):
            return "connecting"
        return "disconnected"

    def _crash_requested(self, kv):
        if not (kv.get("faults") or {}).get("crash"):
            return False
        roles = {"any", self.kind}
        if self.kind == "master":
            roles.add("primary_master" if self.primary else "secondary_master")
        if faults.take_crash(self.db, self.node_name, self.hostname, roles) is None:
            return False
        LOG.error("%s: crashing (fault injection)", self.node_name)
        self.crashed = True
        if self.exit_on_crash:
            os._exit(70)
        return True


class Delivery(threading.Thread):
    """Callback delivery.

    Callbacks are persisted in the setup's database (``callbacks`` in the kv table) until the webhook answers
    2xx, so they survive a restart. Only the CoreApp holding shard 0 delivers. The delay before retrying a failed
    callback grows linearly (Meta's reference): ``callback_backoff_delay_ms`` after the first failure, twice that
    after the second, ... capped at ``max_callback_backoff_delay_ms``; while ``webhooks.url`` is empty nothing is
    attempted (the callbacks wait).
    """

    def __init__(self, node):
        super().__init__(name="delivery-%s" % node.hostname, daemon=True)
        self.node = node
        self.setup = node.setup
        self.backoff = {}  # callback id -> (due monotonic, failures so far)
        self.pending = []
        self.stop_event = threading.Event()

    def add(self, message):
        if message.get("statuses"):
            cb_id = "%(id)s:%(status)s" % message["statuses"][0]
        else:
            cb_id = (message.get("messages") or [{}])[0].get("id") or secrets.token_hex(8)
        self._update(lambda items: items + [{"id": cb_id, "payload": message}]
                     if all(i["id"] != cb_id for i in items) else items)

    def _update(self, change):
        db = self.setup.db
        for dummy in range(50):
            raw = db.kv_get("callbacks")
            items = json.loads(raw) if raw else []
            new = json.dumps(change(items))
            if raw is None:
                if db.kv_add("callbacks", new):
                    return
            elif db.kv_cas("callbacks", raw, new):
                return
            time.sleep(0.01)
        LOG.warning("%s: could not update the callback queue", self.node.node_name)

    def run(self):
        while not self.stop_event.wait(0.1):
            if self.node.shard != 0 or self.node.crashed:
                continue
            try:
                raw = self.setup.db.kv_get("callbacks")
                self.pending = json.loads(raw) if raw else []
                now = time.monotonic()
                for item in self.pending:
                    due, failures = self.backoff.get(item["id"], (0.0, 0))
                    if due > now or self.stop_event.is_set():
                        continue
                    result = self._deliver(item["payload"])
                    if result == "ok":
                        self.backoff.pop(item["id"], None)
                        self._update(lambda items, cb_id=item["id"]: [i for i in items if i["id"] != cb_id])
                    elif result == "failed":
                        failures += 1
                        delay = self.delay(failures)
                        self.backoff[item["id"]] = (time.monotonic() + delay, failures)
                        # The schedule applied, newest last (a few only): tests compare it with the reference.
                        self.node.stats["retry_delays_s"] = (self.node.stats.get("retry_delays_s", [])
                                                             + [round(delay, 3)])[-20:]
            except Exception:  # noqa: BLE001 - keep delivering
                LOG.exception("%s: callback delivery failed", self.node.node_name)

    def delay(self, failures):
        """Seconds before the next attempt after ``failures`` failed ones: linear, capped."""
        settings = self.setup.get_json("app_settings") or {}
        base = max(0.05, float(settings.get("callback_backoff_delay_ms", 3000)) / 1000.0)
        cap = max(base, float(settings.get("max_callback_backoff_delay_ms", 900000)) / 1000.0)
        return min(cap, base * failures)

    def _deliver(self, payload):
        settings = self.setup.get_json("app_settings") or {}
        url = ((settings.get("webhooks") or {}).get("url")) or ""
        if not url:
            return "no-url"
        ctx = ssl.create_default_context(cadata=self.node.webhook_ca) if self.node.webhook_ca \
            else ssl.create_default_context()
        req = urllib.request.Request(url, data=json.dumps(payload).encode(), method="POST",
                                     headers={"Content-Type": "application/json",
                                              "User-Agent": "wa_emulator-coreapp"})
        try:
            with urllib.request.urlopen(req, timeout=10, context=ctx) as resp:
                ok = 200 <= resp.status < 300
        except (OSError, ValueError) as exc:
            LOG.info("%s: callback to %s failed: %s", self.node.node_name, url, exc)
            ok = False
        if ok:
            self.node.stats["callbacks_delivered"] += 1
            return "ok"
        self.node.stats["callback_attempts_failed"] += 1
        return "failed"
