#!/usr/bin/python
# Copyright (c) 2026, wabiz.api_client contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: stack_info
short_description: Report the WhatsApp Business API client stacks running on a Docker host
version_added: 1.0.0
description:
  - Finds the containers of the WhatsApp Business API on-premises client on one Docker host and groups
    them into stacks, with their topology (Masters, CoreApps, Webapps), version, database settings,
    database containers, networks and volumes.
  - A Master is a container of a CoreApp image with C(WA_MASTER_NODE=1) in its environment.
  - Recognises stacks created by M(wabiz.api_client.stack) (labels C(biz.wabiz.*)), by Meta's official
    compose files (the compose project is the stack name; services C(wacore*), C(master*), C(waweb), C(db)),
    and by hand (the stack name is the first user-defined network of the containers).
  - Database containers are those that the app containers reach with C(WA_DB_HOSTNAME) on a shared
    network, those created by M(wabiz.api_client.db_container), and the C(db) service of a compose project.
  - Secrets in container environments (passwords, keys, secrets) are masked.
author:
  - wabiz.api_client contributors (@wabiz)
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - wabiz.api_client._docker
  - wabiz.api_client._docker.discovery
  - wabiz.api_client._docker.topology
attributes:
  check_mode:
    support: full
  diff_mode:
    support: none
  idempotent:
    support: full
    details: Read-only.
  platform:
    platforms: posix
options:
  name:
    description:
      - Report only this stack (a stack name of this collection or a compose project name).
      - All stacks when not set.
    type: str
  images:
    description:
      - Image names (with tags) whose presence on the Docker host is reported in RV(images).
      - Use it to check before a migration that the new setup's images are there.
    type: list
    elements: str
    default: []
  query:
    description:
      - A JMESPath expression applied to the result; the answer is in RV(query_result).
      - "The expression sees a dict with the keys C(stacks) and C(images)."
    type: str
requirements:
  - jmespath (only for O(query))
seealso:
  - module: wabiz.api_client.stack
"""

EXAMPLES = r"""
- name: Read the old stack
  wabiz.api_client.stack_info:
    name: wa-old
  register: old

- name: Show its topology
  ansible.builtin.debug:
    msg: "{{ old.stacks[0].counts.masters }} Master(s), {{ old.stacks[0].counts.coreapps }} CoreApp(s)"

- name: Count the CoreApps of every stack on a host that mirrors the images privately
  wabiz.api_client.stack_info:
    coreapp_images:
      - docker.whatsapp.biz/coreapp
      - registry.example.com/whatsapp/coreapp
    web_images:
      - docker.whatsapp.biz/web
      - registry.example.com/whatsapp/web
    query: "stacks[].{name: name, coreapps: counts.coreapps}"
  register: counts

- name: Check a new setup's counts against the documented rules (fails naming each broken rule)
  wabiz.api_client.stack_info:
    name: wa-new
    topology: {masters: 2, coreapps: 3, webapps: 1, shards: 2}

- name: Check that the new setup's images are on the host
  wabiz.api_client.stack_info:
    images:
      - docker.whatsapp.biz/coreapp:v2.62.5
      - docker.whatsapp.biz/web:v2.62.5
  register: info
  failed_when: info.images | rejectattr('present') | list | length > 0
