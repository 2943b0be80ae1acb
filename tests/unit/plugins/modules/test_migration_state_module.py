# Copyright (c) 2026, wabiz.api_client contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The migration_state module on a real temporary directory: one write per call, refusals change nothing,
check mode writes nothing, the lock is taken and released by the run that holds it."""

from __future__ import annotations

import hashlib
import json
import os
import stat

import pytest

from ansible.module_utils.testing import patch_module_args
from ansible_collections.wabiz.api_client.plugins.modules import migration_state


def run(capsys, **args):
    with patch_module_args(args):
        with pytest.raises(SystemExit):
            migration_state.main()
    return json.loads(capsys.readouterr().out)


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
    res = run(capsys, marks=[{"step": "step1_install", "event": "finished"}], update={"a": {"b": 1}}, **base)
    assert res["changed"] and res["done"] == ["step1_install"] and res["record"]["a"] == {"b": 1}
    path = os.path.join(base["state_dir"], "m1.json")
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert json.load(open(path))["status"] == "in_progress"
    again = run(capsys, update={"a": {"b": 1}}, **base)
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
