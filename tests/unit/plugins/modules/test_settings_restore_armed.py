# Copyright (c) 2026, wabiz.api_client contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""settings_restore with await_files (the restore armed before migration step 5): every check first, then the
wait for the signal files, and only then the restore call; no call at all without the signal. The API is a
table of answers (units only); the e2e tests run the armed restore against the emulator."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import threading
import time

import pytest

from ansible.module_utils.testing import patch_module_args
from ansible_collections.wabiz.api_client.plugins.module_utils import _api
from ansible_collections.wabiz.api_client.plugins.modules import settings_restore

URL = "https://wa.example.test:9090"
DATA = "QUJDREVGR0hJSktMTU5PUFFSU1RVVldY"
UNREGISTERED = {"health": {"gateway_status": "unregistered"}}
CONNECTED = {"health": {"gateway_status": "connected"}}


class Server:
    """Answers by (method, path); records each call with the time it was made."""

    def __init__(self, health):
        self.health = list(health)
        self.calls = []

    def request(self, method, path, **kwargs):
        self.calls.append((time.monotonic(), method, path))
        if (method, path) == ("GET", "/v1/health"):
            return self.health.pop(0) if len(self.health) > 1 else self.health[0]
        if (method, path) == ("GET", _api.APP_SETTINGS_PATH):
            return {"settings": {"application": {"wa_id": "15550001111"}}}
        if (method, path) == ("POST", settings_restore.RESTORE_PATH):
            return None
        raise _api.WAApiError(status=599, title="unexpected call in a unit test", method=method, path=path)

    def posts(self):
        return [t for t, method, path in self.calls if method == "POST"]


@pytest.fixture
def server(monkeypatch):
    fake = Server([UNREGISTERED, CONNECTED])
    monkeypatch.setattr(_api.WAClient, "request", fake.request)
    for var in ("WABIZ_API_URL", "WABIZ_API_TOKEN", "WABIZ_CA_PATH", "WABIZ_API_TIMEOUT"):
        monkeypatch.delenv(var, raising=False)
    return fake


def run(capsys, **args):
    full = dict(api_url=URL, api_token="eyJ.unit.zzz", backup_password="Backup-1", data=DATA, wait=False)
    full.update(args)
    with patch_module_args(full):
        with pytest.raises(SystemExit):
            settings_restore.main()
    return json.loads(capsys.readouterr().out)


def test_the_restore_goes_out_only_after_every_signal_file_exists(capsys, server, tmp_path):
    files = [tmp_path / "old-client-removed-a", tmp_path / "old-client-removed-b"]
    made = {}

    def signal():
        time.sleep(0.15)
        files[0].write_text("{}\n")
        time.sleep(0.15)
        made["at"] = time.monotonic()
        files[1].write_text("{}\n")

    writer = threading.Thread(target=signal)
    writer.start()
    result = run(capsys, await_files=[str(f) for f in files], await_timeout=10)
    writer.join()
    assert result["changed"] is True and not result.get("failed"), result
    # The checks ran before the wait (a health read), the restore after the last file appeared.
    assert server.calls[0][1:] == ("GET", "/v1/health")
    assert server.calls[0][0] < made["at"] <= server.posts()[0]
    assert 0.25 <= result["awaited"] < 5 and result["restored_at"] > 0


def test_without_the_signal_nothing_is_sent_and_the_missing_files_are_named(capsys, server, tmp_path):
    present, missing = tmp_path / "old-client-removed-a", tmp_path / "old-client-removed-b"
    present.write_text("{}\n")
    started = time.monotonic()
    result = run(capsys, await_files=[str(present), str(missing)], await_timeout=1)
    assert result["failed"] and result["changed"] is False
    assert "restore not sent: after 1s these files still do not exist: %s" % missing in result["msg"]
    assert str(present) not in result["msg"].split("exist:")[1]
    assert server.posts() == [] and 1 <= time.monotonic() - started < 5


def test_a_refusal_comes_at_once_not_after_the_wait(capsys, server, tmp_path):
    server.health = [CONNECTED]  # registered (with another number than the backup's metadata has none)
    started = time.monotonic()
    result = run(capsys, await_files=[str(tmp_path / "never")], await_timeout=600)
    assert result["failed"] and result["msg"].startswith("restore refused: the target is registered")
    assert server.posts() == [] and time.monotonic() - started < 5


def test_check_mode_does_not_wait(capsys, server, tmp_path):
    started = time.monotonic()
    result = run(capsys, await_files=[str(tmp_path / "never")], await_timeout=600, _ansible_check_mode=True)
    assert result["changed"] is True and result["msg"].startswith("would restore")
    assert server.posts() == [] and time.monotonic() - started < 5


