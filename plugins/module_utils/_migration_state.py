# Copyright (c) 2026, wabiz.api_client contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The migration's state record and lock, on the backup host.

PRIVATE to this collection. Used by the ``migration_state`` module only; the playbooks call that module
and never write the record themselves.

* ``STEPS`` is the ONE list of the migration guide's steps (1-9; step 10 is the decommission).
* ``SCHEMA`` is the ONE description of the record ``<state_dir>/<migration>.json``: every field, its type
  and range. A record is checked against it when loaded and before every write (a damaged or hand-edited
  record is refused naming the field), and the module's ``update`` is checked against it before anything
  changes. Every write is atomic (temporary file, fsync, rename, fsync of the directory).
* Trust: the state directory, the record, the lock and the recorded backup file must belong to the user
  running the module and be writable by nobody else, and so must every directory above them (a
  world-writable one only with the sticky bit, like ``/tmp``). Files are opened without following links.
* The lock ``<state_dir>/<migration>.lock`` is made with ``O_CREAT | O_EXCL``; taking it over, releasing
  it and the write of a run that holds it happen under an exclusive ``flock`` of the state directory, so
  two runs can never both take a stale lock.
"""

from __future__ import annotations

import contextlib
import copy
import datetime
import fcntl
import hashlib
import json
import math
import os
import re
import socket
import stat
import time

from ansible_collections.wabiz.api_client.plugins.module_utils import _backup
from ansible_collections.wabiz.api_client.plugins.module_utils._validate import (
    mask_secrets, number_range, one_of, single_line)

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
NAME_RE = re.compile(r"\A[A-Za-z0-9][A-Za-z0-9._-]{0,127}\Z")
#: A time is seconds since the epoch, up to 2100-01-01: 1e20, NaN and infinity are refused.
TIME = number_range(0, 4102444800)
SECONDS = number_range(-4102444800, 4102444800)
LINE = single_line()


def _integer(low, high):
    def rule(value):
        ok = isinstance(value, int) and not isinstance(value, bool) and low <= value <= high
        return None if ok else "an integer from %d to %d" % (low, high)
    return rule


PID = _integer(1, 4194304)
COUNT = _integer(0, 10 ** 9)


class StateError(Exception):
    """A refusal or a broken record/lock, with a message for the user."""


# --- the schema -----------------------------------------------------------------------------------

def _is(types, what):
    """A value of one of ``types`` (a boolean only when ``bool`` is one of them)."""
    return lambda v: None if isinstance(v, types) and (bool in types or not isinstance(v, bool)) else what


def _name(value):
    ok = isinstance(value, str) and NAME_RE.match(value)
    return None if ok else "letters, digits, '.', '_' and '-' (wabiz_migration_name)"


_TEXT, _BOOL, _ID = _is((str,), "text"), _is((bool,), "true or false"), _is((str, int), "text or a number")


def _json(value, depth=0):
    """JSON data (what the playbooks pass through: health summaries, backup metadata), at most 32 deep."""
    if depth > 32:
        return "JSON data at most 32 levels deep"
    if isinstance(value, dict) and not all(isinstance(k, str) for k in value):
        return "JSON data (keys are text)"
    if isinstance(value, (dict, list)):
        for item in value.values() if isinstance(value, dict) else value:
            found = _json(item, depth + 1)
            if found:
                return found
        return None
    if isinstance(value, float) and not math.isfinite(value):
        return "JSON data with finite numbers"
    return None if value is None or isinstance(value, (str, int, float, bool)) else "JSON data"


STEP = dict(started=TIME, started_at=LINE, finished=TIME, finished_at=LINE, seconds=SECONDS, runs=COUNT, run=LINE)
#: Every field of the record. The module keeps the ones in OWNED (through marks, status and downtime_*);
#: the playbooks write the others through ``update``.
SCHEMA = dict(
    migration=_name,
    format=one_of(FORMAT), status=one_of(*STATUSES), created=TIME, created_at=LINE, migrated=TIME,
    migrated_at=LINE, steps=dict((name, STEP) for name in STEP_NAMES), plan=_json,
    run=dict(id=LINE, started=TIME, last=TIME),
    downtime=dict(started=TIME, started_at=LINE, ended=TIME, ended_at=LINE, seconds=SECONDS),
    cleanup=dict(two_step_disabled=_BOOL, webhooks_reset=_BOOL, old_webhook_url_file=LINE),
    backup=dict(host=LINE, path=LINE, sha256=LINE, size=COUNT, verified=_BOOL, taken_at=LINE, metadata=_json),
    old_setup=dict(stack=LINE, wa_id=_ID, hosts=_json, counts=dict(
        masters=COUNT, coreapps=COUNT, webapps=COUNT, shards=COUNT, version=LINE, wa_id=_ID, hosts=COUNT)),
    test_message=dict(id=_ID, to=_ID), new_health=_json, old_db_kept=_json,
    failed=dict(step=one_of(*STEP_NAMES), at=LINE, msg=_TEXT),
    rollback=dict(started=TIME, started_at=LINE, runs=COUNT, finished=TIME, finished_at=LINE, old_health=_json),
    decommissioned_at=LINE, decommission=dict(volumes_removed=_BOOL),
)
OWNED = ("migration", "format", "status", "created", "created_at", "migrated", "migrated_at", "steps", "plan",
         "run", "downtime")
UPDATE = dict((k, v) for k, v in SCHEMA.items() if k not in OWNED)
LOCK = dict(holder=LINE, run_id=LINE, host=_is((str, type(None)), "text"), pid=_is((int, type(None)), "a number"),
            started=TIME, started_at=LINE)


def _shown(value):
    if isinstance(value, (dict, list)):
        return "a %s" % type(value).__name__
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def problem(value, spec, where):
    """The first broken rule of ``value`` against ``spec`` (a dict of fields or a rule), naming the field."""
    if isinstance(spec, dict):
        if not isinstance(value, dict):
            return "%s must be a dictionary (got %s)" % (where, _shown(value))
        for key, item in value.items():
            name = "%s.%s" % (where, key) if where else str(key)
            if key not in spec:
                return "%s is not a field it may hold (those are: %s)" % (name, ", ".join(sorted(spec)))
            found = problem(item, spec[key], name)
            if found:
                return found
        return None
    what = spec(value)
    return "%s must be %s (got %s)" % (where, what, _shown(value)) if what else None


# --- trust: owner and mode of the directories and files -------------------------------------------

def _refuse(what, path, st, fix):
    raise StateError("%s %s is refused: it has owner uid %d and mode %04o (%s), and must belong to uid %d (the "
                     "user running this module) and be writable by nobody else. Fix: %s. Nothing was changed." % (
                         what, path, st.st_uid, stat.S_IMODE(st.st_mode), stat.filemode(st.st_mode), os.geteuid(),
                         fix))


def trusted_dir(directory, create=False):
    """Refuse ``directory`` unless it and every directory above it (as given and with links resolved)
    belong to this user or root and are writable by nobody else - a world-writable one only with the
    sticky bit (others cannot then rename what is ours in it); the directory itself must be ours. Missing
    directories are created with mode 0700 when ``create``; returns True when it was created."""
    uid = os.geteuid()
    for path in (os.path.abspath(directory), os.path.realpath(directory)):
        current = path
        while True:
            try:
                st = os.lstat(current)
            except FileNotFoundError:
                st = None
            if st is None or stat.S_ISLNK(st.st_mode):
                if st is not None and st.st_uid not in (0, uid):
                    _refuse("the link", current, st, "remove it or point wabiz_state_dir past it")
            elif current == path:
                if st.st_uid != uid or st.st_mode & 0o022 or not stat.S_ISDIR(st.st_mode):
                    _refuse("the state directory (wabiz_state_dir)", current, st,
                            "a directory of its own: chown %d %s && chmod 0700 %s, or another wabiz_state_dir" % (uid, current, current))
            elif st.st_uid not in (0, uid) or st.st_mode & 0o022 and not st.st_mode & stat.S_ISVTX:
                _refuse("the directory above the state directory (wabiz_state_dir)", current, st,
                        "chmod go-w %s (or chmod +t for a shared directory like /tmp), or choose another "
                        "wabiz_state_dir" % current)
            if current == os.path.dirname(current):
                break
            current = os.path.dirname(current)
    if not create or os.path.isdir(directory):
        return False
    umask = os.umask(0o077)  # every directory made here is 0700
    try:
        os.makedirs(directory)
    finally:
        os.umask(umask)
    return True


def open_trusted(path, flags=os.O_RDONLY, what="the file"):
    """A file descriptor of ``path``, opened without following a link, refused unless it is a regular file of
    this user writable by nobody else. FileNotFoundError passes through."""
    try:
        fd = os.open(path, flags | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0), 0o600)
    except OSError as exc:
        if isinstance(exc, FileNotFoundError):
            raise
        raise StateError("%s %s cannot be opened (%s; a link is refused). Nothing was changed." % (
            what, path, exc.strerror or exc))
    st = os.fstat(fd)
    if st.st_uid != os.geteuid() or st.st_mode & 0o022 or not stat.S_ISREG(st.st_mode):
        os.close(fd)
        _refuse(what, path, st, "check who wrote it; chown %d %s && chmod 0600 %s if it is yours" % (
            os.geteuid(), path, path))
    return fd


def read_trusted(path, what, limit=64 * 1024 * 1024):
    with os.fdopen(open_trusted(path, what=what), "rb") as handle:
        return handle.read(limit)


@contextlib.contextmanager
def exclusive(directory):
    """Hold an exclusive ``flock`` of ``directory``: lock changes and writes of a run are one at a time."""
    fd = os.open(directory, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


# --- the record -----------------------------------------------------------------------------------

def iso(ts):
    return datetime.datetime.fromtimestamp(float(ts), datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def paths(state_dir, migration):
    """The record and the lock of ``migration`` (a name checked by the module: it cannot leave the directory)."""
    base = os.path.join(state_dir, migration)
    return base + ".json", base + ".lock"


def new_record(migration, now):
    return {"migration": migration, "format": FORMAT, "status": "new", "created": round(now, 3),
            "created_at": iso(now), "steps": {}}


def load(path, migration, now):
    """The record at ``path``, or a new one (not written) when there is none; a broken record is refused."""
    try:
        text = read_trusted(path, "the state record")
    except FileNotFoundError:
        return new_record(migration, now), False
    except OSError as exc:
        raise StateError("cannot read the state record %s: %s" % (path, exc.strerror or exc))
    try:
        record = json.loads(text.decode("utf-8"))
    except (ValueError, RecursionError) as exc:
        raise StateError("the state record %s is not valid JSON (%s): look at it before going on; "
                         "nothing was changed" % (path, exc))
    found = problem(record, SCHEMA, "")
    if not found and (record.get("migration") != migration or "status" not in record or "steps" not in record):
        found = "it lacks the fields migration (%s), status or steps" % migration
    if found:
        raise StateError("the state record %s is damaged or was edited by hand: %s. Put the field right (or the "
                         "record back from a copy); nothing was changed." % (path, found))
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
        entry = {"started": round(at, 3), "started_at": iso(at), "runs": prev.get("runs", 0) + 1}
        if run_id:
            entry["run"] = run_id
        steps[step] = entry
        if step == DOWNTIME_STEP and not (record.get("downtime") or {}).get("started"):
            record["downtime"] = {"started": round(at, 3), "started_at": iso(at)}
    elif event == "finished":
        entry = dict(prev)
        if "started" not in prev or (run_id and prev.get("run") != run_id):
            started = run.get("last", at) if run.get("id") == run_id and run_id else at
            entry.update({"started": round(started, 3), "started_at": iso(started), "runs": prev.get("runs", 0) + 1})
            if run_id:
                entry["run"] = run_id
        entry.update({"finished": round(at, 3), "finished_at": iso(at), "seconds": round(at - entry["started"], 3)})
        steps[step] = entry
    else:
        raise StateError("a mark is 'started' or 'finished', not %r" % (event,))
    if record.get("status") == "new":
        record["status"] = "in_progress"
    if run.get("id") == run_id and run_id:
        run["last"] = round(max(run.get("last", at), at), 3)


def start_downtime(record, at, run_id):
    """The downtime starts when the old client's first container was told to stop (``at``), a moment after
    step 5's start mark: moved there when step 5 started in this run, kept from an earlier attempt else."""
    down = record.get("downtime") or {}
    step5 = (record.get("steps") or {}).get(DOWNTIME_STEP, {})
    if (not down.get("started") or not run_id or step5.get("run") != run_id
            or step5.get("started", -1) != down["started"] or at < down["started"]):
        return
    down.update({"started": round(at, 3), "started_at": iso(at)})


