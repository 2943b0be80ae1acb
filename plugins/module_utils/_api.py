# Copyright (c) 2026, wabiz.api_client contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one client for the WhatsApp Business API (on-premises client) used by every API module.

PRIVATE to this collection: no compatibility promise to other collections.

It owns, in one place:
* the connection options shared by all API modules, each with an environment fallback
  (``API_ARGUMENT_SPEC``; documented once in ``doc_fragments/_api.py``);
* login with username/password (token cached for the module run), a given token, or the
  monitoring API key;
* retries with jittered exponential backoff that honour ``Retry-After``, each attempt (its body included) within
  ``api_timeout`` and, inside a wait, everything by its deadline (``WAClient.within``); calls that are not
  idempotent are never retried once the request may have reached the server;
* credentials only to the address given: no redirect followed, no ``~/.netrc`` in place of the token, plain
  ``http://`` only with ``api_allow_http``, a warning when TLS verification is off;
* one error type (:class:`WAApiError`) and one translation into a ``fail_json`` message;
* keeping secrets (passwords, tokens, PINs, backup data, URL userinfo) out of results, messages and
  exceptions;
* the rules of the shared options (``API_RULES``), checked with each module's own rules by
  :class:`~._validate.CheckedModule` before any call; errors no retry can fix fail at once;
* honest failures: a write answered by an error that does not prove it was not applied is reported as
  ``changed`` with its outcome unknown.
