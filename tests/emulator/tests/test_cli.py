import json
import os
import signal
import socket
import subprocess
import sys
import time

from conftest import EMULATOR_DIR, Api, network_call, start_emulator


def env():
    e = dict(os.environ)
    e["PYTHONPATH"] = EMULATOR_DIR
    e["WA_EMULATOR_TICK_SECONDS"] = "0.1"
    return e


def test_daemon_mode_detaches_and_stops_on_sigterm(tmp_path):
    state = tmp_path / "d"
    r = subprocess.run([sys.executable, "-m", "wa_emulator", "all", "--state-dir", str(state), "--port", "0",
                        "--daemon", "--setup-id", "old-setup"], env=env(), capture_output=True, timeout=30, check=False)
    assert r.returncode == 0, r.stderr
    info = json.loads(r.stdout)
    with open(state / "emulator.json") as f:
        assert json.load(f) == info
    assert info["setup_id"] == "old-setup"
    pid = info["pid"]
    try:
        api = Api(info["url"], info["ca_path"])
        assert api.state()["setup_id"] == "old-setup"
        assert api.get("/v1/health").status == 401
    finally:
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.05)
    else:
        raise AssertionError("daemon did not stop")
    assert not (state / "emulator.json").exists()
    assert "stopping" in (state / "emulator.log").read_text()


def test_same_state_dir_is_the_same_setup(tmp_path):
    first = start_emulator(tmp_path / "s")
    first.api.login("Sam3-Passw0rd!")
    first.api.seed()
    first.api.wait_status("connected")
    setup_id, ca = first.api.state()["setup_id"], open(first.info["ca_path"]).read()
    assert first.stop() == 0
    second = start_emulator(tmp_path / "s")
    try:
        assert second.api.state()["setup_id"] == setup_id
        assert open(second.info["ca_path"]).read() == ca
        second.api.login("Sam3-Passw0rd!")
        assert second.api.state()["registered"] is True
    finally:
        second.stop()


def test_single_instance_rejects_several_coreapps(tmp_path):
    r = subprocess.run([sys.executable, "-m", "wa_emulator", "all", "--state-dir", str(tmp_path), "--coreapps", "2"],
                       env=env(), capture_output=True, timeout=30, check=False)
    assert r.returncode == 2 and b"exactly one CoreApp" in r.stderr


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_network_and_receiver_roles(tmp_path):
    port = free_port()
    net = subprocess.Popen([sys.executable, "-m", "wa_emulator", "network", "--port", str(port),
                            "--host", "127.0.0.1", "--state-dir", str(tmp_path / "n")], env=env(),
                           stderr=subprocess.DEVNULL)
    rec = subprocess.run([sys.executable, "-m", "wa_emulator", "webhook-receiver", "--port", "0", "--host",
                          "127.0.0.1", "--state-dir", str(tmp_path / "r"), "--daemon"], env=env(),
                         capture_output=True, timeout=30, check=False)
    try:
        assert rec.returncode == 0, rec.stderr
        rinfo = json.loads(rec.stdout)
        url = "http://127.0.0.1:%d" % port
        deadline = time.monotonic() + 10
        while True:
            try:
                assert network_call(url, "GET", "/health")[0] == 200
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        emu = start_emulator(tmp_path / "e", network_url=url)
        try:
            emu.api.login()
            emu.api.seed(webhook_url=rinfo["url"] + "/cb")
            with open(rinfo["ca_path"], "rb") as f:
                emu.api.call("POST", "/v1/certificates/webhooks/ca", raw=f.read(),
                             headers={"Content-Type": "text/plain"})
            emu.api.post("/_emulator/restart")
            emu.api.wait_status("connected")
            assert network_call(url, "GET", "/numbers/15550001111")[1]["current"]["setup_id"] == \
                emu.info["setup_id"]
            network_call(url, "POST", "/inbound", {"to": "15550001111", "text": {"body": "via roles"}})
            receiver = Api(rinfo["url"], rinfo["ca_path"])
            deadline = time.monotonic() + 8
            while not receiver.get("/received").json and time.monotonic() < deadline:
                time.sleep(0.05)
            got = receiver.get("/received").json
            assert got[0]["body"]["messages"][0]["text"]["body"] == "via roles"
        finally:
            emu.stop()
    finally:
        net.terminate()
        net.wait(10)
        if rec.returncode == 0:
            os.kill(json.loads(rec.stdout)["pid"], signal.SIGTERM)


def test_database_configuration_errors_are_clear_at_start(tmp_path):
    """Refused before any connection: a documented-forbidden character in the PostgreSQL password, an unknown
    engine. (PostgreSQL itself runs in the Docker suite, on the emulator's PostgreSQL stand-in.)"""
    for extra, message in (({"WA_DB_ENGINE": "PGSQL", "WA_DB_PASSWORD": "pg(pass)"}, b"must not contain any of"),
                           ({"WA_DB_ENGINE": "ORACLE"}, b"WA_DB_ENGINE=ORACLE is not known; use MYSQL or PGSQL")):
        e = env()
        e.update(dict({"WA_DB_HOSTNAME": "db"}, **extra))
        r = subprocess.run([sys.executable, "-m", "wa_emulator", "coreapp"], env=e, capture_output=True, timeout=30,
                           check=False)
        assert r.returncode != 0 and message in r.stderr, r.stderr
        assert b"Traceback" not in r.stderr


def test_env_seed(tmp_path):
    emu = start_emulator(tmp_path / "seeded", env={"WA_EMULATOR_SEED_NUMBER": "15550003333",
                                                   "WA_EMULATOR_SEED_TWO_STEP_PIN": "111222",
                                                   "WA_EMULATOR_SEED_ADMIN_PASSWORD": "Seed-Passw0rd"})
    try:
        st = emu.api.state()
        assert st["registered"] and st["wa_id"] == "15550003333" and st["two_step"]["enabled"]
        emu.api.login("Seed-Passw0rd")
        emu.api.wait_status("connected")
    finally:
        emu.stop()


def test_receiver_with_given_cert_and_key(tmp_path):
    from wa_emulator import certs
    paths = certs.ensure_tls_files(str(tmp_path / "tls"), prefix="hook")
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "wa_emulator", "webhook-receiver", "--host", "127.0.0.1",
                             "--port", str(port), "--cert", paths["cert"], "--key", paths["key"]], env=env(),
                            stderr=subprocess.DEVNULL)
    try:
        rec = Api("https://127.0.0.1:%d" % port, paths["ca"])
        deadline = time.monotonic() + 15
        while True:
            try:
                assert rec.get("/received").json == []
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        assert rec.post("/hook", {"hello": "world"}).status == 200
        got = rec.get("/received").json
        assert got[0]["path"] == "/hook" and got[0]["body"] == {"hello": "world"}
        assert rec.call("PUT", "/status", body={"status": 503}).status == 200
        assert rec.post("/hook", {"n": 2}).status == 503
        assert rec.call("DELETE", "/received").status == 200
        assert rec.get("/received").json == []
    finally:
        proc.terminate()
        assert proc.wait(10) == 0
