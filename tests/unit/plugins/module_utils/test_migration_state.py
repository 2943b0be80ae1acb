# Copyright (c) 2026, wabiz.api_client contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests of the migration state record and lock (plugins/module_utils/_migration_state.py)."""

from __future__ import annotations

import hashlib
import json
import os
import stat
import threading

import pytest

from ansible_collections.wabiz.api_client.plugins.module_utils import _migration_state as ms

ME = {"holder": "playbooks/migrate.yml", "run_id": "run1", "host": "ctl", "pid": 4242}


def test_steps_are_the_guide_steps_in_order():
    assert ms.STEP_NAMES == ("step1_install", "step2_login", "step3_cleanup", "step4_backup", "step5_uninstall",
                             "step6_restore", "step7_health", "step8_two_step", "step9_webhooks")


def test_a_name_that_could_leave_the_directory_is_refused():
    assert ms.paths("/d", "prod-1.x")[0] == "/d/prod-1.x.json" and ms.SCHEMA["migration"]("prod-1.x") is None
    for bad in ("", "../x", "a/b", " x", "x\n", 5):
        assert "wabiz_migration_name" in ms.SCHEMA["migration"](bad)


def test_load_new_and_broken_records(tmp_path):
    path = str(tmp_path / "m.json")
    record, existed = ms.load(path, "m", 100.0)
    assert not existed and record["status"] == "new" and record["steps"] == {}
    with open(path, "w") as fh:
        fh.write("{not json")
    with pytest.raises(ms.StateError, match="not valid JSON"):
        ms.load(path, "m", 100.0)


def test_write_is_atomic_0600_and_carries_the_plan(tmp_path):
    path = str(tmp_path / "m.json")
    ms.write(path, {"migration": "m", "status": "new", "steps": {}})
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert [p["step"] for p in json.load(open(path))["plan"]] == list(ms.STEP_NAMES)
    assert os.listdir(str(tmp_path)) == ["m.json"]


def test_new_directories_are_0700_and_an_existing_one_is_kept(tmp_path):
    d = str(tmp_path / "a" / "state")
    assert ms.trusted_dir(d, create=True)
    assert stat.S_IMODE(os.stat(d).st_mode) == 0o700 and stat.S_IMODE(os.stat(str(tmp_path / "a")).st_mode) == 0o700
    assert not ms.trusted_dir(d, create=True)


def test_one_finish_per_step_times_it_from_the_previous_mark_of_the_run():
    record = ms.new_record("m", 0.0)
    ms.begin_run(record, "r1", 10.0)
    ms.mark(record, "step1_install", "finished", 40.0, "r1")
    ms.mark(record, "step2_login", "finished", 45.5, "r1")
    view = ms.view(record)
    assert view["timings"] == {"step1_install": 30.0, "step2_login": 5.5}
    assert view["done"] == ["step1_install", "step2_login"] and view["todo"][0] == "step3_cleanup"
    assert record["status"] == "in_progress"


def test_step5_start_starts_the_downtime_once_and_the_end_measures_it():
    record = ms.new_record("m", 0.0)
    ms.begin_run(record, "r1", 0.0)
    ms.mark(record, "step5_uninstall", "started", 100.0, "r1")
    assert ms.view(record)["old_gone"] is True
    ms.begin_run(record, "r2", 150.0)  # an interrupted run, then a re-run
    ms.mark(record, "step5_uninstall", "started", 160.0, "r2")
    assert record["downtime"]["started"] == 100.0 and record["steps"]["step5_uninstall"]["runs"] == 2
    ms.end_downtime(record, 165.25)
    assert record["downtime"]["seconds"] == 65.25


