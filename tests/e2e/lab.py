#!/usr/bin/env python
# Copyright (c) 2026, wabiz.api_client contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A local migration lab on this machine's Docker engine, against the emulator images.

Used by ``tools/demo.sh``, the end-to-end tests (tests/e2e) and the benchmark (tests/bench). It builds
what the real world already has before a migration starts, and nothing the collection does itself:

* the **old setup**: one of Meta's compose layouts (multiconnect: 2 Masters, 3 CoreApps, 2 shards; or
  single instance) as compose project ``<prefix>-old``, seeded as a registered production setup (number,
  admin password, two-step PIN, webhook URL) through the emulator's ``/_emulator/seed`` admin API;
  with ``db_engine="PGSQL"`` its database is instead an **external PostgreSQL server** (``<prefix>-old-pg``,
  ``wabiz-emulator/postgres:13``, volume ``<prefix>-old-pgdata``) that the client reaches **by address**,
  as managed databases are, and the new setup runs on a PostgreSQL container too;
* the **WhatsApp network stand-in** (``<prefix>-net``), attached to the old setup's network and to the new
  setup's network ``<prefix>-new`` (in real life both reach Meta's network through the internet);
* two **webhook receivers** (``<prefix>-old-hooks`` on the old network, ``<prefix>-new-hooks`` on the new one),
  each with its own CA; the old setup trusts the old receiver's CA (uploaded, CoreApps restarted) and an
  inbound message is proved to reach it before the migration starts.

The new setup (stack, its database container) is made by ``playbooks/migrate.yml``. ``extra_vars()`` gives
the variables to run the playbooks with ``inventories/local`` against this lab. ``down()`` removes every
Docker object of the lab, and only those (all names start with the prefix).

Command line (JSON on stdout)::

    lab.py up   --prefix wabiz-demo --layout multiconnect --old-port 9090 --new-port 9091 --workdir DIR
    lab.py vars --prefix wabiz-demo ...      # the extra vars only
    lab.py down --prefix wabiz-demo
