# Copyright (c) 2026, wabiz.api_client contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Property-based test of every API module against a hostile or broken Webapp (Hypothesis, issue 23).

Each API module's ``main()`` runs in process with valid options; every HTTP answer is generated at the edge of
``requests`` (``HTTPAdapter.send``: requests itself still reads the body, decodes it, follows redirects): any status,
odd headers (``Content-Type``, ``Content-Encoding``, ``Content-Length``, ``Retry-After``, ``Location``), a body of
any bytes, JSON of any shape, type and depth (100,000 levels included), the expected answer with any one field
replaced by any JSON value, an answer that echoes the credentials of the request, or a transport error. Asserted
for every generated case:

* no traceback: ``main()`` ends with ``exit_json``/``fail_json`` and prints one JSON result with a message;
* no secret in the output: not an option's secret, not the Basic credentials sent, not a token or backup data the
  Webapp handed out (unless the module returns it on purpose: ``login`` its token, ``return_data`` the data).

The number of generated cases per module is printed at the end (``WABIZ_PROPERTY_ANSWERS`` per module, 300 by
default). No sleep: the modules run with ``api_retries=0`` and waits with ``wait_timeout=0`` (one poll).
"""

from __future__ import annotations

import base64
import collections
import contextlib
import io
import json
import os
import shutil
import tempfile
from unittest import mock
from urllib.parse import urlsplit

import pytest
import requests
import urllib3
from hypothesis import HealthCheck, given, settings, strategies as st

import hostile_json

from ansible.module_utils.common import warnings
from ansible.module_utils.testing import patch_module_args
from ansible_collections.wabiz.api_client.plugins.modules import (
    account_info, app_settings, health_info, login, message, settings_backup, settings_restore, two_step, webhook_ca)

EXAMPLES = int(os.environ.get("WABIZ_PROPERTY_ANSWERS", "300"))
SETTINGS = settings(max_examples=EXAMPLES, deadline=None, database=None, print_blob=True,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much,
                                           HealthCheck.data_too_large])
COUNTS = collections.Counter()
URL = "https://wa.example.test:9090"
PASSWORD, NEW_PASSWORD, BACKUP_PASSWORD = "Prop-Pass-9x!", "New-Pass-77x!", "Backup-Pass-55q"
TOKEN, PIN, DATA_IN = "tok-given-4f9a2c", "739182", "QUJDREVGR0hJSktMTU5PUFFSU1RVVldY"
PEM = ("-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIUQ2VydGlmaWNhdGVGb3JUZXN0czAKBggqhkjOPQQDAjAA\n"
       "-----END CERTIFICATE-----\n")
WORK = tempfile.mkdtemp(prefix="wabiz-answers-")
APPLICATION = {
    "callback_backoff_delay_ms": 3000, "callback_persist": True, "heartbeat_interval": 5,
    "media": {"auto_download": ["image", "video"]}, "wa_id": "16315551019", "log_level": "info",
    "webhooks": {"url": "https://hooks.example.test/wa", "max_concurrent_requests": 6,
                 "message": {"sent": True, "delivered": True, "read": False}},
}
META = {"api_status": "stable", "version": "v2.62.5"}
HEALTHS = [
    {"health": {"gateway_status": "connected"}, "meta": META},
    {"health": {"gateway_status": "unregistered"}, "meta": META},
    {"health": {"master1:aaa111": {"gateway_status": "disconnected", "role": "primary_master"},
                "master2:bbb222": {"gateway_status": "disconnected", "role": "secondary_master"},
                "coreapp1:ccc333": {"gateway_status": "connected", "role": "coreapp"}}, "meta": META},
]


# ------------------------------------------------------------------------------------------------
# What the Webapp answers
# ------------------------------------------------------------------------------------------------
def good(method, path, handed):
    """The answer of Meta's reference to ``method path`` (a JSON object, text, or ``None`` for no body)."""
    if path == "/v1/health":
        return handed["health"]
    if path == "/v1/users/login":
        return {"users": [{"token": handed["token"], "expires_after": "2026-12-07 00:00:00+00:00"}]}
    if path == "/v1/settings/backup":
        return {"settings": {"data": handed["data"]}, "meta": META}
    if path == "/v1/messages":
        return {"messages": [{"id": "gBEGkYiEB1VXAglK1ZEqA1YKPrU"}], "meta": META}
    if path == "/v1/certificates/webhooks/ca" and method == "GET":
        return PEM
    if method == "GET":
        return {"/v1/account/shards": {"account": {"shards": 1}},
                "/v1/settings/application": {"settings": {"application": APPLICATION}, "meta": META}}.get(path)
    return None


