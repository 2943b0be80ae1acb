# Copyright (c) 2026, wabiz.api_client contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The pure model of a WhatsApp Business API client stack on Docker: plain dicts in, plain dicts out, no
engine and no network (unit tested in tests/unit/plugins/module_utils/test_docker.py).

PRIVATE to this collection: no compatibility promise to other collections.

It owns, in one place:

* image names (repository, tag, client version) and container environments (secrets masked by
  ``_validate``);
* classification and discovery: a **Master** is a CoreApp image with ``WA_MASTER_NODE=1``, CoreApps,
  Webapps, and the database containers their ``WA_DB_HOSTNAME`` points to; stacks made by this collection
  (``biz.wabiz.*`` labels), by docker-compose (``com.docker.compose.project``) or by hand (grouped by their
  user-defined network);
* **the topology rules** (Master/CoreApp/Webapp counts and shards; :func:`topology_errors`, the one
  definition the modules, and through them the roles and playbooks, use) and the database password rule;
* the desired container specs of a stack and the plan "create / recreate / keep / remove" against what
  runs, and what a diff shows of them.
"""

from __future__ import annotations

import hashlib
import json
import re

from ansible_collections.wabiz.api_client.plugins.module_utils import _validate
from ansible_collections.wabiz.api_client.plugins.module_utils._answer import read

#: Image repositories of Meta's client (a Master is a CoreApp with WA_MASTER_NODE=1).
DEFAULT_COREAPP_IMAGES = ["docker.whatsapp.biz/coreapp"]
DEFAULT_WEB_IMAGES = ["docker.whatsapp.biz/web"]
#: Image repositories recognised as a database server (last path component).
DB_IMAGE_NAMES = ("mysql", "mariadb", "postgres", "postgresql")
#: WA_DB_ENGINE of the database server an image runs (last path component of its repository).
DB_IMAGE_ENGINES = {"mysql": "MYSQL", "mariadb": "MYSQL", "postgres": "PGSQL", "postgresql": "PGSQL"}
#: The port a database server listens on by default, per WA_DB_ENGINE.
DB_DEFAULT_PORTS = {"MYSQL": 3306, "PGSQL": 5432}
#: Data directory of the official database images, per WA_DB_ENGINE.
DB_DATA_DIRS = {"MYSQL": "/var/lib/mysql", "PGSQL": "/var/lib/postgresql/data"}
#: Meta's documentation: the client cannot use a database password with any of these characters.
DB_PASSWORD_FORBIDDEN = "?{}&~!()^="

LABEL_STACK = "biz.wabiz.stack"
LABEL_ROLE = "biz.wabiz.role"
LABEL_INDEX = "biz.wabiz.index"
LABEL_CONFIG = "biz.wabiz.config"
LABEL_MANAGED = "biz.wabiz.managed-by"
MANAGED_BY = "wabiz.api_client"
COMPOSE_PROJECT = "com.docker.compose.project"
COMPOSE_SERVICE = "com.docker.compose.service"

APP_ROLES = ("master", "coreapp", "web")
ROLE_PREFIX = {"master": "master", "coreapp": "wacore", "web": "waweb"}

MEDIA_PATH = "/usr/local/wamedia"
COMMAND_MYSQL = ["/opt/whatsapp/bin/wait_on_mysql.sh", "/opt/whatsapp/bin/launch_within_docker.sh"]
COMMAND_PGSQL = ["/opt/whatsapp/bin/wait_on_postgres.sh", "/opt/whatsapp/bin/launch_within_docker.sh"]
#: The ports the official multiconnect compose file declares for CoreApps and Masters.
COREAPP_EXTERNAL_PORTS = "6250,6251,6252,6253"
WEB_EXTERNAL_PORTS = "443"

DEFAULT_NETWORKS = ("bridge", "host", "none")


# --------------------------------------------------------------------------------------------------
# Pure helpers: images, environment, secrets
# --------------------------------------------------------------------------------------------------

def split_image(image):
    """``registry:5000/ns/name:tag@sha`` -> (``registry:5000/ns/name``, ``tag`` or None)."""
    image = (image or "").split("@", 1)[0]
    slash = image.rfind("/")
    colon = image.rfind(":")
    if colon > slash:
        return image[:colon], image[colon + 1:]
    return image, None


def image_repo(image):
    return split_image(image)[0]


def image_version(image):
    """The client version of an image tag (``v2.61.2`` -> ``2.61.2``); None without a tag."""
    tag = split_image(image)[1]
    if not tag:
        return None
    return tag[1:] if tag[:1] in ("v", "V") and tag[1:2].isdigit() else tag


def _normalise_repo(name):
    repo = image_repo(name)
    if repo.startswith("docker.io/library/"):
        repo = repo[len("docker.io/library/"):]
    elif repo.startswith("docker.io/"):
        repo = repo[len("docker.io/"):]
    return repo


def repo_matches(image, candidates):
    """True when the image's repository (tag ignored) is one of ``candidates`` (tags ignored there too)."""
    repo = _normalise_repo(image)
    return any(repo == _normalise_repo(c) for c in candidates or [])


