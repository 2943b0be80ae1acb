# Copyright (c) 2026, wabiz.api_client contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Issue 23, item 2 (and item 10's condition): the answers of a hostile or broken Webapp that crashed the modules
with a traceback. Each now fails with a message naming the call and the field. The fake sits at the edge of
``requests`` (``Session.request``), so the client's own JSON decoding runs."""

from __future__ import annotations

import io
import json

import pytest
import requests

from ansible.module_utils.testing import patch_module_args
from ansible_collections.wabiz.api_client.plugins.modules import (
    account_info, app_settings, health_info, login, message, settings_backup)

URL = "https://wa.example.test:9090"
TOKEN = "eyJ.unit-token.zzz"
HEALTHY = b'{"health": {"gateway_status": "connected"}}'
SHARDS = b'{"account": {"shards": 1}}'
SETTINGS = b'{"settings": {"application": {"wa_id": "15550001111", "webhooks": {"url": ""}}}}'


@pytest.fixture
def webapp(monkeypatch):
    """``webapp[(method, path)] = (status, body bytes)``; every call is answered from that table."""
    table = {}

    def request(session, method, url, **kwargs):
        status, body = table[(method, url[len(URL):])]
        response = requests.models.Response()
        response.status_code, response.raw, response.reason = status, io.BytesIO(body), "X"
        return response
    monkeypatch.setattr(requests.Session, "request", request)
    return table


def run(capsys, module, **args):
    args = dict(dict(api_url=URL, api_token=TOKEN, api_retries=0), **args)
    with patch_module_args(dict((k, v) for k, v in args.items() if v is not None)):
        with pytest.raises(SystemExit):
            module.main()
    return json.loads(capsys.readouterr().out)


@pytest.mark.parametrize("body, words", [
    (b'{"health": {"gateway_status": ["connected"]}}', "health.gateway_status must be a string, got a list"),
    (b'{"health": {"gateway_status": {"a": 1}}}', "health.gateway_status must be a string, got an object"),
    (b'{"health": {"n:1": {"gateway_status": [], "role": "coreapp"}}}', "health.n:1.gateway_status must be a string"),
    (b"[" * 100000 + b"]" * 100000, "the body is nested too deeply"),
    (b'{"health": ' + b"[" * 500 + b"]" * 500 + b"}", "the body is nested more than 32 levels deep"),
])
def test_a_broken_health_answer_fails_naming_the_field(capsys, webapp, body, words):
    webapp[("GET", "/v1/account/shards")] = (200, SHARDS)
    webapp[("GET", "/v1/health")] = (200, body)
    result = run(capsys, health_info)
    assert result["failed"] and "unexpected answer to GET /v1/health: " in result["msg"] and words in result["msg"]


@pytest.mark.parametrize("body, words", [
    (b'{"account": {"shards": 1e999}}', "account.shards must be an integer, got a number"),
    (b'{"account": {"shards": "2"}}', "account.shards must be an integer, got a string"),
    (b'{"account": []}', "account must be an object, got a list"),
])
def test_a_broken_shard_count_fails_naming_the_field(capsys, webapp, body, words):
    webapp[("GET", "/v1/account/shards")] = (200, body)
    result = run(capsys, account_info)
    assert result["failed"] and "unexpected answer to GET /v1/account/shards: " + words in result["msg"]


@pytest.mark.parametrize("body, words", [
    (b'{"users": "x"}', "users must be a list, got a string"), (b"[null]", "the body must be an object, got a list"),
    (b'{"users": []}', "users.0 must be an object, got nothing"),
    (b'{"users": [{"token": ""}]}', "users.0.token must be a non-empty string, got a string"),
    (b'{"users": [{"token": "t0k3n-xyz", "expires_after": {}}]}', "users.0.expires_after must be a string"),
])
def test_a_broken_login_answer_fails_naming_the_field(capsys, webapp, body, words):
    webapp[("POST", "/v1/users/login")] = (200, body)
    result = run(capsys, login, api_token=None, api_username="admin", api_password="Secret-Pass-1")
    assert result["failed"] and "unexpected answer to POST /v1/users/login: " + words in result["msg"]


