# Copyright (c) 2026, wabiz.api_client contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Step 6's checks run before step 5 (issue 22): when the new setup changes after step 2's checks, in the same
run, so that it would refuse the restore (it got registered, or its CoreApp went away), the run stops before
step 5 and every old container keeps running as it was (same start time). The change is made while step 4 backs
up the old setup, through the emulator's admin interface or Docker. Real ansible-playbook runs; no mocks.

Before issue 22 the restore's checks ran inside an async job armed before step 5, and nothing read them before
step 5 removed the old client: both cases here removed every old container, then failed in step 6."""

import os
import re
import signal
import subprocess
import time

import lab as labmod
from conftest import assert_no_secrets, state_record, tail
from test_migration import docker_names, old_containers

STEP4 = re.compile(r"^TASK \[Step 4 \| Back up", re.M)
CHECK_TASK = "TASK [Before step 5 | Step 6's checks now"
RUN_TIMEOUT = 900


def old_client(lab):
    """Each old container's name, whether it runs and when it started: a stop or a restart changes them."""
    out = subprocess.run(["docker", "inspect", "--format", "{{.Name}} {{.State.Running}} {{.State.StartedAt}}"]
                         + old_containers(lab), stdout=subprocess.PIPE, text=True, check=True).stdout
    return sorted(out.splitlines())


def read(path):
    with open(path, encoding="utf-8") as fh:
        return fh.read()


def migrate_changing_the_new_setup_during_step4(runner, lab, change):
    """Run migrate.yml; when step 4 starts (step 2's checks of the new setup passed), ``change()``. Returns the
    output of the run, which must fail, and proves the old client untouched and step 5 never started."""
    before = old_client(lab)
    assert len(before) == 3 and all(" true " in line for line in before), before
    proc, logfile = runner.start("migrate", lab)
    changed = False
    deadline = time.monotonic() + RUN_TIMEOUT
    while proc.poll() is None and time.monotonic() < deadline:
        if not changed and STEP4.search(read(logfile)):
            # The run is frozen while the change is made and until the new Webapp shows it (a killed node is
            # reported gone only once its heartbeat is older than the lease), so the check before step 5
            # sees it whatever the machine's load.
            os.killpg(proc.pid, signal.SIGSTOP)
            try:
                change()
            finally:
                os.killpg(proc.pid, signal.SIGCONT)
            changed = True
        time.sleep(0.05)
    if proc.poll() is None:
        proc.kill()
        proc.wait()
        raise AssertionError("migrate.yml did not end within %ss (log %s)" % (RUN_TIMEOUT, logfile))
    output = read(logfile)
    assert_no_secrets(output, "output of migrate.yml")
    assert changed and proc.returncode != 0, tail(output)
    # It failed in step 6's checks, before step 5's play started.
    before_failure = output.split("fatal:")[0]
    assert before_failure.rfind("TASK [") == before_failure.rfind(CHECK_TASK) > 0, tail(output)
    assert "PLAY [Step 5" not in output, tail(output)
    # Every old container runs, started when it did before the run: none was stopped or restarted.
    assert old_client(lab) == before
    record = state_record(lab)
    assert "finished" in record["steps"]["step4_backup"] and "step5_uninstall" not in record["steps"], record["steps"]
    assert "downtime" not in record
    assert lab.emulator_state(lab.old_url)["registered"] is True
    assert lab.emulator_state(lab.new_url)["restore_count"] == 0
    return output


def test_a_new_setup_registered_after_step_2_stops_the_run_before_step_5(make_lab, runner):
    lab = make_lab("single")

    def register_the_new_setup():
        status, body = labmod.dockerctl.http("POST", lab.new_url + "/_emulator/seed", {"wa_id": "15550004444"})
        assert status == 200, (status, body)

    output = migrate_changing_the_new_setup_during_step4(runner, lab, register_the_new_setup)
    assert "restore refused: the target is registered" in output and "15550004444" in output, tail(output)


def test_a_new_setup_whose_coreapp_went_away_after_step_2_stops_the_run_before_step_5(make_lab, runner):
    lab = make_lab("single")

    def stop_the_new_coreapp():
        coreapps = [n for n in docker_names("label=biz.wabiz.stack=%s" % lab.new_stack) if "-wacore" in n]
        assert len(coreapps) == 1, coreapps
        subprocess.run(["docker", "kill", coreapps[0]], stdout=subprocess.DEVNULL, check=True)
        deadline = time.monotonic() + 60
        while any(n["alive"] for n in lab.emulator_state(lab.new_url)["nodes"] if n["kind"] != "webapp"):
            assert time.monotonic() < deadline, "the new Webapp still reports the killed CoreApp alive after 60 s"
            time.sleep(0.5)

    output = migrate_changing_the_new_setup_during_step4(runner, lab, stop_the_new_coreapp)
    assert "restore refused: the target is not running" in output, tail(output)
