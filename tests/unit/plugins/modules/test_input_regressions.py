# Copyright (c) 2026, wabiz.api_client contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Regression tests for issue 11, one group per category of the review: crashes, silently accepted
values, unclear messages, secrets (URL userinfo, webhook URLs, container environments) and honest results."""

from __future__ import annotations

import json

import pytest
import requests

from ansible.module_utils.common.parameters import PASS_VARS
from ansible.module_utils.testing import patch_module_args
from ansible_collections.wabiz.api_client.plugins.module_utils import _api, _backup, _docker, _stack_model, _validate
from ansible_collections.wabiz.api_client.plugins.modules import (
    app_settings, health_info, message, settings_backup, settings_restore, stack, two_step, webhook_ca)

URL = "https://wa.example.test:9090"
TOKEN = "eyJ.unit-token.zzz"
PEM = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"
DATA = "QUJDREVGR0hJSktMTU5PUFFSU1RVVldY"


class Server:
    """Answers API calls by (method, path) from a table; records every call. Unit tests only."""

    def __init__(self, answers=None):
        self.answers = dict(answers or {})
        self.calls = []

    def request(self, method, path, **kwargs):
        """Installed as ``WAClient.request`` (a bound method: the client is not passed)."""
        self.calls.append((method, path, kwargs.get("json_body")))
        answer = self.answers.get((method, path))
        if isinstance(answer, list):
            answer = answer.pop(0) if len(answer) > 1 else answer[0]
        if isinstance(answer, Exception):
            raise answer
        if answer is None and (method, path) not in self.answers:
            raise _api.WAApiError(status=599, title="unexpected call in a unit test", method=method, path=path)
        return answer


@pytest.fixture
def server(monkeypatch):
    fake = Server()
    monkeypatch.setattr(_api.WAClient, "request", fake.request)
    for var in ("WABIZ_API_URL", "WABIZ_API_TOKEN", "WABIZ_CA_PATH", "WABIZ_API_TIMEOUT"):
        monkeypatch.delenv(var, raising=False)
    return fake


#: ansible-core 2.21 returns ``invocation`` only when asked (INJECT_INVOCATION); older cores always do.
INVOCATION = {"_ansible_inject_invocation": True} if "inject_invocation" in PASS_VARS else {}


def run(capsys, module, args, token=True):
    full = dict(api_url=URL, api_token=TOKEN, **INVOCATION) if token else dict(INVOCATION)
    full.update(args)
    with patch_module_args(dict((k, v) for k, v in full.items() if v is not None)):
        with pytest.raises(SystemExit):
            module.main()
    out = capsys.readouterr().out
    return json.loads(out), out


# -- crashes -------------------------------------------------------------------------------------
@pytest.mark.parametrize("option, value, words", [
    ("api_timeout", -1, "api_timeout must be a number > 0 and <= 3600"),
    ("api_timeout", 1e30, "api_timeout must be a number > 0 and <= 3600"),
    ("api_timeout", float("inf"), "api_timeout must be a number > 0 and <= 3600"),
    ("api_retries", float("inf"), "api_retries"),
    ("api_retries", [2 ** 63, 0, 0], "api_retries"),
    ("expected_shards", [1, 2], "expected_shards"),
    ("api_retry_delay", -0.5, "api_retry_delay must be a number >= 0 and <= 300"),
    ("wait_interval", -2, "wait_interval must be a number > 0 and <= 3600"),
    ("wait_interval", float("nan"), "wait_interval must be a number > 0 and <= 3600"),
    ("wait_timeout", 10 ** 20, "wait_timeout must be an integer from 0 to 86400"),
])
def test_negative_or_huge_timeouts_fail_clearly(capsys, server, option, value, words):
    result, out = run(capsys, health_info, {option: value, "wait": True})
    assert result["failed"] and words in result["msg"] and server.calls == []


def test_missing_or_binary_ca_path_fails_before_any_call(capsys, server, tmp_path):
    result = run(capsys, health_info, dict(ca_path=str(tmp_path / "nope.pem")))[0]
    assert result["failed"] and "ca_path must be an existing file" in result["msg"] and server.calls == []
    binary = tmp_path / "ca.der"
    binary.write_bytes(bytes(range(256)))
    result = run(capsys, health_info, dict(ca_path=str(binary)))[0]
    assert result["failed"] and "ca_path must be a PEM text file (it is binary)" in result["msg"]
    assert server.calls == []


def test_binary_pem_for_webhook_ca_fails_clearly(capsys, server, tmp_path):
    binary = tmp_path / "ca.der"
    binary.write_bytes(b"\x30\x82\x01\x0a" + bytes(range(256)))
    result = run(capsys, webhook_ca, dict(src=str(binary)))[0]
    assert result["failed"] and result["msg"].startswith("src must be a PEM text file") and server.calls == []


@pytest.mark.parametrize("sidecar", [b"[1, 2]", b"\"text\"", b"42", bytes(range(256)),
                                     b'{"topology": {"masters": -1, "coreapps": 1}}', b'{"topology": [1]}'])
def test_metadata_that_is_not_the_expected_object_fails_clearly(capsys, server, tmp_path, sidecar):
    src = tmp_path / "b.bak"
    src.write_text(DATA)
    (tmp_path / "b.bak.meta.json").write_bytes(sidecar)
    result = run(capsys, settings_restore, dict(backup_password="Backup-1", src=str(src)))[0]
    assert result["failed"] and result["msg"].startswith("restore refused: the metadata file")
    assert "(option src)" in result["msg"] and server.calls == []


@pytest.mark.parametrize("metadata, words", [
    ({"topology": {"shards": -2}}, "metadata topology.shards must be one of 1, 2, 4, 8, 16, 32"),
    ({"topology": "2 masters"}, "metadata topology must be a mapping"),
    ({"wa_id": 15550001111}, "metadata wa_id must be a string"),
    ({"topology": {"shards": True}}, "metadata topology.shards must be one of 1, 2, 4, 8, 16, 32"),
    ({"topology": {"masters": float("inf")}}, "metadata must hold finite numbers only"),
    ({"topology": {"coreapps": float("nan")}}, "metadata must hold finite numbers only"),
    ({"x": [[[[[1]]]]]}, "metadata must not nest deeper than 4 levels"),
])
def test_metadata_option_is_checked(capsys, server, metadata, words):
    result = run(capsys, settings_restore, dict(backup_password="Backup-1", data=DATA, metadata=metadata))[0]
    assert result["failed"] and words in result["msg"] and server.calls == []


def test_src_content_is_checked_like_data_even_with_force(capsys, server, tmp_path):
    """Issue 23.3: with force=true and no metadata, /etc/hostname went out as the backup."""
    src = tmp_path / "hostname"
    src.write_text("myhost\n")
    result = run(capsys, settings_restore, dict(backup_password="Backup-1", src=str(src), force=True))[0]
    assert result["failed"] and server.calls == []
    assert result["msg"] == ("restore refused: the backup file %s must be the base64 text of a backup as settings_backup"
                             " wrote it (at least 16 characters of A-Z, a-z, 0-9, +, /, =, _ and -) (option src)" % src)


def test_app_settings_refuses_a_masked_value(capsys, server):
    """Issue 23.7: a value read back masked (a state record, a result) is never written."""
    for settings in ({"webhooks": {"url": "https://********@hooks.example.com/in?token=********"}},
                     {"some.new_field": "a-********-b"}):
        result = run(capsys, app_settings, dict(settings=settings))[0]
        assert result["failed"] and server.calls == []
        assert "holds the mask ********" in result["msg"] and "give the real value" in result["msg"]


# -- silently accepted -----------------------------------------------------------------------------
@pytest.mark.parametrize("shards", [-1, 0, 3, 64])
def test_negative_or_undocumented_shard_counts_are_refused(capsys, server, shards):
    result = run(capsys, health_info, dict(expected_shards=shards))[0]
    assert result["failed"] and "expected_shards must be one of 1, 2, 4, 8, 16, 32" in result["msg"]
    assert server.calls == []


def test_out_of_range_integers_are_refused(capsys, server):
    result = run(capsys, health_info, dict(api_retries=1000))[0]
    assert result["failed"] and "api_retries must be an integer from 0 to 100 (got 1000)" in result["msg"]
    result = run(capsys, app_settings, dict(settings={"heartbeat_interval": 2 ** 40}))[0]
    assert result["failed"] and "heartbeat_interval must be an integer <= 2147483647" in result["msg"]
    assert server.calls == []


def test_stack_counts_and_ports_are_checked_before_the_engine(capsys, monkeypatch):
    contacted = []
    monkeypatch.setattr(_docker, "get_client", lambda module: contacted.append(1))
    for args, words in ((dict(masters=-1), "masters must be an integer from 0 to 100"),
                        (dict(web_port=70000), "web_port must be an integer from 1 to 65535"),
                        (dict(timeout=-5), "timeout must be an integer from 1 to 3600"),
                        (dict(env={"X": [1, 2]}), "env must be a mapping of variable names to strings")):
        result = run(capsys, stack, dict(name="wabiz-unit", **args), token=False)[0]
        assert result["failed"] and words in result["msg"]
    assert contacted == []


@pytest.mark.parametrize("pin", ["123456\n", "123456\r\n", "\u0661\u0662\u0663\u0664\u0665\u0666"])
def test_pin_with_trailing_newline_or_other_digits_is_refused(capsys, server, pin):
    result, out = run(capsys, two_step, dict(state="present", pin=pin))
    assert result["failed"] and "pin must be exactly six digits (0-9)" in result["msg"] and server.calls == []


def test_phone_number_with_trailing_newline_is_refused(capsys, server):
    result = run(capsys, message, dict(to="15550001111\n", body="hi"))[0]
    assert result["failed"] and "to must be a phone number" in result["msg"] and server.calls == []


# -- unclear ---------------------------------------------------------------------------------------
def test_empty_data_gets_a_clear_message_and_does_not_garble_the_output(capsys, server):
    result, out = run(capsys, settings_restore, dict(backup_password="Backup-1", data=""))
    assert result["failed"] and result["msg"].startswith("data must not be empty")
    assert "********" not in result["msg"] and server.calls == []
    result = run(capsys, settings_restore, dict(backup_password="Backup-1", data="  \n"))[0]
    assert result["msg"].startswith("data must not be empty")
    with patch_module_args(dict(api_url=URL, api_token=TOKEN, backup_password="Backup-1", data=None)):
        with pytest.raises(SystemExit):
            settings_restore.main()
    result = json.loads(capsys.readouterr().out)
    assert result["failed"] and result["msg"].startswith("data must not be empty") and server.calls == []


@pytest.mark.parametrize("url, words", [
    ("wa.example.com:9090", "api_url must be a URL starting with https:// or http://"),
    ("ftp://wa.example.com", "api_url must be a URL starting with https:// or http://"),
    ("https://", "the host name is missing"),
    ("https://wa.example.com:99999", "port"),
])
def test_url_without_scheme_fails_at_once(capsys, server, url, words):
    result = run(capsys, health_info, dict(api_url=url))[0]
    assert result["failed"] and words in result["msg"] and server.calls == []


def test_the_client_never_retries_a_bad_url():
    sleeps = []
    client = _api.WAClient("wa.example.com:9090", token=TOKEN, retries=5, sleep=sleeps.append)
    with pytest.raises(_api.WAApiError) as exc:
        client.get("/v1/health")
    assert exc.value.attempts == 1 and sleeps == [] and "the URL is not valid" in str(exc.value)


# -- secrets ---------------------------------------------------------------------------------------
def test_url_userinfo_is_refused_and_masked_in_messages_and_arguments(capsys, server):
    result, out = run(capsys, health_info, dict(api_url="https://ops:Url-Pass-77@127.0.0.1:9"))
    assert result["failed"] and "api_url must be a URL without credentials (user:password@): give them with " \
        "api_username and api_password (got 'https://********@127.0.0.1:9')" in result["msg"]
    assert "Url-Pass-77" not in out and server.calls == []
    assert result["invocation"]["module_args"]["api_url"] == "https://********@127.0.0.1:9"


def test_transport_errors_never_show_url_userinfo():
    def refuse(*args, **kwargs):
        raise requests.exceptions.ConnectionError("Connection refused")
    session = requests.Session()
    session.request = refuse
    client = _api.WAClient("https://ops:Url-Pass-77@127.0.0.1:9", token=TOKEN, retries=0, session=session)
    with pytest.raises(_api.WAApiError) as exc:
        client.get("/v1/health")
    assert "Cannot reach https://********@127.0.0.1:9" in str(exc.value) and "Url-Pass-77" not in str(exc.value)


def test_webhook_url_credentials_never_leave_app_settings(capsys, server):
    hook = "https://hookuser:Hook-Pass-42@hooks.example.com/wa"
    before = {"settings": {"application": {"webhooks": {"url": ""}}}}
    after = {"settings": {"application": {"webhooks": {"url": hook}}}}
    path = app_settings.APP_SETTINGS_PATH
    server.answers.update({("GET", path): [before, after], ("PATCH", path): None})
    result, out = run(capsys, app_settings, dict(settings={"webhooks": {"url": hook}}, _ansible_diff=True))
    assert result["changed"] and "Hook-Pass-42" not in out and "hookuser" not in out
    assert result["settings"]["webhooks"]["url"] == "https://********@hooks.example.com/wa"
    assert result["diff"]["after"]["webhooks"]["url"] == "https://********@hooks.example.com/wa"
    assert server.calls[1][2] == {"webhooks": {"url": hook}}  # the client still gets the real URL


def test_backup_metadata_file_keeps_no_url_userinfo(capsys, server, tmp_path, monkeypatch):
    seen = []
    monkeypatch.setattr(settings_backup, "collect_metadata",
                        lambda client, url: seen.append(url) or dict(source_url=url, registered=True))
    server.answers[("POST", settings_backup.BACKUP_PATH)] = {"settings": {"data": DATA}}
    dest = tmp_path / "b.bak"
    monkeypatch.setitem(_api.API_RULES, "api_url", [])  # the mask, not the refusal, is tested here
    url = "https://ops:Url-Pass-77@wa.example.test:9090"
    result, out = run(capsys, settings_backup, dict(api_url=url, backup_password="Backup-1", dest=str(dest)))
    assert result["changed"] and seen == ["https://********@wa.example.test:9090"]
    assert "Url-Pass-77" not in (tmp_path / "b.bak.meta.json").read_text() and "Url-Pass-77" not in out


@pytest.mark.parametrize("name, value, shown", [
    ("MYSQL_PWD", "Db-Pass-1", "********"),
    ("WA_DB_PASSWORD", "Db-Pass-1", "********"),
    ("DATABASE_URL", "mysql://wa:Db-Pass-1@db:3306/wa", "mysql://********@db:3306/wa"),
    ("HTTPS_PROXY", "http://proxy:Px-Pass-1@proxy.example:3128", "http://********@proxy.example:3128"),
    ("PG_CONN", "host=db user=wa password=Db-Pass-1 dbname=wa", "host=db user=wa password=******** dbname=wa"),
    ("ODBC", "Server=db;Uid=wa;Pwd=Db-Pass-1;", "Server=db;Uid=wa;Pwd=********;"),
    ("WA_DB_HOSTNAME", "db", "db"),
    # Issue 23.10: unusual names and a MySQL command line.
    ("MYSQL_ROOT_PW", "Db-Pass-1", "********"),
    ("SSL_KEY_PEM", "-----BEGIN PRIVATE KEY-----Db-Pass-1", "********"),
    ("DB_PASS", "Db-Pass-1", "********"),
    ("MYSQLPASSWORD", "Db-Pass-1", "********"),
    ("WA_DB_CHECK", "mysqladmin ping -uroot -pDb-Pass-1 -h db", "mysqladmin ping -uroot -p******** -h db"),
    ("DOCKER_OPTS", "-p8080:80 -pDb-Pass-1", "-p******** -p********"),  # any -p<word> is masked
    ("WA_WEB_SERVERNAME", "-", "-"),
])
def test_container_environment_masked_by_name_and_by_value(name, value, shown):
    record = _stack_model.public_record(dict(name="c", env={name: value}, labels={}, image="x"))
    assert record["env"][name] == shown
    assert "Db-Pass-1" not in json.dumps(_validate.mask_secrets({"containers": [{"env": {name: value}}]}))


def test_the_declared_secrets_are_texts_and_numbers_never_booleans():
    # CheckedModule masks these before any check: ansible-core's own list is lost on a malformed dictionary.
    spec = dict(password=dict(type="str", no_log=True), flag=dict(type="bool", no_log=True),
                db=dict(type="dict", options=dict(password=dict(type="str", no_log=True), port=dict(type="int"))))
    found = _validate.declared_secrets(dict(password=12345, flag=True, db=[dict(password="Pw-1", port=1)]), spec)
    assert found == {"12345", "Pw-1"}
    assert _validate.declared_secrets(dict(db="not a dictionary", password=" "), spec) == set()


def test_mask_secrets_is_what_a_state_record_should_go_through():
    record = {"webhook_url": "https://u:Hook-Pass-42@hooks.example.com", "db": {"password": "Db-Pass-1"},
              "env": {"HTTP_PROXY": "http://a:Px-Pass-1@p:3128"}, "shards": 2}
    text = json.dumps(_validate.mask_secrets(record))
    assert "Hook-Pass-42" not in text and "Db-Pass-1" not in text and "Px-Pass-1" not in text
    assert '"shards": 2' in text and "hooks.example.com" in text


# -- honesty ---------------------------------------------------------------------------------------
UNREGISTERED = {"health": {"gateway_status": "unregistered"}}
INITIALISING = {"health": {"gateway_status": "uninitialized"}}
CONNECTED = {"health": {"gateway_status": "connected"}}


def restore_answers(server, after_error_health, error):
    server.answers.update({
        ("GET", "/v1/health"): [UNREGISTERED, after_error_health, CONNECTED],
        ("POST", settings_restore.RESTORE_PATH): error,
    })


def test_restore_applied_but_answered_with_an_error_is_changed_with_a_warning(capsys, server):
    restore_answers(server, INITIALISING, _api.WAApiError(status=500, code=1014, title="Internal error",
                                                          method="POST", path=settings_restore.RESTORE_PATH))
    result = run(capsys, settings_restore, dict(backup_password="Backup-1", data=DATA, wait_interval=0.01,
                                                wait_timeout=5))[0]
    assert result["changed"] is True and not result.get("failed")
    assert "the restore was applied" in json.dumps(result["warnings"])


def test_restore_error_with_unknown_outcome_is_changed_and_says_so(capsys, server):
    restore_answers(server, _api.WAApiError(status=None, title="Cannot reach"),
                    _api.WAApiError(status=None, title="Cannot reach", method="POST",
                                    path=settings_restore.RESTORE_PATH, outcome_unknown=True))
    result = run(capsys, settings_restore, dict(backup_password="Backup-1", data=DATA))[0]
    assert result["failed"] and result["changed"] is True
    assert "may have been applied: its outcome is unknown" in result["msg"]


def test_restore_refused_and_still_unregistered_is_not_changed(capsys, server):
    restore_answers(server, UNREGISTERED, _api.WAApiError(status=400, code=1009, title="Parameter value is not valid",
                                                          method="POST", path=settings_restore.RESTORE_PATH))
    result = run(capsys, settings_restore, dict(backup_password="Backup-1", data=DATA))[0]
    assert result["failed"] and result["changed"] is False
    assert "still reports unregistered, so the restore was not applied" in result["msg"]


def test_any_write_with_unknown_outcome_is_changed(capsys, server):
    server.answers[("POST", two_step.TWO_STEP_PATH)] = _api.WAApiError(
        status=502, title="Bad Gateway", method="POST", path=two_step.TWO_STEP_PATH, outcome_unknown=True)
    result, out = run(capsys, two_step, dict(state="present", pin="246810"))
    assert result["failed"] and result["changed"] is True and "outcome is unknown" in result["msg"]
    assert "246810" not in out


@pytest.mark.parametrize("status, code, method, unknown", [
    (500, 1014, "POST", True), (502, None, "DELETE", True), (None, None, "PATCH", True),
    (400, 1009, "POST", False), (503, 1011, "POST", False), (500, 1014, "GET", False),
])
def test_which_failures_leave_the_outcome_unknown(status, code, method, unknown):
    exc = requests.exceptions.ReadTimeout("read timed out") if status is None else None
    assert _api._unknown_outcome(method not in _api.READ_METHODS, status, code, exc) is unknown


def test_backup_files_refuse_non_object_metadata(tmp_path):
    src = tmp_path / "b.bak"
    src.write_text(DATA)
    (tmp_path / "b.bak.meta.json").write_text("[]")
    with pytest.raises(_backup.BackupFileError, match="must be a JSON object"):
        _backup.verify_backup(str(src))
