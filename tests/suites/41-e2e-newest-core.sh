#!/usr/bin/env bash
# One end-to-end migration (multiconnect, then the decommission) on the newest ansible-core of
# tests/ansible-cores.txt, in its own venv and Python: ansible-playbook, its modules and the Docker SDK all
# come from that venv. In the static lane (suites 1x and 4x), beside the Docker lane's suites.
set -euo pipefail
cd "$WABIZ_COLLECTION"
. "$WABIZ_REPO/tests/cores.sh"
read -r core _ <<< "$(wabiz_cores | tail -1)"
venv=$(wabiz_core_venv "$core")
bash tools/ensure-docker.sh
bash tools/build-images.sh
"$venv/bin/ansible-playbook" --version
export WABIZ_E2E_LOGDIR="$WABIZ_TEST_ROOT/e2e-logs-core-$core"
out=$(mktemp)
trap 'rm -f "$out"' EXIT
PATH="$venv/bin:$PATH" "$venv/bin/python" -m pytest tests/e2e/test_migration.py -k multiconnect_migration \
  -p no:cacheprovider -v -s -rfEs < /dev/null | tee "$out"
if grep -Eq '[0-9]+ skipped|no tests ran|[0-9]+ deselected.* 0 passed' "$out"; then echo "41-e2e-newest-core: tests were skipped" >&2; exit 1; fi
grep -Eq '1 passed' "$out" || { echo "41-e2e-newest-core: the migration did not pass" >&2; exit 1; }
