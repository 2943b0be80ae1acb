# Copyright (c) 2026, wabiz.api_client contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Property-based test of the Docker modules against a hostile or broken Docker engine (Hypothesis, issue 23).

``stack``, ``stack_info`` and ``db_container`` run in process with valid options; the fake stands in for
``docker.APIClient`` (the SDK's low-level client the modules build in ``_docker.get_client``). Each call answers
what the Docker Engine API answers for a small stack (a MySQL container, a CoreApp, a Webapp), or that answer with
any one field replaced by any JSON value, JSON of any shape, type and depth, or the errors the SDK raises
(``APIError``, ``NotFound``, ``DockerException``, and the ``requests`` errors it lets through). Asserted for every
generated case:

* no traceback: ``main()`` ends with ``exit_json``/``fail_json`` and prints one JSON result; a failure has a clear
  message and no ``exception``;
* no secret of a container environment (``MYSQL_PASSWORD``, ``WA_DB_PASSWORD``... in ``Config.Env``) and no secret
  option in the output.

The number of generated cases per module is printed at the end (``WABIZ_PROPERTY_ANSWERS`` per module, 300 by
default). No sleep and no network: waits run with ``wait_timeout=0`` and the network probes answer a drawn boolean.
"""

from __future__ import annotations

import collections
import contextlib
import io
import json
import os
import tempfile
from unittest import mock

import docker
import pytest
import requests
from hypothesis import HealthCheck, given, settings, strategies as st

import hostile_json

from ansible.module_utils.common import warnings
from ansible.module_utils.testing import patch_module_args
from ansible_collections.wabiz.api_client.plugins.module_utils import _docker, _probes, _stack
from ansible_collections.wabiz.api_client.plugins.modules import db_container, stack, stack_info

EXAMPLES = int(os.environ.get("WABIZ_PROPERTY_ANSWERS", "300"))
SETTINGS = settings(max_examples=EXAMPLES, deadline=None, database=None, print_blob=True,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much,
                                           HealthCheck.data_too_large])
COUNTS = collections.Counter()
WORK = tempfile.mkdtemp(prefix="wabiz-engine-")
ARCHIVE = os.path.join(WORK, "images.tar")
with open(ARCHIVE, "wb") as archive_file:
    archive_file.write(b"not really a tarball: the fake engine loads it")
ENV_SECRETS = ["Env-Root-Secret-1q", "Env-Db-Secret-2w", "Env-Wa-Secret-3e", "Env-Key-Secret-4r"]
OPTION_SECRETS = ["Opt-Db-Pass-5t", "Opt-Root-Pass-6y", "Opt-Api-Key-7u"]
CORE, WEB, MYSQL = "docker.whatsapp.biz/coreapp:v2.62.5", "docker.whatsapp.biz/web:v2.62.5", "mysql:8.0"


def container(cid, name, image, env, labels, mounts=(), ports=None):
    """What ``GET /containers/{id}/json`` answers (the fields of the Docker Engine API 1.43 the modules may read)."""
    return {
        "Id": cid * 8, "Created": "2026-12-01T10:00:00.000000000Z", "Path": "/entrypoint.sh", "Args": [],
        "State": {"Status": "running", "Running": True, "Paused": False, "Restarting": False, "OOMKilled": False,
                  "Dead": False, "Pid": 4242, "ExitCode": 0, "Error": "",
                  "StartedAt": "2026-12-01T10:00:01.000000000Z", "FinishedAt": "0001-01-01T00:00:00Z"},
        "Image": "sha256:" + cid * 8, "Name": "/" + name, "RestartCount": 0,
        "HostConfig": {"NetworkMode": "wa-net", "RestartPolicy": {"Name": "unless-stopped", "MaximumRetryCount": 0}},
        "Mounts": [{"Type": "volume", "Name": vol, "Source": "/var/lib/docker/volumes/%s/_data" % vol,
                    "Destination": dest, "Driver": "local", "Mode": "z", "RW": True, "Propagation": ""}
                   for vol, dest in mounts],
        "Config": {"Hostname": name, "Image": image, "Env": env + ["PATH=/usr/local/sbin:/usr/bin"],
                   "Cmd": ["/opt/whatsapp/bin/launch_within_docker.sh"], "Labels": labels, "ExposedPorts": {}},
        "NetworkSettings": {
            "Ports": ports or {},
            "Networks": {"wa-net": {"IPAMConfig": None, "Aliases": [name, cid[:12]], "NetworkID": "n" * 64,
                                    "Gateway": "172.28.0.1", "IPAddress": "172.28.0.%d" % (len(name) % 200 + 2),
                                    "IPPrefixLen": 16, "MacAddress": "02:42:ac:1c:00:02"}}},
    }


STACK = {"biz.wabiz.stack": "wa", "biz.wabiz.managed-by": "wabiz.api_client", "biz.wabiz.config": "c0ffee" * 10}
DB_ENV = ["WA_DB_ENGINE=MYSQL", "WA_DB_HOSTNAME=wa-db", "WA_DB_PORT=3306", "WA_DB_USERNAME=root",
          "WA_DB_PASSWORD=" + ENV_SECRETS[2]]
CONTAINERS = [
    container("db000001", "wa-db", MYSQL, ["MYSQL_ROOT_PASSWORD=" + ENV_SECRETS[0], "MYSQL_USER=wa",
                                           "MYSQL_PASSWORD=" + ENV_SECRETS[1]],
              dict(STACK, **{"biz.wabiz.role": "db"}), [("wa-db-data", "/var/lib/mysql")]),
    container("c0re0001", "wa-wacore1", CORE, DB_ENV + ["COREAPP_HOSTNAME=wa-wacore1"],
              dict(STACK, **{"biz.wabiz.role": "coreapp", "biz.wabiz.index": "1"}), [("wa-media", "/usr/local/wamedia")]),
    container("web00001", "wa-waweb1", WEB, DB_ENV + ["WACORE_HOSTNAME=wa-wacore1", "WA_API_KEY=" + ENV_SECRETS[3]],
              dict(STACK, **{"biz.wabiz.role": "web", "biz.wabiz.index": "1"}), [("wa-media", "/usr/local/wamedia")],
              {"443/tcp": [{"HostIp": "0.0.0.0", "HostPort": "9090"}], "80/tcp": None}),
]

FIELDS = ["Id", "Name", "Names", "Image", "Config", "Env", "Labels", "Hostname", "State", "Status", "Running",
          "Restarting", "ExitCode", "StartedAt", "NetworkSettings", "Networks", "IPAddress", "Aliases", "Ports",
          "HostIp", "HostPort", "Mounts", "Type", "Source", "Destination", "error", "errorDetail", "message",
          "status", "stream", "biz.wabiz.stack", "biz.wabiz.role", "biz.wabiz.config", "wa-net"]
any_json = hostile_json.any_json(FIELDS, ["running", "exited", "wa", "wa-db", "coreapp", "db", "9090", "99999999999",
                                          "1" * 5000, "\u00b2", "/var/lib/mysql", "volume"])


def deep(depth):
    """A JSON value nested ``depth`` levels deep (built without recursion)."""
    value = []
    for _level in range(depth):
        value = [value]
    return {"Id": "d" * 64, "Config": value}


ERRORS = [docker.errors.APIError("500 Server Error: Internal Server Error", explanation="engine broke"),
          docker.errors.NotFound("404 Client Error: Not Found", explanation="No such object"),
          docker.errors.ImageNotFound("404 Client Error: Not Found", explanation="No such image"),
          docker.errors.DockerException("Error while fetching server API version"),
          requests.exceptions.ConnectionError("Connection aborted"), requests.exceptions.ReadTimeout("timed out")]


class Engine:
    """Stands in for ``docker.APIClient``: every call gets the real answer or a hostile one."""

    def __init__(self, data):
        self.data = data
        self.images = set(data.draw(st.sets(st.sampled_from([CORE, WEB, MYSQL]))))

    def answer(self, good, stream=False):
        kind = self.data.draw(st.sampled_from(["good", "good", "good", "field", "field", "any", "error"]))
        if kind == "error":
            raise self.data.draw(st.sampled_from(ERRORS))
        if isinstance(good, Exception):
            answer = good
        elif kind == "good":
            answer = json.loads(json.dumps(good))
        elif kind == "field":
            answer = self.data.draw(st.one_of(
                st.builds(hostile_json.replace_one, st.just(good if good is not None else {}), st.integers(0, 200), any_json),
                st.sampled_from([40, 200, 900]).map(deep)))
        else:
            answer = self.data.draw(any_json)
        if isinstance(answer, Exception):
            raise answer
        return iter(answer if isinstance(answer, list) else [answer]) if stream else answer

    def _container(self, name_or_id):
        for c in CONTAINERS:
            if name_or_id in (c["Id"], c["Name"][1:]) or c["Id"].startswith(name_or_id):
                return c
        return docker.errors.NotFound("404 Client Error: Not Found", explanation="No such container: " + name_or_id)

    # Engine calls
    def ping(self):
        return self.answer(True)

    def containers(self, all=False, filters=None):  # pylint: disable=redefined-builtin,unused-argument
        return self.answer([dict(Id=c["Id"], Names=[c["Name"]], Image=c["Config"]["Image"], State="running")
                            for c in CONTAINERS])

    def inspect_container(self, name_or_id):
        return self.answer(self._container(name_or_id))

    def inspect_image(self, name):
        return self.answer({"Id": "sha256:" + "1" * 64, "RepoTags": [name]} if name in self.images
                           else docker.errors.ImageNotFound("404 Client Error", explanation="No such image"))

    def networks(self, names=None):
        return self.answer([{"Name": n, "Id": "n" * 64, "Driver": "bridge"} for n in names or [] if n == "wa-net"])

    def inspect_volume(self, name):
        return self.answer({"Name": name, "Driver": "local"} if name in ("wa-db-data", "wa-media")
                           else docker.errors.NotFound("404 Client Error", explanation="no such volume"))

    def create_container(self, **kwargs):
        return self.answer({"Id": "e" * 64, "Warnings": []})

    def load_image(self, fh):  # pylint: disable=unused-argument
        return self.answer([{"stream": "Loaded image: %s\n" % CORE}, {"stream": "Loaded image: %s\n" % WEB}], True)

    def pull(self, repo, tag=None, stream=False, decode=False):  # pylint: disable=unused-argument
        return self.answer([{"status": "Pulling from " + repo, "id": tag}, {"status": "Digest: sha256:" + "2" * 64},
                            {"status": "Status: Downloaded newer image for %s:%s" % (repo, tag)}], True)

    def logs(self, name_or_id, tail=20):  # pylint: disable=unused-argument
        return self.answer("starting\nexiting: cannot reach the database\n")

    def __getattr__(self, name):
        if name in ("create_host_config", "create_networking_config", "create_endpoint_config"):
            return lambda *args, **kwargs: dict(kwargs)  # built locally by the SDK, no engine call
        if name in ("start", "stop", "restart", "remove_container", "remove_volume", "create_network",
                    "create_volume"):
            return lambda *args, **kwargs: self.answer(None)
        raise AttributeError(name)


class Serial:
    """``ThreadPoolExecutor`` run in the calling thread: every draw of the fake engine stays reproducible."""

    def __init__(self, max_workers=None):  # pylint: disable=unused-argument
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def submit(self, fn, *args):
        future = mock.Mock()
        try:
            value = fn(*args)
            future.result = lambda: value
        except Exception as exc:  # pylint: disable=broad-except
            def fail(exc=exc):
                raise exc
            future.result = fail
        return future


def options(base, **optional):
    return st.fixed_dictionaries(dict((k, v if isinstance(v, st.SearchStrategy) else st.just(v))
                                      for k, v in base.items()), optional=optional)


DB = dict(hostname="wa-db", password=OPTION_SECRETS[0])
STACK_BASE = dict(name="wa", wait_timeout=0, stop_timeout=0)
MODULES = dict(
    stack_info=(stack_info, options({}, name=st.sampled_from(["wa", "other"]), images=st.just([CORE, WEB, MYSQL]),
                                    query=st.sampled_from(["stacks[].name", "stacks[0].db"]))),
    stack=(stack, st.one_of(
        options(dict(STACK_BASE, state="present", coreapp_image=CORE, web_image=WEB, db=DB, network="wa-net"),
                media_volume=st.just("wa-media"), web_port=st.just(9090), wait=st.booleans(),
                api_key=st.just(OPTION_SECRETS[2]), image_source=st.sampled_from(["present", "pull", "archive"]),
                image_archive=st.just([ARCHIVE])),
        options(dict(STACK_BASE, state="absent"), remove_volumes=st.booleans(), verify_databases=st.booleans()),
        options(dict(STACK_BASE, state=st.sampled_from(["stopped", "restarted"])), wait=st.booleans()))),
    db_container=(db_container, options(
        dict(name="wa-db", root_password=OPTION_SECRETS[1], wait_timeout=0), state=st.sampled_from(["present", "absent"]),
        stack=st.just("wa"), user=st.just("wa"), password=st.just(OPTION_SECRETS[0]), network=st.just("wa-net"),
        wait=st.booleans(), image_source=st.sampled_from(["present", "pull"]), remove_volume=st.booleans(),
        published_port=st.just(13306))),
)


def run(name, args, engine, probes, check_mode):
    """Run module ``name``; returns ``(result, printed text)``. Any exception but ``SystemExit`` is a traceback."""
    out = io.StringIO()
    with patch_module_args(dict(args, _ansible_remote_tmp=WORK, _ansible_tmpdir=WORK, _ansible_check_mode=check_mode,
                                _ansible_diff=True)), \
            mock.patch.object(_docker.docker, "APIClient", lambda **kwargs: engine), \
            mock.patch.object(_probes, "wait_db", lambda *a, **k: probes), \
            mock.patch.object(_probes, "wait_https", lambda *a, **k: probes), \
            mock.patch.object(_stack, "ThreadPoolExecutor", Serial), \
            mock.patch.dict(os.environ, {}, clear=False), mock.patch.dict(warnings._global_warnings, clear=True), \
            contextlib.redirect_stdout(out):
        for var in [k for k in os.environ if k.startswith(("DOCKER_", "WABIZ_"))]:
            del os.environ[var]
        with pytest.raises(SystemExit):
            MODULES[name][0].main()
    COUNTS[name] += 1
    text = out.getvalue()
    return json.loads(text), text


@pytest.mark.parametrize("name", sorted(MODULES))
def test_any_answer_of_the_docker_engine_gives_a_clear_result_and_no_secret(name):
    @SETTINGS
    @given(MODULES[name][1], st.booleans(), st.booleans(), st.data())
    def prop(args, check_mode, probes, data):
        result, text = run(name, args, Engine(data), probes, check_mode)
        assert isinstance(result, dict) and ("failed" in result or "changed" in result), text
        if result.get("failed"):
            assert isinstance(result.get("msg"), str) and result["msg"], text
            assert "Traceback" not in result["msg"] and "exception" not in result, text
        for secret in ENV_SECRETS + OPTION_SECRETS:
            assert secret not in text, "%s appears in the output: %s" % (secret, text)

    prop()


def test_every_docker_module_had_its_cases():
    """Printed for the record (``tests/suites/14-property.sh`` shows it)."""
    print("\nhostile Docker engine answers, generated cases per module:")
    for name in sorted(MODULES):
        print("  %-18s %5d" % (name, COUNTS[name]))
    print("  %-18s %5d" % ("total", sum(COUNTS.values())))
    assert set(COUNTS) == set(MODULES) and min(COUNTS.values()) >= EXAMPLES, COUNTS