FIELDS = ["health", "gateway_status", "role", "users", "token", "expires_after", "messages", "id", "settings",
          "application", "data", "account", "shards", "meta", "version", "errors", "code", "title", "details",
          "webhooks", "url", "wa_id", "media", "message", "master1:aaa111", "coreapp1:ccc333"]
any_json = hostile_json.any_json(FIELDS, ["connected", "primary_master", "coreapp", "1e999", "NaN"])


def encode(value):
    return value.encode("utf-8", "surrogatepass") if isinstance(value, str) else json.dumps(value).encode(
        "utf-8", "surrogatepass")


def deep(depth, keys):
    """JSON bytes nested ``depth`` levels deep under the keys of a real answer (built as bytes: no recursion)."""
    head = b"".join(b'{"%s": ' % k.encode() for k in keys)
    return head + b"[" * depth + b"]" * depth + b"}" * len(keys)


def bodies(method, path, handed):
    expected = good(method, path, handed)
    return st.one_of(
        st.just(expected).map(lambda v: b"" if v is None else encode(v)),
        st.builds(hostile_json.replace_one, st.just(expected if expected is not None else {}), st.integers(0, 100),
                  any_json).map(encode),
        any_json.map(encode),
        st.builds(deep, st.sampled_from([30, 33, 200, 900, 1000, 5000, 100000]),
                  st.lists(st.sampled_from(FIELDS), max_size=3)),
        st.sampled_from([b"1e999", b"NaN", b"-Infinity", b"1" * 5000, b"{", b"[null]", b"\xff\xfe{", b"null",
                         b'{"health": {"gateway_status": 1e999}}', b'{"account": {"shards": 1e999}}',
                         b'{"errors": [{"code": [1], "title": {}, "details": [[]]}]}']),
        st.binary(max_size=40),
    )


HEADERS = {
    "Content-Type": st.sampled_from(["application/json", "text/plain", "text/html; charset=utf-16",
                                     "application/json; charset=bogus", "application/x-pem-file", ""]),
    "Content-Encoding": st.sampled_from(["gzip", "deflate", "br", "identity", "x-bogus"]),
    "Content-Length": st.sampled_from(["0", "3", "99999", "-1", "x"]),
    "Retry-After": st.sampled_from(["0", "1", "inf", "nan", "-5", "1e999", "9" * 400, "Fri, 31 Dec 9999 23:59:59 GMT",
                                    "Wed, 21 Oct 2015 07:28:00 GMT", "soon"]),
    "Location": st.sampled_from(["http://evil.example.test/steal", "https://wa.example.test:9090/v1/health", "/x",
                                 "ftp://x", "http://[::1", ""]),
    "Set-Cookie": st.just("session=abc; Path=/"),
}
headers = st.dictionaries(st.sampled_from(sorted(HEADERS)), st.just(None), max_size=3).flatmap(
    lambda names: st.fixed_dictionaries(dict((n, HEADERS[n]) for n in names)))
status = st.one_of(st.sampled_from([200, 200, 200, 201, 204, 301, 307, 400, 401, 403, 404, 429, 500, 503]),
                   st.integers(100, 599))
ERRORS = [requests.exceptions.ConnectionError("Connection refused"), requests.exceptions.ReadTimeout("timed out"),
          requests.exceptions.SSLError("certificate verify failed"), requests.exceptions.ChunkedEncodingError("x"),
          requests.exceptions.ContentDecodingError("x"), OSError("Connection reset by peer"), ValueError("bad header")]


