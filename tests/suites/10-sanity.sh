#!/usr/bin/env bash
# ansible-test sanity on the collection copy, with empty ignore files, on every ansible-core of
# tests/ansible-cores.txt (each with its own controller Python).
set -euo pipefail
cd "$WABIZ_COLLECTION"
. "$WABIZ_REPO/tests/cores.sh"
for f in tests/sanity/ignore-*.txt; do
  [ -e "$f" ] || continue
  test ! -s "$f" || { echo "$f must stay empty"; exit 1; }
done
mapfile -t cores < <(wabiz_cores)
for line in "${cores[@]}"; do
  read -r core py <<< "$line"
  venv=$(wabiz_core_venv "$core")
  echo "=== ansible-test sanity, ansible-core $core, Python $py ($venv)"
  "$venv/bin/ansible-test" --version
  PATH="$venv/bin:$PATH" ansible-test sanity --python "$py" --color no < /dev/null
done
