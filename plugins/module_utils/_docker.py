# Copyright (c) 2026, wabiz.api_client contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The connection to the Docker engine and the wrapper every Docker module uses (``DockerModule``, the
counterpart of ``_api.WAModule``).

PRIVATE to this collection: no compatibility promise to other collections.

It owns, in one place:

* the Docker connection options shared by the Docker modules, with the environment fallbacks
  ``DOCKER_HOST``, ``DOCKER_TLS``, ``DOCKER_TLS_VERIFY``, ``DOCKER_CERT_PATH`` and ``DOCKER_TIMEOUT``
  (``DOCKER_ARGUMENT_SPEC``, ``DOCKER_RULES``; documented once in ``doc_fragments/_docker.py``), as
  community.docker's ``DOCKER_COMMON_ARGS``;
* the guarded ``import docker``, the SDK version check, and the one low-level client built from the options;
* the one translation of engine errors into a module failure (:meth:`DockerModule.docker_errors`): no other
  file catches ``DockerException``.

The rest of the Docker side: ``_stack_model`` (the pure model: classification, discovery, topology rules,
specs, plan), ``_docker_engine`` (engine calls, images), ``_probes`` (network probes), ``_stack`` (the
``stack`` module's ``StackManager``).
"""

from __future__ import annotations

import contextlib
import os
import re
import sys
import traceback

from ansible.module_utils.basic import env_fallback, missing_required_lib

from ansible_collections.wabiz.api_client.plugins.module_utils import _validate
from ansible_collections.wabiz.api_client.plugins.module_utils._answer import AnswerError

DOCKER_IMPORT_ERROR = None
try:
    import docker
    # APIError, ImageNotFound and NotFound are for _docker_engine: the SDK is imported (guarded) here only.
    from docker.errors import APIError, DockerException, ImageNotFound, NotFound  # pylint: disable=unused-import
    from requests.exceptions import RequestException  # the SDK lets these through (a timeout, a reset)
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

    class RequestException(Exception):  # type: ignore[no-redef]
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
    if p["tls"] and not p["validate_certs"]:
        module.warn("TLS to the Docker engine at %s is on but its certificate is NOT verified (tls without "
                    "validate_certs): anyone on the path can act as the engine. Set validate_certs (DOCKER_TLS_VERIFY) "
                    "and ca_path." % p["docker_host"])
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
# Errors and the module wrapper
# --------------------------------------------------------------------------------------------------

class DockerFailure(Exception):
    """A refusal or a failed engine step with the message the user reads, plus result fields
    (``missing_images=[...]``); :meth:`DockerModule.docker_errors` turns it into ``fail_json``."""

    def __init__(self, msg, **extra):
        super().__init__(msg)
        self.msg = msg
        self.extra = extra


@contextlib.contextmanager
def engine_step(template, **extra):
    """Inside the block, an engine error becomes ``DockerFailure(template.format(error=<the engine's text>))``:
    the SDK's, an HTTP error it lets through, an ``AnswerError`` of ``_answer.read`` (an answer unlike the Docker
    Engine API's, naming the call and the field)."""
    try:
        yield
    except (DockerException, RequestException, AnswerError) as exc:
        raise DockerFailure(template.format(error=exc), **extra) from exc


class DockerModule(_validate.ModuleWrapper):
    """The wrapper every Docker module uses instead of a bare ``AnsibleModule``.

    It adds the shared connection options and their rules (checked before the engine is contacted), builds
    one client per run (:attr:`client`), and turns engine errors and refusals into one clear ``fail_json``
    (:meth:`docker_errors`), with the module's result so far (:attr:`result`).
    """

    def __init__(self, argument_spec=None, rules=None, **kwargs):
        spec = dict(DOCKER_ARGUMENT_SPEC)
        spec.update(argument_spec or {})
        all_rules = dict(DOCKER_RULES)
        all_rules.update(rules or {})
        self.module = _validate.CheckedModule(argument_spec=spec, rules=all_rules, **kwargs)
        self._client = None
        self.result = dict(changed=False)

    @property
    def client(self):
        """The low-level Docker SDK client (connected on first use; fails the module cleanly)."""
        if self._client is None:
            self._client = get_client(self.module)
        return self._client

    def fail(self, msg, **extra):
        """Fail with ``msg`` and the result so far (``extra`` added)."""
        self.module.fail_json(msg=msg, **dict(self.result, **extra))

    def exit(self, **extra):
        self.module.exit_json(**dict(self.result, **extra))

    @contextlib.contextmanager
    def docker_errors(self, doing=None):
        """Fail cleanly on a ``DockerFailure`` (its message) or any other engine error
        (``Docker engine error while <doing>: <the engine's text>``)."""
        try:
            yield
        except DockerFailure as exc:
            self.fail(exc.msg, **exc.extra)
        except (DockerException, RequestException, AnswerError) as exc:
            self.fail("Docker engine error%s: %s" % (" while " + doing if doing else "", exc))
