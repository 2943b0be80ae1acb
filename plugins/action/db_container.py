# Copyright (c) 2026, wabiz.api_client contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""wabiz.api_client.db_container with progress lines while it waits for the database (plugins/plugin_utils/_progress.py)."""

from __future__ import annotations

from ansible_collections.wabiz.api_client.plugins.plugin_utils._progress import ProgressAction


class ActionModule(ProgressAction):
    default_wait = True
    default_timeout = 120

    def waits(self, args):
        if args.get("state", "present") != "present":
            return 0
        return super().waits(args)

    def awaited(self, args):
        pull = "pulling its image, " if args.get("image_source") == "pull" else ""
        return "database container %s (%s: %sits container running and answering on its port)" % (
            args.get("name", "?"), args.get("engine", "MYSQL"), pull)
