import http.client
import json
import time

import pytest

from conftest import Api, start_emulator


def test_error_count_then_recovers(api):
    r = api.post("/_emulator/faults", {"errors": [{"status": 503, "count": 2, "path_prefix": "/v1/health"}]})
    assert r.status == 200
    for dummy in range(2):
        r = api.get("/v1/health")
        assert r.status == 503 and r.error_code() == 1016 and r.headers.get("Retry-After") == "1"
    assert api.get("/v1/health").status == 200
    assert api.get("/_emulator/faults").json["errors"][0]["count"] == 0


@pytest.mark.parametrize("rule,status,code", [
    ({"status": 500}, 500, 1014),
    ({"status": 429}, 429, 1015),
    ({"code": 1015}, 429, 1015),
    ({"code": 1016}, 503, 1016),
    ({"code": 1011}, 503, 1011),
    ({"status": 400, "code": 1011}, 400, 1011),
])
def test_error_kinds_in_envelope(shared_registered, rule, status, code):
    api = shared_registered
    api.post("/_emulator/faults", {"errors": [dict(rule, count=1)]})
    r = api.get("/v1/settings/application")
    assert r.status == status and r.error_code() == code
    assert r.json["errors"][0]["title"] and r.json["meta"]["api_status"] == "stable"
    assert api.get("/v1/settings/application").status == 200


@pytest.mark.parametrize("status", [502, 504])
def test_gateway_errors_are_html(shared_registered, status):
    api = shared_registered
    api.post("/_emulator/faults", {"errors": [{"status": status, "count": 1}]})
    r = api.get("/v1/health")
    assert r.status == status and b"<html>" in r.raw and r.headers["Content-Type"] == "text/html"


def test_path_prefix_method_and_share(shared_registered):
    api = shared_registered
    api.post("/_emulator/faults", {"errors": [{"status": 500, "path_prefix": "/v1/settings", "method": "PATCH"}]})
    assert api.get("/v1/settings/application").status == 200
    assert api.get("/v1/health").status == 200
    assert api.call("PATCH", "/v1/settings/application", body={}).status == 500
    api.post("/_emulator/faults", {"errors": [{"status": 500, "share": 0.0}]})
    assert all(api.get("/v1/health").status == 200 for dummy in range(5))
    api.post("/_emulator/faults", {"errors": [{"status": 500, "share": 0.5}]})
    statuses = {api.get("/v1/health").status for dummy in range(24)}
    assert statuses == {200, 500}
    # The admin interface is never faulted.
    assert api.get("/_emulator/state").status == 200
    assert api.call("DELETE", "/_emulator/faults").status == 200
    assert api.get("/v1/health").status == 200


def test_latency(shared_registered):
    api = shared_registered
    api.post("/_emulator/faults", {"latency_ms": 2000, "latency_path_prefix": "/v1/health"})
    t0 = time.monotonic()
    assert api.get("/v1/health").status == 200
    assert time.monotonic() - t0 >= 2.0
    t0 = time.monotonic()
    assert api.get("/v1/settings/application").status == 200
    assert time.monotonic() - t0 < 1.5  # not delayed (a generous bound for a loaded machine)
    api.call("DELETE", "/_emulator/faults")


def test_dropped_connection(shared_registered):
    api = Api(shared_registered.url, shared_registered.ca_path, keepalive=False)
    api.token = shared_registered.token
    api.post("/_emulator/faults", {"drop": [{"count": 1, "path_prefix": "/v1/settings/backup"}]})
    with pytest.raises((http.client.HTTPException, ConnectionError, OSError)):
        api.post("/v1/settings/backup", {"password": "x"})
    assert api.post("/v1/settings/backup", {"password": "x"}).status == 200


def test_invalid_fault_specs(shared_registered):
    api = shared_registered
    for bad in ({"nonsense": 1}, {"errors": [{"status": 500, "colour": "red"}]}, {"errors": [{}]},
                {"errors": [{"code": 4242}]}, {"crash": [{"role": "webapp"}]}, {"restore": {"when": "now"}}):
        r = api.post("/_emulator/faults", bad)
        assert r.status == 400, bad
        assert "error" in r.json


def test_faults_from_environment(tmp_path):
    env = {"WA_EMULATOR_FAULTS": json.dumps({"errors": [{"status": 429, "count": 1, "path_prefix": "/v1/users"}]})}
    emu = start_emulator(tmp_path / "env", env=env)
    try:
        r = emu.api.basic_login("admin", "secret", {"new_password": "Env-Passw0rd"})
        assert r.status == 429 and r.error_code() == 1015
        assert emu.api.basic_login("admin", "secret", {"new_password": "Env-Passw0rd"}).status == 200
    finally:
        emu.stop()


def test_crashed_coreapp_stops_heartbeating(emulators):
    emu = emulators("crash", env={"WA_EMULATOR_LEASE_SECONDS": "0.6"})
    api = emu.api
    api.login()
    api.seed()
    api.wait_status("connected")
    api.post("/_emulator/faults", {"crash": [{"role": "coreapp", "count": 1}]})
    st = api.wait(lambda s: s["topology"]["coreapps"] == 0, what="CoreApp crash")
    assert st["health"] == {"gateway_status": "disconnected"}
    assert st["faults"]["crash"][0]["count"] == 0
    r = api.post("/v1/messages", {"to": "1555", "type": "text", "text": {"body": "x"}})
    assert r.status == 400 and r.error_code() == 1011
    # Restarting the containers brings it back.
    api.post("/_emulator/restart")
    api.wait_status("connected")
