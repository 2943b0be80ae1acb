# Copyright (c) 2026, wabiz.api_client contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The playbooks refuse what would lose the number, a backup or the old setup (issue 14, playbook side):
step 5 without a verified backup whatever the tags, a step after 5 selected by tags without step 5, a second run of the same migration while one runs,
bad inputs. Each refusal is proved with nothing changed (old containers, old database rows, volumes,
backups, the emulators' state). Real ansible-playbook runs against the emulator images; no mocks."""

import json
import os
import threading

import lab as labmod
from conftest import state_record, tail
from test_migration import before_migration, docker_names, old_containers, old_db_keys, volumes

STEPS_1_4 = ["step1_install", "step2_login", "step3_cleanup", "step4_backup"]


def snapshot(lab):
    """What must not change when a playbook refuses."""
    state = lab.emulator_state(lab.old_url)
    backups = {}
    if os.path.isdir(lab.state_dir):
        for name in sorted(os.listdir(lab.state_dir)):
            if name.endswith((".bak", ".sha256", ".meta.json")):
                with open(os.path.join(lab.state_dir, name), "rb") as fh:
                    backups[name] = fh.read()
    return {
        "old_containers": old_containers(lab),
        "old_db_keys": old_db_keys(lab),
        "volumes": sorted(v for v in volumes() if v.startswith(lab.prefix)),
        "old_emulator": {k: state[k] for k in ("registered", "wa_id", "two_step", "application_settings",
                                               "registration_sha256", "restore_count")},
        "backups": backups,
    }


def test_step5_refuses_without_a_verified_backup_whatever_the_tags(make_lab, runner):
    lab = make_lab("single")
    # The new setup is installed and logged in to (steps 1-2), no backup yet.
    runner.playbook("migrate", lab, tags=STEPS_1_4[:2], check=True)
    before = snapshot(lab)
    # Only the uninstall tag: refused in the step-5 unit itself; the old client stays.
    rc, out = runner.playbook("migrate", lab, tags=["step5_uninstall"], check=False)
    assert "no verified backup" in out, tail(out)
    assert snapshot(lab) == before
    assert "step5_uninstall" not in state_record(lab)["steps"]

    # Steps 1-4 take and verify the backup; then the stored backup is damaged: step 5 refuses again,
    # because it reads the checksum back on the backup host.
    runner.playbook("migrate", lab, tags=STEPS_1_4, check=True)
    record = state_record(lab)
    assert record["backup"]["verified"] is True
    # Steps 6 and 7 selected without step 5, which is not done: refused in preflight (the guide's order), the
    # new setup is not restored while the old client serves the number, and the lock is released.
    before = snapshot(lab)
    rc, out = runner.playbook("migrate", lab, tags=["step6_restore", "step7_health"], check=False)
    assert rc != 0 and "the number would go to the new setup while the old client may still serve it" in out, tail(out)
    assert snapshot(lab) == before
    assert lab.emulator_state(lab.new_url)["restore_count"] == 0
    assert "step5_uninstall" not in state_record(lab)["steps"]
    assert not os.path.exists(os.path.join(lab.state_dir, lab.prefix + ".lock"))

    path = record["backup"]["path"]
    with open(path, "rb") as fh:
        good = fh.read()
    before = snapshot(lab)
    with open(path, "ab") as fh:
        fh.write(b"x")
    try:
        rc, out = runner.playbook("migrate", lab, tags=["step5_uninstall"], check=False)
        assert "changed or damaged" in out, tail(out)
    finally:
        with open(path, "wb") as fh:
            fh.write(good)
    assert snapshot(lab) == before
    assert "step5_uninstall" not in state_record(lab)["steps"]
    assert not os.path.exists(os.path.join(lab.state_dir, lab.prefix + ".lock"))


def test_two_concurrent_runs_exactly_one_proceeds(make_lab, runner):
    lab = make_lab("single")
    old_token, old_state = before_migration(lab)
    results = {}

    def run(name):
        results[name] = runner.playbook("migrate", lab)

    first = threading.Thread(target=run, args=("first",))
    second = threading.Thread(target=run, args=("second",))
    first.start()
    second.start()
    first.join()
    second.join()
    codes = sorted(rc for rc, _out in results.values())
    assert codes[0] == 0 and codes[1] != 0, {k: tail(v[1]) for k, v in results.items()}
    loser = [out for rc, out in results.values() if rc != 0][0]
    assert "locked by" in loser and "wabiz_lock_break=true" in loser, tail(loser)
    # The refused run stopped at its lock: it never reached step 1.
    assert "Step 1 |" not in loser.split("locked by")[1]
    new_state = lab.emulator_state(lab.new_url)
    assert new_state["restore_count"] == 1
    assert new_state["registered"] and new_state["wa_id"] == labmod.WA_ID
    record = state_record(lab)
    assert record["status"] == "migrated"
    assert all(step["runs"] == 1 for step in record["steps"].values()), record["steps"]
    assert not os.path.exists(os.path.join(lab.state_dir, lab.prefix + ".lock"))


def test_a_held_lock_refuses_naming_its_holder_and_is_cleared_only_deliberately(make_lab, runner):
    lab = make_lab("single")
    os.makedirs(lab.state_dir, mode=0o700, exist_ok=True)
    lock_path = os.path.join(lab.state_dir, lab.prefix + ".lock")
    held = {"holder": "playbooks/rollback.yml", "run_id": "elsewhere1", "host": "awx-job-4711", "pid": 1,
            "started": 1795900000.0, "started_at": "2026-11-28T21:46:40.000000Z"}
    with open(lock_path, "w", encoding="utf-8") as fh:
        json.dump(held, fh)
    before = snapshot(lab)
    for name in ("migrate", "rollback", "backup", "decommission"):
        rc, out = runner.playbook(name, lab, check=False)
        assert "locked by playbooks/rollback.yml" in out and "awx-job-4711" in out, (name, tail(out))
        assert "2026-11-28T21:46:40" in out and "wabiz_lock_break=true" in out, (name, tail(out))
        with open(lock_path, encoding="utf-8") as fh:
            assert json.load(fh) == held
    assert snapshot(lab) == before
    assert docker_names("label=biz.wabiz.stack=%s" % lab.new_stack) == []
    # Deliberately cleared: the run takes the lock over (and says from whom), then runs its preflight.
    rc, out = runner.playbook("migrate", lab, extra={"wabiz_lock_break": True, "wabiz_masters": 2,
                                                     "wabiz_coreapps": 3, "wabiz_shards": 2}, check=False)
    assert "took over the lock of playbooks/rollback.yml" in out, tail(out)
    assert "exactly the same" in out, tail(out)
    assert not os.path.exists(lock_path)


def test_bad_inputs_are_refused_naming_the_variable_with_nothing_changed(make_lab, runner):
    lab = make_lab("single")
    before = snapshot(lab)
    cases = [
        ("migrate", {"wabiz_wait_timeout": ""}, "wabiz_wait_timeout"),
        ("migrate", {"wabiz_wait_timeout": 0}, "wabiz_wait_timeout = 0"),
        ("migrate", {"wabiz_coreapps": -1}, "wabiz_coreapps = -1"),
        ("migrate", {"wabiz_masters": "two"}, "wabiz_masters"),
        ("migrate", {"wabiz_old_stack_name": " "}, "wabiz_old_stack_name is blank"),
        ("migrate", {"wabiz_disable_two_step": ""}, "wabiz_disable_two_step"),
        # Issue 23.10: the PIN step 8 would refuse after the downtime is refused in the preflight.
        ("migrate", {"wabiz_two_step_pin": "123456\n"}, "wabiz_two_step_pin must be exactly six digits"),
        # Issue 26: what a rollback would need is required before the downtime.
        ("migrate", {"wabiz_old_db_password": ""}, "Required secret(s) missing or empty: wabiz_old_db_password."),
        ("backup", {"wabiz_backup_keep": ""}, "wabiz_backup_keep"),
        ("backup", {"wabiz_backup_keep": 0}, "wabiz_backup_keep = 0"),
        ("rollback", {"wabiz_wait_timeout": "ten"}, "wabiz_wait_timeout"),
        ("decommission", {"wabiz_decommission_min_days_override": "two weeks"}, "wabiz_decommission_min_days_override"),
    ]
    for name, extra, words in cases:
        rc, out = runner.playbook(name, lab, extra=extra, check=False)
        assert words in out, (name, extra, tail(out))
    assert snapshot(lab) == before
    assert docker_names("label=biz.wabiz.stack=%s" % lab.new_stack) == []
    assert not os.path.exists(os.path.join(lab.state_dir, lab.prefix + ".json"))
    assert not os.path.exists(os.path.join(lab.state_dir, lab.prefix + ".lock"))
