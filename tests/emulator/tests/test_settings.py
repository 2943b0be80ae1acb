import copy

import pytest
from cryptography.hazmat.primitives import serialization

from wa_emulator import certs

DEFAULTS = {
    "callback_persist": True, "callback_backoff_delay_ms": 3000, "max_callback_backoff_delay_ms": 900000,
    "heartbeat_interval": 5, "unhealthy_interval": 30,
    "media": {"auto_download": ["image", "video", "voice", "sticker", "audio", "document"]},
    "pass_through": False, "sent_status": False,
    "webhooks": {"url": "", "max_concurrent_requests": 6, "message": {"sent": True, "delivered": True, "read": True}},
    "notify_user_change_number": False, "show_security_notifications": False,
    "garbagecollector_enable": {"media": True, "messages": True}, "log_level": "info", "verbose_logging": False,
}


def settings(api):
    r = api.get("/v1/settings/application")
    assert r.status == 200, r
    return r.json["settings"]["application"]


def test_defaults_and_wa_id(api):
    assert settings(api) == dict(DEFAULTS, wa_id="")
    api.seed()
    assert settings(api)["wa_id"] == "15550001111"


def test_patch_is_partial_and_nested(api):
    r = api.call("PATCH", "/v1/settings/application",
                 body={"webhooks": {"url": "https://hooks.example.com/x", "message": {"read": False}},
                       "callback_backoff_delay_ms": 1000})
    assert r.status == 200, r
    want = copy.deepcopy(DEFAULTS)
    want["webhooks"]["url"] = "https://hooks.example.com/x"
    want["webhooks"]["message"]["read"] = False
    want["callback_backoff_delay_ms"] = 1000
    assert settings(api) == dict(want, wa_id="")
    # A second PATCH leaves the first one's fields alone; "" clears the URL.
    assert api.call("PATCH", "/v1/settings/application", body={"webhooks": {"url": ""}}).status == 200
    want["webhooks"]["url"] = ""
    assert settings(api) == dict(want, wa_id="")
    assert api.call("DELETE", "/v1/settings/application").status == 200
    assert settings(api) == dict(DEFAULTS, wa_id="")


@pytest.mark.parametrize("patch", [
    {"webhooks": {"url": "http://hooks.example.com/x"}},
    {"webhooks": {"url": "ftp://x"}},
    {"webhooks": {"url": 5}},
    {"unknown_field": 1},
    {"webhooks": {"unknown": 1}},
    {"media": {"auto_download": ["image", "hologram"]}},
    {"wa_id": "15550001111"},
    {"pass_through": True},
    {"callback_persist": "yes"},
    {"heartbeat_interval": -1},
    {"webhooks": "https://x"},
    {"webhooks": {"url": "https://"}},
    {"webhooks": {"url": "https:///path-only"}},
    {"webhooks": {"url": "https://hooks example.com/x"}},
    {"webhooks": {"url": "hooks.example.com/x"}},
    {"webhooks": {"url": "https://hooks.example.com:99999/x"}},
    {"webhooks": {"max_concurrent_requests": 1}},
    {"webhooks": {"max_concurrent_requests": 7}},
    {"webhooks": {"max_concurrent_requests": 1000}},
    {"webhooks": {"max_concurrent_requests": "12"}},
    {"callback_backoff_delay_ms": "3 s"},
    {"callback_backoff_delay_ms": "-1"},
    {"max_callback_backoff_delay_ms": 1.5},
    {"verbose_logging": "true"},
    {"on_call_pager": 15551234567},
    {"tcp_listen_address": 5},
    ["not", "an", "object"],
])
def test_invalid_patches_change_nothing(shared_registered, patch):
    api = shared_registered
    api.call("PATCH", "/v1/settings/application", body={"heartbeat_interval": 7})
    before = settings(api)
    r = api.call("PATCH", "/v1/settings/application", body=patch)
    assert r.status == 400 and r.error_code() == 1009, r
    assert settings(api) == before