"""

from __future__ import annotations

import base64
import contextlib
import email.utils
import math
import random
import time
import traceback
from urllib.parse import urlsplit

from ansible.module_utils.basic import env_fallback, missing_required_lib, remove_values

from ansible_collections.wabiz.api_client.plugins.module_utils import _validate, _wait

REQUESTS_IMPORT_ERROR = None
try:
    import requests
    from urllib3.exceptions import DecodeError, MaxRetryError, NewConnectionError, ProtocolError, ReadTimeoutError
except ImportError:  # pragma: no cover - exercised by the sanity import test
    requests = DecodeError = MaxRetryError = NewConnectionError = ProtocolError = ReadTimeoutError = None
    REQUESTS_IMPORT_ERROR = traceback.format_exc()


#: HTTP statuses that mean "try again later".
RETRY_STATUSES = frozenset((429, 502, 503, 504))
#: WhatsApp error codes that mean "try again later": Service not ready, Too many requests,
#: System overloaded, Not Primary Master, Not Primary Coreapp.
RETRY_WA_CODES = frozenset((1011, 1015, 1016, 1017, 1018))
#: Not Primary Master / Not Primary Coreapp: the request reached a node that is not (or no longer) the primary,
#: during a failover election, and was refused before anything was done. Safe to send again even when the call
#: is not idempotent (restore, two-step, messages).
NOT_PROCESSED_WA_CODES = frozenset((1017, 1018))
#: Methods that are idempotent by HTTP semantics; a POST is idempotent only when the caller says so.
IDEMPOTENT_METHODS = frozenset(("GET", "HEAD", "PUT", "PATCH", "DELETE", "OPTIONS"))
#: The least time one attempt is given when the deadline of its wait is (nearly) reached.
MIN_ATTEMPT = 1.0

LOGIN_PATH = "/v1/users/login"
PASSWORD_CHANGE_REQUIRED = 1024

API_ARGUMENT_SPEC = dict(
    api_url=dict(type="str", required=True, fallback=(env_fallback, ["WABIZ_API_URL"])),
    api_username=dict(type="str", fallback=(env_fallback, ["WABIZ_API_USERNAME"])),
    api_password=dict(type="str", no_log=True, fallback=(env_fallback, ["WABIZ_API_PASSWORD"])),
    api_token=dict(type="str", no_log=True, fallback=(env_fallback, ["WABIZ_API_TOKEN"])),
    api_key=dict(type="str", no_log=True, fallback=(env_fallback, ["WABIZ_API_KEY"])),
    validate_certs=dict(type="bool", default=True, fallback=(env_fallback, ["WABIZ_VALIDATE_CERTS"])),
    ca_path=dict(type="path", fallback=(env_fallback, ["WABIZ_CA_PATH"])),
    api_timeout=dict(type="float", default=30.0, fallback=(env_fallback, ["WABIZ_API_TIMEOUT"])),
    api_retries=dict(type="int", default=5, fallback=(env_fallback, ["WABIZ_API_RETRIES"])),
    api_retry_delay=dict(type="float", default=1.0, fallback=(env_fallback, ["WABIZ_API_RETRY_DELAY"])),
    api_allow_http=dict(type="bool", default=False, fallback=(env_fallback, ["WABIZ_API_ALLOW_HTTP"])),
)


def _username(value):
    if ":" in value:
        return "a user name without ':' (HTTP Basic auth cannot carry it)"
    return _validate.single_line()(value)


#: What the shared options must be beyond their Ansible type (see ``_validate.problems``).
API_RULES = dict(
    api_url=[_validate.url(schemes=("https", "http"), credentials="give them with api_username and api_password")],
    api_username=[_username],
    api_password=[_validate.single_line()],
    api_token=[_validate.header_safe()],
    api_key=[_validate.header_safe()],
    ca_path=[_validate.text_file(pem=True)],
    api_timeout=[_validate.number_range(0, 3600, low_open=True)],
    api_retries=[_validate.int_range(0, 100)],
    api_retry_delay=[_validate.number_range(0, 300)],
)


def refusal(params):
    """Why the connection options must not be used although each is valid (plain HTTP not allowed), or None."""
    if str(params.get("api_url") or "").lower().startswith("http://") and not params.get("api_allow_http"):
        return ("api_url %s is plain HTTP: passwords and tokens would cross the network in clear. Use https:// "
                "(the Webapp speaks HTTPS), or set api_allow_http=true (WABIZ_API_ALLOW_HTTP) to allow it"
                % _validate.mask_url(params["api_url"]))
    return None


API_REQUIRED_TOGETHER = [("api_username", "api_password")]
API_MUTUALLY_EXCLUSIVE = [("api_token", "api_password")]

#: Methods that only read: their failure never leaves a change behind.
READ_METHODS = frozenset(("GET", "HEAD", "OPTIONS"))


class WAApiError(Exception):
    """An API call that did not succeed: HTTP status, WA error code, title and details.

    ``status`` is ``None`` when no HTTP answer arrived (connection or TLS failure).
    The text never contains a request body, a header, or a secret.
    """

    def __init__(self, status=None, code=None, title=None, details=None, method=None, path=None,
                 attempts=1, outcome_unknown=False):
        self.outcome_unknown = outcome_unknown
        self.status = status
        self.code = code
        self.title = title or ""
        self.details = details or ""
        self.method = method
        self.path = path
        self.attempts = attempts
        super().__init__(self.describe())

    def describe(self):
        parts = [str(p) for p in (self.status, self.code) if p is not None]
        head = " ".join(parts)
        text = self.title
        if self.details and self.details != self.title:
            text = "%s: %s" % (text, self.details) if text else self.details
        msg = ("%s %s" % (head, text)).strip()
        if self.attempts > 1:
            msg += " (after %d attempts)" % self.attempts
        return msg

    @property
    def retryable(self):
        return self.status is None or self.status in RETRY_STATUSES or self.code in RETRY_WA_CODES

    def as_dict(self):
        return dict(status=self.status, code=self.code, title=self.title, details=self.details,
                    method=self.method, path=self.path, attempts=self.attempts, outcome_unknown=self.outcome_unknown)

    @classmethod
    def from_response(cls, response, method=None, path=None):
        status = response.status_code
        code = title = details = None
        try:
            body = response.json()
        except (ValueError, RecursionError):
            body = None
        if isinstance(body, dict) and isinstance(body.get("errors"), list) and body["errors"]:
            # Only the scalars of Meta's error object are kept: a hostile answer may put anything there.
            errors = [dict((k, e.get(k)) for k in ("code", "title", "details") if isinstance(e.get(k), (int, str)))
                      for e in body["errors"] if isinstance(e, dict)] or [{}]
            code, title, details = (errors[0].get(k) for k in ("code", "title", "details"))
            if len(errors) > 1:
                details = "; ".join("%s %s" % (e.get("code"), e.get("details") or e.get("title")) for e in errors)
        else:
            title = response.reason or "HTTP error"
            text = (response.text or "").strip()
            # A JSON answer of another shape is never echoed: it may carry data and tokens (a login answer
            # with an odd status); a text one (a proxy's error page) is, shortened.
            if body is not None or text[:1] in ("{", "["):
                details = "a JSON answer that is not an error object (%d bytes)" % len(text)
            elif text:
                details = text[:200]
        return cls(status=status, code=code, title=title, details=details, method=method, path=path)


def parse_retry_after(value, now=None):
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or HTTP date); ``None`` if absent."""
    if value is None:
        return None
    value = str(value).strip()
    if not value:
        return None
    try:
        seconds = float(value)
        if not math.isfinite(seconds):
            return None
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        if when is None:
            return None
        seconds = when.timestamp() - (time.time() if now is None else now)
    return max(0.0, seconds)


