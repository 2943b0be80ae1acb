# Copyright (c) 2026, wabiz.api_client contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The images themselves, and the MariaDB stand-in's mysql:8.0.33 contract, on a real engine."""
import gzip
import json
import os
import subprocess
import sys
import tarfile
import time

import pytest

from conftest import EMULATOR_DIR, NEW_VERSION, OLD_VERSION, docker

DESCRIPTION = "EMULATOR of the WhatsApp Business API client for tests — not Meta's software"


def image(tag):
    return json.loads(docker("image", "inspect", tag))[0]["Config"]


@pytest.mark.parametrize("tag, role, ports", [
    ("wabiz-emulator/coreapp:v" + OLD_VERSION, "coreapp", ["6250/tcp", "6251/tcp", "6252/tcp", "6253/tcp"]),
    ("wabiz-emulator/coreapp:v" + NEW_VERSION, "coreapp", ["6250/tcp", "6251/tcp", "6252/tcp", "6253/tcp"]),
    ("wabiz-emulator/web:v" + OLD_VERSION, "web", ["443/tcp"]),
    ("wabiz-emulator/web:v" + NEW_VERSION, "web", ["443/tcp"]),
    ("wabiz-emulator/network:latest", "network", ["8080/tcp"]),
    ("wabiz-emulator/webhook-receiver:latest", "webhook-receiver", ["8443/tcp"]),
])
def test_emulator_images_say_what_they_are(engine, tag, role, ports):  # pylint: disable=unused-argument
    cfg = image(tag)
    labels = cfg["Labels"]
    assert labels["biz.wabiz.emulator"] == "true"
    assert labels["org.opencontainers.image.description"] == DESCRIPTION
    assert "EMULATOR" in labels["org.opencontainers.image.title"]
    assert labels["biz.wabiz.emulator.component"] == role
    assert len(labels["biz.wabiz.emulator.hash"]) == 64
    env = dict(item.split("=", 1) for item in cfg["Env"])
    assert env["WA_EMULATOR_ROLE"] == role
    version = tag.rsplit(":", 1)[1]
    assert env["WA_EMULATOR_VERSION"] == version and labels["org.opencontainers.image.version"] == version
    assert sorted(cfg["ExposedPorts"]) == ports


def test_mysql_standin_and_base_images_are_labelled(engine):  # pylint: disable=unused-argument
    mysql = image("wabiz-emulator/mysql:8.0.33")
    assert mysql["Labels"]["biz.wabiz.emulator"] == "true"
    assert mysql["Labels"]["biz.wabiz.emulator.component"] == "mysql"
    assert mysql["Labels"]["org.opencontainers.image.description"].startswith(DESCRIPTION)
    assert "MariaDB" in mysql["Labels"]["org.opencontainers.image.description"]
    assert "/var/lib/mysql" in mysql["Volumes"] and "3306/tcp" in mysql["ExposedPorts"]
    base_tag = docker("image", "ls", "--filter", "label=biz.wabiz.emulator.component=base", "--format",
                      "{{.Repository}}:{{.Tag}}").split()
    assert base_tag, "no wabiz-emulator/base image"
    for tag in base_tag:
        assert tag.startswith("wabiz-emulator/base:")
        assert image(tag)["Labels"]["org.opencontainers.image.description"] == DESCRIPTION


def test_coreapp_and_web_images_of_two_versions_differ(engine):  # pylint: disable=unused-argument
    for kind in ("coreapp", "web"):
        ids = {docker("image", "inspect", "--format", "{{.Id}}", "wabiz-emulator/%s:v%s" % (kind, v))
               for v in (OLD_VERSION, NEW_VERSION)}
        assert len(ids) == 2


def test_official_scripts_are_in_the_images(engine):  # pylint: disable=unused-argument
    out = docker("run", "--rm", "--entrypoint", "/bin/sh", "wabiz-emulator/coreapp:v" + OLD_VERSION, "-c",
                 "cd /opt/whatsapp/bin && ls -l wait_on_mysql.sh wait_on_postgres.sh launch_within_docker.sh"
                 " && test -f /opt/whatsapp/emulator/wa_emulator/__main__.py && echo package-ok"
                 " && python3 -c 'import pymysql, cryptography; print(\"libs-ok\")'")
    assert out.count("-rwx") == 3 and "package-ok" in out and "libs-ok" in out


def test_wait_on_mysql_waits_for_the_database(engine, run_id):  # pylint: disable=unused-argument
    # Nothing listens on db:3306 of an empty network: the script keeps waiting (bounded here), then fails.
    net = "%s-waitnet" % run_id
    docker("network", "create", net)
    try:
        t0 = time.monotonic()
        out = docker("run", "--rm", "--network", net, "-e", "WA_DB_HOSTNAME=db", "-e", "WA_DB_PORT=3306",
                     "-e", "WA_DB_WAIT_TIMEOUT=3", "wabiz-emulator/web:v" + OLD_VERSION,
                     "/opt/whatsapp/bin/wait_on_mysql.sh", "echo", "launched", check=False)
        assert "launched" not in out and "waiting for the database at db:3306" in out
        # The script counts whole seconds (bash's SECONDS): a 3 s limit waits more than 2 s of real time.
        assert time.monotonic() - t0 >= 2
    finally:
        docker("network", "rm", net, check=False)


