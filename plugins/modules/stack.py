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
      - Refuse counts that break the documented rules (at least one CoreApp and one Webapp; without a
        Master exactly one CoreApp). Turn off to run a partial stack on one host of a multi-host setup.
    type: bool
    default: true
  version:
    description:
      - Client version, for example V(2.62.5) or V(v2.62.5); gives O(coreapp_image) and O(web_image) as
        C(docker.whatsapp.biz/coreapp:v<version>) and C(docker.whatsapp.biz/web:v<version>).
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
  allow_emulator_images:
    description:
      - Install images labelled C(biz.wabiz.emulator=true), the project's test emulator of the client
        (C(tests/emulator)), which a test or demo builds under Meta's image names.
      - V(false) (the default) refuses them before any container changes, so that a real migration never
        moves a number onto the emulator. Only test and demo inventories set it (V(wabiz_allow_emulator_images)).
    type: bool
    default: false
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
        description: C(WA_DB_PASSWORD). Must not contain any of C(?{}&~!()^=).
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
    description: Seconds to wait for O(wait) and O(wait_for_api).
    type: int
    default: 180
  remove_volumes:
    description:
      - With O(state=absent) only, also remove the named volumes mounted by the removed app containers
        (the media volume) when no remaining container uses them. Database volumes are never removed.
    type: bool
    default: false
  stop_timeout:
    description: Seconds a container gets to stop before it is killed.
    type: int
    default: 10
notes:
  - Emulators or demos that need extra wiring (for example a network stand-in) pass it with O(env).
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
emulator_images:
  description: Images refused because they are the project's test emulator (O(allow_emulator_images=false)).
  returned: on failure because of emulator images
  type: list
  elements: str
  sample: [docker.whatsapp.biz/coreapp:v2.62.5]
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
      stack with their state, running flag, addresses and engine (V(MYSQL) or V(PGSQL); never touched); C(volumes)
      the volumes kept.
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

import time
from concurrent.futures import ThreadPoolExecutor

from ansible_collections.wabiz.api_client.plugins.module_utils import _docker as d
from ansible_collections.wabiz.api_client.plugins.module_utils import _validate


