import re

from conftest import send_text


def test_single_instance_health_shapes(emu):
    api = emu.api
    api.login()
    assert api.health() == {"gateway_status": "unregistered"}
    api.seed()
    assert api.wait_status("connected")["health"] == {"gateway_status": "connected"}


def test_multiconnect_health_keyed_by_node(emulators):
    emu = emulators("mc", "--masters", "2", "--coreapps", "3")
    api = emu.api
    api.login()
    health = api.health()
    assert len(health) == 5
    for name, entry in health.items():
        assert re.fullmatch(r"(master[12]|wacore[123]):[0-9a-f]{12}", name), name
        assert entry["gateway_status"] == "unregistered"
        assert entry["role"] in ("primary_master", "secondary_master", "coreapp")
    assert sorted(e["role"] for e in health.values()) == [
        "coreapp", "coreapp", "coreapp", "primary_master", "secondary_master"]
    api.seed(shards=2)
    # The settled picture (a spare CoreApp whose last network poll is late under load reports "connecting" a
    # moment): 3 connected, the other two disconnected.
    st = api.wait(lambda s: sorted(v["gateway_status"] for v in s["health"].values())
                  == ["connected"] * 3 + ["disconnected"] * 2)
    by_role = {}
    for entry in st["health"].values():
        by_role.setdefault(entry["role"], []).append(entry["gateway_status"])
    assert by_role["primary_master"] == ["connected"]
    assert by_role["secondary_master"] == ["disconnected"]
    assert sorted(by_role["coreapp"]) == ["connected", "connected", "disconnected"]
    shards = sorted(n["shard"] for n in st["nodes"] if n["kind"] == "coreapp" and n["shard"] is not None)
    assert shards == [0, 1]
    assert st["topology"] == {"shards": 2, "masters": 2, "coreapps": 3}
    r = api.get("/v1/account/shards")
    assert r.status == 200 and r.json["account"]["shards"] == 2


def test_high_availability_only_one_coreapp_connected_primary_master_disconnected(emulators):
    # Meta's health reference, note under the response: in high availability mode (1 shard) only one CoreApp
    # is connected; every other node, the primary Master included, reports disconnected.
    emu = emulators("ha", "--masters", "2", "--coreapps", "2")
    api = emu.api
    api.login()
    api.seed(shards=1)
    st = api.wait(lambda s: sum(v["gateway_status"] == "connected" for v in s["health"].values()) == 1
                  and all(v["gateway_status"] in ("connected", "disconnected") for v in s["health"].values()),
                  what="one CoreApp connected")
    by_role = {}
    for entry in st["health"].values():
        by_role.setdefault(entry["role"], []).append(entry["gateway_status"])
    assert by_role["primary_master"] == ["disconnected"]
    assert by_role["secondary_master"] == ["disconnected"]
    assert sorted(by_role["coreapp"]) == ["connected", "disconnected"]
    assert st["topology"] == {"shards": 1, "masters": 2, "coreapps": 2}
    # The primary Master still holds the lease and the number is served: a message goes out.
    assert [n for n in st["nodes"] if n["role"] == "primary_master"]
    assert send_text(api).status == 201


def registered_multiconnect(emulators, lease):
    """A registered setup of 2 Masters, 3 CoreApps, 2 shards with the given lease, once healthy: (api, state)."""
    emu = emulators("mc", "--masters", "2", "--coreapps", "3", env={"WA_EMULATOR_LEASE_SECONDS": lease})
    api = emu.api
    api.login()
    api.seed(shards=2)
    return api, api.wait(lambda s: sum(v["gateway_status"] == "connected" for v in s["health"].values()) == 3)


def test_killed_primary_master_is_replaced_and_spare_coreapp_takes_the_shard(emulators):
    api, st = registered_multiconnect(emulators, "1.5")
    primary = [n for n in st["nodes"] if n["role"] == "primary_master"][0]["name"]
    busy = [n for n in st["nodes"] if n["kind"] == "coreapp" and n["shard"] == 1][0]["name"]
    spare = [n for n in st["nodes"] if n["kind"] == "coreapp" and n["shard"] is None][0]["name"]
    assert api.post("/_emulator/faults", {"crash": [{"role": "primary_master"},
                                                    {"role": "coreapp", "node": busy}]}).status == 200

    def replaced(s):
        h = s["health"]
        new_primary = [k for k, v in h.items() if v["role"] == "primary_master" and v["gateway_status"] == "connected"]
        return (new_primary and new_primary[0] != primary and h.get(spare, {}).get("gateway_status") == "connected"
                and h.get(busy, {}).get("gateway_status") == "disconnected"
                and s["topology"] == {"shards": 2, "masters": 1, "coreapps": 2})
    st = api.wait(replaced, what="failover")
    assert [n["shard"] for n in st["nodes"] if n["name"] == spare] == [1]
    assert send_text(api).status == 201
    # Crashed nodes vanish from health after 3 lease times.
    api.wait(lambda s: primary not in s["health"] and busy not in s["health"], what="cleanup")


def test_health_accepts_user_tokens_and_requires_auth(api):
    assert api.get("/v1/health", token="").status == 401
    assert api.post("/v1/users", {"username": "monitor", "password": "M0n-itoring"}).status == 201
    tok = api.basic_login("monitor", "M0n-itoring").json["users"][0]["token"]
    assert api.get("/v1/health", token=tok).json["health"] == {"gateway_status": "unregistered"}


