"""What happens to a sent message: status callbacks as Meta's webhook reference shapes them (issue 25).

A 201 only says the client accepted the message; the network stand-in decides the outcome and the CoreApp posts
it to ``webhooks.url``: ``sent``, ``delivered`` (a WhatsApp user), ``read`` (one who reads), or ``failed`` with 1013
(not a WhatsApp user), 470 (free-form text outside the 24-hour window), 2001/2000 (template missing / wrong
parameter count). Templates are allowed outside the window.
"""
import time

import pytest

from conftest import network_call, send_text

from wa_emulator.receiver import WebhookReceiver

BUSINESS = "15550001111"


@pytest.fixture
def hooked(registered, tmp_path):
    """A registered setup whose webhook is a receiver it trusts (CA uploaded, CoreApps restarted)."""
    rec = WebhookReceiver("127.0.0.1", 0, state_dir=str(tmp_path / "hook")).start()
    api = registered
    with open(rec.ca_path, "rb") as f:
        assert api.call("POST", "/v1/certificates/webhooks/ca", raw=f.read(),
                        headers={"Content-Type": "text/plain"}).status == 200
    assert api.post("/_emulator/restart").status == 200
    api.wait_status("connected")
    assert api.call("PATCH", "/v1/settings/application", body={"webhooks": {"url": rec.url}}).status == 200
    yield api, rec
    rec.stop()


def statuses_of(rec, msg_id, count, timeout=20):
    """The status payloads the receiver got for ``msg_id``, once it has ``count`` of them."""
    deadline = time.monotonic() + timeout
    while True:
        with rec.lock:
            got = [st for c in rec.received for st in (c["body"] or {}).get("statuses", []) if st["id"] == msg_id]
        if len(got) >= count or time.monotonic() > deadline:
            return got
        time.sleep(0.05)


def template(name="migration_check", params=("x",), namespace="ns-1", code="en"):
    return {"to": "15550004444", "type": "template",
            "template": {"namespace": namespace, "name": name, "language": {"policy": "deterministic", "code": code},
                         "components": [{"type": "body",
                                         "parameters": [{"type": "text", "text": p} for p in params]}]}}


def test_status_callbacks_follow_the_networks_decision(hooked, emu):
    api, rec = hooked
    net = emu.network_url
    # A customer who wrote a minute ago: in the window, a WhatsApp user; one who reads.
    assert network_call(net, "POST", "/inbound", {"to": BUSINESS, "from": "15550002222", "text": {"body": "hi"}})[0] == 200
    assert api.post("/_emulator/recipients", {"number": "15550002222", "reads": True}).status == 200
    # A WhatsApp user who last wrote 25 hours ago, and a number that is not on WhatsApp.
    r = api.post("/_emulator/recipients", {"number": "15550004444", "whatsapp_user": True,
                                           "last_wrote": {BUSINESS: time.time() - 25 * 3600}})
    assert r.status == 200 and r.json["whatsapp_user"] is True
    assert api.post("/_emulator/templates", {"namespace": "ns-1", "name": "migration_check", "language": "en",
                                             "parameters": 1}).status == 200

    ids = {}
    for key, body in (("reads", {"to": "15550002222"}), ("old", {"to": "15550004444"}),
                      ("nobody", {"to": "15550005555"})):
        r = send_text(api, "test", to=body["to"])
        assert r.status == 201, r  # accepted, whatever happens next
        ids[key] = r.json["messages"][0]["id"]
    for key, body in (("tpl", template()), ("tpl_missing", template(name="nope")),
                      ("tpl_count", template(params=("a", "b")))):
        r = api.post("/v1/messages", body)
        assert r.status == 201, r
        ids[key] = r.json["messages"][0]["id"]

    got = statuses_of(rec, ids["reads"], 3)
    assert [s["status"] for s in got] == ["sent", "delivered", "read"]
    assert set(got[0]) == {"id", "recipient_id", "status", "timestamp"}
    assert got[0]["recipient_id"] == "15550002222" and got[0]["timestamp"].isdigit()

    def failed(key, code):
        got = statuses_of(rec, ids[key], 1)
        assert [s["status"] for s in got] == ["failed"], got
        assert got[0]["errors"][0]["code"] == code and got[0]["errors"][0]["title"], got
        return got[0]
    assert "24 hours" in failed("old", 470)["errors"][0]["title"]
    assert failed("nobody", 1013)["errors"][0]["title"] == "User is not valid"
    failed("tpl_missing", 2001)
    failed("tpl_count", 2000)
    # The template reaches the customer outside the window (a user who does not read: no "read").
    assert [s["status"] for s in statuses_of(rec, ids["tpl"], 2)] == ["sent", "delivered"]
    time.sleep(0.5)
    assert [s["status"] for s in statuses_of(rec, ids["tpl"], 3, timeout=0)] == ["sent", "delivered"]
    outcomes = {m["id"]: m["outcome"] for m in network_call(net, "GET", "/messages")[1]}
    assert outcomes[ids["nobody"]] == ["failed"] and outcomes[ids["reads"]] == ["sent", "delivered", "read"]


def test_status_settings_leave_statuses_out(hooked, emu):
    api, rec = hooked
    network_call(emu.network_url, "POST", "/inbound", {"to": BUSINESS, "from": "15550002222", "text": {"body": "hi"}})
    assert api.call("PATCH", "/v1/settings/application",
                    body={"webhooks": {"message": {"sent": False}}}).status == 200
    msg_id = send_text(api, "test", to="15550002222").json["messages"][0]["id"]
    assert [s["status"] for s in statuses_of(rec, msg_id, 1)] == ["delivered"]


def test_template_message_validation(shared_registered):
    api = shared_registered
    ok = template()
    assert api.post("/v1/messages", ok).status == 201
    assert api.post("/v1/messages", {"to": "1555", "type": "template"}).error_code() == 1008
    no_ns = dict(ok, template={k: v for k, v in ok["template"].items() if k != "namespace"})
    r = api.post("/v1/messages", no_ns)
    assert r.error_code() == 1008 and "namespace" in r.json["errors"][0]["details"]
    fallback = dict(ok, template=dict(ok["template"], language={"policy": "fallback", "code": "en"}))
    assert api.post("/v1/messages", fallback).error_code() == 1009
    extra = dict(ok, template=dict(ok["template"], colour="red"))
    assert api.post("/v1/messages", extra).error_code() == 1010
    bad = dict(ok, template=dict(ok["template"], components=[{"type": "sidebar"}]))
    assert api.post("/v1/messages", bad).error_code() == 1009


def test_admin_recipients_and_templates_are_checked(shared_registered):
    api = shared_registered
    assert api.post("/_emulator/recipients", {"number": "not-digits"}).status == 400
    assert api.post("/_emulator/recipients", {"number": "15550006666", "colour": 1}).status == 400
    assert api.post("/_emulator/templates", {"name": "x"}).status == 400
    assert api.get("/_emulator/recipients").status == 200
