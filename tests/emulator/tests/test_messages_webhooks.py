import time

import pytest

from conftest import migrate, network_call, send_text

from wa_emulator.receiver import WebhookReceiver


@pytest.fixture
def receivers(tmp_path):
    started = []

    def factory(name):
        rec = WebhookReceiver("127.0.0.1", 0, state_dir=str(tmp_path / name)).start()
        started.append(rec)
        return rec

    yield factory
    for rec in started:
        rec.stop()


def upload_ca(api, rec):
    with open(rec.ca_path, "rb") as f:
        r = api.call("POST", "/v1/certificates/webhooks/ca", raw=f.read(), headers={"Content-Type": "text/plain"})
    assert r.status == 200, r


def wait_received(rec, n, timeout=20):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with rec.lock:
            if len(rec.received) >= n:
                return list(rec.received)
        time.sleep(0.05)
    raise AssertionError("receiver got %d callbacks, expected %d" % (len(rec.received), n))


def test_send_message_recorded_by_network(registered, emu):
    r = send_text(registered, "hello there")
    assert r.status == 201, r
    msg_id = r.json["messages"][0]["id"]
    assert msg_id.startswith("gBEG")
    status, msgs = network_call(emu.network_url, "GET", "/messages")
    assert status == 200
    assert msgs[-1]["id"] == msg_id and msgs[-1]["text"]["body"] == "hello there"
    assert msgs[-1]["from"] == "15550001111" and msgs[-1]["to"] == "15559990000"
    assert msgs[-1]["setup_id"] == registered.state()["setup_id"]


def test_message_validation(shared_registered):
    api = shared_registered
    assert send_text(api, "x" * 4096).status == 201
    r = send_text(api, "x" * 4097)
    assert r.status == 400 and r.error_code() == 1001 and r.json["errors"][0]["title"] == "Message too long"
    assert api.post("/v1/messages", {"type": "text", "text": {"body": "x"}}).error_code() == 1008
    assert api.post("/v1/messages", {"to": "1555", "type": "text"}).error_code() == 1008
    assert api.post("/v1/messages", {"to": "1555", "type": "hologram", "text": {"body": "x"}}).error_code() == 1009
    ok = {"to": "15559990000", "type": "text", "recipient_type": "individual", "text": {"body": "x"}}
    r = api.post("/v1/messages", dict(ok, recipient_type="group"))
    assert r.error_code() == 1002 and r.json["errors"][0]["title"] == "Invalid recipient type"
    assert api.post("/v1/messages", dict(ok, preview_url="yes")).error_code() == 1009
    assert api.post("/v1/messages", dict(ok, preview_url=True)).status == 201
    r = api.post("/v1/messages", dict(ok, colour="red"))
    assert r.error_code() == 1010 and "colour" in r.json["errors"][0]["details"]
    assert api.post("/v1/messages", dict(ok, text={"body": "x", "bold": True})).error_code() == 1010


def test_message_needs_registered_client(api):
    r = send_text(api)
    assert r.status == 400 and r.error_code() == 1011


def test_contacts_always_valid(shared_registered):
    r = shared_registered.post("/v1/contacts", {"blocking": "wait", "contacts": ["+1 555 000 2222"]})
    assert r.status == 200
    assert r.json["contacts"] == [{"input": "+1 555 000 2222", "status": "valid", "wa_id": "15550002222"}]
    # Meta's reference: blocking is no_wait (default) or wait; force_check a boolean.
    api = shared_registered
    assert api.post("/v1/contacts", {"blocking": "no_wait", "force_check": True, "contacts": ["1"]}).status == 200
    assert api.post("/v1/contacts", {"blocking": "sometimes", "contacts": ["1"]}).error_code() == 1009
    assert api.post("/v1/contacts", {"force_check": "yes", "contacts": ["1"]}).error_code() == 1009


def test_support_info(shared_registered):
    r = shared_registered.get("/v1/support")
    assert r.status == 200 and "15550001111" in r.json["support"]["debug_info"]