def backoff_delay(attempt, base, cap=60.0, rand=random.random):
    """Jittered exponential backoff ("equal jitter"): half fixed, half random, never above ``cap``."""
    exp = min(cap, base * (2 ** attempt))
    return exp / 2.0 + rand() * exp / 2.0


def basic_credentials(username, password):
    """The HTTP Basic credentials of a login: a secret, as the password is."""
    return base64.b64encode(("%s:%s" % (username, password)).encode("utf-8")).decode("ascii")


def _never_sent(exc):
    """True when a requests exception proves the request never reached the server."""
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return True
    if isinstance(exc, requests.exceptions.SSLError):
        return False
    if isinstance(exc, requests.exceptions.ConnectionError):
        reason = exc.args[0] if exc.args else None
        if isinstance(reason, MaxRetryError):
            reason = reason.reason
        return isinstance(reason, NewConnectionError)
    return False


def _hopeless(exc):
    """True when no retry can fix a transport error: TLS, a bad URL or header, a missing CA file."""
    if not isinstance(exc, requests.exceptions.RequestException):
        return True
    return isinstance(exc, (requests.exceptions.SSLError, requests.exceptions.InvalidURL,
                            requests.exceptions.MissingSchema, requests.exceptions.InvalidSchema,
                            requests.exceptions.InvalidHeader))


def _unknown_outcome(changes, status=None, code=None, exc=None):
    """True when a write (``changes``) failed in a way that does not prove it was not applied: no answer
    although the request may have reached the server, or a server error (500, 502, 504, 1014)."""
    if not changes:
        return False
    if status is None:
        return exc is not None and not _hopeless(exc) and not _never_sent(exc)
    return status in (500, 502, 504) or code == 1014


def _describe_transport_error(exc):
    if isinstance(exc, requests.exceptions.SSLError):
        return ("TLS verification failed; give the client's CA with ca_path (the client ships a "
                "self-signed certificate) or set validate_certs=false for a lab")
    if isinstance(exc, requests.exceptions.Timeout):
        return "timed out (no complete answer in time)"
    text = str(exc.args[0] if exc.args else exc)
    if "Connection refused" in text:
        return "connection refused"
    if "Name or service not known" in text or "NameResolution" in text or "getaddrinfo" in text:
        return "host name does not resolve"
    if "RemoteDisconnected" in text or "Connection aborted" in text or "reset by peer" in text:
        return "connection dropped by the server"
    if "CA certificate bundle" in text:
        return "the CA file given with ca_path cannot be used: give a readable PEM file"
    if isinstance(exc, (requests.exceptions.InvalidURL, requests.exceptions.MissingSchema,
                        requests.exceptions.InvalidSchema)):
        return "the URL is not valid: give api_url like https://wa.example.com:9090"
    return type(exc).__name__


def _no_netrc(request):
    """The ``auth`` of every request: without one, requests puts ``~/.netrc`` or URL userinfo in place of ours."""
    return request


def _read_body(response, end):
    """Read the whole body into ``response``; one not ended by ``end`` (a ``_wait.Deadline``), however slowly it
    trickles, is a ``ReadTimeout`` (``read1`` returns what has arrived: the deadline is checked between pieces)."""
    read = getattr(response.raw, "read1", response.raw.read)
    chunks = []
    try:
        chunk = read(65536)
        while chunk and end.left():
            chunks.append(chunk)
            chunk = read(65536)
    except ReadTimeoutError as exc:  # urllib3's own errors: requests wraps them only in iter_content
        raise requests.exceptions.ReadTimeout(exc)
    except (ProtocolError, OSError) as exc:
        raise requests.exceptions.ConnectionError(exc)
    except DecodeError as exc:  # a Content-Encoding the body does not have
        raise requests.exceptions.ContentDecodingError(exc)
    finally:
        response.close()
    if chunk:
        raise requests.exceptions.ReadTimeout("the answer did not end in time")
    response._content = b"".join(chunks)


