"""The Webapp: one HTTPS server for the REST API (``api.py``) and the emulator's admin interface under
``/_emulator`` (``admin.py``), with the fault rules (``faults.py``) applied to every API request.

This file holds what the three share: the application object (one per Webapp, shared by the request
threads) and the request handler's plumbing (reading the request, sending it to the API or the admin
interface, turning their errors into answers).
"""
import logging
import math
import threading
import time
import urllib.parse

from . import faults
from .admin import AdminError, AdminHandlers
from .api import ApiError, ApiHandlers
from .httpbase import Handler
from .network import NetworkClient

LOG = logging.getLogger("wa_emulator.web")

#: Meta's rate-limit page (capacity rate limits): 20 requests per second with bursts up to 60 on every endpoint,
#: 50 with bursts up to 150 on /v1/messages (since v2.25.3) -> 429; concurrency limits -> 503. The in-flight limit is
#: not documented (Meta: "when the Coreapp itself is under heavy load"): the emulator's convention is 16 requests
#: at once per Webapp. ``POST /_emulator/config {"rate_limits": {...} | false}`` changes or disables them.
RATE_LIMITS = {"requests_per_second": 20, "burst": 60, "messages_per_second": 50, "messages_burst": 150,
               "max_concurrent": 16}


class RateLimiter:
    """Token buckets (one for /v1/messages, one for every other API path) and an in-flight count, per Webapp."""

    def __init__(self):
        self.lock = threading.Lock()
        self.buckets = {}  # name -> [tokens, last refill (monotonic)]
        self.inflight = 0

    def enter(self, path, limits):
        """None when the request may go on (call ``leave`` after it), else (status, code, retry_after_seconds)."""
        if limits is False:
            return None
        limits = dict(RATE_LIMITS, **(limits or {}))
        name = "messages" if path == "/v1/messages" else "requests"
        rate = float(limits["messages_per_second" if name == "messages" else "requests_per_second"])
        burst = float(limits["messages_burst" if name == "messages" else "burst"])
        now = time.monotonic()
        with self.lock:
            tokens, last = self.buckets.get(name, (burst, now))
            tokens = min(burst, tokens + (now - last) * rate)
            if tokens < 1:
                self.buckets[name] = [tokens, now]
                return 429, 1015, max(1, math.ceil((1 - tokens) / rate))
            if self.inflight >= int(limits["max_concurrent"]):
                self.buckets[name] = [tokens, now]
                return 503, 1016, 1
            self.buckets[name] = [tokens - 1, now]
            self.inflight += 1
        return None

    def leave(self):
        with self.lock:
            self.inflight -= 1


class WebApp:
    """Application object shared by the request handler threads."""

    def __init__(self, setup, *, api_key=None, multiconnect=False, version="v2.63.1", network_url=None,
                 ca_path=None, restart_callback=None, mode="process"):
        self.setup = setup
        self.api_key = api_key
        self.multiconnect = multiconnect
        self.version = version
        self.network_url = network_url
        self.network = NetworkClient(network_url, timeout=5) if network_url else None
        self.ca_path = ca_path
        self.restart_callback = restart_callback
        self.mode = mode
        self.fault_lock = threading.Lock()
        self.write_lock = threading.Lock()
        self.limiter = RateLimiter()

    @property
    def meta(self):
        return {"api_status": "stable", "version": self.version}

    def take_restore_fault(self):
        return faults.take_restore(self.setup.db, self.fault_lock)

    def health(self, nodes=None):
        nodes = self.setup.nodes() if nodes is None else nodes
        if not self.multiconnect:
            coreapps = sorted((n for n in nodes if n["kind"] == "coreapp" and n["alive"]),
                              key=lambda n: -n["heartbeat"])
            status = coreapps[0]["status"] if coreapps else "disconnected"
            return {"gateway_status": status}
        return {n["name"]: {"gateway_status": n["status"], "role": n["role"]} for n in nodes}


class WebHandler(ApiHandlers, AdminHandlers, Handler):
    server_version = "WhatsApp-Webapp-Emulator"

    def do_GET(self):
        self.dispatch()

    def do_POST(self):
        self.dispatch()

    def do_PUT(self):
        self.dispatch()

    def do_PATCH(self):
        self.dispatch()

    def do_DELETE(self):
        self.dispatch()

    def do_HEAD(self):
        self.dispatch()

    @property
    def app(self):
        return self.server.app

    def dispatch(self):
        url = urllib.parse.urlsplit(self.path)
        path = url.path.rstrip("/") or "/"
        self.query = dict(urllib.parse.parse_qsl(url.query))
        try:
            self._raw = self.read_body()
        except ValueError:
            self.close_connection = True
            return self.error(413, 1009, "request body too large")
        if path.startswith("/_emulator"):
            try:
                return self.admin(path)
            except AdminError as exc:
                return self.send_json(exc.status, {"error": str(exc)})
            except Exception as exc:  # noqa: BLE001
                LOG.exception("admin request failed")
                return self.send_json(500, {"error": "%s: %s" % (type(exc).__name__, exc)})
        refused = self.app.limiter.enter(path, self.app.setup.config().get("rate_limits"))
        if refused:
            status, code, wait = refused
            return self.error(status, code, "rate limit: %s; retry after %d s" % (
                "too many requests" if status == 429 else "too many requests at once", wait),
                headers={"Retry-After": str(wait)})
        try:
            if faults.inject(self, path):
                return None
            return self.route(path)
        except ApiError as exc:
            return self.error(exc.status, exc.code, exc.details)
        except Exception:  # noqa: BLE001
            LOG.exception("request %s %s failed", self.command, path)
            return self.error(500, 1014, "internal error in the emulator")
        finally:
            self.app.limiter.leave()
