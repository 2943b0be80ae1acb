# Copyright (c) 2026, wabiz.api_client contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The Docker side on PostgreSQL, on a real engine: stack_install with a PostgreSQL database container
(db_container engine=PGSQL, the emulator's stand-in wabiz-emulator/postgres:13), stack_info reporting it,
the uninstall keeping it with its rows, and db_container removing it, its volume only when asked."""

from __future__ import annotations

import json

from conftest import DB_PASSWORD, containers, docker, https_status  # pylint: disable=import-error
from test_stack import emulator_network, image_vars, install_role, role, snapshot  # pylint: disable=import-error

PG_IMAGE = "wabiz-emulator/postgres:13"


def psql(container, statement, dbname="postgres"):
    return docker("exec", container, "psql", "-U", "postgres", "-d", dbname, "-At", "-c", statement)


def test_postgresql_install_stack_info_uninstall_and_removal(play, prefix, standin, run_images):
    name = "%s-pg" % prefix
    db = "%s-db" % name
    port = emulator_network(standin, name)
    variables = dict(stack_install_name=name, stack_install_db_engine="PGSQL", stack_install_db_password=DB_PASSWORD,
                     stack_install_db_container=True, stack_install_db_image=PG_IMAGE,
                     stack_install_db_name_prefix="pgit", stack_install_web_port=port,
                     **image_vars(run_images, prefix))

    # A password the client cannot use is refused, naming the field, before anything is made.
    bad = play(install_role(**dict(variables, stack_install_db_password="pg=pass")))
    assert bad.failed and "password" in bad.failure()[1] and "?{}&~!()^=" in bad.failure()[1], bad
    assert containers(name) == {}

    res = play(install_role(**variables))
    assert not res.failed, res
    assert {n: s for n, (_i, s) in containers(name).items()} == {
        db: "running", "%s-wacore1" % name: "running", "%s-waweb1" % name: "running"}
    assert https_status(port) is not None, "the Webapp does not answer HTTPS"
    db_info = json.loads(docker("inspect", db))[0]
    assert db_info["Config"]["Image"] == PG_IMAGE
    assert {m["Destination"]: m["Name"] for m in db_info["Mounts"]} == {"/var/lib/postgresql/data": "%s-data" % db}
    assert "POSTGRES_PASSWORD=%s" % DB_PASSWORD in db_info["Config"]["Env"]
    core = json.loads(docker("inspect", "%s-wacore1" % name))[0]["Config"]
    assert core["Cmd"] == ["/opt/whatsapp/bin/wait_on_postgres.sh", "/opt/whatsapp/bin/launch_within_docker.sh"]
    env = dict(item.split("=", 1) for item in core["Env"])
    assert (env["WA_DB_ENGINE"], env["WA_DB_PORT"], env["WA_DB_USERNAME"], env["WA_DB_NAME_PREFIX"]) == (
        "PGSQL", "5432", "postgres", "pgit")
    # The client made its database (named after the prefix) on the PostgreSQL server.
    assert "pgit" in psql(db, "SELECT datname FROM pg_database").split()

    info = play("  tasks:\n    - wabiz.api_client.stack_info:\n        name: %s\n      register: info\n" % name)
    stack = info.result("stack_info")["stacks"][0]
    assert stack["counts"] == {"masters": 0, "coreapps": 1, "webapps": 1, "databases": 1}
    assert stack["db"] == {"engine": "PGSQL", "hostname": db, "port": 5432, "username": "postgres",
                           "name_prefix": "pgit", "container": db, "external": False, "volume": "%s-data" % db}
    assert (stack["databases"][0]["engine"], stack["databases"][0]["data_volume"]) == ("PGSQL", "%s-data" % db)
    assert DB_PASSWORD not in json.dumps(info.data)

    again = play(install_role(**variables))
    assert not again.failed and again.changed == 0, again

    # Uninstall: the client containers go; the PostgreSQL container, its rows and its volume stay.
    registered_rows = psql(db, "SELECT count(*) FROM pgit_users", dbname="pgit")
    gone = play(role("stack_uninstall", stack_uninstall_name=name))
    assert not gone.failed, gone
    assert {n: s for n, (_i, s) in containers(name).items()} == {db: "running"}
    assert psql(db, "SELECT count(*) FROM pgit_users", dbname="pgit") == registered_rows == "1"
    after = play("  tasks:\n    - wabiz.api_client.stack_info:\n        name: %s\n      register: info\n" % name)
    left = after.result("stack_info")["stacks"][0]
    assert left["counts"]["coreapps"] == 0 and (left["db"]["engine"], left["db"]["container"]) == ("PGSQL", db)

    # Decommission: the container goes, its volume only when asked (the volume is found from the container).
    removal = "  tasks:\n    - wabiz.api_client.db_container:\n        name: %s\n        engine: PGSQL\n" \
              "        state: absent\n        remove_volume: %s\n"
    res = play(removal % (db, "false"))
    assert not res.failed and res.result("db_container")["removed"], res
    assert containers(name) == {} and "%s-data" % db in snapshot(name)[1]
    res = play(removal % (db, "true"))
    assert not res.failed and res.result("db_container")["volume_removed"], res
    assert "%s-data" % db not in snapshot(name)[1]
    standin.detach(name)
