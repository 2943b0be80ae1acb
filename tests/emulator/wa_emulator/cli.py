"""``python3 -m wa_emulator <role>``: web, coreapp, network, webhook-receiver, all (process mode)."""
import argparse
import faulthandler
import json
import logging
import os
import secrets
import select
import signal
import sys
import threading
import time

from . import DEFAULT_VERSION, certs, db as dbmod
from .httpbase import Server, server_ssl_context
from .network import start_network
from .node import Node, container_identity
from .receiver import WebhookReceiver, write_json
from .store import VALID_SHARDS, Setup, Timing, env_float
from .webapp import WebApp, WebHandler

LOG = logging.getLogger("wa_emulator")


def version(env=None):
    return (os.environ if env is None else env).get("WA_EMULATOR_VERSION") or DEFAULT_VERSION


def api_key_from(value):
    if not value:
        return None
    if not 12 <= len(value) <= 128:
        raise SystemExit("wa_emulator: WA_API_KEY must be 12 to 128 characters long")
    return value


def apply_env_config(setup, multiconnect, env=None):
    """WA_EMULATOR_SHARDS (shards of a not-yet-registered setup) and the WA_EMULATOR_SEED_* variables."""
    env = os.environ if env is None else env
    shards = env.get("WA_EMULATOR_SHARDS")
    if shards and not setup.registration():
        n = int(shards)
        if n not in VALID_SHARDS:
            raise SystemExit("wa_emulator: WA_EMULATOR_SHARDS must be one of %s" % (VALID_SHARDS,))
        setup.set_json("shards", n)
    number = env.get("WA_EMULATOR_SEED_NUMBER")
    if number and not setup.registration() and setup.db.kv_add("env_seeded", json.dumps(number)):
        seed_shards = int(env.get("WA_EMULATOR_SEED_SHARDS") or 1)
        if not multiconnect and seed_shards != 1:
            raise SystemExit("wa_emulator: a single-instance setup runs 1 shard")
        setup.seed(number, seed_shards, env.get("WA_EMULATOR_SEED_TWO_STEP_PIN") or None,
                   env.get("WA_EMULATOR_SEED_WEBHOOK_URL"))
        if env.get("WA_EMULATOR_SEED_ADMIN_PASSWORD"):
            setup.set_password("admin", env["WA_EMULATOR_SEED_ADMIN_PASSWORD"])
        LOG.info("seeded registered number %s with %d shard(s)", number, seed_shards)


def apply_env_faults(setup, env=None):
    env = os.environ if env is None else env
    raw = env.get("WA_EMULATOR_FAULTS")
    if raw:
        from .faults import normalise_faults
        setup.set_json("faults", normalise_faults(json.loads(raw)))


def setup_logging(level=None, stream=None):
    logging.basicConfig(level=getattr(logging, (level or os.environ.get("WA_EMULATOR_LOG_LEVEL", "INFO")).upper()),
                        format="%(asctime)s %(name)s %(levelname)s %(message)s", stream=stream or sys.stderr)


class StopSignals:
    """SIGTERM / SIGINT for the main thread, safe whatever the main thread is doing.

    The Python-level handler only appends to a list: it takes no lock. (A handler calling
    ``threading.Event.set()`` deadlocks when the signal is handled while the main thread is inside
    ``Event.wait()`` holding that Event's lock; the process then ignores every further SIGTERM until
    Docker kills it.) The C-level wakeup fd wakes ``wait()`` at once, whichever thread the kernel
    delivered the signal to. Until ``install()`` runs, SIGTERM keeps its default action (the process
    ends at once), so a stop during start-up is immediate too.
    """

    def __init__(self):
        self.received = []
        self._read_fd = None

    def install(self):
        self._read_fd, write_fd = os.pipe()
        os.set_blocking(self._read_fd, False)
        os.set_blocking(write_fd, False)
        signal.set_wakeup_fd(write_fd)
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, self._handler)
        return self

    def _handler(self, signum, _frame):
        self.received.append(signum)

    def wait(self, timeout):
        """True once a stop signal arrived (waits up to ``timeout`` seconds for one)."""
        if not self.received:
            try:
                select.select([self._read_fd], [], [], timeout)
                os.read(self._read_fd, 512)
            except (BlockingIOError, InterruptedError):
                pass
        if self.received:
            LOG.info("signal %s: stopping", self.received[0])
            return True
        return False

    def wait_forever(self):
        while not self.wait(0.5):
            pass


