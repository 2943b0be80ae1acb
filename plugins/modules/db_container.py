#!/usr/bin/python
# Copyright (c) 2026, wabiz.api_client contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: db_container
short_description: A database container for a single-host or lab WhatsApp Business API client stack
version_added: 1.0.0
description:
  - Runs one database container the way Meta's official compose files do, MySQL (C(mysql:8.0.33),
    C(MYSQL_ROOT_PASSWORD), data in a named volume at C(/var/lib/mysql)) or, with O(engine=PGSQL),
    PostgreSQL (C(postgres:13), C(POSTGRES_PASSWORD), data at C(/var/lib/postgresql/data)); on the stack's
    network, labelled C(biz.wabiz.role=db) and C(biz.wabiz.stack=<stack>) so M(wabiz.api_client.stack_info)
    reports it with its stack.
  - Production setups usually run the database elsewhere; then do not use this module.
  - Creates the container only when missing, recreates it only when its configuration differs; the data
    volume is kept in every case unless O(state=absent) with O(remove_volume=true).
  - Waits until the server answers on its port with its own protocol (a MySQL greeting, or PostgreSQL's
    answer to an SSL request) when O(wait=true).
author:
  - wabiz.api_client contributors (@wabiz)
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - wabiz.api_client._docker
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
    details: The container (image, the variables the module sets, network, volume, port, configuration, running) or,
      with O(state=absent), what is removed. Secrets are masked; one that changes shows as C(******** (changed)).
  idempotent:
    support: full
  platform:
    platforms: posix
