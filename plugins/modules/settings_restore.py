#!/usr/bin/python
# Copyright (c) 2026, wabiz.api_client contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: settings_restore
short_description: Restore settings from a backup onto a new WhatsApp Business API client
version_added: 1.0.0
description:
  - Calls C(POST /v1/settings/restore) on the new setup (migration step 6) with the data of a backup made
    by M(wabiz.api_client.settings_backup) (O(src)) or given directly (O(data)).
  - "Before the call, it checks: the backup file matches the SHA-256 of its C(.meta.json) metadata; the
    target answers and is running but not registered (health C(unregistered)); the target has the same
    number of Masters and CoreApps (from the health roles) as the setup recorded in the backup metadata.
    It refuses otherwise with a message naming both topologies, unless O(force=true)."
  - When the target is already registered with the same C(wa_id) as the backup, the restore was done
    before; the module reports no change (idempotent re-run of a migration).
  - "The restore call is not idempotent: it is retried only on the answers that prove nothing was done
    (1017 Not Primary Master, 1018 Not Primary Coreapp, during a failover election); any other failure is reported
    as C(restore failed: <status> <code> <title>: <details>) and nothing is retried."
  - "Every documented shape of a successful answer is accepted: C(null), C({}) and C({\"meta\": ...})."
  - "When the restore call fails, the module reads the health at once: a target that no longer reports
    C(unregistered) took the restore (the result is C(changed) with a warning, and the wait goes on); one
    that still reports C(unregistered) did not (C(changed=false)). When the health cannot tell (no answer,
    or O(force=true) on a registered target) and the error does not prove a refusal, the failure is
    C(changed=true) and says the outcome is unknown."
  - With O(wait=true) it then waits until the health reports the expected connected nodes (the shard
    count recorded in the backup).
author:
  - wabiz.api_client contributors (@wabiz)