def shut_down(seconds, *actions):
    """Run the shutdown ``actions`` in order; if they take more than ``seconds``, end the process.

    A real client process ends promptly when told to: a step blocked on an unresponsive database or
    network is abandoned (leases expire as after a crash) instead of holding the container until
    Docker kills it.
    """
    def run():
        for action in actions:
            action()
    worker = threading.Thread(target=run, name="shutdown", daemon=True)
    worker.start()
    worker.join(seconds)
    if worker.is_alive():
        LOG.warning("shutdown did not finish within %.1fs; exiting anyway", seconds)
        logging.shutdown()
        os._exit(0)


def register_stack_dumps():
    faulthandler.register(signal.SIGUSR1, all_threads=True)  # kill -USR1 <pid>: thread stacks to the log


#: Seconds a Docker-mode process spends on its clean shutdown after SIGTERM before it exits anyway.
SHUTDOWN_GRACE = 1.5


# --------------------------------------------------------------------------------- process mode
class ProcessMode:
    def __init__(self, state_dir, port=0, host="127.0.0.1", masters=0, coreapps=1, network_url=None,
                 setup_id=None, api_key=None, shards=None, prefix="waent", env=None):
        self.env = os.environ if env is None else env
        self.state_dir = os.path.abspath(state_dir)
        self.port, self.host = port, host
        self.masters, self.coreapps = masters, coreapps
        self.network_url = network_url
        self.setup_id_wanted = setup_id
        self.api_key = api_key
        self.shards = shards
        self.prefix = prefix
        self.multiconnect = masters > 0
        self.nodes = []
        self.identities = []
        self.network_server = None
        self.web = None
        self.lock = threading.Lock()

    def start(self):
        os.makedirs(self.state_dir, exist_ok=True)
        db = dbmod.SQLiteDatabase(os.path.join(self.state_dir, "%s.sqlite3" % self.prefix), self.prefix)
        timing = Timing(tick=env_float("WA_EMULATOR_TICK_SECONDS", 0.25, self.env),
                        lease=env_float("WA_EMULATOR_LEASE_SECONDS", 10.0, self.env), env=self.env)
        self.setup = Setup(db, timing)
        if self.setup_id_wanted:
            db.create_schema()
            if not db.kv_add("setup_id", self.setup_id_wanted) and db.kv_get("setup_id") != self.setup_id_wanted:
                LOG.warning("this database already belongs to setup %s; --setup-id ignored", db.kv_get("setup_id"))
        self.setup.initialise(self.env)
        # Nodes of a previous run of this state directory are gone (their process ended).
        db.execute("DELETE FROM {nodes}")
        db.execute("UPDATE {leases} SET holder = NULL, expires = 0")
        db.execute("UPDATE {shards} SET holder = NULL, expires = 0")
        if self.shards and not self.setup.registration():
            self.setup.set_json("shards", self.shards)
        apply_env_config(self.setup, self.multiconnect, self.env)
        apply_env_faults(self.setup, self.env)
        if not self.network_url:
            self.network_server = start_network("127.0.0.1", 0)
            self.network_url = "http://127.0.0.1:%d" % self.network_server.port
        tls = certs.ensure_tls_files(os.path.join(self.state_dir, "tls"))
        self.ca_path = tls["ca"]
        app = WebApp(self.setup, api_key=self.api_key, multiconnect=self.multiconnect, version=version(self.env),
                     network_url=self.network_url, ca_path=self.ca_path, restart_callback=self.restart,
                     mode="process")
        self.web = Server((self.host, self.port), WebHandler, server_ssl_context(tls["cert"], tls["key"]), app=app)
        self.web.start("webapp")
        if self.multiconnect:
            self.identities = [("master%d" % i, "master", secrets.token_hex(6)) for i in range(1, self.masters + 1)]
            self.identities += [("wacore%d" % i, "coreapp", secrets.token_hex(6)) for i in range(1, self.coreapps + 1)]
        else:
            self.identities = [("wacore", "coreapp", secrets.token_hex(6))]
        self.start_nodes()
        self.url = "https://%s:%d" % ("127.0.0.1" if self.host in ("0.0.0.0", "127.0.0.1") else self.host,
                                      self.web.port)
        self.info = {"url": self.url, "ca_path": self.ca_path, "network_url": self.network_url,
                     "pid": os.getpid(), "setup_id": self.setup.setup_id, "state_dir": self.state_dir,
                     "masters": self.masters, "coreapps": len([i for i in self.identities if i[1] == "coreapp"]),
                     "multiconnect": self.multiconnect, "version": version(self.env)}
        write_json(os.path.join(self.state_dir, "emulator.json"), self.info)
        LOG.info("emulator ready: %s", json.dumps(self.info))
        return self

    def start_nodes(self):
        nodes = [Node(self.setup, kind, host, cid, self.network_url, self.multiconnect)
                 for host, kind, cid in self.identities]
        for n in nodes:
            n.start()
        for n in nodes:
            n.ready.wait(10)
        self.nodes = nodes

    def stop_nodes(self, timeout=5.0):
        for n in self.nodes:
            n.stop_event.set()
        deadline = time.monotonic() + timeout
        for n in self.nodes:
            n.join(max(0.01, deadline - time.monotonic()))
            if n.is_alive():
                LOG.warning("%s did not stop in time (it is abandoned; its leases expire)", n.node_name)
        self.nodes = []

    def restart(self):
        """Like ``docker restart`` of every CoreApp and Master container."""
        with self.lock:
            self.stop_nodes()
            self.start_nodes()

    def stop(self):
        with self.lock:
            self.stop_nodes()
        if self.web:
            self.web.stop()
        if self.network_server:
            self.network_server.stop()
        try:
            os.unlink(os.path.join(self.state_dir, "emulator.json"))
        except OSError:
            pass
        self.setup.db.close()


