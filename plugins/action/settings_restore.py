# Copyright (c) 2026, wabiz.api_client contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""wabiz.api_client.settings_restore with progress lines while it restores and waits (plugins/plugin_utils/_progress.py)."""

from __future__ import annotations

from ansible_collections.wabiz.api_client.plugins.plugin_utils._progress import ApiProgressAction


class ActionModule(ApiProgressAction):
    default_wait = True

    def awaited(self, args):
        return "the restore onto %s and the setup serving after it" % args.get("api_url", "?")
