# Copyright (c) 2026, wabiz.api_client contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Progress on long waits: the one action plugin base of the modules that wait (health_info, message,
settings_restore, stack, db_container).

A module cannot print while it runs. The action plugin runs the module in a thread of the Ansible worker and,
while the module has not returned, prints every ``wabiz_progress_interval`` seconds (default 10; 0 turns it off)
one line on the controller's output: what is awaited, the seconds elapsed against the timeout, and - for a wait
on a setup's API with a token or monitoring key - what is not ready yet, read from ``GET /v1/health`` on the
controller (one read, no retries, no login, nothing for options the module refuses). URL credentials are masked in
every line. Waits shorter than the interval print nothing; the module's own result is returned unchanged.
"""

from __future__ import annotations

import threading
import time

from ansible.module_utils.parsing.convert_bool import boolean
from ansible.plugins.action import ActionBase
from ansible.utils.display import Display

from ansible_collections.wabiz.api_client.plugins.module_utils import _validate
from ansible_collections.wabiz.api_client.plugins.module_utils._wait import WAIT_ARGUMENT_SPEC

display = Display()

DEFAULT_INTERVAL = 10.0


class ProgressAction(ActionBase):
    """Run the task's module; print a progress line every interval while it waits."""

    _supports_check_mode = True

    # The module's option that turns its wait on, and its defaults (the module's argument spec owns them; these
    # only decide whether to print and size the message).
    wait_option = "wait"
    default_wait = True
    default_timeout = WAIT_ARGUMENT_SPEC["wait_timeout"]["default"]

    def waits(self, args):
        """The seconds the module may wait (0: it does not wait)."""
        if self._task.check_mode or not boolean(args.get(self.wait_option, self.default_wait), strict=False):
            return 0
        try:
            return int(args.get("wait_timeout", self.default_timeout))
        except (TypeError, ValueError):
            return 0

    def awaited(self, args):  # pragma: no cover - every subclass says what it waits for
        raise NotImplementedError

    def not_ready(self, args):
        """What is not ready yet (short text), or None when it cannot be told from the controller."""
        return None

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        try:
            result.update(self.execute(task_vars or {}))
        finally:
            self._remove_tmp_path(self._connection._shell.tmpdir)
        return result

    def execute(self, task_vars):
        """The module's result; progress lines while the module waits longer than the interval."""
        args = self._task.args
        timeout = self.waits(args)
        try:
            interval = float(task_vars.get("wabiz_progress_interval", DEFAULT_INTERVAL))
        except (TypeError, ValueError):
            interval = DEFAULT_INTERVAL
        if not timeout or interval <= 0:
            return self._execute_module(task_vars=task_vars)
        box = {}

        def call():
            try:
                box["result"] = self._execute_module(task_vars=task_vars)
            except BaseException as exc:  # noqa: BLE001 - re-raised in the worker's own thread below
                box["error"] = exc

        host = task_vars.get("inventory_hostname", "?")
        delegated = task_vars.get("ansible_delegated_vars", {}).keys()
        where = "%s -> %s" % (host, list(delegated)[0]) if delegated else host
        start = time.monotonic()
        worker = threading.Thread(target=call, name="wabiz-progress", daemon=True)
        worker.start()
        while True:
            worker.join(interval)
            if not worker.is_alive():
                break
            elapsed = time.monotonic() - start
            line = "[%s] waiting for %s: %d s elapsed of at most %d s" % (where, self.awaited(args), elapsed, timeout)
            try:
                detail = self.not_ready(args)
            except Exception:  # noqa: BLE001 - progress is best effort; the module decides
                detail = None
            display.display(_validate.mask_value(line + ("; not ready yet: %s" % detail if detail else "")))
        if "error" in box:
            raise box["error"]
        return box["result"]


class ApiProgressAction(ProgressAction):
    """A wait on a setup's health: the progress line says which nodes are not ready yet."""

    def not_ready(self, args):
        from ansible_collections.wabiz.api_client.plugins.module_utils import _api, _health

        rules = dict((name, _api.API_RULES[name]) for name in ("api_url", "api_token", "api_key", "ca_path"))
        if (not (args.get("api_token") or args.get("api_key")) or not args.get("api_url")
                or _validate.problems(args, rules) or _api.refusal(args)):
            return None  # never log in, nor send what the module itself refuses, only to report progress

        params = dict(args, api_password=None, api_timeout=5, api_retries=0)
        client = _api.client_from_params(params)
        try:
            _response, nodes, summary = _health.HealthReader(client, expected_shards=args.get("expected_shards")).read()
        except _api.WAApiError as exc:
            return "no health answer (%s)" % exc.describe()
        if args.get("condition"):  # a condition of its own: the nodes as they are now
            return "; ".join("%s (%s): %s" % (n["name"], n["role"], n["gateway_status"]) for n in nodes)
        if summary.get("healthy") and not summary.get("not_ready"):
            return "nothing at this read (healthy; the module's next poll ends the wait)"
        return _health.describe_not_ready(summary)
