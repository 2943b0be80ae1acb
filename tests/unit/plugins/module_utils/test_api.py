# Copyright (c) 2026, wabiz.api_client contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests of the shared API client: a fake HTTP session stands in for the server."""

from __future__ import annotations

import base64
import http.server
import io
import json
import threading
import time
from unittest import mock

import pytest
import requests

from ansible.module_utils.common import warnings as ansible_warnings
from ansible.module_utils.testing import patch_module_args
from ansible_collections.wabiz.api_client.plugins.module_utils import _api, _health, _validate, _wait

URL = "https://wa.example.test:9090"
PASSWORD = "S3cret!pass"
TOKEN = "eyJ.token-value.abcdef"
API_KEY = "monitoring-key-123456"


def make_response(status, body=None, headers=None, text=None, reason=""):
    resp = requests.Response()
    resp.status_code = status
    resp.reason = reason
    if body is not None:
        content = json.dumps(body).encode()
        resp.headers["Content-Type"] = "application/json"
    else:
        content = (text or "").encode()
    resp.raw = io.BytesIO(content)  # read by the client as it reads a real answer
    resp.headers.update(headers or {})
    return resp


def wa_error(status, code, title, details="", headers=None):
    return make_response(status, {"errors": [{"code": code, "title": title, "details": details}],
                                  "meta": {"api_status": "stable", "version": "v2.62.5"}}, headers=headers)


def login_ok(token=TOKEN):
    return make_response(200, {"users": [{"token": token, "expires_after": "2026-12-01 10:00:00+00:00"}]})


class FakeSession:
    """Answers queued responses (or raises queued exceptions) and records every call."""

    def __init__(self, answers):
        self.answers = list(answers)
        self.calls = []
        self.verify = True

    def mount(self, *args):
        pass

    def request(self, method, url, json=None, data=None, headers=None, timeout=None, verify=None, **kwargs):
        assert kwargs == dict(stream=True, allow_redirects=False, auth=_api._no_netrc)
        self.calls.append(dict(method=method, url=url, json=json, headers=dict(headers or {}), verify=verify))
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer


def client(answers, **kwargs):
    sleeps = []
    session = FakeSession(answers)
    kwargs.setdefault("retries", 3)
    c = _api.WAClient(URL, session=session, sleep=sleeps.append, rand=lambda: 0.5, **kwargs)
    return c, session, sleeps


def connect_refused():
    reason = _api.NewConnectionError(None, "Failed to establish a new connection: [Errno 111] Connection refused")
    return requests.exceptions.ConnectionError(_api.MaxRetryError(None, "/v1/health", reason=reason))


def dropped():
    return requests.exceptions.ConnectionError(
        "('Connection aborted.', RemoteDisconnected('Remote end closed connection without response'))")


# -- login then token ------------------------------------------------------------------------

def test_login_then_bearer_token_is_cached_for_the_run():
    c, s, sleeps = client([login_ok(), make_response(200, {"health": {}}), make_response(200, {"health": {}})],
                          username="admin", password=PASSWORD)
    c.get("/v1/health")
    c.get("/v1/health")
    assert [call["url"] for call in s.calls] == [URL + "/v1/users/login", URL + "/v1/health", URL + "/v1/health"]
    basic = base64.b64encode(("admin:" + PASSWORD).encode()).decode()
    assert s.calls[0]["headers"]["Authorization"] == "Basic " + basic
    assert s.calls[1]["headers"]["Authorization"] == "Bearer " + TOKEN
    assert s.calls[2]["headers"]["Authorization"] == "Bearer " + TOKEN


def test_given_token_is_used_without_login():
    c, s, sleeps = client([make_response(200, {})], token=TOKEN)
    c.get("/v1/settings/application")
    assert len(s.calls) == 1 and s.calls[0]["headers"]["Authorization"] == "Bearer " + TOKEN


def test_first_login_with_new_password_sends_it_and_keeps_it():
    c, s, sleeps = client([login_ok()], username="admin", password="secret")
    record = c.login(new_password=PASSWORD)
    assert record == {"token": TOKEN, "expires_after": "2026-12-01 10:00:00+00:00"}
    assert s.calls[0]["json"] == {"new_password": PASSWORD}
    assert c._password == PASSWORD


