# Copyright (c) 2026, wabiz.api_client contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Fixtures of the multi-host tests (suite 72-multihost): real sshd hosts, extra Docker engines, real
ansible-playbook runs over SSH. A lab that cannot start is a failure, never a skip."""

import itertools
import json
import os
import secrets
import shutil
import subprocess
import sys
import time

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import mhlab  # noqa: E402

dockerctl = mhlab.dockerctl
RUNS = itertools.count(1)  # numbers the playbook runs of the session (log file names)


def collection_dir():
    return os.environ.get("WABIZ_COLLECTION") or mhlab.REPO


def tool(name):
    cand = os.path.join(os.path.dirname(sys.executable), name)
    return cand if os.path.exists(cand) else shutil.which(name) or name


def assert_no_secrets(text, where):
    for secret in mhlab.SECRETS:
        assert secret not in text, "a secret leaked into the %s" % where


@pytest.fixture(scope="session")
def collections_root():
    with dockerctl.collections_root(mhlab.REPO, prefix="wabiz-mh-colls-") as root:
        yield root


@pytest.fixture(scope="module")
def lab():
    """The old setup spread over two SSH hosts on two engines, two empty new hosts, a backup host."""
    if os.geteuid() != 0:
        pytest.fail("the multi-host lab needs root (sshd, users, a second dockerd, a bridge)")
    why = dockerctl.missing_engine_or_images(
        sorted({img for imgs in mhlab.IMAGES.values() for img in imgs} | {dockerctl.NETWORK_IMAGE}))
    if why:
        pytest.fail(why)
    prefix = "wmh-%s" % secrets.token_hex(3)
    root = os.path.join("/var/tmp", prefix)
    the_lab = mhlab.MultiHostLab(prefix, root)
    t0 = time.monotonic()
    try:
        the_lab.up()
        print("multihost lab %s up in %.1fs" % (prefix, time.monotonic() - t0))
        yield the_lab
    finally:
        the_lab.down()
        shutil.rmtree(root, ignore_errors=True)


class Run:
    def __init__(self, rc, output, tasks):
        self.rc, self.output, self.tasks = rc, output, tasks


@pytest.fixture
def playbook(collections_root, lab):
    """Run playbooks/<name>.yml with an inventory of the lab; returns Run(rc, output, task records)."""
    logdir = os.environ.get("WABIZ_E2E_LOGDIR") or lab.workdir
    os.makedirs(logdir, exist_ok=True)

    def run(name, inventory, *args):
        tag = "%s-%02d-%s" % (lab.prefix, next(RUNS), name)
        tasklog = os.path.join(lab.workdir, tag + ".tasks.jsonl")
        env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=collections_root, ANSIBLE_NOCOLOR="1",
                   ANSIBLE_FORCE_COLOR="0", ANSIBLE_RETRY_FILES_ENABLED="0", ANSIBLE_LOCALHOST_WARNING="0",
                   ANSIBLE_CALLBACK_PLUGINS=os.path.join(HERE, "callback"),
                   ANSIBLE_CALLBACKS_ENABLED="wabiz_tasklog", WABIZ_TASK_LOG=tasklog,
                   # One host at a time: the lab's Docker engines share this one kernel's iptables chains, and two
                   # engines creating networks at the same moment race on them ("unable to remove jump to
                   # DOCKER-ISOLATION-STAGE-1"), which separate machines never do.
                   ANSIBLE_FORKS="1", **lab.topo.ansible_env())
        env.pop("DOCKER_HOST", None)
        cmd = [tool("ansible-playbook"), "-i", inventory, os.path.join(collection_dir(), "playbooks", name + ".yml")]
        logfile = os.path.join(logdir, tag + ".log")
        t0 = time.monotonic()
        with open(logfile, "w", encoding="utf-8") as fh:
            proc = subprocess.run(cmd + list(args), stdout=fh, stderr=subprocess.STDOUT, text=True, env=env,
                                  cwd=lab.workdir, check=False)
        with open(logfile, encoding="utf-8") as fh:
            output = fh.read()
        print("%s: rc=%s in %.1fs (log %s)" % (tag, proc.returncode, time.monotonic() - t0, logfile))
        assert_no_secrets(output, "output of %s" % name)
        tasks = []
        if os.path.exists(tasklog):
            with open(tasklog, encoding="utf-8") as fh:
                tasks = [json.loads(line) for line in fh if line.strip()]
        return Run(proc.returncode, output, tasks)

    return run


def tail(text, lines=60):
    return "\n".join(text.splitlines()[-lines:])
