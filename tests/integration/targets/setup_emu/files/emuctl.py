# Copyright (c) 2026, wabiz.api_client contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Start and stop process-mode emulators for the integration targets.

    emuctl.py start ROOT NAME [--masters M] [--coreapps C] [--network-url URL] [--api-key K] [--seed JSON] [--secrets-file F]
    emuctl.py stop ROOT
    emuctl.py watchdog ROOT NAME PID   (started by ``start``)

``start`` runs ``python -m wa_emulator all --daemon`` with state in ROOT/NAME, applies the optional seed
(``POST /_emulator/seed``) and prints the emulator's ``emulator.json`` (plus ``seeded``) as JSON.
``stop`` sends SIGTERM to every emulator under ROOT and waits for it to end.
``start`` also leaves a small watchdog that stops the emulator when the ansible-playbook run that started it
is gone (a playbook aborted by a parse error never reaches its ``always`` block).

The emulator package is found in the collection this target belongs to (``tests/emulator``): through
``WABIZ_EMULATOR_DIR``, the ``ANSIBLE_COLLECTIONS_PATH`` entries, or the parents of this file (ansible-test
runs the targets from a copy inside the collection's ``tests/output``).
"""

import argparse
import json
import os
import signal
import ssl
import subprocess
import sys
import time
import urllib.request

PACKAGE = os.path.join("tests", "emulator")
COLLECTION = os.path.join("ansible_collections", "wabiz", "api_client")


def find_emulator():
    candidates = []
    if os.environ.get("WABIZ_EMULATOR_DIR"):
        candidates.append(os.environ["WABIZ_EMULATOR_DIR"])
    for root in (os.environ.get("ANSIBLE_COLLECTIONS_PATH") or os.environ.get("ANSIBLE_COLLECTIONS_PATHS") or "").split(":"):
        if root:
            candidates.append(os.path.join(root, COLLECTION, PACKAGE))
    here = os.path.dirname(os.path.abspath(__file__))
    while here != os.path.dirname(here):
        candidates.append(os.path.join(here, PACKAGE))
        here = os.path.dirname(here)
    for candidate in candidates:
        if os.path.isfile(os.path.join(candidate, "wa_emulator", "__main__.py")):
            return candidate
    raise SystemExit("emuctl: cannot find tests/emulator/wa_emulator (looked in %s)" % ", ".join(candidates))


def admin(info, path, body):
    context = ssl.create_default_context(cafile=info["ca_path"])
    request = urllib.request.Request(info["url"] + path, data=json.dumps(body).encode(), method="POST",
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, context=context, timeout=30) as answer:
        return json.loads(answer.read() or b"null")


def playbook_pid():
    """The pid of the outermost ansible-playbook process above this one (``None`` when there is none)."""
    pid, found = os.getppid(), None
    while pid > 1:
        try:
            with open("/proc/%d/cmdline" % pid, "rb") as handle:
                cmdline = handle.read().split(b"\0")
            with open("/proc/%d/stat" % pid) as handle:
                parent = int(handle.read().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            break
        if any(os.path.basename(part.decode("utf-8", "replace")) == "ansible-playbook" for part in cmdline[:2]):
            found = pid
        pid = parent
    return found


def alive(pid):
    try:
        os.kill(pid, 0)
    except OSError:
        return False
    return True


def watchdog(args):
    """Stop emulator NAME under ROOT when process WATCH ends; exit when the emulator is gone."""
    path = os.path.join(args.root, args.name, "emulator.json")
    while os.path.isfile(path):
        if not alive(args.watch):
            try:
                with open(path) as handle:
                    os.kill(json.load(handle)["pid"], signal.SIGTERM)
            except (OSError, ValueError, KeyError, TypeError):
                pass
            return
        time.sleep(1)


def spawn_watchdog(root, name):
    watch = playbook_pid()
    if watch is None:
        return
    subprocess.Popen([sys.executable, os.path.abspath(__file__), "watchdog", root, name, str(watch)],
                     stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                     start_new_session=True, close_fds=True)


def start(args):
    state_dir = os.path.join(args.root, args.name)
    os.makedirs(state_dir, exist_ok=True)
    cmd = [sys.executable, "-m", "wa_emulator", "all", "--state-dir", state_dir, "--port", "0", "--daemon",
           "--setup-id", args.name, "--masters", str(args.masters), "--coreapps", str(args.coreapps)]
    if args.network_url:
        cmd += ["--network-url", args.network_url]
    secrets = {}
    if args.secrets_file:
        with open(args.secrets_file) as handle:
            secrets = json.load(handle) or {}
    api_key = args.api_key or secrets.get("api_key")
    if api_key:
        cmd += ["--api-key", api_key]
    env = dict(os.environ, PYTHONPATH=find_emulator())
    env.setdefault("WA_EMULATOR_INIT_SECONDS", "1")
    log = open(os.path.join(args.root, args.name + ".log"), "ab")
    subprocess.run(cmd, env=env, check=True, stdout=subprocess.DEVNULL, stderr=log, timeout=60)
    with open(os.path.join(state_dir, "emulator.json")) as handle:
        info = json.load(handle)
    spawn_watchdog(args.root, args.name)
    info["seeded"] = False
    seed = json.loads(args.seed) if args.seed else secrets.get("seed")
    if seed:
        admin(info, "/_emulator/seed", seed)
        info["seeded"] = True
    print(json.dumps(info))


def stop(args):
    """SIGTERM every emulator under ROOT at once, then wait for all (SIGKILL after 15 s)."""
    pids = {}
    if os.path.isdir(args.root):
        for name in sorted(os.listdir(args.root)):
            path = os.path.join(args.root, name, "emulator.json")
            if os.path.isfile(path):
                with open(path) as handle:
                    pid = json.load(handle).get("pid")
                try:
                    os.kill(pid, signal.SIGTERM)
                except (OSError, TypeError):
                    continue
                pids[name] = pid
    deadline = time.time() + 15
    waiting = dict(pids)
    while waiting and time.time() < deadline:
        for name, pid in list(waiting.items()):
            try:
                os.kill(pid, 0)
            except OSError:
                del waiting[name]
        time.sleep(0.05)
    for pid in waiting.values():
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass
    print(json.dumps({"stopped": sorted(pids), "killed": sorted(waiting)}))


def main():
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("start")
    p.add_argument("root")
    p.add_argument("name")
    p.add_argument("--masters", type=int, default=0)
    p.add_argument("--coreapps", type=int, default=1)
    p.add_argument("--network-url")
    p.add_argument("--api-key")
    p.add_argument("--seed")
    p.add_argument("--secrets-file", help='JSON file {"seed": {...}, "api_key": "..."} (kept out of argv)')
    p = sub.add_parser("stop")
    p.add_argument("root")
    p = sub.add_parser("watchdog")
    p.add_argument("root")
    p.add_argument("name")
    p.add_argument("watch", type=int)
    args = parser.parse_args()
    {"start": start, "stop": stop, "watchdog": watchdog}[args.command](args)


if __name__ == "__main__":
    main()