@pytest.mark.parametrize("value", [0, -1, 86401])
def test_await_timeout_out_of_range_fails_before_any_call(capsys, server, tmp_path, value):
    result = run(capsys, await_files=[str(tmp_path / "x")], await_timeout=value)
    assert result["failed"] and "await_timeout must be an integer from 1 to 86400" in result["msg"]
    assert server.calls == []


def test_await_signal_counts_the_seconds_with_its_clock():
    now = [0.0]
    made = set()

    def sleep(seconds):
        now[0] += seconds
        if now[0] >= 0.1:
            made.add("b")

    missing, waited, ended = settings_restore.await_signal(
        ["a", "b"], 5, clock=lambda: now[0], sleep=sleep, exists=lambda path: path == "a" or path in made)
    assert missing == [] and 0.1 <= waited < 0.15 and not ended
    missing, waited, ended = settings_restore.await_signal(["c"], 1, clock=lambda: now[0], sleep=sleep,
                                                           exists=lambda path: False)
    assert missing == ["c"] and waited >= 1 and not ended


def test_await_signal_stops_when_the_run_ended_but_honours_files_that_came_first():
    now = [0.0]

    def sleep(seconds):
        now[0] += seconds

    ended_at = 0.3
    missing, waited, ended = settings_restore.await_signal(
        ["a"], 600, clock=lambda: now[0], sleep=sleep, exists=lambda path: False, abandoned=lambda: now[0] >= ended_at)
    assert missing == ["a"] and ended and ended_at <= waited < ended_at + 0.05
    # The run ended, but its last signal is there: the restore goes out.
    missing, waited, ended = settings_restore.await_signal(
        ["a"], 600, clock=lambda: now[0], sleep=sleep, exists=lambda path: True, abandoned=lambda: True)
    assert missing == [] and not ended


def fake_run(tmp_path):
    """A process whose command line names ansible-playbook, as the run that armed the restore."""
    return subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)", "ansible-playbook", "migrate.yml"],
                            cwd=str(tmp_path))


def test_the_wait_ends_with_the_run_that_armed_it_and_nothing_is_sent(capsys, server, tmp_path):
    proc = fake_run(tmp_path)
    killed = {}

    def end_the_run():
        time.sleep(0.4)
        killed["at"] = time.monotonic()
        proc.kill()
        proc.wait()

    killer = threading.Thread(target=end_the_run)
    killer.start()
    try:
        result = run(capsys, await_files=[str(tmp_path / "never")], await_timeout=600,
                     await_run=dict(host=socket.gethostname(), pid=proc.pid))
    finally:
        killer.join()
    assert result["failed"] and result["changed"] is False, result
    assert result["msg"].startswith("restore not sent: the run that armed it (pid %d on %s) ended after"
                                    % (proc.pid, socket.gethostname()))
    assert str(tmp_path / "never") in result["msg"] and "nothing was sent" in result["msg"]
    assert server.posts() == [] and time.monotonic() - killed["at"] < 2


@pytest.mark.parametrize("where", ["another host", "pid 0"])
def test_a_run_elsewhere_or_unknown_is_not_looked_at(capsys, server, tmp_path, where):
    dead = fake_run(tmp_path)
    dead.kill()
    dead.wait()
    run_of = dict(host="not-" + socket.gethostname(), pid=dead.pid) if where == "another host" \
        else dict(host=socket.gethostname(), pid=0)
    started = time.monotonic()
    result = run(capsys, await_files=[str(tmp_path / "never")], await_timeout=1, await_run=run_of)
    assert result["failed"] and result["msg"].startswith("restore not sent: after 1s these files still do not exist")
    assert server.posts() == [] and 1 <= time.monotonic() - started < 5


def test_a_running_run_does_not_cut_the_wait_short(capsys, server, tmp_path):
    proc = fake_run(tmp_path)
    signal_file = tmp_path / "old-client-removed-a"
    writer = threading.Timer(0.3, lambda: signal_file.write_text("{}\n"))
    writer.start()
    try:
        result = run(capsys, await_files=[str(signal_file)], await_timeout=10,
                     await_run=dict(host=socket.gethostname(), pid=proc.pid))
    finally:
        writer.join()
        proc.kill()
        proc.wait()
    assert result["changed"] is True and not result.get("failed"), result
    assert 0.25 <= result["awaited"] < 5 and len(server.posts()) == 1


@pytest.mark.parametrize("value", [-1, 4194305])
def test_await_run_pid_out_of_range_fails_before_any_call(capsys, server, tmp_path, value):
    result = run(capsys, await_files=[str(tmp_path / "x")], await_run=dict(host="h", pid=value))
    assert result["failed"] and "await_run.pid must be an integer from 0 to 4194304" in result["msg"], result
    assert server.calls == []
