# Copyright (c) 2026, wabiz.api_client contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Property-based test of every module's inputs (Hypothesis).

Each module's ``main()`` runs in process with generated arguments for every option: wrong types, empty,
huge, negative, NaN/infinite, unicode, binary files, missing files, directories. The only fakes are at
the edge: ``requests.Session.request`` and ``docker.APIClient`` record that something was sent and answer
an error (no server, no engine). Asserted for every generated case:

* no traceback: ``main()`` ends with ``exit_json``/``fail_json`` (``SystemExit``) and prints one JSON result;
* an invalid value of an option: the module fails, the message names the option, nothing was sent;
* any value at all: no traceback, and no value given for a secret option appears in the output.

The number of generated cases per module is printed at the end (``WABIZ_PROPERTY_EXAMPLES`` per test,
two tests per module).
"""

from __future__ import annotations

import atexit
import collections
import contextlib
import io
import json
import os
import shutil
import tempfile
from unittest import mock

import pytest
import requests
import docker
from hypothesis import HealthCheck, given, settings, strategies as st

from ansible.module_utils.testing import patch_module_args
from ansible_collections.wabiz.api_client.plugins.modules import (
    account_info, app_settings, db_container, health_info, login, message, migration_state, settings_backup,
    settings_restore, stack, stack_info, two_step, webhook_ca)

EXAMPLES = int(os.environ.get("WABIZ_PROPERTY_EXAMPLES", "200"))
SETTINGS = settings(max_examples=EXAMPLES, deadline=None, database=None, print_blob=True,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much,
                                           HealthCheck.data_too_large])
COUNTS = collections.Counter()
URL = "https://wa.example.test:9090"
SECRET_OPTIONS = ("api_password", "api_token", "api_key", "new_password", "backup_password", "pin", "data",
                  "root_password", "password")

# ------------------------------------------------------------------------------------------------
# Files the generated arguments point at (made once, removed at exit)
# ------------------------------------------------------------------------------------------------
WORK = tempfile.mkdtemp(prefix="wabiz-prop-")
atexit.register(shutil.rmtree, WORK, True)
PEM = ("-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIUQ2VydGlmaWNhdGVGb3JUZXN0czAKBggqhkjOPQQDAjAA\n"
       "-----END CERTIFICATE-----\n")


def _file(name, content):
    path = os.path.join(WORK, name)
    with open(path, "wb") as handle:
        handle.write(content)
    return path


FILES = dict(
    pem=_file("ca.pem", PEM.encode()),
    binary=_file("binary.der", bytes(range(256)) * 8),
    empty=_file("empty.txt", b""),
    text=_file("notes.txt", "no certificate here \u00e9\n".encode()),
    key=_file("key.pem", b"-----BEGIN PRIVATE KEY-----\nMIIB\n-----END PRIVATE KEY-----\n"),
    missing=os.path.join(WORK, "missing", "file.pem"),
    directory=WORK,
)
# A backup whose sidecar metadata is valid JSON but not an object, one with a negative topology.
_file("list.bak", b"QUJDREVGR0hJSktMTU5PUFFSU1RVVldY")
_file("list.bak.meta.json", b"[1, 2, 3]")
_file("neg.bak", b"QUJDREVGR0hJSktMTU5PUFFSU1RVVldY")
_file("neg.bak.meta.json", json.dumps({"sha256": "x", "size": 32, "topology": {"masters": -1, "coreapps": -3,
                                                                               "shards": -2}}).encode())
_file("bin.bak", bytes(range(256)))
_file("bin.bak.meta.json", bytes(range(256)))
BAD_BACKUPS = [os.path.join(WORK, n) for n in ("list.bak", "neg.bak", "bin.bak")]

# ------------------------------------------------------------------------------------------------
# Strategies
# ------------------------------------------------------------------------------------------------
huge = st.integers(min_value=10 ** 6, max_value=10 ** 40)
negative = st.integers(max_value=-1, min_value=-(10 ** 40))
bad_float = st.one_of(st.just(float("nan")), st.just(float("inf")), st.just(float("-inf")),
                      st.floats(max_value=-0.001, allow_nan=False), st.just("nan"), st.just("-inf"))
not_number = st.one_of(st.text(alphabet="abcxyz!? \u00e9\u4e2d", min_size=1), st.lists(st.integers(), min_size=1),
                       st.dictionaries(st.text(min_size=1, max_size=3), st.integers(), min_size=1))
with_newline = st.builds(lambda a, b: "Secret" + a + b, st.text(max_size=20),
                         st.sampled_from(["\n", "\r\n", "\t", "\x00", "\x7f"]))
anything = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(min_value=-(10 ** 30), max_value=10 ** 30),
              st.floats(), st.text(max_size=40), st.sampled_from(list(FILES.values()) + BAD_BACKUPS)),
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=4)),
    max_leaves=8)


def int_out_of(low, high):
    parts = [st.integers(min_value=high + 1, max_value=high + 10 ** 30), not_number, st.floats(0.1, 0.9),
             st.sampled_from(["1.5", "x"])]
    if low is not None:
        parts.append(st.integers(max_value=low - 1, min_value=low - 10 ** 30))
    return st.one_of(*parts)


def float_out_of(high):
    return st.one_of(bad_float, st.just(0), st.floats(min_value=high + 1, allow_infinity=False, allow_nan=False),
                     not_number)


bad_url = st.one_of(
    st.text(alphabet="abc.:/0123456789", max_size=30).filter(lambda s: not s.startswith(("http://", "https://"))),
    st.sampled_from(["wa.example.com:9090", "ftp://wa.example.com", "https://", "https://:9090",
                     "https://wa.example.com:99999", "https://wa.example.com:port", "https://[::1",
                     "https://wa example.com", "https://wa.example.com\n", "//wa.example.com",
                     "https://ops:Url-Pass-77@wa.example.com"]),
)
bad_file = st.sampled_from([FILES["missing"], FILES["directory"], FILES["binary"], FILES["empty"], FILES["text"],
                            "bad\x00path"])
# Secret values are at least 6 characters: Ansible masks every occurrence of a no_log value in the output,
# so a 1-character "secret" would garble the very message that names the option.
bad_token = st.builds(lambda a, b, c: "tok" + a + b + c, st.text(alphabet="xyz", max_size=4),
                      st.sampled_from([" ", "\n", "\u00e9", "\u4e2d", "\t", "\x00"]), st.text(alphabet="xyz", max_size=4))

COMMON_API = dict(
    api_url=bad_url,
    api_timeout=float_out_of(3600),
    api_retries=int_out_of(0, 100),
    api_retry_delay=st.one_of(bad_float, st.floats(min_value=301, allow_infinity=False, allow_nan=False)),
    ca_path=bad_file,
    api_token=bad_token,
    api_key=bad_token,
)
COMMON_DOCKER = dict(
    timeout=int_out_of(1, 3600),
    docker_host=st.sampled_from(["ftp://docker", "unix:// sock", "tcp://host\n", ""]),
    ca_path=bad_file,
    client_cert=st.sampled_from([FILES["missing"], FILES["directory"], FILES["binary"]]),
)
bad_settings = st.one_of(
    # Undocumented names ("nonsense", "webhooks.bogus") are not invalid: app_settings sends them for the client to
    # judge (issue 12). The read-only wa_id and a group that is not a dictionary are refused before any call.
    st.fixed_dictionaries({"wa_id": anything}),
    st.fixed_dictionaries({"media": st.one_of(st.text(), st.integers(), st.lists(st.integers()))}),
    st.fixed_dictionaries({"heartbeat_interval": st.one_of(negative, huge.filter(lambda n: n > 2 ** 31),
                                                           st.just(0), not_number, st.floats())}),
    st.fixed_dictionaries({"webhooks": st.fixed_dictionaries({"url": st.one_of(
        st.sampled_from(["http://hook.example", "hook.example", "https://", "https://a b"]), st.integers())})}),
    st.fixed_dictionaries({"callback_backoff_delay_ms": st.one_of(negative, st.lists(st.integers(), min_size=1))}),
    st.fixed_dictionaries({"webhooks": st.one_of(st.text(), st.integers(), st.lists(st.integers()))}),
)
bad_metadata = st.one_of(
    st.fixed_dictionaries({"topology": st.one_of(
        st.fixed_dictionaries({"masters": st.one_of(negative, huge, st.text(min_size=1))}),
        st.fixed_dictionaries({"coreapps": st.one_of(negative, huge)}),
        st.fixed_dictionaries({"shards": st.one_of(negative, st.sampled_from([0, 3, 5, 64]), st.text(min_size=1))}),
        st.text(min_size=1), st.lists(st.integers(), min_size=1))}),
    st.fixed_dictionaries({"wa_id": st.one_of(st.integers(), st.lists(st.integers(), min_size=1))}),
    st.lists(st.integers(), min_size=1), st.text(alphabet="xyz[]", min_size=1),
)
bad_data = st.one_of(st.just(""), st.text(alphabet=" \n\t", max_size=5), st.text(alphabet="QUJD", max_size=15),
                     st.text(alphabet="\u00e9\u4e2d!{}", min_size=1, max_size=40))

# module -> (base arguments that pass validation, option -> strategy of invalid values)
VALID_BACKUP_DATA = "QUJDREVGR0hJSktMTU5PUFFSU1RVVldY"
#: Counts that break the documented topology rules (``_stack_model.topology_errors``), and malformed ones.
bad_topology = st.one_of(
    st.fixed_dictionaries({"masters": st.just(0), "coreapps": st.integers(2, 50)}),
    st.fixed_dictionaries({"masters": st.integers(1, 5), "coreapps": st.integers(1, 50),
                           "shards": st.sampled_from([0, 3, 5, 64, -1])}),
    st.fixed_dictionaries({"masters": st.integers(1, 5), "coreapps": st.just(1), "shards": st.sampled_from([2, 4])}),
    st.fixed_dictionaries({"masters": st.integers(0, 5), "coreapps": st.just(0)}),
    st.fixed_dictionaries({"masters": st.just(1), "coreapps": st.just(2), "webapps": st.integers(-3, 0)}),
    st.fixed_dictionaries({"masters": st.just(1), "coreapps": st.just(2), "hosts": int_out_of(1, 1000)}),
    st.fixed_dictionaries({"masters": st.just(-1), "coreapps": st.just(1)}),
    st.fixed_dictionaries({"coreapps": st.just(1)}),
    st.text(min_size=1))

#: The state record's times and the updates that break its schema (issue 23.4).
bad_time = st.one_of(bad_float, st.floats(min_value=4102444801, allow_infinity=False, allow_nan=False),
                     st.sampled_from([1e20, "1e20"]), not_number)
bad_update = st.one_of(
    # Fields the module keeps itself, and fields the record does not have.
    st.dictionaries(st.sampled_from(migration_state.ms.OWNED + ("bogus", "expected")), anything, min_size=1),
    st.fixed_dictionaries({"backup": st.fixed_dictionaries({"size": st.one_of(negative, bad_float)})}),
    st.fixed_dictionaries({"rollback": st.fixed_dictionaries({"started": bad_time})}),
    st.fixed_dictionaries({"cleanup": st.fixed_dictionaries({"webhooks_reset": st.one_of(st.text(), st.integers())})}),
    st.fixed_dictionaries({"old_setup": st.one_of(st.text(min_size=1), st.lists(st.integers(), min_size=1))}))
_OPEN_DIR = os.path.join(WORK, "world-writable")
os.makedirs(_OPEN_DIR, mode=0o777)
os.chmod(_OPEN_DIR, 0o777)

MODULES = dict(
    account_info=(account_info, dict(api_url=URL, api_token="tok"), dict(COMMON_API)),
    health_info=(health_info, dict(api_url=URL, api_token="tok"), dict(
        COMMON_API, wait_timeout=int_out_of(0, 86400), wait_interval=float_out_of(3600),
        expected_shards=st.one_of(negative, st.sampled_from([0, 3, 5, 6, 64, 10 ** 12]), not_number),
        condition=st.sampled_from(["[[", "foo(", "`", "nodes[?", "length(", "a ||", "@@", "'"]))),
    login=(login, dict(api_url=URL, api_username="admin", api_password="Secret-Pass-1"), dict(
        COMMON_API, api_token=st.nothing(), api_username=st.one_of(with_newline, st.just("ad:min")),
        api_password=with_newline,
        new_password=st.one_of(with_newline, st.text(max_size=7).filter(bool), st.text(min_size=65, max_size=80),
                               st.text(alphabet="abc", min_size=8, max_size=20)))),
    two_step=(two_step, dict(api_url=URL, api_token="tok", state="present", pin="123456"), dict(
        COMMON_API, pin=st.one_of(st.sampled_from(["123456\n", " 123456", "12345", "1234567", "12a456", "",
                                                   "\u0661\u0662\u0663\u0664\u0665\u0666"]),
                                  # A "PIN" that is part of the word pin: Ansible masks it in the option's name.
                                  st.text(max_size=10).filter(lambda s: not (len(s) == 6 and s.isascii()
                                                                             and s.isdigit()) and s not in "pin")),
        state=st.text(min_size=1).filter(lambda s: s not in ("present", "absent")))),
    message=(message, dict(api_url=URL, api_token="tok", to="+15550001111", body="hello"), dict(
        COMMON_API, to=st.one_of(st.sampled_from(["", "abc", "+1555\n", "1234", "+" + "1" * 30, "15550001111\n"]),
                                 st.text(alphabet="abc\u00e9\n", min_size=1)),
        body=st.one_of(st.just(""), st.integers(4097, 10000).map(lambda n: "\u00e9" * n)))),
    app_settings=(app_settings, dict(api_url=URL, api_token="tok", settings={"heartbeat_interval": 5}), dict(
        COMMON_API, settings=bad_settings, state=st.sampled_from(["", "absent", "PRESENT", "reset "]))),
    webhook_ca=(webhook_ca, dict(api_url=URL, api_token="tok", content=PEM), dict(
        COMMON_API, content=st.one_of(st.text(max_size=50).filter(bool),
                                      st.just(open(FILES["key"]).read()), st.just("\x00" * 10)),
        src=st.sampled_from([FILES["missing"], FILES["directory"], FILES["binary"], FILES["empty"],
                             FILES["text"], FILES["key"], "src\x00path"]))),
    settings_backup=(settings_backup, dict(api_url=URL, api_token="tok", backup_password="Backup-1",
                                           dest=os.path.join(WORK, "out", "new.bak")), dict(
        COMMON_API, backup_password=st.one_of(with_newline, st.just("")),
        dest=st.sampled_from([WORK, os.path.join(WORK, "nodir", "x.bak"), "bad\x00dest", FILES["binary"],
                              FILES["text"]]))),
    settings_restore=(settings_restore, dict(api_url=URL, api_token="tok", backup_password="Backup-1",
                                             data=VALID_BACKUP_DATA), dict(
        COMMON_API, backup_password=st.one_of(with_newline, st.just("")), data=bad_data, metadata=bad_metadata,
        wait_timeout=int_out_of(0, 86400), wait_interval=float_out_of(3600),
        src=st.sampled_from([FILES["missing"], FILES["directory"], FILES["binary"], FILES["empty"]] + BAD_BACKUPS))),
    stack_info=(stack_info, dict(), dict(
        COMMON_DOCKER, query=st.sampled_from(["[[", "stacks[?", "`", "foo("]), topology=bad_topology)),
    stack=(stack, dict(name="wabiz-prop"), dict(
        COMMON_DOCKER, name=st.sampled_from(["", "-x", "a b", "a/b", "\u00e9", "x" * 200]),
        masters=int_out_of(0, 100), coreapps=int_out_of(0, 100), webapps=int_out_of(0, 100),
        web_port=int_out_of(1, 65535), wait_timeout=int_out_of(0, 86400), stop_timeout=int_out_of(0, 3600),
        network=st.sampled_from(["a b", "-n", "n/x"]),
        env=st.one_of(st.fixed_dictionaries({"X": st.one_of(st.lists(st.integers()),
                                                            st.dictionaries(st.text(), st.integers()))}),
                      st.fixed_dictionaries({"A=B": st.text()}), st.fixed_dictionaries({"X": st.just("a\x00b")})),
        db=st.one_of(st.fixed_dictionaries({"hostname": st.just("db"), "password": st.just("Pw-1"),
                                            "port": int_out_of(1, 65535)}),
                     st.fixed_dictionaries({"hostname": st.just("db"), "password": st.sampled_from(
                         ["a?b", "{x}", "p&q", "~1", "wow!", "(x)", "a^b", "k=v"])}),
                     st.fixed_dictionaries({"hostname": st.just("db")}), st.text(min_size=1)),
        topology=bad_topology,
        verify_db=st.fixed_dictionaries({"port": int_out_of(0, 65535)}))),
    migration_state=(migration_state, dict(state_dir=os.path.join(WORK, "state"), migration="prop"), dict(
        state_dir=st.sampled_from([_OPEN_DIR, os.path.join(_OPEN_DIR, "state"), FILES["text"], "bad\x00dir"]),
        migration=st.one_of(with_newline, st.sampled_from(["", "../x", "a/b", " x", "x" * 200])),
        run_id=with_newline, holder=with_newline, controller_pid=int_out_of(1, 4194304),
        downtime_started=bad_time, downtime_ended=bad_time, update=bad_update,
        marks=st.lists(st.fixed_dictionaries({"step": st.just("step1_install"), "event": st.just("finished"),
                                              "at": bad_time}), min_size=1, max_size=2),
        refuse_status=st.lists(st.text().filter(lambda t: t not in migration_state.ms.STATUSES), min_size=1),
        require_done=st.lists(st.text().filter(lambda t: t not in migration_state.ms.STEP_NAMES), min_size=1))),
    db_container=(db_container, dict(name="wabiz-prop-db", root_password="Root-Pass-1"), dict(
        COMMON_DOCKER, name=st.sampled_from(["", "-x", "a b", "a/b"]),
        published_port=int_out_of(1, 65535), port=int_out_of(1, 65535), wait_timeout=int_out_of(0, 86400),
        root_password=st.one_of(with_newline, st.sampled_from(["Root?1", "Root=1", "Root!1"])),
        password=st.sampled_from(["User&1", "User~1"]),
        env=st.fixed_dictionaries({"X": st.lists(st.integers())}))),
)


# ------------------------------------------------------------------------------------------------
# Running a module
# ------------------------------------------------------------------------------------------------
def _refusal(*args, **kwargs):
    response = requests.models.Response()
    response.status_code = 400
    response.reason = "Bad Request"
    response.headers["Content-Type"] = "application/json"
    response.raw = io.BytesIO(json.dumps({"errors": [{"code": 1009, "title": "Parameter value is not valid",
                                                      "details": "property test: no real client"}]}).encode())
    return response


class Engine:
    """Stands in for ``docker.APIClient``: records that the engine was contacted and refuses."""

    def __init__(self, sent):
        self.sent = sent

    def __call__(self, *args, **kwargs):
        self.sent.append(("docker", kwargs.get("base_url")))
        raise docker.errors.DockerException("property test: no engine")


def run(name, args):
    """Run module ``name`` with ``args``; returns ``(result, printed text, what was sent)``.

    Any exception other than ``SystemExit`` propagates: that is a traceback, and fails the test.
    """
    module = MODULES[name][0]
    sent = []
    out = io.StringIO()

    def request(self, method, url, **kwargs):
        sent.append((method, url))
        return _refusal()

    with patch_module_args(dict(args, _ansible_remote_tmp=WORK, _ansible_tmpdir=WORK)), \
            mock.patch.object(requests.Session, "request", request), \
            mock.patch.object(docker, "APIClient", Engine(sent)), \
            mock.patch.dict(os.environ, {}, clear=False), \
            contextlib.redirect_stdout(out):
        for var in [k for k in os.environ if k.startswith(("WABIZ_", "DOCKER_"))]:
            del os.environ[var]
        with pytest.raises(SystemExit):
            module.main()
    COUNTS[name] += 1
    text = out.getvalue()
    return json.loads(text), text, sent


def names_option(msg, option):
    leaf = option.rsplit(".", 1)[-1]
    return leaf in msg


# ------------------------------------------------------------------------------------------------
# The properties
# ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", sorted(MODULES))
def test_an_invalid_option_fails_clearly_before_anything_is_sent(name):
    base, invalid = MODULES[name][1], MODULES[name][2]

    @SETTINGS
    @given(st.sampled_from(sorted(invalid)).flatmap(lambda opt: st.tuples(st.just(opt), invalid[opt])))
    def check(case):
        option, value = case
        args = dict(base)
        if option == "src":
            args.pop("data", None)
            args.pop("content", None)
        args[option] = value
        result, _text, sent = run(name, args)
        assert result.get("failed"), "%s=%r was accepted: %s" % (option, value, result)
        assert names_option(result["msg"], option), "the message does not name %s: %s" % (option, result["msg"])
        assert "Traceback" not in result["msg"] and "exception" not in result
        assert sent == [], "%s=%r: sent %s before failing" % (option, value, sent)

    check()


@pytest.mark.parametrize("name", sorted(MODULES))
def test_any_value_of_any_option_gives_a_result_and_no_traceback(name):
    base, invalid = MODULES[name][1], MODULES[name][2]
    options = sorted(set(invalid) | set(base))

    values = st.one_of(anything, *[invalid[o] for o in options if o in invalid])

    @SETTINGS
    @given(st.dictionaries(st.sampled_from(options), values, max_size=5))
    def check(extra):
        args = dict(base, **extra)
        result, text, sent = run(name, args)
        assert isinstance(result, dict) and ("failed" in result or "changed" in result)
        if result.get("failed"):
            assert result.get("msg") and "Traceback" not in result["msg"] and "exception" not in result
        for option in SECRET_OPTIONS:
            value = args.get(option)
            # (not when another, printed option holds the same text: api_retry_delay "123456" and pin " 123456")
            if isinstance(value, str) and len(value) >= 6 and value.strip() and not value.isspace() \
                    and not any(value.strip() in str(v) for k, v in args.items() if k not in SECRET_OPTIONS):
                assert value not in text, "the value of %s appears in the output" % option

    check()


def test_every_module_had_several_hundred_cases():
    """Printed for the record (``make test`` shows it); each module ran two properties of EXAMPLES cases."""
    print("\ngenerated cases per module:")
    for name in sorted(MODULES):
        print("  %-18s %5d" % (name, COUNTS[name]))
    print("  %-18s %5d" % ("total", sum(COUNTS.values())))
    assert set(COUNTS) == set(MODULES)
    assert min(COUNTS.values()) >= 2 * EXAMPLES * 0.9, COUNTS
