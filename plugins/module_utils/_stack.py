# Copyright (c) 2026, wabiz.api_client contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""``StackManager``: what the ``stack`` module does for each ``state`` (present, absent, stopped, restarted).

PRIVATE to this collection: no compatibility promise to other collections.

It plans with ``_stack_model`` (pure), acts with ``_docker_engine``, waits with ``_probes``, and reports
through the module's ``DockerModule`` (one result, one error translation).
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

from ansible_collections.wabiz.api_client.plugins.module_utils import _docker_engine as engine
from ansible_collections.wabiz.api_client.plugins.module_utils import _probes
from ansible_collections.wabiz.api_client.plugins.module_utils import _stack_model as m


class StackManager:
    """Plans and applies one stack on one Docker host; ``module`` is a ``_docker.DockerModule``."""

    def __init__(self, module):
        self.module = module
        self.p = module.params
        self.check = module.check_mode
        self.result = module.result
        self.result.update(containers=[], created=[], recreated=[], started=[], stopped=[], restarted=[], removed=[],
                           removed_volumes=[], kept=dict(containers=[], databases=[], volumes=[]), reasons={})
        self.before = []
        self.after = []

    @property
    def client(self):
        return self.module.client

    # -- helpers -------------------------------------------------------------------------------
    def fail(self, msg, **kwargs):
        self.module.fail(msg, **kwargs)

    def records(self):
        return engine.list_records(self.client)

    def stack_app(self, records):
        return m.app_containers_of(records, self.p["name"], self.p["coreapp_images"], self.p["web_images"])

    def stack_info(self, records):
        for st in m.discover_stacks(records, self.p["coreapp_images"], self.p["web_images"]):
            if st["name"] == self.p["name"]:
                return st
        return None

    def report_kept_databases(self, databases):
        """Re-read the database containers (never touched) and report their state now."""
        kept = []
        for db in databases or []:
            record = engine.find_container(self.client, db["id"]) or dict(
                db, state="missing", running=False, networks={}, mounts=db.get("mounts") or [])
            kept.append(m.database_view(record))
        self.result["kept"]["databases"] = kept

    def container_view(self, record, role):
        return dict(name=record["name"], id=record["id"], role=role, image=record["image"], state=record["state"],
                    running=record["running"], config=((record.get("labels") or {}).get(m.LABEL_CONFIG) or "")[:12])

    def images(self):
        """The CoreApp and Webapp image names (unless given: ``version`` in the first of ``coreapp_images`` and
        ``web_images``)."""
        p = self.p
        coreapp_image, web_image = p["coreapp_image"], p["web_image"]
        if p["version"] and p["coreapp_images"] and p["web_images"]:
            version = p["version"] if p["version"].startswith("v") else "v" + p["version"]
            coreapp_image = coreapp_image or "%s:%s" % (m.image_repo(p["coreapp_images"][0]), version)
            web_image = web_image or "%s:%s" % (m.image_repo(p["web_images"][0]), version)
        if not coreapp_image or not web_image:
            self.fail("state=present needs version (with coreapp_images and web_images), or both coreapp_image "
                      "and web_image")
        return coreapp_image, web_image

    def check_topology(self):
        """The documented rules, on ``topology`` (the whole setup, when this host runs a share) or this host's
        counts; fails before anything is read or changed."""
        p = self.p
        total = p["topology"] or dict(masters=p["masters"], coreapps=p["coreapps"], webapps=p["webapps"])
        refusal = m.topology_refusal(total["masters"], total["coreapps"], total.get("webapps"), total.get("shards"),
                                     total.get("hosts") or 1)
        if refusal:
            self.fail(refusal)

    # -- states --------------------------------------------------------------------------------
    def present(self):
        p = self.p
        self.check_topology()
        if p["db"] is None:
            self.fail("state=present needs db (at least hostname and password)")
        if p["wait_for_api"] and not p["web_port"]:
            self.fail("wait_for_api needs web_port")
        coreapp_image, web_image = self.images()
        desired = m.desired_specs(dict(p, coreapp_image=coreapp_image, web_image=web_image))

        records = self.records()
        by_name = dict((r["name"], r) for r in records)
        for spec in desired:
            other = by_name.get(spec["name"])
            if other and (other.get("labels") or {}).get(m.LABEL_STACK) != p["name"]:
                self.fail("A container named %s exists but does not belong to stack %s (no label %s=%s); "
                          "rename or remove it, or choose another stack name. Nothing was changed."
                          % (spec["name"], p["name"], m.LABEL_STACK, p["name"]))
        actual = [r for r, role in self.stack_app(records)
                  if (r.get("labels") or {}).get(m.LABEL_STACK) == p["name"]]
        self.before = [dict(name=r["name"], **m.record_view(r)) for r in actual]

        # Images first: nothing changes when one is missing.
        status, ids, obtained = engine.ensure_images(
            self.client, sorted(set([coreapp_image, web_image])), p["image_source"], p["image_archive"], self.check)
        self.result["images"] = status
        self.result["changed"] = obtained

        plan = m.plan(desired, actual, ids)
        self.result["reasons"] = plan["reasons"]
        labels = {m.LABEL_STACK: p["name"], m.LABEL_MANAGED: m.MANAGED_BY}
        if engine.ensure_network(self.client, p["network"], labels, self.check):
            self.result["changed"] = True
            self.result["created_network"] = p["network"]
        if p["media_volume"] and engine.ensure_volume(self.client, p["media_volume"], labels, self.check):
            self.result["changed"] = True
            self.result["created_volume"] = p["media_volume"]

        touched = []
        with self.module.docker_errors("changing stack %s" % p["name"]):
            for r in plan["remove"]:
                self.result["removed"].append(r["name"])
                if not self.check:
                    engine.remove_container(self.client, r["id"], p["stop_timeout"])
            for spec, r in plan["recreate"]:
                self.result["recreated"].append(spec["name"])
                if not self.check:
                    engine.remove_container(self.client, r["id"], p["stop_timeout"])
                    engine.create_container(self.client, spec)
                touched.append(spec["name"])
            for spec in plan["create"]:
                self.result["created"].append(spec["name"])
                if not self.check:
                    engine.create_container(self.client, spec)
                touched.append(spec["name"])
            for spec, r in plan["start"]:
                self.result["started"].append(spec["name"])
                if not self.check:
                    self.client.start(r["id"])
                touched.append(spec["name"])
        self.result["kept"]["containers"] = [s["name"] for s, _r in plan["keep"]]
        if touched or plan["remove"]:
            self.result["changed"] = True

        self.after = [dict(name=s["name"], **m.spec_view(s)) for s in desired]
        if self.check:
            self.result["containers"] = [dict(name=s["name"], role=s["role"], image=s["image"],
                                              config=s["config_hash"][:12]) for s in desired]
            return
        if p["wait"] and touched:
            # Every container, not only the touched ones: a recreated Master may take a CoreApp down.
            error = engine.wait_running(self.client, [s["name"] for s in desired], p["wait_timeout"])
            if error:
                self.fail(error)
        if p["wait_for_api"] and not _probes.wait_https(p["wait_host"], p["web_port"], p["wait_timeout"]):
            self.fail("The Webapp does not answer HTTPS at %s:%s within %ss"
                      % (p["wait_host"], p["web_port"], p["wait_timeout"]))
        self.result["containers"] = [self.container_view(r, role) for r, role in self.stack_app(self.records())]

    def absent(self):
        p = self.p
        records = self.records()
        apps = self.stack_app(records)
        st = self.stack_info(records)
        self.before = [dict(name=r["name"], **m.record_view(r, role)) for r, role in apps]
        app_ids = set(r["id"] for r, _role in apps)
        app_volumes = sorted(set(mnt["name"] for r, _role in apps for mnt in r["mounts"]
                                 if mnt.get("type") == "volume" and mnt.get("name")))
        db_volumes = set(mnt["name"] for db in (st or {}).get("databases") or [] for mnt in db["mounts"]
                         if mnt.get("name"))
        with self.module.docker_errors("removing stack %s" % p["name"]):
            for r, _role in apps:
                self.result["removed"].append(r["name"])
                self.result["reasons"][r["name"]] = "state=absent"
            if not self.check and apps:
                # In parallel: the old client's containers go at once (step 5 starts the downtime).
                self.result["removal_started"] = round(time.time(), 3)
                with ThreadPoolExecutor(max_workers=min(len(apps), 16)) as pool:
                    for future in [pool.submit(engine.remove_container, self.client, r["id"], p["stop_timeout"])
                                   for r, _role in apps]:
                        future.result()
            to_remove = []
            if p["remove_volumes"]:
                for vol in app_volumes:
                    used_elsewhere = any(vol == mnt.get("name") for r in records if r["id"] not in app_ids
                                         for mnt in r["mounts"])
                    if vol not in db_volumes and not used_elsewhere:
                        to_remove.append(vol)
            for vol in to_remove:
                self.result["removed_volumes"].append(vol)
                if not self.check:
                    self.client.remove_volume(vol)
        self.result["changed"] = bool(self.result["removed"] or self.result["removed_volumes"])
        self.report_kept_databases((st or {}).get("databases"))
        kept_volumes = (set(app_volumes) - set(self.result["removed_volumes"])) | db_volumes
        self.result["kept"]["volumes"] = sorted(kept_volumes)
        self.after = []
        if p["verify_databases"]:  # read-only: in check mode too
            self.verify_databases()

    def verify_databases(self):
        """After the removal: every kept database container runs and answers its database protocol (at its
        address, on ``verify_db.port`` or the engine's default port), and so does ``verify_db.hostname``
        (an external server) when set; fails naming those that do not, within ``wait_timeout`` seconds."""
        p = self.p
        given = p["verify_db"] or {}
        problems = []
        for db in self.result["kept"]["databases"]:
            engine_name = db["engine"] or "MYSQL"
            port = given.get("port") or m.DB_DEFAULT_PORTS[engine_name]
            address = (db["ip_addresses"] or [None])[0]
            db["answers"] = bool(db["running"] and address
                                 and _probes.wait_db(address, port, engine_name, p["wait_timeout"]))
            if not db["answers"]:
                problems.append("database container %s (%s) does not answer on port %s" % (
                    db["name"], db["state"] if not db["running"] else address or "no address", port))
        if given.get("hostname"):
            engine_name = (given.get("engine") or "MYSQL").upper()
            external = dict(hostname=given["hostname"], engine=engine_name,
                            port=given.get("port") or m.DB_DEFAULT_PORTS[engine_name])
            external["answers"] = _probes.wait_db(external["hostname"], external["port"], engine_name,
                                                  p["wait_timeout"])
            self.result["kept"]["external_database"] = external
            if not external["answers"]:
                problems.append("the database server %s:%s does not answer" % (external["hostname"], external["port"]))
        if problems:
            self.fail("Stack %s: the app containers are removed, but %s. Start the database before going on: the "
                      "old data lives there (a restore on the new setup does not need it)."
                      % (p["name"], "; ".join(problems)))

    def stopped(self):
        p = self.p
        records = self.records()
        apps = self.stack_app(records)
        self.before = [dict(name=r["name"], **m.record_view(r, role)) for r, role in apps]
        with self.module.docker_errors("stopping stack %s" % p["name"]):
            for r, _role in apps:
                if r["running"] or r["state"] == "restarting":
                    self.result["stopped"].append(r["name"])
                    if not self.check:
                        self.client.stop(r["id"], timeout=p["stop_timeout"])
                else:
                    self.result["kept"]["containers"].append(r["name"])
        self.result["changed"] = bool(self.result["stopped"])
        self.after = [dict(b, state="exited") for b in self.before]
        self.report_kept_databases((self.stack_info(records) or {}).get("databases"))
        self.result["containers"] = [self.container_view(r, role) for r, role in self.stack_app(self.records())]

    def restarted(self):
        p = self.p
        everything = self.stack_app(self.records())
        if not everything:
            self.fail("Stack %s has no app container on this Docker host; nothing to restart. Check name (see "
                      "wabiz.api_client.stack_info) and the Docker host." % p["name"])
        # A host of a multi-host stack may hold none of the roles asked for (only Webapps, say): nothing to do.
        apps = [(r, role) for r, role in everything if role in p["restart_roles"]]
        self.before = [dict(name=r["name"], **m.record_view(r, role)) for r, role in apps]
        with self.module.docker_errors("restarting stack %s" % p["name"]):
            for r, _role in apps:
                self.result["restarted"].append(r["name"])
                if not self.check:
                    self.client.restart(r["id"], timeout=p["stop_timeout"])
        self.result["changed"] = bool(apps)
        self.after = [dict(b, state="running") for b in self.before]
        if not self.check and p["wait"] and apps:
            error = engine.wait_running(self.client, self.result["restarted"], p["wait_timeout"])
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
        """Apply ``state``, then exit the module with the result (and the diff in diff mode)."""
        with self.module.docker_errors("reading stack %s" % self.p["name"]):
            getattr(self, self.p["state"])()
        if self.module.diff_mode:
            self.result["diff"] = dict(before=dict(containers=self.before), after=dict(containers=self.after))
        self.module.exit()