CLIENT = """
import sys, pymysql
host, user, password = sys.argv[1:4]
c = pymysql.connect(host=host, user=user, password=password, connect_timeout=5, autocommit=True)
cur = c.cursor()
cur.execute("CREATE DATABASE IF NOT EXISTS wabiz_probe CHARACTER SET utf8mb4")
cur.execute("CREATE TABLE IF NOT EXISTS wabiz_probe.t (k VARCHAR(20) PRIMARY KEY, v TEXT)")
cur.execute("REPLACE INTO wabiz_probe.t VALUES ('key', %s)", (sys.argv[4],))
cur.execute("SELECT v FROM wabiz_probe.t WHERE k = 'key'")
print("value=%s" % cur.fetchone()[0])
cur.execute("SHOW DATABASES")
print("databases=%s" % ",".join(sorted(r[0] for r in cur.fetchall())))
"""


def sql_client(net, host, user, password, value):
    """Run a pymysql client in another container on ``net`` (as the CoreApps connect)."""
    last = ""
    for dummy in range(60):
        proc = docker("run", "--rm", "--network", net, "--entrypoint", "python3",
                      "wabiz-emulator/network:latest", "-c", CLIENT, host, user, password, value, check=False)
        if "value=" in proc:
            return proc
        last = proc
        time.sleep(0.5)
    raise AssertionError("no SQL connection to %s as %s: %s" % (host, user, last))


def test_mysql_standin_contract_and_volume(engine, run_id):  # pylint: disable=unused-argument
    net, vol = "%s-sqlnet" % run_id, "%s-sqldata" % run_id
    first, second = "%s-sql1" % run_id, "%s-sql2" % run_id
    docker("network", "create", net)
    try:
        docker("run", "-d", "--name", first, "--network", net, "--network-alias", "dbhost",
               "-v", "%s:/var/lib/mysql" % vol,
               "-e", "MYSQL_ROOT_PASSWORD=rootpw", "-e", "MYSQL_USER=appuser", "-e", "MYSQL_PASSWORD=apppw",
               "-e", "MYSQL_DATABASE=appdb", "wabiz-emulator/mysql:8.0.33",
               "--default-authentication-plugin=mysql_native_password")
        out = sql_client(net, "dbhost", "appuser", "apppw", "one")
        assert "value=one" in out and "appdb" in out and "wabiz_probe" in out
        assert "value=one" in sql_client(net, "dbhost", "root", "rootpw", "one")
        cfg = json.loads(docker("inspect", first))[0]
        assert "/var/lib/mysql" in cfg["Config"]["Volumes"] and "3306/tcp" in cfg["Config"]["ExposedPorts"]
        docker("rm", "-f", first)
        # A new container on the same volume, without any MYSQL_* variable: data and users are kept.
        docker("run", "-d", "--name", second, "--network", net, "--network-alias", "dbhost",
               "-v", "%s:/var/lib/mysql" % vol, "wabiz-emulator/mysql:8.0.33")
        out = sql_client(net, "dbhost", "appuser", "apppw", "two")
        assert "value=two" in out and "appdb" in out
        logs = docker("logs", second)
        assert "skipping initialisation" in logs
    finally:
        docker("rm", "-f", first, second, check=False)
        docker("volume", "rm", vol, check=False)
        docker("network", "rm", net, check=False)


def test_mysql_standin_refuses_to_initialise_without_password(engine, run_id):  # pylint: disable=unused-argument
    name = "%s-sqlnopw" % run_id
    try:
        proc = subprocess.run(["docker", "run", "--name", name, "wabiz-emulator/mysql:8.0.33"], stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True, check=False)
        assert proc.returncode != 0 and "password option is not specified" in proc.stdout
        state = json.loads(docker("inspect", name))[0]["State"]
        assert state["ExitCode"] != 0
    finally:
        docker("rm", "-f", "-v", name, check=False)


#: The two database stand-ins' shared entry-point code (images/dbcommon/entrypoint-common.sh): the *_FILE form
#: of the password variable and /docker-entrypoint-initdb.d (*.sql, *.sql.gz, *.sh run in name order, the rest
#: ignored), as the official mysql and postgres images document them.
DB_STANDINS = {
    "mysql": ("wabiz-emulator/mysql:8.0.33", "MYSQL_ROOT_PASSWORD_FILE", "MYSQL_DATABASE",
              ["mariadb", "-uroot", "-pInit-Passw0rd-7", "-N", "-e"]),
    "postgres": ("wabiz-emulator/postgres:13", "POSTGRES_PASSWORD_FILE", "POSTGRES_DB",
                 ["env", "PGPASSWORD=Init-Passw0rd-7", "psql", "-h", "127.0.0.1", "-U", "postgres", "-At", "-c"]),
}


