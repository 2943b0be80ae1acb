#!/usr/bin/env python
# Copyright (c) 2026, wabiz.api_client contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Run every test suite of the project and print a pytest-style summary.

Usage: tools/run-tests.py [FILTER ...]
  FILTER selects suites whose file name contains it (e.g. ``sanity`` or ``40-``); none = all.

Steps: bootstrap the venv (tools/bootstrap.sh), copy the work tree to
``$WABIZ_TEST_ROOT/ansible_collections/wabiz/api_client`` (ansible-test wants a real copy at that
path), then run each ``tests/suites/NN-*.sh`` in order, every one of them even after a failure, with the
environment described in docs/development.md. Exit status 1 when any suite failed.
"""

import os
import shutil
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
IGNORE = shutil.ignore_patterns(".venv", ".git", ".cache", "output", "__pycache__", "*.pyc",
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

    results = []
    for suite in suites:
        print("\n" + ("=" * 30) + " suite %s " % suite + ("=" * 30), flush=True)
        t0 = time.monotonic()
        rc = subprocess.call(["bash", os.path.join(suites_dir, suite)], cwd=REPO, env=env)
        results.append((suite, rc, time.monotonic() - t0))
        print("-- suite %s: %s in %.1fs" % (suite, "PASSED" if rc == 0 else "FAILED (exit %d)" % rc,
                                            results[-1][2]), flush=True)

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
