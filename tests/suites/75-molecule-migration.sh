#!/usr/bin/env bash
# The molecule scenario of the whole migration (extensions/molecule/migration, default driver) against
# the emulator on the Docker engine: create (old setup), converge (migrate.yml), idempotence, verify, destroy.
set -euo pipefail
cd "$WABIZ_COLLECTION"
bash tools/ensure-docker.sh
bash tools/build-images.sh
export ANSIBLE_COLLECTIONS_PATH="$WABIZ_COLLECTIONS_ROOT"
export MOLECULE_NO_LOG=false
molecule test -s migration
