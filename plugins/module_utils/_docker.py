# Copyright (c) 2026, wabiz.api_client contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one Docker helper of this collection, used by ``stack``, ``stack_info`` and ``db_container``.

PRIVATE to this collection: no compatibility promise to other collections.

It owns, in one place:

* the Docker connection options shared by the Docker modules, with the environment fallbacks
  ``DOCKER_HOST``, ``DOCKER_TLS``, ``DOCKER_TLS_VERIFY``, ``DOCKER_CERT_PATH`` and ``DOCKER_TIMEOUT``
  (``DOCKER_ARGUMENT_SPEC``; documented once in ``doc_fragments/_docker.py``), and the Docker SDK client
  built from them (guarded ``import docker``);
* discovery and classification of WhatsApp Business API containers (pure functions on plain dicts, unit
  tested): a **Master** is a CoreApp image with ``WA_MASTER_NODE=1``, CoreApps, Webapps, and the database
  containers their ``WA_DB_HOSTNAME`` points to; stacks made by this collection (``biz.wabiz.*`` labels),
  by docker-compose (``com.docker.compose.project``) or by hand (grouped by their user-defined network);
* the desired container specs of a stack and the plan "create / recreate / keep / remove" against what
  runs (pure functions);
* keeping secrets out of results: environment values of passwords, keys and secrets are masked.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import socket
import ssl
import sys
import time
import traceback

from ansible.module_utils.basic import env_fallback, missing_required_lib

from ansible_collections.wabiz.api_client.plugins.module_utils import _validate

DOCKER_IMPORT_ERROR = None
try:
    import docker
    from docker.errors import APIError, DockerException, ImageNotFound, NotFound
except ImportError:  # pragma: no cover - exercised by the sanity import test
    docker = None
    DOCKER_IMPORT_ERROR = traceback.format_exc()

    class DockerException(Exception):  # type: ignore[no-redef]
        pass

    class APIError(DockerException):  # type: ignore[no-redef]
        pass

    class NotFound(APIError):  # type: ignore[no-redef]
        pass

    class ImageNotFound(NotFound):  # type: ignore[no-redef]
        pass


DEFAULT_DOCKER_HOST = "unix:///var/run/docker.sock"

#: The oldest Docker SDK for Python the modules run with: 5.0.3, the ``python3-docker`` of Debian 12 and
#: Ubuntu 22.04/24.04 (tested: tests/multihost).
DOCKER_SDK_MIN_VERSION = (5, 0, 3)
#: How an SDK fails beside HTTP libraries newer than it knows (docker-py issues 3113 and 3256): text of the
#: error, and why. Matched on the real error, since distributions patch their SDK packages.
SDK_LIBRARY_ERRORS = (
    ("http+docker", "requests 2.32 and later need docker 7.1.0 or later"),
    ("unexpected keyword argument 'chunked'", "urllib3 2 needs docker 6.1.0 or later"),
)
SDK_FIX = (
    "Use a Python that has a usable SDK and point ansible_python_interpreter at it for this host: the system "
    "Python with the distribution's package (Debian 12, Ubuntu 22.04/24.04: apt-get install python3-docker "
    "python3-requests), or a virtual environment on the host (python3 -m venv /opt/wabiz-venv && "
    "/opt/wabiz-venv/bin/pip install 'docker>=7.1,<8'; see docs/operations.md)."
)

DOCKER_ARGUMENT_SPEC = dict(
    docker_host=dict(type="str", default=DEFAULT_DOCKER_HOST, fallback=(env_fallback, ["DOCKER_HOST"])),
    tls=dict(type="bool", default=False, fallback=(env_fallback, ["DOCKER_TLS"])),
    validate_certs=dict(type="bool", default=False, fallback=(env_fallback, ["DOCKER_TLS_VERIFY"])),
    ca_path=dict(type="path"),
    client_cert=dict(type="path"),
    client_key=dict(type="path"),
    timeout=dict(type="int", default=60, fallback=(env_fallback, ["DOCKER_TIMEOUT"])),
)

DOCKER_HOST_SCHEMES = ("unix", "tcp", "ssh", "http", "https", "npipe")


