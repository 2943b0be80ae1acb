# Copyright (c) 2026, wabiz.api_client contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The progress action base: lines while the module runs longer than the interval, none otherwise, the
module's own result (or exception) unchanged. The module call is a stand-in that sleeps (units only)."""

from __future__ import annotations

import time
from unittest import mock

import pytest

from ansible_collections.wabiz.api_client.plugins.plugin_utils import _progress
from ansible_collections.wabiz.api_client.plugins.action.stack import ActionModule as StackAction
from ansible_collections.wabiz.api_client.plugins.action.health_info import ActionModule as HealthAction


def action(cls, args, seconds, result=None, error=None, check_mode=False):
    task = mock.MagicMock(args=args, check_mode=check_mode, async_val=0)
    connection = mock.MagicMock(has_native_async=False)
    plugin = cls(task, connection, mock.MagicMock(), loader=None, templar=None, shared_loader_obj=None)
    plugin.calls = []
    plugin.removed_tmp = []

    def module(task_vars=None, wrap_async=False):
        plugin.calls.append(wrap_async)
        time.sleep(seconds)
        if error:
            raise error
        return dict(result or {"changed": True, "created": ["x"]})

    plugin._execute_module = module
    plugin._remove_tmp_path = lambda path, force=False: plugin.removed_tmp.append(path)
    return plugin


@pytest.fixture
def lines(monkeypatch):
    shown = []
    monkeypatch.setattr(_progress.display, "display", lambda msg, **kw: shown.append(msg))
    monkeypatch.setattr(_progress.ActionBase, "run", lambda self, tmp=None, task_vars=None: {})
    return shown


def test_a_long_wait_prints_what_is_awaited_and_the_seconds(lines):
    plugin = action(StackAction, {"name": "biz-new", "wait_timeout": 60, "image_source": "pull"}, 0.35)
    result = plugin.run(task_vars={"wabiz_progress_interval": 0.1, "inventory_hostname": "new-1"})
    assert result == {"changed": True, "created": ["x"]}
    assert len(lines) >= 2, lines
    assert lines[0].startswith("[new-1] waiting for stack biz-new (pulling its images, its containers running): ")
    assert "s elapsed of at most 60 s" in lines[0]


def test_a_short_wait_check_mode_or_interval_0_prints_nothing(lines):
    for args, task_vars, check in [({"name": "n"}, {"wabiz_progress_interval": 5}, False),
                                   ({"name": "n"}, {"wabiz_progress_interval": 0}, False),
                                   ({"name": "n"}, {"wabiz_progress_interval": 0.05}, True),
                                   ({"name": "n", "state": "absent"}, {"wabiz_progress_interval": 0.05}, False),
                                   ({"name": "n", "wait": False}, {"wabiz_progress_interval": 0.05}, False)]:
        plugin = action(StackAction, args, 0.2, check_mode=check)
        assert plugin.run(task_vars=task_vars)["changed"] is True
    assert lines == []


def test_the_module_s_exception_is_raised_and_health_without_token_never_logs_in(lines):
    plugin = action(HealthAction, {"wait": True, "api_url": "https://wa:9090", "api_password": "pw"}, 0.25,
                    error=RuntimeError("boom"))
    with pytest.raises(RuntimeError, match="boom"):
        plugin.run(task_vars={"wabiz_progress_interval": 0.1, "inventory_hostname": "localhost"})
    assert lines and all("not ready yet" not in line for line in lines)
    assert lines[0].startswith("[localhost] waiting for a healthy setup at https://wa:9090: ")


def test_the_module_s_files_are_removed_after_the_run(lines):
    plugin = action(StackAction, {"name": "n"}, 0)
    plugin.run(task_vars={"wabiz_progress_interval": 0})
    assert plugin.calls == [False] and len(plugin.removed_tmp) == 1


@pytest.mark.parametrize("args", [
    {"api_url": "https://admin:Pa55-w0rd@wa:9090", "api_token": "tok"},  # credentials in the URL: refused
    {"api_url": "http://wa:9090", "api_token": "tok"},  # plain HTTP without api_allow_http: refused
    {"api_url": "https://wa:9090", "api_token": "tok\nX-Evil: 1"},  # a header the module refuses
])
def test_no_progress_read_for_options_the_module_refuses_and_no_password_in_a_line(lines, monkeypatch, args):
    from ansible_collections.wabiz.api_client.plugins.module_utils import _api
    built = []
    monkeypatch.setattr(_api, "client_from_params", lambda params, **kw: built.append(params))
    plugin = action(HealthAction, dict(args, wait=True), 0.25, result={"failed": True, "msg": "refused"})
    plugin.run(task_vars={"wabiz_progress_interval": 0.1, "inventory_hostname": "localhost"})
    assert lines and built == []
    assert all("Pa55-w0rd" not in line and "not ready yet" not in line for line in lines)
    if "@" in args["api_url"]:
        assert "at https://********@wa:9090" in lines[0]


def test_a_progress_read_for_valid_options(lines, monkeypatch):
    from ansible_collections.wabiz.api_client.plugins.module_utils import _api
    built = []

    class Refused:
        def get(self, path, **kwargs):
            raise _api.WAApiError(title="Cannot reach https://wa:9090", details="connection refused")
    monkeypatch.setattr(_api, "client_from_params", lambda params, **kw: built.append(params) or Refused())
    plugin = action(HealthAction, {"wait": True, "api_url": "http://wa:9090", "api_allow_http": True,
                                   "api_token": "tok"}, 0.25)
    plugin.run(task_vars={"wabiz_progress_interval": 0.1, "inventory_hostname": "localhost"})
    assert built and built[0]["api_password"] is None and built[0]["api_retries"] == 0
    assert "not ready yet: no health answer (Cannot reach https://wa:9090: connection refused)" in lines[0]
