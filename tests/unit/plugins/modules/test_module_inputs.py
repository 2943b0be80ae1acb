# Copyright (c) 2026, wabiz.api_client contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Every module validates its inputs before any API call; secrets never appear in the output."""

from __future__ import annotations

import json

import pytest

from ansible.module_utils.testing import patch_module_args
from ansible_collections.wabiz.api_client.plugins.module_utils import _api, _backup
from ansible_collections.wabiz.api_client.plugins.modules import (
    app_settings, login, message, settings_backup, settings_restore, two_step, webhook_ca)

URL = "https://wa.example.test:9090"
TOKEN = "eyJ.unit-token.zzz"


@pytest.fixture
def calls(monkeypatch):
    """Records every API call; any call answers a server error so a test notices it."""
    seen = []

    def request(self, method, path, **kwargs):
        seen.append((method, path))
        raise _api.WAApiError(status=599, title="unexpected call in a unit test")
    monkeypatch.setattr(_api.WAClient, "request", request)
    return seen


def run(capsys, module, args):
    full = dict(dict(api_url=URL, api_token=TOKEN), **args)
    full = dict((k, v) for k, v in full.items() if v is not None)
    with patch_module_args(full):
        with pytest.raises(SystemExit):
            module.main()
    out = capsys.readouterr().out
    return json.loads(out), out


@pytest.mark.parametrize("pin", ["12345", "1234567", "12a456", "", " 123456"])
def test_two_step_pin_must_be_six_digits(capsys, calls, pin):
    result, out = run(capsys, two_step, dict(state="present", pin=pin))
    assert result["failed"] and "pin must be exactly six digits" in result["msg"]
    assert calls == []


def test_two_step_check_mode_sends_nothing(capsys, calls):
    result, out = run(capsys, two_step, dict(state="present", pin="123456", _ansible_check_mode=True))
    assert result["changed"] and not result.get("failed") and calls == []
    assert "123456" not in out


@pytest.mark.parametrize("password, missing", [
    ("Short1!", "8 to 64 characters"), ("alllowercase1!", "an upper-case letter"),
    ("NoDigits!!", "a digit"), ("NoSpecial12", "a special character"), ("ALLUPPER1!", "a lower-case letter"),
])
def test_login_new_password_rules_checked_first(capsys, calls, password, missing):
    result, out = run(capsys, login, dict(api_token=None, api_username="admin", api_password="secret",
                                          new_password=password))
    assert result["failed"] and missing in result["msg"] and calls == []
    assert password not in out


def test_login_password_rules_accept_a_good_one():
    assert login.password_problems("Str0ng-Passw0rd") == []


def test_message_body_limits(capsys, calls):
    result = run(capsys, message, dict(to="15550001111", body="x" * 4097))[0]
    assert result["failed"] and "1 to 4096 characters (got 4097)" in result["msg"] and calls == []
    result = run(capsys, message, dict(to="not a number", body="hi"))[0]
    assert result["failed"] and "phone number" in result["msg"] and calls == []
    result = run(capsys, message, dict(to="+1 555 000 1111", body="x" * 4096, _ansible_check_mode=True))[0]
    assert result["changed"] and calls == []


def test_app_settings_invalid_before_any_call(capsys, calls):
    result = run(capsys, app_settings, dict(settings={"webhooks": {"url": "http://insecure.example"}}))[0]
    assert result["failed"] and result["msg"].startswith("invalid settings: webhooks.url must be an HTTPS URL")
    assert calls == []


def test_webhook_ca_refuses_non_certificates(capsys, calls):
    result = run(capsys, webhook_ca, dict(content="hello"))[0]
    assert result["failed"] and "PEM certificate" in result["msg"] and calls == []
    key = "-----BEGIN PRIVATE KEY-----\nMIIB\n-----END PRIVATE KEY-----\n"
    result = run(capsys, webhook_ca, dict(content=key))[0]
    assert result["failed"] and "no private key" in result["msg"] and calls == []


def test_webhook_ca_pem_normalisation():
    pem = "-----BEGIN CERTIFICATE-----\r\nAAAA\r\nBBBB\r\n-----END CERTIFICATE-----"
    assert webhook_ca.normalise_pem(pem) == "-----BEGIN CERTIFICATE-----\nAAAABBBB\n-----END CERTIFICATE-----\n"
    assert webhook_ca.find_pem({"x": [pem]}) == webhook_ca.normalise_pem(pem)
    assert webhook_ca.find_pem(None) is None


def test_restore_topology_mismatch_names_both():
    text = settings_restore.topology_mismatch({"masters": 2, "coreapps": 3, "shards": 2}, {"masters": 2, "coreapps": 2})
    assert "2 Masters, 3 CoreApps, 2 shards" in text and "2 Masters, 2 CoreApps" in text
    assert settings_restore.topology_mismatch({"masters": 0, "coreapps": 1, "shards": 1},
                                              {"masters": 0, "coreapps": 1}) is None
    assert settings_restore.topology_mismatch(None, {"masters": 0, "coreapps": 1}) is None


def test_restore_refuses_a_tampered_file_before_any_call(capsys, calls, tmp_path):
    dest = str(tmp_path / "b.bak")
    _backup.write_backup(dest, "QUJDREVGR0hJSktMTU5P", {"topology": {"masters": 0, "coreapps": 1}})
    open(dest, "a").write("X")
    result, out = run(capsys, settings_restore, dict(backup_password="Backup-Pass1", src=dest))
    assert result["failed"] and result["msg"].startswith("restore refused:") and "sha256" in result["msg"]
    assert calls == [] and "Backup-Pass1" not in out