def test_expired_cached_token_logs_in_again_once():
    c, s, sleeps = client([login_ok("t1"), wa_error(401, 1005, "Access denied"), login_ok("t2"),
                           make_response(200, {"ok": 1})], username="admin", password=PASSWORD)
    assert c.get("/v1/stats") == {"ok": 1}
    assert [call["headers"]["Authorization"].split()[0] for call in s.calls] == ["Basic", "Bearer", "Basic", "Bearer"]
    assert s.calls[3]["headers"]["Authorization"] == "Bearer t2"


def test_401_with_a_given_token_fails_without_retry():
    c, s, sleeps = client([wa_error(401, 1005, "Access denied", "Invalid token")], token=TOKEN)
    with pytest.raises(_api.WAApiError) as exc:
        c.get("/v1/health")
    assert exc.value.status == 401 and len(s.calls) == 1


def test_api_key_is_sent_as_apikey_header():
    c, s, sleeps = client([make_response(200, {"health": {}})], api_key=API_KEY)
    c.get("/v1/health", auth="any")
    assert s.calls[0]["headers"]["Authorization"] == "Apikey " + API_KEY


# -- retry policy ----------------------------------------------------------------------------

@pytest.mark.parametrize("answer", [
    make_response(429, text="slow down"), make_response(502), make_response(503), make_response(504),
])
def test_retryable_http_statuses_are_retried_for_idempotent_calls(answer):
    c, s, sleeps = client([answer, make_response(200, {"v": 1})], token=TOKEN)
    assert c.get("/v1/settings/application") == {"v": 1}
    assert len(s.calls) == 2 and len(sleeps) == 1


@pytest.mark.parametrize("code", [1011, 1015, 1016, 1017, 1018])
def test_retryable_wa_codes_are_retried(code):
    c, s, sleeps = client([wa_error(400, code, "busy"), make_response(200, {"v": 1})], token=TOKEN)
    assert c.get("/v1/health") == {"v": 1}
    assert len(s.calls) == 2


@pytest.mark.parametrize("answer", [
    wa_error(400, 1009, "Parameter value is not valid"), wa_error(404, 1006, "Resource not found"),
    wa_error(500, 1014, "Internal error"), make_response(500), wa_error(403, 1005, "Access denied"),
])
def test_other_errors_are_never_retried(answer):
    c, s, sleeps = client([answer], token=TOKEN)
    with pytest.raises(_api.WAApiError):
        c.get("/v1/health")
    assert len(s.calls) == 1 and sleeps == []


@pytest.mark.parametrize("answer", [make_response(503), wa_error(429, 1015, "Too many requests"), dropped()])
def test_non_idempotent_call_is_never_retried_once_it_may_have_reached_the_server(answer):
    c, s, sleeps = client([answer, make_response(200, {})], token=TOKEN)
    with pytest.raises(_api.WAApiError):
        c.post("/v1/settings/restore", {"password": PASSWORD, "data": "x"})
    assert len(s.calls) == 1 and sleeps == []


@pytest.mark.parametrize("code, title", [(1017, "Not Primary Master"), (1018, "Not Primary Coreapp")])
def test_non_idempotent_call_is_retried_on_not_primary_answers(code, title):
    # During a failover election the client refuses the request before doing anything: safe to send again.
    c, s, sleeps = client([wa_error(503, code, title), wa_error(503, code, title), make_response(200, None)],
                          token=TOKEN)
    assert c.post("/v1/settings/restore", {"password": PASSWORD, "data": "x"}) is None
    assert len(s.calls) == 3 and len(sleeps) == 2


def test_non_idempotent_call_is_retried_when_the_request_never_left():
    c, s, sleeps = client([connect_refused(), make_response(200, {})], token=TOKEN)
    assert c.post("/v1/messages", {"to": "1"}) == {}
    assert len(s.calls) == 2


def test_dropped_connection_is_retried_for_idempotent_calls():
    c, s, sleeps = client([dropped(), make_response(200, {"a": 1})], token=TOKEN)
    assert c.get("/v1/health") == {"a": 1}


