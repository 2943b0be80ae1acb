import datetime

import pytest

from conftest import ADMIN_PASSWORD, migrate


def test_first_login_demands_password_change(emu):
    api = emu.api
    r = api.basic_login("admin", "secret")
    assert r.status == 400
    assert r.json["errors"][0]["code"] == 1024
    assert r.json["errors"][0]["title"] == "Password Change Required"
    r = api.basic_login("admin", "wrong")
    assert r.status == 401
    r = api.basic_login("admin", "secret", {"new_password": ADMIN_PASSWORD})
    assert r.status == 200, r
    user = r.json["users"][0]
    assert user["token"].count(".") == 2
    expires = datetime.datetime.strptime(user["expires_after"], "%Y-%m-%d %H:%M:%S+00:00")
    now = datetime.datetime.utcnow()
    assert datetime.timedelta(days=6, hours=23) < expires - now <= datetime.timedelta(days=7, minutes=1)
    # The default password is gone; the new one logs in without new_password.
    assert api.basic_login("admin", "secret").status == 401
    r = api.basic_login("admin", ADMIN_PASSWORD)
    assert r.status == 200 and r.json["users"][0]["token"]


@pytest.mark.parametrize("bad", [
    "Sh0rt!", "a" * 60 + "A1!" + "bbbbb", "nouppercase1!", "NOLOWERCASE1!", "NoDigitsHere!", "NoSpecial123",
])
def test_password_rules(shared_fresh, bad):
    emu = shared_fresh
    r = emu.api.basic_login("admin", "secret", {"new_password": bad})
    assert r.status == 400
    assert r.error_code() == 1009
    # Still the default password: nothing changed.
    assert emu.api.basic_login("admin", "secret").error_code() == 1024


def test_first_login_form_encoded_as_a_published_helm_chart_sends_it(emu):
    import base64
    import urllib.parse
    basic = {"Authorization": "Basic " + base64.b64encode(b"admin:secret").decode(),
             "Content-Type": "application/x-www-form-urlencoded"}
    r = emu.api.call("POST", "/v1/users/login", headers=basic, raw=b"new_password=Sh0rt!")
    assert r.status == 400 and r.error_code() == 1009  # the same rules
    form = urllib.parse.urlencode({"new_password": ADMIN_PASSWORD}).encode()
    r = emu.api.call("POST", "/v1/users/login", headers=basic, raw=form)
    assert r.status == 200 and r.json["users"][0]["token"], r
    assert emu.api.basic_login("admin", ADMIN_PASSWORD).status == 200


def test_password_rule_boundaries(emu):
    assert emu.api.basic_login("admin", "secret", {"new_password": "Aa1!" + "x" * 60}).status == 200
    assert emu.api.basic_login("admin", "Aa1!" + "x" * 60).status == 200


def test_missing_bad_and_garbage_tokens_are_401(api):
    assert api.get("/v1/health", token="").status == 401
    r = api.call("GET", "/v1/health", headers={"Authorization": "Bearer nope"})
    assert r.status == 401 and r.json["errors"][0]["code"]
    tampered = api.token[:-2] + ("AA" if not api.token.endswith("AA") else "BB")
    assert api.get("/v1/health", token=tampered).status == 401
    assert api.get("/v1/settings/application").status == 200


def test_token_expires_after_seven_days(api):
    assert api.post("/_emulator/clock", {"advance_seconds": 6 * 86400 + 23 * 3600}).status == 200
    assert api.get("/v1/health").status == 200
    r = api.post("/_emulator/clock", {"advance_seconds": 3601})
    assert r.status == 200
    assert api.get("/v1/health").status == 401
    # A new login gives a token valid from the emulated "now".
    api.login()
    assert api.get("/v1/health").status == 200
    user_now = api.get("/_emulator/clock").json["now"]
    assert user_now > datetime.datetime.utcnow().strftime("%Y-%m-%d")


