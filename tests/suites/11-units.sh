#!/usr/bin/env bash
# Unit tests (mocks are allowed here and only here), on every ansible-core of tests/ansible-cores.txt.
set -euo pipefail
cd "$WABIZ_COLLECTION"
. "$WABIZ_REPO/tests/cores.sh"
mapfile -t cores < <(wabiz_cores)
for line in "${cores[@]}"; do
  read -r core py <<< "$line"
  venv=$(wabiz_core_venv "$core")
  echo "=== ansible-test units, ansible-core $core, Python $py ($venv)"
  "$venv/bin/ansible-test" --version
  PATH="$venv/bin:$PATH" ansible-test units --python "$py" --requirements --color no < /dev/null
done
