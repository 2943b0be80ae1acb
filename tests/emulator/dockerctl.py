#!/usr/bin/env python
# Copyright (c) 2026, wabiz.api_client contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Start, seed and stop the emulator's Docker layouts (tests and demos). Standard library only.

It drives the ``docker`` and ``docker-compose`` (v1) command-line tools, and touches only the objects
it creates: compose projects it brings up and network stand-in containers it starts.

As a library (see tests/emulator/tests/docker/)::

    net = NetworkStandIn("wabiz-emu-1234-net").start()
    stack = Stack("wabiz-emu-1234-old", layout="multiconnect", version="2.61.2").up()
    net.attach(stack.network)                     # g.whatsapp.net on the project's network
    stack.seed("15550001234", shards=2, admin_password="Secret-123!")
    token = stack.login("Secret-123!")
    stack.wait_health(token, expect_shards=2)
    stack.down(); net.stop()

From the shell::

    dockerctl.py up --project wabiz-emu-demo --layout multiconnect --version 2.61.2 \\
        --seed 15550001234 --shards 2 --admin-password 'Secret-123!' [--web-publish 9090:443]
    dockerctl.py health --project wabiz-emu-demo --admin-password 'Secret-123!'
    dockerctl.py down --project wabiz-emu-demo          # containers, network, volumes, stand-in

