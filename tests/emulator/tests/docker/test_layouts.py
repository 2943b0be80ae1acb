# Copyright (c) 2026, wabiz.api_client contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Meta's official compose layouts on the emulator images, with docker-compose on a real engine."""
import json
import re
import time

from conftest import ADMIN_PASSWORD, NEW_VERSION, OLD_VERSION, docker

import dockerctl

OFFICIAL_COMMAND = ["/opt/whatsapp/bin/wait_on_mysql.sh", "/opt/whatsapp/bin/launch_within_docker.sh"]


def inspect(container):
    return json.loads(docker("inspect", container))[0]


def node_container_ids(stack):
    """{service: 12-hex container id} for the CoreApp/Master containers of a stack."""
    out = {}
    for service, names in stack.containers().items():
        if service.startswith(("master", "wacore")):
            out[service] = inspect(names[0])["Id"][:12]
    return out


def roles(health):
    return {key: (value["role"], value["gateway_status"]) for key, value in health.items()}


def test_multiconnect_layout_documented_health_shape(stacks):
    stack = stacks("multi", layout="multiconnect")
    services = stack.containers()
    assert sorted(services) == ["db", "master1", "master2", "wacore1", "wacore2", "wacore3", "waweb"]
    for service in ("waweb", "master1", "master2", "wacore1", "wacore2", "wacore3"):
        info = inspect(services[service][0])
        kind = "web" if service == "waweb" else "coreapp"
        assert info["Config"]["Image"] == "wabiz-emulator/%s:v%s" % (kind, OLD_VERSION)
        assert info["Config"]["Cmd"] == OFFICIAL_COMMAND
        env = dict(item.split("=", 1) for item in info["Config"]["Env"])
        assert env["WA_APP_MULTICONNECT"] == "1"
        assert env["WA_DB_HOSTNAME"] == "db" and env["WA_DB_ENGINE"] == "MYSQL"
        assert env["WA_EMULATOR_VERSION"] == "v" + OLD_VERSION
        if kind == "coreapp":
            assert env["COREAPP_HOSTNAME"] == service
            assert env["COREAPP_EXTERNAL_PORTS"] == "6250,6251,6252,6253"
            assert env.get("WA_MASTER_NODE") == ("1" if service.startswith("master") else None)
            assert sorted(info["Config"]["ExposedPorts"]) == ["6250/tcp", "6251/tcp", "6252/tcp", "6253/tcp"]
        else:
            assert env["WEBAPP_HOSTNAME"] == "waweb"
        mounts = {m["Destination"]: m for m in info["Mounts"]}
        assert mounts["/usr/local/wamedia"]["Name"] == "%s_whatsappMedia" % stack.project
    db = inspect(services["db"][0])
    assert db["Config"]["Image"] == "wabiz-emulator/mysql:8.0.33"
    assert db["Config"]["Cmd"] == ["--default-authentication-plugin=mysql_native_password"]
    assert {m["Destination"]: m["Name"] for m in db["Mounts"]}["/var/lib/mysql"] == "%s_mysqlData" % stack.project

    state = stack.seed("15550001001", shards=2, admin_password=ADMIN_PASSWORD)
    assert state["registered"] and state["db_engine"] == "mysql" and state["version"] == "v" + OLD_VERSION
    token = stack.login(ADMIN_PASSWORD)
    health = stack.wait_health(token, expect_shards=2)
    # Keys are "<hostname>:<container id>", as the real client names its nodes.
    ids = node_container_ids(stack)
    assert sorted(health) == sorted("%s:%s" % (svc, cid) for svc, cid in ids.items())
    by_role = sorted(roles(health).values())
    # 2 shards: 2 CoreApps and the primary Master connected; secondary Master and spare CoreApp not.
    assert by_role == [("coreapp", "connected"), ("coreapp", "connected"), ("coreapp", "disconnected"),
                       ("primary_master", "connected"), ("secondary_master", "disconnected")]
    # Stays that way (no flapping) for a few ticks.
    time.sleep(2)
    assert sorted(roles(stack.health(token)).values()) == by_role


def test_killed_primary_master_is_replaced(stacks):
    stack = stacks("failover", layout="multiconnect")
    stack.seed("15550001002", shards=2, admin_password=ADMIN_PASSWORD)
    token = stack.login(ADMIN_PASSWORD)
    before = dockerctl.summarize(stack.wait_health(token, expect_shards=2), 2)
    old_primary = before["primary_master"].split(":")[0]
    docker("kill", stack.container(old_primary))

    def replaced(health):
        summary = dockerctl.summarize(health, 2)
        return summary["healthy"] and summary["primary_master"].split(":")[0] != old_primary

    health = stack.wait_health(token, predicate=replaced, timeout=60)
    new_primary = dockerctl.summarize(health, 2)["primary_master"].split(":")[0]
    assert {old_primary, new_primary} == {"master1", "master2"}
    # The killed Master comes back (docker start) as the secondary: the lease stays where it is.
    docker("start", stack.container(old_primary))

    def rejoined(health):
        summary = dockerctl.summarize(health, 2)
        back = [v for k, v in health.items() if k.startswith(old_primary + ":")]
        return (summary["healthy"] and summary["primary_master"].startswith(new_primary + ":")
                and back and back[0]["role"] == "secondary_master")

    stack.wait_health(token, predicate=rejoined, timeout=60)