def test_backup_keeps_an_existing_verified_file(capsys, calls, tmp_path):
    dest = str(tmp_path / "b.bak")
    _backup.write_backup(dest, "QUJDREVGR0hJSktMTU5P", {"topology": {"masters": 0, "coreapps": 1}})
    result, out = run(capsys, settings_backup, dict(backup_password="Backup-Pass1", dest=dest))
    assert result["changed"] is False and result["sha256"] == _backup.sha256_bytes(b"QUJDREVGR0hJSktMTU5P")
    assert "not overwritten" in result["msg"] and calls == []
    assert "QUJDREVG" not in out and "Backup-Pass1" not in out


def test_backup_check_mode_makes_no_call_and_no_file(capsys, calls, tmp_path):
    dest = str(tmp_path / "b.bak")
    result = run(capsys, settings_backup, dict(backup_password="Backup-Pass1", dest=dest, _ansible_check_mode=True))[0]
    assert result["changed"] is True and calls == []
    assert list(tmp_path.iterdir()) == []


class FakeBackupClient:
    def __init__(self):
        self.answers = {
            "/v1/health": {"health": {"m1:a": {"gateway_status": "connected", "role": "primary_master"},
                                      "c1:b": {"gateway_status": "connected", "role": "coreapp"}},
                           "meta": {"version": "v2.62.5"}},
            "/v1/account/shards": {"account": {"shards": 1}},
            "/v1/settings/application": {"settings": {"application": {"wa_id": "15550001111"}}},
        }

    def get(self, path, auth="token", retries=None):
        return self.answers[path]


def test_backup_metadata_records_topology_wa_id_and_version():
    meta = settings_backup.collect_metadata(FakeBackupClient(), URL)
    assert meta["topology"] == {"masters": 1, "coreapps": 1, "shards": 1, "multiconnect": True}
    assert meta["wa_id"] == "15550001111" and meta["version"] == "v2.62.5" and meta["source_url"] == URL
    assert meta["registered"] is True


def node(name, status, role="coreapp"):
    return dict(name=name, hostname=name, container_id="c", gateway_status=status, role=role)


@pytest.mark.parametrize("nodes, wa_id, verdict, words", [
    ([node("single", "unregistered")], None, "proceed", None),
    ([node("m1", "unregistered", "primary_master"), node("c1", "unregistered")], None, "proceed", None),
    ([node("single", "connected")], "15550001111", "done", "already registered with 15550001111"),
    ([node("single", "uninitialized")], "15550001111", "done", "restore done before"),
    ([node("single", "connected")], "15550002222", "refuse", "registered (single=connected) with 15550002222"),
    ([node("single", "disconnected")], None, "refuse", "not running (single=disconnected): start its CoreApps first"),
    ([node("m1", "disconnected", "primary_master"), node("c1", "disconnected")], None, "refuse",
     "start its CoreApps and Masters first"),
])
def test_restore_target_verdict(nodes, wa_id, verdict, words):
    asked = []

    def read_wa_id():
        asked.append(1)
        return wa_id
    got = settings_restore.target_verdict(nodes, read_wa_id, "15550001111")
    assert got[0] == verdict
    if words:
        assert words in got[1]
    assert bool(asked) == (verdict != "proceed" and "not running" not in (got[1] or ""))


def _scripted(monkeypatch, answers):
    """WAClient.request answering from ``answers`` (method, path) -> list of answers, in order; records calls."""
    seen = []

    def request(self, method, path, **kwargs):
        seen.append((method, path))
        todo = answers[(method, path)]
        answer = todo.pop(0) if len(todo) > 1 else todo[0]
        if isinstance(answer, Exception):
            raise answer
        return answer
    monkeypatch.setattr(_api.WAClient, "request", request)
    return seen


def test_message_waits_until_healthy_then_sends_once(capsys, monkeypatch):
    seen = _scripted(monkeypatch, {
        ("GET", "/v1/health"): [{"health": {"gateway_status": "uninitialized"}},
                                _api.WAApiError(status=503, title="Service Unavailable"),
                                {"health": {"gateway_status": "connected"}}],
        ("POST", "/v1/messages"): [{"messages": [{"id": "gBEunit"}]}],
    })
    result = run(capsys, message, dict(to="+15550001111", body="hi", wait_healthy=True, expected_shards=1,
                                       wait_interval=0.01, wait_timeout=5))[0]
    assert result["message_id"] == "gBEunit" and result["changed"] is True
    assert result["polls"] == 3 and result["health"]["healthy"] is True
    assert result["healthy_at"] <= result["sent_at"]
    assert seen == [("GET", "/v1/health")] * 3 + [("POST", "/v1/messages")]


def test_message_sends_nothing_when_the_setup_never_becomes_healthy(capsys, monkeypatch):
    seen = _scripted(monkeypatch, {("GET", "/v1/health"): [{"health": {"gateway_status": "connecting"}}]})
    result = run(capsys, message, dict(to="15550001111", body="hi", wait_healthy=True, wait_interval=0.01,
                                       wait_timeout=0))[0]
    assert result["failed"] and "not healthy after 0s; no message sent" in result["msg"], result["msg"]
    assert "not ready" in result["msg"] and "message_id" not in result
    assert ("POST", "/v1/messages") not in seen


@pytest.mark.parametrize("args, word", [(dict(expected_shards=3), "expected_shards"),
                                        (dict(wait_interval=0), "wait_interval"),
                                        (dict(wait_timeout=-1), "wait_timeout")])
def test_message_wait_options_checked_before_any_call(capsys, calls, args, word):
    result = run(capsys, message, dict(to="15550001111", body="hi", wait_healthy=True, **args))[0]
    assert result["failed"] and ("nothing was changed: %s must be" % word) in result["msg"] and calls == []
