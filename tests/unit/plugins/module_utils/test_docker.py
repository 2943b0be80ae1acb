# Copyright (c) 2026, wabiz.api_client contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests of the pure logic of the Docker helper: image names, classification, stack discovery,
topology rules, desired specs and the create/recreate/keep/remove plan. No Docker engine here."""

from __future__ import annotations

import hashlib

import pytest

from ansible_collections.wabiz.api_client.plugins.module_utils import _docker as d
from ansible_collections.wabiz.api_client.plugins.module_utils import _stack_model as model
from ansible_collections.wabiz.api_client.plugins.module_utils import _docker_engine as engine
from ansible_collections.wabiz.api_client.plugins.module_utils import _probes as probes
from ansible_collections.wabiz.api_client.plugins.module_utils import _validate

CORE = "docker.whatsapp.biz/coreapp:v2.61.2"
WEB = "docker.whatsapp.biz/web:v2.61.2"
DB_ENV = ["WA_DB_ENGINE=MYSQL", "WA_DB_HOSTNAME=db", "WA_DB_PORT=3306", "WA_DB_USERNAME=root",
          "WA_DB_PASSWORD=testpass"]


def inspect(name, image, env=(), labels=None, networks=None, mounts=(), ports=None, running=True, cid=None,
            hostname=None):
    """A minimal ``docker inspect`` document."""
    nets = {}
    for net, aliases in (networks or {"bridge": []}).items():
        nets[net] = {"IPAddress": "172.18.0.%d" % (len(nets) + 2), "Aliases": list(aliases)}
    return {
        "Id": cid or hashlib.sha256(name.encode()).hexdigest(),
        "Name": "/" + name,
        "Image": "sha256:" + hashlib.sha256(image.encode()).hexdigest(),
        "Config": {"Image": image, "Env": list(env), "Labels": labels or {}, "Hostname": hostname or name[:12]},
        "State": {"Status": "running" if running else "exited", "Running": running, "Restarting": False},
        "NetworkSettings": {"Networks": nets, "Ports": ports or {}},
        "Mounts": [{"Type": "volume", "Name": m[0], "Source": "/var/lib/docker/volumes/%s/_data" % m[0],
                    "Destination": m[1]} for m in mounts],
    }


def compose(project, service, image, env=(), mounts=(), ports=None, aliases=None):
    net = "%s_default" % project
    return model.summarize_container(inspect(
        "%s_%s_1" % (project, service), image, env=env, mounts=mounts, ports=ports,
        labels={model.COMPOSE_PROJECT: project, model.COMPOSE_SERVICE: service},
        networks={net: aliases if aliases is not None else [service]}))


def official_multiconnect(project="old"):
    media = [("%s_whatsappMedia" % project, "/usr/local/wamedia")]
    records = [compose(project, "db", "mysql:8.0.33", env=["MYSQL_ROOT_PASSWORD=testpass"],
                       mounts=[("%s_mysqlData" % project, "/var/lib/mysql")])]
    records.append(compose(project, "waweb", WEB, env=DB_ENV + ["WA_APP_MULTICONNECT=1"], mounts=media,
                           ports={"443/tcp": [{"HostIp": "0.0.0.0", "HostPort": "9090"}]}))
    for i in (1, 2):
        records.append(compose(project, "master%d" % i, CORE, mounts=media,
                               env=DB_ENV + ["WA_APP_MULTICONNECT=1", "WA_MASTER_NODE=1"]))
    for i in (1, 2, 3):
        records.append(compose(project, "wacore%d" % i, CORE, mounts=media, env=DB_ENV + ["WA_APP_MULTICONNECT=1"]))
    return records


# -- image names ----------------------------------------------------------------------------------

@pytest.mark.parametrize("image, repo, version", [
    ("docker.whatsapp.biz/coreapp:v2.61.2", "docker.whatsapp.biz/coreapp", "2.61.2"),
    ("registry.example.com:5000/wa/web:v2.62.5", "registry.example.com:5000/wa/web", "2.62.5"),
    ("registry.example.com:5000/wa/web", "registry.example.com:5000/wa/web", None),
    ("mysql:8.0.33", "mysql", "8.0.33"),
    ("docker.whatsapp.biz/web:latest@sha256:abc", "docker.whatsapp.biz/web", "latest"),
])
def test_image_names(image, repo, version):
    assert model.image_repo(image) == repo
    assert model.image_version(image) == version


def test_repo_matches_ignores_tags_and_docker_io():
    assert model.repo_matches("docker.whatsapp.biz/coreapp:v2.61.2", ["docker.whatsapp.biz/coreapp"])
    assert model.repo_matches("docker.io/library/mysql:8", ["mysql:5.7"])
    assert not model.repo_matches("docker.whatsapp.biz/coreapp-tools:v1", ["docker.whatsapp.biz/coreapp"])


def test_secrets_are_masked():
    env = _validate.mask_secrets({"WA_DB_PASSWORD": "x", "WA_API_KEY": "k" * 20, "WA_SECRET": "s", "WA_DB_HOSTNAME": "db",
                                  "MYSQL_ROOT_PASSWORD": "r", "EMPTY_PASSWORD": ""})
    mask = _validate.SECRET_MASK
    assert env == {"WA_DB_PASSWORD": mask, "WA_API_KEY": mask, "WA_SECRET": mask,
                   "WA_DB_HOSTNAME": "db", "MYSQL_ROOT_PASSWORD": mask, "EMPTY_PASSWORD": ""}


# -- classification ---------------------------------------------------------------------------------

def test_master_is_coreapp_image_with_master_env():
    master = model.summarize_container(inspect("m", CORE, env=["WA_MASTER_NODE=1"]))
    core = model.summarize_container(inspect("c", CORE, env=["WA_MASTER_NODE=0"]))
    web = model.summarize_container(inspect("w", WEB))
    other = model.summarize_container(inspect("x", "nginx:1"))
    assert [model.classify(r) for r in (master, core, web, other)] == ["master", "coreapp", "web", None]


def test_private_mirror_names_and_labels():
    mirror = model.summarize_container(inspect("c", "registry.example.com/wa/coreapp:v2.61.2"))
    assert model.classify(mirror) is None
    assert model.classify(mirror, coreapp_images=["registry.example.com/wa/coreapp"]) == "coreapp"
    labelled = model.summarize_container(inspect("w", "anything:1", labels={model.LABEL_ROLE: "web"}))
    assert model.classify(labelled) == "web"


@pytest.mark.parametrize("db_image, lists", [
    ("mysql:8.0.33", dict(coreapp_images=["mysql", CORE])),
    ("mysql:8.0.33", dict(web_images=["docker.io/library/mysql", WEB])),
    # Not a known database image: its data directory says what it is.
    ("registry.example.com/db/server:8", dict(coreapp_images=["registry.example.com/db/server", CORE])),
])
def test_a_database_container_is_never_an_app_container_whatever_the_lists_say(db_image, lists):
    """Issue 23.8: an image list naming the database image must not make stack state=absent remove the database."""
    records = official_multiconnect("old")
    records[0] = compose("old", "database", db_image, env=["MYSQL_ROOT_PASSWORD=testpass"],
                         mounts=[("old_mysqlData", "/var/lib/mysql")], aliases=["db"])
    assert model.classify(records[0], **lists) == "db"
    names = [r["name"] for r, _role in model.app_containers_of(records, "old", **lists)]
    assert "old_database_1" not in names and len(names) == 6
    st = model.discover_stacks(records, **lists)[0]
    assert st["counts"] == {"masters": 2, "coreapps": 3, "webapps": 1, "databases": 1}
    assert st["databases"][0]["name"] == "old_database_1"


def test_summary_keeps_ports_mounts_networks():
    r = model.summarize_container(inspect("w", WEB, networks={"net1": ["waweb"]}, mounts=[("media", model.MEDIA_PATH)],
                                          ports={"443/tcp": [{"HostIp": "0.0.0.0", "HostPort": "9090"}]}))
    assert r["ports"] == {"443/tcp": [{"host_ip": "0.0.0.0", "host_port": 9090}]}
    assert r["mounts"][0]["name"] == "media"
    assert r["networks"]["net1"]["aliases"] == ["waweb"]
    assert r["running"] is True


# -- discovery ----------------------------------------------------------------------------------------

def test_official_multiconnect_compose_stack():
    stacks = model.discover_stacks(official_multiconnect("old"))
    assert len(stacks) == 1
    st = stacks[0]
    assert st["name"] == "old" and st["compose_project"] == "old" and st["managed"] is False
    assert st["counts"] == {"masters": 2, "coreapps": 3, "webapps": 1, "databases": 1}
    assert [m["name"] for m in st["masters"]] == ["old_master1_1", "old_master2_1"]
    assert st["databases"][0]["name"] == "old_db_1"
    assert st["version"] == "2.61.2" and st["multiconnect"] is True
    assert st["web_port"] == 9090
    assert st["volumes"] == ["old_mysqlData", "old_whatsappMedia"]
    assert st["db"] == {"engine": "MYSQL", "hostname": "db", "port": 3306, "username": "root", "name_prefix": None,
                        "container": "old_db_1", "external": False, "volume": "old_mysqlData"}
    assert (st["databases"][0]["engine"], st["databases"][0]["data_volume"]) == ("MYSQL", "old_mysqlData")
    # no password anywhere in the result
    assert "testpass" not in repr(st)


def test_compose_db_stays_with_its_project_after_the_apps_are_gone():
    records = [r for r in official_multiconnect("old") if r["labels"][model.COMPOSE_SERVICE] == "db"]
    stacks = model.discover_stacks(records)
    assert [(s["name"], s["counts"]["databases"], s["counts"]["coreapps"]) for s in stacks] == [("old", 1, 0)]


def test_two_stacks_are_kept_apart():
    records = official_multiconnect("old") + official_multiconnect("other")
    stacks = model.discover_stacks(records)
    assert [s["name"] for s in stacks] == ["old", "other"]
    assert all(s["counts"]["databases"] == 1 for s in stacks)
    assert stacks[0]["databases"][0]["name"] == "old_db_1"


def test_hand_made_stack_is_grouped_by_network_and_finds_its_db_by_hostname():
    env = ["WA_DB_HOSTNAME=mydb", "WA_DB_PASSWORD=pw"]
    records = [model.summarize_container(x) for x in (
        inspect("mydb", "mariadb:10", networks={"wanet": []}),
        inspect("core", CORE, env=env, networks={"wanet": []}),
        inspect("web", WEB, env=env, networks={"wanet": []}),
        inspect("unrelated-db", "mysql:8", networks={"othernet": []}),
    )]
    stacks = model.discover_stacks(records)
    assert len(stacks) == 1
    assert stacks[0]["name"] == "wanet"
    assert stacks[0]["counts"] == {"masters": 0, "coreapps": 1, "webapps": 1, "databases": 1}
    assert stacks[0]["databases"][0]["name"] == "mydb"
    assert stacks[0]["multiconnect"] is False


PG_ENV = ["WA_DB_ENGINE=PGSQL", "WA_DB_PORT=5432", "WA_DB_USERNAME=postgres", "WA_DB_PASSWORD=pgpass"]


def test_single_instance_on_an_external_postgresql_server_reached_by_address():
    env = PG_ENV + ["WA_DB_HOSTNAME=10.20.0.7"]
    records = [compose("pgold", "wacore", CORE, env=env), compose("pgold", "waweb", WEB, env=env),
               # A PostgreSQL container elsewhere on the host that the stack does not use.
               model.summarize_container(inspect("other-pg", "postgres:13", networks={"othernet": []},
                                                 mounts=[("other-pg-data", "/var/lib/postgresql/data")]))]
    stacks = model.discover_stacks(records)
    assert [s["name"] for s in stacks] == ["pgold"]
    st = stacks[0]
    assert st["counts"] == {"masters": 0, "coreapps": 1, "webapps": 1, "databases": 0}
    assert st["db"] == {"engine": "PGSQL", "hostname": "10.20.0.7", "port": 5432, "username": "postgres",
                        "name_prefix": None, "container": None, "external": True, "volume": None}
    assert "pgpass" not in repr(st)


def test_postgresql_container_of_a_managed_stack_and_after_its_apps_are_gone():
    labels = {model.LABEL_STACK: "pgnew", model.LABEL_ROLE: "db"}
    pg = inspect("pgnew-db", "wabiz-emulator/postgres:13", labels=labels, networks={"pgnew": ["pgnew-db"]},
                 mounts=[("pgnew-db-data", "/var/lib/postgresql/data")])
    core = inspect("pgnew-wacore1", CORE, env=PG_ENV + ["WA_DB_HOSTNAME=pgnew-db"],
                   labels={model.LABEL_STACK: "pgnew", model.LABEL_ROLE: "coreapp"}, networks={"pgnew": []})
    st = model.discover_stacks([model.summarize_container(pg), model.summarize_container(core)])[0]
    assert (st["db"]["engine"], st["db"]["container"], st["db"]["external"], st["db"]["volume"]) == (
        "PGSQL", "pgnew-db", False, "pgnew-db-data")
    assert (st["databases"][0]["engine"], st["databases"][0]["data_volume"]) == ("PGSQL", "pgnew-db-data")
    # After the uninstall only the database is left: the engine comes from the container itself.
    st = model.discover_stacks([model.summarize_container(pg)])[0]
    assert (st["db"]["engine"], st["db"]["container"], st["db"]["external"]) == ("PGSQL", "pgnew-db", False)


@pytest.mark.parametrize("image, mounts, engine", [
    ("mysql:8.0.33", [("v", "/var/lib/mysql")], "MYSQL"),
    ("registry.example.com/db/postgres:13", [], "PGSQL"),
    ("wabiz-emulator/postgres:13", [("v", "/var/lib/postgresql/data")], "PGSQL"),
    ("mycorp/database:1", [("v", "/var/lib/postgresql/data")], "PGSQL"),
    ("mycorp/database:1", [], None),
])
def test_db_engine_of_a_container(image, mounts, engine):
    assert model.db_engine_of(model.summarize_container(inspect("x", image, mounts=mounts))) == engine


def test_forbidden_db_password_characters():
    assert model.forbidden_db_password_chars("Good-Passw0rd") == []
    assert model.forbidden_db_password_chars("a=b!c=") == ["!", "="]
    assert model.forbidden_db_password_chars(None) == []


def test_database_protocol_probes_tell_the_engines_apart():
    """Real sockets: a server that answers the PostgreSQL SSLRequest, one that greets as MySQL, one silent."""
    import socket
    import threading

    def serve(reply_to_request, greeting):
        srv = socket.socket()
        srv.bind(("127.0.0.1", 0))
        srv.listen(4)

        def loop():
            for _connection in range(2):
                conn, _addr = srv.accept()
                with conn:
                    if greeting:
                        conn.sendall(greeting)
                    conn.settimeout(1)
                    try:
                        if conn.recv(8) == b"\x00\x00\x00\x08\x04\xd2\x16\x2f" and reply_to_request:
                            conn.sendall(reply_to_request)
                    except OSError:
                        pass
            srv.close()
        threading.Thread(target=loop, daemon=True).start()
        return srv.getsockname()[1]

    pg = serve(b"N", None)
    assert probes.pgsql_answers("127.0.0.1", pg, timeout=2) is True
    assert probes.mysql_answers("127.0.0.1", pg, timeout=0.5) is False
    my = serve(None, b"\x4a\x00\x00\x00\x0a5.5.5-10.11")
    assert probes.mysql_answers("127.0.0.1", my, timeout=2) is True
    assert probes.pgsql_answers("127.0.0.1", my, timeout=0.5) is False


def test_managed_stack_by_labels():
    spec_params = dict(name="wa-new", masters=1, coreapps=1, webapps=1, coreapp_image=CORE, web_image=WEB,
                       db=dict(hostname="wa-new-db", password="pw"), network="wa-new")
    records = []
    for s in model.desired_specs(spec_params):
        records.append(model.summarize_container(inspect(s["name"], s["image"], env=["%s=%s" % kv for kv in s["env"].items()],
                                                         labels=s["labels"], networks={"wa-new": [s["name"]]})))
    records.append(model.summarize_container(inspect("wa-new-db", "mysql:8.0.33", networks={"wa-new": ["wa-new-db"]},
                                                     labels={model.LABEL_ROLE: "db", model.LABEL_STACK: "wa-new"})))
    stacks = model.discover_stacks(records)
    assert [(s["name"], s["managed"], s["counts"]) for s in stacks] == [
        ("wa-new", True, {"masters": 1, "coreapps": 1, "webapps": 1, "databases": 1})]
    apps = model.app_containers_of(records, "wa-new")
    assert [(r["name"], role) for r, role in apps] == [
        ("wa-new-master1", "master"), ("wa-new-wacore1", "coreapp"), ("wa-new-waweb1", "web")]


# -- topology rules -------------------------------------------------------------------------------------

@pytest.mark.parametrize("masters, coreapps, webapps, shards, ok", [
    (0, 1, 1, 1, True),
    (2, 3, 1, 2, True),
    (1, 1, 1, 1, True),
    (0, 3, 1, 1, False),   # several CoreApps need a Master
    (0, 1, 1, 2, False),   # shards without Master
    (2, 1, 1, 2, False),   # fewer CoreApps than shards
    (2, 3, 1, 3, False),   # 3 is no shard count
    (2, 3, 0, 2, False),   # no Webapp
    (1, 0, 1, None, False),
])
def test_topology_rules(masters, coreapps, webapps, shards, ok):
    assert (model.topology_errors(masters, coreapps, webapps, shards) == []) is ok


# -- desired specs and plan --------------------------------------------------------------------------------

def params(**kw):
    p = dict(name="s", masters=2, coreapps=3, webapps=1, coreapp_image=CORE, web_image=WEB,
             db=dict(hostname="s-db", port=3306, username="root", password="pw"), network="s",
             media_volume="s-media", web_port=9090, api_key=None, env={}, coreapp_env={}, web_env={})
    p.update(kw)
    return p


def test_desired_specs_follow_the_official_layout():
    specs = model.desired_specs(params())
    names = [s["name"] for s in specs]
    assert names == ["s-master1", "s-master2", "s-wacore1", "s-wacore2", "s-wacore3", "s-waweb1"]
    m1, c1, w1 = specs[0], specs[2], specs[5]
    assert m1["env"]["WA_MASTER_NODE"] == "1" and "WA_MASTER_NODE" not in c1["env"]
    assert all(s["env"]["WA_APP_MULTICONNECT"] == "1" for s in specs)
    assert c1["env"]["COREAPP_HOSTNAME"] == "s-wacore1"
    assert m1["command"] == model.COMMAND_MYSQL
    assert w1["ports"] == {"443/tcp": 9090}
    assert all(s["mounts"] == [{"source": "s-media", "target": "/usr/local/wamedia"}] for s in specs)
    assert c1["env"]["WA_DB_HOSTNAME"] == "s-db" and c1["env"]["WA_DB_PASSWORD"] == "pw"
    assert c1["labels"][model.LABEL_CONFIG] == c1["config_hash"]


def test_single_instance_has_no_multiconnect_and_points_web_to_the_coreapp():
    db = dict(hostname="h", password="p", engine="pgsql")
    specs = model.desired_specs(params(masters=0, coreapps=1, api_key="k" * 16, db=db))
    web = specs[-1]
    assert "WA_APP_MULTICONNECT" not in web["env"]
    assert web["env"]["WACORE_HOSTNAME"] == "s-wacore1"
    assert web["env"]["WA_API_KEY"] == "k" * 16
    assert specs[0]["command"] == model.COMMAND_PGSQL


def test_user_env_overrides_and_changes_the_hash():
    a = model.desired_specs(params())
    b = model.desired_specs(params(env={"WA_EMULATOR_NETWORK_URL": "http://net:8080"}))
    assert all(x["config_hash"] != y["config_hash"] for x, y in zip(a, b))
    c = model.desired_specs(params(web_env={"X": "1"}))
    assert [x["config_hash"] == y["config_hash"] for x, y in zip(a, c)] == [True] * 5 + [False]


def records_for(specs, running=True):
    out = []
    for s in specs:
        r = model.summarize_container(inspect(s["name"], s["image"], labels=s["labels"], running=running,
                                              env=["%s=%s" % kv for kv in s["env"].items()]))
        out.append(r)
    return out


def test_plan_nothing_to_do_when_all_matches():
    specs = model.desired_specs(params())
    p = model.plan(specs, records_for(specs))
    assert (p["create"], p["recreate"], p["start"], p["remove"]) == ([], [], [], [])
    assert len(p["keep"]) == 6


def test_plan_recreates_only_what_changed_and_removes_surplus():
    old = model.desired_specs(params(coreapps=4))
    new = model.desired_specs(params(web_image="docker.whatsapp.biz/web:v2.62.5"))
    p = model.plan(new, records_for(old))
    assert [s["name"] for s, _r in p["recreate"]] == ["s-waweb1"]
    assert [r["name"] for r in p["remove"]] == ["s-wacore4"]
    assert p["reasons"]["s-wacore4"] == "surplus"
    assert p["create"] == []


def test_plan_creates_missing_and_starts_stopped():
    specs = model.desired_specs(params())
    actual = records_for(specs[:3], running=False)
    p = model.plan(specs, actual)
    assert [s["name"] for s in p["create"]] == ["s-wacore2", "s-wacore3", "s-waweb1"]
    assert [s["name"] for s, _r in p["start"]] == ["s-master1", "s-master2", "s-wacore1"]


def test_plan_recreates_when_the_tag_points_to_a_new_image():
    specs = model.desired_specs(params())
    actual = records_for(specs)
    p = model.plan(specs, actual, image_ids={CORE: "sha256:new"})
    assert [s["name"] for s, _r in p["recreate"]] == ["s-master1", "s-master2", "s-wacore1", "s-wacore2", "s-wacore3"]
    assert "updated" in p["reasons"]["s-master1"]


def test_config_hash_leaves_secrets_out_and_a_changed_password_still_recreates():
    """The fingerprint in the label and the results cannot confirm a password guess offline (issue 23.10): it
    is the same whatever the database password; a changed password is found by comparing the environment."""
    specs = model.desired_specs(params())
    other = model.desired_specs(params(db=dict(params()["db"], password="another-pw")))
    assert [s["config_hash"] for s in specs] == [s["config_hash"] for s in other]
    p = model.plan(other, records_for(specs))
    assert len(p["recreate"]) == 6 and p["reasons"]["s-master1"] == "configuration differs"
    assert model.plan(specs, records_for(specs))["recreate"] == []


def test_views_hide_secrets():
    spec = model.desired_specs(params(api_key="k" * 16))[-1]
    assert "pw" not in repr(model.spec_view(spec)) and "k" * 16 not in repr(model.spec_view(spec))
    record = records_for([spec])[0]
    record["env"] = dict(spec["env"])
    assert "pw" not in repr(model.record_view(record))


def test_connection_params_use_docker_cert_path(tmp_path):
    for name in ("ca.pem", "cert.pem", "key.pem"):
        (tmp_path / name).write_text("x")
    p = d.connection_params(dict(docker_host="tcp://h:2376", tls=True, validate_certs=True, ca_path=None,
                                 client_cert=None, client_key=None, timeout=5),
                            environ={"DOCKER_CERT_PATH": str(tmp_path)})
    assert p["ca_path"] == str(tmp_path / "ca.pem") and p["client_key"] == str(tmp_path / "key.pem")


class _StreamingClient:
    """The SDK's load_image / pull(stream=True) return generators: the engine works only while they are read."""

    def __init__(self, lines):
        self.lines = lines
        self.read = 0
        self.pulled = None

    def _stream(self):
        for line in self.lines:
            self.read += 1
            yield line

    def load_image(self, fh):
        fh.read()
        return self._stream()

    def pull(self, repo, tag=None, stream=False, decode=False):
        assert stream and decode, "a pull must be streamed and decoded so its error lines are seen"
        self.pulled = (repo, tag)
        return self._stream()


