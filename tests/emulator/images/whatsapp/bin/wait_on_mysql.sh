#!/usr/bin/env bash
# EMULATOR of the WhatsApp Business API client's /opt/whatsapp/bin/wait_on_mysql.sh (not Meta's code):
# wait until the database at $WA_DB_HOSTNAME:$WA_DB_PORT accepts TCP connections, then exec the
# arguments (Meta's compose files pass /opt/whatsapp/bin/launch_within_docker.sh).
# WA_DB_WAIT_TIMEOUT (seconds, default 0 = wait for ever, as the original) bounds the wait.
exec /opt/whatsapp/bin/wait_on_db.sh "${WA_DB_HOSTNAME:-db}" "${WA_DB_PORT:-3306}" "$@"