def test_documented_fields_and_both_value_forms(shared_registered):
    """Meta's PATCH reference types the backoff fields as String ("3000"); GET answers numbers. verbose_logging is in
    the current GET sample; on_call_pager, db_garbagecollector_enable, axolotl_context_striping_disabled are documented
    by older versions."""
    api = shared_registered
    assert api.call("DELETE", "/v1/settings/application").status == 200
    r = api.call("PATCH", "/v1/settings/application", body={
        "callback_backoff_delay_ms": "4000", "max_callback_backoff_delay_ms": "600000", "verbose_logging": True,
        "on_call_pager": "15551234567", "db_garbagecollector_enable": False,
        "axolotl_context_striping_disabled": True, "webhooks": {"max_concurrent_requests": 24}})
    assert r.status == 200, r
    got = settings(api)
    assert got["callback_backoff_delay_ms"] == 4000 and got["max_callback_backoff_delay_ms"] == 600000
    assert got["verbose_logging"] is True and got["on_call_pager"] == "15551234567"
    assert got["db_garbagecollector_enable"] is False and got["axolotl_context_striping_disabled"] is True
    assert got["webhooks"]["max_concurrent_requests"] == 24
    # The number form is accepted too; GET copied into PATCH is accepted as a whole (minus the read-only wa_id).
    assert api.call("PATCH", "/v1/settings/application", body={"callback_backoff_delay_ms": 3000}).status == 200
    copy_back = {k: v for k, v in settings(api).items() if k != "wa_id"}
    assert api.call("PATCH", "/v1/settings/application", body=copy_back).status == 200
    for value in (6, 12, 18, 24):
        assert api.call("PATCH", "/v1/settings/application",
                        body={"webhooks": {"max_concurrent_requests": value}}).status == 200
    assert api.call("DELETE", "/v1/settings/application").status == 200
    assert settings(api)["webhooks"]["max_concurrent_requests"] == 6 and "on_call_pager" not in settings(api)


def test_what_metas_samples_and_real_clients_send_is_accepted(shared_registered):
    """on_call_pager: Meta's older sample "on-call-pager-group-id", and null as published clients send it;
    tcp_listen_address, which a published Python client of the on-premises API sends with every PATCH."""
    api = shared_registered
    for body in ({"on_call_pager": "on-call-pager-group-id"}, {"on_call_pager": None},
                 {"tcp_listen_address": "0.0.0.0"}, {"tcp_listen_address": None}):
        r = api.call("PATCH", "/v1/settings/application", body=body)
        assert r.status == 200, (body, r)
        key, value = next(iter(body.items()))
        assert settings(api)[key] == value
    assert api.call("DELETE", "/v1/settings/application").status == 200


def test_restart_settings_apply_after_the_coreapps_restart(registered):
    """callback_persist, pass_through, webhooks.max_concurrent_requests and the garbage collector need a CoreApp
    restart (Meta's reference): GET shows the new value, the running nodes keep the old one until they restart."""
    api = registered

    def effective(name):
        return {n["info"]["effective_settings"][name] for n in api.state()["nodes"] if n["alive"]}

    assert effective("webhooks.max_concurrent_requests") == {6}
    assert api.call("PATCH", "/v1/settings/application", body={
        "webhooks": {"max_concurrent_requests": 18}, "callback_persist": False,
        "garbagecollector_enable": {"media": False}, "log_level": "debug"}).status == 200
    assert settings(api)["webhooks"]["max_concurrent_requests"] == 18
    st = api.state()
    assert st["restart_pending"] == ["callback_persist", "garbagecollector_enable.media",
                                     "webhooks.max_concurrent_requests"]
    assert effective("webhooks.max_concurrent_requests") == {6} and effective("callback_persist") == {True}
    assert api.post("/_emulator/restart").status == 200
    api.wait_status("connected")
    api.wait(lambda s: s["restart_pending"] == [], what="the restarted nodes to read the settings")
    assert effective("webhooks.max_concurrent_requests") == {18} and effective("callback_persist") == {False}