def end_downtime(record, at):
    down = record.setdefault("downtime", {})
    if not down.get("started"):
        raise StateError("the downtime cannot end: step 5 never started in this record")
    down.update({"ended": round(at, 3), "ended_at": iso(at), "seconds": round(at - down["started"], 3)})


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


def write(path, record):
    """Check ``record`` against the schema, then write it at once (credentials inside strings masked: the
    record is read by reports, so a webhook URL or DSN with credentials never reaches it)."""
    # The order and labels of the steps travel with the record, for reports that read only the file.
    record["plan"] = [{"step": name, "label": label} for name, label in STEPS]
    found = problem(record, SCHEMA, "")
    if found:
        raise StateError("the state record %s was not written: %s. Nothing was changed." % (path, found))
    _backup.write_atomic(path, (json.dumps(mask_secrets(record), indent=2, sort_keys=True) + "\n").encode("utf-8"),
                         0o600)


def verified_backup(record):
    """Refuse unless the record holds a backup whose file on this (backup) host matches its SHA-256 now."""
    backup = record.get("backup") or {}
    path, digest = backup.get("path"), backup.get("sha256")
    if not (path and digest and backup.get("verified")):
        raise StateError("no verified backup is recorded in the state record: step 4 (back up, store on the "
                         "backup host, read the checksum back) must finish first. Nothing was changed.")
    try:
        trusted_dir(os.path.dirname(os.path.abspath(path)))
        digest_now = hashlib.sha256()
        with os.fdopen(open_trusted(path, what="the recorded backup"), "rb") as handle:
            for chunk in iter(lambda: handle.read(1 << 20), b""):
                digest_now.update(chunk)
        actual = digest_now.hexdigest()
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
        text = read_trusted(path, "the lock", limit=65536).decode("utf-8", "replace")
    except FileNotFoundError:
        return None
    try:
        lock = json.loads(text)
    except (ValueError, RecursionError):
        lock = None
    found = problem(lock, LOCK, "lock")
    return {"holder": "unknown (damaged lock file: %s)" % found, "raw": text[:200]} if found else lock


