#!/usr/bin/python
# Copyright (c) 2026, wabiz.api_client contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: stack
short_description: Manage the app containers (Masters, CoreApps, Webapps) of a WhatsApp Business API client stack
version_added: 1.0.0
description:
  - Declares the app containers of one WhatsApp Business API on-premises client stack on one Docker host,
    laid out as in Meta's official compose files (the official command, C(WA_DB_*) environment, the media
    volume at C(/usr/local/wamedia), C(WA_MASTER_NODE=1) on Masters, C(WA_APP_MULTICONNECT=1) when there
    are Masters, the Webapp's HTTPS port 443 published on the host).
  - O(state=present) creates only what is missing, recreates only containers whose configuration (a hash
    stored in the label C(biz.wabiz.config)) or image differs, starts stopped ones, and removes surplus
    numbered containers. Container names are C(<name>-master<N>), C(<name>-wacore<N>), C(<name>-waweb<N>).
  - O(state=present) refuses counts that break the documented rules (see O(topology)), those of O(topology)
    when set (give it on each host of a multi-host setup), else this host's O(masters), O(coreapps), O(webapps).
  - Image presence is checked first; when an image is missing and cannot be obtained the module fails
    before it changes anything.
  - O(state=absent) removes only the app containers of the stack, whoever created them (this module,
    Meta's compose files, or by hand; see M(wabiz.api_client.stack_info) for how they are recognised).
    It never removes a database container, and removes volumes only with O(remove_volumes=true).
  - O(state=stopped) stops the app containers of the stack.
  - O(state=restarted) restarts the app containers of the stack whose role is in O(restart_roles), for
    example the Masters and CoreApps after a new webhook CA was uploaded (they read it when they start),
    then waits until they run again (O(wait)).
  - The database itself is not managed here; for a single-host or lab setup see M(wabiz.api_client.db_container).
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
    support: full
    details: Before and after lists of the stack's containers with role, image, configuration hash and environment
      (secrets masked).
  idempotent:
    support: partial
    details: V(present), V(absent) and V(stopped) are idempotent; V(restarted) restarts every time (like
      C(ansible.builtin.service) with C(state=restarted)).
  platform:
    platforms: posix
options:
  name:
    description:
      - Name of the stack; prefix of the container names and value of the label C(biz.wabiz.stack).
      - With O(state=absent), O(state=stopped) or O(state=restarted) also a compose project name or any stack name reported by
        M(wabiz.api_client.stack_info).
    type: str
    required: true
  state:
    description:
      - V(present) the containers exist with the desired configuration and run.
      - V(absent) the app containers are removed, all at once (in parallel), never the database container.
      - V(stopped) the app containers exist but are stopped (only stops existing containers).
      - V(restarted) the existing app containers with a role in O(restart_roles) are restarted; fails when
        the stack has no app container on the Docker host.
    type: str
    choices: [present, absent, stopped, restarted]
    default: present
  restart_roles:
    description:
      - With O(state=restarted), the roles of the containers to restart.
    type: list
    elements: str
    choices: [master, coreapp, web]
    default: [master, coreapp, web]
  masters:
    description: Number of Masters (CoreApp image with C(WA_MASTER_NODE=1)). V(0) for a single instance.
    type: int
    default: 0
  coreapps:
    description: Number of CoreApps.
    type: int
    default: 1
  webapps:
    description: Number of Webapps. The first publishes O(web_port), the next O(web_port)+1, and so on.
    type: int
    default: 1
  validate_topology:
    description:
      - Ignored; the counts are always checked (see the description). Deprecated, to be removed in 2.0.0.
    type: bool
  version:
    description:
      - Client version, for example V(2.62.5) or V(v2.62.5); gives O(coreapp_image) and O(web_image) as
        C(<repository>:v<version>) with the first repository of O(coreapp_images) and of O(web_images), by
        default C(docker.whatsapp.biz/coreapp:v<version>) and C(docker.whatsapp.biz/web:v<version>).
      - Required with O(state=present) unless both O(coreapp_image) and O(web_image) are set.
    type: str
  coreapp_image:
    description: Full CoreApp image name (also used for Masters), for example from a private mirror.
    type: str
  web_image:
    description: Full Webapp image name.
    type: str
  image_source:
    description:
      - V(present) the images must already be on the Docker host.
      - V(pull) pull missing images from their registry.
      - V(archive) load missing images with C(docker load) from O(image_archive) on the Docker host.
    type: str
    choices: [present, pull, archive]
    default: present
  image_archive:
    description:
      - Paths on the Docker host of image tarballs (C(docker save) output) to load with O(image_source=archive).
    type: list
    elements: path
    default: []
  db:
    description:
      - Database settings given to every app container as C(WA_DB_*) environment variables.
      - Required with O(state=present).
    type: dict
    suboptions:
      engine:
        description: C(WA_DB_ENGINE).
        type: str
        choices: [MYSQL, PGSQL, mysql, pgsql]
        default: MYSQL
      hostname:
        description: C(WA_DB_HOSTNAME); a host name the containers resolve (for example the DB container's name on O(network)).
        type: str
        required: true
      port:
        description: C(WA_DB_PORT).
        type: int
        default: 3306
      username:
        description: C(WA_DB_USERNAME).
        type: str
        default: root
      password:
        description: C(WA_DB_PASSWORD). Must not contain any of C(?{}&~!()^=) (the client does not accept them).
        type: str
        required: true
      name_prefix:
        description: C(WA_DB_NAME_PREFIX), to run several setups on one database server.
        type: str
      connection_idle_timeout:
        description: C(WA_DB_CONNECTION_IDLE_TIMEOUT) in milliseconds.
        type: int
  network:
    description: User-defined Docker network of the stack; created when missing.
    type: str
  media_volume:
    description: Named volume (created when missing) or host path, mounted at C(/usr/local/wamedia).
    type: str
  web_port:
    description: Host port on which the Webapp's HTTPS port 443 is published (Meta's files use V(9090)); none when not set.
    type: int
  api_key:
    description: C(WA_API_KEY) of the Webapp (12 to 128 characters), for monitoring without login.
    type: str
  env:
    description: Extra environment for every app container; overrides the computed variables.
    type: dict
    default: {}
  coreapp_env:
    description: Extra environment for Masters and CoreApps only.
    type: dict
    default: {}
  web_env:
    description: Extra environment for Webapps only.
    type: dict
    default: {}
  restart_policy:
    description: Docker restart policy of the containers.
    type: str
    choices: ['no', on-failure, always, unless-stopped]
    default: unless-stopped
  wait:
    description: After changes, wait until every container runs (and has stayed up for a moment).
    type: bool
    default: true
  wait_for_api:
    description:
      - Also wait until the Webapp answers HTTPS on C(/v1/health) (any HTTP status means it answers) at
        O(wait_host):O(web_port). Needs O(web_port).
    type: bool
    default: false
  wait_host:
    description: Host name or address at which the Docker host publishes O(web_port), seen from the managed host.
    type: str
    default: 127.0.0.1
  wait_timeout:
    description: Seconds to wait for O(wait), O(wait_for_api) and O(verify_databases).
    type: int
    default: 180
  remove_volumes:
    description:
      - With O(state=absent) only, also remove the named volumes mounted by the removed app containers
        (the media volume) when no remaining container uses them. Database volumes are never removed.
    type: bool
    default: false
  verify_databases:
    description:
      - With O(state=absent) only, after the removal check that every database container of the stack (the
        C(databases) of RV(kept)) runs and answers its database protocol (MySQL greeting, PostgreSQL SSL
        request) at its address on the port of O(verify_db), and that the external database server of
        O(verify_db.hostname) answers too; waits up to O(wait_timeout) seconds, then fails naming each database
        that does not answer (the app containers are gone by then). Read-only, so also in check mode.
    type: bool
    default: false
  verify_db:
    description: What O(verify_databases) checks besides the database containers.
    type: dict
    suboptions:
      port:
        description: Port of the databases; V(0) or not set is 3306 (MySQL) or 5432 (PostgreSQL), by each database's engine.
        type: int
      hostname:
        description: An external database server (not a container on this Docker host) to check too; none when empty.
        type: str
      engine:
        description: Engine of O(verify_db.hostname), for its protocol and default port.
        type: str
        choices: [MYSQL, PGSQL, mysql, pgsql]
        default: MYSQL
  stop_timeout:
    description: Seconds a container gets to stop before it is killed.
    type: int
    default: 10
notes:
  - Extra wiring a lab needs (for example a network stand-in) goes in O(env).
seealso:
  - module: wabiz.api_client.stack_info
  - module: wabiz.api_client.db_container
"""

EXAMPLES = r"""
- name: Multiconnect stack with 2 Masters and 3 CoreApps
  wabiz.api_client.stack:
    name: wa-new
    version: 2.62.5
    masters: 2
    coreapps: 3
    webapps: 1
    network: wa-new
    media_volume: wa-new-media
    web_port: 9090
    db:
      hostname: wa-db
      username: root
      password: "{{ vault_db_password }}"
    wait_for_api: true

- name: Images from a tarball on the Docker host (air-gapped)
  wabiz.api_client.stack:
    name: wa-new
    version: 2.62.5
    image_source: archive
    image_archive: [/srv/images/whatsapp-2.62.5.tar]
    db: {hostname: wa-db, password: "{{ vault_db_password }}"}
    network: wa-new

- name: Restart the Masters and CoreApps so they read a newly uploaded webhook CA
  wabiz.api_client.stack:
    name: wa-new
    state: restarted
    restart_roles: [master, coreapp]

- name: Uninstall the old client (keeps the database container and every volume)
  wabiz.api_client.stack:
    name: wa-old
    state: absent
"""

RETURN = r"""
containers:
  description:
    - The app containers of the stack after the run (name, id, role, image, state, running, config hash).
    - In check mode with O(state=present), the containers as they would be (name, role, image, config hash).
  returned: always
  type: list
  elements: dict
created_network:
  description: The network created (or that would be).
  returned: when a network was created
  type: str
created_volume:
  description: The media volume created (or that would be).
  returned: when a volume was created
  type: str
missing_images:
  description: Images that are missing and could not be obtained (on failure).
  returned: on failure because of images
  type: list
  elements: str
created:
  description: Names of the containers created (or that would be).
  returned: always
  type: list
  elements: str
recreated:
  description: Names of the containers recreated (or that would be), because their configuration or image changed.
  returned: always
  type: list
  elements: str
started:
  description: Names of existing containers that were started.
  returned: always
  type: list
  elements: str
stopped:
  description: Names of containers stopped (O(state=stopped)).
  returned: always
  type: list
  elements: str
restarted:
  description: Names of containers restarted (O(state=restarted)); in check mode, those that would be.
  returned: always
  type: list
  elements: str
  sample: [wa-new-master1, wa-new-wacore1]
removed:
  description: Names of the app containers removed (surplus ones, or all with O(state=absent)).
  returned: always
  type: list
  elements: str
kept:
  description:
    - What was left in place. C(containers) unchanged app containers; C(databases) the database containers of the
      stack with their state, running flag, addresses, volumes and engine (V(MYSQL) or V(PGSQL); never touched),
      and with O(verify_databases) whether each answers (C(answers)); C(volumes) the volumes kept.
    - C(external_database) (with O(verify_db.hostname)) the external server checked, with C(answers).
  returned: always
  type: dict
  sample: {containers: [wa-new-wacore1], databases: [{name: wa-db, running: true, state: running, engine: MYSQL,
           ip_addresses: [172.18.0.2]}], volumes: [wa-db-data]}
removal_started:
  description:
    - When the first app container was told to stop, in seconds since the epoch (the moment the old client
      stops serving; the migration records it as the start of the downtime).
  returned: when O(state=absent) removed at least one container, except in check mode
  type: float
  sample: 1795919679.927
removed_volumes:
  description: Volumes removed with O(remove_volumes=true).
  returned: always
  type: list
  elements: str
images:
  description: Images used, with what was done (C(present), C(pulled), C(loaded), or C(would pull)/C(would load) in check mode).
  returned: when O(state=present)
  type: dict
reasons:
  description: Why each container was created, recreated, started or removed.
  returned: always
  type: dict
"""

from ansible_collections.wabiz.api_client.plugins.module_utils import _docker, _validate
from ansible_collections.wabiz.api_client.plugins.module_utils import _stack_model as m
from ansible_collections.wabiz.api_client.plugins.module_utils._stack import StackManager


#: What the options must be beyond their Ansible type; checked before the engine is contacted.
RULES = {
    "name": [_validate.docker_name()],
    "masters": [_validate.int_range(0, 100)],
    "coreapps": [_validate.int_range(0, 100)],
    "webapps": [_validate.int_range(0, 100)],
    "web_port": [_validate.int_range(1, 65535)],
    "wait_timeout": [_validate.int_range(0, 86400)],
    "stop_timeout": [_validate.int_range(0, 3600)],
    "network": [_validate.docker_name()],
    "media_volume": [_validate.docker_name()],
    "wait_host": [_validate.single_line()],
    "version": [_validate.single_line()],
    "coreapp_image": [_validate.single_line()],
    "web_image": [_validate.single_line()],
    "db.hostname": [_validate.single_line()],
    "db.port": [_validate.int_range(1, 65535)],
    "db.username": [_validate.single_line()],
    "db.password": [_validate.single_line(), m.db_password()],
    "db.name_prefix": [_validate.single_line()],
    "db.connection_idle_timeout": [_validate.int_range(0, 2147483647)],
    "api_key": [_validate.header_safe()],
    "env": [_validate.env_mapping()],
    "coreapp_env": [_validate.env_mapping()],
    "web_env": [_validate.env_mapping()],
    "topology.hosts": [_validate.int_range(1, 1000)],
    "verify_db.port": [_validate.int_range(0, 65535)],
    "verify_db.hostname": [_validate.single_line()],
}


def main():
    spec = dict(m.DISCOVERY_ARGUMENT_SPEC)
    spec.update(
        name=dict(type="str", required=True),
        state=dict(type="str", default="present", choices=["present", "absent", "stopped", "restarted"]),
        restart_roles=dict(type="list", elements="str", default=list(m.APP_ROLES), choices=list(m.APP_ROLES)),
        masters=dict(type="int", default=0),
        coreapps=dict(type="int", default=1),
        webapps=dict(type="int", default=1),
        validate_topology=dict(type="bool", removed_in_version="2.0.0", removed_from_collection="wabiz.api_client"),
        topology=m.TOPOLOGY_SPEC,
        version=dict(type="str"),
        coreapp_image=dict(type="str"),
        web_image=dict(type="str"),
        image_source=dict(type="str", default="present", choices=["present", "pull", "archive"]),
        image_archive=dict(type="list", elements="path", default=[]),
        db=dict(type="dict", options=dict(
            engine=dict(type="str", default="MYSQL", choices=["MYSQL", "PGSQL", "mysql", "pgsql"]),
            hostname=dict(type="str", required=True),
            port=dict(type="int", default=3306),
            username=dict(type="str", default="root"),
            password=dict(type="str", required=True, no_log=True),
            name_prefix=dict(type="str"),
            connection_idle_timeout=dict(type="int"),
        )),
        network=dict(type="str"),
        media_volume=dict(type="str"),
        web_port=dict(type="int"),
        api_key=dict(type="str", no_log=True),
        env=dict(type="dict", default={}),
        coreapp_env=dict(type="dict", default={}),
        web_env=dict(type="dict", default={}),
        restart_policy=dict(type="str", default="unless-stopped", choices=["no", "on-failure", "always", "unless-stopped"]),
        wait=dict(type="bool", default=True),
        wait_for_api=dict(type="bool", default=False),
        wait_host=dict(type="str", default="127.0.0.1"),
        wait_timeout=dict(type="int", default=180),
        remove_volumes=dict(type="bool", default=False),
        verify_databases=dict(type="bool", default=False),
        verify_db=dict(type="dict", options=dict(
            port=dict(type="int"),
            hostname=dict(type="str"),
            engine=dict(type="str", default="MYSQL", choices=["MYSQL", "PGSQL", "mysql", "pgsql"]),
        )),
        stop_timeout=dict(type="int", default=10),
    )
    StackManager(_docker.DockerModule(argument_spec=spec, rules=RULES, supports_check_mode=True)).run()


if __name__ == "__main__":
    main()
