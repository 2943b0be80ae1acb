"""Application settings: documented fields, defaults and validation (facts page, section 5)."""
import copy

MEDIA_TYPES = ["image", "video", "voice", "sticker", "audio", "document"]

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
        "max_concurrent_requests": 12,
        "message": {"sent": True, "delivered": True, "read": True},
    },
    "notify_user_change_number": False,
    "show_security_notifications": False,
    "garbagecollector_enable": {"media": True, "messages": True},
    "log_level": "info",
}

LOG_LEVELS = ("debug", "info", "warning", "error")


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


def _url(v):
    return isinstance(v, str) and (v == "" or (v.startswith("https://") and len(v) > len("https://")))


def _auto_download(v):
    return isinstance(v, list) and all(isinstance(x, str) and x in MEDIA_TYPES for x in v)


VALIDATORS = {
    "callback_persist": (_bool, "a boolean"),
    "callback_backoff_delay_ms": (_int(0), "a non-negative integer"),
    "max_callback_backoff_delay_ms": (_int(0), "a non-negative integer"),
    "heartbeat_interval": (_int(1), "a positive integer"),
    "unhealthy_interval": (_int(1), "a positive integer"),
    "media.auto_download": (_auto_download, "a list of " + ", ".join(MEDIA_TYPES)),
    "pass_through": (lambda v: v is False, "false (pass_through cannot be re-enabled since v2.35)"),
    "sent_status": (_bool, "a boolean"),
    "webhooks.url": (_url, "an HTTPS URL (https://...) or \"\" to clear it"),
    "webhooks.max_concurrent_requests": (_int(1, 1000), "a positive integer"),
    "webhooks.message.sent": (_bool, "a boolean"),
    "webhooks.message.delivered": (_bool, "a boolean"),
    "webhooks.message.read": (_bool, "a boolean"),
    "notify_user_change_number": (_bool, "a boolean"),
    "show_security_notifications": (_bool, "a boolean"),
    "garbagecollector_enable.media": (_bool, "a boolean"),
    "garbagecollector_enable.messages": (_bool, "a boolean"),
    "log_level": (lambda v: v in LOG_LEVELS, "one of " + ", ".join(LOG_LEVELS)),
}


def merge_patch(current, patch, path=""):
    """Validate ``patch`` and return a new dict: ``current`` with ``patch`` merged (nested)."""
    if not isinstance(patch, dict):
        raise SettingsError("settings must be a JSON object%s" % (" at " + path if path else ""))
    result = copy.deepcopy(current)
    for key, value in patch.items():
        full = path + key
        if full == "wa_id":
            raise SettingsError("wa_id is read-only")
        if full in VALIDATORS:
            check, what = VALIDATORS[full]
            if not check(value):
                raise SettingsError("%s must be %s" % (full, what))
            result[key] = copy.deepcopy(value)
        elif isinstance(result.get(key), dict):
            result[key] = merge_patch(result[key], value, full + ".")
        else:
            raise SettingsError("unknown application setting: %s" % full)
    return result
