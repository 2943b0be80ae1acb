"""The WhatsApp network stand-in: which setup serves each number, sent and inbound messages.

Plain HTTP JSON service (default port 8080).  Endpoints:

* ``POST /claim {"number", "setup_id", "activation"}`` -> 200 ``{"holder": setup_id}``; a claim with a new
  activation id takes the number over (the previous setup is kicked off).  A claim with an activation id
  that was already superseded is refused (409): a kicked setup does not come back until one of its
  processes starts again.
* ``GET /poll?number=N&setup_id=S[&inbound=1]`` -> ``{"holder": ..., "serving": bool, "inbound": [...]}``;
  inbound messages queued for ``S`` are handed over (once) when ``inbound=1``.
* ``POST /send {"setup_id", "from", "to", "type", "text": {"body"}, "id"}`` -> 200, or 409 when ``setup_id``
  does not serve ``from``.
* ``POST /inbound {"to", "from", "text": {"body"}|"body", "name"}`` -> 200 ``{"id", "setup_id"}``: queued for
  ``to`` (404 when nobody has ever served it); handed to the setup that serves ``to`` when it next polls
  (store and forward, as the WhatsApp servers keep messages for an offline client). ``setup_id`` in the answer
  is the setup serving the number at that moment; ``fetched_by`` in ``GET /inbound`` is who took it.
* ``GET /messages`` (sent messages, each with its ``outcome``), ``GET /inbound`` (inbound records), ``GET /numbers``,
  ``GET /numbers/<n>``, ``POST /reset``, ``GET /health``.
* ``POST /recipients {"number", "whatsapp_user": bool, "reads": bool, "last_wrote": {"<business number>": unix
  time}}`` -> 200 the recipient as the network knows it; ``GET /recipients``. A customer who sends a message
  (``POST /inbound``) is a WhatsApp user and opens the 24-hour customer-service window with that business number.
* ``POST /templates {"namespace", "name", "language", "parameters": N}`` -> 200; ``GET /templates``: the message
  templates the network knows (approved in WhatsApp Manager, in reality).

Outcome of a sent message (Meta's webhook reference): status callbacks ``sent``, then ``delivered`` when the recipient
is a WhatsApp user, then ``read`` when it reads; or ``failed`` with error 1013 (not a WhatsApp user), 470 (free-form
message more than 24 hours after the customer last wrote; templates are allowed), 2001 (template missing) or 2000
(template parameter count mismatch). They are queued for the business number and handed, like inbound messages,
to the setup that serves it when it next polls (``"statuses"`` in the poll answer).
"""
import json
import secrets
import threading
import time
import urllib.error
import urllib.parse
import urllib.request

from .httpbase import Handler, Server

#: Customer-service window (Meta: free-form messages only within 24 hours of the customer's last message).
WINDOW_SECONDS = 24 * 3600
#: Errors of a ``failed`` status: code -> title (Meta's error table and webhook samples).
STATUS_ERRORS = {
    470: "Message failed to send because more than 24 hours have passed since the customer last replied to this "
         "number",
    1013: "User is not valid",
    2000: "Template Param Count Mismatch",
    2001: "Template Missing",
}