class StackManager:
    """Plans and applies one stack; all engine calls go through ``_docker``."""

    def __init__(self, module, client):
        self.module = module
        self.client = client
        self.p = module.params
        self.check = module.check_mode
        self.result = dict(changed=False, containers=[], created=[], recreated=[], started=[], stopped=[], restarted=[],
                           removed=[], removed_volumes=[], kept=dict(containers=[], databases=[], volumes=[]),
                           reasons={})
        self.before = []
        self.after = []

    # -- helpers -------------------------------------------------------------------------------
    def fail(self, msg, **kwargs):
        self.module.fail_json(msg=msg, **dict(self.result, **kwargs))

    def records(self):
        return d.list_records(self.client)

    def stack_app(self, records):
        return d.app_containers_of(records, self.p["name"], self.p["coreapp_images"], self.p["web_images"])

    def stack_info(self, records):
        for st in d.discover_stacks(records, self.p["coreapp_images"], self.p["web_images"]):
            if st["name"] == self.p["name"]:
                return st
        return None

    def report_kept_databases(self, databases):
        """Re-read the database containers (never touched) and report their state now."""
        kept = []
        for db in databases or []:
            try:
                record = d.summarize_container(self.client.inspect_container(db["id"]))
            except d.NotFound:
                record = dict(db, state="missing", running=False, networks={}, mounts=db.get("mounts") or [])
            kept.append(dict(name=record["name"], state=record["state"], running=record["running"],
                             image=record.get("image"), engine=d.db_engine_of(record),
                             ip_addresses=sorted(n["ip_address"] for n in record["networks"].values()
                                                 if n.get("ip_address")),
                             volumes=sorted(m["name"] for m in record["mounts"] if m.get("name"))))
        self.result["kept"]["databases"] = kept

    # -- images --------------------------------------------------------------------------------
    def images(self):
        p = self.p
        coreapp_image, web_image = p["coreapp_image"], p["web_image"]
        if p["version"]:
            version = p["version"] if p["version"].startswith("v") else "v" + p["version"]
            coreapp_image = coreapp_image or "docker.whatsapp.biz/coreapp:%s" % version
            web_image = web_image or "docker.whatsapp.biz/web:%s" % version
        if not coreapp_image or not web_image:
            self.fail("state=present needs version, or both coreapp_image and web_image")
        return coreapp_image, web_image

    def ensure_images(self, names):
        """Check first, then obtain missing images per image_source; fails before any change."""
        status = {}
        ids = {}
        missing = []
        emulator = []
        for image in names:
            facts = d.image_facts(self.client, image)
            if facts["id"]:
                status[image], ids[image] = "present", facts["id"]
                if facts["emulator"]:
                    emulator.append(image)
            else:
                missing.append(image)
        self.refuse_emulator(emulator)
        if not missing:
            return status, ids
        source = self.p["image_source"]
        if source == "present":
            self.fail("Image(s) not on the Docker host: %s. Load them first (docker load -i <tarball>), or set "
                      "image_source=archive with image_archive, or image_source=pull when a registry is reachable. "
                      "Nothing was changed." % ", ".join(missing), missing_images=missing)
        if source == "archive":
            archives = self.p["image_archive"]
            if not archives:
                self.fail("Image(s) not on the Docker host: %s, and image_source=archive needs image_archive. "
                          "Nothing was changed." % ", ".join(missing), missing_images=missing)
            for path in archives:
                try:
                    with open(path, "rb") as fh:
                        if not self.check:
                            d.load_archive(self.client, fh)
                except (IOError, OSError) as exc:
                    self.fail("Cannot read image archive %s: %s. Nothing was changed." % (path, exc))
                except d.DockerException as exc:
                    self.fail("docker load of %s failed: %s. No container was changed." % (path, exc))
            for image in missing:
                if self.check:
                    status[image] = "would load"
                    continue
                facts = d.image_facts(self.client, image)
                if not facts["id"]:
                    self.fail("Image %s is still missing after loading %s: the archive does not contain it. "
                              "Nothing else was changed." % (image, ", ".join(archives)), missing_images=[image])
                status[image], ids[image] = "loaded", facts["id"]
                if facts["emulator"]:
                    emulator.append(image)
            self.result["changed"] = True
            self.refuse_emulator(emulator, loaded=True)
            return status, ids
        # pull
        for image in missing:
            if self.check:
                status[image] = "would pull"
                continue
            try:
                d.pull_image(self.client, image)
            except d.DockerException as exc:
                self.fail("Cannot pull image %s: %s. Load it with docker load, or use image_source=archive. "
                          "Nothing else was changed." % (image, exc), missing_images=[image])
            facts = d.image_facts(self.client, image)
            status[image], ids[image] = "pulled", facts["id"]
            if facts["emulator"]:
                emulator.append(image)
        self.result["changed"] = True
        self.refuse_emulator(emulator, loaded=True)
        return status, ids

    def refuse_emulator(self, images, loaded=False):
        """Fail before any container changes when an image to install is the project's test emulator and
        allow_emulator_images is not set."""
        msg = None if self.p["allow_emulator_images"] else d.emulator_refusal(images)
        if msg:
            if loaded:
                msg = msg.replace("Nothing was changed.", "No container was changed (the images loaded stay).")
            self.fail(msg, emulator_images=sorted(images))

    # -- states --------------------------------------------------------------------------------
    def present(self):
        p = self.p
        if p["db"] is None:
            self.fail("state=present needs db (at least hostname and password)")
        for key in ("masters", "coreapps", "webapps"):
            if p[key] < 0:
                self.fail("%s must not be negative" % key)
        if p["validate_topology"]:
            errors = d.topology_errors(p["masters"], p["coreapps"], p["webapps"])
            if errors:
                self.fail("Refusing the topology %d Master(s), %d CoreApp(s), %d Webapp(s): %s. Nothing was changed."
                          % (p["masters"], p["coreapps"], p["webapps"], "; ".join(errors)))
        if p["wait_for_api"] and not p["web_port"]:
            self.fail("wait_for_api needs web_port")
        password = (p["db"] or {}).get("password") or ""
        bad = d.forbidden_db_password_chars(password)
        if bad:
            self.fail("db.password contains characters the client does not accept in a database password (%s): "
                      "choose one without any of %s. Nothing was changed." % (" ".join(bad), d.DB_PASSWORD_FORBIDDEN))
        coreapp_image, web_image = self.images()
        params = dict(p, coreapp_image=coreapp_image, web_image=web_image)
        desired = d.desired_specs(params)

        records = self.records()
        by_name = dict((r["name"], r) for r in records)
        for spec in desired:
            other = by_name.get(spec["name"])
            if other and (other.get("labels") or {}).get(d.LABEL_STACK) != p["name"]:
                self.fail("A container named %s exists but does not belong to stack %s (no label %s=%s); "
                          "rename or remove it, or choose another stack name. Nothing was changed."
                          % (spec["name"], p["name"], d.LABEL_STACK, p["name"]))
        actual = [r for r, role in self.stack_app(records)
                  if (r.get("labels") or {}).get(d.LABEL_STACK) == p["name"]]
        self.before = [dict(name=r["name"], **d.record_view(r)) for r in actual]

        # Images first: nothing changes when one is missing.
        status, ids = self.ensure_images(sorted(set([coreapp_image, web_image])))
        self.result["images"] = status

        plan = d.plan(desired, actual, ids)
        self.result["reasons"] = plan["reasons"]
        labels = {d.LABEL_STACK: p["name"], d.LABEL_MANAGED: d.MANAGED_BY}
        if d.ensure_network(self.client, p["network"], labels, self.check):
            self.result["changed"] = True
            self.result["created_network"] = p["network"]
        if p["media_volume"] and d.ensure_volume(self.client, p["media_volume"], labels, self.check):
            self.result["changed"] = True
            self.result["created_volume"] = p["media_volume"]

        touched = []
        try:
            for r in plan["remove"]:
                self.result["removed"].append(r["name"])
                if not self.check:
                    d.remove_container(self.client, r["id"], p["stop_timeout"])
            for spec, r in plan["recreate"]:
                self.result["recreated"].append(spec["name"])
                if not self.check:
                    d.remove_container(self.client, r["id"], p["stop_timeout"])
                    d.create_container(self.client, spec)
                touched.append(spec["name"])
            for spec in plan["create"]:
                self.result["created"].append(spec["name"])
                if not self.check:
                    d.create_container(self.client, spec)
                touched.append(spec["name"])
            for spec, r in plan["start"]:
                self.result["started"].append(spec["name"])
                if not self.check:
                    self.client.start(r["id"])
                touched.append(spec["name"])
        except d.DockerException as exc:
            self.fail("Docker engine error while changing stack %s: %s" % (p["name"], exc))
        self.result["kept"]["containers"] = [s["name"] for s, _r in plan["keep"]]
        if touched or plan["remove"]:
            self.result["changed"] = True

        self.after = [dict(name=s["name"], **d.spec_view(s)) for s in desired]
        if not self.check:
            if p["wait"] and touched:
                # Every container, not only the touched ones: a recreated Master may take a CoreApp down.
                error = d.wait_running(self.client, [s["name"] for s in desired], p["wait_timeout"])
                if error:
                    self.fail(error)
            if p["wait_for_api"]:
                if not d.wait_https(p["wait_host"], p["web_port"], p["wait_timeout"]):
                    self.fail("The Webapp does not answer HTTPS at %s:%s within %ss"
                              % (p["wait_host"], p["web_port"], p["wait_timeout"]))
            records = self.records()
            self.result["containers"] = [self.container_view(r, role) for r, role in self.stack_app(records)]
        else:
            self.result["containers"] = [dict(name=s["name"], role=s["role"], image=s["image"],
                                              config=s["config_hash"][:12]) for s in desired]

    def container_view(self, record, role):
        return dict(name=record["name"], id=record["id"], role=role, image=record["image"], state=record["state"],
                    running=record["running"],
                    config=((record.get("labels") or {}).get(d.LABEL_CONFIG) or "")[:12])

    def absent(self):
        p = self.p
        records = self.records()
        apps = self.stack_app(records)
        st = self.stack_info(records)
        self.before = [dict(name=r["name"], **d.record_view(r, role)) for r, role in apps]
        app_ids = set(r["id"] for r, _role in apps)
        app_volumes = sorted(set(m["name"] for r, _role in apps for m in r["mounts"]
                                 if m.get("type") == "volume" and m.get("name")))
        db_volumes = set(m["name"] for db in (st or {}).get("databases") or [] for m in db["mounts"] if m.get("name"))
        try:
            for r, _role in apps:
                self.result["removed"].append(r["name"])
                self.result["reasons"][r["name"]] = "state=absent"
            if not self.check and apps:
                # In parallel: the old client's containers go at once (step 5 starts the downtime).
                self.result["removal_started"] = round(time.time(), 3)
                with ThreadPoolExecutor(max_workers=min(len(apps), 16)) as pool:
                    for future in [pool.submit(d.remove_container, self.client, r["id"], p["stop_timeout"])
                                   for r, _role in apps]:
                        future.result()
            to_remove = []
            if p["remove_volumes"]:
                for vol in app_volumes:
                    used_elsewhere = any(vol == m.get("name") for r in records if r["id"] not in app_ids
                                         for m in r["mounts"])
                    if vol not in db_volumes and not used_elsewhere:
                        to_remove.append(vol)
            for vol in to_remove:
                self.result["removed_volumes"].append(vol)
                if not self.check:
                    self.client.remove_volume(vol)
        except d.DockerException as exc:
            self.fail("Docker engine error while removing stack %s: %s" % (p["name"], exc))
        self.result["changed"] = bool(self.result["removed"] or self.result["removed_volumes"])
        self.report_kept_databases((st or {}).get("databases"))
        kept_volumes = (set(app_volumes) - set(self.result["removed_volumes"])) | db_volumes
        self.result["kept"]["volumes"] = sorted(kept_volumes)
        self.after = []

    def stopped(self):
        p = self.p
        records = self.records()
        apps = self.stack_app(records)
        self.before = [dict(name=r["name"], **d.record_view(r, role)) for r, role in apps]
        try:
            for r, _role in apps:
                if r["running"] or r["state"] == "restarting":
                    self.result["stopped"].append(r["name"])
                    if not self.check:
                        self.client.stop(r["id"], timeout=p["stop_timeout"])
                else:
                    self.result["kept"]["containers"].append(r["name"])
        except d.DockerException as exc:
            self.fail("Docker engine error while stopping stack %s: %s" % (p["name"], exc))
        self.result["changed"] = bool(self.result["stopped"])
        self.after = [dict(b, state="exited") for b in self.before]
        self.report_kept_databases((self.stack_info(records) or {}).get("databases"))
        self.result["containers"] = [self.container_view(r, role) for r, role in self.stack_app(self.records())]

    def restarted(self):
        p = self.p
        records = self.records()
        everything = self.stack_app(records)
        if not everything:
            self.fail("Stack %s has no app container on this Docker host; nothing to restart. Check name (see "
                      "wabiz.api_client.stack_info) and the Docker host." % p["name"])
        # A host of a multi-host stack may hold none of the roles asked for (only Webapps, say): nothing to do.
        apps = [(r, role) for r, role in everything if role in p["restart_roles"]]
        self.before = [dict(name=r["name"], **d.record_view(r, role)) for r, role in apps]
        try:
            for r, _role in apps:
                self.result["restarted"].append(r["name"])
                if not self.check:
                    self.client.restart(r["id"], timeout=p["stop_timeout"])
        except d.DockerException as exc:
            self.fail("Docker engine error while restarting stack %s: %s" % (p["name"], exc))
        self.result["changed"] = bool(apps)
        self.after = [dict(b, state="running") for b in self.before]
        if not self.check and p["wait"] and apps:
            error = d.wait_running(self.client, self.result["restarted"], p["wait_timeout"])
            if error:
                self.fail(error)
        now = self.stack_app(self.records())
        if not self.check:
            started_before = dict((r["name"], r.get("started_at")) for r, _role in apps)
            not_restarted = [r["name"] for r, _role in now
                             if r["name"] in started_before and started_before[r["name"]] == r.get("started_at")]
            if not_restarted:
                self.fail("The engine did not restart %s" % ", ".join(not_restarted))
        self.result["containers"] = [self.container_view(r, role) for r, role in now]

    def run(self):
        getattr(self, self.p["state"])()
        if self.module._diff:
            self.result["diff"] = dict(before=dict(containers=self.before), after=dict(containers=self.after))
        self.module.exit_json(**self.result)


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
    "db.password": [_validate.single_line()],
    "db.name_prefix": [_validate.single_line()],
    "db.connection_idle_timeout": [_validate.int_range(0, 2147483647)],
    "api_key": [_validate.header_safe()],
    "env": [_validate.env_mapping()],
    "coreapp_env": [_validate.env_mapping()],
    "web_env": [_validate.env_mapping()],
}


