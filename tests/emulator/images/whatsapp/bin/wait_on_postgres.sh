#!/usr/bin/env bash
# EMULATOR of the WhatsApp Business API client's /opt/whatsapp/bin/wait_on_postgres.sh (not Meta's
# code): wait until $WA_DB_HOSTNAME:$WA_DB_PORT (default 5432) accepts TCP connections, then exec the
# arguments (Meta's files for PostgreSQL setups pass /opt/whatsapp/bin/launch_within_docker.sh).
# WA_DB_WAIT_TIMEOUT (seconds, default 0 = wait for ever, as the original) bounds the wait.
exec /opt/whatsapp/bin/wait_on_db.sh "${WA_DB_HOSTNAME:-db}" "${WA_DB_PORT:-5432}" "$@"