def _docker_host(value):
    scheme = value.split("://", 1)[0].lower() if "://" in value else None
    if not value or any(c.isspace() or ord(c) < 32 for c in value) or (scheme and scheme not in DOCKER_HOST_SCHEMES):
        return ("a Docker daemon address like unix:///var/run/docker.sock, tcp://docker.example.com:2376 or "
                "ssh://user@docker.example.com")
    return None


#: What the shared Docker options must be beyond their Ansible type (see ``_validate.problems``).
DOCKER_RULES = dict(
    docker_host=[_docker_host],
    timeout=[_validate.int_range(1, 3600)],
    ca_path=[_validate.text_file(pem=True)],
    client_cert=[_validate.text_file(pem=False)],
    client_key=[_validate.text_file(pem=False)],
)

#: Image repositories of Meta's client (a Master is a CoreApp with WA_MASTER_NODE=1).
DEFAULT_COREAPP_IMAGES = ["docker.whatsapp.biz/coreapp"]
DEFAULT_WEB_IMAGES = ["docker.whatsapp.biz/web"]
#: Image repositories recognised as a database server (last path component).
DB_IMAGE_NAMES = ("mysql", "mariadb", "postgres", "postgresql")
#: WA_DB_ENGINE of the database server an image runs (last path component of its repository).
DB_IMAGE_ENGINES = {"mysql": "MYSQL", "mariadb": "MYSQL", "postgres": "PGSQL", "postgresql": "PGSQL"}
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
#: Label of the project's test emulator images (tests/emulator/images): never Meta's software.
LABEL_EMULATOR = "biz.wabiz.emulator"
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

SECRET_MASK = _validate.SECRET_MASK
_DEFAULT_NETWORKS = ("bridge", "host", "none")


# --------------------------------------------------------------------------------------------------
# Connection
# --------------------------------------------------------------------------------------------------

def connection_params(params, environ=None):
    """Resolve the TLS file paths (``DOCKER_CERT_PATH`` holds ``ca.pem``, ``cert.pem``, ``key.pem``)."""
    environ = os.environ if environ is None else environ
    cert_dir = environ.get("DOCKER_CERT_PATH")
    resolved = dict((k, params.get(k)) for k in DOCKER_ARGUMENT_SPEC)
    if cert_dir:
        for key, filename in (("ca_path", "ca.pem"), ("client_cert", "cert.pem"), ("client_key", "key.pem")):
            if not resolved.get(key) and os.path.exists(os.path.join(cert_dir, filename)):
                resolved[key] = os.path.join(cert_dir, filename)
    return resolved


def _version_tuple(text):
    """``"5.0.3"`` -> (5, 0, 3); pre-release and local parts are ignored; None when there is no number."""
    numbers = re.findall(r"\d+", (text or "").split("+")[0])[:3]
    if not numbers:
        return None
    return tuple(int(n) for n in numbers) + (0,) * (3 - len(numbers))


def _dotted(version):
    return ".".join(str(n) for n in version)


def sdk_problem(docker_version, libraries=None, error=None):
    """Why the Docker SDK ``docker_version`` cannot run the modules (None when nothing says so): older than the
    minimum, or ``error`` (the text of a failed first request) is a known clash with the HTTP ``libraries``
    installed beside it ({name: version})."""
    have = _version_tuple(docker_version)
    if have is None or have < DOCKER_SDK_MIN_VERSION:
        return "the Docker SDK for Python (docker) is version %s; this collection needs %s or later" % (
            docker_version, _dotted(DOCKER_SDK_MIN_VERSION))
    for text, why in SDK_LIBRARY_ERRORS:
        if error and text in error:
            beside = ", ".join("%s %s" % item for item in sorted((libraries or {}).items()))
            return "the Docker SDK for Python (docker) %s cannot talk to the engine beside %s (%s)" % (
                docker_version, beside or "these HTTP libraries", why)
    return None


def _library_versions():
    """Versions of the HTTP libraries the Docker SDK runs on, as installed beside it."""
    found = {}
    for name in ("requests", "urllib3"):
        try:
            found[name] = getattr(__import__(name), "__version__", None)
        except ImportError:
            pass
    return found