def parse_env(env_list):
    """Docker's ``["K=V", ...]`` -> ``{"K": "V"}``."""
    result = {}
    for item in env_list or []:
        key, sep, value = item.partition("=")
        result[key] = value if sep else ""
    return result


def truthy(value):
    return str(value).strip().lower() in ("1", "true", "yes", "on")


# --------------------------------------------------------------------------------------------------
# Pure helpers: container records and classification
# --------------------------------------------------------------------------------------------------

def summarize_container(inspect, call="inspect_container of the Docker engine"):
    """A plain record from ``docker inspect`` output (secrets NOT yet masked; see :func:`public_record`). A field of
    another type than the Docker Engine API's raises ``_answer.AnswerError`` naming ``call`` and the field."""
    def get(kind, *path):
        return read(inspect, call, kind, *path, required=False)

    def each(container, kind, *path):
        """The (key or index, value) pairs of the object or list at ``path``, each checked to be ``kind``."""
        found = get(container, *path) or ()
        return [(k, v) for k in (range(len(found)) if container is list else list(found))
                for v in [get(kind, *path, k)] if v is not None]

    nets, ports = ("NetworkSettings", "Networks"), ("NetworkSettings", "Ports")
    return dict(
        id=read(inspect, call, "text", "Id")[:12],
        name=(get(str, "Name") or "").lstrip("/"),
        image=get(str, "Config", "Image") or "",
        image_id=get(str, "Image"),
        state=get(str, "State", "Status") or "unknown",
        running=bool(get(bool, "State", "Running")) and not get(bool, "State", "Restarting"),
        started_at=get(str, "State", "StartedAt"),
        labels=dict(each(dict, str, "Config", "Labels")),
        env=parse_env(value for _i, value in each(list, str, "Config", "Env")),
        hostname=get(str, "Config", "Hostname"),
        networks=dict((name, dict(ip_address=get(str, *nets, name, "IPAddress") or None,
                                  aliases=[a for _i, a in each(list, str, *nets, name, "Aliases")]))
                      for name, _net in each(dict, dict, *nets)),
        mounts=[dict(type=get(str, "Mounts", i, "Type"), name=get(str, "Mounts", i, "Name"),
                     source=get(str, "Mounts", i, "Source"), destination=get(str, "Mounts", i, "Destination"))
                for i, _mount in each(list, dict, "Mounts")],
        ports=dict((cport, [dict(host_ip=get(str, *ports, cport, i, "HostIp"),
                                 host_port=int(get("port", *ports, cport, i, "HostPort")))
                            for i, _binding in each(list, dict, *ports, cport)
                            if get(str, *ports, cport, i, "HostPort")])
                   for cport, _bindings in each(dict, list, *ports)),
    )


def public_record(record, role=None):
    """The container record as modules return it: secrets masked, role added."""
    out = dict(record)
    out["env"] = _validate.mask_secrets(record.get("env") or {})
    labels = dict(record.get("labels") or {})
    if LABEL_CONFIG in labels:
        labels[LABEL_CONFIG] = labels[LABEL_CONFIG][:12]
    out["labels"] = labels
    if role:
        out["role"] = role
    out["version"] = image_version(record.get("image"))
    return out


