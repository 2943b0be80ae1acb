#!/usr/bin/python
# Copyright (c) 2026, wabiz.api_client contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: migration_state
short_description: Keep a migration's state record and lock on the backup host
version_added: 1.1.0
description:
  - Owns the state record C(<state_dir>/<migration>.json) of one migration, on the host where it runs
    (the backup host; use C(delegate_to)). The record holds no secret and has one schema (its fields,
    types and ranges), checked when it is loaded and before every write; a damaged or hand-edited record
    is refused naming the field. Every change is ONE atomic write (temporary file, fsync, rename).
  - The state directory, the record, the lock and the recorded backup must belong to the user running
    the module and be writable by nobody else, and so must every directory above them (a world-writable
    one only with the sticky bit, like C(/tmp)); files are opened without following links. New
    directories get mode C(0700), files C(0600).
  - Holds the single list of the migration guide's steps (RV(steps)) and reports what is done, what is
    left to do (RV(todo)), the seconds of each step (RV(timings)) and the downtime.
  - In one call, in this order - takes the lock (O(lock=acquire)), loads the record, refuses
    (O(refuse_status), O(require_verified_backup), O(require_done)) before anything changes, applies
    O(marks), O(update), O(status) and the downtime, writes once, releases the lock (O(lock=release)).
  - The lock C(<state_dir>/<migration>.lock) (C(O_CREAT|O_EXCL)) names its holder, run id, controller
    host, process id and start time. Another run is refused with that text and how to clear a stale lock
    (O(break_lock)). A lock whose holder ran on this host and whose process is gone is taken over, with a
    warning; taking, releasing and writing hold a C(flock) of the directory, so two runs never both take it.
author:
  - wabiz.api_client contributors (@wabiz)
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
    details: Nothing is written and no lock is taken or released; the result is what would be recorded.
  diff_mode:
    support: full
    details: The record before and after.
  idempotent:
    description:
      - When run again with the same options on the same state, the module reports no change.
    support: partial
    details: >-
      Loading, O(update) and O(status) with the values already recorded change nothing. A mark records the
      time it is made, so marking again changes the record. Taking and releasing the lock are not reported
      as changes (the lock exists only while a run is active).
  platform:
    platforms: posix
options:
  state_dir:
    description: Directory of the record and the lock on this host, ours alone. Created with mode C(0700) when missing.
    type: path
    required: true
  migration:
    description: Name of the migration (letters, digits, C(.), C(_), C(-)); the file names derive from it.
    type: str
    required: true
  lock:
    description:
      - V(acquire) takes the lock for O(run_id) before anything else (kept when this run already holds it).
      - V(release) removes the lock held by O(run_id) after the write.
      - V(none) leaves the lock alone; a write by a run that gives O(run_id) still requires that it holds the lock.
    type: str
    choices: [none, acquire, release]
    default: none
  run_id:
    description: Identifier of this run (one per playbook run). Required with O(lock=acquire) or O(lock=release).
    type: str
  holder:
    description: Who takes the lock, for the refusal message of another run (for example C(playbooks/migrate.yml)).
    type: str
    default: unknown
  controller_host:
    description: Host name of the Ansible controller of this run (a stale lock is recognised only on the same host).
    type: str
  controller_pid:
    description: Process id of C(ansible-playbook) on the controller.
    type: int
  break_lock:
    description: Take the lock even when another run holds it. Only for a lock known to be stale.
    type: bool
    default: false
  refuse_status:
    description: Fail, changing nothing, when the record's status is one of these. Every refusal releases the lock of O(run_id).
    type: list
    elements: str
    default: []
  require_verified_backup:
    description:
      - Fail, changing nothing, unless the record holds a backup marked verified and the file at its path
        on this host has the recorded SHA-256 now.
    type: bool
    default: false
  require_done:
    description: Fail, changing nothing, unless these steps are recorded as finished.
    type: list
    elements: str
    default: []
  marks:
    description:
      - Steps that started or finished. The start of step 5 also starts the downtime (kept from the first attempt).
      - A step that finishes with no start recorded in this run (O(run_id)) started at this run's previous mark
        (or when the run took the lock), so one call at the end of a step records its time.
    type: list
    elements: dict
    default: []
    suboptions:
      step:
        description: One of RV(steps).
        type: str
        required: true
        choices: [step1_install, step2_login, step3_cleanup, step4_backup, step5_uninstall, step6_restore,
                  step7_health, step8_two_step, step9_webhooks]
      event:
        description: What happened.
        type: str
        choices: [started, finished]
        required: true
      at:
        description: When, in seconds since the epoch; now when absent.
        type: float
  update:
    description:
      - A dict merged recursively into the record (no secrets). Only the fields of the record's schema that the
        module does not keep itself (V(backup), V(cleanup), V(old_setup), V(rollback)...), with their types.
    type: dict
    default: {}
  status:
    description: New status of the migration.
    type: str
    choices: [new, in_progress, rolling_back, rolled_back, migrated, decommissioned]
  status_when_done:
    description: New status of the migration once no step is left to do (after O(marks)).
    type: str
    choices: [new, in_progress, rolling_back, rolled_back, migrated, decommissioned]
  downtime_started:
    description:
      - When the old client's first container was told to stop (RV(wabiz.api_client.stack#module:removal_started)),
        in seconds since the epoch. The downtime then starts there instead of at step 5's start mark, when step 5
        started in this run (O(run_id)) and not before its mark; an earlier attempt's start is kept.
    type: float
  downtime_ended:
    description: End of the downtime (first successful test message), in seconds since the epoch.
    type: float
