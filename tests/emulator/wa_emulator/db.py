"""One small database interface over SQLite (process mode), MySQL/MariaDB and PostgreSQL (Docker mode).

SQL is written once with ``?`` placeholders and portable DDL; the back ends differ only in connection
handling, placeholder style, two column types and the upsert / insert-ignore spelling.  Every table name
carries the setup's prefix (``WA_DB_NAME_PREFIX``, default ``waent``) so several setups can share one
database server: with MySQL and PostgreSQL the database itself is also named after the prefix.
"""
import logging
import os
import sqlite3
import threading
import time

LOG = logging.getLogger("wa_emulator.db")

TABLES = {
    "kv": "(k VARCHAR(191) NOT NULL PRIMARY KEY, v MEDIUMTEXT)",
    "nodes": ("(name VARCHAR(191) NOT NULL PRIMARY KEY, kind VARCHAR(16) NOT NULL, role VARCHAR(32),"
              " status VARCHAR(32), shard INTEGER, started DOUBLE, heartbeat DOUBLE, pid INTEGER,"
              " info MEDIUMTEXT)"),
    "leases": "(name VARCHAR(64) NOT NULL PRIMARY KEY, holder VARCHAR(191), expires DOUBLE)",
    "shards": "(shard INTEGER NOT NULL PRIMARY KEY, holder VARCHAR(191), expires DOUBLE)",
    "users": ("(username VARCHAR(191) NOT NULL PRIMARY KEY, pwhash VARCHAR(255) NOT NULL,"
              " role VARCHAR(16) NOT NULL, must_change INTEGER NOT NULL, created DOUBLE)"),
    "tokens": ("(jti VARCHAR(64) NOT NULL PRIMARY KEY, username VARCHAR(191) NOT NULL,"
               " expires DOUBLE NOT NULL, issued DOUBLE NOT NULL)"),
}


# Documented: the client cannot use a database password with any of these characters.
FORBIDDEN_PASSWORD_CHARS = "?{}&~!()^="


class Database:
    """Common part. Subclasses implement ``_run(sql, params)`` -> (rows, rowcount)."""

    engine = "?"

    def __init__(self, prefix):
        if not prefix.replace("_", "").isalnum():
            raise ValueError("WA_DB_NAME_PREFIX must be alphanumeric/underscore: %r" % prefix)
        self.prefix = prefix

    def t(self, name):
        return "%s_%s" % (self.prefix, name)

    def sql(self, text):
        """Replace ``{name}`` table references by prefixed names."""
        return text.format(**{name: self.t(name) for name in TABLES})

    def execute(self, text, params=()):
        return self._run(self.sql(text), tuple(params))[1]

    def query(self, text, params=()):
        return self._run(self.sql(text), tuple(params))[0]

    def query_one(self, text, params=()):
        rows = self.query(text, params)
        return rows[0] if rows else None

    def create_schema(self):
        for name, cols in TABLES.items():
            self._run("CREATE TABLE IF NOT EXISTS %s %s" % (self.t(name), self._ddl(cols)), ())

    def _ddl(self, cols):
        """Column definitions in this engine's spelling (the portable text suits SQLite and MySQL)."""
        return cols

    # --- portable helpers -------------------------------------------------------------------
    def upsert(self, table, key_cols, values):
        cols = list(values)
        names = ", ".join(cols)
        marks = ", ".join("?" * len(cols))
        update_cols = [c for c in cols if c not in key_cols] or cols[:1]
        text = "INSERT INTO %s (%s) VALUES (%s) %s" % (
            self.t(table), names, marks, self._upsert_clause(key_cols, update_cols))
        return self._run(text, tuple(values[c] for c in cols))[1]

    def insert_ignore(self, table, values):
        cols = list(values)
        text = self._insert_ignore_verb() + " INTO %s (%s) VALUES (%s)%s" % (
            self.t(table), ", ".join(cols), ", ".join("?" * len(cols)), self._insert_ignore_suffix())
        return self._run(text, tuple(values[c] for c in cols))[1]

    # --- key/value store ----------------------------------------------------------------------
    def kv_get(self, key, default=None):
        row = self.query_one("SELECT v FROM {kv} WHERE k = ?", (key,))
        return row[0] if row else default

    def kv_all(self):
        return dict(self.query("SELECT k, v FROM {kv}"))

    def kv_set(self, key, value):
        self.upsert("kv", ["k"], {"k": key, "v": value})

    def kv_add(self, key, value):
        """Insert only if absent; True if this call inserted it."""
        return self.insert_ignore("kv", {"k": key, "v": value}) == 1

    def kv_cas(self, key, old, new):
        """Compare-and-set; True if the value was ``old`` and is now ``new``."""
        return self.execute("UPDATE {kv} SET v = ? WHERE k = ? AND v = ?", (new, key, old)) == 1

    def kv_delete(self, key):
        self.execute("DELETE FROM {kv} WHERE k = ?", (key,))

    def _insert_ignore_suffix(self):
        return ""

    def close(self):
        pass


