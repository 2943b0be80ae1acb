# Copyright (c) 2026, wabiz.api_client contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The migration_state module on a real temporary directory: one write per call, refusals change nothing,
check mode writes nothing, the lock is taken and released by the run that holds it."""

from __future__ import annotations

import hashlib
import json
import os
import re
import stat

import pytest
import yaml

from ansible.module_utils.testing import patch_module_args
from ansible_collections.wabiz.api_client.plugins.modules import migration_state
from ansible_collections.wabiz.api_client.plugins.module_utils import _migration_state as ms


def run(capsys, **args):
    with patch_module_args(args):
        with pytest.raises(SystemExit):
            migration_state.main()
    return json.loads(capsys.readouterr().out)


CLEANUP = {"cleanup": {"two_step_disabled": True, "webhooks_reset": False}}


@pytest.fixture
def base(tmp_path):
    return dict(state_dir=str(tmp_path / "state"), migration="m1", run_id="r1")


def test_load_takes_the_lock_and_writes_no_record(capsys, base, tmp_path):
    res = run(capsys, lock="acquire", holder="playbooks/migrate.yml", **base)
    assert not res.get("failed") and res["changed"] is False and res["existed"] is False
    assert res["todo"][0] == "step1_install" and len(res["steps"]) == 9
    assert res["lock"]["run_id"] == "r1"
    assert stat.S_IMODE(os.stat(base["state_dir"]).st_mode) == 0o700
    assert os.listdir(base["state_dir"]) == ["m1.lock"]


def test_marks_update_and_release_in_one_write(capsys, base):
    run(capsys, lock="acquire", **base)
    res = run(capsys, marks=[{"step": "step1_install", "event": "finished"}], update=CLEANUP, **base)
    assert res["changed"] and res["done"] == ["step1_install"] and res["record"]["cleanup"] == CLEANUP["cleanup"]
    path = os.path.join(base["state_dir"], "m1.json")
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert json.load(open(path))["status"] == "in_progress"
    again = run(capsys, update=CLEANUP, **base)
    assert again["changed"] is False
    res = run(capsys, lock="release", **base)
    assert res["lock"] is None and not os.path.exists(os.path.join(base["state_dir"], "m1.lock"))


def test_a_run_that_lost_its_lock_cannot_write(capsys, base):
    run(capsys, lock="acquire", **base)
    run(capsys, lock="acquire", break_lock=True, **dict(base, run_id="r2"))
    res = run(capsys, marks=[{"step": "step1_install", "event": "finished"}], **base)
    assert res["failed"] and "another run took it" in res["msg"]
    assert not os.path.exists(os.path.join(base["state_dir"], "m1.json"))


def test_refused_status_changes_nothing_and_releases_the_lock_it_took(capsys, base):
    run(capsys, lock="acquire", **base)
    run(capsys, status="rolling_back", lock="release", **base)
    before = open(os.path.join(base["state_dir"], "m1.json")).read()
    res = run(capsys, lock="acquire", refuse_status=["rolling_back"], **dict(base, run_id="r2"))
    assert res["failed"] and "rolling_back" in res["msg"] and "rollback.yml again" in res["msg"]
    assert open(os.path.join(base["state_dir"], "m1.json")).read() == before
    assert not os.path.exists(os.path.join(base["state_dir"], "m1.lock"))


def test_step5_needs_a_verified_backup_on_this_host(capsys, base, tmp_path):
    run(capsys, lock="acquire", **base)
    step5 = [{"step": "step5_uninstall", "event": "started"}]
    res = run(capsys, require_verified_backup=True, marks=step5, **base)
    assert res["failed"] and "no verified backup" in res["msg"]
    run(capsys, lock="acquire", **base)
    bak = tmp_path / "b.bak"
    bak.write_bytes(b"backup")
    run(capsys, update={"backup": {"path": str(bak), "sha256": hashlib.sha256(b"backup").hexdigest(),
                                   "verified": True}}, **base)
    bak.write_bytes(b"other")
    res = run(capsys, require_verified_backup=True, marks=step5, **base)
    assert res["failed"] and "changed or damaged" in res["msg"]
    # The refusal stopped the run: its lock is given back.
    assert not os.path.exists(os.path.join(base["state_dir"], "m1.lock"))
    run(capsys, lock="acquire", **base)
    bak.write_bytes(b"backup")
    res = run(capsys, require_verified_backup=True, marks=step5, **base)
    assert not res.get("failed") and res["old_gone"] and res["record"]["downtime"]["started"]


def test_check_mode_and_diff(capsys, base):
    run(capsys, lock="acquire", **base)
    res = run(capsys, marks=[{"step": "step1_install", "event": "finished"}], _ansible_check_mode=True,
              _ansible_diff=True, **base)
    assert res["changed"] and res["diff"]["before"] == {} and "step1_install" in res["diff"]["after"]["steps"]
    assert not os.path.exists(os.path.join(base["state_dir"], "m1.json"))


def test_status_when_done_records_when_the_migration_finished(capsys, base):
    run(capsys, lock="acquire", **base)
    marks = [{"step": s, "event": "finished"} for s in migration_state.ms.STEP_NAMES]
    res = run(capsys, marks=marks[:-1], status_when_done="migrated", **base)
    assert res["status"] == "in_progress"
    res = run(capsys, marks=marks[-1:], status_when_done="migrated", **base)
    assert res["status"] == "migrated" and res["record"]["migrated_at"]


def test_bad_names_are_refused(capsys, base):
    res = run(capsys, **dict(base, migration="../etc"))
    assert res["failed"] and "wabiz_migration_name" in res["msg"]


def record_file(base):
    return os.path.join(base["state_dir"], "m1.json")


# Issue 23.4: each of these crashed the module or wrote a record that every later call then refused.
BAD = [
    ("marks", dict(marks=[{"step": "step1_install", "event": "finished", "at": 1e20}])),
    ("marks.at", dict(marks=[{"step": "step1_install", "event": "finished", "at": "nan"}])),
    ("downtime_ended", dict(downtime_ended="nan")),
    ("downtime_ended", dict(downtime_ended=1e20)),
    ("downtime_started", dict(downtime_started=-5)),
    ("controller_pid", dict(lock="acquire", controller_pid="Infinity", run_id="r9")),
    ("controller_pid", dict(lock="acquire", controller_pid=-1, run_id="r9")),
    ("update.steps", dict(update={"steps": "x"})),
    ("update.status", dict(update={"status": "bogus"})),
    ("update.rollback.started", dict(update={"rollback": {"started": 1e20}})),
    ("update.backup.size", dict(update={"backup": {"size": float("nan")}})),
    ("update.backup.sha256", dict(update={"backup": {"sha256": ["x"], "verified": True}})),
    ("update.bogus", dict(update={"bogus": 1})),
    ("update.new_health", dict(update={"new_health": {"x": float("inf")}})),
    ("refuse_status", dict(refuse_status=["bogus"])),
    ("require_done", dict(require_done=["step11"])),
    ("migration", dict(migration="m1\n")),
    ("run_id", dict(run_id="r1\n")),
]


@pytest.mark.parametrize("option, args", BAD, ids=[b[0] + "-%d" % i for i, b in enumerate(BAD)])
def test_bad_input_is_refused_naming_the_field_before_anything_is_written(capsys, base, option, args):
    run(capsys, lock="acquire", **base)
    run(capsys, update=CLEANUP, **base)
    before = open(record_file(base)).read()
    res = run(capsys, **dict(base, **args))
    assert res["failed"] and option.split(".")[0] in res["msg"] and "Traceback" not in res["msg"], res
    assert option in res["msg"] or option == "marks", res["msg"]
    assert open(record_file(base)).read() == before
    # Not bricked: the next call works.
    res = run(capsys, marks=[{"step": "step1_install", "event": "finished"}], **base)
    assert not res.get("failed") and res["done"] == ["step1_install"], res


@pytest.mark.parametrize("edit, field", [
    (lambda r: r.update(steps="x"), "steps"),
    (lambda r: r.update(status="hacked"), "status"),
    (lambda r: r["steps"].update(step1_install={"started": 1e20}), "steps.step1_install.started"),
    (lambda r: r.update(backup={"path": "/etc/hostname", "verified": "yes"}), "backup.verified"),
    (lambda r: r.update(migration="other"), "migration"),
    (lambda r: r.pop("steps"), "steps"),
])
def test_a_damaged_or_hand_edited_record_is_refused_naming_the_field(capsys, base, edit, field):
    run(capsys, lock="acquire", **base)
    run(capsys, update=CLEANUP, **base)
    record = json.load(open(record_file(base)))
    edit(record)
    with open(record_file(base), "w") as fh:
        json.dump(record, fh)
    res = run(capsys, marks=[{"step": "step1_install", "event": "finished"}], **base)
    assert res["failed"] and "damaged or was edited by hand" in res["msg"] and field in res["msg"], res["msg"]
    with open(record_file(base), "w") as fh:
        fh.write('{"migration": "m1", "status": "new", "steps": {}, "created": NaN}')
    res = run(capsys, **base)
    assert res["failed"] and "created must be a number" in res["msg"]
    with open(record_file(base), "w") as fh:
        fh.write("[" * 100000 + "]" * 100000)
    res = run(capsys, **base)
    assert res["failed"] and "not valid JSON" in res["msg"]


def test_a_forged_record_in_a_foreign_owned_state_directory_is_refused_before_anything_changes(capsys, base):
    run(capsys, lock="acquire", **base)
    run(capsys, update=CLEANUP, **base)
    lock = open(os.path.join(base["state_dir"], "m1.lock")).read()
    os.chmod(base["state_dir"], 0o777)
    res = run(capsys, require_verified_backup=True, marks=[{"step": "step5_uninstall", "event": "started"}], **base)
    assert res["failed"] and base["state_dir"] in res["msg"] and "mode 0777" in res["msg"], res["msg"]
    assert "chmod 0700" in res["msg"] and "step5_uninstall" not in json.load(open(record_file(base)))["steps"]
    assert open(os.path.join(base["state_dir"], "m1.lock")).read() == lock
    os.chmod(base["state_dir"], 0o700)
    if os.geteuid() == 0:  # another owner: only root can hand a file to another user
        os.chown(base["state_dir"], 4242, 4242)
        res = run(capsys, require_verified_backup=True, marks=[{"step": "step5_uninstall", "event": "started"}],
                  **base)
        assert res["failed"] and "owner uid 4242" in res["msg"] and base["state_dir"] in res["msg"]
        os.chown(base["state_dir"], 0, 0)
        os.chown(record_file(base), 4242, 4242)
        res = run(capsys, **base)
        assert res["failed"] and "owner uid 4242" in res["msg"] and record_file(base) in res["msg"]


# --- every record field the playbooks read has a writer (issue 22.3) ----------------------------------

COLLECTION = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", "..", ".."))


def playbook_files():
    for top in ("playbooks", "roles"):
        for folder, _dirs, files in os.walk(os.path.join(COLLECTION, top)):
            for name in sorted(files):
                if name.endswith((".yml", ".yaml", ".j2")):
                    yield os.path.join(folder, name)


def read_fields():
    """Every ``record.a.b.c`` read in playbooks/ and roles/, as a tuple of names."""
    found = set()
    for path in playbook_files():
        for match in re.finditer(r"\brecord((?:\.[A-Za-z_]\w*)+)", open(path, encoding="utf-8").read()):
            found.add(tuple(match.group(1).strip(".").split(".")))
    return found


def updates():
    """The ``update`` of every migration_state task in playbooks/ and roles/."""
    def walk(node):
        if isinstance(node, dict):
            task = node.get("wabiz.api_client.migration_state")
            if isinstance(task, dict) and "update" in task:
                yield task["update"]
            for value in node.values():
                yield from walk(value)
        elif isinstance(node, list):
            for value in node:
                yield from walk(value)
    for path in playbook_files():
        if not path.endswith(".j2"):
            yield from walk(yaml.safe_load(open(path, encoding="utf-8")))


def written_by_an_update(field, found):
    for update in found:
        if isinstance(update, str):  # a Jinja expression: it names the keys it writes, two levels are enough
            if all("'%s'" % name in update for name in field[:2]):
                return True
            continue
        value = update
        for depth, name in enumerate(field):
            if isinstance(value, str) and depth:
                return True  # the value of a Jinja expression supplies the rest
            if not isinstance(value, dict) or name not in value:
                break
            value = value[name]
        else:
            return True
    return False


def test_every_record_field_the_playbooks_read_is_in_the_schema_and_has_a_writer(capsys, base):
    run(capsys, lock="acquire", **base)
    marks = [{"step": s, "event": "finished"} for s in ms.STEP_NAMES]
    made = run(capsys, marks=[{"step": "step5_uninstall", "event": "started"}] + marks, downtime_ended=ms.now(),
               status_when_done="migrated", **base)["record"]
    fields, found = read_fields(), list(updates())
    assert ("old_setup", "counts", "shards") in fields and len(found) >= 8, (fields, found)
    for field in sorted(fields):
        spec = ms.SCHEMA
        for name in field:
            if not isinstance(spec, dict):
                break  # JSON data inside: any field
            assert name in spec, "the playbooks read record.%s, which is not in the schema" % ".".join(field)
            spec = spec[name]
        if field[0] in ms.OWNED:
            assert field[0] in made, "record.%s is kept by the module but was not written" % ".".join(field)
        else:
            assert written_by_an_update(field, found), "nothing writes record.%s" % ".".join(field)
