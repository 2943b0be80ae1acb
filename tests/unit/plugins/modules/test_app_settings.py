# Copyright (c) 2026, wabiz.api_client contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests of app_settings: flattening, validation, comparison (no server)."""

from __future__ import annotations

import pytest

from ansible_collections.wabiz.api_client.plugins.modules import app_settings as m

CURRENT = {
    "callback_persist": True, "callback_backoff_delay_ms": 3000, "max_callback_backoff_delay_ms": 900000,
    "heartbeat_interval": 5, "unhealthy_interval": 30,
    "media": {"auto_download": ["image", "video", "voice", "sticker", "audio", "document"]},
    "pass_through": False, "sent_status": False,
    "webhooks": {"url": "", "max_concurrent_requests": 6, "message": {"sent": True, "delivered": True, "read": True}},
    "notify_user_change_number": False, "show_security_notifications": False,
    "garbagecollector_enable": {"media": True, "messages": True}, "log_level": "info", "wa_id": "15550001111",
}


def test_nested_and_dotted_keys_flatten_the_same():
    nested = m.parse_settings({"webhooks": {"url": "https://h.example/x", "message": {"read": False}}})
    dotted = m.parse_settings({"webhooks.url": "https://h.example/x", "webhooks.message.read": False})
    assert nested == dotted == {"webhooks.url": "https://h.example/x", "webhooks.message.read": False}


@pytest.mark.parametrize("settings, problem", [
    ({"webhooks": {"url": "http://h.example/x"}}, "webhooks.url must be an HTTPS URL"),
    ({"webhooks.url": "https://"}, "webhooks.url must be an HTTPS URL"),
    ({"webhooks.url": 5}, "webhooks.url must be a string"),
    ({"callback_persist": "yes"}, "callback_persist must be a boolean"),
    ({"heartbeat_interval": 0}, "heartbeat_interval must be an integer >= 1"),
    ({"callback_backoff_delay_ms": -1}, "callback_backoff_delay_ms must be a number of milliseconds >= 0"),
    ({"callback_backoff_delay_ms": "3 s"}, "callback_backoff_delay_ms must be a number of milliseconds"),
    ({"max_callback_backoff_delay_ms": True}, "max_callback_backoff_delay_ms must be a number of milliseconds"),
    ({"max_callback_backoff_delay_ms": "1.5"}, "max_callback_backoff_delay_ms must be a number of milliseconds"),
    ({"unhealthy_interval": True}, "unhealthy_interval must be an integer"),
    ({"webhooks.max_concurrent_requests": "12"}, "must be one of 6, 12, 18, 24"),
    ({"webhooks.max_concurrent_requests": 7}, "must be one of 6, 12, 18, 24"),
    ({"webhooks.max_concurrent_requests": True}, "must be one of 6, 12, 18, 24"),
    ({"webhooks.url": "https:///path"}, "webhooks.url must be an HTTPS URL"),
    ({"webhooks.url": "https://h.example:99999/x"}, "webhooks.url must be an HTTPS URL"),
    ({"webhooks.url": "https://h example/x"}, "webhooks.url must be an HTTPS URL"),
    ({"verbose_logging": "true"}, "verbose_logging must be a boolean"),
    ({"on_call_pager": "+1 555"}, "on_call_pager must be the WhatsApp ID"),
    ({"axolotl_context_striping_disabled": 1}, "axolotl_context_striping_disabled must be a boolean"),
    ({"media": {"auto_download": ["image", "movie"]}}, "media.auto_download must be a list of image"),
    ({"pass_through": True}, "cannot be re-enabled since v2.35"),
    ({"log_level": ""}, "log_level must be a non-empty string"),
])
def test_invalid_values_are_refused_with_the_field_named(settings, problem):
    with pytest.raises(m.SettingsInputError) as exc:
        m.parse_settings(settings)
    assert any(problem in text for text in exc.value.args[0]), exc.value.args[0]


