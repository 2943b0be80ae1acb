#!/usr/bin/python
# Copyright (c) 2026, wabiz.api_client contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: app_settings
short_description: Manage the application settings (webhooks and others) of a WhatsApp Business API client
version_added: 1.0.0
description:
  - Declarative, partial management of C(/v1/settings/application) (migration steps 3 and 9).
  - With O(state=present), only the fields given in O(settings) are managed. The documented fields are
    validated first (type, range, HTTPS webhook URL, read-only C(wa_id)) before any call, compared with the
    current C(GET), and only the differing fields are sent with one C(PATCH). A second run reports no change.
  - Numbers are compared as numbers, so V("3000") (the String form of Meta's PATCH reference) and V(3000)
    (what C(GET) answers) are the same value, and no change is reported.
  - A field that is not documented (for example one of a newer or older client version) is not refused
    by the module; it is sent as given, with a warning, and the client decides (its own error if it refuses it).
  - With O(state=reset), all settings are reset to their defaults (C(DELETE)) unless the fields with a
    documented default already have it.
  - Some fields (C(callback_persist), C(pass_through), C(webhooks.max_concurrent_requests), the garbage
    collector, C(db_garbagecollector_enable)) take effect only after a CoreApp restart; RV(restart_required)
    says so.
author:
  - wabiz.api_client contributors (@wabiz)
extends_documentation_fragment:
  - wabiz.api_client._api
  - wabiz.api_client._attributes
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
    details: The current settings are read; nothing is changed.
  diff_mode:
    support: full
    details: Before and after of the managed fields only.
  idempotent:
    support: partial
    details:
      - Full for O(state=present).
      - For O(state=reset), only the fields with a documented default (and C(webhooks.url), empty when no
        webhook is set) are compared; other fields are not checked. Use O(force=true) to always reset.
  platform:
    platforms: posix
options:
  settings:
    description:
      - The fields to manage, nested (a C(webhooks) dictionary holding C(url)) or with dotted keys (C(webhooks.url)).
      - Known fields and what they take.
      - C(callback_persist), C(sent_status) (deprecated since v2.45), C(notify_user_change_number),
        C(show_security_notifications), C(webhooks.message.sent), C(webhooks.message.delivered),
        C(webhooks.message.read), C(garbagecollector_enable.media), C(garbagecollector_enable.messages),
        C(verbose_logging), and the older clients' C(db_garbagecollector_enable) and
        C(axolotl_context_striping_disabled) take a boolean.
      - C(callback_backoff_delay_ms) and C(max_callback_backoff_delay_ms) take a number of milliseconds >= 0,
        as a String (V("3000"), the type of Meta's PATCH reference) or an integer (V(3000), as C(GET) answers).
      - C(heartbeat_interval) and C(unhealthy_interval) take an integer >= 1.
      - C(webhooks.max_concurrent_requests) takes V(6) (the default), V(12), V(18) or V(24).
      - C(media.auto_download) takes a list of C(image), C(video), C(voice), C(sticker), C(audio), C(document).
      - C(pass_through) takes only V(false) (it cannot be re-enabled since v2.35).
      - C(webhooks.url) takes an C(https://host/...) URL, or the empty string to clear it.
      - C(log_level) takes a non-empty string; C(on_call_pager) (older clients) the WhatsApp ID of a contact.
      - C(wa_id) is read-only and refused.
      - Any other field is sent as given (see the description).
      - Required with O(state=present).
    type: dict
  state:
    description:
      - V(present) makes the given fields equal to O(settings); V(reset) resets every setting to its default.
    type: str
    choices: [present, reset]
    default: present
  force:
    description:
      - With O(state=reset), send the reset even when the compared fields already have their defaults.
    type: bool
    default: false
seealso:
  - module: wabiz.api_client.webhook_ca
"""

EXAMPLES = r"""
- name: Step 3 - stop sending webhooks to the old webhook server
  wabiz.api_client.app_settings:
    api_url: https://wa-old.example.com:9090
    api_token: "{{ wa_old_token }}"
    settings:
      webhooks:
        url: ""

- name: Step 9 - point the new setup at the webhook server
  wabiz.api_client.app_settings:
    api_url: https://wa-new.example.com:9090
    api_token: "{{ wa_new_token }}"
    settings:
      webhooks.url: https://hooks.example.com/whatsapp
      webhooks.message.read: false
      callback_persist: true

- name: Retry failed callbacks after 5 s, 10 s, 15 s ... (String form, as in Meta's reference) and log verbosely
  wabiz.api_client.app_settings:
    api_url: https://wa-new.example.com:9090
    api_token: "{{ wa_new_token }}"
    settings:
      callback_backoff_delay_ms: "5000"
      verbose_logging: true

- name: Reset everything to the defaults
  wabiz.api_client.app_settings:
    api_url: https://wa-new.example.com:9090
    api_token: "{{ wa_new_token }}"
    state: reset
"""

RETURN = r"""
settings:
  description: The application settings after the run (in check mode, as they would be).
  returned: success
  type: dict
  sample: {"webhooks": {"url": "https://hooks.example.com/whatsapp"}, "callback_persist": true}
changes:
  description: The fields that differ (or differed), with dotted names, each with C(before) and C(after).
  returned: success
  type: dict
  sample: {"webhooks.url": {"before": "", "after": "https://hooks.example.com/whatsapp"}}
restart_required:
  description: A changed field takes effect only after a CoreApp restart.
  returned: success
  type: bool
"""

import copy
import re
from urllib.parse import urlsplit

from ansible_collections.wabiz.api_client.plugins.module_utils._api import APP_SETTINGS_PATH, WAModule
from ansible_collections.wabiz.api_client.plugins.module_utils import _answer
from ansible_collections.wabiz.api_client.plugins.module_utils._validate import SECRET_MASK, one_of

#: A sanity bound for integer settings (no documented setting comes near it; larger is a typo).
MAX_INT = 2147483647
MEDIA_TYPES = ("image", "video", "voice", "sticker", "audio", "document")


def _bool(value):
    return None if isinstance(value, bool) else "a boolean"


def _int(low):
    def check(value):
        if isinstance(value, bool) or not isinstance(value, int):
            return "an integer"
        if value < low:
            return "an integer >= %d" % low
        if value > MAX_INT:
            return "an integer <= %d" % MAX_INT
        return None
    return check


_NUMBER = re.compile(r"^\s*-?[0-9]{1,30}(\.[0-9]{1,30})?\s*$")


def as_number(value):
    """The number in ``value`` (an int/float, or a String such as "3000"), else ``None``; booleans are not numbers."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return value
    if isinstance(value, str) and _NUMBER.match(value):
        return float(value) if "." in value else int(value)
    return None


def _milliseconds(value):
    number = as_number(value)
    if number is None or isinstance(number, float) or number < 0:
        return "a number of milliseconds >= 0, as \"3000\" or 3000"
    return None


def _wa_id(value):
    if isinstance(value, str) and (value == "" or value.isdigit()):
        return None
    return "the WhatsApp ID (digits) of a contact, or \"\""


def _webhook_url(value):
    if not isinstance(value, str):
        return "a string"
    if value == "":
        return None
    what = "an HTTPS URL (https://host/...) or \"\" to clear it"
    if any(c.isspace() for c in value):
        return what
    try:
        parts = urlsplit(value)
        port = parts.port  # a bad port raises ValueError
    except ValueError:
        return what
    del port
    return None if parts.scheme == "https" and parts.hostname else what


def _auto_download(value):
    if not isinstance(value, list) or not all(isinstance(v, str) and v in MEDIA_TYPES for v in value):
        return "a list of %s" % ", ".join(MEDIA_TYPES)
    return None


def _pass_through(value):
    if value is False:
        return None
    if value is True:
        return "false: pass_through cannot be re-enabled since v2.35"
    return "a boolean"


def _log_level(value):
    return None if isinstance(value, str) and value else "a non-empty string"


#: Dotted field name -> validator returning ``None`` or what the value must be.
FIELDS = {
    "callback_persist": _bool,
    "callback_backoff_delay_ms": _milliseconds,
    "max_callback_backoff_delay_ms": _milliseconds,
    "heartbeat_interval": _int(1),
    "unhealthy_interval": _int(1),
    "media.auto_download": _auto_download,
    "pass_through": _pass_through,
    "sent_status": _bool,
    "webhooks.url": _webhook_url,
    "webhooks.max_concurrent_requests": one_of(6, 12, 18, 24),
    "webhooks.message.sent": _bool,
    "webhooks.message.delivered": _bool,
    "webhooks.message.read": _bool,
    "notify_user_change_number": _bool,
    "show_security_notifications": _bool,
    "garbagecollector_enable.media": _bool,
    "garbagecollector_enable.messages": _bool,
    "log_level": _log_level,
    "verbose_logging": _bool,
    # Documented by older client versions.
    "on_call_pager": _wa_id,
    "db_garbagecollector_enable": _bool,
    "axolotl_context_striping_disabled": _bool,
}
GROUPS = set(name.rsplit(".", 1)[0] for name in FIELDS if "." in name) | {"webhooks.message"}
READ_ONLY = ("wa_id",)
RESTART_FIELDS = ("callback_persist", "pass_through", "webhooks.max_concurrent_requests",
                  "garbagecollector_enable.media", "garbagecollector_enable.messages", "db_garbagecollector_enable")

#: The documented defaults (facts page section 5); ``webhooks.url`` is empty when no webhook is set.
DOCUMENTED_DEFAULTS = {
    "callback_persist": True,
    "callback_backoff_delay_ms": 3000,
    "max_callback_backoff_delay_ms": 900000,
    "heartbeat_interval": 5,
    "unhealthy_interval": 30,
    "media.auto_download": list(MEDIA_TYPES),
    "pass_through": False,
    "webhooks.url": "",
    "webhooks.max_concurrent_requests": 6,
}


class SettingsInputError(ValueError):
    pass


def flatten_input(settings, prefix=""):
    """Dotted names -> values for the user's settings (nested and/or dotted keys).

    A key that is not documented is kept (the client judges it); a dictionary under it is flattened too.
    Raises :class:`SettingsInputError` listing every read-only, duplicate or malformed key.
    """
    flat = {}
    errors = []
    for key, value in settings.items():
        name = prefix + str(key)
        if name in READ_ONLY:
            errors.append("%s is read-only (it is the registered number)" % name)
        elif name in FIELDS:
            if name in flat:
                errors.append("%s is given twice" % name)
            flat[name] = value
        elif isinstance(value, dict) and (name in GROUPS or value):
            try:
                for sub_name, sub_value in flatten_input(value, name + ".").items():
                    if sub_name in flat:
                        errors.append("%s is given twice" % sub_name)
                    flat[sub_name] = sub_value
            except SettingsInputError as exc:
                errors.extend(exc.args[0])
        elif name in GROUPS:
            errors.append("%s must be a dictionary" % name)
        else:
            if name in flat:
                errors.append("%s is given twice" % name)
            flat[name] = value
    if errors:
        raise SettingsInputError(errors)
    return flat


def validate(flat):
    """Every problem of the dotted settings, as readable sentences (empty list when valid)."""
    problems = []
    for name in sorted(flat):
        what = FIELDS[name](flat[name]) if name in FIELDS else None
        if what:
            problems.append("%s must be %s (got %r)" % (name, what, flat[name]))
        elif SECRET_MASK in str(flat[name]):
            problems.append("%s holds the mask %s, a masked copy from a result or a record: give the real value"
                            % (name, SECRET_MASK))
    return problems


def parse_settings(settings):
    """Flatten and validate the user's settings; raises :class:`SettingsInputError` with all problems."""
    if not isinstance(settings, dict) or not settings:
        raise SettingsInputError(["settings must be a non-empty dictionary"])
    flat = flatten_input(settings)
    problems = validate(flat)
    if problems:
        raise SettingsInputError(problems)
    return flat


def get_path(nested, name, default=None):
    value = nested
    for part in name.split("."):
        if not isinstance(value, dict) or part not in value:
            return default
        value = value[part]
    return value


def set_path(nested, name, value):
    parts = name.split(".")
    for part in parts[:-1]:
        nested = nested.setdefault(part, {})
    nested[parts[-1]] = copy.deepcopy(value)


def unflatten(flat):
    nested = {}
    for name in sorted(flat):
        set_path(nested, name, flat[name])
    return nested


_MISSING = object()


def undocumented(flat):
    """The given fields that are not documented (sent as given; the client decides)."""
    return sorted(n for n in flat if n not in FIELDS)


def same(name, current, desired):
    if name == "media.auto_download" and isinstance(current, list) and isinstance(desired, list):
        return sorted(current) == sorted(desired)
    if isinstance(current, str) or isinstance(desired, str):
        # "3000" (Meta's PATCH reference types some numbers as String) is the number 3000 (what GET answers).
        cur, want = as_number(current), as_number(desired)
        if cur is not None and want is not None and (cur == want):
            return True
    return current == desired and type(current) is type(desired)


def differences(current, desired_flat):
    """Dotted name -> (before, after) for each desired field that differs from the current settings."""
    changes = {}
    for name in sorted(desired_flat):
        before = get_path(current, name, _MISSING)
        if before is _MISSING or not same(name, before, desired_flat[name]):
            changes[name] = (None if before is _MISSING else before, desired_flat[name])
    return changes


def apply(current, flat):
    result = copy.deepcopy(current)
    for name, value in flat.items():
        set_path(result, name, value)
    return result


def read_settings(client, flat):
    """The current settings; each group holding a field of ``flat`` must be an object where present."""
    answer, call = client.get(APP_SETTINGS_PATH), "GET " + APP_SETTINGS_PATH
    for group in set(name.rsplit(".", 1)[0] for name in flat if "." in name):
        _answer.read(answer, call, dict, "settings", "application", *group.split("."), required=False)
    return _answer.read(answer, call, dict, "settings", "application")


def main():
    module = WAModule(
        argument_spec=dict(
            settings=dict(type="dict"),
            state=dict(type="str", choices=["present", "reset"], default="present"),
            force=dict(type="bool", default=False),
        ),
        required_if=[("state", "present", ["settings"])],
        supports_check_mode=True,
    )
    p = module.params
    if p["state"] == "present":
        try:
            desired = parse_settings(p["settings"])
        except SettingsInputError as exc:
            module.fail_json(msg="invalid settings: %s" % "; ".join(exc.args[0]))
        if "sent_status" in desired:
            module.warn("sent_status is deprecated since v2.45")
        for name in undocumented(desired):
            module.warn("%s is not a documented application setting: it is sent as given and the client decides"
                        % name)
    else:
        if p["settings"]:
            module.warn("settings is ignored with state=reset")
        desired = dict(DOCUMENTED_DEFAULTS)

    with module.api_errors("application settings") as client:
        current = read_settings(client, desired)
        changes = differences(current, desired)
        if p["state"] == "reset" and p["force"] and not changes:
            changes = dict((name, (get_path(current, name), value)) for name, value in desired.items())
        result = dict(changed=bool(changes),
                      changes=dict((n, dict(before=b, after=a)) for n, (b, a) in changes.items()),
                      restart_required=bool(changes) and any(n in RESTART_FIELDS for n in changes))
        if module.diff_mode:
            result["diff"] = dict(
                before=unflatten(dict((n, get_path(current, n)) for n in desired)),
                after=unflatten(desired),
            )
        if not changes:
            module.exit_json(settings=current, **result)
        if module.check_mode:
            module.exit_json(settings=apply(current, desired), **result)
        if p["state"] == "present":
            client.patch(APP_SETTINGS_PATH, unflatten(dict((n, desired[n]) for n in changes)))
        else:
            client.delete(APP_SETTINGS_PATH)
        after = read_settings(client, desired)
    if p["state"] == "present":
        still = differences(after, desired)
        unseen = sorted(n for n in still if n not in FIELDS and get_path(after, n, _MISSING) is _MISSING)
        if unseen:
            module.warn("the client accepted %s but does not show it in its settings: not verified"
                        % ", ".join(unseen))
            still = dict((n, v) for n, v in still.items() if n not in unseen)
        if still:
            module.fail_json(msg="the client accepted the change but still reports different values for %s"
                                 % ", ".join(sorted(still)), settings=after, **result)
    module.exit_json(settings=after, **result)


if __name__ == "__main__":
    main()
