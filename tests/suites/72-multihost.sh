#!/usr/bin/env bash
# Suite 72: real topologies. The migration over SSH: real sshd hosts on loopback addresses (Debian's
# openssh-server, installed when missing; key-based; a non-root user each, sudo for become on the backup
# host), the old setup spread over two Docker hosts on two engines, the new one installed over two more
# hosts on two more engines (extra dockerd processes started and removed by the test), the backup on a fifth
# host; the preflight's refusal of counts that only match the first old host; the Docker modules with the
# Docker SDK that Debian 12 / Ubuntu ship (5.0.3) and the refusal of an SDK that cannot work (tests/multihost).
# Needs root. Never skips: a lab that cannot start is a failure.
set -euo pipefail
cd "$WABIZ_COLLECTION"
bash tools/ensure-docker.sh
bash tools/build-images.sh
export WABIZ_E2E_LOGDIR="$WABIZ_TEST_ROOT/multihost-logs"
out=$(mktemp)
trap 'rm -f "$out"' EXIT
rc=0
python -m pytest tests/multihost -p no:cacheprovider -v -s --durations=0 -rfEs "$@" | tee "$out" || rc=$?
if grep -Eq '[0-9]+ skipped' "$out"; then echo "72-multihost: tests were skipped" >&2; exit 1; fi
exit "$rc"
