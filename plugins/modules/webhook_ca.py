#!/usr/bin/python
# Copyright (c) 2026, wabiz.api_client contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: webhook_ca
short_description: Upload or remove the webhook CA certificate of a WhatsApp Business API client
version_added: 1.0.0
description:
  - Manages the CA certificate the client uses to verify the webhook server (C(/v1/certificates/webhooks/ca)),
    for migration step 9. A restore is not known to bring it back, so set it again on the new setup.
  - "Compares the wanted certificate with what C(GET) returns (C(404) means none is stored) and uploads
    (C(POST), C(Content-Type: text/plain)) or deletes only when they differ."
  - After an upload all CoreApps must be restarted; RV(restart_required) says so.
author:
  - wabiz.api_client contributors (@wabiz)
extends_documentation_fragment:
  - wabiz.api_client._api
  - wabiz.api_client._attributes
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
    details: The stored certificate is read; nothing is changed.
  diff_mode:
    support: full
    details: Before and after PEM text (certificates are public).
  idempotent:
    support: full
  platform:
    platforms: posix
options:
  state:
    description:
      - V(present) makes the stored CA certificate equal to O(content) or O(src); V(absent) removes it.
    type: str
    choices: [present, absent]
    default: present
  content:
    description:
      - The PEM text of the CA certificate. Mutually exclusive with O(src).
    type: str
  src:
    description:
      - Path of a PEM file with the CA certificate, on the host where the module runs.
    type: path
seealso:
  - module: wabiz.api_client.app_settings
"""

EXAMPLES = r"""
- name: Trust the webhook server's CA on the new setup
  wabiz.api_client.webhook_ca:
    api_url: https://wa-new.example.com:9090
    api_token: "{{ wa_new_token }}"
    src: /etc/wabiz/webhook-ca.pem
  register: wa_ca

- name: Remove it
  wabiz.api_client.webhook_ca:
    api_url: https://wa-new.example.com:9090
    api_token: "{{ wa_new_token }}"
    state: absent
"""

RETURN = r"""
present:
  description: A CA certificate is stored after the run (or would be, in check mode).
  returned: success
  type: bool
sha256:
  description: SHA-256 of the normalised PEM stored after the run (null when none).
  returned: success
  type: str
restart_required:
  description: The certificate changed; all CoreApps must restart to use it.
  returned: success
  type: bool
"""

import hashlib
import re

from ansible_collections.wabiz.api_client.plugins.module_utils._api import WAModule
from ansible_collections.wabiz.api_client.plugins.module_utils import _answer, _validate

CA_PATH = "/v1/certificates/webhooks/ca"
PEM_RE = re.compile(r"-----BEGIN ([A-Z0-9 ]+)-----(.*?)-----END \1-----", re.S)


def pem_blocks(text):
    """The PEM blocks of ``text`` as ``(label, base64 without whitespace)``."""
    return [(label, re.sub(r"\s+", "", body)) for label, body in PEM_RE.findall(text or "")]


def normalise_pem(text):
    """Canonical PEM text (64-column lines, one trailing newline), or ``None`` when there is none."""
    blocks = pem_blocks(text)
    if not blocks:
        return None
    out = []
    for label, body in blocks:
        out.append("-----BEGIN %s-----" % label)
        out.extend(body[i:i + 64] for i in range(0, len(body), 64))
        out.append("-----END %s-----" % label)
    return "\n".join(out) + "\n"


def find_pem(answer):
    """The PEM text in a GET answer: plain text, or a string somewhere inside a JSON answer."""
    if isinstance(answer, str):
        return normalise_pem(answer)
    if isinstance(answer, dict):
        answer = list(answer.values())
    if isinstance(answer, list):
        for item in answer:
            found = find_pem(item)
            if found:
                return found
    return None


def sha256_text(text):
    return hashlib.sha256(text.encode("utf-8")).hexdigest() if text else None


def main():
    module = WAModule(
        argument_spec=dict(
            state=dict(type="str", choices=["present", "absent"], default="present"),
            content=dict(type="str"),
            src=dict(type="path"),
        ),
        mutually_exclusive=[("content", "src")],
        required_if=[("state", "present", ("content", "src"), True)],
        supports_check_mode=True,
    )
    p = module.params
    wanted = None
    if p["state"] == "present":
        text = p["content"]
        if p["src"]:
            try:
                text = _validate.read_text(p["src"])
            except (IOError, OSError) as exc:
                module.fail_json(msg="src must be a readable PEM file: cannot read %s: %s" % (p["src"], exc))
            except UnicodeDecodeError:
                module.fail_json(msg="src must be a PEM text file: %s is binary (convert a DER certificate with "
                                     "openssl x509 -inform der -in FILE -out FILE.pem)" % p["src"])
        wanted = normalise_pem(text)
        if not wanted or any(label != "CERTIFICATE" for label, dummy in pem_blocks(wanted)):
            module.fail_json(msg="%s must be PEM certificate text (-----BEGIN CERTIFICATE-----), and nothing else "
                                 "(no private key)" % ("src" if p["src"] else "content"))

    with module.api_errors("webhook CA") as client:
        current = find_pem(_answer.read(client.get(CA_PATH, allow_status=(404,)), "GET " + CA_PATH, object))
        changed = current != wanted
        result = dict(changed=changed, present=wanted is not None, sha256=sha256_text(wanted),
                      restart_required=changed and wanted is not None)
        if module.diff_mode:
            result["diff"] = dict(before=current or "", after=wanted or "")
        if changed and not module.check_mode:
            if wanted is not None:
                client.post(CA_PATH, data=wanted.encode("ascii"), content_type="text/plain")
            else:
                client.delete(CA_PATH)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
