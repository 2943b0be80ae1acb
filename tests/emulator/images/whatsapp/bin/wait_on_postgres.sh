#!/usr/bin/env bash
# EMULATOR of the WhatsApp Business API client's /opt/whatsapp/bin/wait_on_postgres.sh (not Meta's
# code): wait until $WA_DB_HOSTNAME:$WA_DB_PORT (default 5432) accepts TCP connections, then exec the
# arguments. Note: the emulator application itself supports WA_DB_ENGINE=MYSQL only.
exec /opt/whatsapp/bin/wait_on_db.sh "${WA_DB_HOSTNAME:-db}" "${WA_DB_PORT:-5432}" "$@"