def get_client(module):
    """The low-level Docker SDK client for the module's connection options; fails the module cleanly."""
    if docker is None:
        module.fail_json(msg=missing_required_lib("docker"), exception=DOCKER_IMPORT_ERROR)
    version = getattr(docker, "__version__", None)
    problem = sdk_problem(version)
    if problem:
        module.fail_json(msg="Cannot use the Python %s on this host: %s. %s" % (sys.executable, problem, SDK_FIX),
                         docker_sdk_version=version)
    p = connection_params(module.params)
    tls_config = None
    if p["tls"] or p["validate_certs"]:
        client_cert = (p["client_cert"], p["client_key"]) if p["client_cert"] and p["client_key"] else None
        tls_config = docker.tls.TLSConfig(
            client_cert=client_cert,
            ca_cert=p["ca_path"] if p["validate_certs"] else None,
            verify=bool(p["validate_certs"]),
        )
    try:
        client = docker.APIClient(base_url=p["docker_host"], tls=tls_config, timeout=p["timeout"], version="auto")
        client.ping()
    except Exception as exc:  # pylint: disable=broad-except
        problem = sdk_problem(version, _library_versions(), str(exc))
        if problem:
            module.fail_json(msg="Cannot use the Python %s on this host: %s. %s" % (sys.executable, problem, SDK_FIX),
                             docker_sdk_version=version)
        module.fail_json(msg="Cannot talk to the Docker engine at %s: %s" % (p["docker_host"], exc))
    return client


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


def is_secret_key(key):
    return _validate.is_secret_name(key)


def redact_env(env):
    """Secrets masked by variable name and by value (credentials in URLs, DSNs, proxy settings)."""
    return _validate.mask_env(env)


def truthy(value):
    return str(value).strip().lower() in ("1", "true", "yes", "on")


# --------------------------------------------------------------------------------------------------
# Pure helpers: container records and classification
# --------------------------------------------------------------------------------------------------

def summarize_container(inspect):
    """A plain record from ``docker inspect`` output (secrets NOT yet masked; see :func:`public_record`)."""
    config = inspect.get("Config") or {}
    state = inspect.get("State") or {}
    settings = inspect.get("NetworkSettings") or {}
    networks = {}
    for net_name, net in (settings.get("Networks") or {}).items():
        net = net or {}
        networks[net_name] = dict(ip_address=net.get("IPAddress") or None, aliases=list(net.get("Aliases") or []))
    mounts = []
    for m in inspect.get("Mounts") or []:
        mounts.append(dict(type=m.get("Type"), name=m.get("Name"), source=m.get("Source"),
                           destination=m.get("Destination")))
    ports = {}
    for cport, bindings in (settings.get("Ports") or {}).items():
        if bindings:
            ports[cport] = [dict(host_ip=b.get("HostIp"), host_port=int(b["HostPort"]))
                            for b in bindings if b.get("HostPort")]
    return dict(
        id=(inspect.get("Id") or "")[:12],
        name=(inspect.get("Name") or "").lstrip("/"),
        image=config.get("Image") or "",
        image_id=inspect.get("Image"),
        state=state.get("Status") or "unknown",
        running=bool(state.get("Running")) and not state.get("Restarting"),
        started_at=state.get("StartedAt"),
        labels=dict(config.get("Labels") or {}),
        env=parse_env(config.get("Env")),
        hostname=config.get("Hostname"),
        networks=networks,
        mounts=mounts,
        ports=ports,
    )


def public_record(record, role=None):
    """The container record as modules return it: secrets masked, role added."""
    out = dict(record)
    out["env"] = redact_env(record.get("env"))
    labels = dict(record.get("labels") or {})
    if LABEL_CONFIG in labels:
        labels[LABEL_CONFIG] = labels[LABEL_CONFIG][:12]
    out["labels"] = labels
    if role:
        out["role"] = role
    out["version"] = image_version(record.get("image"))
    return out