def _redirect_error(response, method, path):
    """A 3xx answer: never followed, so no credential goes to the address it names."""
    try:
        host = urlsplit(response.headers.get("Location") or "").hostname or "a path on the same host"
    except ValueError:
        host = "an invalid address"
    return WAApiError(status=response.status_code, title="Redirect refused",
                      details="%s %s answered %d towards %s; redirects are never followed (the credentials would "
                              "go with them): give api_url as the address that answers the API"
                              % (method, path, response.status_code, host), method=method, path=path)


class WAClient:
    """HTTP client for one setup's Webapp.

    ``sleep``, ``rand`` and ``clock`` are injectable for tests. ``on_retry(attempt, delay, reason)`` lets the
    caller log progress on long waits.
    """

    def __init__(self, url, username=None, password=None, token=None, api_key=None,
                 validate_certs=True, ca_path=None, timeout=30.0, retries=5, retry_delay=1.0,
                 max_delay=60.0, session=None, sleep=time.sleep, rand=random.random, on_retry=None,
                 clock=time.monotonic):
        if requests is None:
            raise RuntimeError(missing_required_lib("requests"))
        self.url = url.rstrip("/")
        self.username = username
        self._password = password
        self._token = token
        self._api_key = api_key
        self.timeout = timeout
        self.retries = max(0, int(retries))
        self.retry_delay = retry_delay
        self.max_delay = max_delay
        self._sleep = sleep
        self._rand = rand
        self._clock = clock
        self.deadline = None
        self.on_retry = on_retry
        self.logged_in = False
        self.session = session or requests.Session()  # its adapters never retry (max_retries=0): our loop does
        # Passed with every request too: requests lets REQUESTS_CA_BUNDLE/CURL_CA_BUNDLE from the environment
        # override Session.verify, which would silently ignore ca_path (or validate_certs=false).
        self.verify = (ca_path or True) if validate_certs else False
        self.session.verify = self.verify

    # -- authentication -------------------------------------------------------------------
    @property
    def token(self):
        return self._token

    def login(self, new_password=None):
        """``POST /v1/users/login`` with HTTP Basic auth; caches and returns the token record."""
        if not (self.username and self._password):
            raise WAApiError(title="Missing credentials",
                             details="api_username and api_password are required to log in",
                             method="POST", path=LOGIN_PATH)
        headers = {"Authorization": "Basic " + basic_credentials(self.username, self._password)}
        body = {"new_password": new_password} if new_password else None
        # Login changes nothing on a repeat (a new token at worst), so it may be retried.
        data = self.request("POST", LOGIN_PATH, json_body=body, auth=None, extra_headers=headers,
                            idempotent=True, changes=bool(new_password))
        from ansible_collections.wabiz.api_client.plugins.module_utils._answer import read  # it imports this module
        token = read(data, "POST " + LOGIN_PATH, "text", "users", 0, "token")
        expires = read(data, "POST " + LOGIN_PATH, str, "users", 0, "expires_after", required=False)
        self._token = token
        if new_password:
            self._password = new_password
        self.logged_in = True
        return {"token": token, "expires_after": expires}

    def _auth_header(self, auth):
        if auth is None:
            return {}
        if auth == "apikey" or (auth == "any" and not self._token and not self._password and self._api_key):
            if not self._api_key:
                raise WAApiError(title="Missing credentials", details="api_key is required for this call")
            return {"Authorization": "Apikey " + self._api_key}
        if not self._token:
            if self._password:
                self.login()
            elif self._api_key and auth == "any":
                return {"Authorization": "Apikey " + self._api_key}
            else:
                raise WAApiError(title="Missing credentials",
                                 details="give api_token, or api_username and api_password")
        return {"Authorization": "Bearer " + self._token}

    @contextlib.contextmanager
    def within(self, deadline):
        """Every call in the block ends by ``deadline`` (a ``_wait.Deadline``): its attempts, bodies and retries."""
        self.deadline = deadline
        try:
            yield self
        finally:
            self.deadline = None

    # -- requests -------------------------------------------------------------------------
    def request(self, method, path, json_body=None, data=None, content_type=None, auth="token",
                extra_headers=None, idempotent=None, expected=(200, 201, 202, 204), allow_status=(), changes=None,
                retries=None):
        """Send one API call with the retry policy; returns the decoded JSON body (or ``None``).

        ``auth``: ``"token"`` (Bearer, logging in first if needed), ``"apikey"``, ``"any"`` (token, or
        the API key when no login is configured) or ``None``. ``allow_status``: statuses returned
        as ``None`` instead of raising (e.g. 404 for "nothing stored"). ``changes``: the call changes the
        setup (default: every method but GET, HEAD, OPTIONS); a failed change whose outcome is unknown
        raises a :class:`WAApiError` with ``outcome_unknown``. ``retries``: this call's retries instead of the
        client's (0 for a poll inside a wait loop, which polls again at its own interval).

        A ``Retry-After`` or backoff delay is at most ``max_delay`` and never passes the deadline of the wait the
        call is part of: a longer one ends the call at that deadline with its last error.
        """
        limit = self.retries if retries is None else max(0, int(retries))
        method = method.upper()
        if changes is None:
            changes = method not in READ_METHODS
        if idempotent is None:
            idempotent = method in IDEMPOTENT_METHODS
        url = self.url + path
        attempt = 0
        relogged = False
        while True:
            # Identity encoding: the body is read piece by piece against the attempt's deadline.
            headers = {"Accept": "application/json", "Accept-Encoding": "identity"}
            headers.update(self._auth_header(auth))
            if extra_headers:
                headers.update(extra_headers)
            if content_type:
                headers["Content-Type"] = content_type
            retry_after = None
            left = self.timeout if self.deadline is None else max(MIN_ATTEMPT, min(self.timeout, self.deadline.left()))
            end = _wait.Deadline(left, self._clock)
            try:
                response = self.session.request(method, url, json=json_body, data=data, headers=headers,
                                                timeout=left, verify=self.verify, stream=True,
                                                allow_redirects=False, auth=_no_netrc)
                _read_body(response, end)
            except (requests.exceptions.RequestException, OSError, ValueError) as exc:
                # OSError: a CA file that vanished; ValueError: a header or URL http.client refuses.
                details = _describe_transport_error(exc)
                if self.url.startswith("http://"):
                    details += "; the Webapp speaks HTTPS only: use an https:// URL"
                error = WAApiError(title="Cannot reach %s" % _validate.mask_url(self.url), details=details,
                                   method=method, path=path, attempts=attempt + 1,
                                   outcome_unknown=_unknown_outcome(changes, exc=exc))
                may_retry = not _hopeless(exc) and (idempotent or _never_sent(exc))
            else:
                if 300 <= response.status_code < 400:
                    raise _redirect_error(response, method, path)
                if response.status_code in expected:
                    return self._decode(response, method, path)
                if response.status_code in allow_status:
                    return None
                error = WAApiError.from_response(response, method=method, path=path)
                error.attempts = attempt + 1
                error.outcome_unknown = _unknown_outcome(changes, error.status, error.code)
                if (response.status_code == 401 and auth == "token" and self._password and not relogged
                        and self.logged_in):
                    # Our cached token expired during the run: log in again once.
                    relogged = True
                    self._token = None
                    continue
                may_retry = (idempotent or error.code in NOT_PROCESSED_WA_CODES) and error.retryable
                retry_after = parse_retry_after(response.headers.get("Retry-After"))
            error.args = (error.describe(),)
            if not may_retry or attempt >= limit:
                raise error
            delay = min(self.max_delay, retry_after if retry_after is not None else backoff_delay(
                attempt, self.retry_delay, self.max_delay, self._rand))
            if self.deadline is not None and delay >= self.deadline.left():
                self._sleep(self.deadline.left())
                raise error
            if self.on_retry:
                self.on_retry(attempt + 1, delay, error.describe())
            self._sleep(delay)
            attempt += 1

    @staticmethod
    def _decode(response, method, path):
        if not response.content:
            return None
        try:
            return response.json()
        except RecursionError:
            raise WAApiError(status=response.status_code, title="unexpected answer to %s %s" % (method, path),
                             details="the body is nested too deeply", method=method, path=path)
        except ValueError:
            return response.text

    def get(self, path, **kwargs):
        return self.request("GET", path, **kwargs)

    def post(self, path, json_body=None, **kwargs):
        return self.request("POST", path, json_body=json_body, **kwargs)

    def patch(self, path, json_body=None, **kwargs):
        return self.request("PATCH", path, json_body=json_body, **kwargs)

    def delete(self, path, **kwargs):
        return self.request("DELETE", path, **kwargs)


