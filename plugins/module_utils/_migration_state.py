# Copyright (c) 2026, wabiz.api_client contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The migration's state record and lock, on the backup host.

PRIVATE to this collection. Used by the ``migration_state`` module only; the playbooks call that module
and never write the record themselves.

* ``STEPS`` is the ONE list of the migration guide's steps (1-9; step 10 is the decommission).
* The record ``<state_dir>/<migration>.json`` (mode 0600, directory 0700, no secret in it): status, the
  start/finish time and duration of each step, the verified backup, the old setup as it was before
  step 5, the downtime. Every change is one atomic write (temporary file, fsync, rename, fsync of the
  directory) through ``_backup.write_atomic``.
* The lock ``<state_dir>/<migration>.lock``: made with ``O_CREAT | O_EXCL`` (atomic on POSIX file
  systems), holding the holder's description, run id, controller host and process id, and start time.
"""

from __future__ import annotations

import copy
import datetime
import hashlib
import json
import os
import re
import socket
import time

from ansible_collections.wabiz.api_client.plugins.module_utils import _backup
from ansible_collections.wabiz.api_client.plugins.module_utils._validate import mask_value

FORMAT = 1
STEPS = (
    ("step1_install", "install the new setup"),
    ("step2_login", "log in to the new setup"),
    ("step3_cleanup", "clean-up (two-step off, webhooks reset)"),
    ("step4_backup", "back up, store, verify"),
    ("step5_uninstall", "uninstall the old client"),
    ("step6_restore", "restore on the new setup"),
    ("step7_health", "health + test message"),
    ("step8_two_step", "two-step on again"),
    ("step9_webhooks", "webhooks"),
)
STEP_NAMES = tuple(name for name, _label in STEPS)
# The step whose start begins the downtime (the old client's containers are removed).
DOWNTIME_STEP = "step5_uninstall"
STATUSES = ("new", "in_progress", "rolling_back", "rolled_back", "migrated", "decommissioned")
NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")


class StateError(Exception):
    """A refusal or a broken record/lock, with a message for the user."""


def iso(ts):
    return datetime.datetime.fromtimestamp(float(ts), datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def paths(state_dir, migration):
    if not NAME_RE.match(migration or ""):
        raise StateError("migration name %r is not valid: use letters, digits, '.', '_' and '-' "
                         "(wabiz_migration_name)" % (migration,))
    base = os.path.join(state_dir, migration)
    return base + ".json", base + ".lock"


def new_record(migration, now):
    return {"migration": migration, "format": FORMAT, "status": "new", "created": round(now, 3),
            "created_at": iso(now), "steps": {}}


def load(path, migration, now):
    """The record at ``path``, or a new one (not written) when there is none."""
    try:
        with open(path, "rb") as handle:
            text = handle.read()
    except FileNotFoundError:
        return new_record(migration, now), False
    except OSError as exc:
        raise StateError("cannot read the state record %s: %s" % (path, exc.strerror or exc))
    try:
        record = json.loads(text.decode("utf-8"))
    except ValueError as exc:
        raise StateError("the state record %s is not valid JSON (%s): look at it before going on; "
                         "nothing was changed" % (path, exc))
    if not isinstance(record, dict) or not isinstance(record.get("steps", {}), dict):
        raise StateError("the state record %s is not a migration record; nothing was changed" % path)
    record.setdefault("steps", {})
    return record, True


def merge(base, update):
    """Recursive merge of dicts (``update`` wins); lists and scalars are replaced."""
    out = copy.deepcopy(base)
    for key, value in (update or {}).items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def begin_run(record, run_id, started):
    """Note this run in the record (id, start, time of its last mark) before its first mark."""
    run = record.get("run") or {}
    if run.get("id") != run_id:
        record["run"] = {"id": run_id, "started": round(started, 3), "last": round(started, 3)}
    return record["run"]


def mark(record, step, event, at, run_id=None):
    """Record that ``step`` started or finished at ``at`` (epoch seconds). A finish records the duration.

    A step that finishes without a start in this run started when this run's previous mark was made
    (or when the run took the lock): one write per step is enough for its timing.
    """
    if step not in STEP_NAMES:
        raise StateError("unknown step %r; the steps are %s" % (step, ", ".join(STEP_NAMES)))
    steps = record.setdefault("steps", {})
    prev = steps.get(step, {})
    run = record.get("run") or {}
    if event == "started":
        entry = {"started": round(at, 3), "started_at": iso(at), "runs": int(prev.get("runs", 0)) + 1}
        if run_id:
            entry["run"] = run_id
        steps[step] = entry
        if step == DOWNTIME_STEP and not (record.get("downtime") or {}).get("started"):
            record["downtime"] = {"started": round(at, 3), "started_at": iso(at)}
    elif event == "finished":
        entry = dict(prev)
        if "started" not in prev or (run_id and prev.get("run") != run_id):
            started = float(run.get("last", at)) if run.get("id") == run_id and run_id else at
            entry.update({"started": round(started, 3), "started_at": iso(started),
                          "runs": int(prev.get("runs", 0)) + 1})
            if run_id:
                entry["run"] = run_id
        started = float(entry["started"])
        entry.update({"finished": round(at, 3), "finished_at": iso(at), "seconds": round(at - started, 3)})
        steps[step] = entry
    else:
        raise StateError("a mark is 'started' or 'finished', not %r" % (event,))
    if record.get("status") == "new":
        record["status"] = "in_progress"
    if run.get("id") == run_id and run_id:
        run["last"] = round(max(float(run.get("last", at)), at), 3)


def start_downtime(record, at, run_id):
    """The downtime starts when the old client's first container was told to stop (``at``), a moment after
    step 5's start mark: moved there when step 5 started in this run, kept from an earlier attempt else."""
    down = record.get("downtime") or {}
    step5 = (record.get("steps") or {}).get(DOWNTIME_STEP, {})
    if (not down.get("started") or not run_id or step5.get("run") != run_id
            or float(step5.get("started", -1)) != float(down["started"]) or at < float(down["started"])):
        return
    down.update({"started": round(at, 3), "started_at": iso(at)})


