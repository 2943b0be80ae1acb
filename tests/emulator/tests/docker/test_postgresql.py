# Copyright (c) 2026, wabiz.api_client contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The emulator on PostgreSQL (WA_DB_ENGINE=PGSQL), on a real engine: the PostgreSQL stand-in image and its
contract, Meta's layouts reaching the server by address with WA_DB_NAME_PREFIX, wait_on_postgres.sh, and a
settings restore across engines (MySQL -> PostgreSQL)."""
import json
import os
import subprocess
import sys
import time
from base64 import b64encode

import pytest

from conftest import ADMIN_PASSWORD, FAST_ENV, docker

import dockerctl

PG_IMAGE = "wabiz-emulator/postgres:13"
PG_PASSWORD = "Pg-Passw0rd-2026"  # none of ?{}&~!()^= (Meta's restriction on the client's DB password)
WAIT_ON_POSTGRES = ["/opt/whatsapp/bin/wait_on_postgres.sh", "/opt/whatsapp/bin/launch_within_docker.sh"]
BACKUP_PASSWORD = "Backup-Passw0rd-1"
NEW_ADMIN_PASSWORD = "New-Setup-Passw0rd!"
BUILD_PY = os.path.join(dockerctl.HERE, "images", "build.py")


@pytest.fixture
def pg_server(engine, run_id, request):  # pylint: disable=unused-argument
    """A PostgreSQL stand-in on its own network; yields (container, network, address). Removed afterwards
    with its network and volume (request it before ``stacks``: the projects on its network go first)."""
    name = "%s-%s-pg" % (run_id, request.node.name[5:25].replace("_", "-"))
    docker("network", "create", name)
    docker("run", "-d", "--name", name, "--network", name, "-e", "POSTGRES_PASSWORD=" + PG_PASSWORD,
           "-v", name + "-data:/var/lib/postgresql/data", PG_IMAGE)
    try:
        yield name, name, json.loads(docker("inspect", name))[0]["NetworkSettings"]["Networks"][name]["IPAddress"]
    finally:
        docker("rm", "-f", name, check=False)
        docker("volume", "rm", name + "-data", check=False)
        docker("network", "rm", name, check=False)


def psql(container, sql, dbname="postgres"):
    return docker("exec", container, "psql", "-U", "postgres", "-d", dbname, "-At", "-c", sql)


def wait_pg(container, timeout=180):
    deadline = time.monotonic() + timeout
    while True:
        proc = subprocess.run(["docker", "exec", container, "pg_isready", "-h", "127.0.0.1", "-U", "postgres"],
                              capture_output=True, text=True, check=False)
        if proc.returncode == 0:
            return
        if time.monotonic() > deadline:
            raise AssertionError("PostgreSQL in %s not ready: %s %s" % (container, proc.stdout, docker(
                "logs", "--tail", "30", container, check=False)))
        time.sleep(0.5)


def pg_stack(stacks, name, server, layout="single", prefix=None):
    """Meta's layout without its `db` service, on the server's network, WA_DB_HOSTNAME = its address."""
    container, network, address = server
    services = {"single": ["wacore", "waweb"],
                "multiconnect": ["waweb", "master1", "master2", "wacore1", "wacore2", "wacore3"]}[layout]
    env = dict(FAST_ENV, WA_DB_ENGINE="PGSQL", WA_DB_HOSTNAME=address, WA_DB_PORT="5432",
               WA_DB_USERNAME="postgres", WA_DB_PASSWORD=PG_PASSWORD)
    if prefix:
        env["WA_DB_NAME_PREFIX"] = prefix
    return stacks(name, layout=layout, db_env=env, external_network=network, services=services,
                  override={"services": {s: {"command": WAIT_ON_POSTGRES} for s in services}})


def api(method, url, path, token=None, body=None, basic=None):
    headers = {}
    if token:
        headers["Authorization"] = "Bearer " + token
    if basic:
        headers["Authorization"] = "Basic " + b64encode(("%s:%s" % basic).encode()).decode()
    return dockerctl.http(method, url + path, body=body, headers=headers)


def test_postgres_standin_is_the_emulators_own_image_and_honours_the_official_contract(engine, run_id):
    # The tag is the emulator's own: a real postgres:13 an operator holds is never overwritten.
    tags = subprocess.run([sys.executable, BUILD_PY, "--list"], capture_output=True, text=True,
                          check=True).stdout.split()
    assert PG_IMAGE in tags
    assert not [t for t in tags if t.split(":")[0] in ("postgres", "library/postgres", "docker.io/library/postgres")]
    info = json.loads(docker("image", "inspect", PG_IMAGE))[0]
    labels = info["Config"]["Labels"]
    assert labels["biz.wabiz.emulator"] == "true" and labels["biz.wabiz.emulator.component"] == "postgres"
    assert "EMULATOR" in labels["org.opencontainers.image.description"]
    assert "/var/lib/postgresql/data" in info["Config"]["Volumes"] and "5432/tcp" in info["Config"]["ExposedPorts"]

    name = run_id + "-pgcontract"
    volume = name + "-data"
    try:
        # No password: refused with the official image's message, nothing initialised.
        proc = subprocess.run(["docker", "run", "--rm", "-v", volume + ":/var/lib/postgresql/data", PG_IMAGE],
                              capture_output=True, text=True, timeout=120, check=False)
        assert proc.returncode != 0 and "superuser password is not specified" in proc.stderr, proc.stderr
        # POSTGRES_USER / POSTGRES_DB / an init script; the server runs as postgres, not root.
        docker("run", "-d", "--name", name, "-e", "POSTGRES_PASSWORD=" + PG_PASSWORD, "-e", "POSTGRES_USER=postgres",
               "-e", "POSTGRES_DB=appdb", "-v", volume + ":/var/lib/postgresql/data", PG_IMAGE)
        wait_pg(name)
        assert psql(name, "SELECT current_setting('listen_addresses')") == "*"
        assert "appdb" in psql(name, "SELECT datname FROM pg_database").split()
        psql(name, "CREATE TABLE kept (v text); INSERT INTO kept VALUES ('survives')", dbname="appdb")
        assert docker("exec", name, "ps", "-o", "user=", "-C", "postgres").split()[0] == "postgres"
        # Password authentication over TCP from another process (as the CoreApps connect).
        proc = subprocess.run(["docker", "exec", "-e", "PGPASSWORD=wrong", name, "psql", "-h", "127.0.0.1", "-U",
                               "postgres", "-c", "SELECT 1"], capture_output=True, text=True, check=False)
        assert proc.returncode != 0 and "password authentication failed" in proc.stderr
        # A new container on the same volume keeps the data and does not initialise again.
        docker("stop", "--time", "60", name)  # a clean shutdown (SIGINT, as the official image's STOPSIGNAL)
        docker("rm", name)
        docker("run", "-d", "--name", name, "-v", volume + ":/var/lib/postgresql/data", PG_IMAGE)
        wait_pg(name)
        assert psql(name, "SELECT v FROM kept", dbname="appdb") == "survives"
        assert "skipping initialisation" in docker("logs", name)
    finally:
        docker("rm", "-f", name, check=False)
        docker("volume", "rm", volume, check=False)


def test_multiconnect_on_postgresql_by_address_with_name_prefixes(pg_server, stacks):
    container = pg_server[0]
    wait_pg(container)
    multi = pg_stack(stacks, "pgmulti", pg_server, layout="multiconnect", prefix="olda")
    single = pg_stack(stacks, "pgsingle", pg_server, layout="single", prefix="newb")
    info = json.loads(docker("inspect", multi.container("wacore1")))[0]
    assert info["Config"]["Cmd"] == WAIT_ON_POSTGRES
    assert "accepts connections" in docker("logs", multi.container("wacore1"))

    state = multi.seed("15550001201", shards=2, admin_password=ADMIN_PASSWORD)
    assert state["registered"] and state["db_engine"] == "pgsql" and state["db_prefix"] == "olda"
    token = multi.login(ADMIN_PASSWORD)
    summary = dockerctl.summarize(multi.wait_health(token, expect_shards=2, timeout=120), 2)
    assert summary["healthy"] and summary["primary_master"]
    # Several setups on one server: one database per prefix, with the prefixed tables.
    databases = psql(container, "SELECT datname FROM pg_database").split()
    assert {"olda", "newb"} <= set(databases)
    assert {"olda_kv", "olda_nodes", "olda_leases", "olda_shards", "olda_users", "olda_tokens"} <= set(
        psql(container, "SELECT tablename FROM pg_tables WHERE schemaname = 'public'", dbname="olda").split())
    assert psql(container, "SELECT count(*) FROM olda_shards", dbname="olda") == "2"
    assert psql(container, "SELECT count(*) FROM olda_kv WHERE k = 'registration'", dbname="olda") == "1"
    # The second setup on the same server knows nothing of the first.
    other = single.state()
    assert other["db_engine"] == "pgsql" and other["db_prefix"] == "newb" and not other["registered"]
    assert psql(container, "SELECT count(*) FROM newb_kv WHERE k = 'registration'", dbname="newb") == "0"


def test_settings_restore_across_engines_mysql_to_postgresql(pg_server, stacks):
    """The backup is the client's own encrypted settings blob, not a database dump: an old setup on MySQL
    restores onto a new setup on PostgreSQL."""
    wait_pg(pg_server[0])
    old = stacks("xmysql", layout="single")
    new = pg_stack(stacks, "xpg", pg_server, layout="single")
    old_state = old.seed("15550001202", admin_password=ADMIN_PASSWORD)
    assert old_state["db_engine"] == "mysql"
    old_url = old.wait_web()
    token = old.login(ADMIN_PASSWORD)
    old.wait_health(token)
    status, body = api("POST", old_url, "/v1/settings/backup", token=token, body={"password": BACKUP_PASSWORD})
    assert status == 200, body
    data = body["settings"]["data"]

    new_url = new.wait_web()
    status, body = api("POST", new_url, "/v1/users/login", basic=("admin", "secret"),
                       body={"new_password": NEW_ADMIN_PASSWORD})
    assert status == 200, body
    new_token = body["users"][0]["token"]
    before = new.state()
    assert before["db_engine"] == "pgsql" and not before["registered"]
    status, body = api("POST", new_url, "/v1/settings/restore", token=new_token,
                       body={"password": BACKUP_PASSWORD, "data": data})
    assert status == 200 and body is None, body
    new.wait_health(new_token, timeout=120)
    after = new.state()
    assert after["registered"] and after["wa_id"] == "15550001202"
    assert after["registration_sha256"] == old.state()["registration_sha256"]
    assert psql(pg_server[0], "SELECT count(*) FROM waent_kv WHERE k = 'registration'", dbname="waent") == "1"
