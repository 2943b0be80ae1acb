#!/usr/bin/env bash
# The molecule scenario of the whole migration (extensions/molecule/migration, default driver) against
# the emulator on the Docker engine: create (old setup), converge (migrate.yml), idempotence, verify, destroy.
set -euo pipefail
cd "$WABIZ_COLLECTION"
bash tools/ensure-docker.sh
bash tools/build-images.sh
export ANSIBLE_COLLECTIONS_PATH="$WABIZ_COLLECTIONS_ROOT"
export MOLECULE_NO_LOG=false
# molecule 25 logs "CRITICAL 'extensions/molecule/default/molecule.yml' glob failed" when a collection has
# no scenario named default, then goes on (ansible/molecule#4117); say so, so nobody reads it as the failure.
echo "note: molecule's \"CRITICAL ... default/molecule.yml glob failed\" line is harmless: there is no default scenario (ansible/molecule#4117)"
molecule test -s migration
