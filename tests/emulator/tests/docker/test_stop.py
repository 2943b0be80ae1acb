# Copyright (c) 2026, wabiz.api_client contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A client container (Webapp, CoreApp) ends within seconds of ``docker stop``, at the bad moments too.

A real client process stops when told to. Two moments used to keep an emulator container alive until
Docker's kill:

- the database does not answer (here: ``docker pause``): the CoreApp waited up to 10 s for its node
  thread, blocked in a query, before exiting;
- SIGTERM handled while the main thread was inside ``threading.Event.wait`` holding that Event's lock:
  the handler called ``Event.set()``, which waits for that same lock for ever (seen once in a migration:
  the old Webapp outlived ``docker stop -t 30``). The window is microseconds wide, so the test makes the
  moment happen: a ``sitecustomize.py`` copied into the container raises SIGTERM from inside the main
  thread's next ``Event.wait`` once the test creates an arming file. Everything else is the real image.
"""
import json
import os
import tempfile
import time

from conftest import docker

import dockerctl

STOP_LIMIT = 5.0  # seconds; docker stop -t 30 below, so a stuck process shows as ~30 s
ARM = "/tmp/wabiz-sigterm-inside-event-wait"
INJECTION = '''\
# Test fault injection (tests/emulator/tests/docker/test_stop.py), not part of the image.
import os, signal, sys, threading

_original_wait = threading.Event.wait


def _checkpoint():
    return None


def _wait(self, timeout=None):
    if threading.current_thread() is threading.main_thread() and os.path.exists(%(arm)r):
        os.unlink(%(arm)r)
        sys.stderr.write("sitecustomize: SIGTERM while the main thread holds an Event's lock\\n")
        with self._cond:
            signal.raise_signal(signal.SIGTERM)
            _checkpoint()
    return _original_wait(self, timeout)


threading.Event.wait = _wait
sys.stderr.write("sitecustomize: Event.wait injection loaded\\n")
''' % {"arm": ARM}


def container_log(container):
    """stdout and stderr of the container (the emulator logs to stderr)."""
    r = dockerctl.run(["docker", "logs", container], check=False)
    return r.stdout + r.stderr


def armed(container):
    return dockerctl.run(["docker", "exec", container, "test", "-e", ARM], check=False).returncode == 0


def wait_for(predicate, what, timeout=120):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.5)
    raise AssertionError("timed out waiting for " + what)


def timed_stop(container):
    t0 = time.monotonic()
    docker("stop", "-t", "30", container)
    elapsed = time.monotonic() - t0
    state = json.loads(docker("inspect", "--format", "{{json .State}}", container))
    return elapsed, state["ExitCode"]


def test_client_containers_stop_promptly_at_bad_moments(stacks):
    stack = stacks("stop", layout="single")
    stack.wait_web()
    web, core, db = stack.container("waweb"), stack.container("wacore"), stack.container("db")
    wait_for(lambda: "started (setup" in container_log(core), "the CoreApp to start")
    results = {}

    # 1. The database stops answering: the CoreApp's tick blocks in a query.
    docker("pause", db)
    try:
        time.sleep(2)  # a few ticks (0.5 s): the node thread is now inside a query
        for name, container in (("wacore, database paused", core), ("waweb, database paused", web)):
            results[name] = timed_stop(container)
    finally:
        docker("unpause", db)

    # 2. SIGTERM handled while the main thread holds an Event's lock (injected; see the module text).
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "sitecustomize.py")
        with open(path, "w", encoding="utf-8") as fh:
            fh.write(INJECTION)
        for container in (web, core):
            # PYTHONPATH of the image is /opt/whatsapp/emulator: Python imports it at start.
            docker("cp", path, "%s:/opt/whatsapp/emulator/sitecustomize.py" % container)
    for name, container, ready in (("waweb, SIGTERM inside Event.wait", web, "listening on"),
                                   ("wacore, SIGTERM inside Event.wait", core, "started (setup")):
        docker("start", container)
        wait_for(lambda c=container, r=ready: container_log(c).count(r) >= 2
                 and "injection loaded" in container_log(c), "%s to start again" % container)
        docker("exec", container, "touch", ARM)
        # The injection fires at the main thread's next Event.wait (the old main loop: within 0.5 s).
        deadline = time.monotonic() + 3
        while time.monotonic() < deadline and armed(container):
            time.sleep(0.2)
        results[name] = timed_stop(container)

    print("stop timings (seconds, exit code):", results)
    slow = {name: r for name, r in results.items() if r[0] > STOP_LIMIT or r[1] != 0}
    assert not slow, "containers that did not stop cleanly within %.0fs of SIGTERM (seconds, exit code): %s\n%s" % (
        STOP_LIMIT, slow, "\n".join("--- %s\n%s" % (c, container_log(c)[-2500:]) for c in (web, core)))