def process_alive(pid):
    """True when the process runs on this host and is an Ansible process."""
    try:
        with open("/proc/%d/cmdline" % int(pid), "rb") as handle:
            cmdline = handle.read().decode("utf-8", "replace")
    except (OSError, ValueError, TypeError, OverflowError):
        return False
    return "ansible" in cmdline


def is_stale(lock, hostname=None, alive=process_alive):
    """A lock is known stale only when its holder ran on this very host and that process is gone."""
    host = hostname or socket.gethostname()
    return bool(lock.get("host")) and lock.get("host") == host and lock.get("pid") and not alive(lock["pid"])


def describe(lock):
    return "%s (run %s, host %s, pid %s) since %s" % (
        lock.get("holder", "?"), lock.get("run_id", "?"), lock.get("host", "?"), lock.get("pid", "?"),
        lock.get("started_at", "?"))


def acquire(path, me, now, break_lock=False, check=False, alive=process_alive, hostname=None):
    """Take the lock for ``me`` (dict: holder, run_id, host, pid). Returns ``(lock, changed, note)``.

    Held by the same run id: kept. Held by another run: refused, unless its holder is known dead
    (same host, process gone) or ``break_lock``; then taken over, and ``note`` says from whom. Out of check
    mode the whole decision holds the directory's ``flock``: two runs never both take a stale lock.
    """
    with (contextlib.nullcontext() if check else exclusive(os.path.dirname(path) or ".")):
        current = read_lock(path)
        note = None
        if current is not None:
            if current.get("run_id") and current.get("run_id") == me.get("run_id"):
                return current, False, None
            if not (break_lock or is_stale(current, hostname, alive)):
                raise StateError(
                    "migration is locked by %s (lock file %s). Another run of a playbook of this migration is "
                    "active: wait for it. If you are sure that no run is active (a crashed or killed run), clear "
                    "the stale lock deliberately with -e wabiz_lock_break=true. Nothing was changed."
                    % (describe(current), path))
            note = "took over the lock of %s (%s)" % (
                describe(current), "wabiz_lock_break=true" if break_lock else "its process is gone")
            if not check:
                os.unlink(path)
        lock = dict(me, started=round(now, 3), started_at=iso(now))
        if not check:
            with os.fdopen(open_trusted(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, "the lock"), "wb") as handle:
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
                             run_id, path, describe(current) if current else "no lock"))


def release(path, run_id):
    """Remove the lock when this run holds it (in a trusted directory). Returns True when removed."""
    trusted_dir(os.path.dirname(path) or ".")
    with exclusive(os.path.dirname(path) or "."):
        current = read_lock(path)
        if current is None:
            return False
        if current.get("run_id") != run_id:
            raise StateError("the lock %s is held by %s, not by this run (%s): not released." % (
                path, describe(current), run_id))
        os.unlink(path)
        return True


def now():
    return time.time()