def test_retries_exhausted_reports_attempts_and_last_error():
    c, s, sleeps = client([make_response(503) for dummy in range(4)], token=TOKEN, retries=3)
    with pytest.raises(_api.WAApiError) as exc:
        c.get("/v1/health")
    assert len(s.calls) == 4 and len(sleeps) == 3
    assert exc.value.status == 503 and exc.value.attempts == 4
    assert "(after 4 attempts)" in str(exc.value)


def test_a_call_can_take_fewer_retries_than_the_client():
    c, s, sleeps = client([make_response(503) for dummy in range(4)], token=TOKEN, retries=3)
    with pytest.raises(_api.WAApiError) as exc:
        c.get("/v1/health", retries=0)
    assert len(s.calls) == 1 and sleeps == [] and exc.value.attempts == 1


def test_backoff_is_exponential_with_jitter_and_capped():
    c, s, sleeps = client([make_response(503) for dummy in range(4)] + [make_response(200, {})], token=TOKEN, retries=5,
                          retry_delay=1.0, max_delay=3.0)
    c.get("/v1/health")
    # rand()=0.5 -> 3/4 of the exponential step: 1, 2, 4->capped 3, 3
    assert sleeps == [0.75, 1.5, 2.25, 2.25]
    low = _api.backoff_delay(3, 1.0, 60, rand=lambda: 0.0)
    high = _api.backoff_delay(3, 1.0, 60, rand=lambda: 0.999999)
    assert low == 4.0 and 7.99 < high < 8.0


def test_retry_after_seconds_is_honoured():
    c, s, sleeps = client([make_response(429, headers={"Retry-After": "7"}), make_response(200, {})], token=TOKEN)
    c.get("/v1/health")
    assert sleeps == [7.0]


def test_retry_after_http_date_is_honoured():
    assert _api.parse_retry_after("Wed, 21 Oct 2015 07:28:10 GMT", now=1445412480.0) == 10.0
    assert _api.parse_retry_after("junk") is None
    assert _api.parse_retry_after("100000") == 100000.0  # capped where it is used: max_delay, the deadline
    assert _api.parse_retry_after("inf") is None and _api.parse_retry_after("nan") is None


def test_tls_errors_are_not_retried_and_explain_the_fix():
    c, s, sleeps = client([requests.exceptions.SSLError("CERTIFICATE_VERIFY_FAILED")], token=TOKEN)
    with pytest.raises(_api.WAApiError) as exc:
        c.get("/v1/health")
    assert "ca_path" in str(exc.value) and sleeps == []


def test_ca_path_and_validate_certs_set_verification():
    assert _api.WAClient(URL, ca_path="/ca.pem").session.verify == "/ca.pem"
    assert _api.WAClient(URL, validate_certs=False, ca_path="/ca.pem").session.verify is False
    assert _api.WAClient(URL).session.verify is True


@pytest.mark.parametrize("kwargs, expected", [
    (dict(ca_path="/ca.pem"), "/ca.pem"),
    (dict(validate_certs=False, ca_path="/ca.pem"), False),
])
def test_verification_is_passed_with_each_request(monkeypatch, kwargs, expected):
    # requests lets REQUESTS_CA_BUNDLE override Session.verify; each request must carry it explicitly.
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", "/etc/ssl/certs/ca-certificates.crt")
    c, s, sleeps = client([make_response(200, {})], token=TOKEN, **kwargs)
    c.get("/v1/health")
    assert s.calls[0]["verify"] == expected and sleeps == []


# -- error translation -----------------------------------------------------------------------

def test_error_envelope_becomes_one_clear_message():
    c, s, sleeps = client([wa_error(400, 1009, "Parameter value is not valid", "Incorrect password")], token=TOKEN)
    with pytest.raises(_api.WAApiError) as exc:
        c.post("/v1/settings/restore", {"password": PASSWORD, "data": "abc"})
    err = exc.value
    assert (err.status, err.code, err.title) == (400, 1009, "Parameter value is not valid")
    assert str(err) == "400 1009 Parameter value is not valid: Incorrect password"


