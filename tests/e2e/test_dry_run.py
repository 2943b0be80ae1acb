# Copyright (c) 2026, wabiz.api_client contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The dry run and the checks alone (issue 13): ``ansible-playbook --check`` (and ``--check --diff``) of
playbooks/migrate.yml lists what every step would do and changes nothing; ``--tags preflight`` runs the checks
only; a real run prints progress lines while it waits; ``--check`` on a finished migration has nothing to do.
"Nothing" is proved on the real parts: the lab's Docker containers, volumes and networks, the old setup's
settings read through its API and the emulator, and the state directory on the backup host (the lab's disk)."""

import hashlib
import json
import os
import re
import subprocess

import lab as labmod
from conftest import tail
from test_migration import MESSAGE_TO, login, old_containers

PLAN_START = "Dry run of migration %s"


def docker_lines(*args):
    return sorted(subprocess.run(["docker", *args], stdout=subprocess.PIPE, text=True, check=True).stdout.splitlines())


def state_dir_files(lab):
    """Every file of the state directory on the backup host, with its mode and SHA-256 (None: no directory)."""
    if not os.path.isdir(lab.state_dir):
        return None
    files = {}
    for name in sorted(os.listdir(lab.state_dir)):
        path = os.path.join(lab.state_dir, name)
        with open(path, "rb") as fh:
            files[name] = (oct(os.stat(path).st_mode & 0o777), hashlib.sha256(fh.read()).hexdigest())
    return files


def snapshot(lab, base, token):
    """What a dry run must leave exactly as it was: the lab's Docker objects, the state directory, and the settings
    of the setup at ``base`` (the old one before the migration, the new one after it) read through its API."""
    mine = lab.prefix + "-"
    status, settings = labmod.Lab.api("GET", base, "/v1/settings/application", token=token)
    assert status == 200, (status, settings)
    setup = lab.emulator_state(base)
    names = [n for n in docker_lines("ps", "-a", "--format", "{{.Names}}") if n.startswith(mine)]
    return {
        # The image by ID (another suite may re-tag the emulator images meanwhile); StartedAt: not restarted.
        "containers": docker_lines("container", "inspect", "--format",
                                   "{{.Id}} {{.Name}} {{.State.Status}} {{.State.StartedAt}} {{.Image}}", *names),
        "volumes": [v for v in docker_lines("volume", "ls", "-q") if v.startswith(mine)],
        "networks": [n for n in docker_lines("network", "ls", "--no-trunc", "--format", "{{.ID}} {{.Name}}")
                     if n.split()[1].startswith(mine)],
        "settings_api": settings["settings"]["application"],
        "setup": {k: setup[k] for k in ("registered", "wa_id", "two_step", "application_settings",
                                        "registration_sha256", "restore_count")},
        "state_dir": state_dir_files(lab),
    }


def plan_lines(out, lab):
    """The lines of the plan that the dry run prints at its end (the JSON list of its debug message)."""
    start = out.index(PLAN_START % lab.prefix)
    block = out[start:out.index("]", start)]
    return re.findall(r'"(step \d would [^"]*)"', block)


def test_check_is_a_dry_run_that_changes_nothing_and_progress_shows_on_long_waits(make_lab, runner):
    lab = make_lab("single")
    old_token = login(lab.old_url, labmod.OLD_ADMIN_PASSWORD)
    before = snapshot(lab, lab.old_url, old_token)
    assert before["state_dir"] is None  # a new migration: no record, no lock yet
    old_apps = [n for n in old_containers(lab) if n != "%s_db_1" % lab.old_project]
    assert len(old_apps) == 2, before["containers"]

    # --check --diff here; plain --check on the finished migration below (one dry run each: they take a while).
    for options in (["--check", "--diff"],):
        rc, out = runner.playbook("migrate", lab, options=options, check=True)
        plan = plan_lines(out, lab)
        assert [line.split()[1] for line in plan] == [str(n) for n in range(1, 10)], (options, plan)
        steps = dict((int(line.split()[1]), line) for line in plan)
        assert "1 CoreApp(s)" in steps[1] and "create %s-wacore1, %s-waweb1" % (lab.new_stack, lab.new_stack) in steps[1]
        assert "database container %s (MYSQL)" % lab.new_db in steps[1]
        assert lab.new_url in steps[2] and "not registered" in steps[2]
        assert "disable two-step verification" in steps[3] and lab.old_hooks.url in steps[3]
        assert lab.old_url in steps[4] and labmod.WA_ID in steps[4] and lab.state_dir in steps[4]
        assert "the containers %s of the old stack" % ", ".join(old_apps) in steps[5], steps[5]
        assert "keeps the database container(s) %s_db_1" % lab.old_project in steps[5]
        assert lab.prefix + ".settings.bak (taken by step 4 of this run)" in steps[6]
        assert MESSAGE_TO in steps[7] and "enable two-step verification again" in steps[8]
        assert lab.new_hooks.url in steps[9]
        # Each step also said it as it came (steps 6 to 9 together, after step 9: no dry-run task in the downtime).
        assert all(out.count(line) == 2 for line in plan), tail(out)
        # --diff: the webhook URL step 3 would reset, as a diff of the old setup's settings.
        assert re.search(r'-\s*"url": "%s"' % re.escape(lab.old_hooks.url), out), tail(out)
        assert snapshot(lab, lab.old_url, old_token) == before, options

    # The checks alone: they pass, change nothing and take no lock; no step runs.
    rc, out = runner.playbook("migrate", lab, tags=["preflight"], check=True)
    assert "Preflight of migration %s passed" % lab.prefix in out and "no lock was taken" in out, tail(out)
    assert re.search(r"localhost\s+: ok=\d+\s+changed=0 ", out), tail(out)
    assert not re.search(r"TASK \[(Step \d|Dry run \| What)", out), tail(out)  # no step, no would-line
    # A refusal of the checks alone names the variable, and changes nothing either.
    rc, out = runner.playbook("migrate", lab, tags=["preflight"], extra={"wabiz_coreapps": 2}, check=False)
    assert "The new setup has 2 CoreApp(s), the old has 1" in out, tail(out)
    assert snapshot(lab, lab.old_url, old_token) == before

    # A real run prints progress while it waits (every second here): what it waits for and the seconds elapsed;
    # on the new setup's API also what is not ready yet.
    rc, out = runner.playbook("migrate", lab, extra={"wabiz_progress_interval": 1}, check=True)
    progress = re.findall(r"waiting for (.+?): (\d+) s elapsed of at most (\d+) s(.*)", out)
    assert progress, tail(out)
    awaited = " ".join(p[0] for p in progress)
    assert "stack %s" % lab.new_stack in awaited, progress
    # Step 7 waits (inside the message module) until the restored setup initialised itself: 3 s at least.
    health = "a healthy setup at %s before the test message" % lab.new_url
    assert health in awaited, progress
    assert all(int(p[2]) == 300 for p in progress if "stack" in p[0] or health in p[0]), progress
    assert any("not ready yet: " in p[3] for p in progress if health in p[0]), progress
    assert "RETRYING" not in out
    record = json.loads(open(os.path.join(lab.state_dir, lab.prefix + ".json"), encoding="utf-8").read())
    assert record["status"] == "migrated"

    # A dry run of the finished migration has nothing to do, and changes nothing (the old Webapp is gone now).
    new_token = login(lab.new_url, labmod.NEW_ADMIN_PASSWORD)
    done = snapshot(lab, lab.new_url, new_token)
    rc, out = runner.playbook("migrate", lab, options=["--check"], check=True)
    assert "Dry run of migration %s (status migrated): nothing was changed." % lab.prefix in out, tail(out)
    assert "Nothing to do: every step of the migration is finished." in out, tail(out)
    assert plan_lines(out, lab) == []
    assert snapshot(lab, lab.new_url, new_token) == done