def test_logout_revokes_only_that_token(api):
    first = api.token
    second = api.login()
    assert first != second
    r = api.post("/v1/users/logout", token=first)
    assert r.status == 200
    assert api.get("/v1/health", token=first).status == 401
    assert api.get("/v1/health", token=second).status == 200


def test_user_management(api):
    r = api.post("/v1/users", {"username": "opsy", "password": "0ps-Passw0rd"})
    assert r.status == 201, r
    assert r.json["users"] == [{"username": "opsy"}]
    # Meta's reference: a duplicate answers code 1014 "Unable to create user. Already exist?"
    r = api.post("/v1/users", {"username": "opsy", "password": "0ps-Passw0rd"})
    assert r.error_code() == 1014 and r.json["errors"][0]["details"] == "Unable to create user. Already exist?"
    assert r.status == 500  # Meta's Postman collection
    assert api.post("/v1/users", {"username": "weak", "password": "weak"}).error_code() == 1009
    assert api.post("/v1/users", {"username": "x"}).error_code() == 1008
    r = api.get("/v1/users/opsy")
    # Meta's Postman sample: {"users": [{"ROLES": "ROLE_USER", "username": "username"}]}
    assert r.status == 200 and r.json["users"] == [{"username": "opsy", "ROLES": "ROLE_USER"}]
    assert api.get("/v1/users/ghost").status == 404
    names = [u["username"] for u in api.get("/v1/users").json["users"]]
    assert names == ["admin", "opsy"]
    # The ops user logs in, may read health but not admin endpoints.
    r = api.basic_login("opsy", "0ps-Passw0rd")
    assert r.status == 200
    ops_token = r.json["users"][0]["token"]
    assert api.get("/v1/health", token=ops_token).status == 200
    r = api.get("/v1/settings/application", token=ops_token)
    assert r.status == 403 and r.error_code() == 1005
    assert api.post("/v1/users", {"username": "y", "password": "0ps-Passw0rd"}, token=ops_token).status == 403
    # Password change by the admin.
    assert api.call("PUT", "/v1/users/opsy", body={"password": "N3w-0ps-pass"}).status == 200
    assert api.basic_login("opsy", "0ps-Passw0rd").status == 401
    assert api.basic_login("opsy", "N3w-0ps-pass").status == 200
    # admin cannot be deleted; ops can, and its token dies with it.
    r = api.call("DELETE", "/v1/users/admin")
    assert r.status == 403 and r.error_code() == 1005
    assert api.call("DELETE", "/v1/users/opsy").status == 200
    assert api.get("/v1/health", token=ops_token).status == 401
    assert api.get("/v1/users/opsy").status == 404


def test_api_key_only_for_monitoring(emulators):
    key = "monitoring-key-0123"
    emu = emulators("k", "--api-key", key)
    api = emu.api
    auth = {"Authorization": "Apikey " + key}
    assert api.call("GET", "/v1/health", headers=auth).status == 200
    r = api.call("GET", "/metrics", headers=auth)
    assert r.status == 200 and r.json["metrics"]["wa_registered"]["data"] == [{"value": 0}]
    assert api.call("GET", "/v1/stats/app", headers=auth).status == 200
    assert api.call("GET", "/v1/stats/db", headers=auth).status == 200
    for method, path in [("GET", "/v1/settings/application"), ("POST", "/v1/settings/backup"),
                         ("POST", "/v1/messages"), ("POST", "/v1/users/logout")]:
        assert api.call(method, path, headers=auth, body={}).status == 401, path
    assert api.call("GET", "/v1/health", headers={"Authorization": "Apikey wrong-key-0123"}).status == 401


def test_api_key_not_configured_is_refused(api):
    assert api.call("GET", "/v1/health", headers={"Authorization": "Apikey anything-at-all"}).status == 401


def test_api_key_length_enforced(tmp_path):
    from conftest import start_emulator
    with pytest.raises(AssertionError, match="12 to 128"):
        start_emulator(tmp_path / "short", "--api-key", "short")


