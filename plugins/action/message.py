# Copyright (c) 2026, wabiz.api_client contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""wabiz.api_client.message with progress lines while it waits for a healthy setup (plugins/plugin_utils/_progress.py)."""

from __future__ import annotations

from ansible_collections.wabiz.api_client.plugins.plugin_utils._progress import ApiProgressAction


class ActionModule(ApiProgressAction):
    wait_option = "wait_healthy"
    default_wait = False

    def awaited(self, args):
        return "a healthy setup at %s before the test message" % args.get("api_url", "?")