def test_load_archive_reads_the_engine_stream_to_its_end(tmp_path):
    archive = tmp_path / "images.tar"
    archive.write_bytes(b"tar")
    client = _StreamingClient([{"stream": "Loaded image: a:1\n"}, {"stream": "Loaded image: b:1\n"}])
    with open(str(archive), "rb") as fh:
        engine.load_archive(client, fh)
    assert client.read == 2


def test_load_archive_raises_the_engines_error_line(tmp_path):
    archive = tmp_path / "images.tar"
    archive.write_bytes(b"tar")
    client = _StreamingClient([{"errorDetail": {"message": "unexpected EOF"}, "error": "unexpected EOF"}])
    with open(str(archive), "rb") as fh, pytest.raises(d.DockerException, match="unexpected EOF"):
        engine.load_archive(client, fh)


def test_pull_image_streams_and_raises_on_error_lines():
    client = _StreamingClient([{"status": "Pulling"}, {"errorDetail": {"message": "manifest unknown"}}])
    with pytest.raises(d.DockerException, match="manifest unknown"):
        engine.pull_image(client, "registry:5000/ns/web:v2.61.2")
    assert client.pulled == ("registry:5000/ns/web", "v2.61.2")
    ok = _StreamingClient([{"status": "Pulling"}, {"status": "Downloaded newer image"}])
    engine.pull_image(ok, "mysql")
    assert ok.pulled == ("mysql", "latest") and ok.read == 2


