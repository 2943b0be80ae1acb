#!/usr/bin/env bash
# Suite 20: the emulator's own tests (process mode; Docker-mode tests live in tests/emulator/tests/docker
# and run in their own suite).
set -euo pipefail
cd "${WABIZ_REPO:?WABIZ_REPO is not set}"
PY="${WABIZ_VENV:?WABIZ_VENV is not set}/bin/python"
exec "$PY" -m pytest tests/emulator/tests -q -p no:cacheprovider \
    --ignore=tests/emulator/tests/docker -o addopts="" "$@"
