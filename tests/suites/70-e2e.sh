#!/usr/bin/env bash
# End-to-end migrations on the Docker engine, against the emulator images: the collection's playbooks
# (migrate, rollback, decommission) run for real with ansible-playbook and ansible-runner (tests/e2e).
# Needs root on a fresh machine (installs and starts the engine, builds the images once).
set -euo pipefail
cd "$WABIZ_COLLECTION"
bash tools/ensure-docker.sh
bash tools/build-images.sh
export WABIZ_E2E_LOGDIR="$WABIZ_TEST_ROOT/e2e-logs"
python -m pytest tests/e2e -p no:cacheprovider -v -s --durations=0 "$@"
