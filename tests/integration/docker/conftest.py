# Copyright (c) 2026, wabiz.api_client contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Fixtures of the Docker-side integration tests: real ansible-playbook runs of the collection's modules
and roles against the local Docker engine and the emulator images. Nothing is mocked.

Every Docker object made here is named ``wabiz-it-<random>-...``; only those are removed afterwards.
A missing engine or image is a failure, never a skip (tests/suites/50-docker.sh runs
tools/ensure-docker.sh and tools/build-images.sh first).
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import socket
import ssl
import subprocess
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
REPO = os.path.dirname(REPO) if os.path.basename(REPO) == "tests" else REPO
EMULATOR_DIR = os.path.join(REPO, "tests", "emulator")
if EMULATOR_DIR not in sys.path:
    sys.path.insert(0, EMULATOR_DIR)

import dockerctl  # noqa: E402  pylint: disable=wrong-import-position,import-error

OLD = "2.61.2"
NEW = "2.62.5"
DB_PASSWORD = "It-db-pass-123"
#: The emulator's images, under its own names (tests/emulator/images/build.py); the tests pass them through the
#: collection's options (image lists, image names, the database image).
DB_IMAGE = "wabiz-emulator/mysql:8.0.33"
REQUIRED_IMAGES = [DB_IMAGE, "wabiz-emulator/network:latest"] + [
    "wabiz-emulator/%s:v%s" % (kind, v) for v in (OLD, NEW) for kind in ("coreapp", "web")]


def docker(*args, check=True):
    proc = subprocess.run(["docker"] + list(args), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                          check=False)
    if check and proc.returncode != 0:
        raise AssertionError("docker %s failed: %s" % (" ".join(args), proc.stderr.strip()))
    return proc.stdout.strip()


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def https_status(port, path="/v1/health"):
    """HTTP status of an HTTPS GET on 127.0.0.1:port (None when nothing answers)."""
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
            with context.wrap_socket(sock) as tls:
                tls.sendall(("GET %s HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n" % path).encode())
                line = tls.recv(64).split(b"\r\n", 1)[0].decode()
                return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        return None


def containers(prefix):
    """{name: (id, state)} of the containers whose name starts with ``prefix``."""
    out = docker("ps", "-a", "--filter", "name=^/%s" % prefix, "--format", "{{.Names}}\t{{.ID}}\t{{.State}}")
    result = {}
    for line in out.splitlines():
        name, cid, state = line.split("\t")
        if name.startswith(prefix):
            result[name] = (cid, state)
    return result


def sql(container, statement, password=DB_PASSWORD):
    """Run SQL with the client inside the DB container; returns stdout."""
    return docker("exec", container, "mariadb", "-uroot", "-p%s" % password, "-N", "-B", "-e", statement)


@pytest.fixture(scope="session")
def engine():
    problem = dockerctl.missing_engine_or_images(REQUIRED_IMAGES)
    if problem:
        pytest.fail(problem)
    return True


@pytest.fixture(scope="session")
def prefix(engine):  # pylint: disable=redefined-outer-name,unused-argument
    """The run's unique prefix; every container, volume and network named with it is removed at the end."""
    value = "wabiz-it-%s" % secrets.token_hex(3)
    yield value
    ids = docker("ps", "-aq", "--filter", "name=^/%s" % value, check=False).split()
    if ids:
        docker("rm", "-f", *ids, check=False)
    for kind in ("volume", "network"):
        names = [n for n in docker(kind, "ls", "--format", "{{.Name}}", check=False).split() if n.startswith(value)]
        if names:
            docker(kind, "rm", *names, check=False)


@pytest.fixture(scope="session")
def run_images(prefix):
    """This run's own tags of the emulator images (``<prefix>/coreapp:v<ver>``, ``<prefix>/web:v<ver>``).

    Other suites may rebuild ``wabiz-emulator/...`` while this one runs (the stack module then rightly
    recreates containers whose tag points to a new image); private tags keep these tests independent of that.
    """
    tags = {}
    for version in (OLD, NEW):
        for kind in ("coreapp", "web"):
            tag = "%s/%s:v%s" % (prefix, kind, version)
            docker("tag", "wabiz-emulator/%s:v%s" % (kind, version), tag)
            tags[(kind, version)] = tag
    yield tags
    docker("rmi", *tags.values(), check=False)


@pytest.fixture(scope="session")
def standin(prefix):  # pylint: disable=redefined-outer-name
    """The WhatsApp network stand-in (emulator); tests attach it to their stack's network as g.whatsapp.net."""
    net = dockerctl.NetworkStandIn("%s-net" % prefix).start()
    yield net
    net.stop()