class Network:
    def __init__(self):
        self.lock = threading.Lock()
        self.reset()

    def reset(self):
        with getattr(self, "lock", threading.Lock()):
            self.numbers = {}      # number -> {"setup_id", "activation", "since"}
            self.seen = {}         # number -> set of activation ids ever used
            self.history = []      # claim events
            self.messages = []     # sent
            self.inbound = []      # inbound records
            self.statuses = []     # status callbacks queued for a business number: {"number", "queued", "payload"}
            self.recipients = {}   # number -> {"whatsapp_user", "reads", "last_wrote": {business: time}}
            self.templates = {}    # (namespace, name, language) -> number of parameters

    def claim(self, number, setup_id, activation):
        with self.lock:
            cur = self.numbers.get(number)
            seen = self.seen.setdefault(number, set())
            if cur and cur["activation"] == activation:
                return 200, {"holder": cur["setup_id"]}
            if activation in seen:
                return 409, {"error": "activation superseded: %s was kicked off" % setup_id,
                             "holder": cur and cur["setup_id"]}
            seen.add(activation)
            event = {"number": number, "setup_id": setup_id, "activation": activation, "at": time.time(),
                     "previous": cur and cur["setup_id"]}
            self.numbers[number] = {"setup_id": setup_id, "activation": activation, "since": event["at"]}
            self.history.append(event)
            return 200, {"holder": setup_id, "previous": event["previous"]}

    def holder(self, number):
        cur = self.numbers.get(number)
        return cur["setup_id"] if cur else None

    def poll(self, number, setup_id, take_inbound):
        with self.lock:
            holder = self.holder(number)
            items = []
            if take_inbound and holder == setup_id:
                # Store and forward: whatever is still queued for the number goes to the setup serving it now.
                for rec in self.inbound:
                    if rec["to"] == number and rec["status"] == "queued":
                        rec["status"] = "fetched"
                        rec["fetched_at"] = time.time()
                        rec["fetched_by"] = setup_id
                        items.append(rec["message"])
                statuses = [st["payload"] for st in self.statuses if st["number"] == number and st["queued"]]
                for st in self.statuses:
                    if st["number"] == number:
                        st["queued"] = False
                return {"holder": holder, "serving": True, "inbound": items, "statuses": statuses}
            return {"holder": holder, "serving": holder == setup_id, "inbound": items}

    def send(self, body):
        with self.lock:
            number = body.get("from")
            holder = self.holder(number)
            if holder is None or holder != body.get("setup_id"):
                return 409, {"error": "setup %s does not serve %s (served by %s)"
                             % (body.get("setup_id"), number, holder)}
            rec = {"id": body.get("id") or "gBEG" + secrets.token_hex(12), "from": number, "to": body.get("to"),
                   "type": body.get("type", "text"), "text": body.get("text"), "template": body.get("template"),
                   "setup_id": holder, "timestamp": int(time.time())}
            rec["outcome"] = self.outcome(rec)
            self.messages.append(rec)
            for status in rec["outcome"]:
                payload = {"id": rec["id"], "recipient_id": rec["to"], "status": status,
                           "timestamp": str(int(time.time()))}
                if status == "failed":
                    payload["errors"] = [{"code": rec["error"], "title": STATUS_ERRORS[rec["error"]]}]
                self.statuses.append({"number": number, "queued": True, "payload": {"statuses": [payload]}})
            return 200, {"id": rec["id"]}

    def outcome(self, rec):
        """The statuses a sent message goes through (the network decides; ``rec["error"]`` when it fails)."""
        who = self.recipients.get(rec["to"]) or {}
        if not who.get("whatsapp_user"):
            rec["error"] = 1013
        elif rec["type"] == "template":
            tpl = rec["template"] or {}
            key = (tpl.get("namespace"), tpl.get("name"), (tpl.get("language") or {}).get("code"))
            if key not in self.templates:
                rec["error"] = 2001
            elif self.templates[key] != len(tpl.get("parameters") or []):
                rec["error"] = 2000
        elif time.time() - float((who.get("last_wrote") or {}).get(rec["from"], 0)) > WINDOW_SECONDS:
            rec["error"] = 470
        if "error" in rec:
            return ["failed"]
        return ["sent", "delivered", "read"] if who.get("reads") else ["sent", "delivered"]

    def set_recipient(self, body):
        number = str(body.get("number", ""))
        wrote = body.get("last_wrote", {})
        known = {"number", "whatsapp_user", "reads", "last_wrote"}
        if not number.isdigit() or not isinstance(wrote, dict) or set(body) - known:
            return 400, {"error": "give {\"number\": digits, \"whatsapp_user\": bool, \"reads\": bool, "
                                  "\"last_wrote\": {\"<business number>\": unix time}}"}
        with self.lock:
            who = self.recipients.setdefault(number, {"whatsapp_user": False, "reads": False, "last_wrote": {}})
            who.update({k: bool(body[k]) for k in ("whatsapp_user", "reads") if k in body})
            who["last_wrote"].update({str(k): float(v) for k, v in wrote.items()})
            return 200, dict(who, number=number)

    def add_template(self, body):
        try:
            key = (str(body["namespace"]), str(body["name"]), str(body["language"]))
            count = int(body.get("parameters", 0))
        except (KeyError, TypeError, ValueError):
            return 400, {"error": "give {\"namespace\", \"name\", \"language\", \"parameters\": N}"}
        with self.lock:
            self.templates[key] = count
        return 200, {"namespace": key[0], "name": key[1], "language": key[2], "parameters": count}

    def deliver_inbound(self, body):
        with self.lock:
            to = str(body.get("to", ""))
            holder = self.holder(to)
            if to not in self.numbers:
                return 404, {"error": "no setup serves %s" % to}
            text = body.get("text") or {"body": body.get("body", "")}
            sender = str(body.get("from", "15550009999"))
            msg_id = body.get("id") or "ABEG" + secrets.token_hex(10)
            message = {
                "contacts": [{"profile": {"name": body.get("name", "Test Customer")}, "wa_id": sender}],
                "messages": [{"from": sender, "id": msg_id, "timestamp": str(int(time.time())),
                              "text": {"body": text.get("body", "")}, "type": "text"}],
            }
            self.inbound.append({"id": msg_id, "to": to, "setup_id": holder, "status": "queued",
                                 "at": time.time(), "message": message})
            # The customer wrote: a WhatsApp user, and the 24-hour window with this business number opens.
            who = self.recipients.setdefault(sender, {"whatsapp_user": True, "reads": False, "last_wrote": {}})
            who["whatsapp_user"] = True
            who["last_wrote"][to] = time.time()
            return 200, {"id": msg_id, "setup_id": holder}

    def snapshot(self):
        with self.lock:
            return {"numbers": dict(self.numbers), "history": list(self.history)}


