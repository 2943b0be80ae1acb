import base64
import json
import time

from conftest import ADMIN_PASSWORD, migrate, network_call, send_text, start_emulator

from wa_emulator import secrets_util

UNCHANGED_KEYS = ("registered", "wa_id", "shards", "two_step", "application_settings", "webhook_ca_present",
                  "restore_count", "registration_sha256", "encryption_keys_sha256", "stopped", "initializing")


def snapshot(api):
    st = api.state()
    return {k: st[k] for k in UNCHANGED_KEYS}


def connected_old(emulators, network_url=None, password=None, **seed):
    """The old setup: an emulator logged in (first login), seeded as a registered setup, connected."""
    old = emulators("old", network_url=network_url)
    if password is None:
        old.api.login()
    else:
        old.api.login(password)
    old.api.seed(**seed)
    old.api.wait_status("connected")
    return old


def test_backup_needs_registered_running_client(api):
    r = api.post("/v1/settings/backup", {"password": "x"})
    assert r.status == 400 and r.error_code() == 1011
    assert r.json["errors"][0]["title"] == "Service not ready"


def test_backup_password_required(registered):
    r = registered.post("/v1/settings/backup", {})
    assert r.status == 400 and r.error_code() == 1008


def test_backup_is_encrypted_and_has_the_documented_contents(registered):
    api = registered
    assert api.call("PATCH", "/v1/settings/application",
                    body={"webhooks": {"url": "https://hooks.example.com/wa"}}).status == 200
    r = api.post("/v1/settings/backup", {"password": "backup-Pa55!"})
    assert r.status == 200, r
    data = r.json["settings"]["data"]
    blob = base64.b64decode(data)
    for plain in (b"15550001111", b"hooks.example.com", b"webhooks", b"registration", b"admin"):
        assert plain not in blob
    # Two backups of the same state differ (random salt and nonce).
    assert api.post("/v1/settings/backup", {"password": "backup-Pa55!"}).json["settings"]["data"] != data
    doc = secrets_util.decrypt_backup("backup-Pa55!", data)
    assert doc["registration"]["wa_id"] == "15550001111"
    assert doc["application_settings"]["webhooks"]["url"] == "https://hooks.example.com/wa"
    assert doc["encryption_keys"]
    assert doc["topology"] == {"shards": 1, "masters": 0, "coreapps": 1}
    text = json.dumps(doc)
    assert "token" not in text and "pwhash" not in text and "users" not in text
    assert "messages" not in doc and "webhook_ca" not in doc


def test_restore_wrong_password_or_corrupt_data_changes_nothing(emulators):
    old = connected_old(emulators)
    data = old.api.post("/v1/settings/backup", {"password": "right-Pa55"}).json["settings"]["data"]
    new = emulators("new", network_url=old.network_url)
    new.api.login()
    before = snapshot(new.api)
    r = new.api.post("/v1/settings/restore", {"password": "wrong-Pa55", "data": data})
    assert r.status == 400 and r.error_code() == 1009
    corrupt = base64.b64encode(base64.b64decode(data)[:-5] + b"xxxxx").decode()
    for bad in (corrupt, "bm90IGEgYmFja3Vw", "%%%not base64%%%", base64.b64encode(b"x" * 80).decode()):
        r = new.api.post("/v1/settings/restore", {"password": "right-Pa55", "data": bad})
        assert r.status == 400 and r.error_code() == 1009, bad
    assert new.api.post("/v1/settings/restore", {"password": "right-Pa55"}).error_code() == 1008
    assert snapshot(new.api) == before
    assert new.api.health()["gateway_status"] == "unregistered"
    # The old setup still serves the number.
    assert old.api.state()["serving"] is True


def test_migration_single_instance(emulators):
    old = connected_old(emulators, two_step_pin="123456", webhook_url="https://old-hooks.example.com/cb")
    assert send_text(old.api, "before").status == 201
    new = emulators("new", network_url=old.network_url, env={"WA_EMULATOR_INIT_SECONDS": "2.5"})
    new.api.login()
    assert new.api.health()["gateway_status"] == "unregistered"
    assert send_text(new.api).error_code() == 1011
    old_state = old.api.state()
    t0 = time.monotonic()
    r = migrate(old.api, new.api)
    assert r.status == 200, r
    assert r.raw == b"null", r  # "200 with null or {}": nothing a client could lean on
    assert new.api.health()["gateway_status"] == "uninitialized"
    assert send_text(new.api).error_code() == 1011
    new.api.wait_status("connected")
    assert time.monotonic() - t0 >= 2.5
    st = new.api.state()
    assert st["registered"] and st["wa_id"] == "15550001111"
    assert st["registration_sha256"] == old_state["registration_sha256"]
    assert st["encryption_keys_sha256"] == old_state["encryption_keys_sha256"]
    assert st["two_step"] == old_state["two_step"]
    assert st["application_settings"] == old_state["application_settings"]
    assert st["restore_count"] == 1 and st["setup_id"] != old_state["setup_id"]
    assert st["serving"] is True
    # The old setup is kicked off the network: disconnected, its sends fail.
    old.api.wait_status("disconnected")
    r = send_text(old.api, "after")
    assert r.status == 400 and r.error_code() == 1011
    assert send_text(new.api, "from new").status == 201
    status, msgs = network_call(old.network_url, "GET", "/messages")
    assert [(m["text"]["body"], m["setup_id"]) for m in msgs] == [
        ("before", old_state["setup_id"]), ("from new", st["setup_id"])]
    # Restoring again on the now registered new client: applied, then the client stops.