def test_the_downtime_starts_at_the_removal_of_this_runs_step5_never_before_its_mark_nor_after_an_earlier_attempt():
    record = ms.new_record("m", 0.0)
    ms.begin_run(record, "r1", 0.0)
    ms.mark(record, "step5_uninstall", "started", 100.0, "r1")
    ms.start_downtime(record, 99.0, "r1")  # before the mark: refused
    assert record["downtime"]["started"] == 100.0
    ms.start_downtime(record, 100.75, "other-run")  # not this run's step 5
    assert record["downtime"]["started"] == 100.0
    ms.start_downtime(record, 100.75, "r1")
    ms.end_downtime(record, 104.0)
    assert record["downtime"]["started"] == 100.75 and record["downtime"]["seconds"] == 3.25
    # An interrupted attempt, then a re-run: the first attempt's start stays, whatever the new removal time.
    ms.begin_run(record, "r2", 150.0)
    ms.mark(record, "step5_uninstall", "started", 160.0, "r2")
    ms.start_downtime(record, 160.5, "r2")
    assert record["downtime"]["started"] == 100.75


def test_a_finish_of_a_step_started_by_an_earlier_run_restarts_its_clock():
    record = ms.new_record("m", 0.0)
    ms.begin_run(record, "r1", 0.0)
    ms.mark(record, "step6_restore", "started", 5.0, "r1")
    ms.begin_run(record, "r2", 100.0)
    ms.mark(record, "step6_restore", "finished", 103.0, "r2")
    assert record["steps"]["step6_restore"]["seconds"] == 3.0


def test_unknown_step_and_end_without_start_are_refused():
    record = ms.new_record("m", 0.0)
    with pytest.raises(ms.StateError, match="unknown step"):
        ms.mark(record, "step11", "started", 1.0)
    with pytest.raises(ms.StateError, match="step 5 never started"):
        ms.end_downtime(record, 1.0)


def test_merge_is_recursive_and_does_not_alias():
    base = {"a": {"b": 1, "c": [1]}, "d": 1}
    out = ms.merge(base, {"a": {"b": 2}, "e": {"f": 1}})
    assert out == {"a": {"b": 2, "c": [1]}, "d": 1, "e": {"f": 1}}
    out["a"]["c"].append(2)
    assert base["a"]["c"] == [1]


def test_verified_backup_reads_the_checksum_back(tmp_path):
    path = tmp_path / "b.bak"
    path.write_bytes(b"data")
    digest = hashlib.sha256(b"data").hexdigest()
    with pytest.raises(ms.StateError, match="no verified backup"):
        ms.verified_backup({"backup": {"path": str(path), "sha256": digest}})
    good = {"backup": {"path": str(path), "sha256": digest, "verified": True}}
    assert ms.verified_backup(good)["sha256"] == digest
    path.write_bytes(b"tampered")
    with pytest.raises(ms.StateError, match="changed or damaged"):
        ms.verified_backup(good)
    path.unlink()
    with pytest.raises(ms.StateError, match="cannot be read"):
        ms.verified_backup(good)


def test_lock_is_exclusive_and_names_holder_and_how_to_clear_it(tmp_path):
    path = str(tmp_path / "m.lock")
    lock, changed, note = ms.acquire(path, ME, 1000.0, alive=lambda pid: True, hostname="ctl")
    assert changed and note is None and lock["started_at"].startswith("1970-01-01T00:16:40")
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    # The same run keeps it; another run is refused, naming the holder, the start and the way out.
    assert ms.acquire(path, ME, 1001.0, alive=lambda pid: True, hostname="ctl")[1] is False
    other = dict(ME, run_id="run2", pid=5)
    with pytest.raises(ms.StateError) as exc:
        ms.acquire(path, other, 1002.0, alive=lambda pid: True, hostname="ctl")
    text = str(exc.value)
    assert "playbooks/migrate.yml" in text and "run1" in text and "1970-01-01T00:16:40" in text
    assert "wabiz_lock_break=true" in text
    assert json.load(open(path))["run_id"] == "run1"
    # Deliberately broken: taken over, with a note naming the earlier holder.
    lock, changed, note = ms.acquire(path, other, 1003.0, break_lock=True, alive=lambda pid: True, hostname="ctl")
    assert changed and "run1" in note and json.load(open(path))["run_id"] == "run2"
    with pytest.raises(ms.StateError, match="not released"):
        ms.release(path, "run1")
    assert ms.release(path, "run2") and not os.path.exists(path)
    assert ms.release(path, "run2") is False