class NetworkHandler(Handler):
    server_version = "wa_network"

    def _body(self):
        raw = self.read_body()
        return json.loads(raw) if raw else {}

    def do_GET(self):
        net = self.server.app
        url = urllib.parse.urlsplit(self.path)
        q = dict(urllib.parse.parse_qsl(url.query))
        if url.path == "/health":
            return self.send_json(200, {"ok": True})
        if url.path == "/poll":
            return self.send_json(200, net.poll(q.get("number", ""), q.get("setup_id", ""),
                                                q.get("inbound") == "1"))
        if url.path == "/messages":
            with net.lock:
                return self.send_json(200, list(net.messages))
        if url.path == "/inbound":
            with net.lock:
                return self.send_json(200, [dict(r) for r in net.inbound])
        if url.path == "/numbers":
            return self.send_json(200, net.snapshot())
        if url.path == "/recipients":
            with net.lock:
                return self.send_json(200, {k: dict(v) for k, v in net.recipients.items()})
        if url.path == "/templates":
            with net.lock:
                return self.send_json(200, [{"namespace": k[0], "name": k[1], "language": k[2], "parameters": v}
                                            for k, v in net.templates.items()])
        if url.path.startswith("/numbers/"):
            number = url.path.split("/", 2)[2]
            with net.lock:
                cur = net.numbers.get(number)
                hist = [h for h in net.history if h["number"] == number]
            return self.send_json(200 if cur else 404, {"number": number, "current": cur, "history": hist})
        return self.send_json(404, {"error": "not found"})

    def do_POST(self):
        net = self.server.app
        try:
            body = self._body()
        except ValueError:
            return self.send_json(400, {"error": "invalid JSON"})
        if self.path == "/claim":
            status, obj = net.claim(str(body.get("number")), body.get("setup_id"), body.get("activation"))
            return self.send_json(status, obj)
        if self.path == "/send":
            status, obj = net.send(body)
            return self.send_json(status, obj)
        if self.path == "/inbound":
            status, obj = net.deliver_inbound(body)
            return self.send_json(status, obj)
        if self.path == "/recipients":
            return self.send_json(*net.set_recipient(body))
        if self.path == "/templates":
            return self.send_json(*net.add_template(body))
        if self.path == "/reset":
            net.reset()
            return self.send_json(200, {})
        return self.send_json(404, {"error": "not found"})


def start_network(host="127.0.0.1", port=0):
    server = Server((host, port), NetworkHandler, app=Network())
    server.start("network")
    return server


class NetworkClient:
    """What a setup uses to talk to the network (short timeouts; errors raise OSError)."""

    def __init__(self, base_url, timeout=5):
        self.base = base_url.rstrip("/")
        self.timeout = timeout

    def _call(self, method, path, body=None):
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.base + path, data=data, method=method,
                                     headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as resp:
                return resp.status, json.loads(resp.read() or b"{}")
        except urllib.error.HTTPError as err:
            try:
                return err.code, json.loads(err.read() or b"{}")
            except ValueError:
                return err.code, {}

    def claim(self, number, setup_id, activation):
        return self._call("POST", "/claim", {"number": number, "setup_id": setup_id, "activation": activation})

    def poll(self, number, setup_id, inbound=False):
        q = urllib.parse.urlencode({"number": number, "setup_id": setup_id, "inbound": "1" if inbound else "0"})
        return self._call("GET", "/poll?" + q)

    def send(self, body):
        return self._call("POST", "/send", body)