def test_restore_on_registered_client_stops_it_until_restart(emulators):
    old = connected_old(emulators)
    data = old.api.post("/v1/settings/backup", {"password": "pw-Pa55!"}).json["settings"]["data"]
    r = old.api.post("/v1/settings/restore", {"password": "pw-Pa55!", "data": data})
    assert r.status == 200, r
    st = old.api.wait_status("disconnected")
    assert st["stopped"] is True and st["restore_count"] == 1
    for call in (lambda: send_text(old.api), lambda: old.api.post("/v1/settings/backup", {"password": "x"}),
                 lambda: old.api.post("/v1/settings/restore", {"password": "pw-Pa55!", "data": data})):
        r = call()
        assert r.status == 400 and r.error_code() == 1011, r
    time.sleep(0.5)
    assert old.api.health()["gateway_status"] == "disconnected"
    old.api.post("/_emulator/config", {"init_seconds": 2.5})  # room to observe it even on a loaded machine
    t0 = time.monotonic()
    assert old.api.post("/_emulator/restart").status == 200
    st = old.api.state()
    assert st["stopped"] is False
    assert st["health"]["gateway_status"] == "uninitialized"
    old.api.wait_status("connected")
    assert time.monotonic() - t0 >= 2.5
    assert send_text(old.api).status == 201


def test_restore_needs_a_running_coreapp(emulators):
    old = connected_old(emulators)
    new = emulators("new", network_url=old.network_url, env={"WA_EMULATOR_LEASE_SECONDS": "0.6"})
    new.api.login()
    assert new.api.post("/_emulator/faults", {"crash": [{"role": "coreapp"}]}).status == 200
    new.api.wait(lambda s: s["topology"]["coreapps"] == 0, what="CoreApp gone")
    before = snapshot(new.api)
    r = migrate(old.api, new.api)
    assert r.status == 400 and r.error_code() == 1011
    assert snapshot(new.api) == before
    assert new.api.health()["gateway_status"] == "disconnected"


def test_multiconnect_topology_mismatch(emulators):
    old = emulators("old", "--masters", "2", "--coreapps", "3")
    old.api.login()
    old.api.seed(shards=2)
    old.api.wait(lambda s: sum(v["gateway_status"] == "connected" for v in s["health"].values()) == 3)
    for args, wrong in ((["--masters", "1", "--coreapps", "3"], "1 Masters, 3 CoreApps"),
                        (["--masters", "2", "--coreapps", "2"], "2 Masters, 2 CoreApps"),
                        (["--masters", "2", "--coreapps", "3", "--shards", "4"], "4 shards, 2 Masters")):
        new = emulators("new-" + "-".join(args[1::2]), *args, network_url=old.network_url)
        new.api.login()
        before = snapshot(new.api)
        r = migrate(old.api, new.api)
        assert r.status == 400 and r.error_code() == 1009, r
        details = r.json["errors"][0]["details"]
        assert "2 shards, 2 Masters, 3 CoreApps" in details and wrong in details, details
        assert snapshot(new.api) == before
        new.stop()
    assert old.api.state()["serving"] is True
    # The same topology restores.
    new = emulators("new-ok", "--masters", "2", "--coreapps", "3", network_url=old.network_url)
    new.api.login()
    assert migrate(old.api, new.api).status == 200
    seen = set()

    def ready(st):
        for n in st["nodes"]:
            if n["shard"] is not None or n["role"] == "primary_master":
                seen.add(n["status"])
        return sum(v["gateway_status"] == "connected" for v in st["health"].values()) == 3
    st = new.api.wait(ready, what="2 CoreApps + primary connected")
    # On the way up the serving nodes are never reported as kicked off.
    assert seen <= {"uninitialized", "connecting", "connected"}, seen
    assert st["shards"] == 2
    roles = sorted((v["role"], v["gateway_status"]) for v in st["health"].values())
    assert roles == [("coreapp", "connected"), ("coreapp", "connected"), ("coreapp", "disconnected"),
                     ("primary_master", "connected"), ("secondary_master", "disconnected")]
    old.api.wait(lambda s: all(v["gateway_status"] == "disconnected" for v in s["health"].values()),
                 what="old setup kicked off")