extends_documentation_fragment:
  - wabiz.api_client._api
  - wabiz.api_client._wait
  - wabiz.api_client._attributes
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
    details:
      - Every check runs (the backup file, the target's health, registration and topology) and a refusal fails as
        it would; the restore call is not sent.
      - C(playbooks/migrate.yml) runs it so before step 5, so that a restore the new setup would refuse stops the
        run before the old client is touched.
  diff_mode:
    support: none
  idempotent:
    support: partial
    details:
      - A target already registered with the backup's C(wa_id) is reported unchanged.
      - Without a C(wa_id) in the metadata (for example with O(data) and no O(metadata)), a registered target
        is refused instead.
  platform:
    platforms: posix
options:
  backup_password:
    description:
      - The password the backup was made with. Never logged.
    type: str
    required: true
  src:
    description:
      - Path of the backup file written by M(wabiz.api_client.settings_backup), on the host where the module
        runs. Its metadata file C(<src>.meta.json) must exist unless O(force=true).
      - Mutually exclusive with O(data); one of them is required.
    type: path
  data:
    description:
      - The encrypted backup data itself (base64 text, as the backup file holds it). Never logged.
      - Checked before any call; empty or non-base64 text fails with a clear message.
    type: str
  metadata:
    description:
      - The backup metadata (RV(wabiz.api_client.settings_backup#module:metadata)) to check O(data) against.
        Ignored with O(src), whose metadata file is used.
      - Without it the topology cannot be checked and the module warns.
    type: dict
  force:
    description:
      - Restore even when a check fails (no metadata, registered target, different topology).
      - Restoring onto a registered client stops that client; it must be restarted.
    type: bool
    default: false
  wait:
    description:
      - After the restore, wait until the setup is healthy with the shard count of the backup.
    type: bool
    default: true
notes:
  - Tokens and API users are not part of a backup; log in to the new setup first (M(wabiz.api_client.login)).
  - After a restore, contacts with security notifications on see "security code changed".
seealso:
  - module: wabiz.api_client.settings_backup
  - module: wabiz.api_client.health_info
"""

EXAMPLES = r"""
- name: Restore the settings on the new setup and wait until it serves
  wabiz.api_client.settings_restore:
    api_url: https://wa-new.example.com:9090
    ca_path: /etc/wabiz/new-ca.pem
    api_token: "{{ wa_new_token }}"
    backup_password: "{{ vault_wa_backup_password }}"
    src: /var/backups/wabiz/settings-old.bak
    wait_timeout: 900
  register: wa_restore
- name: Before removing the old client, make every check of the restore and send nothing
  wabiz.api_client.settings_restore:
    api_url: https://wa-new.example.com:9090
    api_token: "{{ wa_new_token }}"
    backup_password: "{{ vault_wa_backup_password }}"
    src: /var/backups/wabiz/settings-old.bak
  check_mode: true
"""

RETURN = r"""
health:
  description: The health summary after the restore (and the wait); see M(wabiz.api_client.health_info).
  returned: success, except in check mode
  type: dict
nodes:
  description: The nodes after the restore (and the wait).
  returned: success, except in check mode
  type: list
  elements: dict
target_topology:
  description: C(masters) and C(coreapps) of the target, from its health roles.
  returned: when the target answered
  type: dict
backup_topology:
  description: The topology recorded in the backup metadata.
  returned: when known
  type: dict
wa_id:
  description: The number recorded in the backup metadata.
  returned: when known
  type: str
restored_at:
  description: When the restore call was accepted, in seconds since the epoch.
  returned: when the settings were restored (not in check mode)
  type: float
waited:
  description: Seconds spent waiting, after the restore, until the setup was healthy.
  returned: when the settings were restored with O(wait=true)
  type: float
polls:
  description: How many times the health was read while waiting.
  returned: when the settings were restored with O(wait=true)
  type: int
"""

import time

from ansible_collections.wabiz.api_client.plugins.module_utils._api import APP_SETTINGS_PATH, WAApiError, WAModule
from ansible_collections.wabiz.api_client.plugins.module_utils import _answer, _backup, _health, _validate, _wait

RESTORE_PATH = "/v1/settings/restore"


def topology_mismatch(backup_topo, target_topo):
    """A text naming both topologies when they differ in Masters or CoreApps, else ``None``."""
    if not backup_topo:
        return None
    for key in ("masters", "coreapps"):
        if backup_topo.get(key) is not None and backup_topo.get(key) != target_topo.get(key):
            return ("topology mismatch: the backup comes from a setup with %s; the target has %s. Meta's migration "
                    "guide requires exactly the same number of Masters and CoreApps (and shards)"
                    % (_health.describe_topology(backup_topo), _health.describe_topology(target_topo)))
    return None


def target_verdict(nodes, read_wa_id, backup_wa_id):
    """Whether the target may receive the restore: ``("proceed"|"done"|"refuse", text)``.

    ``read_wa_id`` is called only when the target is registered (the number it serves, or ``None``).
    """
    node_statuses = set(n.get("gateway_status") for n in nodes)
    if _health.registration(nodes) == "unregistered":
        return "proceed", None
    if node_statuses <= {"disconnected"}:
        return "refuse", ("the target is not running (%s): start its CoreApps%s first; a restore needs a running, "
                          "unregistered client" % (statuses(nodes), " and Masters" if _health.is_multiconnect(nodes)
                                                   else ""))
    wa_id = read_wa_id()
    if backup_wa_id and wa_id == backup_wa_id:
        return "done", ("the target is already registered with %s, the number of the backup: restore done before, "
                        "nothing to do" % wa_id)
    return "refuse", ("the target is registered (%s)%s; restore only onto a new setup that is running and not "
                      "registered (a registered client stops after a restore)"
                      % (statuses(nodes), " with %s" % wa_id if wa_id else ""))


def current_wa_id(client):
    try:
        answer = client.get(APP_SETTINGS_PATH)
    except WAApiError:
        return None
    return _answer.read(answer, "GET " + APP_SETTINGS_PATH, str, "settings", "application", "wa_id", required=False)


def statuses(nodes):
    return ", ".join("%s=%s" % (n["name"], n["gateway_status"]) for n in nodes)


#: What the options must be beyond their Ansible type; checked before any call.
RULES = dict(
    _validate.health_wait_rules(),
    backup_password=[_validate.non_empty(), _validate.single_line()],
)


def restore_outcome(reader, was_unregistered):
    """After a restore answered with an error: ``"applied"``, ``"not applied"`` or ``None`` (unknown).

    Only a target that was unregistered before can tell: a restore makes it report ``uninitialized``, then
    ``connected``. A registered target (``force=true``) looks the same before and after.
    """
    if not was_unregistered:
        return None
    try:
        dummy, nodes, dummy2 = reader.read()
    except WAApiError:
        return None
    return "not applied" if _health.registration(nodes) == "unregistered" else "applied"


def main():
    module = WAModule(
        argument_spec=dict(
            backup_password=dict(type="str", required=True, no_log=True),
            src=dict(type="path"),
            data=dict(type="str", no_log=True),
            metadata=dict(type="dict"),
            force=dict(type="bool", default=False),
            wait=dict(type="bool", default=True),
            **_wait.WAIT_ARGUMENT_SPEC,
        ),
        mutually_exclusive=[("src", "data")],
        required_one_of=[("src", "data")],
        rules=RULES,
        supports_check_mode=True,
    )
    p = module.params
    force = p["force"]
    result = dict(changed=False)

    if p["src"]:
        try:
            data, metadata = _backup.verify_backup(p["src"], require_metadata=not force)
        except _backup.BackupFileError as exc:
            module.fail_json(msg="restore refused: %s (option src)" % exc, **result)
    else:
        # data given as null counts as "given" for required_one_of: treat it as empty.
        data, metadata = (p["data"] or "").strip(), p["metadata"]
        problem = _backup.data_problem(data)
        if problem:
            module.fail_json(msg=problem, **result)
        found = _backup.metadata_problems(metadata) if metadata is not None else []
        if found:
            module.fail_json(msg="metadata %s" % "; metadata ".join(found), **result)
    module.no_log_values.add(data)
    metadata = metadata or {}
    backup_topo = metadata.get("topology")
    if backup_topo:
        result["backup_topology"] = backup_topo
    if metadata.get("wa_id"):
        result["wa_id"] = metadata["wa_id"]
    if not backup_topo:
        module.warn("the backup has no recorded topology: the Master/CoreApp counts of the target cannot be checked")

    with module.api_errors("restore preflight", **result) as client:
        reader = _health.HealthReader(client, expected_shards=(backup_topo or {}).get("shards"))
        response, nodes, summary = reader.read()
        target_topo = _health.topology(nodes)
        result["target_topology"] = target_topo
        verdict = target_verdict(nodes, lambda: current_wa_id(client), metadata.get("wa_id"))
        if verdict[0] == "done":
            result.update(health=summary, nodes=nodes, msg=verdict[1])
            module.exit_json(**result)
        if verdict[0] == "refuse":
            if not force:
                module.fail_json(msg="restore refused: %s (force=true overrides)" % verdict[1], **result)
            module.warn("restoring anyway (force=true): %s" % verdict[1])
        mismatch = topology_mismatch(backup_topo, target_topo)
        if mismatch:
            if not force:
                module.fail_json(msg="restore refused: %s (force=true overrides)" % mismatch, **result)
            module.warn(mismatch)

    unchanged = dict(result)
    result["changed"] = True
    if module.check_mode:
        module.exit_json(msg="would restore the settings onto %s" % p["api_url"], **result)

    try:
        module.client.post(RESTORE_PATH, {"password": p["backup_password"], "data": data}, idempotent=False)
    except WAApiError as error:
        outcome = restore_outcome(reader, verdict[0] == "proceed")
        if outcome == "applied":
            # Honest result: the client said no, but the setup took the restore.
            module.warn("the client answered the restore with an error (%s), but the setup no longer reports "
                        "unregistered: the restore was applied" % error.describe())
        elif outcome == "not applied":
            error.outcome_unknown = False
            module.fail_json(msg="restore failed: %s; the setup still reports unregistered, so the restore was not "
                                 "applied" % error.describe(), api_error=error.as_dict(), **unchanged)
        else:
            module.fail_api("restore", error, **unchanged)
    result["restored_at"] = round(time.time(), 3)

    if p["wait"]:
        with module.api_errors("restore succeeded, but waiting for health", **result):
            ok, response, nodes, summary, last_error, polls = reader.wait(p["wait_timeout"], p["wait_interval"])
        result.update(waited=round(time.time() - result["restored_at"], 3), polls=polls)
        if response is not None:
            result.update(health=summary, nodes=nodes)
        if not ok:
            msg = "restore succeeded, but the setup was not healthy after %ss" % p["wait_timeout"]
            module.fail_json(msg=_health.wait_failed(msg, summary, last_error), **result)
    else:
        with module.api_errors("restore succeeded, but reading health", **result):
            response, nodes, summary = reader.read()
        result.update(health=summary, nodes=nodes)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
