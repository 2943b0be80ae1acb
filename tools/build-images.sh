#!/usr/bin/env bash
# Copyright (c) 2026, wabiz.api_client contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
#
# Build the emulator's Docker images from Debian packages (content-hash cached: a no-op when nothing
# changed). Needs a running engine: run tools/ensure-docker.sh first.
#   tools/build-images.sh [--versions 2.61.2,2.62.5] [--force] [--list]
# Images, all under the emulator's own names: wabiz-emulator/mysql:8.0.33 (MariaDB stand-in),
# wabiz-emulator/postgres:13 (Debian PostgreSQL stand-in), wabiz-emulator/coreapp:v<ver>, wabiz-emulator/web:v<ver>,
# wabiz-emulator/network:latest, wabiz-emulator/webhook-receiver:latest, wabiz-emulator/base:<hash>.
# Details: tests/emulator/images/build.py and tests/emulator/README.md ("Docker mode").
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
exec "${WABIZ_PYTHON:-python3}" "$repo/tests/emulator/images/build.py" "$@"