def classify(record, coreapp_images=None, web_images=None):
    """``master``, ``coreapp``, ``web``, ``db`` or None. A database server (labelled so by this collection, a
    database image, a database's data directory mounted, or a compose ``db`` service) is ``db`` whatever the
    image lists say: an image list naming the database image never makes it an app container."""
    coreapp_images = DEFAULT_COREAPP_IMAGES if coreapp_images is None else coreapp_images
    web_images = DEFAULT_WEB_IMAGES if web_images is None else web_images
    labels = record.get("labels") or {}
    role = labels.get(LABEL_ROLE)
    if role in APP_ROLES or role == "db":
        return role
    if db_engine_of(record) or labels.get(COMPOSE_SERVICE) == "db":
        return "db"
    image = record.get("image") or ""
    if repo_matches(image, coreapp_images):
        return "master" if truthy((record.get("env") or {}).get("WA_MASTER_NODE", "")) else "coreapp"
    if repo_matches(image, web_images):
        return "web"
    return None


def is_db_image(image):
    return _normalise_repo(image).rsplit("/", 1)[-1] in DB_IMAGE_NAMES


def db_engine_of(record):
    """``MYSQL`` or ``PGSQL`` for a database container record (by its data directory, else its image); None."""
    destinations = set(m.get("destination") for m in record.get("mounts") or [])
    for engine, path in sorted(DB_DATA_DIRS.items()):
        if path in destinations:
            return engine
    return DB_IMAGE_ENGINES.get(_normalise_repo(record.get("image") or "").rsplit("/", 1)[-1])


def db_data_volume(record):
    """The named volume a database container keeps its data in (at MySQL's or PostgreSQL's data directory)."""
    for m in record.get("mounts") or []:
        if m.get("destination") in DB_DATA_DIRS.values() and m.get("name"):
            return m["name"]
    return None


def user_networks(record):
    return sorted(n for n in (record.get("networks") or {}) if n not in DEFAULT_NETWORKS)


def stack_of(record):
    """The stack a container belongs to: our label, else the compose project, else its user network."""
    labels = record.get("labels") or {}
    if labels.get(LABEL_STACK):
        return labels[LABEL_STACK]
    if labels.get(COMPOSE_PROJECT):
        return labels[COMPOSE_PROJECT]
    nets = user_networks(record)
    if nets:
        return nets[0]
    return "default"


def _answers_to(record, hostname):
    """True when ``hostname`` (a WA_DB_HOSTNAME) reaches this container on a Docker network."""
    if not hostname:
        return False
    hostname = hostname.lower()
    names = {record.get("name", "").lower(), (record.get("hostname") or "").lower(), record.get("id", "").lower()}
    labels = record.get("labels") or {}
    if labels.get(COMPOSE_SERVICE):
        names.add(labels[COMPOSE_SERVICE].lower())
    for net in (record.get("networks") or {}).values():
        names.update(a.lower() for a in net.get("aliases") or [])
    names.discard("")
    return hostname in names


