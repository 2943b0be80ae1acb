# Copyright (c) 2026, wabiz.api_client contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""account_info returns the application settings and the webhook URL (what migration step 3 keeps before it
resets the webhooks), read with one GET of /v1/settings/application (Meta's reference, "Application Settings")."""

from __future__ import annotations

import copy
import json

import pytest

from ansible.module_utils.testing import patch_module_args
from ansible_collections.wabiz.api_client.plugins.module_utils import _api, _validate
from ansible_collections.wabiz.api_client.plugins.modules import account_info

URL = "https://wa.example.test:9090"
TOKEN = "eyJ.unit-token.zzz"
META = {"api_status": "stable", "version": "v2.62.5"}
#: Shaped as the sample answer of Meta's reference for GET /v1/settings/application.
SETTINGS = {
    "callback_backoff_delay_ms": 3000, "callback_persist": True,
    "garbagecollector_enable": {"media": False, "messages": True}, "heartbeat_interval": 5,
    "max_callback_backoff_delay_ms": 900000,
    "media": {"auto_download": ["image", "video", "voice", "sticker", "audio", "document"]},
    "notify_user_change_number": True, "show_security_notifications": True, "unhealthy_interval": 30,
    "wa_id": "16315551019",
    "webhooks": {"url": "https://hooks.example.test/wa", "max_concurrent_requests": 6,
                 "message": {"sent": True, "delivered": True, "read": False}},
    "verbose_logging": False, "log_level": "info",
}


@pytest.fixture
def server(monkeypatch):
    """A fake client edge: ``server["answers"][path]`` is the answer (a dict, or a WAApiError to raise);
    ``server["calls"]`` records every (method, path)."""
    state = {"calls": [], "answers": {
        "/v1/account/shards": {"account": {"shards": 1}, "meta": META},
        "/v1/health": {"health": {"gateway_status": "connected"}, "meta": META},
        "/v1/settings/application": {"settings": {"application": copy.deepcopy(SETTINGS)}, "meta": META},
    }}

    def request(self, method, path, **kwargs):
        state["calls"].append((method, path))
        answer = state["answers"][path]
        if isinstance(answer, Exception):
            raise answer
        return copy.deepcopy(answer)
    monkeypatch.setattr(_api.WAClient, "request", request)
    return state


def run(capsys, **args):
    full = dict(dict(api_url=URL, api_token=TOKEN), **args)
    full = dict((k, v) for k, v in full.items() if v is not None)
    with patch_module_args(full):
        with pytest.raises(SystemExit):
            account_info.main()
    return json.loads(capsys.readouterr().out)


def settings_with_url(url):
    settings = copy.deepcopy(SETTINGS)
    settings["webhooks"]["url"] = url
    return {"settings": {"application": settings}, "meta": META}


def test_returns_the_application_settings_and_the_webhook_url(capsys, server):
    result = run(capsys)
    assert not result.get("failed") and not result["changed"]
    assert result["application_settings"] == SETTINGS
    assert result["webhook_url"] == "https://hooks.example.test/wa"
    assert result["wa_id"] == "16315551019" and result["registered"] and result["shards"] == 1
    assert [c for c in server["calls"] if c[1] == "/v1/settings/application"] == [("GET", "/v1/settings/application")]


@pytest.mark.parametrize("answer", [settings_with_url(""), settings_with_url(None),
                                    {"settings": {"application": {"wa_id": "16315551019"}}}])
def test_no_webhook_set_is_an_empty_url(capsys, server, answer):
    server["answers"]["/v1/settings/application"] = answer
    result = run(capsys)
    assert result["webhook_url"] == ""
    assert result["application_settings"] == answer["settings"]["application"]


@pytest.mark.parametrize("answer, words", [
    ({"settings": {"application": {"webhooks": "not an object"}}}, "settings.application.webhooks must be an object"),
    ({"settings": {"application": {"webhooks": {"url": 5}}}}, "settings.application.webhooks.url must be a string"),
    ({"settings": {"application": {"wa_id": ["1"]}}}, "settings.application.wa_id must be a string"),
    ({"settings": "x"}, "settings must be an object, got a string"), ([None], "the body must be an object"),
    ({"settings": {"application": {}}, "meta": {"version": 2}}, "meta.version must be a string, got a number"),
])
def test_a_broken_settings_answer_fails_naming_the_field(capsys, server, answer, words):
    server["answers"]["/v1/settings/application"] = answer
    server["answers"]["/v1/health"] = {"health": {"gateway_status": "connected"}}
    result = run(capsys)
    assert result["failed"] and "unexpected answer to GET /v1/settings/application: " + words in result["msg"]


def test_the_userinfo_of_the_webhook_url_is_masked(capsys, server):
    server["answers"]["/v1/settings/application"] = settings_with_url("https://hookuser:hook-Secret-9@hooks.example.test/wa")
    result = run(capsys)
    assert result["webhook_url"] == "https://%s@hooks.example.test/wa" % _validate.SECRET_MASK
    assert result["application_settings"]["webhooks"]["url"] == result["webhook_url"]
    assert "hook-Secret-9" not in json.dumps(result)


def test_unreadable_settings_are_null_with_a_warning(capsys, server):
    server["answers"]["/v1/settings/application"] = _api.WAApiError(status=403, code=1005, title="Access denied",
                                                                    method="GET", path="/v1/settings/application")
    result = run(capsys)
    assert not result.get("failed")
    assert result["application_settings"] is None and result["webhook_url"] is None and result["wa_id"] is None
    assert "cannot read the application settings" in json.dumps(result["warnings"])


def test_an_expired_token_on_the_settings_fails(capsys, server):
    server["answers"]["/v1/settings/application"] = _api.WAApiError(status=401, code=1005, title="Access denied",
                                                                    method="GET", path="/v1/settings/application")
    result = run(capsys)
    assert result["failed"] and "401" in result["msg"]


def test_with_only_an_api_key_the_settings_are_not_read(capsys, server):
    result = run(capsys, api_token=None, api_key="monitoring-key-123")
    assert result["application_settings"] is None and result["webhook_url"] is None
    assert [c[1] for c in server["calls"]] == ["/v1/health"]


def test_the_real_webhook_url_is_kept_in_a_0600_file_only(capsys, server, tmp_path):
    """Issue 23.7: step 3 keeps the old webhook URL with its credentials for a rollback; results stay masked."""
    real = "https://hook-user:Hook-Pass-42@hooks.example.test/in?token=Tok-99"
    server["answers"]["/v1/settings/application"]["settings"]["application"]["webhooks"]["url"] = real
    path = tmp_path / "old-webhook-url"
    result = run(capsys, webhook_url_file=str(path))
    assert path.read_text() == real and oct(path.stat().st_mode & 0o777) == "0o600"
    assert result["changed"] is True and "Hook-Pass-42" not in json.dumps(result) and "Tok-99" not in json.dumps(result)
    assert result["webhook_url"] == "https://********@hooks.example.test/in?token=********"
    assert run(capsys, webhook_url_file=str(path))["changed"] is False
    path.unlink()
    assert run(capsys, webhook_url_file=str(path), _ansible_check_mode=True)["changed"] is False
    assert not path.exists()
    server["answers"]["/v1/settings/application"]["settings"]["application"]["webhooks"]["url"] = ""
    assert run(capsys, webhook_url_file=str(path))["changed"] is False and not path.exists()
