"""The Docker-mode roles (web, coreapp, network) as separate processes, sharing one SQLite file instead of MySQL.

This runs the exact code of the containers (configuration by WA_* variables, one process per node, process exit
on a crash) without a Docker engine; the images engineer's tests under tests/emulator/tests/docker run the same
roles in containers on MariaDB.
"""
import json
import os
import socket
import subprocess
import sys
import time

import pytest

from conftest import EMULATOR_DIR, Api


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Stack:
    def __init__(self, tmp_path):
        self.tmp = tmp_path
        self.procs = {}
        self.net_port, self.web_port = free_port(), free_port()
        self.base_env = dict(os.environ, PYTHONPATH=EMULATOR_DIR, WA_EMULATOR_SQLITE_DIR=str(tmp_path / "db"),
                             WA_DB_NAME_PREFIX="setupa", WA_APP_MULTICONNECT="1",
                             WA_EMULATOR_NETWORK_URL="http://127.0.0.1:%d" % self.net_port,
                             WA_EMULATOR_TICK_SECONDS="0.1", WA_EMULATOR_LEASE_SECONDS="2.0",
                             WA_EMULATOR_INIT_SECONDS="0.4", WA_API_KEY="monitoring-key-42")

    def start(self, name, role, *args, **env):
        full = dict(self.base_env, **env)
        log = open(self.tmp / ("%s.log" % name), "ab")
        self.procs[name] = subprocess.Popen([sys.executable, "-m", "wa_emulator", role] + list(args), env=full,
                                            stdout=log, stderr=log)
        log.close()
        return self.procs[name]

    def stop(self):
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.terminate()
        for proc in self.procs.values():
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()


@pytest.fixture
def stack(tmp_path):
    s = Stack(tmp_path)
    yield s
    s.stop()


def wait_for(fn, timeout=30, what="condition"):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            last = fn()
            if last:
                return last
        except OSError as exc:
            last = exc
        time.sleep(0.1)
    raise AssertionError("timed out waiting for %s (last: %r)" % (what, last))


def test_multiconnect_stack_of_processes(stack, tmp_path):
    stack.start("net", "network", "--port", str(stack.net_port), "--host", "127.0.0.1")
    stack.start("web", "web", "--port", str(stack.web_port), "--state-dir", str(tmp_path / "certs"),
                WA_EMULATOR_SEED_NUMBER="15550004444", WA_EMULATOR_SEED_SHARDS="2",
                WA_EMULATOR_SEED_ADMIN_PASSWORD="Adm1n-Passw0rd")
    for i in (1, 2):
        stack.start("master%d" % i, "coreapp", WA_MASTER_NODE="1", COREAPP_HOSTNAME="master%d" % i)
    for i in (1, 2, 3):
        stack.start("wacore%d" % i, "coreapp", COREAPP_HOSTNAME="wacore%d" % i)
    ca = str(tmp_path / "certs" / "ca.pem")
    wait_for(lambda: os.path.exists(ca), what="CA file")
    api = Api("https://127.0.0.1:%d" % stack.web_port, ca)
    key = {"Authorization": "Apikey monitoring-key-42"}

    def connected():
        r = api.call("GET", "/v1/health", headers=key)
        health = r.json["health"] if r.status == 200 else {}
        return health if sum(v["gateway_status"] == "connected" for v in health.values()) == 3 else None

    def all_up():
        health = connected()
        return health if health and len(health) == 5 else None
    health = wait_for(all_up, timeout=30, what="5 nodes; 2 CoreApps + primary Master connected")
    assert sorted(k.split(":")[0] for k in health) == ["master1", "master2", "wacore1", "wacore2", "wacore3"]
    assert sorted(v["role"] for v in health.values()) == [
        "coreapp", "coreapp", "coreapp", "primary_master", "secondary_master"]
    st = api.state()
    assert st["mode"] == "docker" and st["db_prefix"] == "setupa" and st["multiconnect"] is True
    assert st["topology"] == {"shards": 2, "masters": 2, "coreapps": 3}
    api.login("Adm1n-Passw0rd")
    assert api.post("/v1/messages", {"to": "15550009999", "type": "text", "text": {"body": "hi"}}).status == 201
    assert api.post("/_emulator/restart").status == 501
    # A crashed CoreApp process exits non-zero; the spare takes its shard over.
    busy = [n for n in st["nodes"] if n["kind"] == "coreapp" and n["shard"] == 1][0]["info"]["hostname"]
    assert api.post("/_emulator/faults", {"crash": [{"role": "coreapp", "node": busy}]}).status == 200
    assert stack.procs[busy].wait(10) == 70

    def failed_over():
        health = connected()
        return health and all(v["gateway_status"] == "disconnected" for k, v in health.items()
                              if k.startswith(busy + ":"))
    wait_for(failed_over, what="failover to the spare CoreApp")
    # docker stop (SIGTERM) of a Master: it deregisters at once and exits 0.
    primary = [n["info"]["hostname"] for n in api.state()["nodes"] if n["role"] == "primary_master"][0]
    stack.procs[primary].terminate()
    assert stack.procs[primary].wait(10) == 0
    wait_for(lambda: [k for k, v in (connected() or {}).items() if v["role"] == "primary_master" and
                      not k.startswith(primary + ":")], what="new primary")


def test_db_password_with_forbidden_characters_is_refused(tmp_path):
    env = dict(os.environ, PYTHONPATH=EMULATOR_DIR, WA_DB_ENGINE="MYSQL", WA_DB_HOSTNAME="127.0.0.1",
               WA_DB_PASSWORD="pa&ss")
    r = subprocess.run([sys.executable, "-m", "wa_emulator", "coreapp"], env=env, capture_output=True,
                       timeout=30, check=False)
    assert r.returncode != 0 and b"must not contain any of" in r.stderr


def test_dbupgrade_job_runs_once_and_exits(tmp_path):
    env = dict(os.environ, PYTHONPATH=EMULATOR_DIR, WA_EMULATOR_SQLITE_DIR=str(tmp_path), WA_DB_UPGRADE="1",
               WA_EMULATOR_VERSION="v2.62.5")
    r = subprocess.run([sys.executable, "-m", "wa_emulator", "coreapp"], env=env, capture_output=True,
                       timeout=30, check=False)
    assert r.returncode == 0, r.stderr
    assert b"database upgrade" in r.stderr
    import sqlite3
    with sqlite3.connect(str(tmp_path / "waent.sqlite3")) as conn:
        assert json.loads(conn.execute("SELECT v FROM waent_kv WHERE k = 'db_version'").fetchone()[0]) == "v2.62.5"
