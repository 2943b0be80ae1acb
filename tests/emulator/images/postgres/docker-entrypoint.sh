#!/usr/bin/env bash
# EMULATOR stand-in for the official `postgres:13` image's entry point, running Debian's PostgreSQL
# (bookworm ships one major version, 15). Part of wabiz.api_client's test emulator -- not the
# PostgreSQL project's image.
#
# Contract honoured (the parts a WhatsApp Business API setup and the collection use):
#   POSTGRES_PASSWORD (required unless POSTGRES_HOST_AUTH_METHOD=trust), POSTGRES_USER (default postgres,
#   a superuser), POSTGRES_DB (default: the user's name), POSTGRES_INITDB_ARGS, POSTGRES_HOST_AUTH_METHOD
#   (default md5, as the 13 image), *_FILE variants, PGDATA (default /var/lib/postgresql/data),
#   /docker-entrypoint-initdb.d/*.sql|*.sql.gz|*.sh, initialisation only when PGDATA is empty, port 5432 on
#   all interfaces, `docker run IMAGE -c option=value`, the server running as user postgres.
set -eo pipefail
shopt -s nullglob

BIN=
for dir in /usr/lib/postgresql/*/bin; do BIN=$dir; done  # the one major version Debian installs
export PATH="$BIN:$PATH"
PGDATA=${PGDATA:-/var/lib/postgresql/data}
export PGDATA

log() { echo "$(date -u +%Y-%m-%d\ %H:%M:%S) UTC [entrypoint] $*"; }
error() { echo "$(date -u +%Y-%m-%d\ %H:%M:%S) UTC [entrypoint] ERROR: $*" >&2; exit 1; }
as_postgres() { setpriv --reuid=postgres --regid=postgres --init-groups -- "$@"; }

# file_env, run_initdb_scripts (shared with the mysql stand-in; build.py copies it in).
# shellcheck source=../dbcommon/entrypoint-common.sh
. /usr/local/lib/wabiz-emulator/entrypoint-common.sh

# sql_str VALUE: VALUE as a single-quoted SQL string literal.
sql_str() { printf "'%s'" "${1//\'/\'\'}"; }
# sql_id VALUE: VALUE as a double-quoted SQL identifier.
sql_id() { printf '"%s"' "${1//\"/\"\"}"; }

init_datadir() {
  file_env POSTGRES_PASSWORD
  file_env POSTGRES_USER postgres
  file_env POSTGRES_DB "$POSTGRES_USER"
  file_env POSTGRES_INITDB_ARGS
  local auth=${POSTGRES_HOST_AUTH_METHOD:-md5}
  if [ -z "$POSTGRES_PASSWORD" ] && [ "$auth" != trust ]; then
    error "Database is uninitialized and superuser password is not specified.
       You must specify POSTGRES_PASSWORD to a non-empty value for the
       superuser. For example, \"-e POSTGRES_PASSWORD=password\" on \"docker run\".
       (or POSTGRES_HOST_AUTH_METHOD=trust, which is not recommended)"
  fi
  # --no-sync: a test stand-in on a machine shared by many test runs; initdb's fsync of ~1000 files took
  # over a minute there under load. The server itself runs with PostgreSQL's normal durability settings.
  log "initialising the database cluster in $PGDATA"
  local pwfile
  pwfile=$(mktemp)
  printf '%s\n' "${POSTGRES_PASSWORD:-unused}" >"$pwfile"
  chown postgres "$pwfile"
  # shellcheck disable=SC2086  # POSTGRES_INITDB_ARGS is a word list, as in the official image
  as_postgres initdb --username="$POSTGRES_USER" --pwfile="$pwfile" --encoding=UTF8 --locale=C.UTF-8 \
    --auth-local=trust --auth-host="$auth" --no-sync $POSTGRES_INITDB_ARGS >/dev/null
  rm -f "$pwfile"
  {
    echo "listen_addresses = '*'"
    echo "unix_socket_directories = '/var/run/postgresql'"
    # Small footprint: tests run many servers on one machine.
    echo "shared_buffers = 16MB"
    echo "max_connections = 200"
  } >>"$PGDATA/postgresql.auto.conf"
  echo "host all all all $auth" >>"$PGDATA/pg_hba.conf"

  log "starting a temporary server (no TCP)"
  as_postgres pg_ctl -D "$PGDATA" -o "-c listen_addresses=''" -w -t 60 start >/dev/null
  local psql=(psql -v ON_ERROR_STOP=1 --no-psqlrc --username "$POSTGRES_USER" --host /var/run/postgresql)
  if [ "$POSTGRES_DB" != postgres ]; then
    log "creating database $POSTGRES_DB"
    as_postgres "${psql[@]}" --dbname postgres -q -c "CREATE DATABASE $(sql_id "$POSTGRES_DB")"
  fi
  run_initdb_scripts as_postgres "${psql[@]}" --dbname "$POSTGRES_DB"
  as_postgres pg_ctl -D "$PGDATA" -m fast -w stop >/dev/null
  log "PostgreSQL init process complete; ready for start up."
}

# `docker run IMAGE -c option=value` (the official image's way of passing server options).
if [ "${1:0:1}" = '-' ]; then
  set -- postgres "$@"
fi

if [ "$1" = postgres ]; then
  shift
  mkdir -p "$PGDATA" /var/run/postgresql
  chown postgres:postgres "$PGDATA" /var/run/postgresql
  chmod 0700 "$PGDATA"
  if [ ! -s "$PGDATA/PG_VERSION" ]; then
    init_datadir
  else
    log "PostgreSQL database directory appears to contain a database; skipping initialisation"
  fi
  unset POSTGRES_PASSWORD
  exec setpriv --reuid=postgres --regid=postgres --init-groups -- postgres -D "$PGDATA" "$@"
fi

exec "$@"