def _restore_watched(emu, old_api, password="backup-Pa55!"):
    """Restore a backup of ``old_api`` on ``emu`` (in process). Returns whether it was registered before, and
    what a node's tick could read from the moment the restore wrote the registration: ``kv_all()`` after each
    later ``kv_set`` (the nodes read the whole kv table in one query per tick, at any moment)."""
    setup = emu.proc.pm.setup
    db = setup.db
    real_set = db.kv_set
    seen = []

    def kv_set(key, value):
        real_set(key, value)
        if key == "registration" or seen:
            seen.append((time.time(), setup.all_json()))

    backup = old_api.post("/v1/settings/backup", {"password": password})
    assert backup.status == 200, backup
    was_registered = db.kv_get("registration") is not None
    db.kv_set = kv_set
    try:
        r = emu.api.post("/v1/settings/restore", {"password": password, "data": backup.json["settings"]["data"]})
    finally:
        del db.kv_set
    assert r.status == 200, r
    assert seen, "the restore wrote no registration"
    return was_registered, seen


def test_no_node_ever_sees_a_restored_registration_before_its_initialisation(emulators, tmp_path):
    """The restore's writes are separate statements and the nodes tick between them. A node that read the
    restored registration before the initialisation marker claimed the number at once and, kicked off later
    (rollback), reported "connecting" for ever instead of "disconnected" (CI, 2026-11-29)."""
    old = connected_old(emulators)
    new = start_emulator(tmp_path / "new-inprocess", network_url=old.network_url, inprocess=True)
    try:
        new.api.login()
        was_registered, seen = _restore_watched(new, old.api)
        assert not was_registered
        for at, kv in seen:
            assert float(kv.get("init_until") or 0) > at, (
                "a node could read the restored registration while the client was not initialising: %s"
                % sorted(kv))
        new.api.wait_status("connected")
        # Registered now: a second restore stops the client first, and only then changes its registration.
        was_registered, seen = _restore_watched(new, new.api)
        assert was_registered
        for at, kv in seen:
            assert kv.get("pending_init") and float(kv.get("stopped_at") or 0) <= at, sorted(kv)
    finally:
        new.stop()


def test_the_nodes_that_restart_after_a_restore_claim_only_once_initialised(tmp_path, network):
    """Restore on a registered client, then restart: the first node to tick initialises the setup. Every
    other node ticks between its writes; none of them may take the setup for initialised and claim the
    number. Real nodes on one real database, ticked by hand; the second one ticks right after the first
    one's compare-and-set (the worst moment)."""
    from wa_emulator import db as dbmod
    from wa_emulator.node import Node
    from wa_emulator.store import Setup, Timing

    setup = Setup(dbmod.SQLiteDatabase(str(tmp_path / "waent.sqlite3")), Timing(tick=0.1)).initialise(
        {"WA_EMULATOR_INIT_SECONDS": "0.4"})
    setup.seed("15550001234")
    setup.set_json("stopped_at", time.time() - 1)
    setup.set_json("pending_init", True)
    coreapp = Node(setup, "coreapp", "wacore1", "c0ffee000001", network, multiconnect=True)
    master = Node(setup, "master", "master1", "c0ffee000002", network, multiconnect=True)
    real_cas = setup.db.kv_cas
    between = []

    def kv_cas(key, old, new):
        done = real_cas(key, old, new)
        if key == "pending_init" and done and not between:
            between.append(master.tick())
        return done

    setup.db.kv_cas = kv_cas
    try:
        coreapp.tick()
    finally:
        del setup.db.kv_cas
    assert between, "the coreapp did not initialise the setup"
    assert float(setup.get_json("init_until") or 0) > time.time()
    assert master.status == "uninitialized" and not master.claimed, (master.status, master.claimed)
    assert network_call(network, "GET", "/numbers/15550001234")[0] == 404, "claimed during the initialisation"
    deadline = time.monotonic() + 10
    while not (master.primary and master.claimed) and time.monotonic() < deadline:
        master.tick()
        time.sleep(0.05)
    assert master.claimed and setup.get_json("last_claim")["at"] >= setup.get_json("init_until")


