# Copyright (c) 2026, wabiz.api_client contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Fixtures of the end-to-end tests: real ansible-playbook / ansible-runner runs of the collection's
playbooks against the emulator on this machine's Docker engine (tests/suites/70-e2e.sh)."""

import itertools
import json
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import threading
import time

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import lab as labmod  # noqa: E402
import dockerctl  # noqa: E402

REPO = labmod.REPO
# Every secret the lab uses: none may ever appear in a playbook's output or in the state record.
COUNTER = itertools.count(1)
SECRETS = [labmod.OLD_ADMIN_PASSWORD, labmod.NEW_ADMIN_PASSWORD, labmod.BACKUP_PASSWORD, labmod.DB_PASSWORD]


def collection_dir():
    return os.environ.get("WABIZ_COLLECTION") or REPO


@pytest.fixture(scope="session")
def collections_root():
    """A directory holding ansible_collections/wabiz/api_client (the suite's copy, or a link to the work tree)."""
    with dockerctl.collections_root(REPO, prefix="wabiz-e2e-colls-") as root:
        yield root


def tool(name):
    """An Ansible command from the venv running the tests (or PATH)."""
    cand = os.path.join(os.path.dirname(sys.executable), name)
    return cand if os.path.exists(cand) else shutil.which(name) or name


class Runner:
    def __init__(self, collections_root, logdir):
        self.collections_root = collections_root
        self.logdir = logdir
        self.count = 0
        self.lock = threading.Lock()

    def env(self, extra=None):
        env = dict(os.environ)
        env.update({
            "ANSIBLE_COLLECTIONS_PATH": self.collections_root,
            "ANSIBLE_FORCE_COLOR": "0",
            "ANSIBLE_NOCOLOR": "1",
            "ANSIBLE_RETRY_FILES_ENABLED": "0",
            "ANSIBLE_LOCALHOST_WARNING": "0",
            "ANSIBLE_INVENTORY_UNPARSED_WARNING": "0",
        })
        env.update(extra or {})
        return env

    def command(self, name, lab, extra=None, tags=None, inventory=None, options=None):
        """(command line, log file) to run playbooks/<name>.yml with the local inventory and the lab's extra vars
        (``options``: more command-line options, e.g. ``["--check", "--diff"]``)."""
        with self.lock:
            self.count += 1
            count = self.count
        coll = collection_dir()
        extra_vars = dict(lab.extra_vars())
        extra_vars.update(extra or {})
        varfile = os.path.join(lab.workdir, "extra-vars-%d.json" % count)
        with open(varfile, "w", encoding="utf-8") as fh:
            json.dump(extra_vars, fh)
        cmd = [tool("ansible-playbook"), "-i", inventory or os.path.join(coll, "inventories", "local"),
               os.path.join(coll, "playbooks", name + ".yml"), "-e", "@" + varfile]
        if tags:
            cmd += ["--tags", ",".join(tags)]
        cmd += list(options or [])
        return cmd, os.path.join(self.logdir, "%s-%02d-%s.log" % (lab.prefix, count, name))

    def start(self, name, lab, extra=None, tags=None):
        """Start playbooks/<name>.yml in its own process group (to interrupt it); returns (Popen, logfile)."""
        cmd, logfile = self.command(name, lab, extra, tags)
        with open(logfile, "w", encoding="utf-8") as fh:
            proc = subprocess.Popen(cmd, stdout=fh, stderr=subprocess.STDOUT, text=True, env=self.env(),
                                    cwd=lab.workdir, start_new_session=True)
        return proc, logfile

    def playbook(self, name, lab, extra=None, tags=None, inventory=None, env=None, check=None, options=None):
        """Run playbooks/<name>.yml with the local inventory and the lab's extra vars; returns (rc, output)."""
        cmd, logfile = self.command(name, lab, extra, tags, inventory, options)
        t0 = time.monotonic()
        with open(logfile, "w", encoding="utf-8") as fh:  # streamed, to follow a long run
            proc = subprocess.run(cmd, stdout=fh, stderr=subprocess.STDOUT, text=True,
                                  env=self.env(env), cwd=lab.workdir, check=False)
        with open(logfile, encoding="utf-8") as fh:
            output = fh.read()
        seconds = time.monotonic() - t0
        tag_text = (" --tags " + ",".join(tags) if tags else "") + "".join(" " + o for o in options or [])
        print("%s %s%s: rc=%s in %.1fs (log %s)" % (lab.prefix, name, tag_text, proc.returncode, seconds, logfile))
        assert_no_secrets(output, "output of %s" % name)
        if check is True:
            assert proc.returncode == 0, tail(output)
        elif check is False:
            assert proc.returncode != 0, tail(output)
        return proc.returncode, output


def tail(text, lines=60):
    return "\n".join(text.splitlines()[-lines:])


def assert_no_secrets(text, where):
    for secret in SECRETS:
        assert secret not in text, "a secret leaked into the %s" % where


@pytest.fixture(scope="session")
def runner(collections_root, tmp_path_factory):
    logdir = os.environ.get("WABIZ_E2E_LOGDIR") or str(tmp_path_factory.mktemp("logs"))
    os.makedirs(logdir, exist_ok=True)
    return Runner(collections_root, logdir)


@pytest.fixture(scope="session")
def run_id():
    return secrets.token_hex(3)


@pytest.fixture
def make_lab(run_id, request):
    """Make labs with unique names (wabiz-e2e-<run>-<n>); every one is removed after the test."""
    labs = []

    def factory(layout="multiconnect", prove_old_webhook=False, **kw):
        prefix = "wabiz-e2e-%s-%d" % (run_id, next(COUNTER))
        lab = labmod.Lab(prefix, layout, workdir=os.path.join(tempfile.gettempdir(), prefix), **kw)
        labs.append(lab)
        lab.up(prove_old_webhook=prove_old_webhook)
        return lab

    yield factory
    for lab in labs:
        try:
            lab.down()
        except Exception as exc:  # noqa: BLE001 - clean-up must go on
            print("clean-up of %s failed: %s" % (lab.prefix, exc))
        shutil.rmtree(lab.workdir, ignore_errors=True)


def state_record(lab):
    with open(os.path.join(lab.state_dir, lab.prefix + ".json"), encoding="utf-8") as fh:
        text = fh.read()
    assert_no_secrets(text, "state record")
    return json.loads(text)
