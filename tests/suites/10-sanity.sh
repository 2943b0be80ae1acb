#!/usr/bin/env bash
# ansible-test sanity on the collection copy, with an empty ignore file.
set -euo pipefail
cd "$WABIZ_COLLECTION"
test ! -s tests/sanity/ignore-2.19.txt || { echo "tests/sanity/ignore-2.19.txt must stay empty"; exit 1; }
ansible-test sanity --python 3.11 --color no