notes:
  - Run it on the backup host (C(delegate_to)); its disk must outlive the job (not an AWX job's disk).
seealso:
  - module: wabiz.api_client.settings_backup
"""

EXAMPLES = r"""
- name: Take the lock and load the record
  wabiz.api_client.migration_state:
    state_dir: /var/lib/wabiz
    migration: prod-2026-11
    lock: acquire
    run_id: "{{ wabiz_run.id }}"
    holder: playbooks/migrate.yml
    refuse_status: [rolling_back, rolled_back, decommissioned]
  delegate_to: backup-1.example.com
  register: wabiz_state

- name: Record that step 5 starts (refused without a verified backup)
  wabiz.api_client.migration_state:
    state_dir: /var/lib/wabiz
    migration: prod-2026-11
    run_id: "{{ wabiz_run.id }}"
    require_verified_backup: true
    marks:
      - {step: step5_uninstall, event: started}
  delegate_to: backup-1.example.com
"""

RETURN = r"""
path:
  description: Path of the record.
  returned: always
  type: str
lock_path:
  description: Path of the lock.
  returned: always
  type: str
record:
  description: The record after this call (no secrets).
  returned: success
  type: dict
steps:
  description: The migration guide's steps 1-9, in order (the one list of them).
  returned: success
  type: list
  elements: str
done:
  description: Steps recorded as finished.
  returned: success
  type: list
  elements: str
started:
  description: Steps recorded as started (finished or not).
  returned: success
  type: list
  elements: str
todo:
  description: Steps not finished, in order.
  returned: success
  type: list
  elements: str
old_gone:
  description: Step 5 started, so the old client's containers may be gone.
  returned: success
  type: bool
timings:
  description: Seconds of each finished step.
  returned: success
  type: dict
downtime_seconds:
  description: Seconds from the start of step 5 to the first successful test message, once it ended.
  returned: success
  type: float
status:
  description: Status of the migration.
  returned: success
  type: str
lock:
  description: The lock after this call (holder, run_id, host, pid, started_at), or null.
  returned: success
  type: dict
existed:
  description: Whether the record existed before this call.
  returned: success
  type: bool
now:
  description: The time of this call, in seconds since the epoch.
  returned: success
  type: float
"""

import copy

from ansible_collections.wabiz.api_client.plugins.module_utils import _migration_state as ms
from ansible_collections.wabiz.api_client.plugins.module_utils._validate import CheckedModule, one_of

RULES = dict(
    migration=[ms.SCHEMA["migration"]], run_id=[ms.LINE], holder=[ms.LINE], controller_host=[ms.LINE], controller_pid=[ms.PID],
    downtime_started=[ms.TIME], downtime_ended=[ms.TIME],
    refuse_status=[one_of(*ms.STATUSES)], require_done=[one_of(*ms.STEP_NAMES)],
)


def main():
    module = CheckedModule(
        argument_spec=dict(
            state_dir=dict(type="path", required=True),
            migration=dict(type="str", required=True),
            lock=dict(type="str", default="none", choices=["none", "acquire", "release"]),
            run_id=dict(type="str"),
            holder=dict(type="str", default="unknown"),
            controller_host=dict(type="str"),
            controller_pid=dict(type="int"),
            break_lock=dict(type="bool", default=False),
            refuse_status=dict(type="list", elements="str", default=[]),
            require_verified_backup=dict(type="bool", default=False),
            require_done=dict(type="list", elements="str", default=[]),
            marks=dict(type="list", elements="dict", default=[], options=dict(
                step=dict(type="str", required=True, choices=list(ms.STEP_NAMES)),
                event=dict(type="str", required=True, choices=["started", "finished"]),
                at=dict(type="float"),
            )),
            update=dict(type="dict", default={}),
            status=dict(type="str", choices=list(ms.STATUSES)),
            downtime_started=dict(type="float"),
            downtime_ended=dict(type="float"),
            status_when_done=dict(type="str", choices=list(ms.STATUSES)),
        ),
        rules=RULES,
        required_if=[("lock", "acquire", ["run_id"]), ("lock", "release", ["run_id"])],
        supports_check_mode=True,
    )
    p = module.params
    check = module.check_mode
    now = ms.now()
    found = [ms.problem(p["update"], ms.UPDATE, "update")] + [
        ms.problem(m["at"], ms.TIME, "marks.at") for m in p["marks"] if m["at"] is not None]
    if any(found):
        module.fail_json(msg="invalid input, nothing was changed: %s" % "; ".join(f for f in found if f))
    taken = changed = existed = False
    record = lock = before = None
    result = dict(changed=False)
    try:
        path, lock_path = ms.paths(p["state_dir"], p["migration"])
        result.update(path=path, lock_path=lock_path)
        ms.trusted_dir(p["state_dir"], create=not check)
        lock = ms.read_lock(lock_path)
        if p["lock"] == "acquire":
            me = dict(holder=p["holder"], run_id=p["run_id"], host=p["controller_host"], pid=p["controller_pid"])
            lock, taken, note = ms.acquire(lock_path, me, now, break_lock=p["break_lock"], check=check)
            if note:
                module.warn(note)
        record, existed = ms.load(path, p["migration"], now)
        before = copy.deepcopy(record)
        if record["status"] in p["refuse_status"]:
            raise ms.StateError(refusal(p["migration"], record, path))
        missing = [s for s in p["require_done"] if "finished" not in record["steps"].get(s, {})]
        if missing:
            raise ms.StateError("step(s) %s are not finished in %s: run them first (playbooks/migrate.yml). "
                                "Nothing was changed." % (", ".join(missing), path))
        if p["require_verified_backup"]:
            ms.verified_backup(record)
        if p["marks"] and p["run_id"]:
            ms.begin_run(record, p["run_id"], (lock or {}).get("started") or now)
        for m in p["marks"]:
            ms.mark(record, m["step"], m["event"], m["at"] if m["at"] is not None else now, p["run_id"])
        record = ms.merge(record, p["update"])
        if p["status"]:
            record["status"] = p["status"]
        if p["downtime_started"] is not None:
            ms.start_downtime(record, p["downtime_started"], p["run_id"])
        if p["downtime_ended"] is not None:
            ms.end_downtime(record, p["downtime_ended"])
        if p["status_when_done"] and not ms.view(record)["todo"]:
            record["status"] = p["status_when_done"]
        if record["status"] == "migrated" and "migrated" not in record:
            # When the migration finished: step 10 (decommission) counts its 14 days from here.
            record.update(migrated=round(now, 3), migrated_at=ms.iso(now))
        changed = record != before or not existed and bool(p["marks"] or p["update"] or p["status"])
        if changed and not check:
            with ms.exclusive(p["state_dir"]):
                if p["run_id"]:
                    ms.holds(lock_path, p["run_id"])
                ms.write(path, record)
        if p["lock"] == "release":
            if not check:
                ms.release(lock_path, p["run_id"])
            lock = None
        elif not check:
            lock = ms.read_lock(lock_path)
    except ms.StateError as exc:
        # A refusal stops the run with nothing changed: it gives the lock back (only when it holds it).
        if p["run_id"] and not check and result.get("lock_path"):
            release_quietly(result.get("lock_path"), p["run_id"])
        module.fail_json(msg="%s: %s" % (p["migration"], exc), **result)
    except (OSError, ms._backup.BackupFileError) as exc:
        if taken and not check:
            release_quietly(result.get("lock_path"), p["run_id"])
        module.fail_json(msg="%s: the state record in %s (state_dir) could not be written: %s" % (
            p["migration"], p["state_dir"], getattr(exc, "strerror", None) or exc), **result)
    result.update(ms.view(record))
    result.update(changed=changed, record=record, lock=lock, existed=existed, now=round(now, 3))
    if module._diff and changed:
        result["diff"] = dict(before=before if existed else {}, after=record)
    module.exit_json(**result)


def refusal(migration, record, path):
    status = record.get("status")
    hint = {
        "rolling_back": "a rollback started and did not finish: run playbooks/rollback.yml again to finish it",
        "rolled_back": "it was rolled back: to try again, use a new wabiz_migration_name (a new backup is taken)",
        "migrated": "it finished",
        "decommissioned": "it finished and the old database was decommissioned",
        "in_progress": "it is in progress: finish it with playbooks/migrate.yml or undo it with playbooks/rollback.yml",
        "new": "it has not started",
    }.get(status, "")
    backup = (record.get("backup") or {}).get("path")
    return "refused: the migration is %s (%s); %s.%s Nothing was changed." % (
        status, path, hint, " Its backup stays at %s." % backup if backup else "")


def release_quietly(lock_path, run_id):
    try:
        ms.release(lock_path, run_id)
    except (ms.StateError, OSError):
        pass


if __name__ == "__main__":
    main()