def test_a_lock_is_known_stale_only_on_its_own_host_with_its_process_gone(tmp_path):
    path = str(tmp_path / "m.lock")
    ms.acquire(path, ME, 1.0, alive=lambda pid: True, hostname="ctl")
    other = dict(ME, run_id="run2")
    with pytest.raises(ms.StateError):  # other host: cannot tell
        ms.acquire(path, other, 2.0, alive=lambda pid: False, hostname="backup")
    lock, changed, note = ms.acquire(path, other, 3.0, alive=lambda pid: False, hostname="ctl")
    assert "its process is gone" in note and lock["run_id"] == "run2"


def test_check_mode_takes_no_lock(tmp_path):
    path = str(tmp_path / "m.lock")
    lock, changed, note = ms.acquire(path, ME, 1.0, check=True)
    assert changed and not os.path.exists(path)


def test_holds_refuses_a_run_whose_lock_was_taken(tmp_path):
    path = str(tmp_path / "m.lock")
    with pytest.raises(ms.StateError, match="does not hold"):
        ms.holds(path, "run1")
    ms.acquire(path, ME, 1.0)
    ms.holds(path, "run1")
    with pytest.raises(ms.StateError, match="another run took it"):
        ms.holds(path, "run2")


def test_write_masks_credentials_inside_strings(tmp_path):
    path = str(tmp_path / "m.json")
    ms.write(path, {"migration": "m", "status": "new", "steps": {},
                    "cleanup": {"old_webhook_url_file": "https://hook-user:hook-Secret-9@hooks.example.com/in"},
                    "failed": {"msg": "mysql://root@db/x?password=Db-Secret-7"}})
    with open(path, encoding="utf-8") as fh:
        text = fh.read()
    assert "hook-Secret-9" not in text and "Db-Secret-7" not in text and "hook-user" not in text
    assert "hooks.example.com/in" in json.loads(text)["cleanup"]["old_webhook_url_file"]


# --- trust (issue 23.1) -----------------------------------------------------------------------------

def test_a_directory_above_that_others_may_write_is_refused_unless_sticky(tmp_path):
    shared = tmp_path / "shared"
    shared.mkdir()
    state = str(shared / "state")
    os.chmod(str(shared), 0o777)
    with pytest.raises(ms.StateError) as exc:
        ms.trusted_dir(state, create=True)
    assert str(shared) in str(exc.value) and "mode 0777" in str(exc.value) and "chmod go-w" in str(exc.value)
    assert not os.path.exists(state)
    os.chmod(str(shared), 0o1777)  # like /tmp: others cannot rename what is ours in it
    assert ms.trusted_dir(state, create=True)
    os.chmod(str(shared), 0o775)
    with pytest.raises(ms.StateError, match="mode 0775"):
        ms.trusted_dir(state)
    os.chmod(str(shared), 0o755)
    os.chmod(state, 0o770)
    with pytest.raises(ms.StateError, match=r"state directory \(wabiz_state_dir\) .* mode 0770"):
        ms.trusted_dir(state)


def test_a_directory_above_behind_a_link_is_checked_too(tmp_path):
    real = tmp_path / "real"
    real.mkdir(mode=0o777)
    os.chmod(str(real), 0o777)
    os.symlink(str(real), str(tmp_path / "link"))
    with pytest.raises(ms.StateError, match=str(real)):
        ms.trusted_dir(str(tmp_path / "link" / "state"), create=True)
    os.chmod(str(real), 0o700)
    assert ms.trusted_dir(str(tmp_path / "link" / "state"), create=True)