def end_downtime(record, at):
    down = record.setdefault("downtime", {})
    if not down.get("started"):
        raise StateError("the downtime cannot end: step 5 never started in this record")
    down.update({"ended": round(at, 3), "ended_at": iso(at), "seconds": round(at - float(down["started"]), 3)})


def view(record):
    """What the playbooks read: done, started, todo (in the guide's order), timings, downtime."""
    steps = record.get("steps") or {}
    done = [s for s in STEP_NAMES if "finished" in steps.get(s, {})]
    started = [s for s in STEP_NAMES if "started" in steps.get(s, {})]
    return {
        "steps": list(STEP_NAMES),
        "done": done,
        "started": started,
        "todo": [s for s in STEP_NAMES if s not in done],
        "old_gone": DOWNTIME_STEP in started,
        "timings": {s: steps[s]["seconds"] for s in STEP_NAMES if "seconds" in steps.get(s, {})},
        "downtime_seconds": (record.get("downtime") or {}).get("seconds"),
        "status": record.get("status"),
    }


def masked(value):
    """``value`` with credentials inside strings (URL userinfo, ``password=`` pairs) masked: the record is
    written to disk and read by reports, so a webhook URL or DSN with credentials never reaches it."""
    if isinstance(value, dict):
        return dict((k, masked(v)) for k, v in value.items())
    if isinstance(value, list):
        return [masked(v) for v in value]
    return mask_value(value)


def write(path, record):
    # The order and labels of the steps travel with the record, for reports that read only the file.
    record["plan"] = [{"step": name, "label": label} for name, label in STEPS]
    _backup.write_atomic(path, (json.dumps(masked(record), indent=2, sort_keys=True) + "\n").encode("utf-8"),
                         0o600)


def ensure_dir(directory):
    """Create the state directory (mode 0700) when missing; returns True when created."""
    if os.path.isdir(directory):
        return False
    os.makedirs(directory, mode=0o700)
    os.chmod(directory, 0o700)
    return True


