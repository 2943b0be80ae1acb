"""A tiny HTTPS webhook receiver for tests: records every POST, serves ``GET /received``."""
import json
import os
import threading
import time

from . import certs
from .httpbase import Handler, Server, server_ssl_context


class ReceiverHandler(Handler):
    server_version = "wa_webhook_receiver"

    def do_POST(self):
        raw = self.read_body()
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = raw.decode("utf-8", "replace")
        rec = self.server.app
        status = rec.status
        with rec.lock:
            rec.received.append({"path": self.path, "headers": dict(self.headers), "body": body,
                                 "at": time.time(), "answered": status})
        self.send_json(status, {})

    def do_GET(self):
        rec = self.server.app
        if self.path.startswith("/received"):
            with rec.lock:
                return self.send_json(200, list(rec.received))
        if self.path == "/health":
            return self.send_json(200, {"ok": True})
        return self.send_json(404, {"error": "not found"})

    def do_DELETE(self):
        rec = self.server.app
        if self.path.startswith("/received"):
            with rec.lock:
                rec.received.clear()
            return self.send_json(200, {})
        return self.send_json(404, {"error": "not found"})

    def do_PUT(self):
        # PUT /status {"status": 500} makes the receiver answer callbacks with that status.
        rec = self.server.app
        if self.path == "/status":
            rec.status = int(json.loads(self.read_body() or b"{}").get("status", 200))
            return self.send_json(200, {"status": rec.status})
        return self.send_json(404, {"error": "not found"})


class WebhookReceiver:
    def __init__(self, host="127.0.0.1", port=0, cert=None, key=None, state_dir=None):
        if not (cert and key):
            if not state_dir:
                raise ValueError("give --cert and --key, or --state-dir to generate them")
            paths = certs.ensure_tls_files(state_dir, prefix="receiver")
            cert, key = paths["cert"], paths["key"]
            self.ca_path = paths["ca"]
        else:
            self.ca_path = None
        self.lock = threading.Lock()
        self.received = []
        self.status = 200
        self.server = Server((host, port), ReceiverHandler, server_ssl_context(cert, key), app=self)
        self.port = self.server.port

    @property
    def url(self):
        return "https://127.0.0.1:%d" % self.port

    def start(self):
        self.server.start("webhook-receiver")
        return self

    def stop(self):
        self.server.stop()


def write_json(path, obj):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(obj, f)
    os.replace(tmp, path)