@pytest.mark.parametrize("body, words", [
    (b'"x"', "the body must be an object, got a string"), (b'{"messages": 5}', "messages must be a list, got a number"),
    (b'{"messages": [{"id": null}]}', "messages.0.id must be a non-empty string, got nothing"),
])
def test_a_broken_message_answer_fails_and_says_the_message_was_sent(capsys, webapp, body, words):
    webapp[("POST", "/v1/messages")] = (201, body)
    result = run(capsys, message, to="+15550001111", body="hello")
    assert result["failed"] and result["changed"]
    assert result["msg"] == ("the message was sent, but reading its id failed: unexpected answer to POST /v1/messages: "
                             + words)


@pytest.mark.parametrize("body, words", [
    (b'{"settings": "x"}', "settings must be an object, got a string"),
    (b'{"settings": {"data": 12}}', "settings.data must be a non-empty string, got a number"),
])
def test_a_broken_backup_answer_fails_and_writes_nothing(capsys, webapp, tmp_path, body, words):
    webapp.update({("GET", "/v1/health"): (200, HEALTHY), ("GET", "/v1/account/shards"): (200, SHARDS),
                   ("GET", "/v1/settings/application"): (200, SETTINGS), ("POST", "/v1/settings/backup"): (200, body)})
    result = run(capsys, settings_backup, backup_password="Backup-1", dest=str(tmp_path / "new.bak"))
    assert result["failed"] and "unexpected answer to POST /v1/settings/backup: " + words in result["msg"]
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("settings, body, words", [
    ({"webhooks": {"url": "https://hooks.example.test/x"}}, b'{"settings": {"application": {"webhooks": "x"}}}',
     "settings.application.webhooks must be an object, got a string"),
    ({"webhooks": {"message": {"read": True}}}, b'{"settings": {"application": {"webhooks": {"message": 1}}}}',
     "settings.application.webhooks.message must be an object, got a number"),
    ({"odd": {"deep": 1}}, b'{"settings": {"application": {"odd": [1]}}}',
     "settings.application.odd must be an object, got a list"),
])
def test_a_broken_settings_group_fails_in_check_mode_too(capsys, webapp, settings, body, words):
    webapp[("GET", "/v1/settings/application")] = (200, body)
    result = run(capsys, app_settings, settings=settings, _ansible_check_mode=True)
    assert result["failed"] and "unexpected answer to GET /v1/settings/application: " + words in result["msg"]


def test_a_condition_that_fails_at_evaluation_fails_clearly(capsys, webapp):
    webapp.update({("GET", "/v1/health"): (200, HEALTHY), ("GET", "/v1/account/shards"): (200, SHARDS)})
    result = run(capsys, health_info, condition="length(summary.healthy) > `0`")
    assert result["failed"] and result["msg"].startswith(
        "health check failed: condition cannot be evaluated against the health answer: ")


@pytest.mark.parametrize("body", [b'{"errors": [{"code": [1011], "title": {"x": 1}, "details": [[]]}]}',
                                  b'{"errors": [' + b"[" * 100000 + b"]" * 100000 + b"]}"])
def test_an_error_answer_of_any_shape_fails_clearly(capsys, webapp, body):
    webapp[("GET", "/v1/account/shards")] = (503, body)
    result = run(capsys, health_info)
    assert result["failed"] and result["msg"].startswith("health check failed: 503")


def test_credentials_echoed_by_the_webapp_are_masked_in_warnings_and_messages(capsys, webapp):
    echo = ('{"errors": [{"code": 1005, "title": "Bearer %s", "details": "Basic YWRtaW46U2VjcmV0LVBhc3MtMQ=="}]}'
            % TOKEN).encode()
    webapp.update({("GET", "/v1/health"): (200, HEALTHY), ("GET", "/v1/account/shards"): (200, SHARDS),
                   ("GET", "/v1/settings/application"): (403, echo), ("POST", "/v1/users/login"): (
                       200, ('{"users": [{"token": "%s"}]}' % TOKEN).encode())})
    out = json.dumps(run(capsys, account_info, api_token=None, api_username="admin", api_password="Secret-Pass-1"))
    assert "cannot read the application settings: 403 1005 Bearer ********" in out
    assert TOKEN not in out and "YWRtaW46U2VjcmV0LVBhc3MtMQ==" not in out
