"""Fixtures: real emulator processes (process mode) over real HTTPS, verified with the generated CA."""
import base64
import http.client
import json
import os
import signal
import ssl
import subprocess
import sys
import time
import urllib.parse

import pytest

EMULATOR_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if EMULATOR_DIR not in sys.path:
    sys.path.insert(0, EMULATOR_DIR)

ADMIN_PASSWORD = "N3w-Passw0rd!"
FAST_ENV = {"WA_EMULATOR_INIT_SECONDS": "0.4", "WA_EMULATOR_TICK_SECONDS": "0.1"}


class Response:
    def __init__(self, status, body, headers):
        self.status, self.raw, self.headers = status, body, headers

    @property
    def json(self):
        return json.loads(self.raw) if self.raw else None

    def error_code(self):
        return self.json["errors"][0]["code"]

    def __repr__(self):
        return "<Response %s %r>" % (self.status, self.raw[:300])


class Api:
    """A tiny HTTPS client (http.client + the emulator's CA)."""

    def __init__(self, url, ca_path, keepalive=True):
        self.url = url
        parts = urllib.parse.urlsplit(url)
        self.host, self.port = parts.hostname, parts.port
        self.ca_path = ca_path
        self.ctx = ssl.create_default_context(cafile=ca_path)
        self.token = None
        self.keepalive = keepalive
        self._conn = None

    def call(self, method, path, body=None, token=None, headers=None, raw=None, timeout=15):
        """One request. With keepalive the HTTPS connection is reused (HTTP/1.1); a request is sent again
        only when a reused connection turns out to be closed before any answer."""
        for attempt in (1, 2):
            reused = self._conn is not None
            try:
                return self._call_once(method, path, body, token, headers, raw, timeout)
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError,
                    http.client.CannotSendRequest):
                if self._conn is not None:
                    self._conn.close()
                    self._conn = None
                if not (reused and self.keepalive) or attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def _call_once(self, method, path, body, token, headers, raw, timeout):
        if self._conn is None:
            self._conn = http.client.HTTPSConnection(self.host, self.port, context=self.ctx, timeout=timeout)
        conn = self._conn
        conn.timeout = timeout
        hdrs = dict(headers or {})
        data = raw
        if body is not None:
            data = json.dumps(body).encode()
            hdrs.setdefault("Content-Type", "application/json")
        tok = token if token is not None else self.token
        if tok and "Authorization" not in hdrs:
            hdrs["Authorization"] = "Bearer " + tok
        try:
            conn.request(method, path, body=data, headers=hdrs)
            resp = conn.getresponse()
            result = Response(resp.status, resp.read(), dict(resp.getheaders()))
        except BaseException:
            conn.close()
            self._conn = None
            raise
        if resp.will_close or not self.keepalive:
            conn.close()
            self._conn = None
        return result

    def get(self, path, **kw):
        return self.call("GET", path, **kw)

    def post(self, path, body=None, **kw):
        return self.call("POST", path, body=body, **kw)

    def basic_login(self, username, password, body=None):
        cred = base64.b64encode(("%s:%s" % (username, password)).encode()).decode()
        return self.call("POST", "/v1/users/login", body=body, headers={"Authorization": "Basic " + cred})

    def login(self, password=ADMIN_PASSWORD):
        """First login (change the default password), or a normal login; sets self.token."""
        r = self.basic_login("admin", "secret", {"new_password": password})
        if r.status != 200:
            r = self.basic_login("admin", password)
        assert r.status == 200, r
        self.token = r.json["users"][0]["token"]
        return self.token

    def state(self):
        r = self.get("/_emulator/state")
        assert r.status == 200, r
        return r.json

    def seed(self, **body):
        body.setdefault("wa_id", "15550001111")
        r = self.post("/_emulator/seed", body)
        assert r.status == 200, r
        return r.json

    def health(self, token=None):
        r = self.get("/v1/health", token=token)
        assert r.status == 200, r
        return r.json["health"]

    def wait(self, predicate, timeout=20, interval=0.1, what="condition"):
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            last = self.state()
            if predicate(last):
                return last
            time.sleep(interval)
        raise AssertionError("timed out waiting for %s; last state: %s" % (what, json.dumps(
            {k: last.get(k) for k in ("registered", "stopped", "initializing", "serving", "health", "nodes")})))

    def wait_answer(self, call, predicate, what, timeout=20, interval=0.05):
        """Repeat ``call()`` until its answer satisfies ``predicate``; return that answer."""
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            last = call()
            if predicate(last):
                return last
            time.sleep(interval)
        raise AssertionError("timed out waiting for %s; last answer %r" % (what, last))

    def wait_status(self, status, timeout=20):
        def ok(st):
            h = st["health"]
            if "gateway_status" in h:
                return h["gateway_status"] == status
            return any(v["gateway_status"] == status for v in h.values())
        return self.wait(ok, timeout, what="gateway_status %s" % status)


