#!/usr/bin/env bash
# Put the offline get-pip stand-in where ansible-test looks for its cached download.
# For air-gapped control nodes and CI: see README "Offline / air-gapped ansible-test".
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cache="${HOME}/.ansible/test/cache"
mkdir -p "$cache"
# ansible-core 2.19 asks for get-pip 24.2, 2.20 and later for 25.2.
for ver in 24_2 25_2 ${WABIZ_GET_PIP_VERSIONS:-}; do
  install -m 0644 "$here/get_pip_offline.py" "$cache/get_pip_${ver}.py"
done
echo "offline get-pip stand-in installed in $cache"
