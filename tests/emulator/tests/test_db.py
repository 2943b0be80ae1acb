"""The database layer on SQLite (the MySQL and PostgreSQL paths run the same SQL; the Docker suite runs them
on MariaDB and PostgreSQL)."""
import pytest

from wa_emulator import db as dbmod
from wa_emulator.store import Setup, Timing


def test_kv_upsert_insert_ignore_and_compare_and_set(tmp_path):
    db = dbmod.SQLiteDatabase(str(tmp_path / "x.sqlite3"), prefix="setupx")
    db.create_schema()
    tables = {r[0] for r in db.query("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert {"setupx_kv", "setupx_nodes", "setupx_leases", "setupx_shards", "setupx_users", "setupx_tokens"} <= tables
    assert db.kv_add("k", "1") is True
    assert db.kv_add("k", "2") is False
    assert db.kv_get("k") == "1"
    db.kv_set("k", "3")
    assert db.kv_get("k") == "3"
    assert db.kv_cas("k", "2", "4") is False
    assert db.kv_cas("k", "3", "4") is True
    assert db.kv_all() == {"k": "4"}
    db.kv_delete("k")
    assert db.kv_get("k", "gone") == "gone"
    db.upsert("nodes", ["name"], {"name": "a:1", "kind": "coreapp", "status": "x", "heartbeat": 1.0})
    db.upsert("nodes", ["name"], {"name": "a:1", "kind": "coreapp", "status": "y", "heartbeat": 2.0})
    assert db.query("SELECT name, status, heartbeat FROM {nodes}") == [("a:1", "y", 2.0)]


def test_leases_are_exclusive(tmp_path):
    setup = Setup(dbmod.SQLiteDatabase(str(tmp_path / "l.sqlite3")), Timing(tick=0.1, lease=10)).initialise()
    sql = ("UPDATE {leases} SET holder = ?, expires = ? WHERE name = 'primary_master'"
           " AND (holder = ? OR holder IS NULL OR expires < ?)")
    assert setup.db.execute(sql, ("m1", 110.0, "m1", 100.0)) == 1
    assert setup.db.execute(sql, ("m2", 110.0, "m2", 100.0)) == 0  # m1 holds it
    assert setup.db.execute(sql, ("m1", 120.0, "m1", 105.0)) == 1  # renewal
    assert setup.db.execute(sql, ("m2", 130.0, "m2", 121.0)) == 1  # expired: taken over


def test_two_prefixes_share_one_file(tmp_path):
    a = Setup(dbmod.SQLiteDatabase(str(tmp_path / "s.sqlite3"), "olda")).initialise()
    b = Setup(dbmod.SQLiteDatabase(str(tmp_path / "s.sqlite3"), "newb")).initialise()
    assert a.setup_id != b.setup_id
    a.seed("15550001111")
    assert a.registration()["wa_id"] == "15550001111" and b.registration() is None


def test_invalid_prefix_and_engine_configuration(tmp_path):
    with pytest.raises(ValueError):
        dbmod.SQLiteDatabase(str(tmp_path / "p.sqlite3"), "bad-prefix;")
    with pytest.raises(SystemExit, match="must not contain"):
        dbmod.from_env({"WA_DB_ENGINE": "PGSQL", "WA_DB_PASSWORD": "x^y"})
    with pytest.raises(SystemExit, match="not known; use MYSQL or PGSQL"):
        dbmod.from_env({"WA_DB_ENGINE": "ORACLE"})
    with pytest.raises(SystemExit, match="WA_DB_ENGINE=MYSQL or PGSQL"):
        dbmod.from_env({})
    with pytest.raises(SystemExit, match="must not contain"):
        dbmod.from_env({"WA_DB_ENGINE": "MYSQL", "WA_DB_PASSWORD": "a=b"})
    db = dbmod.from_env({"WA_EMULATOR_SQLITE_DIR": str(tmp_path / "d"), "WA_DB_NAME_PREFIX": "pfx"})
    assert db.engine == "sqlite" and db.prefix == "pfx"


def test_a_slow_network_answer_does_not_overwrite_a_later_one(tmp_path):
    """The claimer and the shard-0 CoreApp both poll the network; the answer asked for last wins."""
    setup = Setup(dbmod.SQLiteDatabase(str(tmp_path / "n.sqlite3")), Timing(tick=0.1, lease=10)).initialise()
    assert setup.set_json_if_newer("network_status", {"serving": True, "asked": 200.0, "at": 201.0})
    assert not setup.set_json_if_newer("network_status", {"serving": False, "asked": 199.0, "at": 202.0})
    assert setup.get_json("network_status")["serving"] is True
    assert setup.set_json_if_newer("network_status", {"serving": False, "asked": 203.0, "at": 204.0})
    assert setup.get_json("network_status") == {"serving": False, "asked": 203.0, "at": 204.0}
