# shellcheck shell=bash
# EMULATOR: what the database stand-ins' entry points (mysql/, postgres/) share, as the official mysql and
# postgres images do: the *_FILE variants of their variables and the /docker-entrypoint-initdb.d scripts.
# Sourced by docker-entrypoint.sh, which defines log and error first. Part of wabiz.api_client's test emulator.

# file_env VAR [DEFAULT]: VAR may be given as VAR_FILE (a path whose content is the value).
file_env() {
  local var=$1 file_var="${1}_FILE" def=${2:-}
  if [ -n "${!var:-}" ] && [ -n "${!file_var:-}" ]; then
    error "both $var and $file_var are set (but are exclusive)"
  fi
  local val=$def
  if [ -n "${!var:-}" ]; then val=${!var}; elif [ -n "${!file_var:-}" ]; then val=$(<"${!file_var}"); fi
  export "$var"="$val"
  unset "$file_var"
}

# run_initdb_scripts SQL_COMMAND...: /docker-entrypoint-initdb.d/* in name order: *.sh sourced, *.sql and
# *.sql.gz fed to SQL_COMMAND on its standard input, anything else ignored.
run_initdb_scripts() {
  local f
  for f in /docker-entrypoint-initdb.d/*; do
    case "$f" in
      *.sh) log "running $f"
        # shellcheck disable=SC1090  # user-supplied init scripts
        . "$f" ;;
      *.sql) log "running $f"; "$@" <"$f" ;;
      *.sql.gz) log "running $f"; gunzip -c "$f" | "$@" ;;
      *) log "ignoring $f" ;;
    esac
  done
}