class SQLiteDatabase(Database):
    engine = "sqlite"

    def __init__(self, path, prefix="waent"):
        super().__init__(prefix)
        self.path = path
        self._lock = threading.RLock()
        self._conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None, timeout=30)
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA synchronous=NORMAL")

    def _run(self, text, params):
        with self._lock:
            cur = self._conn.execute(text, params)
            rows = cur.fetchall()
            return rows, cur.rowcount

    def _upsert_clause(self, key_cols, update_cols):
        return "ON CONFLICT(%s) DO UPDATE SET %s" % (
            ", ".join(key_cols), ", ".join("%s = excluded.%s" % (c, c) for c in update_cols))

    def _insert_ignore_verb(self):
        return "INSERT OR IGNORE"

    def close(self):
        with self._lock:
            self._conn.close()


class ServerDatabase(Database):
    """A database server (MySQL/MariaDB, PostgreSQL): one autocommit connection per thread, reconnecting.

    Subclasses give ``_open()`` (a new connection to the setup's database), ``_execute(conn, text, params)``
    -> (rows, rowcount) and ``_broken`` (the exceptions of a broken connection: the statement is tried once
    more on a new connection).
    """

    _broken = ()

    def __init__(self, prefix):
        super().__init__(prefix)
        self._local = threading.local()

    @staticmethod
    def _first_connection(connect, errors, host, port, connect_timeout):
        """``connect()`` once the server answers (it may still be starting), for ``connect_timeout`` seconds."""
        deadline = time.monotonic() + connect_timeout
        while True:
            try:
                return connect()
            except errors as exc:
                if time.monotonic() > deadline:
                    raise
                text = str(exc).strip()
                LOG.warning("database %s:%s not reachable yet (%s); retrying", host, port,
                            text.splitlines()[0] if text else exc)
                time.sleep(1)

    def _conn(self):
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._open()
            self._local.conn = conn
        return conn

    def _run(self, text, params):
        text = text.replace("?", "%s")
        for attempt in (1, 2):
            conn = self._conn()
            try:
                return self._execute(conn, text, params)
            except self._broken:
                self._local.conn = None
                try:
                    conn.close()
                except Exception:  # noqa: BLE001 - connection already broken
                    pass
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def close(self):
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            self._local.conn = None
            conn.close()


class MySQLDatabase(ServerDatabase):
    """MySQL / MariaDB through pymysql."""

    engine = "mysql"

    def __init__(self, host, port, user, password, prefix="waent", connect_timeout=120):
        super().__init__(prefix)
        import pymysql  # only needed in Docker mode
        self._pymysql = pymysql
        self._broken = (pymysql.err.OperationalError, pymysql.err.InterfaceError)
        from pymysql.constants import CLIENT
        # FOUND_ROWS: UPDATE reports matched rows (as SQLite does), so compare-and-set works.
        self.params = dict(host=host, port=int(port), user=user, password=password,
                           autocommit=True, charset="utf8mb4", connect_timeout=10,
                           client_flag=CLIENT.FOUND_ROWS)
        self.database = prefix
        conn = self._first_connection(lambda: pymysql.connect(**self.params), pymysql.err.OperationalError,
                                      host, port, connect_timeout)
        with conn.cursor() as cur:
            cur.execute("CREATE DATABASE IF NOT EXISTS `%s` CHARACTER SET utf8mb4" % self.database)
        conn.close()

    def _open(self):
        return self._pymysql.connect(database=self.database, **self.params)

    def _execute(self, conn, text, params):
        with conn.cursor() as cur:
            count = cur.execute(text, params)
            rows = cur.fetchall()
        return [tuple(r) for r in rows], count

    def _upsert_clause(self, key_cols, update_cols):
        return "ON DUPLICATE KEY UPDATE %s" % ", ".join("%s = VALUES(%s)" % (c, c) for c in update_cols)

    def _insert_ignore_verb(self):
        return "INSERT IGNORE"