def client_from_params(params, **kwargs):
    """Build a :class:`WAClient` from the shared module options."""
    return WAClient(
        url=params["api_url"],
        username=params.get("api_username"),
        password=params.get("api_password"),
        token=params.get("api_token"),
        api_key=params.get("api_key"),
        validate_certs=params.get("validate_certs", True),
        ca_path=params.get("ca_path"),
        timeout=params.get("api_timeout") or 30.0,
        retries=params.get("api_retries") if params.get("api_retries") is not None else 5,
        retry_delay=params.get("api_retry_delay") if params.get("api_retry_delay") is not None else 1.0,
        **kwargs
    )


#: Meta's reference, "Application Settings": ``GET`` answers ``{"settings": {"application": {...}}}`` (admin only);
#: ``PATCH`` changes the fields it is given, ``DELETE`` resets them all.
APP_SETTINGS_PATH = "/v1/settings/application"


class WAModule(_validate.ModuleWrapper):
    """The wrapper every API module uses instead of a bare ``AnsibleModule``.

    It adds the shared connection options, builds one client per run, keeps tokens obtained by
    login out of the output, and turns :class:`WAApiError` into one clear ``fail_json``.
    """

    def __init__(self, argument_spec=None, rules=None, **kwargs):
        spec = dict(API_ARGUMENT_SPEC)
        spec.update(argument_spec or {})
        kwargs["required_together"] = list(kwargs.get("required_together") or []) + API_REQUIRED_TOGETHER
        kwargs["mutually_exclusive"] = list(kwargs.get("mutually_exclusive") or []) + API_MUTUALLY_EXCLUSIVE
        all_rules = dict(API_RULES)
        all_rules.update(rules or {})
        # Every option is checked (types by Ansible, the rules by CheckedModule) before anything is sent.
        self.module = _validate.CheckedModule(argument_spec=spec, rules=all_rules, **kwargs)
        if REQUESTS_IMPORT_ERROR:
            self.module.fail_json(msg=missing_required_lib("requests"), exception=REQUESTS_IMPORT_ERROR)
        if refusal(self.params):
            self.module.fail_json(msg=refusal(self.params))
        if not self.params["validate_certs"]:
            self.module.warn("validate_certs is false: the Webapp's TLS certificate is NOT verified, so anyone on "
                             "the path can read the passwords and tokens sent to %s. Give its CA with ca_path instead"
                             % _validate.mask_url(self.params["api_url"]))
        self._client = None
        self.expose_token = False

    def exit_json(self, **result):
        self._protect_token()
        self.module.exit_json(**result)

    def fail_json(self, msg, **result):
        self._protect_token()
        self.module.fail_json(msg=msg, **result)

    def warn(self, msg):
        # Ansible masks the secrets in results and messages, not in warnings (one may quote an echoing Webapp).
        self._protect_token()
        self.module.warn(remove_values(msg, self.module.no_log_values))

    @property
    def client(self):
        if self._client is None:
            self._client = client_from_params(self.params, on_retry=self._log_retry)
        return self._client

    def _log_retry(self, attempt, delay, reason):
        self.module.log("wabiz api: retry %d in %.1fs after: %s" % (attempt, delay, reason))

    def _protect_token(self):
        """A token this run obtained by logging in is a secret unless the module returns it on purpose; the Basic
        credentials of every password it may send always are (a hostile Webapp may echo them)."""
        for password in (self.params.get("api_password"), self.params.get("new_password")):
            if password and self.params.get("api_username"):
                self.module.no_log_values.add(basic_credentials(self.params["api_username"], password))
        if self._client is not None and self._client.token and not self.expose_token:
            self.module.no_log_values.add(self._client.token)

    def fail_api(self, action, error, **result):
        result.setdefault("api_error", error.as_dict())
        msg = "%s failed: %s" % (action, error.describe())
        if error.outcome_unknown:
            # Never claim "nothing changed" when the write may have been applied.
            result["changed"] = True
            msg += ("; the %s %s may have been applied: its outcome is unknown. Check the setup (for example "
                    "with wabiz.api_client.account_info or health_info) before running this again"
                    % (error.method, error.path))
        self.fail_json(msg=msg, **result)

    @contextlib.contextmanager
    def api_errors(self, action, **result):
        """``with module.api_errors("restore"):`` turns an API error into one clear failure."""
        try:
            yield self.client
        except WAApiError as error:
            self.fail_api(action, error, **result)
