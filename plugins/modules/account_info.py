#!/usr/bin/python
# Copyright (c) 2026, wabiz.api_client contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: account_info
short_description: Read-only facts about a WhatsApp Business API client for a migration preflight
version_added: 1.0.0
description:
  - Reads C(/v1/health), C(/v1/account/shards) and C(/v1/settings/application) and returns whether the setup
    is registered, its number (C(wa_id)), its shard count, its version, a health summary with the topology
    (Masters and CoreApps counted from the health roles), and its application settings with the webhook URL.
  - Use it before a migration to compare the old and the new setup, and before migration step 3 to keep the
    old webhook URL (RV(webhook_url)) before the webhooks are reset.
author:
  - wabiz.api_client contributors (@wabiz)
extends_documentation_fragment:
  - wabiz.api_client._api
  - wabiz.api_client._attributes
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
    details: Read-only; O(webhook_url_file) is not written.
  diff_mode:
    support: none
  idempotent:
    support: full
    details: Read-only; O(webhook_url_file) is written (changed) only when its content differs.
  platform:
    platforms: posix
options:
  webhook_url_file:
    description:
      - Write the webhook URL, with its credentials, to this file (mode 0600) on the host where the module runs,
        when a webhook is set. Results mask URL credentials; this file keeps the real value, for example to put
        the old webhook URL back after a rollback (C(playbooks/steps/step3_cleanup.yml) does this).
      - Not written in check mode.
    type: path
    version_added: 1.1.0
notes:
  - With only O(api_key), C(wa_id), C(shards), C(application_settings) and C(webhook_url) cannot be read (the key
    opens C(/v1/health) only) and are null.
  - The application settings need the admin user. When they cannot be read (another error than 401), the module
    warns and returns C(wa_id), C(application_settings) and C(webhook_url) as null.
seealso:
  - module: wabiz.api_client.health_info
"""

EXAMPLES = r"""
- name: Preflight - what is the new setup?
  wabiz.api_client.account_info:
    api_url: https://wa-new.example.com:9090
    ca_path: /etc/wabiz/new-ca.pem
    api_token: "{{ wa_new_token }}"
  register: wa_new

- name: The new setup must not be registered yet
  ansible.builtin.assert:
    that:
      - not wa_new.registered

- name: Keep the old webhook URL before migration step 3 resets it
  wabiz.api_client.account_info:
    api_url: https://wa-old.example.com:9090
    api_username: admin
    api_password: "{{ wa_old_admin_password }}"
  register: wa_old

- name: Show it
  ansible.builtin.debug:
    msg: "old webhook URL: {{ wa_old.webhook_url if wa_old.webhook_url else '(none)' }}"
"""

RETURN = r"""
registered:
  description: The setup is registered (health does not report C(unregistered) alone).
  returned: success
  type: bool
wa_id:
  description: The registered number, from the application settings (null when unknown).
  returned: success
  type: str
application_settings:
  description:
    - The application settings as C(GET /v1/settings/application) answers them (C(settings.application) of the
      answer; Meta's reference "Application Settings"), for example C(webhooks), C(callback_persist), C(media).
    - The userinfo of a URL in them is masked (C(https://********@host)).
    - Null when they cannot be read (only O(api_key), or the read failed, with a warning).
  returned: success
  type: dict
  sample:
    callback_persist: true
    callback_backoff_delay_ms: 3000
    max_callback_backoff_delay_ms: 900000
    heartbeat_interval: 5
    unhealthy_interval: 30
    media:
      auto_download: [image, video, voice, sticker, audio, document]
    webhooks:
      url: https://hooks.example.com/whatsapp
      max_concurrent_requests: 6
    wa_id: "16315551019"
webhook_url:
  description:
    - The webhook URL (C(webhooks.url) of the application settings); an empty string when no webhook is set.
    - Null when the application settings cannot be read.
  returned: success
  type: str
  sample: https://hooks.example.com/whatsapp
shards:
  description: The shard count from C(/v1/account/shards) (null when the setup cannot tell).
  returned: success
  type: int
version:
  description: The client version (C(meta.version) of the answers).
  returned: success
  type: str
  sample: v2.62.5
topology:
  description: C(masters) and C(coreapps) counted from the health roles, plus C(shards) and C(multiconnect).
  returned: success
  type: dict
health:
  description: The health summary (see M(wabiz.api_client.health_info)).
  returned: success
  type: dict
nodes:
  description: The nodes of the health answer.
  returned: success
  type: list
  elements: dict
"""

import os

from ansible_collections.wabiz.api_client.plugins.module_utils._api import APP_SETTINGS_PATH, WAApiError, WAModule
from ansible_collections.wabiz.api_client.plugins.module_utils import _answer, _backup, _health

SETTINGS_CALL = "GET " + APP_SETTINGS_PATH


def main():
    module = WAModule(argument_spec=dict(webhook_url_file=dict(type="path")), supports_check_mode=True)
    p = module.params
    app = settings = wa_id = webhook_url = None
    with module.api_errors("account info") as client:
        with_token = bool(p["api_token"] or p["api_password"])
        shards = _health.shard_count(client) if with_token else None
        response, nodes, summary = _health.HealthReader(client, expected_shards=shards).read()
        if with_token:
            try:
                app = client.get(APP_SETTINGS_PATH)
            except WAApiError as error:
                if error.status == 401:
                    raise
                module.warn("cannot read the application settings: %s" % error.describe())
            else:
                settings = _answer.read(app, SETTINGS_CALL, dict, "settings", "application")
                wa_id = _answer.read(app, SETTINGS_CALL, str, "settings", "application", "wa_id", required=False)
                webhook_url = _answer.read(app, SETTINGS_CALL, str, "settings", "application", "webhooks", "url",
                                           required=False) or ""
        version = _answer.version(("GET " + _health.HEALTH_PATH, response), (SETTINGS_CALL, app))
    topo = dict(summary["topology"], shards=shards, multiconnect=summary["multiconnect"])
    changed, path = False, p["webhook_url_file"]
    if path and webhook_url and not module.check_mode:
        try:
            changed = not os.path.isfile(path) or _backup.read_file(path) != webhook_url.encode("utf-8")
            if changed:
                _backup.write_atomic(path, webhook_url.encode("utf-8"))
        except (OSError, _backup.BackupFileError) as exc:
            module.fail_json(msg="cannot write webhook_url_file %s: %s" % (path, exc))
    module.exit_json(changed=changed, registered=summary["registered"], wa_id=wa_id or None, shards=shards,
                     version=version, topology=topo, health=summary, nodes=nodes, application_settings=settings,
                     webhook_url=webhook_url)


if __name__ == "__main__":
    main()