"""

RETURN = r"""
stacks:
  description: The stacks found, sorted by name.
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: Stack name (label C(biz.wabiz.stack), else compose project, else user network).
      type: str
    compose_project:
      description: The compose project of the containers, if any.
      type: str
    managed:
      description: Whether M(wabiz.api_client.stack) created the stack.
      type: bool
    version:
      description: Client version from the CoreApp image tag (C(v2.61.2) gives V(2.61.2)).
      type: str
    versions:
      description: All versions seen in the stack's image tags.
      type: list
      elements: str
    counts:
      description: Number of containers per role, running or not (keys C(masters), C(coreapps), C(webapps), C(databases)).
      type: dict
      sample: {masters: 2, coreapps: 3, webapps: 1, databases: 1}
    running:
      description: Number of running containers per role.
      type: dict
    multiconnect:
      description: Whether the stack is a multiconnect setup (Masters or C(WA_APP_MULTICONNECT)).
      type: bool
    masters:
      description: The Master containers (id, name, image, image_id, state, running, started_at, labels, env
        with secrets masked, hostname, networks, mounts, ports, role, version).
      type: list
      elements: dict
    coreapps:
      description: The CoreApp containers (same keys as RV(stacks[].masters)).
      type: list
      elements: dict
    webapps:
      description: The Webapp containers (same keys as RV(stacks[].masters)).
      type: list
      elements: dict
    databases:
      description:
        - The database containers of the stack (same keys as RV(stacks[].masters)), plus C(engine)
          (V(MYSQL) or V(PGSQL), from the data directory or the image) and C(data_volume) (the named volume at
          the data directory, if any).
      type: list
      elements: dict
    networks:
      description: User-defined networks of the stack's containers.
      type: list
      elements: str
    volumes:
      description: Named volumes mounted by the stack's containers (media and database data).
      type: list
      elements: str
    web_port:
      description: Host port published for the Webapp's HTTPS port 443, if any.
      type: int
    db:
      description:
        - Database settings of the app containers (C(engine) upper-cased, C(hostname), C(port), C(username),
          C(name_prefix)); never the password.
        - C(container), the database container the app containers reach (or, with no app container left,
          the stack's database container); null when none.
        - C(external), true when the app containers use a database server that no container of this Docker
          host answers for (a managed database or another host, e.g. reached by address).
        - C(volume), the data volume of C(container), if any.
        - Without app containers, C(engine) comes from the database container.
      type: dict
      sample: {engine: PGSQL, hostname: 10.0.3.15, port: 5432, username: postgres, name_prefix: null,
               container: null, external: true, volume: null}
images:
  description: Presence of the images asked for with O(images).
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: The image name asked for.
      type: str
    present:
      description: Whether the image is on the Docker host.
      type: bool
    id:
      description: The image id when present.
      type: str
query_result:
  description: The answer of O(query).
  returned: when O(query) is set
  type: raw
"""

import traceback

from ansible.module_utils.basic import missing_required_lib

from ansible_collections.wabiz.api_client.plugins.module_utils import _docker, _validate
from ansible_collections.wabiz.api_client.plugins.module_utils import _docker_engine as engine
from ansible_collections.wabiz.api_client.plugins.module_utils import _stack_model as m

JMESPATH_IMPORT_ERROR = None
try:
    import jmespath
except ImportError:  # pragma: no cover - exercised by the sanity import test
    jmespath = None
    JMESPATH_IMPORT_ERROR = traceback.format_exc()

RULES = {"topology.hosts": [_validate.int_range(1, 1000)]}


def main():
    spec = dict(m.DISCOVERY_ARGUMENT_SPEC)
    spec.update(
        name=dict(type="str"),
        images=dict(type="list", elements="str", default=[]),
        query=dict(type="str"),
        topology=m.TOPOLOGY_SPEC,
    )
    module = _docker.DockerModule(argument_spec=spec, rules=RULES, supports_check_mode=True)
    p = module.params
    if p["query"] and jmespath is None:
        module.fail(missing_required_lib("jmespath"), exception=JMESPATH_IMPORT_ERROR)
    query = None
    if p["query"]:
        try:
            query = jmespath.compile(p["query"])
        except (jmespath.exceptions.JMESPathError, ValueError, TypeError, RecursionError) as exc:
            module.fail("query must be a valid JMESPath expression: %s" % exc)
    if p["topology"]:
        t = p["topology"]
        refusal = m.topology_refusal(t["masters"], t["coreapps"], t["webapps"], t["shards"], t["hosts"])
        if refusal:
            module.fail(refusal)
    with module.docker_errors("reading the stacks"):
        stacks = m.discover_stacks(engine.list_records(module.client), p["coreapp_images"], p["web_images"])
        images = []
        for image in p["images"]:
            image_id = engine.image_id(module.client, image)
            images.append(dict(name=image, present=image_id is not None, id=image_id))
    if p["name"]:
        stacks = [s for s in stacks if p["name"] in (s["name"], s["compose_project"])]
    result = dict(stacks=stacks, images=images)
    if query is not None:
        try:
            result["query_result"] = query.search(dict(stacks=stacks, images=images))
        except jmespath.exceptions.JMESPathError as exc:
            module.fail("Invalid query %r: %s" % (p["query"], exc))
    module.exit(**result)


if __name__ == "__main__":
    main()