def discover_stacks(records, coreapp_images=None, web_images=None):
    """Group container records into WhatsApp stacks.

    ``records`` are :func:`summarize_container` dicts of every container on the host. Returns a list of
    stack dicts (see the ``stacks`` return value of ``stack_info``), sorted by name. A stack exists when
    it has at least one app container, or one database container labelled or composed for it.
    """
    roles = dict((r["id"], classify(r, coreapp_images, web_images)) for r in records)
    stacks = {}

    def get(name):
        return stacks.setdefault(name, dict(masters=[], coreapps=[], webapps=[], databases=[], _compose=set()))

    for r in records:
        role = roles[r["id"]]
        if role in APP_ROLES:
            st = get(stack_of(r))
            st[{"master": "masters", "coreapp": "coreapps", "web": "webapps"}[role]].append(r)
            if (r.get("labels") or {}).get(COMPOSE_PROJECT):
                st["_compose"].add(r["labels"][COMPOSE_PROJECT])

    # Database containers: those the app containers point to with WA_DB_HOSTNAME on a shared network,
    # those labelled role=db by this collection, and the DB service of a compose project.
    for r in records:
        if roles[r["id"]] in APP_ROLES:
            continue
        labels = r.get("labels") or {}
        owner = None
        if roles[r["id"]] == "db" and labels.get(LABEL_STACK):
            owner = labels[LABEL_STACK]
        else:
            for name, st in sorted(stacks.items()):
                for app in st["masters"] + st["coreapps"] + st["webapps"]:
                    host = (app.get("env") or {}).get("WA_DB_HOSTNAME")
                    shared = set(app.get("networks") or {}) & set(r.get("networks") or {})
                    if _answers_to(r, host) and (shared or host == r.get("name")):
                        owner = name
                        break
                if owner:
                    break
            if not owner and labels.get(COMPOSE_PROJECT) and (
                    labels.get(COMPOSE_SERVICE) == "db" or is_db_image(r.get("image"))):
                owner = labels[COMPOSE_PROJECT]
        if owner:
            get(owner)["databases"].append(r)
            if labels.get(COMPOSE_PROJECT):
                stacks[owner]["_compose"].add(labels[COMPOSE_PROJECT])

    result = []
    for name in sorted(stacks):
        st = stacks[name]
        apps = st["masters"] + st["coreapps"] + st["webapps"]
        for key in ("masters", "coreapps", "webapps", "databases"):
            st[key].sort(key=lambda r: _natural_key(r["name"]))
        versions = sorted(set(v for v in (image_version(a["image"]) for a in apps) if v))
        coreapp_versions = [image_version(a["image"]) for a in st["masters"] + st["coreapps"]]
        version = _most_common([v for v in coreapp_versions if v]) or (versions[0] if versions else None)
        first = (st["coreapps"] + st["masters"] + st["webapps"] or [None])[0]
        env = (first or {}).get("env") or {}
        db = dict(
            engine=(env.get("WA_DB_ENGINE") or "").upper() or None,
            hostname=env.get("WA_DB_HOSTNAME") or None,
            port=_int_or_none(env.get("WA_DB_PORT")),
            username=env.get("WA_DB_USERNAME") or None,
            name_prefix=env.get("WA_DB_NAME_PREFIX") or None,
        ) if first else dict(engine=None, hostname=None, port=None, username=None, name_prefix=None)
        # Where the database is: a container of this stack the app containers reach, else an external
        # server (a managed database, another host) that no container here answers for.
        reached = [r for r in st["databases"] if _answers_to(r, db["hostname"])]
        db_record = (reached or ([] if first else st["databases"]) or [None])[0]
        db["container"] = db_record["name"] if db_record else None
        db["external"] = bool(first and db["hostname"] and not reached)
        if not db["engine"] and db_record:
            db["engine"] = db_engine_of(db_record)
        if db_record:
            db["volume"] = db_data_volume(db_record)
        else:
            db["volume"] = None
        networks = sorted(set(n for r in apps + st["databases"] for n in user_networks(r)))
        volumes = sorted(set(m["name"] for r in apps + st["databases"] for m in r.get("mounts") or []
                             if m.get("type") == "volume" and m.get("name")))
        web_port = None
        for w in st["webapps"]:
            for binding in (w.get("ports") or {}).get("443/tcp") or []:
                web_port = binding["host_port"]
                break
            if web_port:
                break
        managed = any((r.get("labels") or {}).get(LABEL_STACK) == name for r in apps + st["databases"])
        result.append(dict(
            name=name,
            compose_project=sorted(st["_compose"])[0] if st["_compose"] else None,
            managed=managed,
            version=version,
            versions=versions,
            counts=dict(masters=len(st["masters"]), coreapps=len(st["coreapps"]), webapps=len(st["webapps"]),
                        databases=len(st["databases"])),
            running=dict(masters=sum(1 for r in st["masters"] if r.get("running")),
                         coreapps=sum(1 for r in st["coreapps"] if r.get("running")),
                         webapps=sum(1 for r in st["webapps"] if r.get("running")),
                         databases=sum(1 for r in st["databases"] if r.get("running"))),
            multiconnect=bool(st["masters"]) or any(truthy((a.get("env") or {}).get("WA_APP_MULTICONNECT"))
                                                    for a in apps),
            masters=[public_record(r, "master") for r in st["masters"]],
            coreapps=[public_record(r, "coreapp") for r in st["coreapps"]],
            webapps=[public_record(r, "web") for r in st["webapps"]],
            databases=[dict(public_record(r, "db"), engine=db_engine_of(r), data_volume=db_data_volume(r))
                       for r in st["databases"]],
            networks=networks,
            volumes=volumes,
            web_port=web_port,
            db=db,
        ))
    return result