def verified_backup(record):
    """Refuse unless the record holds a backup whose file on this (backup) host matches its SHA-256 now."""
    backup = record.get("backup") or {}
    path, digest = backup.get("path"), backup.get("sha256")
    if not (path and digest and backup.get("verified")):
        raise StateError("no verified backup is recorded in the state record: step 4 (back up, store on the "
                         "backup host, read the checksum back) must finish first. Nothing was changed.")
    try:
        with open(path, "rb") as handle:
            actual = hashlib.sha256(handle.read()).hexdigest()
    except OSError as exc:
        raise StateError("the recorded backup %s cannot be read on the backup host (%s). Nothing was changed."
                         % (path, exc.strerror or exc))
    if actual != digest:
        raise StateError("the backup %s on the backup host has sha256 %s, the record says %s: it was changed "
                         "or damaged. Nothing was changed." % (path, actual, digest))
    return backup


# --- the lock -------------------------------------------------------------------------------------

def read_lock(path):
    try:
        with open(path, "rb") as handle:
            text = handle.read().decode("utf-8", "replace")
    except FileNotFoundError:
        return None
    try:
        lock = json.loads(text)
        if isinstance(lock, dict):
            return lock
    except ValueError:
        pass
    return {"holder": "unknown (unreadable lock file)", "raw": text[:200]}


def process_alive(pid):
    """True when the process runs on this host and is an Ansible process."""
    try:
        with open("/proc/%d/cmdline" % int(pid), "rb") as handle:
            cmdline = handle.read().decode("utf-8", "replace")
    except (OSError, ValueError, TypeError):
        return False
    return "ansible" in cmdline


def is_stale(lock, hostname=None, alive=process_alive):
    """A lock is known stale only when its holder ran on this very host and that process is gone."""
    host = hostname or socket.gethostname()
    return bool(lock.get("host")) and lock.get("host") == host and lock.get("pid") and not alive(lock["pid"])


def describe(lock, path):
    return "%s (run %s, host %s, pid %s) since %s" % (
        lock.get("holder", "?"), lock.get("run_id", "?"), lock.get("host", "?"), lock.get("pid", "?"),
        lock.get("started_at", "?"))


def acquire(path, me, now, break_lock=False, check=False, alive=process_alive, hostname=None):
    """Take the lock for ``me`` (dict: holder, run_id, host, pid). Returns ``(lock, changed, note)``.

    Held by the same run id: kept. Held by another run: refused, unless its holder is known dead
    (same host, process gone) or ``break_lock``; then taken over, and ``note`` says from whom.
    """
    current = read_lock(path)
    note = None
    if current is not None:
        if current.get("run_id") and current.get("run_id") == me.get("run_id"):
            return current, False, None
        if break_lock or is_stale(current, hostname, alive):
            why = "wabiz_lock_break=true" if break_lock else "its process is gone"
            note = "took over the lock of %s (%s)" % (describe(current, path), why)
            if not check:
                try:
                    os.unlink(path)
                except FileNotFoundError:
                    pass
        else:
            raise StateError(
                "migration is locked by %s (lock file %s). Another run of a playbook of this migration is "
                "active: wait for it. If you are sure that no run is active (a crashed or killed run), clear "
                "the stale lock deliberately with -e wabiz_lock_break=true. Nothing was changed."
                % (describe(current, path), path))
    lock = dict(me, started=round(now, 3), started_at=iso(now))
    if check:
        return lock, True, note
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        other = read_lock(path) or {}
        raise StateError("migration is locked by %s (lock file %s), taken a moment ago: another run started "
                         "at the same time. Nothing was changed." % (describe(other, path), path))
    with os.fdopen(fd, "wb") as handle:
        handle.write((json.dumps(lock, sort_keys=True) + "\n").encode("utf-8"))
        handle.flush()
        os.fsync(handle.fileno())
    return lock, True, note


def holds(path, run_id):
    """Refuse a change by a run that does not hold the lock (it was broken and taken by another run)."""
    current = read_lock(path)
    if current is None or current.get("run_id") != run_id:
        raise StateError("this run (%s) does not hold the migration's lock %s (%s): another run took it. "
                         "Stopped before changing anything more." % (
                             run_id, path, describe(current, path) if current else "no lock"))


def release(path, run_id, check=False):
    """Remove the lock when this run holds it. Returns True when removed."""
    current = read_lock(path)
    if current is None:
        return False
    if current.get("run_id") != run_id:
        raise StateError("the lock %s is held by %s, not by this run (%s): not released." % (
            path, describe(current, path), run_id))
    if not check:
        os.unlink(path)
    return True


def now():
    return time.time()
