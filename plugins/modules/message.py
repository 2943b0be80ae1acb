#!/usr/bin/python
# Copyright (c) 2026, wabiz.api_client contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: message
short_description: Send a text or template message through a WhatsApp Business API client
version_added: 1.0.0
description:
  - Sends one text message, or one template message with O(template) (C(POST /v1/messages)), typically the test
    message of migration step 7.
  - Success means the client B(accepted) the message and gave it an id, nothing more. Whether it reached the
    recipient comes later, as a status callback to the setup's webhook (C(sent), C(delivered), C(read), or C(failed)
    with an error - 470 for a free-form text more than 24 hours after the recipient last wrote, 1013 for a number
    that is not on WhatsApp); look for the message id there.
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
  - wabiz.api_client._wait
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
      - The text, 1 to 4096 characters. One of O(body) and O(template) is required.
    type: str
  template:
    description:
      - Send this approved message template instead of a text. A template may be sent to a recipient who has not
        written in the last 24 hours; a free-form text then fails (status callback C(failed), error 470).
    type: dict
    version_added: 1.1.0
    suboptions:
      namespace:
        description: The template namespace of the WhatsApp Business Account (WhatsApp Manager).
        type: str
        required: true
      name:
        description: The template's name.
        type: str
        required: true
      language:
        description: The template's language code (C(en), C(en_US), ...).
        type: str
        required: true
      parameters:
        description: The values of the body's placeholders, in order (text parameters).
        type: list
        elements: str
        default: []
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
    template:
      namespace: 0a1b2c3d_4e5f_6a7b_8c9d_0e1f2a3b4c5d
      name: migration_check
      language: en
      parameters: [wa-new]
    wait_healthy: true
    expected_shards: 1
    wait_timeout: 300
    wait_interval: 0.25
"""

RETURN = r"""
msg:
  description: What was proved - the message was accepted, with its id; not that it was delivered.
  returned: success, except in check mode
  type: str
  sample: "accepted: message id gBEGkYiEB1VXAglK1ZEqA1YKPrU (delivery is reported to the webhook)"
message_id:
  description: The id the client gave the message (accepted); its status callbacks on the webhook carry it.
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
from ansible_collections.wabiz.api_client.plugins.module_utils import _validate, _wait
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
            body=dict(type="str"),
            template=dict(type="dict", options=dict(
                namespace=dict(type="str", required=True), name=dict(type="str", required=True),
                language=dict(type="str", required=True), parameters=dict(type="list", elements="str", default=[]))),
            wait_healthy=dict(type="bool", default=False),
            expected_shards=dict(type="int"),
            **_wait.WAIT_ARGUMENT_SPEC,
        ),
        rules=RULES,
        required_one_of=[("body", "template")],
        mutually_exclusive=[("body", "template")],
        supports_check_mode=True,
    )
    p = module.params
    to = re.sub(r"[ \-()]", "", p["to"])
    if not NUMBER_RE.match(to):
        module.fail_json(msg="to must be a phone number with its country code (digits, optional +), got %r" % p["to"])
    tpl = p["template"]
    if tpl is None and (not p["body"] or len(p["body"]) > MAX_BODY):
        module.fail_json(msg="body must be 1 to %d characters (got %d)" % (MAX_BODY, len(p["body"] or "")))
    if tpl is not None and not all((tpl[k] or "").strip() for k in ("namespace", "name", "language")):
        module.fail_json(msg="template.namespace, template.name and template.language must not be empty")
    result = dict(changed=False)
    if module.check_mode:
        when = " once the setup is healthy" if p["wait_healthy"] else ""
        what = "the template %s" % tpl["name"] if tpl else "a %d-character text message" % len(p["body"])
        module.exit_json(changed=True, msg="would send %s to %s%s" % (what, to, when))
    if p["wait_healthy"]:
        wait_until_healthy(module, result)
    payload = {"to": to.lstrip("+"), "type": "text", "recipient_type": "individual", "text": {"body": p["body"]}}
    if tpl:
        del payload["text"]
        payload.update(type="template", template={
            "namespace": tpl["namespace"], "name": tpl["name"],
            "language": {"policy": "deterministic", "code": tpl["language"]},
            "components": [{"type": "body", "parameters": [{"type": "text", "text": v} for v in tpl["parameters"]]}]})
    with module.api_errors("send message", **result) as client:
        answer = client.post(MESSAGES_PATH, payload, idempotent=False)
    result.update(changed=True, sent_at=round(time.time(), 3))
    with module.api_errors("the message was sent, but reading its id", **result):
        message_id = _answer.read(answer, "POST " + MESSAGES_PATH, "text", "messages", 0, "id")
    module.exit_json(message_id=message_id, msg="accepted: message id %s (delivery is reported to the webhook)"
                     % message_id, **result)


if __name__ == "__main__":
    main()