class Webapp:
    """Stands in for ``HTTPAdapter.send``: each request gets a generated answer, built into a real response by
    requests (``build_response``), so its own reading, decoding and redirect handling run."""

    def __init__(self, data):
        self.data = data
        self.handed = {"token": "tok-handed-%s" % data.draw(st.text("0123456789abcdef", min_size=8, max_size=8)),
                       "data": "ZGF0YS1oYW5kZWQt" + data.draw(st.text("ABCDEF0123", min_size=8, max_size=8)),
                       "health": data.draw(st.sampled_from(HEALTHS))}
        self.sent = []
        self.taken = set()

    def __call__(self, adapter, request, **kwargs):
        path = urlsplit(request.url).path
        self.sent.append((request.method, request.url))
        kind = self.data.draw(st.sampled_from(["good", "good", "answer", "answer", "answer", "echo", "error"]))
        if kind == "error":
            raise self.data.draw(st.sampled_from(ERRORS))
        if kind == "good":
            expected = good(request.method, path, self.handed)
            code, head, body = 200, {}, b"" if expected is None else encode(expected)
        else:
            code, head = self.data.draw(status), self.data.draw(headers)
            body = self.data.draw(bodies(request.method, path, self.handed))
        if kind == "echo":  # a Webapp that sends back what it was sent, credentials included
            echoed = [request.headers.get("Authorization"), (request.body or b"").decode("utf-8", "replace")]
            body = encode({"errors": [{"code": 1000, "title": echoed[0], "details": echoed[1]}], "echo": echoed})
        self.note_secrets(path, code, body)
        raw = urllib3.HTTPResponse(body=io.BytesIO(body), headers=head, status=code, preload_content=False,
                                   reason=self.data.draw(st.sampled_from(["OK", "", "Bad \u00e9", None])))
        return adapter.build_response(request, raw)

    def note_secrets(self, path, code, body):
        """A token or backup data handed out in a successful answer is a secret from then on (an error answer
        that carries one hands out nothing: the module shows it as the error's text, as it shows any)."""
        try:
            answer = json.loads(body)
        except (ValueError, RecursionError):
            return
        key = {"/v1/users/login": ("users", 0, "token"), "/v1/settings/backup": ("settings", "data")}.get(path)
        if code not in (200, 201, 202, 204) or key is None:
            return
        for part in key:
            if not isinstance(answer, dict if isinstance(part, str) else list) or len(answer) <= (
                    0 if isinstance(part, str) else part):
                return
            answer = answer.get(part) if isinstance(part, str) else answer[part]
        if answer in self.handed.values():
            self.taken.add(answer)


# ------------------------------------------------------------------------------------------------
# The modules, each with options that pass validation and a few variants
# ------------------------------------------------------------------------------------------------
NO_WAIT = dict(api_retries=0, api_retry_delay=0)
API = dict(NO_WAIT, api_url=URL, api_token=TOKEN)
LOGIN = dict(NO_WAIT, api_url=URL, api_username="admin", api_password=PASSWORD)
check = st.booleans()


def options(base, **optional):
    """Module options: ``base`` as given (a value or a strategy), each of ``optional`` (strategies) maybe."""
    return st.fixed_dictionaries(dict((k, v if isinstance(v, st.SearchStrategy) else st.just(v))
                                      for k, v in base.items()), optional=optional)


MODULES = dict(
    login=(login, options(LOGIN, new_password=st.just(NEW_PASSWORD))),
    two_step=(two_step, st.sampled_from([dict(API, state="present", pin=PIN), dict(API, state="absent"),
                                         dict(LOGIN, state="present", pin=PIN)])),
    health_info=(health_info, options(
        dict(NO_WAIT, api_url=URL, wait_timeout=0), wait=st.booleans(), expected_shards=st.sampled_from([1, 2]),
        fail_unhealthy=st.booleans(), api_token=st.sampled_from([None, TOKEN]), api_key=st.just("key-given-8d1e"),
        condition=st.sampled_from(["summary.healthy", "length(health.gateway_status) > `1`", "max(nodes)",
                                   "nodes[?gateway_status=='connected'] | length(@) >= `1`", "health.meta"]))),
    account_info=(account_info, st.sampled_from([API, LOGIN, dict(NO_WAIT, api_url=URL, api_key="key-given-8d1e")])),
    message=(message, options(dict(API, to="+15550001111", body="hello", wait_timeout=0), wait_healthy=st.booleans(),
                              expected_shards=st.sampled_from([1, 2]))),
    app_settings=(app_settings, st.one_of(
        options(dict(API, settings=st.sampled_from([
            {"heartbeat_interval": 7}, {"webhooks": {"url": "https://hooks.example.test/new", "message": {"read": True}}},
            {"media": {"auto_download": ["image"]}, "callback_backoff_delay_ms": "4000"},
            {"webhooks.max_concurrent_requests": 12, "x_undocumented": {"deep": 1}}])), force=st.booleans()),
        st.sampled_from([dict(API, state="reset"), dict(API, state="reset", force=True)]))),
    webhook_ca=(webhook_ca, st.sampled_from([dict(API, content=PEM), dict(API, state="absent")])),
    settings_backup=(settings_backup, options(dict(API, backup_password=BACKUP_PASSWORD, force=True),
                                              return_data=st.booleans())),
    settings_restore=(settings_restore, options(
        dict(API, backup_password=BACKUP_PASSWORD, data=DATA_IN, wait_timeout=0), force=st.booleans(),
        wait=st.booleans(), metadata=st.sampled_from([
            {"topology": {"masters": 0, "coreapps": 1, "shards": 1}, "wa_id": "16315551019"},
            {"topology": {"masters": 2, "coreapps": 1, "shards": 1}}]))),
)


