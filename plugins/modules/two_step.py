#!/usr/bin/python
# Copyright (c) 2026, wabiz.api_client contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: two_step
short_description: Enable or disable two-step verification of a WhatsApp Business API client
version_added: 1.0.0
description:
  - O(state=absent) disables two-step verification (C(DELETE /v1/settings/account/two-step)), for example
    before a migration (step 3) so the number can be re-registered if the restore failed for an unknown reason.
  - O(state=present) enables it with O(pin) (C(POST /v1/settings/account/two-step)), for example after the
    migration (step 8).
  - The API has no call that tells whether two-step verification is on. The module therefore cannot compare
    and does not pretend to; it sends the call every time and reports C(changed) every time it acts.
author:
  - wabiz.api_client contributors (@wabiz)
extends_documentation_fragment:
  - wabiz.api_client._api
  - wabiz.api_client._attributes
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
    details: Nothing is sent; the module reports C(changed) for the call it would make (O(pin) is still validated).
  diff_mode:
    support: full
    details: The PIN is never shown, only C(set) or C(not set); before the call it is C(unknown) (no API reads it).
  idempotent:
    support: none
    details: No API reads the state; every run sends the call and reports C(changed).
  platform:
    platforms: posix
options:
  state:
    description:
      - V(present) enables two-step verification with O(pin); V(absent) disables it.
    type: str
    choices: [present, absent]
    default: present
  pin:
    description:
      - The six-digit PIN, required with O(state=present). Checked (exactly six digits) before any call.
        Never logged.
    type: str
notes:
  - Keep the PIN, re-registering a number with two-step verification on needs it.
seealso:
  - module: wabiz.api_client.app_settings
"""

EXAMPLES = r"""
- name: Step 3 - disable two-step verification on the old setup
  wabiz.api_client.two_step:
    api_url: https://wa-old.example.com:9090
    api_token: "{{ wa_old_token }}"
    state: absent

- name: Step 8 - enable it again on the new setup
  wabiz.api_client.two_step:
    api_url: https://wa-new.example.com:9090
    api_token: "{{ wa_new_token }}"
    state: present
    pin: "{{ vault_wa_two_step_pin }}"
"""

RETURN = r"""
state:
  description: The state the module set (or would set, in check mode).
  returned: success
  type: str
  sample: absent
"""

import re

from ansible_collections.wabiz.api_client.plugins.module_utils._api import WAModule

TWO_STEP_PATH = "/v1/settings/account/two-step"
PIN_RE = re.compile(r"^[0-9]{6}\Z")


def main():
    module = WAModule(
        argument_spec=dict(
            state=dict(type="str", choices=["present", "absent"], default="present"),
            pin=dict(type="str", no_log=True),
        ),
        required_if=[("state", "present", ["pin"])],
        supports_check_mode=True,
    )
    p = module.params
    state = p["state"]
    if state == "present" and not PIN_RE.match(p["pin"] or ""):
        module.fail_json(msg="pin must be exactly six digits (0-9), without spaces or a trailing newline")
    if state == "absent" and p["pin"]:
        module.warn("pin is ignored with state=absent")
    action = "%s two-step verification" % ("enable" if state == "present" else "disable")
    result = dict(changed=True, state=state)
    if module.diff_mode:
        result["diff"] = dict(before=dict(pin="unknown"), after=dict(pin="set" if state == "present" else "not set"))
    if module.check_mode:
        module.exit_json(msg="would " + action, **result)
    with module.api_errors(action, changed=False, state=state) as client:
        if state == "present":
            client.post(TWO_STEP_PATH, {"pin": p["pin"]}, idempotent=False)
        else:
            client.delete(TWO_STEP_PATH)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
