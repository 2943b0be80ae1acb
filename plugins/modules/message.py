#!/usr/bin/python
# Copyright (c) 2026, wabiz.api_client contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: message
short_description: Send a text message through a WhatsApp Business API client
version_added: 1.0.0
description:
  - Sends one text message (C(POST /v1/messages)), typically the test message of migration step 7 that
    proves the new setup works.
  - A message cannot be taken back; the module sends one every time it runs and is never retried once the
    request may have reached the client.
author:
  - wabiz.api_client contributors (@wabiz)
extends_documentation_fragment:
  - wabiz.api_client._api
  - wabiz.api_client._attributes
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
    details: Nothing is sent.
  diff_mode:
    support: none
  idempotent:
    support: none
    details: Every run sends a new message.
  platform:
    platforms: posix
options:
  to:
    description:
      - The recipient's WhatsApp number (digits, with the country code, with or without C(+)).
    type: str
    required: true
  body:
    description:
      - The text, 1 to 4096 characters.
    type: str
    required: true
"""

EXAMPLES = r"""
- name: Step 7 - send a test message from the new setup
  wabiz.api_client.message:
    api_url: https://wa-new.example.com:9090
    api_token: "{{ wa_new_token }}"
    to: "+6281234567890"
    body: Migration test {{ ansible_date_time.iso8601 | default('') }}
  register: wa_test_message
"""

RETURN = r"""
message_id:
  description: The id the client gave the message.
  returned: success, except in check mode
  type: str
  sample: gBEGkYiEB1VXAglK1ZEqA1YKPrU
"""

import re

from ansible_collections.wabiz.api_client.plugins.module_utils._api import WAModule

MESSAGES_PATH = "/v1/messages"
MAX_BODY = 4096
NUMBER_RE = re.compile(r"^\+?[0-9]{5,20}\Z")


def main():
    module = WAModule(
        argument_spec=dict(
            to=dict(type="str", required=True),
            body=dict(type="str", required=True),
        ),
        supports_check_mode=True,
    )
    p = module.params
    to = re.sub(r"[ \-()]", "", p["to"])
    if not NUMBER_RE.match(to):
        module.fail_json(msg="to must be a phone number with its country code (digits, optional +), got %r" % p["to"])
    if not p["body"] or len(p["body"]) > MAX_BODY:
        module.fail_json(msg="body must be 1 to %d characters (got %d)" % (MAX_BODY, len(p["body"] or "")))
    if module.check_mode:
        module.exit_json(changed=True, msg="would send a %d-character text message to %s" % (len(p["body"]), to))
    payload = {"to": to.lstrip("+"), "type": "text", "recipient_type": "individual", "text": {"body": p["body"]}}
    with module.api_errors("send message") as client:
        answer = client.post(MESSAGES_PATH, payload, idempotent=False)
    messages = (answer or {}).get("messages") or [{}]
    message_id = messages[0].get("id") if isinstance(messages[0], dict) else None
    if not message_id:
        module.fail_json(msg="send message: the client answered without a message id", changed=True)
    module.exit_json(changed=True, message_id=message_id)


if __name__ == "__main__":
    main()