def run(name, args, webapp, check_mode):
    """Run module ``name``; returns ``(result, printed text)``. Any exception but ``SystemExit`` is a traceback."""
    out = io.StringIO()
    args = dict((k, v) for k, v in args.items() if v is not None)
    if name == "settings_backup":
        args["dest"] = os.path.join(tempfile.mkdtemp(dir=WORK), "new.bak")

    def send(adapter, request, **kwargs):
        return webapp(adapter, request, **kwargs)
    with patch_module_args(dict(args, _ansible_remote_tmp=WORK, _ansible_tmpdir=WORK, _ansible_check_mode=check_mode,
                                _ansible_diff=True)), \
            mock.patch.object(requests.adapters.HTTPAdapter, "send", send), \
            mock.patch.dict(os.environ, {}, clear=False), mock.patch.dict(warnings._global_warnings, clear=True), \
            contextlib.redirect_stdout(out):
        for var in [k for k in os.environ if k.startswith(("WABIZ_", "REQUESTS_", "CURL_", "NETRC"))]:
            del os.environ[var]
        with pytest.raises(SystemExit):
            MODULES[name][0].main()
    COUNTS[name] += 1
    text = out.getvalue()
    return json.loads(text), text


@pytest.mark.parametrize("name", sorted(MODULES))
def test_any_answer_of_the_webapp_gives_a_clear_result_and_no_secret(name):
    @SETTINGS
    @given(MODULES[name][1], check, st.data())
    def prop(args, check_mode, data):
        webapp = Webapp(data)
        result, text = run(name, args, webapp, check_mode)
        assert isinstance(result, dict) and ("failed" in result or "changed" in result), text
        if result.get("failed"):
            assert isinstance(result.get("msg"), str) and result["msg"], text
            assert "Traceback" not in result["msg"] and "exception" not in result, text
        secrets = [PASSWORD, NEW_PASSWORD, BACKUP_PASSWORD, TOKEN, PIN, DATA_IN, "key-given-8d1e",
                   base64.b64encode(("admin:%s" % PASSWORD).encode()).decode(),
                   base64.b64encode(("admin:%s" % NEW_PASSWORD).encode()).decode()]
        # What the module returns on purpose: login its token, settings_backup with return_data the data.
        returned = {webapp.handed["token"] if name == "login" else None, args.get("return_data") and webapp.handed["data"]}
        secrets.extend(webapp.taken - returned)
        for secret in secrets:
            assert secret not in text, "%s appears in the output: %s" % (secret, text)

    prop()


def test_every_api_module_had_its_cases():
    """Printed for the record (``tests/suites/14-property.sh`` shows it)."""
    shutil.rmtree(WORK, ignore_errors=True)
    print("\nhostile Webapp answers, generated cases per module:")
    for name in sorted(MODULES):
        print("  %-18s %5d" % (name, COUNTS[name]))
    print("  %-18s %5d" % ("total", sum(COUNTS.values())))
    assert set(COUNTS) == set(MODULES) and min(COUNTS.values()) >= EXAMPLES, COUNTS