def test_settings_are_admin_only(api):
    api.post("/v1/users", {"username": "user1", "password": "U1-password"})
    tok = api.basic_login("user1", "U1-password").json["users"][0]["token"]
    for method in ("GET", "PATCH", "DELETE"):
        assert api.call(method, "/v1/settings/application", body={}, token=tok).status == 403


def ca_pem():
    _key, cert = certs.make_ca("test webhook CA")
    return cert.public_bytes(serialization.Encoding.PEM)


def test_webhook_ca_lifecycle(api):
    r = api.get("/v1/certificates/webhooks/ca")
    assert r.status == 404 and r.raw == b""
    pem = ca_pem()
    r = api.call("POST", "/v1/certificates/webhooks/ca", raw=pem, headers={"Content-Type": "application/json"})
    assert r.status == 400 and r.error_code() == 1009
    r = api.call("POST", "/v1/certificates/webhooks/ca", raw=b"-----BEGIN CERTIFICATE-----\nAAAA\n"
                 b"-----END CERTIFICATE-----\n", headers={"Content-Type": "text/plain"})
    assert r.status == 400 and r.error_code() == 1009
    r = api.call("POST", "/v1/certificates/webhooks/ca", raw=b"hello", headers={"Content-Type": "text/plain"})
    assert r.status == 400 and r.error_code() == 1009
    assert api.get("/_emulator/state").json["webhook_ca_present"] is False
    r = api.call("POST", "/v1/certificates/webhooks/ca", raw=pem, headers={"Content-Type": "text/plain"})
    assert r.status == 200, r
    r = api.get("/v1/certificates/webhooks/ca")
    assert r.status == 200 and r.raw == pem
    assert api.state()["webhook_ca_present"] is True
    assert api.call("DELETE", "/v1/certificates/webhooks/ca").status == 200
    assert api.get("/v1/certificates/webhooks/ca").status == 404
    assert api.state()["webhook_ca_present"] is False


def test_webhook_ca_is_not_restored(emulators):
    from conftest import migrate
    old = emulators("old")
    old.api.login()
    old.api.seed()
    old.api.wait_status("connected")
    assert old.api.call("POST", "/v1/certificates/webhooks/ca", raw=ca_pem(),
                        headers={"Content-Type": "text/plain"}).status == 200
    new = emulators("new", network_url=old.network_url)
    new.api.login()
    assert migrate(old.api, new.api).status == 200
    assert new.api.state()["webhook_ca_present"] is False
    assert new.api.get("/v1/certificates/webhooks/ca").status == 404


@pytest.mark.parametrize("pin", ["12345", "1234567", "12345a", 123456, "", " 123456", None])
def test_two_step_pin_must_be_six_digits(shared_registered, pin):
    r = shared_registered.post("/v1/settings/account/two-step", {"pin": pin})
    assert r.status == 400 and r.error_code() == 1009, r
    assert shared_registered.state()["two_step"]["enabled"] is False


def test_two_step_enable_disable_and_no_get(registered):
    api = registered
    assert api.post("/v1/settings/account/two-step", {}).error_code() == 1008
    r = api.post("/v1/settings/account/two-step", {"pin": "123456"})
    assert r.status == 200, r
    st = api.state()["two_step"]
    assert st["enabled"] is True and st["pin_sha256"]
    r = api.get("/v1/settings/account/two-step")
    assert r.status == 405 and r.json["errors"][0]["code"]
    assert api.call("DELETE", "/v1/settings/account/two-step").status == 200
    assert api.state()["two_step"]["enabled"] is False


def test_two_step_needs_a_connected_client(api):
    r = api.post("/v1/settings/account/two-step", {"pin": "123456"})
    assert r.status == 400 and r.error_code() == 1011
