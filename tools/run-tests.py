#!/usr/bin/env python
# Copyright (c) 2026, wabiz.api_client contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Run every test suite of the project and print a pytest-style summary.

Usage: tools/run-tests.py [FILTER ...]
  FILTER selects suites whose file name contains it (e.g. ``sanity`` or ``40-``); none = all.

Steps: bootstrap the venv (tools/bootstrap.sh), copy the work tree to
``$WABIZ_TEST_ROOT/ansible_collections/wabiz/api_client`` (ansible-test wants a real copy at that
path), then run each ``tests/suites/NN-*.sh``, every one of them even after a failure, with the
environment described in docs/development.md. Exit status 1 when any suite failed.

The suites run in two lanes at once (``WABIZ_TEST_LANES=1``: one lane, in file-name order):

* the **static** lane, suites ``1x`` and ``4x`` (sanity and units on every supported ansible-core, lint,
  packaging, property-based tests, the API integration targets on process-mode emulators, the migration on
  the newest core): CPU work and ansible-test, one after the other (two ansible-test runs must not share the
  collection copy's ``tests/output`` at once);
* the **Docker** lane, every other suite (emulator images, Docker-mode emulator, Docker modules, molecule,
  end-to-end, multi-host): mostly waiting on containers, so it overlaps well with the static lane.

Each suite's output goes to ``$WABIZ_TEST_ROOT/logs/<suite>.log`` and is printed whole when the suite ends,
so the two lanes do not interleave line by line.
"""

import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
IGNORE = shutil.ignore_patterns(".venv", ".venv-core-*", ".git", ".cache", "output", "__pycache__", "*.pyc",
                                ".pytest_cache", ".ansible", "*.tar.gz")


def copy_collection(root):
    dest = os.path.join(root, "ansible_collections", "wabiz", "api_client")
    if os.path.exists(dest):
        shutil.rmtree(dest)
    shutil.copytree(REPO, dest, ignore=IGNORE, symlinks=True)
    return dest


def main(filters):
    started = time.monotonic()
    venv = os.environ.get("WABIZ_VENV") or os.path.join(REPO, ".venv")
    subprocess.check_call([os.path.join(REPO, "tools", "bootstrap.sh"), venv])

    root = os.environ.get("WABIZ_TEST_ROOT") or tempfile.mkdtemp(prefix="wabiz-test-")
    os.makedirs(root, exist_ok=True)
    collection = copy_collection(root)

    env = dict(os.environ)
    env.update(
        WABIZ_REPO=REPO,
        WABIZ_VENV=venv,
        WABIZ_COLLECTION=collection,
        WABIZ_COLLECTIONS_ROOT=root,
        WABIZ_TEST_ROOT=root,
        PATH=os.path.join(venv, "bin") + os.pathsep + env.get("PATH", ""),
        ANSIBLE_LINT_SKIP_SCHEMA_UPDATE="1",
        PYTHONDONTWRITEBYTECODE="1",
    )
    env.pop("VIRTUAL_ENV", None)

    suites_dir = os.path.join(REPO, "tests", "suites")
    suites = sorted(f for f in os.listdir(suites_dir) if f.endswith(".sh"))
    if filters:
        suites = [s for s in suites if any(f in s for f in filters)]
    if not suites:
        print("no suite matches %s" % " ".join(filters))
        return 1

    logs = os.path.join(root, "logs")
    os.makedirs(logs, exist_ok=True)
    lock = threading.Lock()
    results = {}

    def run_suite(suite):
        t0 = time.monotonic()
        log = os.path.join(logs, suite[:-3] + ".log")
        with lock:
            print("-- suite %s: started (log %s)" % (suite, log), flush=True)
        with open(log, "w", encoding="utf-8") as fh:
            rc = subprocess.call(["bash", os.path.join(suites_dir, suite)], cwd=REPO, env=env,
                                 stdout=fh, stderr=subprocess.STDOUT)
        took = time.monotonic() - t0
        results[suite] = (rc, took)
        with lock, open(log, encoding="utf-8", errors="replace") as fh:
            print("\n" + ("=" * 30) + " suite %s " % suite + ("=" * 30), flush=True)
            sys.stdout.write(fh.read())
            print("-- suite %s: %s in %.1fs" % (suite, "PASSED" if rc == 0 else "FAILED (exit %d)" % rc, took),
                  flush=True)

    def run_lane(lane):
        for suite in lane:
            run_suite(suite)

    if os.environ.get("WABIZ_TEST_LANES", "2") == "1":
        lanes = [suites]
    else:
        static = [s for s in suites if s[:1] in ("1", "4")]
        lanes = [lane for lane in (static, [s for s in suites if s not in static]) if lane]
    threads = [threading.Thread(target=run_lane, args=(lane,)) for lane in lanes]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    results = [(suite,) + results[suite] for suite in suites]

    print("\n" + "=" * 25 + " short test summary info " + "=" * 25)
    for suite, rc, took in results:
        print("%s %s (%.1fs)" % ("PASSED" if rc == 0 else "FAILED", suite, took))
    failed = sum(1 for result in results if result[1])
    passed = len(results) - failed
    total = time.monotonic() - started
    words = ", ".join(w for w in ("%d failed" % failed if failed else "", "%d passed" % passed if passed else "") if w)
    print("=" * 20 + " %s in %.1fs (test root %s) " % (words, total, root) + "=" * 20)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