The WhatsApp network stand-in (``wabiz-emulator/network``) is not part of Meta's compose files: one
stand-in container is attached to each setup's network with the alias ``g.whatsapp.net`` (the
CoreApps' default ``WA_EMULATOR_NETWORK_URL``). One shared stand-in for an old and a new setup plays
the single real WhatsApp network: the number moves from one setup to the other on it.
"""

import argparse
import contextlib
import json
import os
import re
import shutil
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from base64 import b64encode

HERE = os.path.dirname(os.path.abspath(__file__))
COMPOSE_DIR = os.path.join(HERE, "compose")
LAYOUTS = {"multiconnect": "multiconnect-compose.yml", "single": "docker-compose.yml",
           # High availability: Meta's multiconnect file on 1 shard, with 2 Masters and 2 CoreApps (the
           # minimum of Meta's availability guide): the same file with wacore3 scaled to 0.
           "ha": "multiconnect-compose.yml"}
# Services a layout scales to 0 (``docker-compose up --scale SERVICE=0``).
LAYOUT_SCALE = {"ha": {"wacore3": 0}}
NETWORK_IMAGE = "wabiz-emulator/network:latest"
NETWORK_ALIAS = "g.whatsapp.net"
DEFAULT_VERSION = "2.61.2"
WORK_ROOT = os.path.join(tempfile.gettempdir(), "wabiz-emulator-compose")


class DockerError(RuntimeError):
    pass


def run(cmd, check=True, env=None, cwd=None, timeout=300):
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=cwd,
                          timeout=timeout, check=False)
    if check and proc.returncode != 0:
        detail = (proc.stderr or proc.stdout).strip()[-2000:]
        raise DockerError("%s failed (exit %d): %s" % (" ".join(cmd), proc.returncode, detail))
    return proc


def docker(*args, check=True):
    return run(["docker"] + list(args), check=check).stdout.strip()


# --- HTTPS to the Webapp ---------------------------------------------------------------------------

def _insecure_context():
    # The emulator's Webapp has its own CA (GET /_emulator/ca.pem); the helper does not verify it.
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


def http(method, url, body=None, headers=None, timeout=10):
    """(status, parsed JSON or text) of one request; connection errors raise OSError."""
    data = None
    headers = dict(headers or {})
    if body is not None:
        data = json.dumps(body).encode()
        headers.setdefault("Content-Type", "application/json")
    req = urllib.request.Request(url, data=data, headers=headers, method=method)
    try:
        with urllib.request.urlopen(req, timeout=timeout, context=_insecure_context()) as resp:
            status, raw = resp.status, resp.read()
    except urllib.error.HTTPError as exc:
        status, raw = exc.code, exc.read()
    text = raw.decode("utf-8", "replace")
    try:
        return status, json.loads(text) if text else None
    except ValueError:
        return status, text


# --- network stand-in ------------------------------------------------------------------------------

class NetworkStandIn:
    """A ``wabiz-emulator/network`` container, reachable as ``g.whatsapp.net`` on attached networks."""

    def __init__(self, name, image=NETWORK_IMAGE, alias=NETWORK_ALIAS):
        self.name, self.image, self.alias = name, image, alias

    def exists(self):
        return run(["docker", "container", "inspect", self.name], check=False).returncode == 0

    def start(self, network=None):
        """Start the container (on ``network`` when given, else on Docker's default bridge)."""
        if not self.exists():
            cmd = ["docker", "run", "-d", "--name", self.name, "--label", "biz.wabiz.emulator.helper=network",
                   "--restart", "unless-stopped"]
            if network:
                cmd += ["--network", network, "--network-alias", self.alias]
            run(cmd + [self.image])
        elif network:
            self.attach(network)
        return self

    def networks(self):
        out = docker("container", "inspect", "--format", "{{json .NetworkSettings.Networks}}", self.name)
        return sorted(json.loads(out or "{}"))

    def attach(self, network):
        if network not in self.networks():
            docker("network", "connect", "--alias", self.alias, network, self.name)
        return self

    def detach(self, network):
        if self.exists() and network in self.networks():
            docker("network", "disconnect", "--force", network, self.name)

    def url(self):
        """http://<ip>:8080 of the stand-in, reachable from this host."""
        nets = json.loads(docker("container", "inspect", "--format", "{{json .NetworkSettings.Networks}}",
                                 self.name) or "{}")
        for net in nets.values():
            if net.get("IPAddress"):
                return "http://%s:8080" % net["IPAddress"]
        raise DockerError("%s has no IP address" % self.name)

    def stop(self):
        if self.exists():
            docker("rm", "-f", self.name)


# --- one compose project -----------------------------------------------------------------------------

class Stack:
    """One of Meta's compose layouts brought up as compose project ``project`` on the emulator images.

    ``db_env``: extra lines for db.env (e.g. ``{"WA_DB_NAME_PREFIX": "new"}``; ``WA_EMULATOR_*`` tunables).
    ``web_publish`` / ``db_publish``: the host side of the Webapp / database ports (default: random).
    ``external_network``: join an existing network instead of the project's own (with ``services``
    limited to e.g. ``["wacore", "waweb"]`` and ``no_deps``, a second setup on another setup's database).
    ``override``: a compose override (a dict, written as ``override.yml``) on top of Meta's layout, e.g.
    the ``command`` of a setup on PostgreSQL (``wait_on_postgres.sh``).
    """

    def __init__(self, project, layout="multiconnect", version=DEFAULT_VERSION, db_env=None,
                 web_publish="443", db_publish="3306", external_network=None, services=None, workdir=None,
                 override=None):
        if layout not in LAYOUTS:
            raise ValueError("layout must be one of %s" % sorted(LAYOUTS))
        self.project = project
        self.layout = layout
        self.version = version.lstrip("v")
        self.db_env = dict(db_env or {})
        self.web_publish, self.db_publish = web_publish, db_publish
        self.external_network = external_network
        self.services = list(services or [])
        self.override = dict(override or {})
        self.workdir = workdir or os.path.join(WORK_ROOT, project)
        self.attached = []  # NetworkStandIn objects attached by attach_network()

    # --- files and commands --------------------------------------------------------------------
    @property
    def network(self):
        # docker-compose v1 normalises project names this way.
        return self.external_network or "%s_default" % re.sub(r"[^-_a-z0-9]", "", self.project.lower())

    def write_files(self):
        os.makedirs(self.workdir, exist_ok=True)
        shutil.copy(os.path.join(COMPOSE_DIR, LAYOUTS[self.layout]), os.path.join(self.workdir, "compose.yml"))
        with open(os.path.join(COMPOSE_DIR, "db.env"), encoding="utf-8") as fh:
            env_text = fh.read()
        if self.db_env:
            env_text += "# added by dockerctl.py\n" + "".join("%s=%s\n" % kv for kv in sorted(self.db_env.items()))
        with open(os.path.join(self.workdir, "db.env"), "w", encoding="utf-8") as fh:
            fh.write(env_text)
        files = ["compose.yml"]
        if self.external_network:
            with open(os.path.join(self.workdir, "network.yml"), "w", encoding="utf-8") as fh:
                fh.write("version: '3'\nnetworks:\n  default:\n    external:\n      name: %s\n"
                         % self.external_network)
            files.append("network.yml")
        if self.override:
            with open(os.path.join(self.workdir, "override.yml"), "w", encoding="utf-8") as fh:
                json.dump(dict({"version": "3"}, **self.override), fh, indent=1)  # JSON is YAML
            files.append("override.yml")
        with open(os.path.join(self.workdir, "dockerctl.json"), "w", encoding="utf-8") as fh:
            json.dump({"project": self.project, "layout": self.layout, "version": self.version,
                       "files": files, "web_publish": self.web_publish, "db_publish": self.db_publish,
                       "external_network": self.external_network, "db_env": self.db_env,
                       "services": self.services, "override": self.override}, fh)
        return files

    @classmethod
    def load(cls, project):
        """The Stack that ``up`` wrote for ``project`` (to take it down from another process)."""
        workdir = os.path.join(WORK_ROOT, project)
        with open(os.path.join(workdir, "dockerctl.json"), encoding="utf-8") as fh:
            info = json.load(fh)
        return cls(project, layout=info["layout"], version=info["version"], db_env=info["db_env"],
                   web_publish=info["web_publish"], db_publish=info["db_publish"],
                   external_network=info["external_network"], services=info["services"], workdir=workdir,
                   override=info.get("override"))

    def compose(self, *args, version=None, check=True, timeout=300):
        files = self.write_files()
        cmd = ["docker-compose", "--ansi", "never", "-p", self.project]
        for name in files:
            cmd += ["-f", name]
        env = dict(os.environ, WA_API_VERSION=(version or self.version).lstrip("v"),
                   WABIZ_WEB_PUBLISH=self.web_publish, WABIZ_DB_PUBLISH=self.db_publish)
        env.pop("COMPOSE_PROJECT_NAME", None)
        env.pop("COMPOSE_FILE", None)
        return run(cmd + list(args), check=check, env=env, cwd=self.workdir, timeout=timeout)

    # --- lifecycle --------------------------------------------------------------------------
    def up(self, *extra):
        args = ["up", "-d"] + list(extra)
        for service, count in sorted(LAYOUT_SCALE.get(self.layout, {}).items()):
            args += ["--scale", "%s=%d" % (service, count)]
        if self.services:
            args += ["--no-deps"] + self.services
        self.compose(*args)
        return self

    def set_version(self, version):
        """Switch the project to another client version (``up -d`` recreates coreapp/web containers)."""
        self.version = version.lstrip("v")
        return self.up()

    def attach_network(self, standin):
        standin.attach(self.network)
        if standin not in self.attached:
            self.attached.append(standin)
        return standin

    def down(self, volumes=True):
        """Remove this project's containers and network (and its volumes unless volumes=False)."""
        for standin in self.attached:
            standin.detach(self.network)
        args = ["down", "--remove-orphans", "--timeout", "5"]
        if volumes:
            args.append("--volumes")
        self.compose(*args, check=False)
        # Left-overs (e.g. `down` of a project whose files changed): by the compose project label.
        ids = docker("ps", "-aq", "--filter", "label=com.docker.compose.project=%s" % self.project).split()
        if ids:
            docker("rm", "-f", *ids)
        nets = docker("network", "ls", "-q", "--filter", "label=com.docker.compose.project=%s" % self.project).split()
        for net in nets:
            # Fails (and stays) while a container someone else attached is still on it.
            docker("network", "rm", net, check=False)
        if volumes:
            vols = docker("volume", "ls", "-q", "--filter",
                          "label=com.docker.compose.project=%s" % self.project).split()
            if vols:
                docker("volume", "rm", "-f", *vols, check=False)
        shutil.rmtree(self.workdir, ignore_errors=True)

    # --- inspection -------------------------------------------------------------------------
    def containers(self, service=None):
        """{service: [container names]} (or the list of one service), running or not."""
        filters = ["--filter", "label=com.docker.compose.project=%s" % self.project]
        if service:
            filters += ["--filter", "label=com.docker.compose.service=%s" % service]
        out = docker("ps", "-a", *filters, "--format",
                     '{{.Names}}\t{{.Label "com.docker.compose.service"}}')
        result = {}
        for line in out.splitlines():
            name, svc = line.split("\t")
            result.setdefault(svc, []).append(name)
        for names in result.values():
            names.sort()
        return result.get(service, []) if service else result

    def container(self, service):
        names = self.containers(service)
        if not names:
            raise DockerError("project %s has no %s container" % (self.project, service))
        return names[0]

    def container_id(self, service):
        return docker("inspect", "--format", "{{.Id}}", self.container(service))

    def web_url(self):
        """https://127.0.0.1:<published port> of the Webapp (waweb)."""
        out = docker("port", self.container("waweb"), "443/tcp")
        for line in out.splitlines():
            host, dummy, port = line.strip().rpartition(":")
            if "." in host or host in ("", "0.0.0.0"):
                return "https://127.0.0.1:%s" % port
        raise DockerError("the Webapp of %s publishes no port 443" % self.project)

    def logs(self, tail=40):
        return self.compose("logs", "--no-color", "--tail", str(tail), check=False).stdout

    # --- the emulator's API -----------------------------------------------------------------
    def wait_web(self, timeout=60):
        """Wait until the Webapp answers (any HTTP status) and return its URL."""
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            try:
                url = self.web_url()
                status = http("GET", url + "/_emulator/state", timeout=3)[0]
                if status == 200:
                    return url
                last = "HTTP %s" % status
            except (OSError, DockerError) as exc:
                last = exc
            time.sleep(0.5)
        raise DockerError("the Webapp of %s did not answer within %ss (%s)\n%s"
                          % (self.project, timeout, last, self.logs()))

    def state(self):
        status, body = http("GET", self.wait_web() + "/_emulator/state")
        if status != 200:
            raise DockerError("GET /_emulator/state: HTTP %s %s" % (status, body))
        return body

    def seed(self, wa_id, shards=1, admin_password=None, two_step_pin=None, webhook_url=None):
        """Register the setup as an old setup already serving ``wa_id`` (POST /_emulator/seed)."""
        body = {"wa_id": wa_id, "shards": shards}
        for key, value in (("admin_password", admin_password), ("two_step_pin", two_step_pin),
                           ("webhook_url", webhook_url)):
            if value is not None:
                body[key] = value
        status, answer = http("POST", self.wait_web() + "/_emulator/seed", body)
        if status != 200:
            raise DockerError("POST /_emulator/seed: HTTP %s %s" % (status, answer))
        return answer

    def login(self, password, username="admin"):
        auth = b64encode(("%s:%s" % (username, password)).encode()).decode()
        status, body = http("POST", self.wait_web() + "/v1/users/login",
                            headers={"Authorization": "Basic " + auth}, body={})
        if status != 200:
            raise DockerError("login as %s: HTTP %s %s" % (username, status, body))
        return body["users"][0]["token"]

    def health(self, token):
        status, body = http("GET", self.web_url() + "/v1/health", headers={"Authorization": "Bearer " + token})
        if status != 200:
            raise DockerError("GET /v1/health: HTTP %s %s" % (status, body))
        return body["health"]

    def wait_health(self, token, expect_shards=None, predicate=None, timeout=90):
        """Wait until /v1/health is healthy as :func:`summarize` says (``expect_shards`` required for a
        high-availability/multiconnect setup: with N >= 2 shards the primary Master and N CoreApps connected;
        high availability, 1 shard: one CoreApp connected), or until ``predicate(health)`` is true."""
        if predicate is None:
            def predicate(health):
                return summarize(health, expect_shards)["healthy"]
        deadline = time.monotonic() + timeout
        health = None
        while time.monotonic() < deadline:
            try:
                health = self.health(token)
                if predicate(health):
                    return health
            except (OSError, DockerError) as exc:
                health = str(exc)
            time.sleep(0.5)
        raise DockerError("health of %s not reached within %ss: %s\n%s"
                          % (self.project, timeout, json.dumps(health), self.logs()))


def missing_engine_or_images(images):
    """For test fixtures: why the engine or the images are not usable (``None`` when they are).

    Suites run tools/ensure-docker.sh and tools/build-images.sh first, so the answer must be ``None``;
    a fixture fails (never skips) with the text otherwise.
    """
    proc = run(["docker", "info"], check=False)
    if proc.returncode != 0:
        return "the Docker engine does not answer (tools/ensure-docker.sh): %s" % (proc.stderr or proc.stdout)[-500:]
    missing = [img for img in images if run(["docker", "image", "inspect", img], check=False).returncode != 0]
    if missing:
        return "emulator images missing (tools/build-images.sh): %s" % ", ".join(missing)
    return None


@contextlib.contextmanager
def collections_root(repo, prefix="wabiz-colls-"):
    """For test fixtures: a directory to use as ANSIBLE_COLLECTIONS_PATH.

    The test command's copy (``$WABIZ_COLLECTIONS_ROOT``) when set, else a temporary link to ``repo``.
    """
    root = os.environ.get("WABIZ_COLLECTIONS_ROOT")
    if root:
        yield root
        return
    tmp = tempfile.mkdtemp(prefix=prefix)
    os.makedirs(os.path.join(tmp, "ansible_collections", "wabiz"))
    os.symlink(repo, os.path.join(tmp, "ansible_collections", "wabiz", "api_client"))
    try:
        yield tmp
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def summarize(health, expect_shards=None):
    """Counts of a /v1/health ``health`` object, and whether it is healthy as Meta's health reference
    describes it (wa-api-facts.md, section 6).

    * Single instance: ``healthy`` when ``gateway_status`` is ``connected``.
    * High availability / multiconnect: ``expect_shards`` N is required (what healthy means depends on it).
      ``healthy``: at least N CoreApps ``connected`` and, with N >= 2 (multiconnect), the primary Master
      ``connected`` too; with N = 1 (high availability) the primary Master reports ``disconnected``, which the
      reference calls normal, so it is not required. This is the rule of the collection's ``health_info``
      (N or more CoreApps), so a test and the collection agree on what a healthy setup is.
    * ``as_documented``: the exact picture of the reference: healthy, exactly N CoreApps connected, and every
      other node (secondary Masters, spare CoreApps, the primary Master of a 1-shard setup) ``disconnected``.
    """
    if "gateway_status" in health:  # single instance
        ok = health["gateway_status"] == "connected"
        return {"single": True, "healthy": ok, "as_documented": ok, "status": health["gateway_status"]}
    if not expect_shards or int(expect_shards) < 1:
        raise ValueError("summarize: a high-availability/multiconnect health answer needs expect_shards (N >= 1): "
                         "what healthy means depends on the shard count")
    shards = int(expect_shards)
    nodes = {k: v for k, v in health.items() if isinstance(v, dict)}
    connected = [k for k, v in nodes.items() if v.get("gateway_status") == "connected"]
    primary = [k for k, v in nodes.items() if v.get("role") == "primary_master"]
    coreapps_up = [k for k in connected if nodes[k].get("role") == "coreapp"]
    # With N >= 2 shards the primary Master is connected; in high availability (1 shard) it reports
    # disconnected, which the reference calls normal (the collection accepts connected there too).
    primary_needed = shards >= 2
    primary_ok = len(primary) == 1 and (
        primary[0] in connected if primary_needed
        else nodes[primary[0]].get("gateway_status") in ("connected", "disconnected"))
    healthy = primary_ok and len(coreapps_up) >= shards
    expected_up = set(coreapps_up) | (set(primary) if primary_needed else set())
    as_documented = healthy and len(coreapps_up) == shards and all(
        v.get("gateway_status") == "disconnected" for k, v in nodes.items() if k not in expected_up)
    return {"single": False, "healthy": healthy, "as_documented": as_documented,
            "primary_master": primary[0] if primary else None, "connected_coreapps": sorted(coreapps_up),
            "disconnected": sorted(k for k in nodes if k not in connected), "nodes": len(nodes)}


# --- command line ----------------------------------------------------------------------------------

def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    sub = parser.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("up", help="bring a layout up (+ network stand-in), optionally seed it and wait")
    p.add_argument("--project", required=True)
    p.add_argument("--layout", choices=sorted(LAYOUTS), default="multiconnect")
    p.add_argument("--version", default=DEFAULT_VERSION)
    p.add_argument("--web-publish", default="443", help='host side of the Webapp port, e.g. "9090:443"')
    p.add_argument("--db-publish", default="3306")
    p.add_argument("--env", action="append", default=[], metavar="KEY=VALUE", help="extra db.env line")
    p.add_argument("--network-standin", default=None, help="stand-in container name (default <project>-net)")
    p.add_argument("--seed", default=None, metavar="WA_ID", help="register the setup with this number")
    p.add_argument("--shards", type=int, default=None)
    p.add_argument("--admin-password", default=None)
    p.add_argument("--timeout", type=int, default=120)
    p = sub.add_parser("network", help="start a network stand-in and attach it to networks")
    p.add_argument("--name", required=True)
    p.add_argument("--attach", action="append", default=[], metavar="NETWORK")
    p = sub.add_parser("health", help="print /v1/health of a project brought up by `up`")
    p.add_argument("--project", required=True)
    p.add_argument("--admin-password", required=True)
    p = sub.add_parser("down", help="remove a project brought up by `up` (and its stand-in)")
    p.add_argument("--project", required=True)
    p.add_argument("--keep-volumes", action="store_true")
    p.add_argument("--network-standin", default=None)
    args = parser.parse_args(argv)

    if args.cmd == "network":
        standin = NetworkStandIn(args.name)
        standin.start(args.attach[0] if args.attach else None)
        for net in args.attach[1:]:
            standin.attach(net)
        print(json.dumps({"name": standin.name, "networks": standin.networks(), "url": standin.url()}))
        return 0
    if args.cmd == "up":
        env = dict(item.split("=", 1) for item in args.env)
        stack = Stack(args.project, layout=args.layout, version=args.version, db_env=env,
                      web_publish=args.web_publish, db_publish=args.db_publish).up()
        standin = NetworkStandIn(args.network_standin or "%s-net" % args.project).start(stack.network)
        url = stack.wait_web(args.timeout)
        info = {"project": args.project, "layout": args.layout, "version": stack.version, "web_url": url,
                "network": stack.network, "network_standin": standin.name}
        if args.seed:
            shards = args.shards or (2 if args.layout == "multiconnect" else 1)
            stack.seed(args.seed, shards=shards, admin_password=args.admin_password)
            info.update(wa_id=args.seed, shards=shards)
            if args.admin_password:
                token = stack.login(args.admin_password)
                info["health"] = stack.wait_health(token, expect_shards=shards if args.layout != "single" else None,
                                                   timeout=args.timeout)
        print(json.dumps(info, indent=2))
        return 0
    if args.cmd == "health":
        stack = Stack.load(args.project)
        print(json.dumps(stack.health(stack.login(args.admin_password)), indent=2))
        return 0
    if args.cmd == "down":
        try:
            stack = Stack.load(args.project)
        except OSError:
            stack = Stack(args.project)
        standin = NetworkStandIn(args.network_standin or "%s-net" % args.project)
        standin.detach(stack.network)
        stack.down(volumes=not args.keep_volumes)
        if standin.exists() and not standin.networks():
            standin.stop()
        elif standin.exists() and not args.network_standin:
            standin.stop()
        return 0
    return 2


if __name__ == "__main__":
    sys.exit(main())
