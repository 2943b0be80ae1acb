#!/usr/bin/python
# Copyright (c) 2026, wabiz.api_client contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: health_info
short_description: Read (and optionally wait for) the health of a WhatsApp Business API client
version_added: 1.0.0
description:
  - Reads C(GET /v1/health) with a token or the monitoring API key (migration step 7).
  - Normalises the single-instance and the multiconnect answers into RV(nodes) and RV(summary).
  - The documented healthy state (Meta's health reference) is C(connected) for a single instance; for
    high availability on 1 shard, one CoreApp C(connected) and every other node, the primary Master
    included, C(disconnected); for multiconnect with N >= 2 shards, N CoreApps and the primary Master
    C(connected). Secondary Masters and spare CoreApps are C(disconnected), which is normal.
  - Meta calls C(connecting) good health too; this module waits for C(connected), because a node that is
    still connecting cannot send a message yet.
  - Optionally waits until that state (or a custom JMESPath O(condition)) holds, and fails after
    O(wait_timeout) with a message listing the nodes that are not where they should be.
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
    details: Read-only; runs the same in check mode.
  diff_mode:
    support: none
  idempotent:
    support: full
    details: Read-only.
  platform:
    platforms: posix
options:
  wait:
    description:
      - Poll the health until the setup is healthy (or O(condition) is true).
    type: bool
    default: false
  expected_shards:
    description:
      - Number of shards of the setup (1, 2, 4, 8, 16 or 32); a multiconnect setup is healthy with this many
        CoreApps connected.
      - When not set, it is read from C(GET /v1/account/shards) if the module has a token or a password;
        with only the API key, or when the setup cannot tell (not registered), one connected CoreApp is
        enough.
    type: int
  condition:
    description:
      - A JMESPath expression that must be true instead of the default healthy state.
      - It is evaluated against the raw answer of C(/v1/health) with two keys added, C(nodes) and
        C(summary), as returned by this module. False, null, empty lists and empty objects are false.
      - Requires the Python library C(jmespath).
    type: str
  fail_unhealthy:
    description:
      - Without O(wait), fail when the setup is not healthy (or O(condition) is false).
    type: bool
    default: false
notes:
  - Works with O(api_key) alone (monitoring key); then O(expected_shards) should be given for multiconnect.
seealso:
  - module: wabiz.api_client.account_info
"""

EXAMPLES = r"""
- name: Wait until the new setup is healthy after the restore
  wabiz.api_client.health_info:
    api_url: https://wa-new.example.com:9090
    ca_path: /etc/wabiz/new-ca.pem
    api_key: "{{ vault_wa_api_key }}"
    expected_shards: 2
    wait: true
    wait_timeout: 600
  register: health

- name: Wait until at least three nodes are connected
  wabiz.api_client.health_info:
    api_url: https://wa-new.example.com:9090
    api_token: "{{ wa_token }}"
    condition: "length(nodes[?gateway_status=='connected']) >= `3`"
    wait: true
"""

RETURN = r"""
health:
  description: The raw answer of C(GET /v1/health).
  returned: success
  type: dict
  sample: {"health": {"gateway_status": "connected"}, "meta": {"api_status": "stable", "version": "v2.62.5"}}
nodes:
  description: One entry per node (a single instance is one node named C(single) with role C(coreapp)).
  returned: success
  type: list
  elements: dict
  contains:
    name:
      description: The key of the node in the answer (C(<hostname>:<container-id>)).
      type: str
    hostname:
      description: Host name part of C(name).
      type: str
    container_id:
      description: Container id part of C(name).
      type: str
    gateway_status:
      description: One of C(connected), C(connecting), C(disconnected), C(uninitialized), C(unregistered).
      type: str
    role:
      description: C(primary_master), C(secondary_master) or C(coreapp).
      type: str
summary:
  description: What the nodes mean together.
  returned: success
  type: dict
  contains:
    healthy:
      description: The documented healthy state holds.
      type: bool
    multiconnect:
      description: The answer has the multiconnect shape.
      type: bool
    primary_master:
      description: Name of the node with the C(primary_master) role (null for a single instance).
      type: str
    connected_coreapps:
      description: CoreApps reporting C(connected).
      type: int
    connected_nodes:
      description: Nodes reporting C(connected).
      type: int
    expected_shards:
      description: The shard count used for the healthy state (null when unknown).
      type: int
    registered:
      description: False when the setup reports C(unregistered) and nothing connected or initialising.
      type: bool
    topology:
      description: C(masters) and C(coreapps) counted from the roles.
      type: dict
    not_ready:
      description: Nodes not where they should be, each with a C(reason).
      type: list
      elements: dict
condition_result:
  description: The value of O(condition) on the last answer.
  returned: when O(condition) is set
  type: raw
polls:
  description: How many times the health was read.
  returned: success
  type: int
"""

from ansible.module_utils.basic import missing_required_lib

from ansible_collections.wabiz.api_client.plugins.module_utils._api import WAModule
from ansible_collections.wabiz.api_client.plugins.module_utils import _health
from ansible_collections.wabiz.api_client.plugins.module_utils import _validate, _wait

RULES = _validate.health_wait_rules()


def main():
    module = WAModule(
        argument_spec=dict(
            wait=dict(type="bool", default=False),
            **_wait.WAIT_ARGUMENT_SPEC,
            expected_shards=dict(type="int"),
            condition=dict(type="str"),
            fail_unhealthy=dict(type="bool", default=False),
        ),
        rules=RULES,
        supports_check_mode=True,
    )
    p = module.params
    if p["condition"] and _health.JMESPATH_IMPORT_ERROR:
        module.fail_json(msg=missing_required_lib("jmespath"), exception=_health.JMESPATH_IMPORT_ERROR)
    try:
        # The condition is compiled before any call: a bad one fails with nothing sent.
        reader = _health.HealthReader(module.client, expected_shards=p["expected_shards"], condition=p["condition"],
                                      read_shards=bool(p["api_token"] or p["api_password"]))
    except ValueError as exc:
        module.fail_json(msg=str(exc))
    with module.api_errors("health check"):
        try:
            if p["wait"]:
                ok, response, nodes, summary, last_error, polls = reader.wait(p["wait_timeout"], p["wait_interval"])
            else:
                response, nodes, summary = reader.read()
                ok, last_error, polls = reader.satisfied(response, nodes, summary), None, 1
            result = dict(changed=False, health=response, nodes=nodes, summary=summary, polls=polls)
            if p["condition"] and response is not None:
                result["condition_result"] = _health.evaluate(reader.condition, response, nodes, summary)[1]
        except _health.HealthError as exc:
            module.fail_json(msg="health check failed: %s" % exc)
    if not ok and (p["wait"] or p["fail_unhealthy"]):
        what = "condition %r" % p["condition"] if p["condition"] else "the healthy state"
        if p["wait"]:
            msg = "timed out after %ss waiting for %s" % (p["wait_timeout"], what)
        else:
            msg = "%s does not hold" % what
        module.fail_json(msg=_health.wait_failed(msg, summary, last_error), **result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
