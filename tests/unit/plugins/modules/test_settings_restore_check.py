# Copyright (c) 2026, wabiz.api_client contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""settings_restore in check mode, as migration step 6's checks run before step 5: every check runs (the backup
file, the target's health, registration and topology) and refuses as the restore would, and nothing is ever sent.
The API is a table of answers (units only); tests/e2e/test_restore_checks_before_step5.py runs it for real."""

from __future__ import annotations

import hashlib
import json

import pytest

from ansible.module_utils.testing import patch_module_args
from ansible_collections.wabiz.api_client.plugins.module_utils import _api
from ansible_collections.wabiz.api_client.plugins.modules import settings_restore

URL = "https://wa.example.test:9090"
DATA = "QUJDREVGR0hJSktMTU5PUFFSU1RVVldY"
WA_ID = "15550001111"
UNREGISTERED = {"health": {"gateway_status": "unregistered"}}
CONNECTED = {"health": {"gateway_status": "connected"}}
DISCONNECTED = {"health": {"gateway_status": "disconnected"}}
SINGLE = {"masters": 0, "coreapps": 1, "shards": 1}


class Server:
    """Answers by (method, path); records every call."""

    def __init__(self, health, wa_id=WA_ID):
        self.health, self.wa_id = health, wa_id
        self.calls = []

    def request(self, method, path, **kwargs):
        self.calls.append((method, path))
        if (method, path) == ("GET", "/v1/health"):
            return self.health
        if (method, path) == ("GET", _api.APP_SETTINGS_PATH):
            return {"settings": {"application": {"wa_id": self.wa_id}}}
        if (method, path) == ("POST", settings_restore.RESTORE_PATH):
            return None
        raise _api.WAApiError(status=599, title="unexpected call in a unit test", method=method, path=path)


@pytest.fixture
def api(monkeypatch):
    def install(health, wa_id=WA_ID):
        fake = Server(health, wa_id)
        monkeypatch.setattr(_api.WAClient, "request", fake.request)
        return fake

    for var in ("WABIZ_API_URL", "WABIZ_API_TOKEN", "WABIZ_CA_PATH", "WABIZ_API_TIMEOUT"):
        monkeypatch.delenv(var, raising=False)
    return install


def backup(tmp_path, topology=None, data=DATA, sha256=None):
    """A backup file and its metadata as settings_backup writes them."""
    src = tmp_path / "old.settings.bak"
    src.write_text(data)
    meta = {"wa_id": WA_ID, "topology": topology or SINGLE, "sha256": sha256 or hashlib.sha256(data.encode()).hexdigest()}
    (tmp_path / "old.settings.bak.meta.json").write_text(json.dumps(meta))
    return str(src)


def check(capsys, src):
    args = dict(api_url=URL, api_token="eyJ.unit.zzz", backup_password="Backup-1", src=src, wait=False,
                _ansible_check_mode=True)
    with patch_module_args(args):
        with pytest.raises(SystemExit):
            settings_restore.main()
    return json.loads(capsys.readouterr().out)


def test_a_restore_the_target_would_take_passes_and_nothing_is_sent(capsys, api, tmp_path):
    server = api(UNREGISTERED)
    result = check(capsys, backup(tmp_path))
    assert not result.get("failed") and result["changed"] is True, result
    assert result["msg"] == "would restore the settings onto %s" % URL
    assert result["target_topology"] == {"masters": 0, "coreapps": 1} and result["wa_id"] == WA_ID
    assert ("GET", "/v1/health") in server.calls
    assert [c for c in server.calls if c[0] != "GET"] == []


@pytest.mark.parametrize("health, wa_id, words", [
    (CONNECTED, "15550009999", "restore refused: the target is registered (single=connected) with 15550009999"),
    (DISCONNECTED, WA_ID, "restore refused: the target is not running"),
])
def test_a_target_the_restore_would_refuse_fails_the_check(capsys, api, tmp_path, health, wa_id, words):
    server = api(health, wa_id)
    result = check(capsys, backup(tmp_path))
    assert result["failed"] and result["msg"].startswith(words), result
    assert [c for c in server.calls if c[0] != "GET"] == []


def test_other_counts_than_the_backup_fail_the_check(capsys, api, tmp_path):
    server = api(UNREGISTERED)
    result = check(capsys, backup(tmp_path, topology={"masters": 2, "coreapps": 3, "shards": 2}))
    assert result["failed"] and result["msg"].startswith("restore refused: topology mismatch"), result
    assert "2 Masters, 3 CoreApps" in result["msg"] and "0 Masters, 1 CoreApps" in result["msg"]
    assert [c for c in server.calls if c[0] != "GET"] == []


def test_a_damaged_backup_fails_the_check_before_any_call(capsys, api, tmp_path):
    server = api(UNREGISTERED)
    result = check(capsys, backup(tmp_path, sha256="0" * 64))
    assert result["failed"] and result["msg"].startswith("restore refused:") and "(option src)" in result["msg"]
    assert server.calls == []


def test_a_target_already_restored_with_the_backups_number_passes_unchanged(capsys, api, tmp_path):
    """An interrupted run restored it: the check passes, and step 6 then reports it done, not restored twice."""
    server = api(CONNECTED, WA_ID)
    result = check(capsys, backup(tmp_path))
    assert not result.get("failed") and result["changed"] is False, result
    assert "already registered with %s" % WA_ID in result["msg"]
    assert [c for c in server.calls if c[0] != "GET"] == []
