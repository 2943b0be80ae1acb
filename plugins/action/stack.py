# Copyright (c) 2026, wabiz.api_client contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""wabiz.api_client.stack with progress lines while it loads or pulls images and waits (plugins/plugin_utils/_progress.py),
and the option done_file: a file on the controller once the module succeeded (migration step 5's signal)."""

from __future__ import annotations

import json
import os
import time

from ansible_collections.wabiz.api_client.plugins.plugin_utils._progress import ProgressAction


class ActionModule(ProgressAction):
    default_wait = True
    default_timeout = 180

    def waits(self, args):
        if args.get("state", "present") not in ("present", "restarted"):
            return 0
        return super().waits(args)

    def awaited(self, args):
        source = args.get("image_source", "present")
        images = {"pull": "pulling its images, ", "archive": "loading its images, "}.get(source, "")
        api = (" and its Webapp answering HTTPS on port %s" % args.get("web_port")) if args.get("wait_for_api") else ""
        return "stack %s (%sits containers running%s)" % (args.get("name", "?"), images, api)

    def execute(self, task_vars, wrap_async):
        result = super().execute(task_vars, wrap_async)
        done_file = self._task.args.get("done_file")
        if done_file and not wrap_async and not self._task.check_mode and not result.get("failed"):
            problem = signal_done(done_file, task_vars.get("inventory_hostname", "?"), bool(result.get("changed")))
            if problem:  # the module's result stays; without the signal the armed restore never goes out
                result.update(failed=True, msg="the stack task succeeded, but its done_file %s" % problem)
        return result


def signal_done(path, host, changed):
    """Create ``path`` on the controller in one step (written aside, then renamed): whoever waits for it sees a
    complete file or none (the module has checked the path). Returns why it could not, or ``None``."""
    path = os.path.expanduser(path)
    partial = "%s.%d.partial" % (path, os.getpid())
    try:
        with open(partial, "w") as handle:
            handle.write(json.dumps({"host": host, "at": round(time.time(), 3), "changed": changed}) + "\n")
        os.replace(partial, path)
    except OSError as exc:
        return "%s could not be created on the controller: %s" % (path, exc)
    return None