@pytest.mark.parametrize("docker_version", ["5.0.3", "6.1.3", "7.1.0", "5.0.3+ds1"])
def test_docker_sdks_the_distributions_ship_are_accepted(docker_version):
    # Debian 12, Ubuntu 22.04 and 24.04 ship python3-docker 5.0.3.
    assert d.sdk_problem(docker_version, {"requests": "2.28.1", "urllib3": "1.26.12"}) is None
    assert d.sdk_problem(docker_version, {"requests": "2.28.1"}, "Connection refused") is None


@pytest.mark.parametrize("docker_version", ["4.1.0", "5.0.2", None, ""])
def test_docker_sdks_older_than_the_minimum_are_named(docker_version):
    problem = d.sdk_problem(docker_version)
    assert str(docker_version) in problem and "5.0.3 or later" in problem


@pytest.mark.parametrize("error, words", [
    ("Error while fetching server API version: Not supported URL scheme http+docker",
     ["5.0.3", "requests 2.32.3", "7.1.0 or later"]),
    ("Error while fetching server API version: HTTPConnection.request() got an unexpected keyword argument "
     "'chunked'", ["5.0.3", "urllib3 2.2.1", "6.1.0 or later"]),
])
def test_sdk_clashes_with_newer_http_libraries_are_explained(error, words):
    problem = d.sdk_problem("5.0.3", {"requests": "2.32.3", "urllib3": "2.2.1"}, error)
    for word in words:
        assert word in problem


