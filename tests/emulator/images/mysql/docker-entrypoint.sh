#!/usr/bin/env bash
# EMULATOR stand-in for the official `mysql:8.0.33` image's entry point, running Debian's MariaDB.
# Part of wabiz.api_client's test emulator -- not Oracle's image and not MySQL.
#
# Contract honoured (the parts Meta's compose files and the collection use):
#   MYSQL_ROOT_PASSWORD | MYSQL_ALLOW_EMPTY_PASSWORD | MYSQL_RANDOM_ROOT_PASSWORD (one required),
#   MYSQL_ROOT_HOST (default %), MYSQL_DATABASE, MYSQL_USER + MYSQL_PASSWORD, *_FILE variants,
#   /docker-entrypoint-initdb.d/*.sql|*.sql.gz|*.sh, data in /var/lib/mysql, initialisation only
#   when the data directory is empty, port 3306 on all interfaces, `docker run IMAGE --some-option`.
# MySQL-only server options MariaDB does not know (--default-authentication-plugin=..., which Meta's
# compose file passes) are accepted and dropped: MariaDB's users already use mysql_native_password.
# Deviation, on purpose: MYSQL_USER gets ALL PRIVILEGES on *.* (not only on MYSQL_DATABASE), so a
# WhatsApp setup may run as that user and create its own databases (WA_DB_NAME_PREFIX).
set -eo pipefail
shopt -s nullglob

DATADIR=/var/lib/mysql
SOCKET=/run/mysqld/mysqld.sock

log() { echo "$(date -u +%Y-%m-%dT%H:%M:%SZ) 0 [Note] [Entrypoint]: $*"; }
error() { echo "$(date -u +%Y-%m-%dT%H:%M:%SZ) 0 [ERROR] [Entrypoint]: $*" >&2; exit 1; }

# file_env, run_initdb_scripts (shared with the postgres stand-in; build.py copies it in).
# shellcheck source=../dbcommon/entrypoint-common.sh
. /usr/local/lib/wabiz-emulator/entrypoint-common.sh