def test_non_json_error_keeps_status_and_reason():
    err = _api.WAApiError.from_response(make_response(502, text="<html>bad gateway</html>", reason="Bad Gateway"))
    assert err.status == 502 and err.code is None
    assert str(err).startswith("502 Bad Gateway")


def test_plain_http_failure_says_the_webapp_speaks_https_only():
    session = FakeSession([dropped()])
    c = _api.WAClient("http://wa.example.test:9090", token=TOKEN, session=session, retries=0, sleep=lambda s: None)
    with pytest.raises(_api.WAApiError) as exc:
        c.get("/v1/health")
    assert str(exc.value) == ("Cannot reach http://wa.example.test:9090: connection dropped by the server; "
                              "the Webapp speaks HTTPS only: use an https:// URL")


def test_unreachable_server_is_a_clear_error():
    c, s, sleeps = client([connect_refused()] * 2, token=TOKEN, retries=1)
    with pytest.raises(_api.WAApiError) as exc:
        c.get("/v1/health")
    assert "Cannot reach %s" % URL in str(exc.value) and "connection refused" in str(exc.value)


# -- the module wrapper: env fallbacks, failure messages, secrets ------------------------------

def run_module(capsys, args, body):
    with patch_module_args(args):
        module = _api.WAModule(argument_spec=dict(probe=dict(type="str")), supports_check_mode=True)
        with pytest.raises(SystemExit) as exc:
            body(module)
    out = capsys.readouterr().out
    return exc.value.code, json.loads(out), out


def test_env_fallbacks_fill_every_connection_option(monkeypatch, capsys, tmp_path):
    ca = tmp_path / "ca.pem"
    ca.write_text("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n")
    env = dict(WABIZ_API_URL=URL, WABIZ_API_USERNAME="admin", WABIZ_API_PASSWORD=PASSWORD,
               WABIZ_API_KEY=API_KEY, WABIZ_VALIDATE_CERTS="false", WABIZ_CA_PATH=str(ca),
               WABIZ_API_TIMEOUT="12.5", WABIZ_API_RETRIES="2", WABIZ_API_RETRY_DELAY="0.25")
    for k, v in env.items():
        monkeypatch.setenv(k, v)

    def body(module):
        p = module.params
        module.exit_json(seen=[p["api_url"], p["api_username"], p["validate_certs"], p["ca_path"],
                               p["api_timeout"], p["api_retries"], p["api_retry_delay"],
                               p["api_password"] == PASSWORD, p["api_key"] == API_KEY])

    rc, result, out = run_module(capsys, {}, body)
    assert result["seen"] == [URL, "admin", False, str(ca), 12.5, 2, 0.25, True, True]


def test_token_env_fallback(monkeypatch, capsys):
    monkeypatch.setenv("WABIZ_API_URL", URL)
    monkeypatch.setenv("WABIZ_API_TOKEN", TOKEN)
    rc, result, out = run_module(capsys, {}, lambda m: m.exit_json(ok=m.params["api_token"] == TOKEN))
    assert result["ok"] is True


def test_missing_url_names_the_option_and_the_variable(monkeypatch, capsys):
    monkeypatch.delenv("WABIZ_API_URL", raising=False)
    with patch_module_args({}):
        with pytest.raises(SystemExit):
            _api.WAModule(argument_spec={})
    result = json.loads(capsys.readouterr().out)
    assert result["failed"] and "api_url" in result["msg"]


def test_api_failure_message_is_clear_and_free_of_secrets(monkeypatch, capsys):
    monkeypatch.delenv("WABIZ_API_URL", raising=False)
    args = dict(api_url=URL, api_username="admin", api_password=PASSWORD)

    def body(module):
        module._client = _api.WAClient(URL, username="admin", password=PASSWORD, session=FakeSession(
            [login_ok(), wa_error(400, 1009, "Parameter value is not valid", "bad data")]), sleep=lambda s: None)
        with module.api_errors("restore"):
            module.client.post("/v1/settings/restore", {"password": "backup-" + PASSWORD, "data": "QUJD"})

    rc, result, out = run_module(capsys, args, body)
    assert rc == 1 and result["failed"]
    assert result["msg"] == "restore failed: 400 1009 Parameter value is not valid: bad data"
    assert result["api_error"]["code"] == 1009
    for secret in (PASSWORD, TOKEN, "QUJD"):
        assert secret not in out