@pytest.mark.parametrize("settings, problem", [
    ({"wa_id": "1555"}, "wa_id is read-only"),
    ({"webhooks": "https://x"}, "webhooks must be a dictionary"),
    ({"webhook": {"url": "https://a"}, "webhook.url": "https://b"}, "webhook.url is given twice"),
    ({"webhooks": {"url": "https://a"}, "webhooks.url": "https://b"}, "webhooks.url is given twice"),
    ({}, "settings must be a non-empty dictionary"),
])
def test_read_only_duplicate_and_malformed_keys_are_refused(settings, problem):
    with pytest.raises(m.SettingsInputError) as exc:
        m.parse_settings(settings)
    assert any(problem in text for text in exc.value.args[0]), exc.value.args[0]


def test_undocumented_fields_pass_through_for_the_client_to_judge():
    flat = m.parse_settings({"webhooks": {"uri": "https://x", "url": "https://h.example/x"},
                             "webhook": {"url": "anything"}, "future_field": [1, 2]})
    assert flat == {"webhooks.uri": "https://x", "webhooks.url": "https://h.example/x", "webhook.url": "anything",
                    "future_field": [1, 2]}
    assert m.undocumented(flat) == ["future_field", "webhook.url", "webhooks.uri"]
    assert m.unflatten(flat)["webhooks"] == {"uri": "https://x", "url": "https://h.example/x"}


def test_documented_fields_of_every_version_and_both_number_forms_are_accepted():
    flat = m.parse_settings({"callback_backoff_delay_ms": "3000", "max_callback_backoff_delay_ms": 900000,
                             "verbose_logging": True, "on_call_pager": "15551234567",
                             "db_garbagecollector_enable": False, "axolotl_context_striping_disabled": True,
                             "webhooks": {"max_concurrent_requests": 24}})
    assert m.undocumented(flat) == []
    assert flat["callback_backoff_delay_ms"] == "3000"  # sent as given: Meta's PATCH reference types it String


@pytest.mark.parametrize("given, current", [("3000", 3000), (3000, "3000"), ("900000", 900000), (" 5 ", 5)])
def test_numbers_compare_as_numbers(given, current):
    assert m.differences({"callback_backoff_delay_ms": current}, {"callback_backoff_delay_ms": given}) == {}


@pytest.mark.parametrize("given, current", [("3001", 3000), ("true", True), (1, True), ("", 0), ("3000", "3000x")])
def test_different_values_stay_different(given, current):
    assert m.differences({"x": current}, {"x": given}) == {"x": (current, given)}


def test_all_problems_are_reported_at_once():
    with pytest.raises(m.SettingsInputError) as exc:
        m.parse_settings({"webhooks.url": "http://x", "heartbeat_interval": 0})
    assert len(exc.value.args[0]) == 2


def test_empty_url_clears_and_is_valid():
    assert m.parse_settings({"webhooks": {"url": ""}}) == {"webhooks.url": ""}


def test_differences_only_for_changed_fields():
    desired = m.parse_settings({"webhooks.url": "https://h.example/x", "callback_persist": True,
                                "media.auto_download": ["document", "audio", "sticker", "voice", "video", "image"]})
    changes = m.differences(CURRENT, desired)
    # auto_download order does not matter; callback_persist already true
    assert changes == {"webhooks.url": ("", "https://h.example/x")}
    assert m.unflatten(dict((n, desired[n]) for n in changes)) == {"webhooks": {"url": "https://h.example/x"}}


def test_no_difference_means_idempotent():
    desired = m.parse_settings({"webhooks": {"url": ""}, "log_level": "info"})
    assert m.differences(CURRENT, desired) == {}


def test_type_matters_in_comparison():
    assert m.differences({"heartbeat_interval": True}, {"heartbeat_interval": 1}) == {"heartbeat_interval": (True, 1)}


def test_missing_current_field_is_a_difference():
    assert m.differences({}, {"webhooks.message.read": False}) == {"webhooks.message.read": (None, False)}


def test_apply_merges_without_touching_others():
    after = m.apply(CURRENT, {"webhooks.url": "https://h.example/x"})
    assert after["webhooks"]["url"] == "https://h.example/x"
    assert after["webhooks"]["max_concurrent_requests"] == 6
    assert CURRENT["webhooks"]["url"] == ""


def test_reset_compares_documented_defaults():
    assert m.differences(CURRENT, m.DOCUMENTED_DEFAULTS) == {}
    changed = dict(CURRENT, heartbeat_interval=9)
    assert m.differences(changed, m.DOCUMENTED_DEFAULTS) == {"heartbeat_interval": (9, 5)}
