#!/usr/bin/python
# Copyright (c) 2026, wabiz.api_client contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: settings_backup
short_description: Back up the settings of a WhatsApp Business API client to a file
version_added: 1.0.0
description:
  - Calls C(POST /v1/settings/backup) on the current (old) setup (migration step 4) and writes the
    encrypted data to O(dest) on the host where the module runs.
  - The file is written atomically (temporary file, fsync, rename) with mode C(0600), then read back and
    checked against its SHA-256.
  - Next to it, C(<dest>.meta.json) records, without any secret, the source URL, the time, the topology
    found through C(/v1/health) and C(/v1/account/shards) (shards, Masters, CoreApps), the C(wa_id) from the
    application settings, the client version, the size and the SHA-256. M(wabiz.api_client.settings_restore)
    uses it to verify the file and to refuse a restore onto a setup of another topology.
  - The backup contains the application settings, the registration and the encryption keys; not messages,
    contacts, API users or tokens. The client answers only when it is registered and running; the module
    refuses at once when the health reports the setup as not registered.
  - An existing O(dest) is never overwritten unless O(force=true); the module then only verifies it against
    its metadata and reports no change, so re-running a migration after the old setup is gone is safe.
author:
  - wabiz.api_client contributors (@wabiz)
extends_documentation_fragment:
  - wabiz.api_client._api
  - wabiz.api_client._attributes
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
    details: No API call and no file is written; the module reports whether it would take a backup.
  diff_mode:
    support: none
  idempotent:
    support: full
    details: An existing backup at O(dest) is kept (and verified) unless O(force=true).
  platform:
    platforms: posix
options:
  backup_password:
    description:
      - The password that encrypts the backup. The same password is needed for the restore. Never logged.
    type: str
    required: true
  dest:
    description:
      - Path of the backup file on the host where the module runs. Its directory must exist.
    type: path
    required: true
  force:
    description:
      - Take a new backup even when O(dest) exists, replacing it.
    type: bool
    default: false
  return_data:
    description:
      - Also return the encrypted data as RV(data). The data is a secret; use C(no_log) on the task.
    type: bool
    default: false
notes:
  - Keep the backup and its password apart; anyone with both can bring the number up elsewhere.
  - Under AWX or Automation controller the job's disk is thrown away after the run; write the backup on a
    managed host (C(delegate_to)) or a durable store.
seealso:
  - module: wabiz.api_client.settings_restore
"""

EXAMPLES = r"""
- name: Back up the settings of the old setup
  wabiz.api_client.settings_backup:
    api_url: https://wa-old.example.com:9090
    ca_path: /etc/wabiz/old-ca.pem
    api_token: "{{ wa_old_token }}"
    backup_password: "{{ vault_wa_backup_password }}"
    dest: /var/backups/wabiz/settings-{{ inventory_hostname }}.bak
  register: wa_backup

- name: Show what was recorded
  ansible.builtin.debug:
    var: wa_backup.metadata.topology
"""

RETURN = r"""
path:
  description: Absolute path of the backup file.
  returned: success
  type: str
size:
  description: Size of the backup file in bytes.
  returned: success, except in check mode without an existing file
  type: int
sha256:
  description: SHA-256 of the backup file.
  returned: success, except in check mode without an existing file
  type: str
metadata_path:
  description: Path of the sidecar metadata file.
  returned: success
  type: str
metadata:
  description: The metadata recorded with the backup (no secrets).
  returned: success, except in check mode without an existing file
  type: dict
  contains:
    source_url:
      description: The API URL of the backed-up setup.
      type: str
    created_at:
      description: UTC time of the backup (ISO 8601).
      type: str
    topology:
      description: C(shards), C(masters), C(coreapps) and C(multiconnect) of the backed-up setup.
      type: dict
    wa_id:
      description: The registered number, from the application settings.
      type: str
    version:
      description: The client version (C(meta.version)).
      type: str
    size:
      description: Size in bytes.
      type: int
    sha256:
      description: SHA-256 of the file.
      type: str
data:
  description: The encrypted backup data. A secret.
  returned: when O(return_data=true)
  type: str