def classify(record, coreapp_images=None, web_images=None):
    """``master``, ``coreapp``, ``web``, ``db`` (only when labelled so by this collection) or None."""
    coreapp_images = DEFAULT_COREAPP_IMAGES if coreapp_images is None else coreapp_images
    web_images = DEFAULT_WEB_IMAGES if web_images is None else web_images
    labels = record.get("labels") or {}
    role = labels.get(LABEL_ROLE)
    if role in APP_ROLES or role == "db":
        return role
    image = record.get("image") or ""
    if repo_matches(image, coreapp_images):
        return "master" if truthy((record.get("env") or {}).get("WA_MASTER_NODE", "")) else "coreapp"
    if repo_matches(image, web_images):
        return "web"
    return None


def is_db_image(image):
    return _normalise_repo(image).rsplit("/", 1)[-1] in DB_IMAGE_NAMES


def forbidden_db_password_chars(password):
    """The characters of ``password`` the client does not accept in WA_DB_PASSWORD (sorted, unique)."""
    return sorted(set(c for c in (password or "") if c in DB_PASSWORD_FORBIDDEN))


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
    return sorted(n for n in (record.get("networks") or {}) if n not in _DEFAULT_NETWORKS)


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
# Pure helpers: topology rules (shared by the stack module; the roles repeat them in YAML asserts)
# --------------------------------------------------------------------------------------------------

VALID_SHARDS = _validate.VALID_SHARDS


def topology_errors(masters, coreapps, webapps, shards=None):
    """The documented rules a topology breaks (empty list when it is valid)."""
    errors = []
    if masters < 0 or coreapps < 0 or webapps < 0:
        errors.append("counts must not be negative")
        return errors
    if shards is not None and shards not in VALID_SHARDS:
        errors.append("shards must be one of 1, 2, 4, 8, 16, 32 (got %s)" % shards)
    if coreapps < 1:
        errors.append("at least 1 CoreApp is required (got %d)" % coreapps)
    if webapps < 1:
        errors.append("at least 1 Webapp is required (got %d)" % webapps)
    if shards is not None and coreapps < shards:
        errors.append("%d shard(s) need at least %d CoreApp(s) (got %d)" % (shards, shards, coreapps))
    if masters == 0 and (coreapps > 1 or (shards or 1) > 1):
        errors.append("a setup without Master is a single instance: exactly 1 CoreApp and 1 shard "
                      "(got %d CoreApp(s), %s shard(s)); multiconnect needs at least 1 Master"
                      % (coreapps, shards or 1))
    return errors


# --------------------------------------------------------------------------------------------------
# Pure helpers: desired specs and the plan
# --------------------------------------------------------------------------------------------------

def config_hash(spec):
    """A stable hash of everything that defines a container (the hash label itself excluded)."""
    data = dict(spec)
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
            name=cname,
            role=role,
            index=index,
            image=image,
            command=list(command),
            hostname=cname,
            env=env,
            network=p.get("network"),
            aliases=[cname],
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
        current = (r.get("labels") or {}).get(LABEL_CONFIG)
        if current != s["config_hash"]:
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
                env=redact_env(spec["env"]), ports=spec["ports"], network=spec["network"])


def record_view(record, role=None):
    """What a diff shows of an existing container (no secrets)."""
    return dict(role=role or (record.get("labels") or {}).get(LABEL_ROLE), image=record.get("image"),
                config=((record.get("labels") or {}).get(LABEL_CONFIG) or "")[:12],
                env=redact_env(record.get("env")), state=record.get("state"),
                network=(user_networks(record) or [None])[0])


# --------------------------------------------------------------------------------------------------
# Engine side (thin wrappers around the SDK client)
# --------------------------------------------------------------------------------------------------

def list_records(client, filters=None):
    """Records of every container (running or not) matching ``filters``."""
    records = []
    for c in client.containers(all=True, filters=filters or {}):
        try:
            records.append(summarize_container(client.inspect_container(c["Id"])))
        except NotFound:  # removed meanwhile
            continue
    return records


def image_facts(client, image):
    """``{id, emulator}`` of a local image: id None when it is not on the host; emulator True when it
    carries the label ``biz.wabiz.emulator=true`` (the project's test emulator, not Meta's software)."""
    try:
        attrs = client.inspect_image(image)
    except (ImageNotFound, NotFound):
        return dict(id=None, emulator=False)
    labels = (attrs.get("Config") or {}).get("Labels") or {}
    return dict(id=attrs["Id"], emulator=truthy(labels.get(LABEL_EMULATOR)))