def test_token_obtained_by_login_is_masked_in_results(monkeypatch, capsys):
    args = dict(api_url=URL, api_username="admin", api_password=PASSWORD)

    def body(module):
        module._client = _api.WAClient(URL, username="admin", password=PASSWORD,
                                       session=FakeSession([login_ok(), make_response(200, {"x": 1})]))
        module.client.get("/v1/health")
        module.exit_json(echo="token was " + module.client.token)

    rc, result, out = run_module(capsys, args, body)
    assert TOKEN not in out and PASSWORD not in out
    assert result["echo"] == "token was " + _validate.SECRET_MASK


# -- a real local server: redirects, netrc, trickling bodies (issue 23, items 5 and 9) ------------

class Server:
    """A real HTTP server on 127.0.0.1 in a thread; ``answer(handler)`` writes each answer, ``seen`` records
    (method, path, Authorization) of every request it got."""

    def __init__(self, answer):
        self.seen = []
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_any(self):
                server.seen.append((self.command, self.path, self.headers.get("Authorization")))
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                try:
                    answer(self)
                except OSError:  # the client hung up, as it should on a trickle
                    pass

            do_GET = do_POST = do_any

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = "http://127.0.0.1:%d" % self.httpd.server_port
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def serve():
    servers = []

    def start(answer):
        servers.append(Server(answer))
        return servers[-1]
    yield start
    for server in servers:
        server.close()


def send(handler, status, body=b"", headers=()):
    handler.send_response(status)
    for name, value in headers:
        handler.send_header(name, value)
    handler.send_header("Content-Length", str(len(body)))
    handler.end_headers()
    handler.wfile.write(body)


def test_a_redirect_is_refused_naming_the_endpoint_and_the_host_and_no_credential_follows(serve):
    elsewhere = serve(lambda h: send(h, 200, b'{"settings": {"data": "x"}}'))
    location = elsewhere.url.replace("127.0.0.1", "localhost") + "/steal"
    webapp = serve(lambda h: send(h, 307, headers=[("Location", location)]))
    c = _api.WAClient(webapp.url, token=TOKEN, sleep=lambda s: None)
    with pytest.raises(_api.WAApiError) as exc:
        c.post("/v1/settings/backup", {"password": "backup-" + PASSWORD})
    assert str(exc.value) == ("307 Redirect refused: POST /v1/settings/backup answered 307 towards localhost; redirects "
                              "are never followed (the credentials would go with them): give api_url as the address "
                              "that answers the API")
    assert webapp.seen == [("POST", "/v1/settings/backup", "Bearer " + TOKEN)] and elsewhere.seen == []


def test_a_netrc_entry_never_replaces_the_token_or_the_login(serve, tmp_path, monkeypatch):
    netrc = tmp_path / "netrc"
    netrc.write_text("machine 127.0.0.1 login intruder password netrc-secret\n")
    netrc.chmod(0o600)
    monkeypatch.setenv("NETRC", str(netrc))
    webapp = serve(lambda h: send(h, 200, json.dumps({"users": [{"token": TOKEN}]}).encode()))
    _api.WAClient(webapp.url, token=TOKEN).get("/v1/health")
    _api.WAClient(webapp.url, username="admin", password=PASSWORD).login()
    basic = "Basic " + base64.b64encode(("admin:" + PASSWORD).encode()).decode()
    assert [auth for _m, _p, auth in webapp.seen] == ["Bearer " + TOKEN, basic]
    # The same request without the client's guard: requests puts the netrc login in place of the token.
    assert requests.get(webapp.url, headers={"Authorization": "Bearer " + TOKEN}).ok
    assert webapp.seen[-1][2] == "Basic " + base64.b64encode(b"intruder:netrc-secret").decode()


def trickle(handler):
    handler.send_response(200)
    handler.send_header("Content-Length", "100")
    handler.end_headers()
    for dummy in range(100):
        handler.wfile.write(b" ")
        handler.wfile.flush()
        time.sleep(1)