def daemonize(state_dir, name="emulator"):
    """Fork; the parent waits for ``<name>.json`` of the child, prints it and exits.

    The child detaches and logs to ``<name>.log`` in ``state_dir``.
    """
    path = os.path.join(state_dir, name + ".json")
    logpath = os.path.join(state_dir, name + ".log")
    try:
        os.unlink(path)
    except OSError:
        pass
    pid = os.fork()
    if pid:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                sys.stderr.write("wa_emulator: the %s exited during start-up (status %s); see %s\n"
                                 % (name, status, logpath))
                os._exit(1)
            try:
                with open(path) as f:
                    info = json.load(f)
                if info.get("pid") == pid:
                    sys.stdout.write(json.dumps(info) + "\n")
                    sys.stdout.flush()
                    os._exit(0)
            except (OSError, ValueError):
                pass
            time.sleep(0.02)
        sys.stderr.write("wa_emulator: start-up timed out\n")
        os._exit(1)
    os.setsid()
    devnull = os.open(os.devnull, os.O_RDONLY)
    log = os.open(logpath, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    os.dup2(devnull, 0)
    os.dup2(log, 1)
    os.dup2(log, 2)


def run_all(args):
    os.makedirs(args.state_dir, exist_ok=True)
    if args.daemon:
        daemonize(args.state_dir)
    setup_logging(args.log_level)
    register_stack_dumps()
    # Handlers first: a SIGTERM during start-up must still stop cleanly.
    signals = StopSignals().install()
    pm = ProcessMode(args.state_dir, port=args.port, host=args.host, masters=args.masters,
                     coreapps=args.coreapps, network_url=args.network_url, setup_id=args.setup_id,
                     api_key=api_key_from(args.api_key or os.environ.get("WA_API_KEY")),
                     shards=args.shards, prefix=os.environ.get("WA_DB_NAME_PREFIX") or "waent")
    pm.start()
    if not args.daemon:
        sys.stdout.write(json.dumps(pm.info) + "\n")
        sys.stdout.flush()
    signals.wait_forever()
    pm.stop()
    return 0


# --------------------------------------------------------------------------------- Docker mode
def run_web(args):
    setup_logging(args.log_level)
    register_stack_dumps()
    multiconnect = os.environ.get("WA_APP_MULTICONNECT") == "1"
    setup = Setup(dbmod.from_env()).initialise()
    apply_env_config(setup, multiconnect)
    apply_env_faults(setup)
    state_dir = args.state_dir or os.environ.get("WA_EMULATOR_STATE_DIR") or "/opt/whatsapp/certs"
    extra = [os.environ.get("WA_WEB_SERVERNAME"), os.environ.get("WEBAPP_HOSTNAME"), "waweb", "web"]
    tls = certs.ensure_tls_files(state_dir, extra_names=extra)
    port = args.port if args.port is not None else int(os.environ.get("WA_EMULATOR_WEB_PORT") or 443)
    app = WebApp(setup, api_key=api_key_from(os.environ.get("WA_API_KEY")), multiconnect=multiconnect,
                 version=version(), network_url=os.environ.get("WA_EMULATOR_NETWORK_URL", "http://g.whatsapp.net:8080"),
                 ca_path=tls["ca"], mode="docker")
    server = Server(("0.0.0.0", port), WebHandler, server_ssl_context(tls["cert"], tls["key"]), app=app)
    server.start("webapp")
    LOG.info("Webapp listening on https://0.0.0.0:%d (CA %s, setup %s)", server.port, tls["ca"], setup.setup_id)
    StopSignals().install().wait_forever()
    shut_down(SHUTDOWN_GRACE, server.stop)
    return 0


def run_coreapp(args):
    setup_logging(args.log_level)
    register_stack_dumps()
    if os.environ.get("WA_DB_UPGRADE") == "1":
        # The dbupgrade job: run the CoreApp image once before a version change, then exit.
        setup = Setup(dbmod.from_env()).initialise()
        previous = setup.db.kv_get("db_version")
        setup.db.kv_set("db_version", json.dumps(version()))
        LOG.info("database upgrade: %s -> %s done", previous and json.loads(previous), version())
        return 0
    multiconnect = os.environ.get("WA_APP_MULTICONNECT") == "1"
    kind = "master" if os.environ.get("WA_MASTER_NODE") == "1" else "coreapp"
    setup = Setup(dbmod.from_env()).initialise()
    apply_env_faults(setup) if os.environ.get("WA_EMULATOR_FAULTS") else None
    hostname, cid = container_identity(os.environ.get("COREAPP_HOSTNAME") or os.environ.get("WACORE_HOSTNAME"))
    node = Node(setup, kind, hostname, cid, os.environ.get("WA_EMULATOR_NETWORK_URL", "http://g.whatsapp.net:8080"),
                multiconnect, exit_on_crash=True)
    node.start()
    LOG.info("%s %s started (setup %s)", kind, node.node_name, setup.setup_id)
    signals = StopSignals().install()
    while not signals.wait(0.5):
        if not node.is_alive():
            return 70
    shut_down(SHUTDOWN_GRACE, node.stop)
    return 0


def run_network(args):
    setup_logging(args.log_level)
    register_stack_dumps()
    port = args.port if args.port is not None else 8080
    server = start_network(args.host or "0.0.0.0", port)
    LOG.info("network stand-in listening on http://%s:%d", args.host or "0.0.0.0", server.port)
    if args.state_dir:
        os.makedirs(args.state_dir, exist_ok=True)
        write_json(os.path.join(args.state_dir, "network.json"),
                   {"url": "http://127.0.0.1:%d" % server.port, "pid": os.getpid()})
    StopSignals().install().wait_forever()
    shut_down(SHUTDOWN_GRACE, server.stop)
    return 0


def run_receiver(args):
    setup_logging(args.log_level)
    if args.daemon:
        if not args.state_dir:
            raise SystemExit("--daemon needs --state-dir")
        os.makedirs(args.state_dir, exist_ok=True)
        daemonize(args.state_dir, name="receiver")
    register_stack_dumps()
    rec = WebhookReceiver(args.host or "0.0.0.0", args.port if args.port is not None else 8443,
                          args.cert, args.key, args.state_dir).start()
    info = {"url": "https://127.0.0.1:%d" % rec.port, "ca_path": rec.ca_path, "pid": os.getpid()}
    if args.state_dir:
        write_json(os.path.join(args.state_dir, "receiver.json"), info)
    LOG.info("webhook receiver: %s", json.dumps(info))
    StopSignals().install().wait_forever()
    shut_down(SHUTDOWN_GRACE, rec.stop)
    return 0


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python3 -m wa_emulator",
                                     description="Emulator of the WhatsApp Business API on-premises client")
    sub = parser.add_subparsers(dest="role", required=True)
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--log-level", default=None)
    p = sub.add_parser("all", parents=[common], help="process mode: everything in one process on SQLite")
    p.add_argument("--state-dir", required=True)
    p.add_argument("--port", type=int, default=0, help="HTTPS port (0 = pick a free one)")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--masters", type=int, default=0)
    p.add_argument("--coreapps", type=int, default=1)
    p.add_argument("--shards", type=int, default=None, help="shard count of this (unregistered) setup")
    p.add_argument("--network-url", default=None)
    p.add_argument("--setup-id", default=None)
    p.add_argument("--api-key", default=None)
    p.add_argument("--daemon", action="store_true")
    p = sub.add_parser("web", parents=[common], help="the Webapp (Docker mode)")
    p.add_argument("--port", type=int, default=None)
    p.add_argument("--state-dir", default=None)
    sub.add_parser("coreapp", parents=[common], help="a CoreApp, or a Master with WA_MASTER_NODE=1 (Docker mode)")
    p = sub.add_parser("network", parents=[common], help="the WhatsApp network stand-in")
    p.add_argument("--port", type=int, default=None)
    p.add_argument("--host", default=None)
    p.add_argument("--state-dir", default=None)
    p = sub.add_parser("webhook-receiver", parents=[common], help="HTTPS webhook receiver for tests")
    p.add_argument("--port", type=int, default=None)
    p.add_argument("--host", default=None)
    p.add_argument("--cert", default=None)
    p.add_argument("--key", default=None)
    p.add_argument("--state-dir", default=None)
    p.add_argument("--daemon", action="store_true")
    args = parser.parse_args(argv)
    if args.role == "all":
        if args.masters < 0 or args.coreapps < 1:
            parser.error("--coreapps must be >= 1 and --masters >= 0")
        if args.masters == 0 and args.coreapps != 1:
            parser.error("a single instance (no Masters) runs exactly one CoreApp")
        if args.shards is not None and args.shards not in VALID_SHARDS:
            parser.error("--shards must be one of %s" % (VALID_SHARDS,))
        return run_all(args)
    return {"web": run_web, "coreapp": run_coreapp, "network": run_network,
            "webhook-receiver": run_receiver}[args.role](args)