def image_id(client, image):
    """The id of a local image, or None when it is not on the host."""
    return image_facts(client, image)["id"]


def emulator_refusal(images):
    """The message refusing to install ``images`` (names of emulator images), or None when there are none."""
    if not images:
        return None
    return ("Refusing to install %s: labelled %s=true, the test EMULATOR of the WhatsApp Business API client "
            "(tests/emulator of wabiz.api_client), not Meta's software. A real setup must run Meta's images: "
            "load them under these names (docker load -i <tarball>). For a test or a demo only, set "
            "allow_emulator_images=true (in the playbooks and roles: the inventory variable "
            "wabiz_allow_emulator_images=true). Nothing was changed."
            % (", ".join(sorted(images)), LABEL_EMULATOR))


def _drain(stream):
    """Read an engine progress stream to its end; raise DockerException(engine's message) on an error line.

    The SDK's ``load_image`` and streamed ``pull`` return generators: the engine finishes the work only
    while the response is read, and reports failures as ``{"error": ...}`` lines, not as HTTP errors.
    """
    for line in stream or ():
        if isinstance(line, dict) and (line.get("error") or line.get("errorDetail")):
            detail = line.get("error") or (line.get("errorDetail") or {}).get("message")
            raise DockerException(detail)


def load_archive(client, fh):
    """``docker load`` from an open binary file; returns when the engine has finished loading."""
    _drain(client.load_image(fh))


def pull_image(client, image):
    """``docker pull``; returns when the engine has the image, raises DockerException otherwise."""
    repo, tag = split_image(image)
    _drain(client.pull(repo, tag=tag or "latest", stream=True, decode=True))


def ensure_network(client, name, labels=None, check_mode=False):
    """Create a user-defined bridge network when missing; True when it was (or would be) created."""
    if not name or name in _DEFAULT_NETWORKS:
        return False
    if client.networks(names=[name]) and any(n["Name"] == name for n in client.networks(names=[name])):
        return False
    if not check_mode:
        client.create_network(name, driver="bridge", labels=labels or {}, check_duplicate=True)
    return True


def ensure_volume(client, name, labels=None, check_mode=False):
    """Create a named volume when missing; True when it was (or would be) created."""
    if not name or name.startswith("/"):
        return False
    try:
        client.inspect_volume(name)
        return False
    except NotFound:
        pass
    if not check_mode:
        client.create_volume(name=name, labels=labels or {})
    return True


def create_container(client, spec):
    """Create and start a container from a spec (see :func:`desired_specs`); returns its id."""
    binds = []
    for m in spec.get("mounts") or []:
        binds.append("%s:%s%s" % (m["source"], m["target"], ":ro" if m.get("read_only") else ""))
    port_bindings = {}
    exposed = []
    for cport, hport in (spec.get("ports") or {}).items():
        number, _sep, proto = cport.partition("/")
        key = (int(number), proto or "tcp")
        exposed.append(key if key[1] != "tcp" else key[0])
        port_bindings[key[0] if key[1] == "tcp" else "%d/%s" % key] = hport
    host_config = client.create_host_config(
        binds=binds or None,
        port_bindings=port_bindings or None,
        restart_policy={"Name": spec.get("restart_policy") or "no"},
        network_mode=spec.get("network") or None,
    )
    networking_config = None
    if spec.get("network"):
        networking_config = client.create_networking_config({
            spec["network"]: client.create_endpoint_config(aliases=spec.get("aliases") or None)})
    container = client.create_container(
        image=spec["image"],
        command=spec.get("command") or None,
        name=spec["name"],
        hostname=spec.get("hostname"),
        environment=["%s=%s" % kv for kv in sorted((spec.get("env") or {}).items())],
        labels=spec.get("labels") or {},
        ports=exposed or None,
        host_config=host_config,
        networking_config=networking_config,
    )
    client.start(container["Id"])
    return container["Id"]


