# Copyright (c) 2026, wabiz.api_client contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""wabiz.api_client.stack with progress lines while it loads or pulls images and waits (plugins/plugin_utils/_progress.py)."""

from __future__ import annotations

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