"""

import argparse
import base64
import json
import os
import socket
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(REPO, "tests", "emulator"))

import dockerctl  # noqa: E402  (tests/emulator/dockerctl.py, the images engineer's helper)

OLD_VERSION = "2.61.2"
NEW_VERSION = "2.62.5"
RECEIVER_IMAGE = "wabiz-emulator/webhook-receiver:latest"
RECEIVER_STATE = "/var/lib/wabiz-receiver"
WA_ID = "15550001111"
CUSTOMER = "15550002222"
OLD_ADMIN_PASSWORD = "Old-Admin-Passw0rd!"
NEW_ADMIN_PASSWORD = "New-Admin-Passw0rd!"
TWO_STEP_PIN = "123456"
BACKUP_PASSWORD = "Backup-Passw0rd!"
DB_PASSWORD = "testpass"  # Meta's db.env value, used by the compose layouts
POSTGRES_IMAGE = "wabiz-emulator/postgres:13"  # the emulator's stand-in for postgres:13
MYSQL_IMAGE = "wabiz-emulator/mysql:8.0.33"  # the emulator's stand-in for mysql:8.0.33
COREAPP_REPOSITORY, WEB_REPOSITORY = "wabiz-emulator/coreapp", "wabiz-emulator/web"
WAIT_ON_POSTGRES = ["/opt/whatsapp/bin/wait_on_postgres.sh", "/opt/whatsapp/bin/launch_within_docker.sh"]

LAYOUTS = {
    "multiconnect": {"masters": 2, "coreapps": 3, "shards": 2},
    "single": {"masters": 0, "coreapps": 1, "shards": 1},
    # High availability: 2 Masters, 2 CoreApps, 1 shard (health: one CoreApp connected, the rest disconnected).
    "ha": {"masters": 2, "coreapps": 2, "shards": 1},
}
# The services of Meta's compose layouts (tests/emulator/compose).
SERVICES = {
    "multiconnect": ["db", "waweb", "master1", "master2", "wacore1", "wacore2", "wacore3"],
    "single": ["db", "wacore", "waweb"],
}


def log(msg):
    sys.stderr.write("lab: %s\n" % msg)
    sys.stderr.flush()


def docker(*args, check=True):
    return dockerctl.docker(*args, check=check)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def container_ip(name, network=None):
    nets = json.loads(docker("container", "inspect", "--format", "{{json .NetworkSettings.Networks}}", name) or "{}")
    if network and network in nets:
        return nets[network]["IPAddress"]
    for net in nets.values():
        if net.get("IPAddress"):
            return net["IPAddress"]
    raise dockerctl.DockerError("%s has no IP address" % name)


class Receiver:
    """A webhook receiver container (HTTPS on 8443, its own CA)."""

    def __init__(self, name, network):
        self.name, self.network = name, network

    def start(self):
        if run_ok(["docker", "container", "inspect", self.name]):
            return self
        docker("run", "-d", "--name", self.name, "--hostname", self.name, "--network", self.network,
               "--network-alias", self.name, "--label", "biz.wabiz.e2e=receiver", RECEIVER_IMAGE,
               "/opt/whatsapp/bin/launch_within_docker.sh", "--state-dir", RECEIVER_STATE)
        return self

    def ca_pem(self, timeout=180):  # generous: a loaded machine starts containers slowly
        deadline = time.monotonic() + timeout
        while True:
            proc = subprocess.run(["docker", "exec", self.name, "cat", RECEIVER_STATE + "/ca.pem"],
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, check=False)
            if proc.returncode == 0 and "BEGIN CERTIFICATE" in proc.stdout:
                return proc.stdout
            if time.monotonic() > deadline:
                raise dockerctl.DockerError("receiver %s wrote no CA: %s" % (self.name, proc.stderr))
            time.sleep(0.3)

    @property
    def url(self):
        return "https://%s:8443/webhook" % self.name

    def received(self):
        status, body = dockerctl.http("GET", "https://%s:8443/received" % container_ip(self.name))
        if status != 200:
            raise dockerctl.DockerError("GET /received of %s: HTTP %s" % (self.name, status))
        return body

    def clear(self):
        dockerctl.http("DELETE", "https://%s:8443/received" % container_ip(self.name))


def run_ok(cmd):
    return subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False).returncode == 0


class Lab:
    def __init__(self, prefix, layout="multiconnect", old_port=None, new_port=None, workdir=None, db_engine="MYSQL"):
        if layout not in LAYOUTS:
            raise ValueError("layout must be one of %s" % sorted(LAYOUTS))
        if db_engine not in ("MYSQL", "PGSQL"):
            raise ValueError("db_engine must be MYSQL or PGSQL")
        self.db_engine = db_engine
        self.prefix = prefix
        self.layout = layout
        self.counts = LAYOUTS[layout]
        self.old_port = int(old_port or free_port())
        self.new_port = int(new_port or free_port())
        self.workdir = os.path.abspath(workdir or os.path.join("/var/tmp", prefix))
        self.state_dir = os.path.join(self.workdir, "state")
        self.old_project = prefix + "-old"
        self.new_stack = prefix + "-new"
        self.new_network = prefix + "-new"
        self.new_db = prefix + "-new-db"
        self.old_pg = prefix + "-old-pg"
        self.old_pg_volume = prefix + "-old-pgdata"
        pg = db_engine == "PGSQL"
        # PostgreSQL: the client containers only (no `db` service), on a network the lab makes, with the
        # server's address in db.env and Meta's PostgreSQL command.
        self.old = dockerctl.Stack(self.old_project, layout=layout, version=OLD_VERSION,
                                   web_publish="%d:443" % self.old_port, db_publish="3306",
                                   workdir=os.path.join(self.workdir, "compose-old"),
                                   external_network=prefix + "-old" if pg else None,
                                   services=[s for s in SERVICES[layout] if s != "db"] if pg else None,
                                   override={"services": {s: {"command": WAIT_ON_POSTGRES} for s in SERVICES[layout]
                                                          if s != "db"}} if pg else None)
        self.net = dockerctl.NetworkStandIn(prefix + "-net")
        self.old_hooks = Receiver(prefix + "-old-hooks", self.old.network)
        self.new_hooks = Receiver(prefix + "-new-hooks", self.new_network)
        self.new_ca_path = os.path.join(self.workdir, "new-hooks-ca.pem")

    # --- bring it up ------------------------------------------------------------------------------
    def up(self, prove_old_webhook=True):
        t0 = time.monotonic()
        os.makedirs(self.workdir, exist_ok=True)
        log("old setup %s: %s layout %s on port %d" % (self.old_project, self.layout, OLD_VERSION, self.old_port))
        if self.db_engine == "PGSQL":
            self.start_old_pg()
        self.old.up()
        self.net.start(self.old.network)
        if not run_ok(["docker", "network", "inspect", self.new_network]):
            docker("network", "create", "--label", "biz.wabiz.e2e=lab", self.new_network)
        self.net.attach(self.new_network)
        self.old_hooks.start()
        self.new_hooks.start()
        with open(self.new_ca_path, "w", encoding="utf-8") as fh:
            fh.write(self.new_hooks.ca_pem())
        self.old.wait_web(600)  # its database may take minutes to initialise on a loaded machine
        self.old.seed(WA_ID, shards=self.counts["shards"], admin_password=OLD_ADMIN_PASSWORD,
                      two_step_pin=TWO_STEP_PIN, webhook_url=self.old_hooks.url)
        token = self.old.login(OLD_ADMIN_PASSWORD)
        # The old webhook server has a private CA: the old setup trusts it (upload + CoreApp restart).
        self.api("POST", self.old_url, "/v1/certificates/webhooks/ca", token, raw=self.old_hooks.ca_pem())
        nodes = [n for svc, names in self.old.containers().items() if svc != "db" and svc != "waweb"
                 for n in names]
        docker("restart", "--time", "5", *nodes)
        shards = self.counts["shards"] if self.layout != "single" else None
        self.old.wait_health(token, expect_shards=shards, timeout=300)
        if prove_old_webhook:
            self.send_inbound("before the migration")
            self.wait_received(self.old_hooks, "before the migration")
            self.old_hooks.clear()
        log("lab %s up in %.1fs" % (self.prefix, time.monotonic() - t0))
        return self

    def start_old_pg(self):
        """The old setup's external PostgreSQL server; the client gets its address, not a name."""
        if not run_ok(["docker", "network", "inspect", self.old.network]):
            docker("network", "create", "--label", "biz.wabiz.e2e=lab", self.old.network)
        if not run_ok(["docker", "container", "inspect", self.old_pg]):
            docker("run", "-d", "--name", self.old_pg, "--network", self.old.network, "--label", "biz.wabiz.e2e=lab",
                   "-e", "POSTGRES_PASSWORD=" + DB_PASSWORD, "-v", self.old_pg_volume + ":/var/lib/postgresql/data",
                   POSTGRES_IMAGE)
        # First start initialises the cluster: minutes on a loaded machine. The client waits for it anyway
        # (wait_on_postgres.sh); waiting here keeps the Webapp's own wait below within its usual bounds.
        deadline = time.monotonic() + 300
        while not run_ok(["docker", "exec", self.old_pg, "pg_isready", "-q", "-h", "127.0.0.1"]):
            if time.monotonic() > deadline:
                raise dockerctl.DockerError("PostgreSQL in %s not ready within 300s" % self.old_pg)
            time.sleep(1)
        self.old.db_env.update({"WA_DB_ENGINE": "PGSQL", "WA_DB_HOSTNAME": container_ip(self.old_pg, self.old.network),
                                "WA_DB_PORT": "5432", "WA_DB_USERNAME": "postgres", "WA_DB_PASSWORD": DB_PASSWORD})

    def old_pg_sql(self, sql):
        """Rows (tab-separated lines) of ``sql`` run in the old setup's PostgreSQL database ``waent``."""
        return docker("exec", self.old_pg, "psql", "-U", "postgres", "-d", "waent", "-At", "-F", "\t", "-c", sql)

    @property
    def old_url(self):
        return "https://127.0.0.1:%d" % self.old_port

    @property
    def new_url(self):
        return "https://127.0.0.1:%d" % self.new_port

    def extra_vars(self):
        if self.db_engine == "PGSQL":
            return dict(self._extra_vars(), wabiz_new_db={
                "engine": "PGSQL", "hostname": self.new_db, "port": 5432, "username": "postgres",
                "password": DB_PASSWORD}, stack_install_db_image=POSTGRES_IMAGE,
                wabiz_old_external_db_host=self.old.db_env["WA_DB_HOSTNAME"])
        return self._extra_vars()

    def _extra_vars(self):
        return {
            "wabiz_migration_name": self.prefix,
            "wabiz_state_dir": self.state_dir,
            "wabiz_masters": self.counts["masters"],
            "wabiz_coreapps": self.counts["coreapps"],
            "wabiz_shards": self.counts["shards"],
            "wabiz_old_stack_name": self.old_project,
            "wabiz_old_api_url": self.old_url,
            "wabiz_old_web_port": self.old_port,
            "wabiz_new_stack_name": self.new_stack,
            "wabiz_new_api_url": self.new_url,
            "wabiz_new_web_port": self.new_port,
            "wabiz_new_network": self.new_network,
            "wabiz_new_db": {"engine": "MYSQL", "hostname": self.new_db, "port": 3306, "username": "root",
                             "password": DB_PASSWORD},
            "wabiz_new_db_container": True,
            "wabiz_new_webhook_url": self.new_hooks.url,
            "wabiz_new_webhook_ca": self.new_ca_path,
        }

    # --- helpers for assertions -------------------------------------------------------------------
    @staticmethod
    def api(method, base, path, token=None, body=None, raw=None, basic=None):
        headers = {}
        if token:
            headers["Authorization"] = "Bearer " + token
        if basic:
            headers["Authorization"] = "Basic " + base64.b64encode(("%s:%s" % basic).encode()).decode()
        if raw is not None:
            req_body = raw.encode()
            headers["Content-Type"] = "text/plain"
            import urllib.request
            req = urllib.request.Request(base + path, data=req_body, headers=headers, method=method)
            try:
                with urllib.request.urlopen(req, timeout=10, context=dockerctl._insecure_context()) as resp:
                    return resp.status, None
            except urllib.error.HTTPError as exc:
                return exc.code, exc.read().decode()
        return dockerctl.http(method, base + path, body=body, headers=headers)

    def emulator_state(self, base):
        status, body = dockerctl.http("GET", base + "/_emulator/state")
        if status != 200:
            raise dockerctl.DockerError("GET %s/_emulator/state: HTTP %s" % (base, status))
        return body

    def network_url(self):
        return "http://%s:8080" % container_ip(self.net.name, self.old.network)

    def network_get(self, path):
        status, body = dockerctl.http("GET", self.network_url() + path)
        if status != 200:
            raise dockerctl.DockerError("network stand-in GET %s: HTTP %s %s" % (path, status, body))
        return body

    def send_inbound(self, text):
        status, body = dockerctl.http("POST", self.network_url() + "/inbound",
                                      {"to": WA_ID, "from": CUSTOMER, "text": {"body": text}, "name": "Customer"})
        if status != 200:
            raise dockerctl.DockerError("POST /inbound: HTTP %s %s" % (status, body))
        return body

    @staticmethod
    def bodies(receiver):
        out = []
        for rec in receiver.received():
            for msg in ((rec.get("body") or {}).get("messages") or []):
                out.append((msg.get("text") or {}).get("body"))
        return out

    def wait_received(self, receiver, text, timeout=30):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if text in self.bodies(receiver):
                return True
            time.sleep(0.5)
        raise AssertionError("%s did not receive %r within %ss (got %s)"
                             % (receiver.name, text, timeout, self.bodies(receiver)))

    # --- tear down ---------------------------------------------------------------------------------
    def down(self):
        """Remove every Docker object of this lab (all carry the prefix), and the work directory's compose files."""
        for label in ("biz.wabiz.stack=%s" % self.new_stack, "biz.wabiz.stack=%s" % self.old_project):
            ids = docker("ps", "-aq", "--filter", "label=" + label, check=False).split()
            if ids:
                docker("rm", "-f", *ids, check=False)
        for name in (self.new_db, self.old_pg, self.old_hooks.name, self.new_hooks.name):
            docker("rm", "-f", name, check=False)
        self.net.stop()
        try:
            self.old.down(volumes=True)
        except dockerctl.DockerError as exc:  # pragma: no cover - best effort
            log("compose down: %s" % exc)
        vols = docker("volume", "ls", "-q", check=False).split()
        mine = [v for v in vols if v.startswith(self.prefix + "-")]
        if mine:
            docker("volume", "rm", "-f", *mine, check=False)
        for net in (self.new_network, self.old.network):
            docker("network", "rm", net, check=False)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("cmd", choices=["up", "vars", "down"])
    parser.add_argument("--prefix", required=True)
    parser.add_argument("--layout", choices=sorted(LAYOUTS), default="multiconnect")
    parser.add_argument("--old-port", type=int, default=None)
    parser.add_argument("--new-port", type=int, default=None)
    parser.add_argument("--workdir", default=None)
    parser.add_argument("--db-engine", choices=["MYSQL", "PGSQL"], default="MYSQL",
                        help="PGSQL: the old setup on an external PostgreSQL server, the new one on PostgreSQL")
    args = parser.parse_args(argv)
    lab = Lab(args.prefix, args.layout, args.old_port, args.new_port, args.workdir, args.db_engine)
    if args.cmd == "up":
        lab.up()
    if args.cmd in ("up", "vars"):
        print(json.dumps(lab.extra_vars(), indent=2))
    if args.cmd == "down":
        lab.down()
    return 0


if __name__ == "__main__":
    sys.exit(main())