def remove_container(client, name_or_id, stop_timeout=10):
    try:
        client.stop(name_or_id, timeout=stop_timeout)
    except NotFound:
        return
    except APIError:
        pass
    try:
        client.remove_container(name_or_id, force=True)
    except NotFound:
        pass


def container_logs(client, name_or_id, lines=20):
    try:
        text = client.logs(name_or_id, tail=lines)
        return text.decode("utf-8", "replace") if isinstance(text, bytes) else str(text)
    except Exception:  # pylint: disable=broad-except
        return ""


def wait_running(client, names, timeout, settle=2.0, sleep=time.sleep, now=time.monotonic):
    """Wait until every named container runs and has kept running for ``settle`` seconds.

    Returns None, or an error text naming the container that exited (with its last log lines).
    """
    deadline = now() + timeout
    stable_since = None
    while True:
        problems = []
        for name in names:
            try:
                state = client.inspect_container(name)["State"]
            except NotFound:
                problems.append((name, "missing", True))
                continue
            if state.get("Status") in ("exited", "dead"):
                problems.append((name, "exited with code %s" % state.get("ExitCode"), True))
            elif not state.get("Running") or state.get("Restarting"):
                problems.append((name, state.get("Status"), state.get("Restarting")))
        if not problems:
            if stable_since is None:
                stable_since = now()
            if now() - stable_since >= settle:
                return None
        else:
            stable_since = None
        if now() >= deadline:
            name, what, _fatal = problems[0] if problems else (names[0], "unstable", True)
            logs = container_logs(client, name)
            return "container %s is not running after %ss (%s)%s" % (
                name, timeout, what, ("; last log lines:\n" + logs) if logs else "")
        sleep(0.5)


def https_answers(host, port, path="/v1/health", timeout=5.0):
    """True when an HTTPS server answers on host:port (any HTTP status counts; certificate not checked)."""
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    try:
        with socket.create_connection((host, port), timeout=timeout) as sock:
            with context.wrap_socket(sock, server_hostname=host) as tls:
                tls.settimeout(timeout)
                tls.sendall(("GET %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n" % (path, host)).encode())
                head = tls.recv(16)
                return head.startswith(b"HTTP/")
    except (OSError, ssl.SSLError):
        return False


def wait_https(host, port, timeout, sleep=time.sleep, now=time.monotonic):
    deadline = now() + timeout
    while True:
        if https_answers(host, port):
            return True
        if now() >= deadline:
            return False
        sleep(1.0)


def tcp_answers(host, port, timeout=3.0):
    try:
        with socket.create_connection((host, int(port)), timeout=timeout):
            return True
    except OSError:
        return False


def mysql_answers(host, port, timeout=3.0):
    """True when a MySQL/MariaDB server on host:port sends its greeting (or an error packet) on connect."""
    try:
        with socket.create_connection((host, int(port)), timeout=timeout) as sock:
            sock.settimeout(timeout)
            head = sock.recv(5)
            # 3-byte length, 1-byte sequence, then protocol version 10 or an error packet (0xff).
            return len(head) == 5 and head[4] in (10, 0xFF)
    except OSError:
        return False


def pgsql_answers(host, port, timeout=3.0):
    """True when a PostgreSQL server on host:port answers an SSLRequest (``S`` or ``N``), as every
    PostgreSQL server does before authentication."""
    try:
        with socket.create_connection((host, int(port)), timeout=timeout) as sock:
            sock.settimeout(timeout)
            # Int32 length 8, Int32 code 80877103 (the SSLRequest of PostgreSQL's protocol).
            sock.sendall(b"\x00\x00\x00\x08\x04\xd2\x16\x2f")
            return sock.recv(1) in (b"S", b"N")
    except OSError:
        return False


DB_PROBES = {"MYSQL": mysql_answers, "PGSQL": pgsql_answers}


def wait_db(host, port, engine, timeout, sleep=time.sleep, now=time.monotonic):
    """Wait until the database server answers with its own protocol (TCP only for an unknown engine);
    True when it did within ``timeout`` seconds."""
    probe = DB_PROBES.get((engine or "MYSQL").upper(), tcp_answers)
    deadline = now() + timeout
    while True:
        if probe(host, port):
            return True
        if now() >= deadline:
            return False
        sleep(1.0)
