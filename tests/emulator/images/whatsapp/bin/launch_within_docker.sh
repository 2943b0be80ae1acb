#!/usr/bin/env bash
# EMULATOR of the WhatsApp Business API client's /opt/whatsapp/bin/launch_within_docker.sh (not Meta's
# code): start the emulator in the role this image was built for (WA_EMULATOR_ROLE: coreapp, web,
# network or webhook-receiver). A CoreApp image runs as a Master when WA_MASTER_NODE=1.
set -e
role=${WA_EMULATOR_ROLE:?WA_EMULATOR_ROLE is not set in this image}
cd /opt/whatsapp/emulator
exec python3 -m wa_emulator "$role" "$@"
