"""Application settings: documented fields, defaults and validation.

Source: Meta's reference for ``/v1/settings/application`` (GET sample and PATCH parameters) and the facts page,
section 5. See tests/emulator/README.md ("Application settings") for the reading of the reference.
"""
import copy
import urllib.parse

MEDIA_TYPES = ["image", "video", "voice", "sticker", "audio", "document"]
#: Meta's PATCH reference: "webhooks.max_concurrent_requests ... values: 6 (default), 12, 18, 24".
MAX_CONCURRENT_REQUESTS = (6, 12, 18, 24)

DEFAULTS = {
    "callback_persist": True,
    "callback_backoff_delay_ms": 3000,
    "max_callback_backoff_delay_ms": 900000,
    "heartbeat_interval": 5,
    "unhealthy_interval": 30,
    "media": {"auto_download": list(MEDIA_TYPES)},
    "pass_through": False,
    "sent_status": False,
    "webhooks": {
        "url": "",
        "max_concurrent_requests": 6,
        "message": {"sent": True, "delivered": True, "read": True},
    },
    "notify_user_change_number": False,
    "show_security_notifications": False,
    "garbagecollector_enable": {"media": True, "messages": True},
    "log_level": "info",
    "verbose_logging": False,
}

LOG_LEVELS = ("debug", "info", "warning", "error")

#: Settings documented as taking effect only after a CoreApp restart.
RESTART_FIELDS = ("callback_persist", "pass_through", "webhooks.max_concurrent_requests",
                  "garbagecollector_enable.media", "garbagecollector_enable.messages", "db_garbagecollector_enable")


def defaults():
    return copy.deepcopy(DEFAULTS)


class SettingsError(ValueError):
    pass


def _bool(v):
    return isinstance(v, bool)


def _int(lo, hi=None):
    def check(v):
        return isinstance(v, int) and not isinstance(v, bool) and v >= lo and (hi is None or v <= hi)
    return check


def _ms(v):
    """Meta's PATCH reference types the two backoff fields as String ("3000"); GET answers numbers. Both."""
    if isinstance(v, str) and v.strip().isdigit():
        return True
    return _int(0)(v)


def _ms_value(v):
    return int(v.strip()) if isinstance(v, str) else v


def is_webhook_url(v):
    """"" clears it; otherwise an absolute https:// URL with a host (Meta: "Webhook URL, https")."""
    if not isinstance(v, str):
        return False
    if v == "":
        return True
    if any(c.isspace() for c in v):
        return False
    try:
        parts = urllib.parse.urlsplit(v)
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError:
        return False
    return parts.scheme == "https" and bool(parts.hostname)


def _auto_download(v):
    return isinstance(v, list) and all(isinstance(x, str) and x in MEDIA_TYPES for x in v)


def _str_or_null(v):
    return v is None or isinstance(v, str)


VALIDATORS = {
    "callback_persist": (_bool, "a boolean"),
    "callback_backoff_delay_ms": (_ms, "a non-negative number of milliseconds (\"3000\" or 3000)"),
    "max_callback_backoff_delay_ms": (_ms, "a non-negative number of milliseconds (\"900000\" or 900000)"),
    "heartbeat_interval": (_int(1), "a positive integer"),
    "unhealthy_interval": (_int(1), "a positive integer"),
    "media.auto_download": (_auto_download, "a list of " + ", ".join(MEDIA_TYPES)),
    "pass_through": (lambda v: v is False, "false (pass_through cannot be re-enabled since v2.35)"),
    "sent_status": (_bool, "a boolean"),
    "webhooks.url": (is_webhook_url, "an HTTPS URL (https://host/...) or \"\" to clear it"),
    "webhooks.max_concurrent_requests": (lambda v: _int(1)(v) and v in MAX_CONCURRENT_REQUESTS,
                                         "one of 6, 12, 18, 24"),
    "webhooks.message.sent": (_bool, "a boolean"),
    "webhooks.message.delivered": (_bool, "a boolean"),
    "webhooks.message.read": (_bool, "a boolean"),
    "notify_user_change_number": (_bool, "a boolean"),
    "show_security_notifications": (_bool, "a boolean"),
    "garbagecollector_enable.media": (_bool, "a boolean"),
    "garbagecollector_enable.messages": (_bool, "a boolean"),
    "log_level": (lambda v: v in LOG_LEVELS, "one of " + ", ".join(LOG_LEVELS)),
    "verbose_logging": (_bool, "a boolean"),
    # Documented by older client versions (still accepted by the later ones).
    # Older references: the WhatsApp ID of a contact, or a group id ("on-call-pager-group-id" in Meta's sample);
    # published clients send null.
    "on_call_pager": (_str_or_null, "a string (a contact's WhatsApp ID or a group id) or null"),
    # Not in Meta's reference; a published Python client of the on-premises API sends it with every PATCH.
    "tcp_listen_address": (_str_or_null, "a string or null"),
    "db_garbagecollector_enable": (_bool, "a boolean"),
    "axolotl_context_striping_disabled": (_bool, "a boolean"),
}
#: Stored (and answered by GET) as numbers, whichever form the PATCH used.
NORMALISE = {"callback_backoff_delay_ms": _ms_value, "max_callback_backoff_delay_ms": _ms_value}
GROUPS = {"media", "webhooks", "webhooks.message", "garbagecollector_enable"}


def merge_patch(current, patch, path=""):
    """Validate ``patch`` and return a new dict: ``current`` with ``patch`` merged (nested)."""
    if not isinstance(patch, dict):
        raise SettingsError("settings must be a JSON object%s" % (" at " + path.rstrip(".") if path else ""))
    result = copy.deepcopy(current)
    for key, value in patch.items():
        full = path + key
        if full == "wa_id":
            raise SettingsError("wa_id is read-only")
        if full in VALIDATORS:
            check, what = VALIDATORS[full]
            if not check(value):
                raise SettingsError("%s must be %s" % (full, what))
            result[key] = copy.deepcopy(NORMALISE.get(full, lambda x: x)(value))
        elif full in GROUPS:
            base = result.get(key) if isinstance(result.get(key), dict) else {}
            result[key] = merge_patch(base, value, full + ".")
        else:
            raise SettingsError("unknown application setting: %s" % full)
    return result


def flatten(settings, prefix=""):
    """Dotted name -> value of every leaf of ``settings``."""
    out = {}
    for key, value in (settings or {}).items():
        if isinstance(value, dict):
            out.update(flatten(value, prefix + key + "."))
        else:
            out[prefix + key] = value
    return out


def restart_values(settings):
    """The values of the settings that take effect only after a CoreApp restart (dotted name -> value)."""
    leaves = flatten(settings)
    return {name: leaves.get(name) for name in RESTART_FIELDS}
