# Copyright (c) 2026, wabiz.api_client contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""End-to-end migrations: the collection's playbooks, run for real (ansible-playbook / ansible-runner)
against the emulator on this machine's Docker engine. No mocks. Each test has its own lab (unique
Docker names wabiz-e2e-<run>-<n>-*) and removes it afterwards."""

import hashlib
import json
import os
import shutil
import signal
import stat
import subprocess
import sys
import time

import lab as labmod
from conftest import assert_no_secrets, collection_dir, state_record, tail, tool

MESSAGE_TO = "15550003333"


# --- what the lab looks like -------------------------------------------------------------------------

def docker_names(*filters):
    args = ["docker", "ps", "-a", "--format", "{{.Names}}"]
    for f in filters:
        args += ["--filter", f]
    out = subprocess.run(args, stdout=subprocess.PIPE, text=True, check=True).stdout
    return sorted(out.split())


def old_containers(lab):
    return docker_names("label=com.docker.compose.project=%s" % lab.old_project)


def old_db_container(lab):
    return "%s_db_1" % lab.old_project


def old_db_keys(lab):
    """Rows of the old setup's key/value table, read straight from its kept database."""
    out = subprocess.run(["docker", "exec", old_db_container(lab), "mysql", "-uroot", "-p" + labmod.DB_PASSWORD,
                          "-N", "-e", "SELECT k FROM waent.waent_kv"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, check=True).stdout
    return set(out.split())


def volumes():
    return set(subprocess.run(["docker", "volume", "ls", "-q"], stdout=subprocess.PIPE, text=True,
                              check=True).stdout.split())


def login(base, password):
    status, body = labmod.Lab.api("POST", base, "/v1/users/login", basic=("admin", password), body={})
    assert status == 200, (status, body)
    return body["users"][0]["token"]


def health(base, token):
    status, body = labmod.Lab.api("GET", base, "/v1/health", token=token)
    return status, body


def summarize(body, shards):
    return labmod.dockerctl.summarize(body["health"], shards)


class OldClientRemovals:
    """The Docker engine's own account of step 5, watched live from before the run (the engine keeps few past
    events): when each of the old client's containers was destroyed, by the engine's clock."""

    def __init__(self, lab):
        self.lab = lab
        self.proc = subprocess.Popen(
            ["docker", "events", "--filter", "type=container", "--filter", "event=destroy",
             "--filter", "label=com.docker.compose.project=%s" % lab.old_project,
             "--format", "{{.TimeNano}} {{.Actor.Attributes.name}}"],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        time.sleep(0.5)  # subscribed before anything is removed

    def times(self):
        """``{container name: seconds since the epoch}`` of every old container destroyed so far."""
        time.sleep(0.5)
        self.proc.terminate()
        out = self.proc.communicate(timeout=10)[0]
        pairs = (line.split(" ", 1) for line in out.splitlines() if " " in line)
        return dict((name, int(nanos) / 1e9) for nanos, name in pairs)


def assert_restored_after_the_old_client_was_gone(lab, removals):
    """The guide's order, seen from outside the collection: the new setup took the restore (the emulator's
    clock) only after the engine had destroyed every Master, CoreApp and Webapp container of the old client."""
    destroyed = removals.times()
    restore = lab.emulator_state(lab.new_url)["last_restore"]
    assert destroyed and old_db_container(lab) not in destroyed, destroyed
    assert max(destroyed.values()) <= restore["at"], (destroyed, restore)
    print("restore %.3f s after the last old container was destroyed" % (restore["at"] - max(destroyed.values())))


# --- the proofs after a successful migration -----------------------------------------------------------

def assert_migrated(lab, runner, old_token, old_state_before):
    counts = lab.counts
    state = state_record(lab)
    assert state["status"] == "migrated"
    assert [s for s in state["steps"] if "finished" not in state["steps"][s]] == []

    # The new setup: healthy, same counts and shards, the same number, two-step on again.
    new_state = lab.emulator_state(lab.new_url)
    assert new_state["registered"] and new_state["wa_id"] == labmod.WA_ID
    assert new_state["registration_sha256"] == old_state_before["registration_sha256"]
    assert new_state["encryption_keys_sha256"] == old_state_before["encryption_keys_sha256"]
    assert new_state["restore_count"] == 1
    assert new_state["two_step"]["enabled"] is True
    assert new_state["shards"] == counts["shards"]
    assert new_state["topology"]["masters"] == counts["masters"]
    assert new_state["topology"]["coreapps"] == counts["coreapps"]
    assert new_state["application_settings"]["webhooks"]["url"] == lab.new_hooks.url
    token = login(lab.new_url, labmod.NEW_ADMIN_PASSWORD)
    status, body = health(lab.new_url, token)
    assert status == 200
    summary = summarize(body, None if lab.layout == "single" else counts["shards"])
    assert summary["healthy"], body
    new_names = docker_names("label=biz.wabiz.stack=%s" % lab.new_stack)
    assert len([n for n in new_names if "-master" in n]) == counts["masters"]
    assert len([n for n in new_names if "-wacore" in n]) == counts["coreapps"]

    # A test message went out from the new setup through the network stand-in.
    sent = [m for m in lab.network_get("/messages") if m.get("to") == MESSAGE_TO]
    assert sent, "no test message reached the network stand-in"
    assert {m["setup_id"] for m in sent} == {new_state["setup_id"]}
    assert state["test_message"]["id"]
    holder = lab.network_get("/numbers/%s" % labmod.WA_ID)
    assert json.dumps(holder).count(new_state["setup_id"]) >= 1

    # An inbound message reaches the new webhook receiver, not the old one.
    text = "inbound after the migration %s" % lab.prefix
    lab.send_inbound(text)
    lab.wait_received(lab.new_hooks, text)
    time.sleep(1.5)
    assert text not in labmod.Lab.bodies(lab.old_hooks)

    # The old setup: client containers gone; its database container, data and volumes kept.
    assert old_containers(lab) == [old_db_container(lab)]
    assert docker_names("name=^%s$" % old_db_container(lab), "status=running") == [old_db_container(lab)]
    assert {"registration", "encryption_keys", "jwt_secret", "setup_id"} <= old_db_keys(lab)
    assert {"%s_mysqlData" % lab.old_project, "%s_whatsappMedia" % lab.old_project} <= volumes()

    # A token of the old setup is not valid on the new one.
    status = health(lab.new_url, old_token)[0]
    assert status == 401

    # The backup: on the backup host's disk, mode 0600, with its checksum, as recorded.
    path = state["backup"]["path"]
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    with open(path, "rb") as fh:
        digest = hashlib.sha256(fh.read()).hexdigest()
    assert digest == state["backup"]["sha256"]
    with open(path + ".sha256", encoding="utf-8") as fh:
        assert fh.read().split()[0] == digest
    assert state["downtime"]["seconds"] > 0
    return state


def age_record(lab, days):
    """Move the record's migration time back by ``days`` (time passing, as decommission.yml reads it)."""
    path = os.path.join(lab.state_dir, lab.prefix + ".json")
    record = state_record(lab)
    record["migrated"] = float(record["migrated"]) - days * 86400
    with open(path + ".tmp", "w", encoding="utf-8") as fh:
        json.dump(record, fh)
    os.chmod(path + ".tmp", 0o600)
    os.replace(path + ".tmp", path)


def before_migration(lab):
    old_token = login(lab.old_url, labmod.OLD_ADMIN_PASSWORD)
    old_state = lab.emulator_state(lab.old_url)
    assert old_state["registered"] and old_state["two_step"]["enabled"]
    return old_token, old_state


# --- the tests ---------------------------------------------------------------------------------------

def test_multiconnect_migration_then_decommission(make_lab, runner):
    """The local demo's layout: 2 Masters, 3 CoreApps, 2 shards, registered, webhook + two-step on."""
    lab = make_lab("multiconnect", prove_old_webhook=True)
    old_token, old_state = before_migration(lab)
    removals = OldClientRemovals(lab)
    runner.playbook("migrate", lab, check=True)
    state = assert_migrated(lab, runner, old_token, old_state)
    assert_restored_after_the_old_client_was_gone(lab, removals)
    print("multiconnect: downtime %.2fs; steps %s" % (
        state["downtime"]["seconds"], {k: v.get("seconds") for k, v in sorted(state["steps"].items())}))

    # A re-run of a finished migration changes nothing on the setups.
    runner.playbook("migrate", lab, check=True)
    assert lab.emulator_state(lab.new_url)["restore_count"] == 1
    assert state_record(lab)["backup"] == state["backup"]

    # A scheduled backup (playbooks/backup.yml) now backs up the setup in service: the new one.
    runner.playbook("backup", lab, check=True)
    backups_dir = os.path.join(lab.state_dir, "backups")
    names = [n for n in os.listdir(backups_dir) if n.endswith(".bak")]
    assert len(names) == 1 and names[0].startswith(lab.prefix + "-new-"), names
    path = os.path.join(backups_dir, names[0])
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    with open(path, "rb") as fh, open(path + ".sha256", encoding="utf-8") as sums:
        assert hashlib.sha256(fh.read()).hexdigest() == sums.read().split()[0]

    # Step 10 is refused before 14 days; nothing is removed, and the lock is released.
    rc, out = runner.playbook("decommission", lab, check=False)
    assert "Refused" in out and "14 days" in out, tail(out)
    assert old_containers(lab) == [old_db_container(lab)]
    assert not os.path.exists(os.path.join(lab.state_dir, lab.prefix + ".lock"))

    # A blank, non-numeric, zero or negative override is refused naming the variable, nothing removed.
    for bad in ("", "two weeks", 0, -1):
        rc, out = runner.playbook("decommission", lab, extra={"wabiz_decommission_min_days_override": bad},
                                  check=False)
        assert "wabiz_decommission_min_days_override" in out, tail(out)
        assert old_containers(lab) == [old_db_container(lab)]
        assert state_record(lab)["status"] == "migrated"

    # Two days later (the record's migration time moved back), the explicit override of 1 day removes the
    # old database container, and keeps its volume unless the removal of volumes is confirmed too.
    age_record(lab, days=2)
    runner.playbook("decommission", lab, extra={"wabiz_decommission_min_days_override": 1}, check=True)
    assert old_containers(lab) == []
    assert "%s_mysqlData" % lab.old_project in volumes()
    assert state_record(lab)["status"] == "decommissioned"


def test_high_availability_migration(make_lab, runner):
    """High availability on one shard (2 Masters, 2 CoreApps): healthy means one CoreApp connected and every
    other node, the primary Master included, disconnected (Meta's health reference)."""
    lab = make_lab("ha")
    old_token, old_state = before_migration(lab)
    removals = OldClientRemovals(lab)
    runner.playbook("migrate", lab, check=True)
    state = assert_migrated(lab, runner, old_token, old_state)
    assert_restored_after_the_old_client_was_gone(lab, removals)
    token = login(lab.new_url, labmod.NEW_ADMIN_PASSWORD)
    nodes = health(lab.new_url, token)[1]["health"]
    by_role = {}
    for entry in nodes.values():
        by_role.setdefault(entry["role"], []).append(entry["gateway_status"])
    assert sorted(by_role["coreapp"]) == ["connected", "disconnected"], nodes
    assert by_role["primary_master"] == ["disconnected"] and by_role["secondary_master"] == ["disconnected"], nodes
    print("high availability: downtime %.2fs" % state["downtime"]["seconds"])


def test_single_instance_migration_through_ansible_runner(make_lab, collections_root, tmp_path, monkeypatch):
    """As AWX runs a job, with the documented inventory layout unchanged: the project holds a copy of
    inventories/example (no vault inside), an inventory sync (ansible-inventory --list --export, no vault
    secret) gives the job its inventory, ansible-runner runs the job with the secrets injected by the
    credential type of extensions/awx (its injectors rendered with the credential's inputs). The lab's
    own values (hosts reached locally, URLs, ports, counts, names) are the job template's extra vars."""
    import ansible_runner
    import jinja2
    import yaml

    lab = make_lab("single", prove_old_webhook=True)
    old_token, old_state = before_migration(lab)
    project = tmp_path / "project"
    shutil.copytree(os.path.join(collection_dir(), "inventories", "example"), project / "inventories" / "prod")
    (project / "migrate.yml").write_text(
        "---\n- name: Migration job template\n  ansible.builtin.import_playbook: wabiz.api_client.migrate\n")
    # AWX inventory update of the project source: no vault credential, nothing rendered (--export).
    rc, synced = run_tool(["ansible-inventory", "-i", str(project / "inventories" / "prod" / "hosts.yml"),
                           "--list", "--export"], cwd=str(project), env={"ANSIBLE_COLLECTIONS_PATH": collections_root})
    assert rc == 0, synced
    inventory = json.loads(synced[synced.index("{"):])
    assert "wabiz_backup_password" in inventory["all"]["vars"]
    # The job's inventory is what the sync stored, served as AWX serves it (an inventory script).
    pdd = tmp_path / "awx-job"
    (pdd / "inventory").mkdir(parents=True)
    (pdd / "env").mkdir()
    shutil.copytree(project, pdd / "project")
    script = pdd / "inventory" / "hosts"
    script.write_text("#!%s\nimport sys\nif '--host' in sys.argv:\n    print('{}')\nelse:\n    print(%r)\n"
                      % (sys.executable, json.dumps(inventory)))
    script.chmod(0o700)
    # The job template's extra vars: the lab (every host is this machine) and the test message number.
    # The old Webapp is verified against its CA, as documented. The new Webapp makes its own CA when step 1
    # starts it, unknown before the job: verification is off for it, and its ca_path (the inventory's
    # placeholder path does not exist here) names an existing file, which the modules require.
    import urllib.request
    with urllib.request.urlopen(lab.old_url + "/_emulator/ca.pem", timeout=30,
                                context=labmod.dockerctl._insecure_context()) as resp:
        (tmp_path / "old-webapp-ca.pem").write_bytes(resp.read())
    extra = dict(lab.extra_vars(), ansible_connection="local", ansible_become=False,
                 ansible_python_interpreter="{{ ansible_playbook_python }}", ansible_pipelining=True,
                 wabiz_old_ca_path=str(tmp_path / "old-webapp-ca.pem"), wabiz_old_validate_certs=True,
                 wabiz_new_ca_path=str(tmp_path / "old-webapp-ca.pem"), wabiz_new_validate_certs=False,
                 wabiz_test_message_to=MESSAGE_TO,
                 # The lab runs the emulator's images (the example inventory names Meta's).
                 wabiz_coreapp_images=[labmod.COREAPP_REPOSITORY], wabiz_web_images=[labmod.WEB_REPOSITORY],
                 stack_install_db_image=labmod.MYSQL_IMAGE)
    # The new database's password comes from the credential (wabiz_new_db_password), not from the dict.
    extra["wabiz_new_db"] = {k: v for k, v in extra["wabiz_new_db"].items() if k != "password"}
    (pdd / "env" / "extravars").write_text(json.dumps(extra))
    # The credential of the shipped type, injected as AWX does: its extra vars in a file given with -e @.
    with open(os.path.join(collection_dir(), "extensions", "awx", "credential_type.yml"), encoding="utf-8") as fh:
        credential_type = yaml.safe_load(fh)
    inputs = {"old_api_username": "admin", "old_api_password": labmod.OLD_ADMIN_PASSWORD,
              "new_api_password": labmod.NEW_ADMIN_PASSWORD, "backup_password": labmod.BACKUP_PASSWORD,
              "two_step_pin": labmod.TWO_STEP_PIN, "old_db_password": labmod.DB_PASSWORD,
              "new_db_password": labmod.DB_PASSWORD}
    injected = {k: jinja2.Template(v).render(**inputs) for k, v in credential_type["injectors"]["extra_vars"].items()}
    (pdd / "credential-extravars.json").write_text(json.dumps(injected))
    (pdd / "env" / "cmdline").write_text("-e @%s" % (pdd / "credential-extravars.json"))
    envvars = {"ANSIBLE_COLLECTIONS_PATH": collections_root}
    (pdd / "env" / "envvars").write_text(json.dumps(envvars))
    t0 = time.monotonic()
    # ansible-runner runs the ansible-playbook found on PATH: the one of this venv.
    monkeypatch.setenv("PATH", os.path.dirname(tool("ansible-playbook")) + os.pathsep + os.environ.get("PATH", ""))
    result = ansible_runner.run(private_data_dir=str(pdd), playbook="migrate.yml", quiet=True)
    stdout = result.stdout.read()
    print("ansible-runner: %s rc=%s in %.1fs" % (result.status, result.rc, time.monotonic() - t0))
    assert result.status == "successful" and result.rc == 0, tail(stdout)
    assert_no_secrets(stdout, "ansible-runner job output")
    for event in result.events:
        assert_no_secrets(json.dumps(event), "job events")
    assert_migrated(lab, None, old_token, old_state)


def run_tool(cmd, cwd, env):
    full = dict(os.environ)
    full.update(env)
    proc = subprocess.run([tool(cmd[0])] + cmd[1:], cwd=cwd, env=full, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True, check=False)
    return proc.returncode, proc.stdout


def test_restore_failure_keeps_old_database_and_rollback_brings_old_setup_back(make_lab, runner):
    lab = make_lab("multiconnect")
    old_token, old_state = before_migration(lab)
    old_keys = old_db_keys(lab)
    # Steps 1 to 4 (no downtime yet), then a fault on the new setup's restore API, then the rest.
    runner.playbook("migrate", lab, tags=["step1_install", "step2_login", "step3_cleanup", "step4_backup"],
                    check=True)
    status = labmod.dockerctl.http("POST", lab.new_url + "/_emulator/faults",
                                   {"restore": {"status": 500, "code": 1014, "count": 5}})[0]
    assert status == 200
    rc, out = runner.playbook("migrate", lab, check=False)
    assert "Step 6 failed: " in out and "failed=1" in out, tail(out)
    state = state_record(lab)
    assert "finished" in state["steps"]["step5_uninstall"] and "finished" not in state["steps"].get("step6_restore", {})
    assert state["failed"]["step"] == "step6_restore", state["failed"]
    # The old database is intact (container running, data there), only the client is gone.
    assert old_containers(lab) == [old_db_container(lab)]
    assert old_db_keys(lab) == old_keys

    # A rollback that is killed half-way (the record says rolling_back) ...
    proc, logfile = runner.start("rollback", lab)
    deadline = time.monotonic() + 600
    while state_record(lab)["status"] != "rolling_back" and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.2)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    assert state_record(lab)["status"] == "rolling_back", tail(open(logfile).read())
    # ... blocks a new migrate run (which takes over the dead run's lock, refuses, releases it) ...
    rc, out = runner.playbook("migrate", lab, check=False)
    assert "its process is gone" in out and "rolling_back" in out and "rollback.yml again" in out, tail(out)
    assert old_db_keys(lab) == old_keys
    # ... and the rollback, run again twice in a row, succeeds both times.
    runner.playbook("rollback", lab, check=True)
    runner.playbook("rollback", lab, check=True)
    back = lab.emulator_state(lab.old_url)
    assert back["setup_id"] == old_state["setup_id"]
    assert back["registered"] and back["wa_id"] == labmod.WA_ID
    assert back["registration_sha256"] == old_state["registration_sha256"]
    assert back["two_step"]["enabled"] is True
    assert back["application_settings"]["webhooks"]["url"] == lab.old_hooks.url
    token = login(lab.old_url, labmod.OLD_ADMIN_PASSWORD)
    status, body = health(lab.old_url, token)
    assert summarize(body, lab.counts["shards"])["healthy"], body
    names = docker_names("label=biz.wabiz.stack=%s" % lab.old_project)
    assert len([n for n in names if "-master" in n]) == lab.counts["masters"]
    assert len([n for n in names if "-wacore" in n]) == lab.counts["coreapps"]
    images = subprocess.run(["docker", "inspect", "--format", "{{.Config.Image}}"] + names,
                            stdout=subprocess.PIPE, text=True, check=True).stdout.split()
    assert all(i.endswith(":v" + labmod.OLD_VERSION) for i in images), images
    # The new client is uninstalled (its own database is kept for a later look).
    assert docker_names("label=biz.wabiz.stack=%s" % lab.new_stack) == [lab.new_db]
    # The old setup serves the number again: messages go out from it, inbound reaches its webhook.
    status, body = labmod.Lab.api("POST", lab.old_url, "/v1/messages", token=token,
                                  body={"to": MESSAGE_TO, "type": "text", "recipient_type": "individual",
                                        "text": {"body": "after the rollback"}})
    assert status in (200, 201), body
    lab.send_inbound("inbound after the rollback")
    lab.wait_received(lab.old_hooks, "inbound after the rollback")
    assert state_record(lab)["status"] == "rolled_back"
    # A rolled-back migration is not continued by mistake: the run fails on the refusal itself (its failure
    # line names the status; the state load prints the status on every run, so that alone proves nothing),
    # and nothing changed: the old setup still serves the number, the new client stays uninstalled, the
    # state record and the backup are as they were.
    record, old_before = state_record(lab), lab.emulator_state(lab.old_url)
    with open(record["backup"]["path"], "rb") as fh:
        backup_digest = hashlib.sha256(fh.read()).hexdigest()
    rc, out = runner.playbook("migrate", lab, check=False)
    fatal = [line for line in out.splitlines() if line.startswith("fatal:") or "FAILED!" in line]
    assert len(fatal) == 1 and "is rolled_back" in fatal[0], tail(out)
    assert "changed=0" in out and not [line for line in out.splitlines()
                                       if "changed=" in line and "changed=0" not in line], tail(out)
    assert state_record(lab) == record
    old_after = lab.emulator_state(lab.old_url)
    for key in ("setup_id", "registered", "wa_id", "registration_sha256", "restore_count", "two_step"):
        assert old_after[key] == old_before[key], key
    assert docker_names("label=biz.wabiz.stack=%s" % lab.new_stack) == [lab.new_db]
    with open(record["backup"]["path"], "rb") as fh:
        assert hashlib.sha256(fh.read()).hexdigest() == backup_digest == record["backup"]["sha256"]


def test_rollback_puts_back_the_old_webhook_url_with_its_credentials(make_lab, runner):
    """Issue 23.7: step 3 recorded the old webhook URL masked and the rollback PATCHed the mask back. The real URL
    (userinfo and a token parameter) is kept beside the backup (0600), never in the record, and put back exactly."""
    lab = make_lab("single")
    old_token, old_state = before_migration(lab)
    hook_url = "https://hook-user:Hook-Pass-42@%s:8443/webhook?token=Hook-Token-77" % lab.old_hooks.name
    status, body = labmod.Lab.api("PATCH", lab.old_url, "/v1/settings/application", token=old_token,
                                  body={"webhooks": {"url": hook_url}})
    assert status == 200, body
    rc, out = runner.playbook("migrate", lab, tags=["step3_cleanup"], check=True)
    assert lab.emulator_state(lab.old_url)["application_settings"]["webhooks"]["url"] == ""
    record = state_record(lab)
    kept = record["cleanup"]["old_webhook_url_file"]
    assert kept == os.path.join(lab.state_dir, lab.prefix + ".settings.bak.webhook-url")
    assert stat.S_IMODE(os.stat(kept).st_mode) == 0o600
    with open(kept, encoding="utf-8") as fh:
        assert fh.read() == hook_url
    # Without the kept file the rollback stops at the webhook and says how to give the URL ...
    os.rename(kept, kept + ".away")
    rc, out2 = runner.playbook("rollback", lab, check=False)
    assert "Cannot read the old webhook URL that step 3 kept" in out2 and "wabiz_old_webhook_url" in out2, tail(out2)
    assert lab.emulator_state(lab.old_url)["application_settings"]["webhooks"]["url"] == ""
    # ... and, run again with it, puts the exact URL back.
    os.rename(kept + ".away", kept)
    rc, out3 = runner.playbook("rollback", lab, check=True)
    assert lab.emulator_state(lab.old_url)["application_settings"]["webhooks"]["url"] == hook_url
    record = json.dumps(state_record(lab))
    for secret in ("Hook-Pass-42", "Hook-Token-77"):
        assert secret not in record and secret not in out + out2 + out3


def test_interrupted_after_step5_rerun_completes_with_the_original_backup(make_lab, runner):
    lab = make_lab("single")
    old_token, old_state = before_migration(lab)
    runner.playbook("migrate", lab, tags=["step1_install", "step2_login", "step3_cleanup", "step4_backup",
                                          "step5_uninstall"], check=True)
    state = state_record(lab)
    assert "finished" in state["steps"]["step5_uninstall"] and "step6_restore" not in state["steps"]
    backup = dict(state["backup"])
    mtime = os.stat(backup["path"]).st_mtime
    assert old_containers(lab) == [old_db_container(lab)]

    rc, out = runner.playbook("migrate", lab, check=True)
    state = assert_migrated(lab, runner, old_token, old_state)
    assert state["backup"] == backup
    assert os.stat(backup["path"]).st_mtime == mtime
    assert state["steps"]["step4_backup"]["runs"] == 1
    assert state["steps"]["step5_uninstall"]["runs"] == 1
    assert state["steps"]["step6_restore"]["runs"] == 1


def test_count_mismatch_stops_in_preflight_with_nothing_changed(make_lab, runner):
    lab = make_lab("single")
    before = lab.emulator_state(lab.old_url)
    rc, out = runner.playbook("migrate", lab, extra={"wabiz_masters": 2, "wabiz_coreapps": 3, "wabiz_shards": 2},
                              check=False)
    assert "Preflight" in out and "exactly the same" in out, tail(out)
    # The new Docker hosts' shares must add up to the counts (checked before anything else).
    rc, out = runner.playbook("migrate", lab, extra={"wabiz_new_host_coreapps": 2}, check=False)
    assert "shares add up" in out and "would run 0 Master(s), 2 CoreApp(s)" in out, tail(out)
    after = lab.emulator_state(lab.old_url)
    for key in ("registered", "two_step", "application_settings", "registration_sha256", "restore_count"):
        assert after[key] == before[key], key
    assert docker_names("label=biz.wabiz.stack=%s" % lab.new_stack) == []
    assert docker_names("name=%s" % lab.new_db) == []
    assert len(old_containers(lab)) == 3
    assert not os.path.exists(os.path.join(lab.state_dir, lab.prefix + ".json"))
