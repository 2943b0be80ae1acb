# Copyright (c) 2026, wabiz.api_client contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A migration over SSH: the old setup spread over two Docker hosts (two engines), the new one installed over
two other hosts (two more engines), the backup on a fifth host, everything reached with real sshd, keys and a
non-root user (become only on the backup host). No mocks. Test order matters: the refusal first (the old
setup must still be there), then the migration."""

import os
import re
import stat

import yaml

import mhlab
from conftest import tail

e2elab = mhlab.e2elab
API_ACTIONS = {"wabiz.api_client." + name for name in
               yaml.safe_load(open(os.path.join(mhlab.REPO, "meta", "runtime.yml"), encoding="utf-8"))
               ["action_groups"]["api"]}
DOCKER_HOSTS = ("old-a", "old-b", "new-a", "new-b")


def where(record, lab):
    """The inventory host a task record ran on: its delegate when delegated (found by address), else its host."""
    if not record["delegate_to"]:
        return record["host"]
    if record["delegated_connection"] == "local" or record["delegate_to"] == "localhost":
        return "localhost"
    by_address = {ssh.address: name for name, ssh in lab.topo.hosts.items()}
    return by_address.get(record["delegated_address"], record["delegate_to"])


def ran(tasks):
    return [t for t in tasks if t["outcome"] != "skipped"]


def old_names(lab, host):
    return lab.names(host, "label=com.docker.compose.project=%s" % lab.old_project)


def new_names(lab, host):
    return lab.names(host, "label=biz.wabiz.stack=%s-new-%s" % (lab.prefix, host[-1]))


def test_preflight_refuses_counts_summed_over_two_old_hosts(lab, playbook):
    """New counts equal to the first old host's share (1 Master, 2 CoreApps) but not to the old setup's sum
    over both hosts (2 Masters, 3 CoreApps): refused before anything changes, naming both sums."""
    before = {h: old_names(lab, h) for h in ("old-a", "old-b")}
    assert len(before["old-a"]) == 5 and len(before["old-b"]) == 2, before
    inventory = lab.write_inventory(
        "mismatch", counts={"masters": 1, "coreapps": 2},
        new_shares={"new-a": {"masters": 1, "coreapps": 1, "webapps": 1},
                    "new-b": {"masters": 0, "coreapps": 1, "webapps": 0}})
    result = playbook("migrate", inventory)
    assert result.rc != 0, tail(result.output)
    failed = [t for t in result.tasks if t["outcome"] == "failed"]
    assert failed, tail(result.output)
    text = "\n".join(line for line in result.output.splitlines() if line.startswith("fatal:"))
    # The new totals and the old sums over both hosts (1 + 1 Masters, 2 + 1 CoreApps) are named.
    for pattern in (r"\b1 Master", r"\b2 CoreApp", r"(\b2 Masters?\b|old has 2\b)", r"(\b3 CoreApps?\b|old has 3\b)"):
        assert re.search(pattern, text), (pattern, text or tail(result.output))
    # Nothing changed: the old setup runs on both hosts, nothing new was installed, no state step started.
    assert {h: old_names(lab, h) for h in ("old-a", "old-b")} == before
    assert new_names(lab, "new-a") == [] and new_names(lab, "new-b") == []
    assert not [t for t in ran(result.tasks) if t["action"] in ("wabiz.api_client.stack", "wabiz.api_client.db_container")]


def test_one_new_host_failing_preflight_stops_every_host(lab, playbook):
    """new-b lacks the new CoreApp image: the preflight fails there, and nothing may change anywhere -- not even
    on new-a, whose own checks pass (a partial new setup would be restored onto after the old one is gone)."""
    image = "wabiz-emulator/coreapp:v%s" % e2elab.NEW_VERSION
    keep = "wmh-keep/coreapp:%s" % lab.prefix
    engine = lab.topo.engines["e3"]
    engine.docker("image", "tag", image, keep)
    engine.docker("image", "rm", image)  # only the tag goes: the image stays under the other name
    try:
        result = playbook("migrate", lab.write_inventory("one-host-missing-image"), "--tags", "step1_install")
    finally:
        engine.docker("image", "tag", keep, image)
        engine.docker("image", "rm", keep)
        created = lab.names("new-a", "label=biz.wabiz.stack=%s-new-a" % lab.prefix)
        if created:  # leave the lab as it was for the next test, whatever happened
            lab.docker("new-a", "rm", "-f", *created)
    assert result.rc != 0, tail(result.output)
    assert [t for t in result.tasks if t["outcome"] == "failed"], tail(result.output)
    assert image in "\n".join(line for line in result.output.splitlines() if line.startswith("fatal:"))
    assert created == [], "step 1 ran on new-a although new-b failed its preflight: %s" % created
    assert not [t for t in ran(result.tasks) if t["action"] in ("wabiz.api_client.stack", "wabiz.api_client.db_container")]


def test_step1_failing_on_one_new_host_stops_before_the_old_setup_is_touched(lab, playbook):
    """Step 1 fails on new-b only (its engine cannot be reached when the stack is installed): the run must stop
    there. Going on would back up, remove the old client (step 5) and restore onto half a new setup."""
    old_before = {h: old_names(lab, h) for h in ("old-a", "old-b")}
    inventory = lab.write_inventory("step1-fails-on-one-host", host_vars={
        "new-b": {"stack_install_docker_host": "unix://%s/nothing-here.sock" % lab.workdir}})
    try:
        result = playbook("migrate", inventory)
    finally:
        for host in ("new-a", "new-b"):
            created = new_names(lab, host)
            if created:  # leave the lab as it was for the next test
                lab.docker(host, "rm", "-f", *created)
    assert result.rc != 0, tail(result.output)
    failed = [t for t in result.tasks if t["outcome"] == "failed"]
    assert [t["host"] for t in failed] == ["new-b"], tail(result.output)
    later = [t["task"] for t in ran(result.tasks) if t["action"] in (
        "wabiz.api_client.login", "wabiz.api_client.settings_backup", "wabiz.api_client.settings_restore")]
    assert later == [], "steps 2 and later ran after step 1 failed on new-b: %s" % later
    assert {h: old_names(lab, h) for h in ("old-a", "old-b")} == old_before
    assert not [t for t in ran(result.tasks) if t["action"] == "wabiz.api_client.stack" and t["host"] in ("old-a", "old-b")]


def test_migration_over_ssh_two_old_hosts_two_new_hosts(lab, playbook):
    old_before = lab.emulator_state(lab.old_url)
    assert old_before["registered"] and old_before["topology"]["masters"] == 2
    assert old_before["topology"]["coreapps"] == 3
    inventory = lab.write_inventory("migrate")
    result = playbook("migrate", inventory)
    assert result.rc == 0, tail(result.output, 120)

    # The state record on the backup host (root-owned directory: written with become), status migrated.
    record_path = os.path.join(lab.state_dir, lab.prefix + ".json")
    with open(record_path, encoding="utf-8") as fh:
        record_text = fh.read()
    for secret in mhlab.SECRETS:
        assert secret not in record_text
    state = mhlab.json.loads(record_text)
    assert state["status"] == "migrated", state
    backup = os.stat(state["backup"]["path"])
    assert stat.S_IMODE(backup.st_mode) == 0o600 and backup.st_uid == 0

    # The new setup: installed over new-a and new-b, each on its own engine, with the old counts in all.
    assert [n.rsplit("-", 1)[1] for n in new_names(lab, "new-a")] == ["master1", "wacore1", "wacore2", "waweb1"]
    assert [n.rsplit("-", 1)[1] for n in new_names(lab, "new-b")] == ["master1", "wacore1"]
    assert lab.names("new-b", "label=biz.wabiz.stack=%s-new-a" % lab.prefix) == []  # separate engines
    new_state = lab.emulator_state(lab.new_url)
    assert new_state["registered"] and new_state["wa_id"] == e2elab.WA_ID
    assert new_state["registration_sha256"] == old_before["registration_sha256"]
    assert new_state["encryption_keys_sha256"] == old_before["encryption_keys_sha256"]
    assert new_state["restore_count"] == 1
    assert new_state["shards"] == 2
    assert (new_state["topology"]["masters"], new_state["topology"]["coreapps"]) == (2, 3)
    status, body = e2elab.Lab.api("POST", lab.new_url, "/v1/users/login",
                                  basic=("admin", e2elab.NEW_ADMIN_PASSWORD), body={})
    assert status == 200, body
    status, body = e2elab.Lab.api("GET", lab.new_url, "/v1/health", token=body["users"][0]["token"])
    assert status == 200, body
    health = body["health"]
    assert mhlab.dockerctl.summarize(health, 2)["healthy"], health
    for host in ("new-a", "new-b"):  # nodes of both hosts are part of the one new cluster
        assert [k for k in health if k.startswith("%s-new-%s-" % (lab.prefix, host[-1]))], (host, health)
    # The number moved: the test message went out from the new setup, which now holds the number.
    sent = [m for m in lab.network_get("/messages") if m.get("to") == "15550003333"]
    assert sent and {m["setup_id"] for m in sent} == {new_state["setup_id"]}
    assert lab.network_get("/numbers/%s" % e2elab.WA_ID)["current"]["setup_id"] == new_state["setup_id"]

    # The old setup: client containers gone from both hosts, its database kept and running on old-a.
    db = lab.old["old-a"].container("db")
    assert old_names(lab, "old-b") == []
    assert old_names(lab, "old-a") == [db]
    assert lab.names("old-a", "name=^%s$" % db, "status=running") == [db]
    keys = lab.docker("old-a", "exec", db, "mysql", "-uroot", "-p" + e2elab.DB_PASSWORD, "-N", "-e",
                      "SELECT k FROM waent.waent_kv").split()
    assert {"registration", "encryption_keys", "setup_id"} <= set(keys)

    # Where the modules ran: every API module (they carry a setup's password or token) on the controller,
    # never on a Docker host; the Docker modules on each Docker host, over SSH.
    executed = ran(result.tasks)
    api = [t for t in executed if t["action"] in API_ACTIONS]
    assert api, "no API module ran at all"
    assert [t for t in api if where(t, lab) != "localhost"] == []
    docker_side = {where(t, lab) for t in executed if t["action"].startswith("wabiz.api_client.stack")}
    assert docker_side == set(DOCKER_HOSTS), docker_side