class Emulator:
    def __init__(self, proc, info, state_dir, log_path):
        self.proc, self.info, self.state_dir, self.log_path = proc, info, state_dir, log_path
        self.api = Api(info["url"], info["ca_path"])

    @property
    def network_url(self):
        return self.info["network_url"]

    def stop(self, sig=signal.SIGTERM):
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.send_signal(signal.SIGUSR1)  # thread stacks into the log
                time.sleep(0.5)
                self.proc.kill()
                self.proc.wait(5)
                raise AssertionError("the emulator did not stop on SIGTERM within 10 s:\n" + self.log()[-6000:])
        return self.proc.returncode

    def log(self):
        with open(self.log_path) as f:
            return f.read()


_TLS_TEMPLATE = []


def tls_template():
    """TLS files generated once per test session, copied into each state dir (saves CPU per start; the
    generation itself is exercised by the tests that start emulators without this helper)."""
    if not _TLS_TEMPLATE:
        import tempfile
        from wa_emulator import certs
        d = tempfile.mkdtemp(prefix="wa-emu-tls-")
        certs.ensure_tls_files(d)
        _TLS_TEMPLATE.append(d)
    return _TLS_TEMPLATE[0]


# By default the tests run each emulator's process mode (Webapp, Masters, CoreApps, network: the very code of
# ``python -m wa_emulator all``) inside the pytest process, with real sockets and HTTPS: it saves a Python
# start-up per emulator. Tests of the process itself (start-up, signals, --daemon, roles) use real processes;
# WA_EMULATOR_TEST_INPROCESS=0 runs every emulator as its own process.
INPROCESS = os.environ.get("WA_EMULATOR_TEST_INPROCESS", "1") == "1"


class InProcess:
    """The parts of subprocess.Popen the fixtures use, for an emulator running in this process."""

    def __init__(self, pm):
        self.pm = pm
        self.pid = os.getpid()
        self.returncode = None

    def poll(self):
        return self.returncode

    def send_signal(self, sig):
        if self.returncode is None:
            self.pm.stop()
            self.returncode = 0

    terminate = kill = send_signal

    def wait(self, timeout=None):
        return self.returncode


def _inprocess_start(state_dir, args, env, network_url, log_path):
    import argparse
    from wa_emulator import cli
    parser = argparse.ArgumentParser()
    for opt in ("--masters", "--coreapps", "--shards"):
        parser.add_argument(opt, type=int, default=None)
    for opt in ("--api-key", "--setup-id"):
        parser.add_argument(opt, default=None)
    opts = parser.parse_args(list(args))
    full_env = dict(os.environ)
    full_env.update(FAST_ENV)
    full_env.update(env or {})
    try:
        pm = cli.ProcessMode(str(state_dir), port=0, masters=opts.masters or 0, coreapps=opts.coreapps or 1,
                             network_url=network_url, setup_id=opts.setup_id,
                             api_key=cli.api_key_from(opts.api_key or full_env.get("WA_API_KEY")),
                             shards=opts.shards, prefix=full_env.get("WA_DB_NAME_PREFIX") or "waent", env=full_env)
        pm.start()
    except SystemExit as exc:
        raise AssertionError("emulator did not start: %s" % exc) from None
    open(log_path, "a").close()
    return Emulator(InProcess(pm), dict(pm.info), str(state_dir), log_path)


def start_emulator(state_dir, *args, env=None, network_url=None, fresh_tls=False, inprocess=None):
    os.makedirs(state_dir, exist_ok=True)
    tls_dir = os.path.join(str(state_dir), "tls")
    if not fresh_tls and not os.path.exists(tls_dir):
        import shutil
        shutil.copytree(tls_template(), tls_dir)
    log_path = os.path.join(str(state_dir), "stderr.log")
    if INPROCESS if inprocess is None else inprocess:
        return _inprocess_start(state_dir, args, env, network_url, log_path)
    full_env = dict(os.environ)
    full_env.update(FAST_ENV)
    full_env.update(env or {})
    full_env["PYTHONPATH"] = EMULATOR_DIR + os.pathsep + full_env.get("PYTHONPATH", "")
    cmd = [sys.executable, "-m", "wa_emulator", "all", "--state-dir", str(state_dir), "--port", "0"]
    if network_url:
        cmd += ["--network-url", network_url]
    cmd += list(args)
    log = open(log_path, "ab")
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=log, env=full_env)
    log.close()
    line = proc.stdout.readline()
    if not line:
        proc.wait(5)
        with open(log_path) as f:
            raise AssertionError("emulator did not start: %s" % f.read()[-3000:])
    return Emulator(proc, json.loads(line), str(state_dir), log_path)