def test_users_and_tokens_are_not_migrated(emulators):
    old = emulators("old")
    old.api.login("0ld-Passw0rd!")
    old.api.seed()
    old.api.wait_status("connected")
    assert old.api.post("/v1/users", {"username": "olduser", "password": "0ld-User-pass"}).status == 201
    new = emulators("new", network_url=old.network_url)
    new.api.login("N3w-Passw0rd!")
    assert migrate(old.api, new.api).status == 200
    new.api.wait_status("connected")
    # The old token and old passwords mean nothing on the new setup.
    assert new.api.get("/v1/health", token=old.api.token).status == 401
    assert new.api.basic_login("admin", "0ld-Passw0rd!").status == 401
    assert new.api.basic_login("olduser", "0ld-User-pass").status == 401
    assert [u["username"] for u in new.api.state()["users"]] == ["admin"]
    assert new.api.basic_login("admin", "N3w-Passw0rd!").status == 200


def test_legacy_expires_after_format(api):
    assert api.post("/_emulator/config", {"expires_after_format": "legacy"}).status == 200
    r = api.basic_login("admin", ADMIN_PASSWORD)
    expires = datetime.datetime.strptime(r.json["users"][0]["expires_after"], "%Y-%m-%dT%H:%M:%SZ")
    assert expires > datetime.datetime.utcnow() + datetime.timedelta(days=6)
    assert api.post("/_emulator/config", {"expires_after_format": "iso-ish"}).status == 400


@pytest.mark.parametrize("username, ok", [("abc", False), ("abcd", True), ("a" * 32, True), ("a" * 33, False),
                                          ("first.last@example", True)])
def test_username_length(api, username, ok):
    # Meta's reference: "Must be a minimum of 4 characters and a maximum of 32 characters."
    r = api.post("/v1/users", {"username": username, "password": "0ps-Passw0rd"})
    assert (r.status == 201) is ok, r
    if not ok:
        assert r.error_code() == 1009 and "4 to 32" in r.json["errors"][0]["details"]


def test_every_documented_special_character_counts(api):
    # Meta's login reference: "one special character from among !"#$%&\'()*+,-./:;<=>?@[]^_`{|}~"
    for i, special in enumerate("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~"):
        r = api.post("/v1/users", {"username": "spec%02d" % i, "password": "Abcdef1" + special})
        assert r.status == 201, (special, r)


@pytest.mark.parametrize("not_special", [" ", "\u00e9", "\u20ac", "\t"])
def test_other_characters_are_not_special(shared_fresh, not_special):
    r = shared_fresh.api.basic_login("admin", "secret", {"new_password": "Abcdef1" + not_special + "x"})
    assert r.status == 400 and r.error_code() == 1009
    assert "special character" in r.json["errors"][0]["details"]


def test_metrics_and_stats_json_and_prometheus(registered):
    api = registered
    r = api.get("/metrics")
    assert r.status == 200 and r.json["meta"]["api_status"] == "stable"
    fam = r.json["metrics"]["wa_registered"]
    assert fam["type"] == "gauge" and fam["help"] and fam["data"] == [{"value": 1}]
    r = api.get("/metrics?format=prometheus")
    assert r.status == 200 and r.headers["Content-Type"].startswith("text/plain")
    text = r.raw.decode()
    assert "# TYPE wa_registered gauge" in text and "\nwa_registered 1\n" in text
    r = api.get("/v1/stats/app")
    app = r.json["stats"]["app"]
    assert app["callback_queue_size"] == {"type": "gauge", "help": "Current callback queue size",
                                          "data": [{"value": 0}]}
    assert all(set(p) == {"labels", "value"} for p in app["callbacks_delivered"]["data"])
    db = api.get("/v1/stats/db").json["stats"]["db"]
    assert db["db_users"]["data"] == [{"value": 1}]
    assert "db_active_tokens 1" in api.get("/v1/stats/db?format=prometheus").raw.decode()
    assert api.get("/v1/stats/app?format=xml").error_code() == 1009