def app_containers_of(records, name, coreapp_images=None, web_images=None):
    """The (record, role) pairs of the app containers of stack ``name`` (any origin)."""
    out = []
    for r in records:
        role = classify(r, coreapp_images, web_images)
        if role in APP_ROLES and stack_of(r) == name:
            out.append((r, role))
    out.sort(key=lambda pair: _natural_key(pair[0]["name"]))
    return out


def _natural_key(text):
    return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", text or "")]


def _most_common(values):
    if not values:
        return None
    counts = {}
    for v in values:
        counts[v] = counts.get(v, 0) + 1
    return sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[0][0]


def _int_or_none(value):
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


# --------------------------------------------------------------------------------------------------
# Topology rules: the one definition (the stack and stack_info modules check them; the roles and the
# playbooks pass their counts to those modules, option topology)
# --------------------------------------------------------------------------------------------------

VALID_SHARDS = _validate.VALID_SHARDS


def topology_errors(masters, coreapps, webapps=None, shards=None):
    """The documented rules a topology breaks (empty list when it is valid). ``webapps`` or ``shards`` None:
    that count is not known and its rules are not checked."""
    errors = []
    if masters < 0 or coreapps < 0 or (webapps is not None and webapps < 0):
        errors.append("counts must not be negative")
        return errors
    if shards is not None and shards not in VALID_SHARDS:
        errors.append("shards must be one of %s (got %s)" % (", ".join(str(n) for n in VALID_SHARDS), shards))
    if coreapps < 1:
        errors.append("at least 1 CoreApp is required (got %d)" % coreapps)
    if webapps is not None and webapps < 1:
        errors.append("at least 1 Webapp is required (got %d)" % webapps)
    if shards is not None and coreapps < shards:
        errors.append("%d shard(s) need at least %d CoreApp(s) (got %d)" % (shards, shards, coreapps))
    if masters == 0 and (coreapps > 1 or (shards or 1) > 1):
        errors.append("a setup without Master is a single instance: exactly 1 CoreApp and 1 shard "
                      "(got %d CoreApp(s), %s shard(s)); multiconnect needs at least 1 Master"
                      % (coreapps, shards or 1))
    return errors


#: The ``topology`` option of ``stack`` and ``stack_info`` (documented once in ``doc_fragments/_docker.py``).
TOPOLOGY_SPEC = dict(type="dict", options=dict(
    masters=dict(type="int", required=True),
    coreapps=dict(type="int", required=True),
    webapps=dict(type="int"),
    shards=dict(type="int"),
    hosts=dict(type="int", default=1),
))


def topology_refusal(masters, coreapps, webapps=None, shards=None, hosts=1):
    """The message refusing a topology that breaks the rules (counts over ``hosts`` Docker hosts), or None."""
    errors = topology_errors(masters, coreapps, webapps, shards)
    if not errors:
        return None
    counts = "%d Master(s), %d CoreApp(s)" % (masters, coreapps)
    if webapps is not None:
        counts += ", %d Webapp(s)" % webapps
    if shards is not None:
        counts += ", %s shard(s)" % shards
    where = " (total over %d Docker host(s))" % hosts if hosts and hosts > 1 else ""
    return ("Refusing the topology %s%s: %s. Multiconnect for high availability is 2 Masters and shards + 1 "
            "CoreApps. Nothing was changed." % (counts, where, "; ".join(errors)))


# --------------------------------------------------------------------------------------------------
# The database password rule
# --------------------------------------------------------------------------------------------------

def forbidden_db_password_chars(password):
    """The characters of ``password`` the client does not accept in WA_DB_PASSWORD (sorted, unique)."""
    return sorted(set(c for c in (password or "") if c in DB_PASSWORD_FORBIDDEN))


def db_password():
    """A ``_validate`` rule: a database password without the characters the client does not accept."""
    def rule(value):
        if not forbidden_db_password_chars(value):
            return None
        return ("a password without any of %s (the WhatsApp Business API client does not accept them in a database "
                "password; choose another)" % DB_PASSWORD_FORBIDDEN)
    return rule