def test_network_unreachable_reports_connecting(emulators, tmp_path):
    emu = emulators("lonely", network_url="http://127.0.0.1:9")
    emu.api.login()
    emu.api.seed()
    emu.api.wait_status("connecting")
    r = send_text(emu.api)
    assert r.status == 400 and r.error_code() == 1011


def test_shards_api(registered):
    api = registered
    cert = api.state()["registration_cert"]
    assert api.get("/v1/account/shards").json["account"] == {"shards": 1}
    r = api.post("/v1/account/shards", {"cc": "1", "phone_number": "5550001111", "shards": 1})
    assert r.status == 400 and r.error_code() == 1008  # cert is mandatory
    r = api.post("/v1/account/shards", {"cc": "1", "phone_number": "5550001111", "shards": 3, "cert": cert})
    assert r.status == 400 and r.error_code() == 1009
    r = api.post("/v1/account/shards", {"cc": "1", "phone_number": "5550002222", "shards": 1, "cert": cert})
    assert r.status == 400 and r.error_code() == 1009
    for bad in ("c", "", None, cert[:-1]):  # the cert is checked, not only present
        r = api.post("/v1/account/shards", {"cc": "1", "phone_number": "5550001111", "shards": 1, "cert": bad})
        assert r.status == 400 and r.error_code() == 1009 and "cert" in r.json["errors"][0]["details"], bad
    r = api.post("/v1/account/shards", {"cc": "1", "phone_number": "5550001111", "shards": 1, "cert": cert})
    assert r.status == 201


def test_shards_need_pin_with_two_step(emulators):
    emu = emulators("mc", "--masters", "2", "--coreapps", "3")
    api = emu.api
    api.login()
    api.seed(shards=1, two_step_pin="654321")
    # 1 shard (high availability): one CoreApp connected, the primary Master disconnected.
    api.wait(lambda s: sum(v["gateway_status"] == "connected" for v in s["health"].values()) == 1
             and s["serving"])
    body = {"cc": "1", "phone_number": "5550001111", "shards": 2, "cert": api.state()["registration_cert"]}
    assert api.post("/v1/account/shards", body).error_code() == 1008
    assert api.post("/v1/account/shards", dict(body, pin="111111")).error_code() == 1009
    assert api.post("/v1/account/shards", dict(body, pin="654321")).status == 201
    # The settled picture (a spare CoreApp whose last network poll is late under load reports "connecting" a
    # moment): 3 connected, the other two disconnected.
    st = api.wait(lambda s: sorted(v["gateway_status"] for v in s["health"].values())
                  == ["connected"] * 3 + ["disconnected"] * 2)
    assert st["shards"] == 2


def test_failover_election_answers_1017_then_1018_then_recovers(emulators):
    """While no primary Master holds the lease, requests routed through the Masters answer 1017 "Not Primary
    Master"; while a dead CoreApp's shard has not been taken over, 1018 "Not Primary Coreapp". Health, users and
    monitoring (the Webapp's own) keep answering. Then the new primary / the spare serve again."""
    api, st = registered_multiconnect(emulators, "10")
    primary = [n for n in st["nodes"] if n["role"] == "primary_master"][0]["name"]
    assert api.get("/v1/settings/application").status == 200
    assert api.post("/_emulator/faults", {"crash": [{"role": "primary_master"}]}).status == 200
    r = api.wait_answer(lambda: api.get("/v1/settings/application"), lambda r: r.status != 200, "1017")
    assert r.status == 503 and r.error_code() == 1017 and r.json["errors"][0]["title"] == "Not Primary Master"
    assert send_text(api).error_code() == 1017
    assert api.post("/v1/settings/backup", {"password": "Backup-Pa55!"}).error_code() == 1017
    assert api.get("/v1/health").status == 200 and api.get("/v1/stats/app").status == 200
    r = api.wait_answer(lambda: api.get("/v1/settings/application"), lambda r: r.status == 200, "a new primary",
                        timeout=40)
    new_primary = [n["name"] for n in api.state()["nodes"] if n["role"] == "primary_master" and n["alive"]]
    assert new_primary and new_primary != [primary]

    # Now a shard holder dies; the spare takes the shard over when the lease expires.
    # The settled picture (a spare CoreApp whose last network poll is late under load reports "connecting" a
    # moment): 3 connected, the other two disconnected.
    st = api.wait(lambda s: sorted(v["gateway_status"] for v in s["health"].values())
                  == ["connected"] * 3 + ["disconnected"] * 2)
    busy = [n for n in st["nodes"] if n["kind"] == "coreapp" and n["shard"] == 1][0]["name"]
    assert api.post("/_emulator/faults", {"crash": [{"role": "coreapp", "node": busy}]}).status == 200
    r = api.wait_answer(lambda: send_text(api), lambda r: r.status != 201, "1018")
    assert r.status == 503 and r.error_code() == 1018 and r.json["errors"][0]["title"] == "Not Primary Coreapp"
    r = api.wait_answer(lambda: send_text(api), lambda r: r.status == 201, "the spare to take the shard", timeout=40)