@pytest.mark.parametrize("standin", sorted(DB_STANDINS))
def test_db_standins_take_password_files_and_run_init_scripts(engine, run_id, tmp_path, standin):  # pylint: disable=unused-argument
    image_tag, password_file_var, database_var, client = DB_STANDINS[standin]
    initdb = tmp_path / "initdb"
    initdb.mkdir()
    (initdb / "01-table.sql").write_text("CREATE TABLE kept (v VARCHAR(20)); INSERT INTO kept VALUES ('from-sql');\n")
    with gzip.open(initdb / "02-more.sql.gz", "wt") as fh:
        fh.write("INSERT INTO kept VALUES ('from-gz');\n")
    (initdb / "03-note.sh").write_text("echo wabiz-init-shell-ran-$((6 * 7))\n")
    (initdb / "04-readme.txt").write_text("not a script\n")
    (tmp_path / "password").write_text("Init-Passw0rd-7")
    name = "%s-init-%s" % (run_id, standin)
    try:
        docker("run", "-d", "--name", name, "-v", "%s:/docker-entrypoint-initdb.d:ro" % initdb,
               "-v", "%s:/run/secrets/db-password:ro" % (tmp_path / "password"),
               "-e", "%s=/run/secrets/db-password" % password_file_var, "-e", "%s=appdb" % database_var, image_tag)
        # The client logs in with the password of the file: the server took it from the *_FILE variable.
        query = "SELECT v FROM kept ORDER BY v"
        cmd = ["docker", "exec", name] + client + [query] + (["appdb"] if standin == "mysql" else ["-d", "appdb"])
        deadline, out = time.monotonic() + 300, ""
        while time.monotonic() < deadline:
            done = "ready for start up" in docker("logs", name, check=False).lower()
            proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
            out = proc.stdout.split()
            if done and proc.returncode == 0 and out == ["from-gz", "from-sql"]:
                break
            time.sleep(1)
        assert out == ["from-gz", "from-sql"], docker("logs", name, check=False)
        logs = docker("logs", name, check=False)
        for script in ("01-table.sql", "02-more.sql.gz", "03-note.sh"):
            assert "running /docker-entrypoint-initdb.d/%s" % script in logs
        assert "ignoring /docker-entrypoint-initdb.d/04-readme.txt" in logs
        assert "wabiz-init-shell-ran-42" in logs
    finally:
        docker("rm", "-f", "-v", name, check=False)


BUILD = os.path.join(EMULATOR_DIR, "images", "build.py")


def image_ids(*tags):
    """{tag: image id or None} of local images."""
    out = {}
    for tag in tags:
        proc = subprocess.run(["docker", "image", "inspect", "--format", "{{.Id}}", tag], stdout=subprocess.PIPE,
                              stderr=subprocess.DEVNULL, text=True, check=False)
        out[tag] = proc.stdout.strip() if proc.returncode == 0 else None
    return out


def test_build_refuses_to_overwrite_an_image_that_is_not_the_emulators(engine, run_id, tmp_path):  # pylint: disable=unused-argument
    """A non-emulator image under a name the build uses (someone else's image under the emulator's name) stops the
    build before anything happens: named in the message, still there with the same id, nothing built beside
    it. A scratch version is used so the tags every other test shares are never touched."""
    version = "9.9.9-%s" % run_id.rsplit("-", 1)[-1]
    foreign = "wabiz-emulator/coreapp:v%s" % version
    web = "wabiz-emulator/web:v%s" % version
    shared = ["wabiz-emulator/mysql:8.0.33", "wabiz-emulator/network:latest", "wabiz-emulator/webhook-receiver:latest"] + [
        "wabiz-emulator/%s:v%s" % (kind, v) for v in (OLD_VERSION, NEW_VERSION) for kind in ("coreapp", "web")]
    (tmp_path / "rootfs").mkdir()
    (tmp_path / "rootfs" / "meta-image").write_text("not the emulator\n")
    tarball = tmp_path / "rootfs.tar"
    with tarfile.open(tarball, "w") as tar:
        tar.add(tmp_path / "rootfs", arcname=".")
    docker("import", "--change", "LABEL org.opencontainers.image.title=stand-in-for-Meta", str(tarball), foreign)
    try:
        before = image_ids(foreign, web, *shared)
        assert before[foreign] and before[web] is None
        proc = subprocess.run([sys.executable, BUILD, "--versions", version], stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True, timeout=600, check=False)
        assert proc.returncode == 1, proc.stdout
        assert "refusing to build over image(s) that are not the emulator's" in proc.stdout, proc.stdout
        assert "%s (stand-in-for-Meta)" % foreign in proc.stdout, proc.stdout
        assert "Traceback" not in proc.stdout
        assert image_ids(foreign, web, *shared) == before
        assert json.loads(docker("image", "inspect", "--format", "{{json .Config.Labels}}", foreign)) == {
            "org.opencontainers.image.title": "stand-in-for-Meta"}
    finally:
        docker("image", "rm", foreign, check=False)
        for tag in (web,):  # in case a broken build made it
            if image_ids(tag)[tag]:
                docker("image", "rm", tag, check=False)