@pytest.fixture
def emulators(tmp_path):
    """Factory: emulators("name", "--masters", "2", ..., env={}, network_url=...)."""
    started = []

    def factory(name="emu", *args, env=None, network_url=None):
        emu = start_emulator(tmp_path / name, *args, env=env, network_url=network_url)
        started.append(emu)
        return emu

    yield factory
    for emu in started:
        emu.stop()


@pytest.fixture
def network():
    """A standalone network stand-in (real HTTP, in the test process); yields its URL."""
    from wa_emulator.network import start_network
    server = start_network("127.0.0.1", 0)
    yield "http://127.0.0.1:%d" % server.port
    server.stop()


@pytest.fixture(scope="module")
def shared_fresh(tmp_path_factory):
    """One fresh (never logged in) emulator per test module, for tests that change nothing."""
    emu = start_emulator(tmp_path_factory.mktemp("shared-fresh"))
    yield emu
    emu.stop()


@pytest.fixture(scope="module")
def shared_registered(tmp_path_factory):
    """One seeded, logged-in emulator per test module, for validation tests that change nothing."""
    emu = start_emulator(tmp_path_factory.mktemp("shared-registered"))
    emu.api.login()
    emu.api.seed()
    emu.api.wait_status("connected")
    yield emu.api
    emu.stop()


@pytest.fixture
def emu(emulators):
    return emulators("single")


@pytest.fixture
def api(emu):
    emu.api.login()
    return emu.api


@pytest.fixture
def registered(emu):
    """A seeded (registered, connected) single instance, logged in."""
    emu.api.login()
    emu.api.seed()
    emu.api.wait_status("connected")
    return emu.api


def network_call(network_url, method, path, body=None):
    import urllib.request
    req = urllib.request.Request(network_url + path, method=method,
                                 data=json.dumps(body).encode() if body is not None else None,
                                 headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=5) as resp:
            return resp.status, json.loads(resp.read() or b"null")
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read() or b"null")


def send_text(api, body="hello", to="15559990000", token=None):
    return api.post("/v1/messages", {"to": to, "type": "text", "recipient_type": "individual",
                                     "text": {"body": body}}, token=token)


def migrate(old, new, password="backup-Pa55!"):
    """Backup on ``old`` (an Api, logged in) and restore on ``new``; returns the restore response."""
    r = old.post("/v1/settings/backup", {"password": password})
    assert r.status == 200, r
    return new.post("/v1/settings/restore", {"password": password, "data": r.json["settings"]["data"]})


# Rough cost of a test (seconds on an idle machine) by module, to balance the shards.
MODULE_WEIGHT = {"test_backup_restore": 3.0, "test_docker_roles": 3.0, "test_health": 1.5,
                 "test_messages_webhooks": 1.5, "test_cli": 1.5}


def pytest_collection_modifyitems(config, items):
    """WA_EMULATOR_TEST_SHARD="i/n": run shard i of n (the suite runs the n shards at once).

    Every shard process computes the same assignment: tests on a module-scoped emulator (``shared_*``
    fixtures) stay together (one emulator per module, not one per shard); units are placed greedily, heaviest
    first, on the least loaded shard.
    """
    shard = os.environ.get("WA_EMULATOR_TEST_SHARD")
    if not shard:
        return
    index, count = (int(x) for x in shard.split("/"))
    units = {}
    for pos, item in enumerate(items):
        module = item.module.__name__.rsplit(".", 1)[-1]
        if any(name.startswith("shared_") for name in getattr(item, "fixturenames", ())):
            key = ("shared", module)
            weight = 0.3
        else:
            key = ("single", pos)
            weight = MODULE_WEIGHT.get(module, 1.0)
        unit = units.setdefault(key, {"items": [], "weight": 1.0 if key[0] == "shared" else 0.0, "pos": pos})
        unit["items"].append(item)
        unit["weight"] += weight
    loads = [0.0] * count
    chosen = set()
    for unit in sorted(units.values(), key=lambda u: (-u["weight"], u["pos"])):
        target = loads.index(min(loads))
        loads[target] += unit["weight"]
        if target == index:
            chosen.update(id(i) for i in unit["items"])
    keep = [i for i in items if id(i) in chosen]
    drop = [i for i in items if id(i) not in chosen]
    items[:] = keep
    if drop:
        config.hook.pytest_deselected(items=drop)