@pytest.fixture(scope="session")
def collections_root():
    """ANSIBLE_COLLECTIONS_PATH: the suite's copy, else a temporary link to the work tree."""
    with dockerctl.collections_root(REPO, prefix="wabiz-it-coll-") as root:
        yield root


class PlayResult:
    def __init__(self, proc):
        self.rc = proc.returncode
        self.stderr = proc.stderr
        try:
            self.data = json.loads(proc.stdout[proc.stdout.index("{"):])
        except ValueError:
            raise AssertionError("ansible-playbook gave no JSON (rc %s):\n%s\n%s"
                                 % (proc.returncode, proc.stdout[-3000:], proc.stderr[-3000:]))

    @property
    def stats(self):
        """The play recap summed over all hosts."""
        total = {}
        for host_stats in self.data["stats"].values():
            for key, value in host_stats.items():
                total[key] = total.get(key, 0) + value
        return total

    @property
    def changed(self):
        return self.stats["changed"]

    @property
    def failed(self):
        return self.stats["failures"] > 0

    def tasks(self):
        for play in self.data["plays"]:
            for task in play["tasks"]:
                for _host, res in sorted(task["hosts"].items()) or [(None, {})]:
                    yield task["task"]["name"], res

    def result(self, name_part):
        """The (last) result of the task whose name contains ``name_part``."""
        found = None
        for name, res in self.tasks():
            if name_part in name:
                found = res
        if found is None:
            raise AssertionError("no task %r in %s" % (name_part, [n for n, _r in self.tasks()]))
        return found

    def failure(self):
        for name, res in self.tasks():
            if res.get("failed"):
                return name, res.get("msg", "")
        return None, None

    def __repr__(self):
        return "PlayResult(rc=%s, stats=%s, failure=%r)" % (self.rc, self.stats, self.failure())


@pytest.fixture(scope="session")
def play(collections_root, tmp_path_factory, prefix):  # pylint: disable=redefined-outer-name
    """``play(tasks_or_roles_yaml)``: run a one-play playbook on localhost, return a :class:`PlayResult`.

    The play names the emulator's images as an inventory does: the image repositories (this run's tags first, see
    ``run_images``, then the shared build) for the roles (``wabiz_coreapp_images``, ``wabiz_web_images``) and the
    Docker modules (``coreapp_images``, ``web_images`` through module_defaults), and the database image."""
    lists = "{coreapp_images: [%s/coreapp, wabiz-emulator/coreapp], web_images: [%s/web, wabiz-emulator/web]}" % (
        prefix, prefix)
    workdir = tmp_path_factory.mktemp("plays")
    counter = [0]

    def run(body, extra_vars=None, inventory=None):
        """``inventory``: {host: {var: value}} of local-connection hosts; the play then targets all of them."""
        counter[0] += 1
        path = workdir / ("play%03d.yml" % counter[0])
        head = "- hosts: %s\n  gather_facts: false\n" % ("all" if inventory else "localhost")
        head += ("  vars:\n    wabiz_coreapp_images: [%s/coreapp, wabiz-emulator/coreapp]\n"
                 "    wabiz_web_images: [%s/web, wabiz-emulator/web]\n    stack_install_db_image: %s\n"
                 "  module_defaults:\n    wabiz.api_client.stack: %s\n    wabiz.api_client.stack_info: %s\n"
                 "    wabiz.api_client.db_container: {image: %s}\n" % (prefix, prefix, DB_IMAGE, lists, lists, DB_IMAGE))
        path.write_text(head + body)
        env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=collections_root, ANSIBLE_STDOUT_CALLBACK="wabiz_json",
                   ANSIBLE_CALLBACK_PLUGINS=os.path.join(HERE, "callback"),
                   ANSIBLE_LOCALHOST_WARNING="false", ANSIBLE_INVENTORY_UNPARSED_WARNING="false",
                   ANSIBLE_PYTHON_INTERPRETER=sys.executable, ANSIBLE_NOCOLOR="1")
        binary = os.path.join(os.path.dirname(sys.executable), "ansible-playbook")
        cmd = [binary if os.path.exists(binary) else shutil.which("ansible-playbook"), str(path)]
        if extra_vars:
            cmd += ["-e", json.dumps(extra_vars)]
        if inventory:
            inv = workdir / ("inventory%03d.json" % counter[0])
            hosts = dict((h, dict(v, ansible_connection="local")) for h, v in inventory.items())
            inv.write_text(json.dumps({"all": {"hosts": hosts}}))
            cmd += ["-i", str(inv)]
        proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, check=False,
                              timeout=600)
        return PlayResult(proc)

    return run
