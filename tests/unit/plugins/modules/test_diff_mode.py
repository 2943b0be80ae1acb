# Copyright (c) 2026, wabiz.api_client contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""--diff of two_step and db_container (issue 26): present and true in check mode and in a real run, free of
secrets (a PIN is only "set"/"not set", a database password masked even when it changes), and empty or absent
when nothing changes. The API and the Docker engine are fakes (units only)."""

from __future__ import annotations

import json

import pytest

from ansible.module_utils.testing import patch_module_args
from ansible_collections.wabiz.api_client.plugins.module_utils import _api
from ansible_collections.wabiz.api_client.plugins.module_utils import _docker as d
from ansible_collections.wabiz.api_client.plugins.module_utils import _stack_model as model
from ansible_collections.wabiz.api_client.plugins.modules import db_container, two_step

URL = "https://wa.example.test:9090"
PIN = "246810"
ROOT = "Root-Pass-unit-1"
OLD_ROOT = "Old-Root-unit-2"
MUTATING = {"create_container", "start", "stop", "remove_container", "create_network", "create_volume",
            "remove_volume", "pull", "create_host_config", "create_networking_config", "create_endpoint_config",
            "connect_container_to_network"}


def run(capsys, module, args):
    with patch_module_args(args):
        with pytest.raises(SystemExit):
            module.main()
    out = capsys.readouterr().out
    return json.loads(out), out


# ------------------------------------------------------------------------------------------------
# two_step
# ------------------------------------------------------------------------------------------------
class Api:
    """Records every call; raises ``failure`` when set, else answers success."""

    def __init__(self):
        self.calls = []
        self.failure = None

    def request(self, method, path, **kwargs):
        """Installed as ``WAClient.request`` (a bound method: the client is not passed)."""
        self.calls.append((method, path))
        if self.failure is not None:
            raise self.failure


@pytest.fixture
def api(monkeypatch):
    fake = Api()
    monkeypatch.setattr(_api.WAClient, "request", fake.request)
    for var in ("WABIZ_API_URL", "WABIZ_API_TOKEN", "WABIZ_CA_PATH", "WABIZ_API_TIMEOUT"):
        monkeypatch.delenv(var, raising=False)
    return fake


def two_step_run(capsys, **args):
    return run(capsys, two_step, dict(dict(api_url=URL, api_token="eyJ.unit.zzz"), **args))


@pytest.mark.parametrize("check", [True, False])
@pytest.mark.parametrize("state, after, method", [("present", "set", "POST"), ("absent", "not set", "DELETE")])
def test_two_step_diff_says_set_or_not_set_never_the_pin(capsys, api, check, state, after, method):
    result, out = two_step_run(capsys, state=state, pin=PIN if state == "present" else None,
                               _ansible_check_mode=check, _ansible_diff=True)
    assert result["changed"] and not result.get("failed"), result
    # No API call reads the state, so "before" is unknown, never a guess.
    assert result["diff"] == dict(before=dict(pin="unknown"), after=dict(pin=after))
    assert api.calls == ([] if check else [(method, two_step.TWO_STEP_PATH)])
    assert PIN not in out and "********" not in json.dumps(result["diff"])


def test_two_step_without_diff_mode_returns_no_diff(capsys, api):
    result, _out = two_step_run(capsys, state="present", pin=PIN)
    assert result["changed"] and "diff" not in result


def test_two_step_refused_call_changes_nothing_and_has_no_diff(capsys, api):
    api.failure = _api.WAApiError(status=400, code=1009, title="Parameter value is not valid",
                                  method="POST", path=two_step.TWO_STEP_PATH)
    result, out = two_step_run(capsys, state="present", pin=PIN, _ansible_diff=True)
    assert result["failed"] and result["changed"] is False and "diff" not in result
    assert PIN not in out


# ------------------------------------------------------------------------------------------------
# db_container
# ------------------------------------------------------------------------------------------------
class Engine:
    """A Docker engine with at most one container; records every mutating call."""

    def __init__(self, container=None):
        self.container = container
        self.calls = []

    def __getattr__(self, name):
        if name in MUTATING:
            return lambda *args, **kwargs: self.calls.append(name) or {"Id": "new"}
        raise AttributeError(name)

    def inspect_container(self, name):
        if self.container and name in (self.container["Name"][1:], self.container["Id"][:12]):
            return self.container
        raise d.NotFound("no such container")

    def inspect_image(self, name):
        return {"Id": "sha256:" + name}

    def networks(self, names=None):
        return [{"Name": n} for n in names or []]

    def inspect_volume(self, name):
        return {"Name": name}


#: The module's parameters for these tests, as ``main`` completes them.
PARAMS = dict(name="wa-db", stack="wa-new", engine="MYSQL", image="mysql:8.0.33", root_password=ROOT, user=None,
              password=None, network="wa-new", volume="wa-db-data", published_port=None, port=3306,
              command=["--default-authentication-plugin=mysql_native_password"], env={"TZ": "UTC"})


def container(running=True, **changes):
    """The inspect answer of the container the module would create from ``PARAMS`` updated with ``changes``."""
    spec = db_container.spec_from(dict(PARAMS, **changes))
    return {"Id": "c" * 64, "Name": "/wa-db", "Image": "sha256:mysql",
            "Config": {"Image": spec["image"], "Hostname": "wa-db", "Labels": spec["labels"],
                       "Env": ["%s=%s" % kv for kv in spec["env"].items()] + ["PATH=/usr/local/bin:/usr/bin"]},
            "State": {"Status": "running" if running else "exited", "Running": running},
            "NetworkSettings": {"Networks": {"wa-new": {"IPAddress": "10.0.0.5", "Aliases": ["wa-db"]}},
                                "Ports": dict((k, [{"HostIp": "0.0.0.0", "HostPort": str(v)}]) for k, v in spec["ports"].items())},
            "Mounts": [{"Type": "volume", "Name": "wa-db-data", "Source": "/var/lib/docker/volumes/wa-db-data/_data",
                        "Destination": "/var/lib/mysql"}]}


def db_run(capsys, monkeypatch, engine, **args):
    monkeypatch.setattr(d, "get_client", lambda module: engine)
    full = dict(name="wa-db", stack="wa-new", network="wa-new", root_password=ROOT, env={"TZ": "UTC"}, wait=False)
    return run(capsys, db_container, dict(full, **args))


def test_db_container_diff_of_a_new_container_masks_the_password(capsys, monkeypatch):
    engine = Engine()
    result, out = db_run(capsys, monkeypatch, engine, _ansible_check_mode=True, _ansible_diff=True)
    assert result["changed"] and result["created"] and engine.calls == []
    after = result["diff"]["after"]
    assert result["diff"]["before"] == {}
    assert after["env"] == {"MYSQL_ROOT_PASSWORD": "********", "TZ": "UTC"}
    assert (after["image"], after["network"], after["volume"]) == ("mysql:8.0.33", "wa-new", "wa-db-data")
    assert after["running"] is True and after["published_port"] is None
    assert ROOT not in out


def test_db_container_diff_is_empty_when_nothing_changes(capsys, monkeypatch):
    engine = Engine(container())
    result, _out = db_run(capsys, monkeypatch, engine, _ansible_check_mode=True, _ansible_diff=True)
    assert not result["changed"] and not result.get("failed"), result
    assert result["diff"]["before"] == result["diff"]["after"] and result["diff"]["after"]["env"]["TZ"] == "UTC"
    result, _out = db_run(capsys, monkeypatch, engine)
    assert not result["changed"] and "diff" not in result and engine.calls == []


def test_db_container_diff_marks_a_changed_password_without_showing_either(capsys, monkeypatch):
    engine = Engine(container(root_password=OLD_ROOT))
    result, out = db_run(capsys, monkeypatch, engine, _ansible_check_mode=True, _ansible_diff=True)
    assert result["changed"] and result["created"] and engine.calls == []
    assert result["diff"]["before"]["env"]["MYSQL_ROOT_PASSWORD"] == "********"
    assert result["diff"]["after"]["env"]["MYSQL_ROOT_PASSWORD"] == "******** (changed)"
    # The old password is no option of this run, so Ansible's no_log would not hide it: the diff itself must not
    # hold it (nor the new one, checked without Ansible's output filter).
    assert OLD_ROOT not in out
    raw = db_container.diff_of(PARAMS, model.summarize_container(engine.container), db_container.spec_from(PARAMS))
    assert ROOT not in json.dumps(raw) and OLD_ROOT not in json.dumps(raw)


@pytest.mark.parametrize("check", [True, False])
def test_db_container_diff_of_a_changed_setting_and_a_start(capsys, monkeypatch, check):
    engine = Engine(container(running=False, published_port=13306, env={"TZ": "Europe/Paris"}))
    result, _out = db_run(capsys, monkeypatch, engine, _ansible_check_mode=check, _ansible_diff=True)
    before, after = result["diff"]["before"], result["diff"]["after"]
    assert result["changed"] and result["created"]
    assert (before["env"]["TZ"], after["env"]["TZ"]) == ("Europe/Paris", "UTC")
    assert before["config"] != after["config"] and (before["running"], after["running"]) == (False, True)
    assert (before["published_port"], after["published_port"]) == (13306, None) and "PATH" not in before["env"]
    if check:
        assert engine.calls == []
    else:
        assert {"remove_container", "create_container"} <= set(engine.calls)


@pytest.mark.parametrize("check", [True, False])
def test_db_container_absent_diff_names_what_goes(capsys, monkeypatch, check):
    engine = Engine(container())
    result, out = db_run(capsys, monkeypatch, engine, state="absent", remove_volume=True, root_password=None,
                         _ansible_check_mode=check, _ansible_diff=True)
    assert result["removed"] and result["volume_removed"]
    assert result["diff"] == dict(before=dict(container="wa-db", volume="wa-db-data"), after={})
    assert engine.calls == ([] if check else ["stop", "remove_container", "remove_volume"])
    assert ROOT not in out
    result, _out = db_run(capsys, monkeypatch, Engine(), state="absent", root_password=None, _ansible_diff=True)
    assert not result["changed"] and result["diff"] == dict(before={}, after={})


@pytest.mark.parametrize("engine, user, password, env", [
    ("MYSQL", None, None, {"MYSQL_ROOT_PASSWORD": ROOT}),
    ("MYSQL", "wa", "User-1", {"MYSQL_ROOT_PASSWORD": ROOT, "MYSQL_USER": "wa", "MYSQL_PASSWORD": "User-1"}),
    ("PGSQL", None, "User-1", {"POSTGRES_PASSWORD": ROOT}),
    ("PGSQL", "wa", None, {"POSTGRES_USER": "wa", "POSTGRES_PASSWORD": ROOT}),
    ("PGSQL", "wa", "User-1", {"POSTGRES_USER": "wa", "POSTGRES_PASSWORD": "User-1"}),
])
def test_db_container_environment_per_engine(engine, user, password, env):
    assert db_container.spec_from(dict(PARAMS, engine=engine, user=user, password=password, env={}))["env"] == env
