#!/usr/bin/env bash
# End-to-end migrations on the Docker engine, against the emulator images: the collection's playbooks
# (migrate, rollback, decommission, backup) run for real with ansible-playbook and ansible-runner
# (tests/e2e). Needs root on a fresh machine (installs and starts the engine, builds the images once).
# The tests mostly wait on containers and the emulator's timings, so they run in two pytest processes at
# once: shard b is the complement of shard a, so every test runs (WABIZ_E2E_JOBS=1: one plain run).
# Every test has its own Docker objects (wabiz-e2e-<run>-<n>-*) and removes them.
set -euo pipefail
cd "$WABIZ_COLLECTION"
bash tools/ensure-docker.sh
bash tools/build-images.sh
export WABIZ_E2E_LOGDIR="$WABIZ_TEST_ROOT/e2e-logs"
PYTEST=(python -m pytest tests/e2e --ignore=tests/e2e/test_interruption_matrix.py -p no:cacheprovider -v -s --durations=0 -rfEs)

if [ "${WABIZ_E2E_JOBS:-2}" -le 1 ]; then
  out=$(mktemp)
  trap 'rm -f "$out"' EXIT
  "${PYTEST[@]}" "$@" | tee "$out"
  if grep -Eq '[0-9]+ skipped' "$out"; then echo "70-e2e: tests were skipped" >&2; exit 1; fi
  exit 0
fi

dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
# Shard a: the multiconnect migration, the interrupted re-run, the PostgreSQL migration and two fail-safe
# tests; shard b: AWX runner, restore failure + rollback (multiconnect), count mismatch, the other fail-safe tests,
# the dry run (--check, --tags preflight, progress lines; tests/e2e/test_dry_run.py).
shard_a="multiconnect_migration or interrupted or postgresql or step5_refuses or bad_inputs"
"${PYTEST[@]}" -k "$shard_a" "$@" > "$dir/a.log" 2>&1 &
pid_a=$!
"${PYTEST[@]}" -k "not ($shard_a)" "$@" > "$dir/b.log" 2>&1 &
pid_b=$!
rc=0
wait "$pid_a" || rc=1
wait "$pid_b" || rc=1
for shard in a b; do
  echo "===== 70-e2e shard $shard"
  cat "$dir/$shard.log"
done
if grep -Eq '[0-9]+ skipped' "$dir/a.log" "$dir/b.log"; then
  echo "70-e2e: tests were skipped" >&2
  rc=1
fi
exit "$rc"