def test_a_body_trickling_one_byte_a_second_cannot_hold_a_call_past_api_timeout(serve):
    c = _api.WAClient(serve(trickle).url, token=TOKEN, timeout=2, retries=0)
    started = time.monotonic()
    with pytest.raises(_api.WAApiError, match="timed out"):
        c.get("/v1/health")
    assert time.monotonic() - started < 3.5


def test_a_body_trickling_one_byte_a_second_cannot_hold_a_3_s_wait_past_its_deadline(serve):
    reader = _health.HealthReader(_api.WAClient(serve(trickle).url, token=TOKEN))
    started = time.monotonic()
    ok, response, nodes, summary, last_error, polls = reader.wait(3, 0.5)
    assert not ok and "timed out" in last_error.describe()
    assert time.monotonic() - started < 4.5


def test_retry_after_longer_than_the_deadline_ends_the_call_at_the_deadline(clock):
    c = _api.WAClient(URL, token=TOKEN, session=FakeSession([make_response(429, headers={"Retry-After": "300"})]),
                      sleep=clock.sleep, clock=clock)
    with c.within(_wait.Deadline(10, clock)), pytest.raises(_api.WAApiError) as exc:
        c.get("/v1/health")
    assert exc.value.status == 429 and clock.sleeps == [10] and clock.now == 10


def test_retry_after_is_capped_to_max_delay_outside_a_wait():
    c, s, sleeps = client([make_response(429, headers={"Retry-After": "300"}), make_response(200, {})], token=TOKEN)
    c.get("/v1/health")
    assert sleeps == [60.0]


def test_jittered_retries_stay_inside_the_deadline(clock):
    session = FakeSession([make_response(503) for dummy in range(100)])
    c = _api.WAClient(URL, token=TOKEN, session=session, retries=100, sleep=clock.sleep, clock=clock)
    with c.within(_wait.Deadline(20, clock)), pytest.raises(_api.WAApiError):
        c.get("/v1/health")
    assert clock.now == 20 and len(session.calls) == len(clock.sleeps) < 10


def module_run(capsys, args, env=None):
    """Run a module with the shared options only: (rc, result, warnings as texts); warnings of earlier tests cleared."""
    ansible_warnings._global_warnings.clear()
    with patch_module_args(args), mock.patch.dict("os.environ", env or {}), pytest.raises(SystemExit) as exc:
        _api.WAModule(supports_check_mode=True).exit_json()
    out = capsys.readouterr().out
    result = json.loads(out)
    texts = [w["event"]["msg"] if isinstance(w, dict) else w for w in result.get("warnings", [])]
    return exc.value.code, result, texts


@pytest.mark.parametrize("url, env", [("http://wa.example.test:9090", {}),
                                      ("HTTP://wa.example.test:9090", {"WABIZ_API_ALLOW_HTTP": "no"})])
def test_plain_http_is_refused_naming_the_option_that_allows_it(capsys, url, env):
    rc, result, warnings = module_run(capsys, dict(api_url=url, api_token=TOKEN), env)
    assert rc == 1 and result["msg"] == (
        "api_url %s is plain HTTP: passwords and tokens would cross the network in clear. Use https:// (the Webapp "
        "speaks HTTPS), or set api_allow_http=true (WABIZ_API_ALLOW_HTTP) to allow it" % url)


@pytest.mark.parametrize("args, env", [(dict(api_allow_http=True), {}), ({}, {"WABIZ_API_ALLOW_HTTP": "true"})])
def test_plain_http_allowed_by_name(capsys, args, env):
    rc, result, warnings = module_run(capsys, dict(args, api_url="http://wa.example.test:9090", api_token=TOKEN), env)
    assert rc == 0 and warnings == []


def test_verification_off_warns_once_loudly(capsys):
    rc, result, warnings = module_run(capsys, dict(api_url=URL, api_token=TOKEN), {"WABIZ_VALIDATE_CERTS": "false"})
    assert rc == 0 and warnings == [
        "validate_certs is false: the Webapp's TLS certificate is NOT verified, so anyone on the path can read the "
        "passwords and tokens sent to %s. Give its CA with ca_path instead" % URL]
    assert module_run(capsys, dict(api_url=URL, api_token=TOKEN))[2] == []