def test_rollback_old_setup_comes_back_on_its_database(emulators, network):
    old = connected_old(emulators, network_url=network)
    old_id = old.api.state()["setup_id"]
    new = emulators("new", network_url=network)
    new.api.login()
    assert migrate(old.api, new.api).status == 200
    new.api.wait_status("connected")
    old.api.wait_status("disconnected")
    # "Uninstall" the old containers but keep the database, then re-create them: same setup, claims again.
    assert old.stop() == 0
    again = emulators("old", network_url=network)
    again.api.login()
    st = again.api.wait_status("connected")
    assert st["setup_id"] == old_id and st["registered"]
    new.api.wait_status("disconnected")
    assert send_text(new.api).error_code() == 1011
    assert send_text(again.api).status == 201


def test_restore_fault_and_slow_init(emulators):
    old = connected_old(emulators)
    new = emulators("new", network_url=old.network_url)
    new.api.login()
    before = snapshot(new.api)
    assert new.api.post("/_emulator/faults", {"restore": {"status": 500, "count": 1},
                                              "init_extra_seconds": 1.5}).status == 200
    r = migrate(old.api, new.api)
    assert r.status == 500 and r.error_code() == 1014
    assert snapshot(new.api) == before
    t0 = time.monotonic()
    assert migrate(old.api, new.api).status == 200
    new.api.wait_status("connected")
    assert time.monotonic() - t0 >= 1.9  # 0.6 s init + 1.5 s extra


def test_restore_fault_after_apply(emulators):
    old = connected_old(emulators)
    new = emulators("new", network_url=old.network_url)
    new.api.login()
    new.api.post("/_emulator/faults", {"restore": {"status": 504, "code": 1014, "after_apply": True}})
    r = migrate(old.api, new.api)
    assert r.status == 504
    assert new.api.state()["registered"] is True
    new.api.wait_status("connected")


def test_init_seconds_admin_setting(emulators):
    old = connected_old(emulators)
    new = emulators("new", network_url=old.network_url)
    new.api.login()
    assert new.api.post("/_emulator/config", {"init_seconds": 2.5}).json["init_seconds"] == 2.5
    t0 = time.monotonic()
    assert migrate(old.api, new.api).status == 200
    assert new.api.health()["gateway_status"] == "uninitialized"
    new.api.wait_status("connected")
    assert time.monotonic() - t0 >= 2.5
    assert new.api.post("/_emulator/config", {"nope": 1}).status == 400


def test_admin_password_unchanged_by_restore(emulators):
    old = connected_old(emulators, password="0ld-Passw0rd!")
    new = emulators("new", network_url=old.network_url)
    new.api.login(ADMIN_PASSWORD)
    assert migrate(old.api, new.api).status == 200
    assert new.api.basic_login("admin", ADMIN_PASSWORD).status == 200


def test_multiconnect_restore_on_registered_client_stops_every_node(emulators):
    emu = emulators("mc", "--masters", "2", "--coreapps", "3")
    api = emu.api
    api.login()
    api.seed(shards=2)
    api.wait(lambda s: sum(v["gateway_status"] == "connected" for v in s["health"].values()) == 3)
    data = api.post("/v1/settings/backup", {"password": "pw-Pa55!"}).json["settings"]["data"]
    assert api.post("/v1/settings/restore", {"password": "pw-Pa55!", "data": data}).status == 200
    st = api.state()
    assert st["stopped"] is True
    assert {v["gateway_status"] for v in st["health"].values()} == {"disconnected"}
    assert api.post("/_emulator/restart").status == 200
    st = api.wait(lambda s: sum(v["gateway_status"] == "connected" for v in s["health"].values()) == 3,
                  what="back after the restart")
    assert st["stopped"] is False and st["restore_count"] == 1 and st["shards"] == 2


def test_restore_answer_takes_each_documented_shape(emulators):
    """Meta's reference says the restore answers "null or {}"; its own example shows {"meta": ...}. The emulator
    answers each (POST /_emulator/config {"restore_answer": "null" | "empty" | "meta"}) so clients are tested on all."""
    old = connected_old(emulators)
    assert old.api.post("/_emulator/config", {"restore_answer": "xml"}).status == 400
    for answer, raw in (("null", b"null"), ("empty", b"{}"), ("meta", None)):
        new = emulators("new-" + answer, network_url=old.network_url)
        new.api.login()
        assert new.api.post("/_emulator/config", {"restore_answer": answer}).status == 200
        r = migrate(old.api, new.api)
        assert r.status == 200, r
        if raw is not None:
            assert r.raw == raw, r
        else:
            assert set(r.json) == {"meta"} and r.json["meta"]["api_status"] == "stable"
        new.api.wait_status("connected")