"""

import datetime
import os

from ansible_collections.wabiz.api_client.plugins.module_utils._api import APP_SETTINGS_PATH, WAModule
from ansible_collections.wabiz.api_client.plugins.module_utils import _answer, _backup, _health, _validate

BACKUP_PATH = "/v1/settings/backup"


def collect_metadata(client, source_url, now=None):
    """Topology, wa_id and version of the setup about to be backed up (read-only calls)."""
    health = client.get(_health.HEALTH_PATH, auth="token")
    nodes = _health.normalise(health)
    topo = _health.topology(nodes)
    topo["multiconnect"] = _health.is_multiconnect(nodes)
    topo["shards"] = _health.shard_count(client)
    app = client.get(APP_SETTINGS_PATH)
    now = now or datetime.datetime.now(datetime.timezone.utc)
    return dict(
        source_url=source_url,
        created_at=now.strftime("%Y-%m-%dT%H:%M:%SZ"),
        topology=topo,
        wa_id=_answer.read(app, "GET " + APP_SETTINGS_PATH, str, "settings", "application", "wa_id", required=False),
        version=_answer.version(("GET " + _health.HEALTH_PATH, health), ("GET " + APP_SETTINGS_PATH, app)),
        gateway_status=dict((n["name"], n["gateway_status"]) for n in nodes),
        registered=_health.registration(nodes) == "registered",
    )


def main():
    module = WAModule(
        argument_spec=dict(
            backup_password=dict(type="str", required=True, no_log=True),
            dest=dict(type="path", required=True),
            force=dict(type="bool", default=False),
            return_data=dict(type="bool", default=False),
        ),
        rules=dict(backup_password=[_validate.non_empty(), _validate.single_line()]),
        supports_check_mode=True,
    )
    p = module.params
    dest = os.path.abspath(p["dest"])
    result = dict(changed=False, path=dest, metadata_path=_backup.meta_path(dest))
    if os.path.isdir(dest):
        module.fail_json(msg="dest %s is a directory; give a file path" % dest, **result)

    if os.path.exists(dest) and not p["force"]:
        try:
            data, metadata = _backup.verify_backup(dest)
        except _backup.BackupFileError as exc:
            module.fail_json(msg="a backup exists at dest %s but cannot be verified: %s (use force=true to take a new "
                                 "one)" % (dest, exc), **result)
        result.update(size=metadata.get("size"), sha256=metadata.get("sha256"), metadata=metadata,
                      msg="a verified backup exists at %s; not overwritten (force=true takes a new one)" % dest)
        if p["return_data"]:
            result["data"] = data
        module.exit_json(**result)

    if not os.path.isdir(os.path.dirname(dest)):
        module.fail_json(msg="the directory of dest (%s) does not exist" % os.path.dirname(dest), **result)
    unchanged = dict(result)
    result["changed"] = True
    if module.check_mode:
        module.exit_json(msg="would back up the settings of %s to %s" % (p["api_url"], dest), **result)

    with module.api_errors("backup", **unchanged) as client:
        # The metadata file keeps the source URL without its userinfo (a password may sit there).
        metadata = collect_metadata(client, _validate.mask_url(p["api_url"]))
        if not metadata.pop("registered"):
            module.fail_json(msg="backup refused: %s is not registered (health: %s); a backup needs the registered, "
                                 "running client, i.e. the old setup" % (p["api_url"], ", ".join(
                                     "%s=%s" % item for item in sorted(metadata["gateway_status"].items()))),
                             **unchanged)
        # Backup changes nothing on the client: it may be retried like a read.
        answer = client.post(BACKUP_PATH, {"password": p["backup_password"]}, idempotent=True)
        data = _answer.read(answer, "POST " + BACKUP_PATH, "text", "settings", "data")
        if not p["return_data"]:
            # Belt and braces: the data is never printed, even by accident.
            module.no_log_values.add(data)
        metadata["version"] = metadata.get("version") or _answer.version(("POST " + BACKUP_PATH, answer))
    try:
        size, digest, metadata = _backup.write_backup(dest, data, metadata)
    except (_backup.BackupFileError, OSError) as exc:
        module.fail_json(msg="backup failed: cannot write or verify %s: %s" % (dest, exc), **result)
    result.update(size=size, sha256=digest, metadata=metadata)
    if p["return_data"]:
        result["data"] = data
    module.exit_json(**result)


if __name__ == "__main__":
    main()
