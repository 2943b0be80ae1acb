# Copyright (c) 2026, wabiz.api_client contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""wabiz.api_client.health_info with progress lines while it waits (plugins/plugin_utils/_progress.py)."""

from __future__ import annotations

from ansible_collections.wabiz.api_client.plugins.plugin_utils._progress import ApiProgressAction


class ActionModule(ApiProgressAction):
    default_wait = False

    def awaited(self, args):
        what = ("the condition %s" % args["condition"]) if args.get("condition") else "a healthy setup"
        return "%s at %s" % (what, args.get("api_url", "?"))