def test_record_lock_and_backup_are_opened_without_links_and_must_be_ours_alone(tmp_path):
    record = ms.new_record("m", 1.0)
    path = str(tmp_path / "m.json")
    os.symlink(str(tmp_path / "elsewhere.json"), path)
    ms.write(str(tmp_path / "elsewhere.json"), record)
    with pytest.raises(ms.StateError, match="a link is refused"):
        ms.load(path, "m", 1.0)
    os.unlink(path)
    ms.write(path, record)
    os.chmod(path, 0o666)
    with pytest.raises(ms.StateError, match="mode 0666"):
        ms.load(path, "m", 1.0)
    lock = str(tmp_path / "m.lock")
    ms.acquire(lock, ME, 1.0)
    os.chmod(lock, 0o622)
    with pytest.raises(ms.StateError, match="the lock .* mode 0622"):
        ms.acquire(lock, dict(ME, run_id="run2"), 2.0)
    bak = tmp_path / "b.bak"
    bak.write_bytes(b"data")
    good = {"backup": {"path": str(tmp_path / "l.bak"), "sha256": hashlib.sha256(b"data").hexdigest(),
                       "verified": True}}
    os.symlink(str(bak), good["backup"]["path"])
    with pytest.raises(ms.StateError, match="a link is refused"):
        ms.verified_backup(good)
    if os.geteuid() == 0:  # only root can hand a file to another user
        os.chown(str(bak), 4242, 4242)
        with pytest.raises(ms.StateError, match="owner uid 4242"):
            ms.verified_backup(dict(good, backup=dict(good["backup"], path=str(bak))))


def test_a_record_that_breaks_the_schema_is_never_written(tmp_path):
    path = str(tmp_path / "m.json")
    ms.write(path, ms.new_record("m", 1.0))
    before = open(path).read()
    for broken in ({"steps": "x"}, {"status": "done"}, {"created": float("nan")}, {"backup": {"size": -1}}):
        with pytest.raises(ms.StateError, match="was not written"):
            ms.write(path, dict(ms.new_record("m", 1.0), **broken))
    assert open(path).read() == before and os.listdir(str(tmp_path)) == ["m.json"]


# --- the lock's stale takeover is atomic (issue 23.10) ------------------------------------------------

DEAD = 4194303  # the pid of the stale lock's holder: "gone" for every racer


def _racer(path, index, rounds, barrier, wins):
    me = dict(ME, run_id="racer-%d" % index, host="ctl", pid=os.getpid())
    for number in range(rounds):
        try:
            barrier.wait()  # the parent wrote a stale lock
        except threading.BrokenBarrierError:
            return
        try:
            if ms.acquire(path, me, 1.0, alive=lambda pid: pid != DEAD, hostname="ctl")[1]:
                wins[number * 8 + index] = 1
        except ms.StateError:
            pass
        barrier.wait()  # the parent counts the winners


def test_two_processes_never_both_take_over_a_stale_lock(tmp_path):
    import multiprocessing
    path, racers, rounds = str(tmp_path / "m.lock"), 4, 200
    context = multiprocessing.get_context("fork")
    barrier, wins = context.Barrier(racers + 1), context.Array("b", rounds * 8, lock=False)
    stale = json.dumps(dict(ME, run_id="crashed", host="ctl", pid=DEAD, started=1.0, started_at=ms.iso(1.0)))
    procs = [context.Process(target=_racer, args=(path, i, rounds, barrier, wins)) for i in range(racers)]
    for proc in procs:
        proc.start()
    winners = []
    try:
        for number in range(rounds):
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            os.write(fd, stale.encode())
            os.close(fd)
            barrier.wait(timeout=60)
            barrier.wait(timeout=60)
            winners.append(sum(wins[number * 8:number * 8 + racers]))
    finally:
        barrier.abort()
        for proc in procs:
            proc.join(timeout=60)
    assert winners.count(1) == rounds, "%d of %d rounds had two or more winners, %d none" % (
        len([n for n in winners if n > 1]), rounds, winners.count(0))