options:
  name:
    description: Container name; also its host name and network alias (the C(WA_DB_HOSTNAME) of the stack).
    type: str
    required: true
  state:
    description:
      - V(present) the container exists with this configuration and runs.
      - V(absent) the container is removed (decommissioning, step 10 of the migration guide). The data volume
        stays unless O(remove_volume=true).
    type: str
    choices: [present, absent]
    default: present
  stack:
    description: The stack the database belongs to (label C(biz.wabiz.stack)).
    type: str
  engine:
    description:
      - The database server, as the client's C(WA_DB_ENGINE) names it. It chooses the defaults of O(image),
        O(port), O(command), the data directory and the environment the image is given.
    type: str
    choices: [MYSQL, PGSQL, mysql, pgsql]
    default: MYSQL
  image:
    description: Database image. Default C(mysql:8.0.33) (MYSQL) or C(postgres:13) (PGSQL).
    type: str
  image_source:
    description: V(present) the image must be on the Docker host; V(pull) pull it when missing.
    type: str
    choices: [present, pull]
    default: present
  root_password:
    description:
      - The superuser's password, C(MYSQL_ROOT_PASSWORD) or C(POSTGRES_PASSWORD). Required with O(state=present).
      - Must not contain any of C(?{}&~!()^=) (the client cannot use such a database password).
    type: str
  user:
    description:
      - MYSQL, C(MYSQL_USER), an extra user to create.
      - PGSQL, C(POSTGRES_USER), the name of the superuser (default C(postgres)).
    type: str
  password:
    description:
      - MYSQL, C(MYSQL_PASSWORD) of O(user).
      - PGSQL, the password of O(user) when set (else O(root_password)). Same character restriction.
    type: str
  network:
    description: User-defined network to attach to (created when missing).
    type: str
  volume:
    description:
      - Named volume (created when missing) or host path for the data directory (C(/var/lib/mysql) or
        C(/var/lib/postgresql/data)). Defaults to C(<name>-data).
      - With O(state=absent) and O(remove_volume=true), when not set, the named volume the container has at
        its data directory (MySQL's or PostgreSQL's, whatever O(engine) says), else C(<name>-data).
    type: str
  published_port:
    description: Host port on which to publish the database port; not published when not set.
    type: int
  port:
    description: The database port inside the container. Default 3306 (MYSQL) or 5432 (PGSQL).
    type: int
  command:
    description:
      - Command (arguments to the image's entry point).
      - Default C([--default-authentication-plugin=mysql_native_password]) (MYSQL, as Meta's compose files)
        or none (PGSQL).
    type: list
    elements: str
  env:
    description: Extra environment.
    type: dict
    default: {}
  wait:
    description: Wait until the server answers on its port (from the managed host, at the container's address).
    type: bool
    default: true
  wait_timeout:
    description: Seconds for O(wait).
    type: int
    default: 120
  remove_volume:
    description: With O(state=absent), also remove the data volume. Its data is lost.
    type: bool
    default: false
seealso:
  - module: wabiz.api_client.stack
"""

EXAMPLES = r"""
- name: Lab database on the stack's network
  wabiz.api_client.db_container:
    name: wa-db
    stack: wa-new
    network: wa-new
    root_password: "{{ vault_db_root_password }}"

- name: A PostgreSQL database container instead (the stack then runs with WA_DB_ENGINE=PGSQL)
  wabiz.api_client.db_container:
    name: wa-pg
    stack: wa-new
    network: wa-new
    engine: PGSQL
    root_password: "{{ vault_db_root_password }}"

- name: Decommission a PostgreSQL container and, explicitly, its data volume
  wabiz.api_client.db_container:
    name: wa-pg
    engine: PGSQL
    state: absent
    remove_volume: true
"""

RETURN = r"""
container:
  description: The container after the run (name, id, image, engine, state, running, ip_addresses, volumes); secrets are not returned.
  returned: always
  type: dict
created:
  description: Whether the container was created (or recreated).
  returned: always
  type: bool
removed:
  description: Whether the container was removed.
  returned: always
  type: bool
volume_removed:
  description: Whether the data volume was removed.
  returned: always
  type: bool
"""

from ansible_collections.wabiz.api_client.plugins.module_utils import _docker, _validate
from ansible_collections.wabiz.api_client.plugins.module_utils import _docker_engine as engine
from ansible_collections.wabiz.api_client.plugins.module_utils import _probes
from ansible_collections.wabiz.api_client.plugins.module_utils import _stack_model as m

#: Per engine: defaults of image, port and command, the data directory, the superuser password variable.
ENGINES = {
    "MYSQL": dict(image="mysql:8.0.33", port=m.DB_DEFAULT_PORTS["MYSQL"], command=["--default-authentication-plugin=mysql_native_password"],
                  data_dir=m.DB_DATA_DIRS["MYSQL"], password_env="MYSQL_ROOT_PASSWORD"),
    "PGSQL": dict(image="postgres:13", port=m.DB_DEFAULT_PORTS["PGSQL"], command=[],
                  data_dir=m.DB_DATA_DIRS["PGSQL"], password_env="POSTGRES_PASSWORD"),
}


def spec_from(p):
    """The container spec of the database server (see ``_docker_engine.create_container``)."""
    engine_defaults = ENGINES[p["engine"]]
    env = {engine_defaults["password_env"]: p["root_password"]}
    if p["engine"] == "PGSQL" and p["user"]:
        env.update(POSTGRES_USER=p["user"], POSTGRES_PASSWORD=p["password"] or p["root_password"])
    if p["engine"] == "MYSQL" and p["user"]:
        env["MYSQL_USER"] = p["user"]
    if p["engine"] == "MYSQL" and p["password"]:
        env["MYSQL_PASSWORD"] = p["password"]
    env.update(dict((k, str(v)) for k, v in (p["env"] or {}).items()))
    labels = {m.LABEL_ROLE: "db", m.LABEL_MANAGED: m.MANAGED_BY}
    if p["stack"]:
        labels[m.LABEL_STACK] = p["stack"]
    spec = dict(
        name=p["name"], role="db", image=p["image"], command=list(p["command"] or []), hostname=p["name"],
        env=env, network=p["network"], aliases=[p["name"]],
        mounts=[dict(source=p["volume"], target=engine_defaults["data_dir"])],
        ports={"%d/tcp" % p["port"]: p["published_port"]} if p["published_port"] else {},
        restart_policy="unless-stopped", labels=labels,
    )
    spec["config_hash"] = m.config_hash(spec)
    spec["labels"][m.LABEL_CONFIG] = spec["config_hash"]
    return spec


def diff_of(p, current, desired):
    """The diff of state=present: the variables the module sets, secrets masked (one that changes is marked so)."""
    env = dict((k, v) for k, v in (current or {}).get("env", {}).items() if k in desired["env"])
    after = dict(image=desired["image"], env=_validate.mask_secrets(desired["env"] or {}), network=desired["network"],
                 volume=p["volume"], published_port=p["published_port"], config=desired["config_hash"][:12],
                 running=True)
    for k, v in after["env"].items():
        if v != desired["env"][k] and k in env and env[k] != desired["env"][k]:
            after["env"][k] = v + " (changed)"
    if not current:
        return dict(before={}, after=after)
    data_dir = ENGINES[p["engine"]]["data_dir"]
    volume = [x.get("name") or x.get("source") for x in current["mounts"] if x["destination"] == data_dir]
    port = (current["ports"].get("%d/tcp" % p["port"]) or [{}])[0].get("host_port")
    before = dict(image=current["image"], env=_validate.mask_secrets(env or {}), network=(m.user_networks(current) or [None])[0],
                  volume=(volume or [None])[0], published_port=port,
                  config=current["labels"].get(m.LABEL_CONFIG, "")[:12], running=current["running"])
    return dict(before=before, after=after)


def absent(module, current):
    p, result = module.params, module.result
    before = {}
    if current:
        result["removed"] = result["changed"] = True
        before["container"] = current["name"]
        if not module.check_mode:
            engine.remove_container(module.client, current["id"])
    if p["remove_volume"] and not p["volume"].startswith("/") and engine.volume_exists(module.client, p["volume"]):
        result["volume_removed"] = result["changed"] = True
        before["volume"] = p["volume"]
        if not module.check_mode:
            module.client.remove_volume(p["volume"])
    if module.diff_mode:
        result["diff"] = dict(before=before, after={})
    module.exit(container={})


def present(module, current):
    p, result, client = module.params, module.result, module.client
    if current and (current.get("labels") or {}).get(m.LABEL_MANAGED) != m.MANAGED_BY:
        module.fail("A container named %s exists and was not created by this module; it is left alone." % p["name"])
    desired = spec_from(p)
    # Images first: nothing changes when the image is missing and not pulled.
    result["changed"] = engine.ensure_images(client, [p["image"]], p["image_source"], (), module.check_mode,
                                             sources=("present", "pull"))[2]
    labels = dict((k, v) for k, v in desired["labels"].items() if k in (m.LABEL_MANAGED, m.LABEL_STACK))
    if engine.ensure_network(client, p["network"], labels, module.check_mode):
        result["changed"] = True
    if engine.ensure_volume(client, p["volume"], labels, module.check_mode):
        result["changed"] = True
    if module.diff_mode:
        result["diff"] = diff_of(p, current, desired)
    if not current or m.differs(desired, current):
        result["created"] = result["changed"] = True
        if not module.check_mode:
            if current:
                engine.remove_container(client, current["id"])
            engine.create_container(client, desired)
    elif not current["running"]:
        result["changed"] = True
        if not module.check_mode:
            client.start(current["id"])
    if module.check_mode:
        module.exit(container=m.database_view(current))
    if p["wait"]:
        error = engine.wait_running(client, [p["name"]], p["wait_timeout"], settle=1.0)
        if error:
            module.fail(error)
        ips = m.database_view(engine.find_container(client, p["name"]))["ip_addresses"]
        host = ips[0] if ips else "127.0.0.1"
        port = p["port"] if ips else p["published_port"]
        if not port or not _probes.wait_db(host, port, p["engine"], p["wait_timeout"]):
            module.fail("The database in %s does not answer on %s:%s within %ss"
                        % (p["name"], host, port, p["wait_timeout"]))
    module.exit(container=m.database_view(engine.find_container(client, p["name"])))


#: What the options must be beyond their Ansible type; checked before the engine is contacted.
RULES = {
    "name": [_validate.docker_name()],
    "stack": [_validate.single_line()],
    "image": [_validate.single_line()],
    "root_password": [_validate.single_line(), m.db_password()],
    "user": [_validate.single_line()],
    "password": [_validate.single_line(), m.db_password()],
    "network": [_validate.docker_name()],
    "volume": [_validate.single_line()],
    "published_port": [_validate.int_range(1, 65535)],
    "port": [_validate.int_range(1, 65535)],
    "wait_timeout": [_validate.int_range(0, 86400)],
    "env": [_validate.env_mapping()],
}


def main():
    spec = dict(
        name=dict(type="str", required=True),
        state=dict(type="str", default="present", choices=["present", "absent"]),
        stack=dict(type="str"),
        engine=dict(type="str", default="MYSQL", choices=["MYSQL", "PGSQL", "mysql", "pgsql"]),
        image=dict(type="str"),
        image_source=dict(type="str", default="present", choices=["present", "pull"]),
        root_password=dict(type="str", no_log=True),
        user=dict(type="str"),
        password=dict(type="str", no_log=True),
        network=dict(type="str"),
        volume=dict(type="str"),
        published_port=dict(type="int"),
        port=dict(type="int"),
        command=dict(type="list", elements="str"),
        env=dict(type="dict", default={}),
        wait=dict(type="bool", default=True),
        wait_timeout=dict(type="int", default=120),
        remove_volume=dict(type="bool", default=False),
    )
    module = _docker.DockerModule(argument_spec=spec, rules=RULES, supports_check_mode=True,
                                  required_if=[("state", "present", ["root_password"])])
    p = module.params
    p["engine"] = p["engine"].upper()
    for key in ("image", "port", "command"):
        if p[key] is None:
            p[key] = ENGINES[p["engine"]][key]
    module.result.update(created=False, removed=False, volume_removed=False)
    with module.docker_errors("running database container %s" % p["name"]):
        current = engine.find_container(module.client, p["name"])
        if not p["volume"] and p["state"] == "absent" and current:
            p["volume"] = m.db_data_volume(current)
        p["volume"] = p["volume"] or "%s-data" % p["name"]
        (absent if p["state"] == "absent" else present)(module, current)


if __name__ == "__main__":
    main()
