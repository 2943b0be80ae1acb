# Copyright (c) 2026, wabiz.api_client contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""End-to-end migration on PostgreSQL: an old single-instance setup whose database is an external
PostgreSQL server reached by address (as managed databases are) migrates to a new setup on a PostgreSQL
container made by the collection. Real ansible-playbook runs against the emulator; no mocks."""

import json
import os
import subprocess
import sys

import lab as labmod
from conftest import assert_no_secrets, state_record, tail, tool
from test_migration import MESSAGE_TO, age_record, before_migration, docker_names, health, login, old_containers, summarize, volumes


def stack_info(runner, lab, name):
    """The stacks wabiz.api_client.stack_info reports for ``name`` (an ad-hoc run of the module)."""
    args = dict(name=name, coreapp_images=[labmod.COREAPP_REPOSITORY], web_images=[labmod.WEB_REPOSITORY])
    cmd = [tool("ansible"), "localhost", "-c", "local", "-i", "localhost,", "-e",
           "ansible_python_interpreter=%s" % sys.executable, "-m", "wabiz.api_client.stack_info", "-a",
           json.dumps(args)]
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=runner.env(),
                          cwd=lab.workdir, check=False)
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert_no_secrets(proc.stdout, "stack_info output")
    return json.loads(proc.stdout[proc.stdout.index("{"):])["stacks"]


def old_pg_rows(lab):
    """What the old setup wrote to its PostgreSQL database: key/value keys and API users."""
    return (set(lab.old_pg_sql("SELECT k FROM waent_kv").split()),
            lab.old_pg_sql("SELECT username FROM waent_users ORDER BY username").split())


def test_postgresql_migration_from_an_external_server_then_decommission(make_lab, runner):
    lab = make_lab("single", db_engine="PGSQL")
    old_token, old_state = before_migration(lab)
    assert old_state["db_engine"] == "pgsql"
    address = lab.old.db_env["WA_DB_HOSTNAME"]
    keys_before, users_before = old_pg_rows(lab)
    assert {"registration", "encryption_keys", "setup_id"} <= keys_before and "admin" in users_before

    # stack_info on the old stack: PostgreSQL on an external server, by address; no database container.
    (old,) = stack_info(runner, lab, lab.old_project)
    assert old["counts"] == {"masters": 0, "coreapps": 1, "webapps": 1, "databases": 0}
    assert old["db"] == {"engine": "PGSQL", "hostname": address, "port": 5432, "username": "postgres",
                         "name_prefix": None, "container": None, "external": True, "volume": None}

    runner.playbook("migrate", lab, check=True)

    # The new setup: on a PostgreSQL container, healthy, with the old number, counts and keys.
    state = state_record(lab)
    assert state["status"] == "migrated"
    new_state = lab.emulator_state(lab.new_url)
    assert new_state["db_engine"] == "pgsql"
    assert new_state["registered"] and new_state["wa_id"] == labmod.WA_ID
    assert new_state["registration_sha256"] == old_state["registration_sha256"]
    assert new_state["encryption_keys_sha256"] == old_state["encryption_keys_sha256"]
    assert (new_state["topology"]["masters"], new_state["topology"]["coreapps"]) == (0, 1)
    token = login(lab.new_url, labmod.NEW_ADMIN_PASSWORD)
    status, body = health(lab.new_url, token)
    assert status == 200 and summarize(body, None)["healthy"], body
    (new,) = stack_info(runner, lab, lab.new_stack)
    assert new["counts"] == {"masters": 0, "coreapps": 1, "webapps": 1, "databases": 1}
    assert (new["db"]["engine"], new["db"]["container"], new["db"]["external"], new["db"]["port"]) == (
        "PGSQL", lab.new_db, False, 5432)
    assert new["databases"][0]["image"] == labmod.POSTGRES_IMAGE
    # The test message went out from the new setup.
    sent = [m for m in lab.network_get("/messages") if m.get("to") == MESSAGE_TO]
    assert sent and {m["setup_id"] for m in sent} == {new_state["setup_id"]}
    assert state["test_message"]["id"]

    # The old setup: its client containers are gone; the external PostgreSQL server, its rows and its
    # volume are untouched.
    assert old_containers(lab) == []
    assert docker_names("name=^%s$" % lab.old_pg, "status=running") == [lab.old_pg]
    assert old_pg_rows(lab) == (keys_before, users_before)
    assert lab.old_pg_volume in volumes()
    assert health(lab.new_url, old_token)[0] == 401

    # Step 10 (two days later, with the 14 days overridden to 1): the external server is named with what to
    # drop, and nothing is dropped there. An override of 0 is refused as an input.
    age_record(lab, days=2)
    rc, out = runner.playbook("decommission", lab, extra={"wabiz_decommission_min_days_override": 1}, check=True)
    assert "Nothing was dropped there" in out and address in out and "PGSQL" in out, tail(out)
    assert docker_names("name=^%s$" % lab.old_pg, "status=running") == [lab.old_pg]
    assert old_pg_rows(lab) == (keys_before, users_before)
    assert lab.old_pg_volume in volumes()
    assert state_record(lab)["status"] == "decommissioned"
    assert os.path.exists(state["backup"]["path"])


def test_postgresql_restore_failure_rolls_back_onto_the_kept_external_server(make_lab, runner):
    """Step 6 fails after the old client is gone; rollback installs the old client again on its kept
    PostgreSQL database, reached by the same address, and it serves the number again."""
    lab = make_lab("single", db_engine="PGSQL")
    old_token, old_state = before_migration(lab)
    rows_before = old_pg_rows(lab)
    runner.playbook("migrate", lab, tags=["step1_install", "step2_login", "step3_cleanup", "step4_backup"],
                    check=True)
    status = labmod.dockerctl.http("POST", lab.new_url + "/_emulator/faults",
                                   {"restore": {"status": 500, "code": 1014, "count": 5}})[0]
    assert status == 200
    rc, out = runner.playbook("migrate", lab, check=False)
    assert "Step 6" in out and "failed=1" in out, tail(out)
    assert old_containers(lab) == [] and old_pg_rows(lab) == rows_before

    runner.playbook("rollback", lab, check=True)
    back = lab.emulator_state(lab.old_url)
    assert back["db_engine"] == "pgsql" and back["setup_id"] == old_state["setup_id"]
    assert back["registered"] and back["registration_sha256"] == old_state["registration_sha256"]
    token = login(lab.old_url, labmod.OLD_ADMIN_PASSWORD)
    status, body = health(lab.old_url, token)
    assert summarize(body, None)["healthy"], body
    (old,) = stack_info(runner, lab, lab.old_project)
    assert old["counts"]["coreapps"] == 1 and old["counts"]["webapps"] == 1
    assert (old["db"]["engine"], old["db"]["hostname"], old["db"]["external"]) == (
        "PGSQL", lab.old.db_env["WA_DB_HOSTNAME"], True)
    status, body = labmod.Lab.api("POST", lab.old_url, "/v1/messages", token=token,
                                  body={"to": MESSAGE_TO, "type": "text", "recipient_type": "individual",
                                        "text": {"body": "after the rollback on PostgreSQL"}})
    assert status in (200, 201), body
    assert state_record(lab)["status"] == "rolled_back"