def test_single_instance_layout_and_db_volume_survives_recreation(stacks):
    stack = stacks("single", layout="single")
    assert sorted(stack.containers()) == ["db", "wacore", "waweb"]
    # The known trap of older official files (network_mode: bridge) is not there: a user-defined network.
    for service in ("db", "wacore", "waweb"):
        nets = inspect(stack.container(service))["NetworkSettings"]["Networks"]
        assert list(nets) == [stack.network], nets
    web_env = dict(e.split("=", 1) for e in inspect(stack.container("waweb"))["Config"]["Env"])
    assert web_env["WACORE_HOSTNAME"] == "wacore" and "WA_APP_MULTICONNECT" not in web_env
    state = stack.seed("15550001003", shards=1, admin_password=ADMIN_PASSWORD)
    token = stack.login(ADMIN_PASSWORD)
    assert stack.wait_health(token) == {"gateway_status": "connected"}

    old_db = inspect(stack.container("db"))["Id"]
    stack.compose("up", "-d", "--no-deps", "--force-recreate", "db")
    new_db = inspect(stack.container("db"))
    assert new_db["Id"] != old_db

    after = stack.state()
    # The new container found the data on the volume: no second initialisation.
    logs = docker("logs", new_db["Id"])
    assert "skipping initialisation" in logs and "Initializing database files" not in logs
    assert after["registered"] and after["wa_id"] == "15550001003"
    assert after["setup_id"] == state["setup_id"]
    # API users live in the setup's database: the changed admin password still works.
    token = stack.login(ADMIN_PASSWORD)
    assert stack.wait_health(token) == {"gateway_status": "connected"}


def test_version_change_recreates_client_containers_and_keeps_data(stacks):
    stack = stacks("upgrade", layout="single")
    stack.seed("15550001004", shards=1, admin_password=ADMIN_PASSWORD)
    token = stack.login(ADMIN_PASSWORD)
    stack.wait_health(token)
    before = {svc: inspect(stack.container(svc))["Id"] for svc in ("db", "wacore", "waweb")}
    stack.set_version(NEW_VERSION)
    after = {svc: inspect(stack.container(svc))["Id"] for svc in ("db", "wacore", "waweb")}
    assert after["db"] == before["db"]
    assert after["wacore"] != before["wacore"] and after["waweb"] != before["waweb"]
    assert inspect(stack.container("wacore"))["Config"]["Image"] == "wabiz-emulator/coreapp:v" + NEW_VERSION
    status, body = dockerctl.http("GET", stack.wait_web() + "/v1/health",
                                  headers={"Authorization": "Bearer " + stack.login(ADMIN_PASSWORD)})
    assert status == 200 and body["meta"]["version"] == "v" + NEW_VERSION
    assert stack.state()["wa_id"] == "15550001004"


def test_two_setups_on_one_db_server_with_different_prefixes(stacks):
    first = stacks("prefix-a", layout="single")
    # The second setup runs only its CoreApp and Webapp, on the first setup's network and database.
    second = stacks("prefix-b", layout="single", external_network=first.network, services=["wacore", "waweb"],
                    db_env=dict(first.db_env, WA_DB_NAME_PREFIX="setupb"))
    assert "db" not in second.containers()
    a = first.seed("15550001005", shards=1, admin_password=ADMIN_PASSWORD)
    b = second.seed("15550001006", shards=1, admin_password=ADMIN_PASSWORD)
    assert a["db_prefix"] == "waent" and b["db_prefix"] == "setupb"
    assert a["setup_id"] != b["setup_id"]
    for stack in (first, second):
        assert stack.wait_health(stack.login(ADMIN_PASSWORD)) == {"gateway_status": "connected"}
    assert first.state()["wa_id"] == "15550001005" and second.state()["wa_id"] == "15550001006"
    out = docker("exec", first.container("db"), "mariadb", "-uroot", "-ptestpass", "-N", "-e", "SHOW DATABASES")
    databases = set(out.split())
    assert {"waent", "setupb"} <= databases, databases
    tables = docker("exec", first.container("db"), "mariadb", "-uroot", "-ptestpass", "-N", "-e",
                    "SELECT table_schema, table_name FROM information_schema.tables"
                    " WHERE table_schema IN ('waent', 'setupb')")
    assert re.search(r"^setupb\s+setupb_", tables, re.M) and re.search(r"^waent\s+waent_", tables, re.M)
