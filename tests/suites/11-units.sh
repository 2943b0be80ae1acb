#!/usr/bin/env bash
# Unit tests (mocks are allowed here and only here).
set -euo pipefail
cd "$WABIZ_COLLECTION"
ansible-test units --python 3.11 --requirements --color no
