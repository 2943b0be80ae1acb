#!/usr/bin/env bash
# Suite 20: the emulator's own tests, process mode (Docker-mode tests live in tests/emulator/tests/docker and
# run in their own suite).  The tests mostly wait on real processes (initialisation, leases), so they run in
# WABIZ_EMULATOR_JOBS shards at once (default 4; 1 = one plain pytest run).  Nothing may be skipped.
set -euo pipefail
cd "${WABIZ_REPO:?WABIZ_REPO is not set}"
PY="${WABIZ_VENV:?WABIZ_VENV is not set}/bin/python"
JOBS="${WABIZ_EMULATOR_JOBS:-4}"
PYTEST=("$PY" -m pytest tests/emulator/tests -q -p no:cacheprovider --ignore=tests/emulator/tests/docker
        -o addopts="" -rfEs)

if [ "$JOBS" -le 1 ]; then
    out="$(mktemp)"
    trap 'rm -f "$out"' EXIT
    "${PYTEST[@]}" "$@" | tee "$out"
    if grep -Eq '[0-9]+ skipped' "$out"; then echo "20-emulator: tests were skipped" >&2; exit 1; fi
    exit 0
fi

dir="$(mktemp -d)"
trap 'rm -rf "$dir"' EXIT
pids=()
for ((i = 0; i < JOBS; i++)); do
    WA_EMULATOR_TEST_SHARD="$i/$JOBS" "${PYTEST[@]}" "$@" >"$dir/shard-$i.log" 2>&1 &
    pids+=("$!")
done
rc=0
for ((i = 0; i < JOBS; i++)); do
    if ! wait "${pids[$i]}"; then rc=1; fi
done
for ((i = 0; i < JOBS; i++)); do
    echo "=== shard $((i + 1))/$JOBS"
    cat "$dir/shard-$i.log"
done
if grep -Eq '[0-9]+ skipped' "$dir"/shard-*.log; then
    echo "20-emulator: tests were skipped (not allowed)" >&2
    rc=1
fi
if [ "$rc" -ne 0 ]; then echo "20-emulator: FAILED" >&2; else echo "20-emulator: all shards passed"; fi
exit "$rc"