# sql_str VALUE: VALUE as a single-quoted SQL string literal.
sql_str() { local s=${1//\\/\\\\}; s=${s//\'/\\\'}; printf "'%s'" "$s"; }
# sql_id VALUE: VALUE as a back-quoted SQL identifier.
# shellcheck disable=SC2016  # literal back-quotes
sql_id() { printf '`%s`' "${1//\`/\`\`}"; }

# shellcheck disable=SC2120  # given arguments through run_initdb_scripts
run_sql() { mariadb --protocol=socket --socket="$SOCKET" -uroot "$@"; }

init_datadir() {
  file_env MYSQL_ROOT_PASSWORD
  file_env MYSQL_USER
  file_env MYSQL_PASSWORD
  file_env MYSQL_DATABASE
  file_env MYSQL_ROOT_HOST '%'
  if [ -z "$MYSQL_ROOT_PASSWORD" ] && [ -z "${MYSQL_ALLOW_EMPTY_PASSWORD:-}" ] && [ -z "${MYSQL_RANDOM_ROOT_PASSWORD:-}" ]; then
    error "Database is uninitialized and password option is not specified
    You need to specify one of the following as an environment variable:
    - MYSQL_ROOT_PASSWORD
    - MYSQL_ALLOW_EMPTY_PASSWORD
    - MYSQL_RANDOM_ROOT_PASSWORD"
  fi
  if [ "$MYSQL_USER" = root ]; then
    error 'MYSQL_USER="root", MYSQL_USER and MYSQL_PASSWORD are for configuring a regular user and cannot be used for the root user
    Remove MYSQL_USER="root" and use one of the following to control the root user password:
    - MYSQL_ROOT_PASSWORD
    - MYSQL_ALLOW_EMPTY_PASSWORD
    - MYSQL_RANDOM_ROOT_PASSWORD'
  fi
  if [ -n "${MYSQL_RANDOM_ROOT_PASSWORD:-}" ]; then
    MYSQL_ROOT_PASSWORD=$(python3 -c 'import secrets; print(secrets.token_urlsafe(24))')
    log "GENERATED ROOT PASSWORD: $MYSQL_ROOT_PASSWORD"
  fi

  log "Initializing database files"
  mariadb-install-db --user=mysql --datadir="$DATADIR" --skip-test-db --skip-name-resolve \
    --auth-root-authentication-method=normal --skip-log-bin >/dev/null
  log "Database files initialized"

  log "Starting temporary server"
  "$@" --user=mysql --skip-networking --socket="$SOCKET" --skip-log-bin &
  local pid=$!
  for _ in $(seq 1 60); do
    if mariadb-admin --protocol=socket --socket="$SOCKET" -uroot ping >/dev/null 2>&1; then break; fi
    kill -0 "$pid" 2>/dev/null || error "temporary server failed to start"
    sleep 0.5
  done
  mariadb-admin --protocol=socket --socket="$SOCKET" -uroot ping >/dev/null 2>&1 \
    || error "temporary server did not answer"
  log "Temporary server started."

  local rootpw host sql
  rootpw=$(sql_str "$MYSQL_ROOT_PASSWORD")
  host=$(sql_str "$MYSQL_ROOT_HOST")
  sql="SET @@SESSION.SQL_LOG_BIN=0;
DELETE FROM mysql.global_priv WHERE User NOT IN ('root', 'mysql', 'mariadb.sys') OR (User = 'root' AND Host NOT IN ('localhost'));
DELETE FROM mysql.proxies_priv WHERE Host NOT IN ('localhost');
ALTER USER 'root'@'localhost' IDENTIFIED BY $rootpw;"
  if [ "$MYSQL_ROOT_HOST" != localhost ]; then
    sql+="
CREATE USER 'root'@$host IDENTIFIED BY $rootpw;
GRANT ALL ON *.* TO 'root'@$host WITH GRANT OPTION;"
  fi
  if [ -n "$MYSQL_DATABASE" ]; then
    log "Creating database ${MYSQL_DATABASE}"
    sql+="
CREATE DATABASE IF NOT EXISTS $(sql_id "$MYSQL_DATABASE");"
  fi
  if [ -n "$MYSQL_USER" ] && [ -n "$MYSQL_PASSWORD" ]; then
    log "Creating user ${MYSQL_USER}"
    sql+="
CREATE USER $(sql_str "$MYSQL_USER")@'%' IDENTIFIED BY $(sql_str "$MYSQL_PASSWORD");
GRANT ALL ON *.* TO $(sql_str "$MYSQL_USER")@'%';"
  elif [ -n "$MYSQL_USER" ] || [ -n "$MYSQL_PASSWORD" ]; then
    log "[Warn] MYSQL_USER and MYSQL_PASSWORD must both be set for a user to be created"
  fi
  sql+="
FLUSH PRIVILEGES;"
  run_sql <<<"$sql"

  run_initdb_scripts run_sql --password="$MYSQL_ROOT_PASSWORD" ${MYSQL_DATABASE:+"$MYSQL_DATABASE"}

  log "Stopping temporary server"
  mariadb-admin --protocol=socket --socket="$SOCKET" -uroot --password="$MYSQL_ROOT_PASSWORD" shutdown
  wait "$pid" || true
  log "Temporary server stopped"
  log "MySQL init process done. Ready for start up."
}

# `docker run IMAGE --option ...` and Meta's `command: --default-authentication-plugin=...`.
if [ "${1:0:1}" = '-' ]; then
  set -- mysqld "$@"
fi

if [ "$1" = mysqld ] || [ "$1" = mariadbd ]; then
  shift
  args=()
  for a in "$@"; do
    case "$a" in
      --default-authentication-plugin=*|--default_authentication_plugin=*|--authentication-policy=*|--authentication_policy=*|--mysqlx=*|--mysqlx-*)
        log "accepting MySQL-only option $a (nothing to do on the MariaDB stand-in)" ;;
      *) args+=("$a") ;;
    esac
  done
  set -- mariadbd "${args[@]}"
  mkdir -p /run/mysqld "$DATADIR"
  chown mysql:mysql /run/mysqld
  chown mysql:mysql "$DATADIR"
  if [ ! -d "$DATADIR/mysql" ]; then
    init_datadir "$@"
  else
    log "Database files found in $DATADIR: skipping initialisation"
  fi
  unset MYSQL_ROOT_PASSWORD MYSQL_PASSWORD
  exec "$@" --user=mysql
fi

exec "$@"
