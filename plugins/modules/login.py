#!/usr/bin/python
# Copyright (c) 2026, wabiz.api_client contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: login
short_description: Log in to a WhatsApp Business API client and get a token, changing the first-login password
version_added: 1.0.0
description:
  - Logs in with O(api_username) and O(api_password) (C(POST /v1/users/login)) and returns the token
    (migration step 2). Tokens belong to one setup; the old setup's tokens are not valid on the new one.
  - On a new setup the admin still has the default password and must change it on the first login;
    the client answers C(400) code C(1024) (Password Change Required). With O(new_password) given, the
    module then logs in again sending O(new_password) and reports C(changed).
  - When O(api_password) is refused (C(401)) but O(new_password) works, the password was already changed
    by an earlier run; the module logs in with O(new_password) and reports no change.
author:
  - wabiz.api_client contributors (@wabiz)
extends_documentation_fragment:
  - wabiz.api_client._api
  - wabiz.api_client._attributes
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
    details:
      - In check mode a login that needs no password change runs (it changes nothing but creates a token).
      - A needed password change is only reported, not done; then no token is returned.
  diff_mode:
    support: none
  idempotent:
    support: full
    details: The password is changed at most once; later runs log in with O(new_password) and report no change.
  platform:
    platforms: posix
options:
  new_password:
    description:
      - The password to set when the client requires a password change (default password on a new setup).
      - 8 to 64 characters with at least one digit, one upper-case, one lower-case and one special character;
        checked before any call.
      - Never logged.
    type: str
notes:
  - "The result carries the token in clear so later tasks can use it. Put C(no_log: true) on the task
    (the token is a secret) and pass it on with O(api_token)."
  - O(api_username) and O(api_password) are required (module options or environment).
seealso:
  - module: wabiz.api_client.settings_restore
"""

EXAMPLES = r"""
- name: Log in to the new setup, changing the default password on first login
  wabiz.api_client.login:
    api_url: https://wa-new.example.com:9090
    ca_path: /etc/wabiz/new-ca.pem
    api_username: admin
    api_password: secret
    new_password: "{{ vault_wa_admin_password }}"
  no_log: true
  register: wa_new_login

- name: Use the token
  wabiz.api_client.account_info:
    api_url: https://wa-new.example.com:9090
    ca_path: /etc/wabiz/new-ca.pem
    api_token: "{{ wa_new_login.token }}"
"""

RETURN = r"""
token:
  description: The Bearer token. A secret; use C(no_log) on the task.
  returned: success, except in check mode when a password change would be needed
  type: str
expires_after:
  description: When the token expires, as the client reports it.
  returned: success, except in check mode when a password change would be needed
  type: str
  sample: "2026-12-02 10:00:00+00:00"
password_changed:
  description: This run changed the password (or would, in check mode).
  returned: success
  type: bool
logged_in_with:
  description: Which password worked, C(api_password) or C(new_password) (the words, never the values).
  returned: success
  type: str
"""

import re

from ansible_collections.wabiz.api_client.plugins.module_utils._api import (
    PASSWORD_CHANGE_REQUIRED, WAApiError, WAModule, client_from_params)
from ansible_collections.wabiz.api_client.plugins.module_utils import _validate

SPECIALS = re.compile(r"[^A-Za-z0-9]")


def password_problems(password):
    """What breaks the documented password rules (empty list when none)."""
    problems = []
    if not 8 <= len(password) <= 64:
        problems.append("8 to 64 characters")
    if not re.search(r"[0-9]", password):
        problems.append("a digit")
    if not re.search(r"[A-Z]", password):
        problems.append("an upper-case letter")
    if not re.search(r"[a-z]", password):
        problems.append("a lower-case letter")
    if not SPECIALS.search(password):
        problems.append("a special character")
    return problems


def main():
    module = WAModule(argument_spec=dict(new_password=dict(type="str", no_log=True)),
                      rules=dict(new_password=[_validate.single_line()]), supports_check_mode=True)
    module.expose_token = True
    p = module.params
    if not (p["api_username"] and p["api_password"]):
        module.fail_json(msg="login needs api_username and api_password")
    new_password = p["new_password"]
    if new_password:
        problems = password_problems(new_password)
        if problems:
            module.fail_json(msg="new_password breaks the password rules: it needs %s" % ", ".join(problems))

    result = dict(changed=False, password_changed=False, logged_in_with="api_password")
    client = module.client
    try:
        record = client.login()
    except WAApiError as error:
        if error.code == PASSWORD_CHANGE_REQUIRED:
            if not new_password:
                module.fail_json(msg="login failed: %s; the setup still requires a password change (default password "
                                     "on a new setup): give new_password" % error.describe(), api_error=error.as_dict())
            result.update(changed=True, password_changed=True)
            if module.check_mode:
                module.exit_json(msg="the password would be changed on first login", **result)
            with module.api_errors("login with password change"):
                record = client.login(new_password=new_password)
            result["logged_in_with"] = "new_password"
        elif error.status == 401 and new_password and new_password != p["api_password"]:
            params = dict(p, api_password=new_password)
            module._client = client_from_params(params, on_retry=module._log_retry)
            try:
                record = module.client.login()
            except WAApiError as second:
                module.fail_api("login (api_password refused with 401, then new_password)", second)
            result["logged_in_with"] = "new_password"
        else:
            module.fail_api("login", error)
    result.update(token=record["token"], expires_after=record.get("expires_after"))
    module.exit_json(**result)


if __name__ == "__main__":
    main()