class _FailingModule:
    def __init__(self):
        self.params = {}

    def fail_json(self, **kw):
        raise RuntimeError(kw["msg"])


def test_get_client_refuses_an_old_sdk_before_connecting(monkeypatch):
    class OldDocker:
        __version__ = "4.4.4"

        class APIClient:  # must never be reached
            def __init__(self, **kw):
                raise AssertionError("connected with an unusable SDK")

    monkeypatch.setattr(d, "docker", OldDocker)
    with pytest.raises(RuntimeError) as exc:
        d.get_client(_FailingModule())
    msg = str(exc.value)
    assert "4.4.4" in msg and "5.0.3 or later" in msg and "ansible_python_interpreter" in msg


def test_get_client_explains_a_clash_with_newer_http_libraries(monkeypatch):
    class ClashingDocker:
        __version__ = "5.0.3"
        tls = None

        class APIClient:
            def __init__(self, **kw):
                raise d.DockerException("Error while fetching server API version: Not supported URL scheme "
                                        "http+docker")

    monkeypatch.setattr(d, "docker", ClashingDocker)
    monkeypatch.setattr(d, "_library_versions", lambda: {"requests": "2.32.3", "urllib3": "2.2.1"})
    module = _FailingModule()
    module.params = {"docker_host": "unix:///var/run/docker.sock", "tls": False, "validate_certs": False,
                     "ca_path": None, "client_cert": None, "client_key": None, "timeout": 5}
    with pytest.raises(RuntimeError) as exc:
        d.get_client(module)
    msg = str(exc.value)
    assert "requests 2.32.3" in msg and "7.1.0 or later" in msg and "ansible_python_interpreter" in msg


@pytest.mark.parametrize("tls, verify, warned", [(True, False, True), (True, True, False), (False, False, False)])
def test_tls_to_the_engine_without_verification_is_warned_once(monkeypatch, tls, verify, warned):
    made = []

    class FakeDocker:
        __version__ = "7.1.0"

        class tls:  # noqa: N801 - the SDK's module name
            TLSConfig = staticmethod(lambda **kw: made.append(kw) or kw)

        class APIClient:
            def __init__(self, **kw):
                self.kw = kw

            def ping(self):
                return True

    class Module:
        warnings = []
        params = {"docker_host": "tcp://engine:2376", "tls": tls, "validate_certs": verify, "ca_path": None,
                  "client_cert": None, "client_key": None, "timeout": 5}

        def warn(self, msg):
            self.warnings.append(msg)

    monkeypatch.setattr(d, "docker", FakeDocker)
    module = Module()
    d.get_client(module)
    assert len(module.warnings) == (1 if warned else 0)
    if warned:
        assert "NOT verified" in module.warnings[0] and "tcp://engine:2376" in module.warnings[0]
        assert made and made[0]["verify"] is False