def test_inbound_reaches_webhook_with_uploaded_ca_after_restart(registered, emu, receivers):
    rec = receivers("hook")
    api = registered
    assert api.call("PATCH", "/v1/settings/application",
                    body={"webhooks": {"url": rec.url + "/wa"}, "callback_backoff_delay_ms": 200}).status == 200
    upload_ca(api, rec)
    # The CA is read when CoreApps start: before a restart the callback cannot be verified.
    status, body = network_call(emu.network_url, "POST", "/inbound",
                                {"to": "15550001111", "from": "15557770000", "text": {"body": "hi 1"}})
    assert status == 200 and body["setup_id"] == api.state()["setup_id"]
    api.wait(lambda s: s["nodes"][0]["info"]["callback_attempts_failed"] > 0, what="a failed callback attempt")
    assert rec.received == []
    assert api.state()["callbacks_pending"] == 1
    assert api.post("/_emulator/restart").status == 200
    api.wait_status("connected")
    network_call(emu.network_url, "POST", "/inbound",
                 {"to": "15550001111", "from": "15557770000", "text": {"body": "hi 2"}})
    # The first callback was persisted in the DB and survives the restart.
    got = wait_received(rec, 2)
    assert sorted(c["body"]["messages"][0]["text"]["body"] for c in got) == ["hi 1", "hi 2"]
    payload = got[-1]["body"]
    assert got[0]["path"] == "/wa"
    assert payload["messages"][0]["from"] == "15557770000" and payload["messages"][0]["type"] == "text"
    assert payload["messages"][0]["id"] and payload["messages"][0]["timestamp"].isdigit()
    assert payload["contacts"][0]["wa_id"] == "15557770000"
    api.wait(lambda s: s["callbacks_pending"] == 0, what="queue drained")


def test_callbacks_wait_for_a_webhook_url(registered, emu, receivers):
    rec = receivers("later")
    api = registered
    upload_ca(api, rec)
    api.post("/_emulator/restart")
    api.wait_status("connected")
    network_call(emu.network_url, "POST", "/inbound", {"to": "15550001111", "text": {"body": "early"}})
    api.wait(lambda s: s["callbacks_pending"] == 1, what="callback queued")
    time.sleep(0.5)
    assert api.call("PATCH", "/v1/settings/application",
                    body={"webhooks": {"url": rec.url}, "callback_backoff_delay_ms": 20000}).status == 200
    t0 = time.monotonic()
    assert wait_received(rec, 1)[0]["body"]["messages"][0]["text"]["body"] == "early"
    assert time.monotonic() - t0 < 8  # not after a 20 s backoff: nothing had failed


def test_inbound_during_downtime_reaches_the_new_setup(emulators, receivers, network):
    hook = receivers("new-hook")
    old = emulators("old", network_url=network)
    old.api.login()
    old.api.seed()
    old.api.wait_status("connected")
    backup = old.api.post("/v1/settings/backup", {"password": "pw-Pa55!"}).json["settings"]["data"]
    assert old.stop() == 0  # step 5: uninstall the old setup (downtime starts)
    status, body = network_call(network, "POST", "/inbound", {"to": "15550001111", "text": {"body": "downtime"}})
    assert status == 200
    new = emulators("new", network_url=network)
    new.api.login()
    upload_ca(new.api, hook)
    new.api.post("/_emulator/restart")
    assert new.api.post("/v1/settings/restore", {"password": "pw-Pa55!", "data": backup}).status == 200
    new.api.wait_status("connected")
    assert new.api.call("PATCH", "/v1/settings/application", body={"webhooks": {"url": hook.url}}).status == 200
    assert wait_received(hook, 1)[0]["body"]["messages"][0]["text"]["body"] == "downtime"
    inbound = network_call(network, "GET", "/inbound")[1]
    assert inbound[0]["fetched_by"] == new.api.state()["setup_id"]


def test_inbound_reaches_new_webhook_not_old_after_migration(emulators, receivers, network):
    old_hook, new_hook = receivers("old-hook"), receivers("new-hook")
    old = emulators("old", network_url=network)
    old.api.login()
    old.api.seed(webhook_url=old_hook.url)
    upload_ca(old.api, old_hook)
    assert old.api.post("/_emulator/restart").status == 200
    old.api.wait_status("connected")
    network_call(network, "POST", "/inbound", {"to": "15550001111", "from": "15557770000", "text": {"body": "one"}})
    assert [c["body"]["messages"][0]["text"]["body"] for c in wait_received(old_hook, 1)] == ["one"]

    new = emulators("new", network_url=network)
    new.api.login()
    upload_ca(new.api, new_hook)  # CoreApps of the new setup start after this (restart below)
    assert new.api.post("/_emulator/restart").status == 200
    assert migrate(old.api, new.api).status == 200
    new.api.wait_status("connected")
    old.api.wait_status("disconnected")
    # Step 9: set up the webhook on the new setup.
    assert new.api.call("PATCH", "/v1/settings/application",
                        body={"webhooks": {"url": new_hook.url + "/new"}}).status == 200
    status, body = network_call(network, "POST", "/inbound",
                                {"to": "15550001111", "from": "15557770000", "text": {"body": "two"}})
    assert body["setup_id"] == new.api.state()["setup_id"]
    got = wait_received(new_hook, 1)
    assert got[0]["body"]["messages"][0]["text"]["body"] == "two" and got[0]["path"] == "/new"
    time.sleep(0.3)
    assert len(old_hook.received) == 1


