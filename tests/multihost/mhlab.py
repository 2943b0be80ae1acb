# Copyright (c) 2026, wabiz.api_client contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A migration lab over SSH hosts and several Docker engines (tests/multihost, suite 72-multihost).

Hosts (``topology.Topology``), each a real sshd on its own loopback address with its own user:

===========  =========================  ==============================================================
host         Docker engine              what runs there before the migration
===========  =========================  ==============================================================
``old-a``    the machine's own engine   old setup, part 1 (compose project ``<prefix>-old``): database,
                                        Webapp, master1, wacore1, wacore2; the network stand-in
``old-b``    extra engine ``e1``        old setup, part 2 (same compose project): master2, wacore3
``new-a``    extra engine ``e2``        the new setup's database server (MySQL stand-in); the playbook
                                        installs the Webapp, 1 Master and 2 CoreApps here
``new-b``    extra engine ``e3``        the playbook installs 1 Master and 1 CoreApp here
``backup``   none                       the backup and the state record (root-owned: ``become``)
===========  =========================  ==============================================================

The old setup is one multiconnect setup of 2 Masters, 3 CoreApps and 2 shards spread over two hosts (Meta's
compose file on each host, each running its share of the services, all on one database); the new one is
installed by ``playbooks/migrate.yml`` over two hosts. Containers on different engines reach the database and
the network stand-in through ports published on the machine, at ``Topology``'s shared address.
"""

import contextlib
import json
import os
import socket
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(REPO, "tests", "emulator"))
sys.path.insert(0, os.path.join(REPO, "tests", "e2e"))

import dockerctl  # noqa: E402
import lab as e2elab  # noqa: E402  (the single-engine lab: versions, number, secrets)

from topology import Topology  # noqa: E402

ENGINES = ["e1", "e2", "e3"]
HOSTS = {"old-a": None, "old-b": "e1", "new-a": "e2", "new-b": "e3", "backup": ""}
OLD_SHARES = {"old-a": ["db", "waweb", "master1", "wacore1", "wacore2"], "old-b": ["master2", "wacore3"]}
COUNTS = {"masters": 2, "coreapps": 3, "shards": 2}
NEW_SHARES = {"new-a": {"masters": 1, "coreapps": 2, "webapps": 1}, "new-b": {"masters": 1, "coreapps": 1, "webapps": 0}}
IMAGES = {
    "e1": ["wabiz-emulator/coreapp:v%s" % e2elab.OLD_VERSION],
    "e2": ["wabiz-emulator/coreapp:v%s" % e2elab.NEW_VERSION, "wabiz-emulator/web:v%s" % e2elab.NEW_VERSION,
           "wabiz-emulator/mysql:8.0.33"],
    # new-b runs no Webapp, but the preflight wants both images on every new host.
    "e3": ["wabiz-emulator/coreapp:v%s" % e2elab.NEW_VERSION, "wabiz-emulator/web:v%s" % e2elab.NEW_VERSION],
}
SECRETS = [e2elab.OLD_ADMIN_PASSWORD, e2elab.NEW_ADMIN_PASSWORD, e2elab.BACKUP_PASSWORD, e2elab.DB_PASSWORD]


def free_port():
    with socket.socket() as s:
        s.bind(("0.0.0.0", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def docker_host(host):
    """The docker / docker-compose command-line tools (dockerctl) talk to ``host`` inside the block."""
    before = os.environ.get("DOCKER_HOST")
    os.environ["DOCKER_HOST"] = host
    try:
        yield
    finally:
        if before is None:
            os.environ.pop("DOCKER_HOST", None)
        else:
            os.environ["DOCKER_HOST"] = before


class MultiHostLab:
    def __init__(self, prefix, root):
        self.prefix = prefix
        self.root = root
        self.workdir = os.path.join(root, "lab")
        self.topo = Topology(prefix.replace("-", "")[:9], os.path.join(root, "topo"), ENGINES, HOSTS)
        self.old_project = prefix + "-old"
        self.old_port = free_port()
        self.new_port = free_port()
        self.net_name = prefix + "-net"
        self.new_db = prefix + "-new-db"
        self.state_dir = os.path.join(root, "backup-host", "state")
        self.old = {}
        self.network_url = None
        self.new_db_port = None

    @property
    def address(self):
        """The machine's address that containers of every engine reach (published ports)."""
        return self.topo.engines["e1"].address

    # The Webapps' URLs as the controller reaches them (published ports), as in the single-engine lab.
    old_url = e2elab.Lab.old_url
    new_url = e2elab.Lab.new_url

    def engine_host(self, host):
        return self.topo.docker_host(host)

    def docker(self, host, *args, check=True):
        with docker_host(self.engine_host(host)):
            return dockerctl.docker(*args, check=check)

    def published(self, host, container, port):
        out = self.docker(host, "port", container, "%s/tcp" % port)
        return int(out.splitlines()[0].rsplit(":", 1)[1])

    # --- bring it up ------------------------------------------------------------------------------
    def up(self):
        os.makedirs(self.workdir, exist_ok=True)
        self.topo.start()
        for name, images in IMAGES.items():  # one after the other: at the same time, the disk makes it slower
            self.topo.engines[name].load_images(images)
        # The WhatsApp network stand-in, reached by every engine's containers at a published port.
        self.docker("old-a", "run", "-d", "--name", self.net_name, "--label", "biz.wabiz.e2e=multihost",
                    "-p", "8080", dockerctl.NETWORK_IMAGE)
        self.network_url = "http://%s:%d" % (self.address, self.published("old-a", self.net_name, 8080))
        # Old setup, part 1 on old-a (the database is here), part 2 on old-b (on old-a's database).
        base_env = {"WA_EMULATOR_NETWORK_URL": self.network_url}
        self.old["old-a"] = dockerctl.Stack(self.old_project, "multiconnect", e2elab.OLD_VERSION, db_env=base_env,
                                            web_publish="%d:443" % self.old_port, db_publish="3306",
                                            services=OLD_SHARES["old-a"], workdir=os.path.join(self.workdir, "old-a"))
        with docker_host(self.engine_host("old-a")):
            self.old["old-a"].up()
            db_port = self.published("old-a", self.old["old-a"].container("db"), 3306)
        env_b = dict(base_env, WA_DB_HOSTNAME=self.address, WA_DB_PORT=str(db_port))
        self.old["old-b"] = dockerctl.Stack(self.old_project, "multiconnect", e2elab.OLD_VERSION, db_env=env_b,
                                            services=OLD_SHARES["old-b"], workdir=os.path.join(self.workdir, "old-b"))
        with docker_host(self.engine_host("old-b")):
            self.old["old-b"].up()
        with docker_host(self.engine_host("old-a")):
            stack = self.old["old-a"]
            stack.wait_web(900)  # generous: the database initialises slowly on a busy machine
            stack.seed(e2elab.WA_ID, shards=COUNTS["shards"], admin_password=e2elab.OLD_ADMIN_PASSWORD,
                       two_step_pin=e2elab.TWO_STEP_PIN)
            token = stack.login(e2elab.OLD_ADMIN_PASSWORD)
            health = stack.wait_health(token, expect_shards=COUNTS["shards"], timeout=600)
        # The new setup's database server (an existing server, as in production) on new-a's engine.
        self.docker("new-a", "run", "-d", "--name", self.new_db, "--label", "biz.wabiz.e2e=multihost",
                    "-e", "MYSQL_ROOT_PASSWORD=%s" % e2elab.DB_PASSWORD, "-p", "3306", "wabiz-emulator/mysql:8.0.33",
                    "--default-authentication-plugin=mysql_native_password")
        self.new_db_port = self.published("new-a", self.new_db, 3306)
        os.makedirs(os.path.dirname(self.state_dir), exist_ok=True)
        return health

    # --- what the playbooks get ----------------------------------------------------------------------
    def inventory(self, new_shares=None, counts=None, name=None, host_vars=None):
        counts = dict(COUNTS, **(counts or {}))
        new_shares = new_shares or NEW_SHARES
        hosts = {}
        for host in HOSTS:
            hv = dict(self.topo.host_vars(host))
            engine = self.engine_host(host)
            if engine:
                for var in ("stack_install_docker_host", "stack_uninstall_docker_host", "preflight_new_docker_host",
                            "preflight_old_docker_host"):
                    hv[var] = engine
            hosts[host] = hv
        for host, share in new_shares.items():
            hosts[host].update({"wabiz_new_stack_name": "%s-new-%s" % (self.prefix, host[-1]),
                                "wabiz_new_host_masters": share["masters"],
                                "wabiz_new_host_coreapps": share["coreapps"],
                                "wabiz_new_host_webapps": share["webapps"]})
        # The backup directory belongs to root on the backup host: become there (a non-root user with sudo).
        hosts["backup"]["ansible_become"] = True
        for host, extra in (host_vars or {}).items():
            hosts[host].update(extra)
        group_vars = {
            "wabiz_migration_name": name or self.prefix,
            "wabiz_state_dir": self.state_dir,
            # The lab runs the project's emulator images, under their own names (as inventories/local says).
            "wabiz_coreapp_images": ["wabiz-emulator/coreapp"],
            "wabiz_web_images": ["wabiz-emulator/web"],
            "stack_install_db_image": "wabiz-emulator/mysql:8.0.33",
            "wabiz_masters": counts["masters"],
            "wabiz_coreapps": counts["coreapps"],
            "wabiz_shards": counts["shards"],
            "wabiz_old_stack_name": self.old_project,
            "wabiz_old_api_url": self.old_url,
            "wabiz_old_api_username": "admin",
            "wabiz_old_api_password": e2elab.OLD_ADMIN_PASSWORD,
            "wabiz_old_validate_certs": False,
            "wabiz_old_web_port": self.old_port,
            "wabiz_old_db_password": e2elab.DB_PASSWORD,
            "wabiz_new_stack_name": self.prefix + "-new",
            "wabiz_new_version": e2elab.NEW_VERSION,
            "wabiz_new_api_url": self.new_url,
            "wabiz_new_api_username": "admin",
            "wabiz_new_initial_password": "secret",
            "wabiz_new_api_password": e2elab.NEW_ADMIN_PASSWORD,
            "wabiz_new_validate_certs": False,
            "wabiz_new_web_port": self.new_port,
            "wabiz_new_db": {"engine": "MYSQL", "hostname": self.address, "port": self.new_db_port,
                             "username": "root", "password": e2elab.DB_PASSWORD},
            "wabiz_new_db_container": False,
            "wabiz_new_env": {"WA_EMULATOR_NETWORK_URL": self.network_url},
            "wabiz_backup_password": e2elab.BACKUP_PASSWORD,
            "wabiz_disable_two_step": False,
            "wabiz_reset_webhooks": False,
            "wabiz_test_message_to": "15550003333",
            "wabiz_wait_timeout": 300,
        }
        return {"all": {
            "hosts": {"localhost": {"ansible_connection": "local",
                                    "ansible_python_interpreter": "{{ ansible_playbook_python }}"}},
            "children": {
                "wabiz_old_docker": {"hosts": {h: hosts[h] for h in ("old-a", "old-b")}},
                "wabiz_new_docker": {"hosts": {h: hosts[h] for h in ("new-a", "new-b")}},
                "wabiz_backup": {"hosts": {"backup": hosts["backup"]}},
            },
            "vars": dict(group_vars, ansible_pipelining=True),
        }}

    def write_inventory(self, name, **kw):
        """An inventory file for a run; ``name`` also names the migration (its own state record)."""
        path = os.path.join(self.workdir, "%s.json" % name)
        # JSON is YAML: ansible's yaml inventory plugin reads it (a .json file name is accepted).
        with open(path, "w", encoding="utf-8") as fh:
            json.dump(self.inventory(name="%s-%s" % (self.prefix, name) if name != "migrate" else None, **kw), fh,
                      indent=1)
        return path

    # --- looking at the result ---------------------------------------------------------------------
    def names(self, host, *filters):
        args = ["ps", "-a", "--format", "{{.Names}}"]
        for f in filters:
            args += ["--filter", f]
        return sorted(self.docker(host, *args).split())

    def emulator_state(self, base):
        status, body = dockerctl.http("GET", base + "/_emulator/state")
        assert status == 200, (status, body)
        return body

    def network_get(self, path):
        status, body = dockerctl.http("GET", "http://127.0.0.1:%d%s"
                                      % (self.published("old-a", self.net_name, 8080), path))
        assert status == 200, (status, body)
        return body

    # --- tear down ---------------------------------------------------------------------------------
    def down(self):
        errors = []
        with docker_host(self.engine_host("old-a")):
            try:
                self.old["old-a"].down(volumes=True) if "old-a" in self.old else None
            except dockerctl.DockerError as exc:
                errors.append(str(exc))
            dockerctl.docker("rm", "-f", self.net_name, check=False)
            vols = dockerctl.docker("volume", "ls", "-q", check=False).split()
            mine = [v for v in vols if v.startswith(self.prefix + "-")]
            if mine:
                dockerctl.docker("volume", "rm", "-f", *mine, check=False)
        try:
            self.topo.stop()  # the extra engines go with everything on them
        except Exception as exc:  # noqa: BLE001
            errors.append(str(exc))
        if errors:
            raise RuntimeError("; ".join(errors))
