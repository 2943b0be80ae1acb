import http.client
import json
import os
import socket
import ssl
import time

from conftest import Api, start_emulator


def test_https_only_plain_http_fails(emu):
    port = emu.api.port
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        conn.request("GET", "/v1/health")
        failed = False
        try:
            conn.getresponse()
        except (http.client.HTTPException, ConnectionError, OSError):
            failed = True
    except (ConnectionError, OSError):
        failed = True
    finally:
        conn.close()
    assert failed, "plain HTTP must not get an answer"


def test_certificate_verifies_with_generated_ca_and_ca_is_served(tmp_path):
    emu = start_emulator(tmp_path / "fresh", fresh_tls=True, inprocess=False)
    try:
        check_certificate(emu)
    finally:
        emu.stop()


def check_certificate(emu):
    with open(emu.info["ca_path"], "rb") as f:
        ca_file = f.read()
    r = emu.api.get("/_emulator/ca.pem")
    assert r.status == 200
    assert r.raw == ca_file
    assert b"BEGIN CERTIFICATE" in ca_file
    # The default trust store does not know the emulator: verification fails without the CA.
    ctx = ssl.create_default_context()
    with socket.create_connection(("127.0.0.1", emu.api.port), timeout=5) as sock:
        try:
            ctx.wrap_socket(sock, server_hostname="127.0.0.1")
            verified_without_ca = True
        except ssl.SSLCertVerificationError:
            verified_without_ca = False
    assert not verified_without_ca
    # localhost is in the certificate too.
    api = Api(emu.info["url"].replace("127.0.0.1", "localhost"), emu.info["ca_path"])
    assert api.get("/_emulator/state").status == 200


def test_emulator_json_and_fast_startup(tmp_path):
    t0 = time.monotonic()
    emu = start_emulator(tmp_path / "e", fresh_tls=True, inprocess=False)
    elapsed = time.monotonic() - t0
    try:
        with open(os.path.join(emu.state_dir, "emulator.json")) as f:
            info = json.load(f)
        assert info["url"].startswith("https://127.0.0.1:")
        assert os.path.exists(info["ca_path"])
        assert info["network_url"].startswith("http://127.0.0.1:")
        assert info["pid"] == emu.proc.pid
        assert info["setup_id"] == emu.api.state()["setup_id"]
        assert elapsed < 10, elapsed  # ~0.3 s on an idle machine; the bound only catches a hang
    finally:
        assert emu.stop() == 0
    assert not os.path.exists(os.path.join(emu.state_dir, "emulator.json"))


def test_success_meta_and_error_envelope(api):
    r = api.get("/v1/health")
    assert r.json["meta"] == {"api_status": "stable", "version": "v2.63.1"}
    r = api.get("/v1/nothing-here")
    assert r.status == 404
    err = r.json["errors"][0]
    # Meta's error table lists "endpoint not found" under 1014 Internal error.
    assert err["code"] == 1014 and err["title"] == "Internal error" and "endpoint not found" in err["details"]
    assert r.json["meta"]["api_status"] == "stable"


def test_version_from_env(emulators):
    emu = emulators("v", env={"WA_EMULATOR_VERSION": "v2.51.2"})
    emu.api.login()
    assert emu.api.get("/v1/health").json["meta"]["version"] == "v2.51.2"


def test_invalid_json_body_is_1009(api):
    r = api.call("POST", "/v1/settings/backup", raw=b"{not json", headers={"Content-Type": "application/json"})
    assert r.status == 400 and r.error_code() == 1009


def test_registration_is_blocked(api):
    r = api.post("/v1/account", {"cc": "1", "phone_number": "5550001111", "method": "sms", "cert": "x"})
    assert r.status == 403
    assert r.error_code() == 1005
    assert r.json["errors"][0]["title"] == "Access denied"
