#!/usr/bin/env bash
# The interruption matrix (tests/e2e/test_interruption_matrix.py): migrate.yml interrupted with SIGINT and
# SIGKILL at every step boundary and inside steps 4-7, each followed by a re-run, on the single-instance
# layout; the two signals run in parallel; prints a table point -> outcome. Own suite: it is the longest
# end-to-end test (WABIZ_INTERRUPT_POINTS="step 5,step 6" walks a subset when studying one point).
set -euo pipefail
cd "$WABIZ_COLLECTION"
bash tools/ensure-docker.sh
bash tools/build-images.sh
export WABIZ_E2E_LOGDIR="$WABIZ_TEST_ROOT/e2e-interruptions-logs"
out=$(mktemp)
trap 'rm -f "$out"' EXIT
python -m pytest tests/e2e/test_interruption_matrix.py -p no:cacheprovider -v -s -rfEs "$@" | tee "$out"
if grep -Eq '[0-9]+ skipped' "$out"; then echo "71-e2e-interruptions: tests were skipped" >&2; exit 1; fi