def test_callbacks_retry_until_the_webhook_answers(registered, emu, receivers):
    rec = receivers("flaky")
    rec.status = 500
    api = registered
    upload_ca(api, rec)
    api.post("/_emulator/restart")
    api.wait_status("connected")
    api.call("PATCH", "/v1/settings/application",
             body={"webhooks": {"url": rec.url}, "callback_backoff_delay_ms": "400"})
    network_call(emu.network_url, "POST", "/inbound", {"to": "15550001111", "text": {"body": "retry me"}})
    # Meta's reference: the delay grows linearly by callback_backoff_delay_ms (0.4, 0.8, 1.2, 1.6 s), not doubling
    # (0.4, 0.8, 1.6, 3.2 s) ...

    def delays():
        node = [n for n in api.state()["nodes"] if n["shard"] == 0][0]
        return node["info"].get("retry_delays_s", [])
    api.wait(lambda s: len(delays()) >= 4, timeout=30, what="four failed attempts")
    assert delays()[:4] == [0.4, 0.8, 1.2, 1.6]
    got = wait_received(rec, 5)
    # ... and really applied: each retry came no earlier than its delay (no upper bound: the machine may be loaded).
    gaps = [b["at"] - a["at"] for a, b in zip(got, got[1:5])]
    assert all(gap >= delay - 0.05 for gap, delay in zip(gaps, [0.4, 0.8, 1.2, 1.6])), gaps
    # ... and is capped by max_callback_backoff_delay_ms.
    api.call("PATCH", "/v1/settings/application", body={"max_callback_backoff_delay_ms": 500})
    api.wait(lambda s: len(delays()) >= 6, timeout=30, what="two more failed attempts")
    assert delays()[5] == 0.5, delays()
    rec.status = 200
    deadline = time.monotonic() + 8
    while time.monotonic() < deadline and not any(c["answered"] == 200 for c in rec.received):
        time.sleep(0.05)
    answered = [c["answered"] for c in rec.received]
    assert answered[-1] == 200 and set(answered[:-1]) == {500}
    time.sleep(0.5)
    assert [c["answered"] for c in rec.received].count(200) == 1


def test_inbound_to_unserved_number_is_404(network):
    status, dummy = network_call(network, "POST", "/inbound", {"to": "15550009999", "text": {"body": "x"}})
    assert status == 404


def test_network_restart_is_survived(emulators):
    from wa_emulator.network import start_network
    server = start_network("127.0.0.1", 0)
    port = server.port
    url = "http://127.0.0.1:%d" % port
    try:
        emu = emulators("e", network_url=url)
        emu.api.login()
        emu.api.seed()
        emu.api.wait_status("connected")
        server.stop()
        emu.api.wait_status("connecting")
        server = start_network("127.0.0.1", port)
        emu.api.wait_status("connected")
        assert network_call(url, "GET", "/numbers/15550001111")[1]["current"]["setup_id"] == emu.info["setup_id"]
        assert send_text(emu.api).status == 201
    finally:
        server.stop()


def test_chunked_request_body(shared_registered):
    import http.client
    api = shared_registered
    conn = http.client.HTTPSConnection(api.host, api.port, context=api.ctx, timeout=10)
    try:
        body = iter([b'{"to": "15559990000", "type": "text", ', b'"text": {"body": "chunked"}}'])
        conn.request("POST", "/v1/messages", body=body, encode_chunked=True,
                     headers={"Authorization": "Bearer " + api.token, "Content-Type": "application/json"})
        resp = conn.getresponse()
        assert resp.status == 201, resp.read()
    finally:
        conn.close()