class PostgreSQLDatabase(ServerDatabase):
    """PostgreSQL through psycopg2.

    The setup's database (named after the prefix) is created on the server when missing, from the
    maintenance database ``postgres``; schema creation is serialised with an advisory lock, because
    several containers of one setup start at once and PostgreSQL's ``CREATE ... IF NOT EXISTS`` is not
    safe against a concurrent twin.
    """

    engine = "pgsql"
    MAINTENANCE_DB = "postgres"
    _TYPES = (("MEDIUMTEXT", "TEXT"), ("DOUBLE", "DOUBLE PRECISION"))

    def __init__(self, host, port, user, password, prefix="waent", connect_timeout=120):
        super().__init__(prefix)
        import psycopg2  # only needed in Docker mode
        self._pg = psycopg2
        self._broken = (psycopg2.OperationalError, psycopg2.InterfaceError)
        self.params = dict(host=host, port=int(port), user=user, password=password, connect_timeout=10,
                           application_name="wa_emulator")
        # Unquoted identifiers fold to lower case in PostgreSQL: the database name does too.
        self.database = prefix.lower()
        conn = self._first_connection(lambda: psycopg2.connect(dbname=self.MAINTENANCE_DB, **self.params),
                                      psycopg2.OperationalError, host, port, connect_timeout)
        conn.autocommit = True
        try:
            with conn.cursor() as cur:
                cur.execute("SELECT pg_advisory_lock(hashtext(%s))", ("wa_emulator_createdb",))
                cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", (self.database,))
                if cur.fetchone() is None:
                    cur.execute('CREATE DATABASE "%s" ENCODING \'UTF8\'' % self.database)
                cur.execute("SELECT pg_advisory_unlock(hashtext(%s))", ("wa_emulator_createdb",))
        finally:
            conn.close()

    def create_schema(self):
        lock = "wa_emulator_schema_" + self.prefix
        self._run("SELECT pg_advisory_lock(hashtext(?))", (lock,))
        try:
            super().create_schema()
        finally:
            self._run("SELECT pg_advisory_unlock(hashtext(?))", (lock,))

    def _ddl(self, cols):
        for portable, pg_type in self._TYPES:
            cols = cols.replace(portable, pg_type)
        return cols

    def _open(self):
        conn = self._pg.connect(dbname=self.database, **self.params)
        conn.autocommit = True
        return conn

    def _execute(self, conn, text, params):
        with conn.cursor() as cur:
            cur.execute(text, params or None)
            rows = cur.fetchall() if cur.description is not None else []
            return [tuple(r) for r in rows], cur.rowcount

    def _upsert_clause(self, key_cols, update_cols):
        return "ON CONFLICT (%s) DO UPDATE SET %s" % (
            ", ".join(key_cols), ", ".join("%s = EXCLUDED.%s" % (c, c) for c in update_cols))

    def _insert_ignore_verb(self):
        return "INSERT"

    def _insert_ignore_suffix(self):
        return " ON CONFLICT DO NOTHING"


#: WA_DB_ENGINE -> (class, default port, default user)
SERVER_ENGINES = {
    "MYSQL": (MySQLDatabase, "3306", "root"),
    "MARIADB": (MySQLDatabase, "3306", "root"),
    "PGSQL": (PostgreSQLDatabase, "5432", "postgres"),
}


def from_env(env=None, sqlite_dir=None):
    """Open the database the documented ``WA_DB_*`` variables describe."""
    env = os.environ if env is None else env
    prefix = env.get("WA_DB_NAME_PREFIX") or "waent"
    engine = (env.get("WA_DB_ENGINE") or "").upper()
    if engine in SERVER_ENGINES:
        bad = sorted(set(env.get("WA_DB_PASSWORD", "")) & set(FORBIDDEN_PASSWORD_CHARS))
        if bad:
            raise SystemExit("wa_emulator: WA_DB_PASSWORD must not contain any of %s (found %s)"
                             % (FORBIDDEN_PASSWORD_CHARS, "".join(bad)))
        cls, port, user = SERVER_ENGINES[engine]
        return cls(env.get("WA_DB_HOSTNAME", "db"), env.get("WA_DB_PORT") or port,
                   env.get("WA_DB_USERNAME") or user, env.get("WA_DB_PASSWORD", ""), prefix)
    if engine in ("SQLITE", "") and (sqlite_dir or env.get("WA_EMULATOR_SQLITE_DIR")):
        d = sqlite_dir or env["WA_EMULATOR_SQLITE_DIR"]
        os.makedirs(d, exist_ok=True)
        return SQLiteDatabase(os.path.join(d, "%s.sqlite3" % prefix), prefix)
    if engine not in ("SQLITE", ""):
        raise SystemExit("wa_emulator: WA_DB_ENGINE=%s is not known; use MYSQL or PGSQL" % engine)
    raise SystemExit("wa_emulator: set WA_DB_ENGINE=MYSQL or PGSQL and WA_DB_HOSTNAME/PORT/USERNAME/PASSWORD "
                     "(or WA_EMULATOR_SQLITE_DIR for a SQLite file)")