def main():
    spec = dict(d.DOCKER_ARGUMENT_SPEC)
    spec.update(
        name=dict(type="str", required=True),
        state=dict(type="str", default="present", choices=["present", "absent", "stopped", "restarted"]),
        restart_roles=dict(type="list", elements="str", default=list(d.APP_ROLES), choices=list(d.APP_ROLES)),
        masters=dict(type="int", default=0),
        coreapps=dict(type="int", default=1),
        webapps=dict(type="int", default=1),
        validate_topology=dict(type="bool", default=True),
        version=dict(type="str"),
        coreapp_image=dict(type="str"),
        web_image=dict(type="str"),
        image_source=dict(type="str", default="present", choices=["present", "pull", "archive"]),
        image_archive=dict(type="list", elements="path", default=[]),
        allow_emulator_images=dict(type="bool", default=False),
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
        stop_timeout=dict(type="int", default=10),
        coreapp_images=dict(type="list", elements="str", default=list(d.DEFAULT_COREAPP_IMAGES)),
        web_images=dict(type="list", elements="str", default=list(d.DEFAULT_WEB_IMAGES)),
    )
    module = _validate.CheckedModule(argument_spec=spec, rules=dict(d.DOCKER_RULES, **RULES), supports_check_mode=True)
    client = d.get_client(module)
    StackManager(module, client).run()


if __name__ == "__main__":
    main()