# --------------------------------------------------------------------------------------------------
# Pure helpers: desired specs and the plan
# --------------------------------------------------------------------------------------------------

def config_hash(spec):
    """A stable hash of everything that defines a container (the hash label itself excluded), secrets masked:
    the label and the results never confirm a password guess. :func:`differs` compares the secrets apart."""
    data = dict(spec, env=_validate.mask_secrets(spec.get("env") or {}))
    data.pop("config_hash", None)
    data["labels"] = dict((k, v) for k, v in (spec.get("labels") or {}).items() if k != LABEL_CONFIG)
    return hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode("utf-8")).hexdigest()


def db_env(db):
    """``WA_DB_*`` environment from the ``db`` option."""
    db = db or {}
    env = {}
    mapping = (("engine", "WA_DB_ENGINE"), ("hostname", "WA_DB_HOSTNAME"), ("port", "WA_DB_PORT"),
               ("username", "WA_DB_USERNAME"), ("password", "WA_DB_PASSWORD"),
               ("name_prefix", "WA_DB_NAME_PREFIX"), ("connection_idle_timeout", "WA_DB_CONNECTION_IDLE_TIMEOUT"),
               ("ssl_ca", "WA_DB_SSL_CA"), ("ssl_cert", "WA_DB_SSL_CERT"), ("ssl_key", "WA_DB_SSL_KEY"))
    for key, var in mapping:
        value = db.get(key)
        if value is not None and value != "":
            env[var] = str(value).upper() if key == "engine" else str(value)
    return env


def container_name(stack, role, index):
    return "%s-%s%d" % (stack, ROLE_PREFIX[role], index)


def desired_specs(p):
    """The container specs of a stack from the ``stack`` module's parameters (plain dict).

    Keys used: name, masters, coreapps, webapps, coreapp_image, web_image, db, network, media_volume,
    web_port, api_key, env, coreapp_env, web_env, restart_policy.
    """
    name = p["name"]
    multiconnect = (p.get("masters") or 0) > 0
    base = db_env(p.get("db"))
    engine = base.get("WA_DB_ENGINE", "MYSQL")
    command = COMMAND_PGSQL if engine == "PGSQL" else COMMAND_MYSQL
    if multiconnect:
        base["WA_APP_MULTICONNECT"] = "1"
    user_env = dict((k, str(v)) for k, v in (p.get("env") or {}).items())
    specs = []

    def spec(role, index, image, env, ports=None):
        cname = container_name(name, role, index)
        s = dict(
            name=cname, role=role, index=index, image=image, command=list(command), hostname=cname, env=env,
            network=p.get("network"), aliases=[cname],
            mounts=[dict(source=p["media_volume"], target=MEDIA_PATH)] if p.get("media_volume") else [],
            ports=ports or {},
            restart_policy=p.get("restart_policy") or "unless-stopped",
            labels={LABEL_STACK: name, LABEL_ROLE: role, LABEL_INDEX: str(index), LABEL_MANAGED: MANAGED_BY},
        )
        s["config_hash"] = config_hash(s)
        s["labels"][LABEL_CONFIG] = s["config_hash"]
        return s

    core_env_extra = dict((k, str(v)) for k, v in (p.get("coreapp_env") or {}).items())
    for role, count in (("master", p.get("masters") or 0), ("coreapp", p.get("coreapps") or 0)):
        for i in range(1, count + 1):
            env = dict(base)
            env["COREAPP_HOSTNAME"] = container_name(name, role, i)
            if multiconnect:
                env["COREAPP_EXTERNAL_PORTS"] = COREAPP_EXTERNAL_PORTS
            if role == "master":
                env["WA_MASTER_NODE"] = "1"
            env.update(user_env)
            env.update(core_env_extra)
            specs.append(spec(role, i, p["coreapp_image"], env))
    web_env_extra = dict((k, str(v)) for k, v in (p.get("web_env") or {}).items())
    for i in range(1, (p.get("webapps") or 0) + 1):
        env = dict(base)
        env["WEBAPP_HOSTNAME"] = container_name(name, "web", i)
        if multiconnect:
            env["WEBAPP_EXTERNAL_PORTS"] = WEB_EXTERNAL_PORTS
        else:
            env["WACORE_HOSTNAME"] = container_name(name, "coreapp", 1)
        if p.get("api_key"):
            env["WA_API_KEY"] = p["api_key"]
        env.update(user_env)
        env.update(web_env_extra)
        ports = {}
        if p.get("web_port"):
            ports = {"443/tcp": int(p["web_port"]) + i - 1}
        specs.append(spec("web", i, p["web_image"], env, ports))
    return specs


