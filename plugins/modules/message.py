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
  - With O(wait_healthy=true) it first waits, polling C(GET /v1/health), until the setup is healthy (the
    rule of M(wabiz.api_client.health_info), with O(expected_shards)), then sends - the migration's step 7
    ("check the health, then send a test message") in one call, so the message goes out at the first poll
    that finds the setup healthy. Nothing is sent when the wait times out.
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
  wait_healthy:
    description:
      - Wait until the setup is healthy before sending (see the description).
    type: bool
    default: false
  expected_shards:
    description:
      - With O(wait_healthy=true), the shard count the setup must serve (1, 2, 4, 8, 16 or 32). Unset, the
        rule of M(wabiz.api_client.health_info) for an unknown shard count applies.
    type: int
  wait_timeout:
    description:
      - With O(wait_healthy=true), seconds to wait, from 0 to 86400.
    type: int
    default: 600
  wait_interval:
    description:
      - With O(wait_healthy=true), seconds between two health polls (a fraction is allowed).
    type: float
    default: 2.0
"""

EXAMPLES = r"""
- name: Step 7 - send a test message from the new setup
  wabiz.api_client.message:
    api_url: https://wa-new.example.com:9090
    api_token: "{{ wa_new_token }}"
    to: "+6281234567890"
    body: Migration test {{ ansible_date_time.iso8601 | default('') }}
  register: wa_test_message

- name: Step 7 - wait until the new setup is healthy, then send the test message
  wabiz.api_client.message:
    api_url: https://wa-new.example.com:9090
    api_token: "{{ wa_new_token }}"
    to: "+6281234567890"
    body: Migration test
    wait_healthy: true
    expected_shards: 1
    wait_timeout: 300
    wait_interval: 0.25
"""

RETURN = r"""
message_id:
  description: The id the client gave the message.
  returned: success, except in check mode
  type: str
  sample: gBEGkYiEB1VXAglK1ZEqA1YKPrU
sent_at:
  description: When the client accepted the message, in seconds since the epoch.
  returned: success, except in check mode
  type: float
  sample: 1795919691.829
health:
  description: The health summary that let the message go (the RV(wabiz.api_client.health_info#module:summary) of M(wabiz.api_client.health_info)).
  returned: with O(wait_healthy=true)
  type: dict
waited:
  description: Seconds spent waiting until the setup was healthy.
  returned: with O(wait_healthy=true), except in check mode
  type: float
  sample: 2.75
healthy_at:
  description: When the wait found the setup healthy, in seconds since the epoch.
  returned: with O(wait_healthy=true), except in check mode
  type: float
  sample: 1795919691.41
polls:
  description: How many times the health was read while waiting.
  returned: with O(wait_healthy=true), except in check mode
  type: int
  sample: 12
"""

import re
import time

from ansible_collections.wabiz.api_client.plugins.module_utils import _answer, _health
from ansible_collections.wabiz.api_client.plugins.module_utils import _validate
from ansible_collections.wabiz.api_client.plugins.module_utils._api import WAModule

MESSAGES_PATH = "/v1/messages"
MAX_BODY = 4096
NUMBER_RE = re.compile(r"^\+?[0-9]{5,20}\Z")
#: What the options must be beyond their Ansible type; checked before any call.
RULES = _validate.health_wait_rules()


def wait_until_healthy(module, result):
    """Poll the health until the setup is healthy; fail (nothing sent) when it is not within the timeout."""
    p = module.params
    reader = _health.HealthReader(module.client, expected_shards=p["expected_shards"])
    started = time.time()
    with module.api_errors("waiting for health before the message (nothing sent)", **result):
        ok, response, dummy, summary, last_error, polls = reader.wait(p["wait_timeout"], p["wait_interval"])
    result.update(waited=round(time.time() - started, 3), polls=polls, healthy_at=round(time.time(), 3))
    if response is not None:
        result["health"] = summary
    if not ok:
        msg = "the setup was not healthy after %ss; no message sent" % p["wait_timeout"]
        module.fail_json(msg=_health.wait_failed(msg, summary, last_error), **result)


def main():
    module = WAModule(
        argument_spec=dict(
            to=dict(type="str", required=True),
            body=dict(type="str", required=True),
            wait_healthy=dict(type="bool", default=False),
            expected_shards=dict(type="int"),
            wait_timeout=dict(type="int", default=600),
            wait_interval=dict(type="float", default=2.0),
        ),
        rules=RULES,
        supports_check_mode=True,
    )
    p = module.params
    to = re.sub(r"[ \-()]", "", p["to"])
    if not NUMBER_RE.match(to):
        module.fail_json(msg="to must be a phone number with its country code (digits, optional +), got %r" % p["to"])
    if not p["body"] or len(p["body"]) > MAX_BODY:
        module.fail_json(msg="body must be 1 to %d characters (got %d)" % (MAX_BODY, len(p["body"] or "")))
    result = dict(changed=False)
    if module.check_mode:
        when = " once the setup is healthy" if p["wait_healthy"] else ""
        module.exit_json(changed=True, msg="would send a %d-character text message to %s%s" % (len(p["body"]), to, when))
    if p["wait_healthy"]:
        wait_until_healthy(module, result)
    payload = {"to": to.lstrip("+"), "type": "text", "recipient_type": "individual", "text": {"body": p["body"]}}
    with module.api_errors("send message", **result) as client:
        answer = client.post(MESSAGES_PATH, payload, idempotent=False)
    result.update(changed=True, sent_at=round(time.time(), 3))
    with module.api_errors("the message was sent, but reading its id", **result):
        result["message_id"] = _answer.read(answer, "POST " + MESSAGES_PATH, "text", "messages", 0, "id")
    module.exit_json(**result)


if __name__ == "__main__":
    main()
