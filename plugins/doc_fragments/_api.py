# Copyright (c) 2026, wabiz.api_client contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The connection options every API module shares (private to this collection)."""

from __future__ import annotations


class ModuleDocFragment:

    DOCUMENTATION = r"""
options:
  api_url:
    description:
      - Base URL of the Webapp of the WhatsApp Business API client, for example V(https://wa-new.example.com:9090).
      - The Webapp speaks HTTPS only; plain C(http://) is refused before any call unless O(api_allow_http=true).
      - A redirect (3xx answer) is never followed; the call fails naming the address it points to, and no
        credential is sent there. C(~/.netrc) (or E(NETRC)) never replaces the credentials given here.
      - Checked before any call; a value without C(https://) or C(http://), without a host or with an invalid
        port fails at once, without retries. Credentials in the URL (C(user:password@)) are refused (give
        them with O(api_username) and O(api_password)) and masked in every message and printed argument.
    type: str
    required: true
  api_username:
    description:
      - API user to log in with (HTTP Basic auth on C(/v1/users/login)); the module logs in by itself and
        keeps the token for the rest of the module run only.
      - Requires O(api_password).
    type: str
  api_password:
    description:
      - Password of O(api_username). Never logged.
      - Mutually exclusive with O(api_token).
    type: str
  api_token:
    description:
      - A Bearer token obtained before, for example with M(wabiz.api_client.login). Tokens belong to one
        setup; a token of the old setup is not valid on the new one.
    type: str
  api_key:
    description:
      - "The monitoring API key (C(WA_API_KEY) of the Webapp), sent as C(Authorization: Apikey ...)."
      - Accepted by the client for C(/v1/health), C(/metrics) and C(/v1/stats) only.
    type: str
  api_allow_http:
    description:
      - Allow a plain C(http://) O(api_url) (passwords and tokens then cross the network in clear), for
        example behind a local TLS-terminating proxy. Off, such a URL is refused before any call.
    type: bool
    default: false
    version_added: 1.1.0
  validate_certs:
    description:
      - Verify the Webapp's TLS certificate. Leave it on and give O(ca_path); turn it off only in a lab (each
        module run then warns that the credentials can be read by anyone on the path).
    type: bool
    default: true
  ca_path:
    description:
      - PEM file of the CA that signed the Webapp's certificate (the client ships a self-signed certificate,
        so this is the normal case).
      - Must be a readable text file with at least one C(-----BEGIN CERTIFICATE-----); checked before any call.
    type: path
  api_timeout:
    description:
      - Seconds one HTTP attempt may take, its whole answer included (a body trickling in slowly ends
        then too); more than 0 and at most 3600.
    type: float
    default: 30
  api_retries:
    description:
      - How many times a call is retried after a connection error, HTTP 429/502/503/504, or WhatsApp error
        codes 1011, 1015, 1016, 1017, 1018, with jittered exponential backoff honouring C(Retry-After), each
        delay at most 60 seconds and never past the deadline of the wait the call is part of.
      - Calls that are not idempotent (restore, two-step, messages) are retried only when the request
        provably never reached the server, or when the client answered 1017 (Not Primary Master) or 1018
        (Not Primary Coreapp), its answers during a failover election, given before it does anything.
      - From 0 to 100.
    type: int
    default: 5
  api_retry_delay:
    description:
      - Base delay in seconds of the exponential backoff between retries; from 0 to 300.
    type: float
    default: 1
requirements:
  - requests
notes:
  - Every option not set in the task falls back to the environment variable C(WABIZ_) followed by its name in
    capitals, for example E(WABIZ_API_URL), E(WABIZ_API_TOKEN) or E(WABIZ_API_ALLOW_HTTP).
  - "Set the connection once for all API modules with C(module_defaults) and the action group
    C(group/wabiz.api_client.api)."
"""
