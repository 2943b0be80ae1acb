#!/usr/bin/env bash
# Suite 50: the Docker side of the collection on a real engine and the emulator images.
# pytest drives real ansible-playbook runs (tests/integration/docker): the stack / stack_info / db_container
# modules and the stack_install, stack_uninstall and preflight roles, single instance and multiconnect,
# idempotence, a version change, uninstall keeping the database and its data, Meta's official compose layout,
# and each preflight mismatch. Never skips: no engine or no image is a failure.
set -euo pipefail
cd "${WABIZ_REPO:?WABIZ_REPO is not set}"
PY="${WABIZ_VENV:?WABIZ_VENV is not set}/bin/python"
export ANSIBLE_COLLECTIONS_PATH="${WABIZ_COLLECTIONS_ROOT:?WABIZ_COLLECTIONS_ROOT is not set}"

t0=$SECONDS
bash tools/ensure-docker.sh
bash tools/build-images.sh
t1=$SECONDS
echo "50-docker: engine and images $((t1 - t0))s"
"$PY" -m pytest tests/integration/docker -q -p no:cacheprovider -o addopts="" --durations=5 "$@"
echo "50-docker: tests $((SECONDS - t1))s, total $((SECONDS - t0))s"
