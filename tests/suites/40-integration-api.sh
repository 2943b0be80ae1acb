#!/usr/bin/env bash
# ansible-test integration of the API modules against process-mode emulators (tests/emulator).
# Every target carrying the alias wabiz/api runs; each starts and stops its own emulators.
set -euo pipefail
cd "$WABIZ_COLLECTION"
ansible-test integration --python 3.11 --local --color no wabiz/api/
