# Copyright (c) 2026, wabiz.api_client contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Test-only notification callback: where each task ran, one JSON line per host result.

Writes to the file named by ``WABIZ_TASK_LOG``: the task name, its resolved action (FQCN), the inventory
host, the host it was delegated to (and that host's address) and the outcome. No module arguments and no
results are written, so no secret can reach the file.
"""

from __future__ import annotations

import json
import os
import time

from ansible.plugins.callback import CallbackBase

DOCUMENTATION = r"""
name: wabiz_tasklog
type: notification
short_description: Which action ran on which host (tests only)
description:
  - Appends one JSON line per task result to the file in the environment variable C(WABIZ_TASK_LOG).
"""


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "notification"
    CALLBACK_NAME = "wabiz_tasklog"
    CALLBACK_NEEDS_ENABLED = True

    def _write(self, result, outcome, item=False):
        path = os.environ.get("WABIZ_TASK_LOG")
        if not path:
            return
        if not item and "results" in result._result:  # pylint: disable=protected-access
            return  # a loop: each item has its own record (and its own delegate)
        task = result._task  # pylint: disable=protected-access
        delegated = result._result.get("_ansible_delegated_vars") or {}  # pylint: disable=protected-access
        host = result._host  # pylint: disable=protected-access
        record = {
            "task": task.get_name(),
            "action": getattr(task, "resolved_action", None) or task.action,
            "host": host.get_name(),
            "address": host.vars.get("ansible_host", host.get_name()),
            "connection": host.vars.get("ansible_connection"),
            "delegate_to": delegated.get("ansible_delegated_host") or (str(task.delegate_to) if task.delegate_to else None),
            "delegated_address": delegated.get("ansible_host"),
            "delegated_connection": delegated.get("ansible_connection"),
            "outcome": outcome,
            "item": item,
            "time": round(time.time(), 3),
        }
        with open(path, "a", encoding="utf-8") as fh:
            fh.write(json.dumps(record, sort_keys=True) + "\n")

    def v2_runner_on_ok(self, result):
        self._write(result, "ok")

    def v2_runner_on_failed(self, result, ignore_errors=False):
        self._write(result, "failed")

    def v2_runner_on_skipped(self, result):
        self._write(result, "skipped")

    def v2_runner_on_unreachable(self, result):
        self._write(result, "unreachable")

    def v2_runner_item_on_ok(self, result):
        self._write(result, "ok", item=True)

    def v2_runner_item_on_failed(self, result):
        self._write(result, "failed", item=True)

    def v2_runner_item_on_skipped(self, result):
        self._write(result, "skipped", item=True)