def differs(spec, record):
    """True when a container does not have the configuration of ``spec``: another hash label, or another value
    of a variable of the spec (the secrets, which the hash leaves out)."""
    env = record.get("env") or {}
    return ((record.get("labels") or {}).get(LABEL_CONFIG) != spec["config_hash"]
            or any(env.get(k) != v for k, v in spec["env"].items()))


def plan(desired, actual, image_ids=None):
    """Compare desired specs with the stack's actual app container records.

    ``image_ids`` maps an image name to its current image id; a container running an older id of the same
    tag is recreated. Returns a dict of lists: ``create`` (specs), ``recreate`` (pairs spec, record),
    ``start`` (pairs), ``keep`` (pairs), ``remove`` (records), and ``reasons`` (name -> text).
    """
    image_ids = image_ids or {}
    by_name = dict((r["name"], r) for r in actual)
    wanted = set(s["name"] for s in desired)
    result = dict(create=[], recreate=[], start=[], keep=[], remove=[], reasons={})
    for s in desired:
        r = by_name.get(s["name"])
        if r is None:
            result["create"].append(s)
            result["reasons"][s["name"]] = "missing"
            continue
        if differs(s, r):
            result["recreate"].append((s, r))
            result["reasons"][s["name"]] = "configuration differs"
        elif image_ids.get(s["image"]) and r.get("image_id") and image_ids[s["image"]] != r["image_id"]:
            result["recreate"].append((s, r))
            result["reasons"][s["name"]] = "image %s was updated" % s["image"]
        elif not r.get("running"):
            result["start"].append((s, r))
            result["reasons"][s["name"]] = "not running (%s)" % r.get("state")
        else:
            result["keep"].append((s, r))
    for r in actual:
        if r["name"] not in wanted:
            result["remove"].append(r)
            result["reasons"][r["name"]] = "surplus"
    result["remove"].sort(key=lambda r: _natural_key(r["name"]))
    return result


def spec_view(spec):
    """What a diff shows of a desired spec (no secrets)."""
    return dict(role=spec["role"], image=spec["image"], config=spec["config_hash"][:12],
                env=_validate.mask_secrets(spec["env"] or {}), ports=spec["ports"], network=spec["network"])


def record_view(record, role=None):
    """What a diff shows of an existing container (no secrets)."""
    return dict(role=role or (record.get("labels") or {}).get(LABEL_ROLE), image=record.get("image"),
                config=((record.get("labels") or {}).get(LABEL_CONFIG) or "")[:12],
                env=_validate.mask_secrets(record.get("env") or {}), state=record.get("state"),
                network=(user_networks(record) or [None])[0])


#: The options naming the image repositories recognised as CoreApps and Webapps (``stack``, ``stack_info``;
#: documented once in ``doc_fragments/_docker.py``, fragment ``discovery``).
DISCOVERY_ARGUMENT_SPEC = dict(
    coreapp_images=dict(type="list", elements="str", default=list(DEFAULT_COREAPP_IMAGES)),
    web_images=dict(type="list", elements="str", default=list(DEFAULT_WEB_IMAGES)),
)


def database_view(record):
    """What the modules report of a database container (no environment: it holds the passwords)."""
    if not record:
        return {}
    return dict(name=record["name"], id=record.get("id"), image=record.get("image"), engine=db_engine_of(record),
                state=record["state"], running=record["running"],
                ip_addresses=sorted(n["ip_address"] for n in (record.get("networks") or {}).values()
                                    if n.get("ip_address")),
                volumes=sorted(mnt.get("name") or mnt.get("source") for mnt in record.get("mounts") or []
                               if mnt.get("name") or mnt.get("source")))
