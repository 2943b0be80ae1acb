#!/usr/bin/env bash
# Suite 30: the emulator in Docker mode on a real engine. Starts the engine when absent (installs
# docker.io / docker-compose when missing), builds the emulator images (content-hash cached), then runs
# tests/emulator/tests/docker: Meta's official compose layouts on those images. Never skips: no engine
# or no image is a failure.
set -euo pipefail
cd "${WABIZ_REPO:?WABIZ_REPO is not set}"
PY="${WABIZ_VENV:?WABIZ_VENV is not set}/bin/python"

t0=$SECONDS
bash tools/ensure-docker.sh
t1=$SECONDS
bash tools/build-images.sh
t2=$SECONDS
echo "30-emulator-docker: engine $((t1 - t0))s, images $((t2 - t1))s"
"$PY" -m pytest tests/emulator/tests/docker -q -p no:cacheprovider -o addopts="" --durations=5 "$@"
echo "30-emulator-docker: tests $((SECONDS - t2))s, total $((SECONDS - t0))s"
