# Copyright (c) 2026, wabiz.api_client contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The stack module's orchestration against a fake Docker client: what is refused before any change,
what check mode does not touch, and that no secret reaches the output. (The real engine is exercised by
tests/integration/docker.)"""

from __future__ import annotations

import json

import pytest

from ansible.module_utils.testing import patch_module_args
from ansible_collections.wabiz.api_client.plugins.module_utils import _docker as d
from ansible_collections.wabiz.api_client.plugins.module_utils import _probes
from ansible_collections.wabiz.api_client.plugins.module_utils import _stack_model as model
from ansible_collections.wabiz.api_client.plugins.modules import stack

MUTATING = {"create_container", "start", "stop", "remove_container", "create_network", "create_volume",
            "remove_volume", "pull", "load_image", "restart"}
CORE = "docker.whatsapp.biz/coreapp:v2.62.5"
WEB = "docker.whatsapp.biz/web:v2.62.5"
PASSWORD = "Unit-db-pass-1"


class FakeClient:
    """Answers reads from a fixed state; records every call so a test can prove nothing changed."""

    def __init__(self, images=(CORE, WEB), containers=()):
        self.images = set(images)
        self.inspects = dict((c["Id"], c) for c in containers)
        self.calls = []

    def __getattr__(self, name):
        if name in MUTATING:
            def mutate(*args, **kwargs):
                self.calls.append(name)
                return {"Id": "new"}
            return mutate
        raise AttributeError(name)

    def containers(self, all=False, filters=None):  # pylint: disable=redefined-builtin,unused-argument
        return [{"Id": cid} for cid in self.inspects]

    def inspect_container(self, cid):
        for full, data in self.inspects.items():
            if full.startswith(cid) or data["Name"] == "/" + cid:
                return data
        raise d.NotFound("no such container")

    def inspect_image(self, name):
        if name not in self.images:
            raise d.ImageNotFound("no such image")
        return {"Id": "sha256:" + name, "Config": {"Labels": {"org.opencontainers.image.title": name}}}

    def networks(self, names=None):  # pylint: disable=unused-argument
        return []

    def inspect_volume(self, name):
        raise d.NotFound(name)


def run(capsys, monkeypatch, client, **args):
    monkeypatch.setattr(d, "get_client", lambda module: client)
    full = dict(name="wa-new", masters=2, coreapps=3, version="2.62.5", network="wa-new", media_volume="wa-new-media",
                web_port=9090, db=dict(hostname="wa-db", password=PASSWORD), api_key="monitoring-key-1234")
    full.update(args)
    with patch_module_args(full):
        with pytest.raises(SystemExit):
            stack.main()
    out = capsys.readouterr().out
    return json.loads(out), out


def test_missing_image_fails_before_any_change(capsys, monkeypatch):
    client = FakeClient(images=[WEB])
    result, out = run(capsys, monkeypatch, client)
    assert result["failed"] and CORE in result["msg"] and "docker load" in result["msg"]
    assert result["missing_images"] == [CORE]
    assert client.calls == []
    assert PASSWORD not in out


def test_version_names_the_images_in_the_first_repositories_of_the_lists(capsys, monkeypatch):
    mirror = ("registry.example.com/wa/coreapp:v2.62.5", "registry.example.com/wa/web:v2.62.5")
    client = FakeClient(images=mirror)
    result, _out = run(capsys, monkeypatch, client, _ansible_check_mode=True,
                       coreapp_images=["registry.example.com/wa/coreapp", "docker.whatsapp.biz/coreapp"],
                       web_images=["registry.example.com/wa/web:any", "docker.whatsapp.biz/web"])
    assert not result.get("failed") and result["images"] == {mirror[0]: "present", mirror[1]: "present"}
    assert client.calls == []


@pytest.mark.parametrize("args, words", [
    (dict(masters=0, coreapps=2), "multiconnect needs at least 1 Master"),
    (dict(webapps=0), "at least 1 Webapp"),
    (dict(db=dict(hostname="wa-db", password="bad=pass")), "does not accept"),
    (dict(wait_for_api=True, web_port=None), "wait_for_api needs web_port"),
])
def test_refused_inputs_change_nothing(capsys, monkeypatch, args, words):
    client = FakeClient()
    result, out = run(capsys, monkeypatch, client, **args)
    assert result["failed"] and words in result["msg"]
    assert client.calls == []
    assert "bad=pass" not in out and PASSWORD not in out


def test_check_mode_plans_without_changing(capsys, monkeypatch):
    client = FakeClient()
    result, out = run(capsys, monkeypatch, client, _ansible_check_mode=True, _ansible_diff=True)
    assert result["changed"] and not result.get("failed")
    assert result["created"] == ["wa-new-master1", "wa-new-master2", "wa-new-wacore1", "wa-new-wacore2",
                                 "wa-new-wacore3", "wa-new-waweb1"]
    assert result["created_network"] == "wa-new" and result["created_volume"] == "wa-new-media"
    assert [c["name"] for c in result["diff"]["after"]["containers"]] == result["created"]
    assert client.calls == []
    assert PASSWORD not in out and "monitoring-key-1234" not in out


def test_foreign_container_with_our_name_is_refused(capsys, monkeypatch):
    foreign = {"Id": "f" * 64, "Name": "/wa-new-wacore1", "Image": "sha256:x",
               "Config": {"Image": "nginx:1", "Env": [], "Labels": {}},
               "State": {"Status": "running", "Running": True}, "NetworkSettings": {}, "Mounts": []}
    client = FakeClient(containers=[foreign])
    result, _out = run(capsys, monkeypatch, client)
    assert result["failed"] and "wa-new-wacore1" in result["msg"] and "does not belong" in result["msg"]
    assert client.calls == []


def test_absent_never_touches_the_database(capsys, monkeypatch):
    def container(name, image, env=(), labels=None):
        return {"Id": (name * 20)[:64], "Name": "/" + name, "Image": "sha256:" + name,
                "Config": {"Image": image, "Env": list(env), "Labels": labels or {}},
                "State": {"Status": "running", "Running": True},
                "NetworkSettings": {"Networks": {"old_default": {"IPAddress": "10.0.0.2", "Aliases": [name]}}},
                "Mounts": [{"Type": "volume", "Name": "old_data",
                            "Destination": "/var/lib/mysql" if image.startswith("mysql") else "/usr/local/wamedia"}]}
    compose = {model.COMPOSE_PROJECT: "old"}
    db = container("db", "mysql:8.0.33", labels=dict(compose, **{model.COMPOSE_SERVICE: "db"}))
    core = container("wacore1", "docker.whatsapp.biz/coreapp:v2.61.2", env=["WA_DB_HOSTNAME=db"],
                     labels=dict(compose, **{model.COMPOSE_SERVICE: "wacore1"}))
    client = FakeClient(containers=[db, core])
    removed = []
    client.remove_container = lambda cid, force=False: removed.append(cid)
    client.stop = lambda cid, timeout=None: None
    result, _out = run(capsys, monkeypatch, client, name="old", state="absent", remove_volumes=True)
    assert result["removed"] == ["wacore1"] and removed == [core["Id"][:12]]
    assert [k["name"] for k in result["kept"]["databases"]] == ["db"]
    assert result["removed_volumes"] == [] and "old_data" in result["kept"]["volumes"]
    # An image list naming the database image changes nothing (issue 23.8).
    removed.clear()
    result, _out = run(capsys, monkeypatch, client, name="old", state="absent",
                       coreapp_images=["docker.whatsapp.biz/coreapp", "mysql"])
    assert result["removed"] == ["wacore1"] and removed == [core["Id"][:12]]
    assert [k["name"] for k in result["kept"]["databases"]] == ["db"]


@pytest.mark.parametrize("answers", [True, False])
def test_absent_verifies_the_kept_database_with_its_protocol(capsys, monkeypatch, answers):
    """verify_databases: the module probes each kept database (its address, the engine's default port) and fails
    naming the one that does not answer; the app containers are removed either way."""
    stack_db = _compose_stack()
    client = FakeClient(containers=[stack_db["db"], stack_db["wacore1"]])
    client.remove_container = lambda cid, force=False: None
    client.stop = lambda cid, timeout=None: None
    probed = []
    monkeypatch.setattr(_probes, "wait_db", lambda host, port, engine, timeout: probed.append(
        (host, port, engine, timeout)) or answers)
    result, _out = run(capsys, monkeypatch, client, name="new", state="absent", verify_databases=True, wait_timeout=7)
    assert probed == [("10.0.0.2", 3306, "MYSQL", 7)]
    assert result["removed"] == ["wacore1"] and result["kept"]["databases"][0]["answers"] is answers
    assert bool(result.get("failed")) is not answers
    if not answers:
        assert "database container db" in result["msg"] and "does not answer on port 3306" in result["msg"]


@pytest.mark.parametrize("topology, words", [
    (dict(masters=0, coreapps=2, webapps=1, hosts=2), "0 Master(s), 2 CoreApp(s), 1 Webapp(s) (total over 2 Docker"),
    (dict(masters=2, coreapps=3, shards=4), "4 shard(s) need at least 4 CoreApp(s)"),
    (dict(masters=2, coreapps=3, shards=3), "shards must be one of 1, 2, 4, 8, 16, 32 (got 3)"),
])
def test_topology_option_checks_the_whole_setup_before_the_engine(capsys, monkeypatch, topology, words):
    """A host's own share (1 CoreApp here) may be valid alone; the rules apply to the whole setup's counts."""
    client = FakeClient()
    result, _out = run(capsys, monkeypatch, client, masters=0, coreapps=1, topology=topology)
    assert result["failed"] and result["msg"].startswith("Refusing the topology") and words in result["msg"]
    assert "Nothing was changed" in result["msg"] and client.calls == []


def test_a_share_of_a_valid_setup_passes_the_topology_check(capsys, monkeypatch):
    client = FakeClient()
    result, _out = run(capsys, monkeypatch, client, masters=0, coreapps=1, _ansible_check_mode=True,
                       topology=dict(masters=2, coreapps=3, webapps=1, shards=2, hosts=2))
    assert not result.get("failed") and len(result["created"]) == 2 and client.calls == []


def _compose_stack():
    def container(name, image, env=()):
        labels = {model.COMPOSE_PROJECT: "new", model.COMPOSE_SERVICE: name}
        return {"Id": (name * 20)[:64], "Name": "/" + name, "Image": "sha256:" + name,
                "Config": {"Image": image, "Env": list(env), "Labels": labels},
                "State": {"Status": "running", "Running": True, "StartedAt": "2026-11-25T10:00:00Z"},
                "NetworkSettings": {"Networks": {"new_default": {"IPAddress": "10.0.0.2", "Aliases": [name]}}},
                "Mounts": []}
    return {"db": container("db", "mysql:8.0.33"),
            "master1": container("master1", CORE, env=["WA_DB_HOSTNAME=db", "WA_MASTER_NODE=1"]),
            "wacore1": container("wacore1", CORE, env=["WA_DB_HOSTNAME=db"]),
            "waweb": container("waweb", WEB, env=["WA_DB_HOSTNAME=db"])}


def test_restarted_check_mode_names_the_containers_and_restarts_nothing(capsys, monkeypatch):
    client = FakeClient(containers=_compose_stack().values())
    result, _out = run(capsys, monkeypatch, client, name="new", state="restarted", restart_roles=["master", "coreapp"],
                       _ansible_check_mode=True, _ansible_diff=True)
    assert result["changed"] and result["restarted"] == ["master1", "wacore1"]
    assert [c["name"] for c in result["diff"]["before"]["containers"]] == ["master1", "wacore1"]
    assert client.calls == []


def test_restarted_on_a_host_without_the_roles_changes_nothing(capsys, monkeypatch):
    only_web = _compose_stack()
    only_web = [only_web["db"], only_web["waweb"]]
    client = FakeClient(containers=only_web)
    result, _out = run(capsys, monkeypatch, client, name="new", state="restarted", restart_roles=["master", "coreapp"])
    assert not result.get("failed") and not result["changed"] and result["restarted"] == []
    assert client.calls == []
    client = FakeClient(containers=[only_web[0]])
    result, _out = run(capsys, monkeypatch, client, name="new", state="restarted")
    assert result["failed"] and "has no app container" in result["msg"] and client.calls == []


def test_an_engine_error_is_one_clean_failure(capsys, monkeypatch):
    """DockerModule.docker_errors(): an engine error anywhere in a state is a failure naming what was being done."""
    client = FakeClient()

    def broken(all=False, filters=None):  # pylint: disable=redefined-builtin,unused-argument
        raise d.APIError("500 Server Error: engine on fire")
    client.containers = broken
    result, out = run(capsys, monkeypatch, client, state="stopped")
    assert result["failed"] and result["msg"] == "Docker engine error while reading stack wa-new: 500 Server Error: engine on fire"
    assert "Traceback" not in out and client.calls == []


@pytest.mark.parametrize("bad", [dict(topology=5), dict(topology="masters"), dict(verify_db=[1, 2])])
def test_a_malformed_dictionary_option_never_prints_the_secrets(capsys, monkeypatch, bad):
    # ansible-core loses its list of no_log values when a dictionary with suboptions is given as text: the
    # failure would then print db.password and api_key in the module's arguments.
    client = FakeClient()
    result, out = run(capsys, monkeypatch, client, **bad)
    assert result["failed"] and ("topology" in result["msg"] or "verify_db" in result["msg"]), result
    assert PASSWORD not in out and "monitoring-key-1234" not in out
    assert client.calls == []
