#!/usr/bin/env bash
# ansible-lint with the production profile (.ansible-lint), offline; then every module's docs render.
set -euo pipefail
cd "$WABIZ_COLLECTION"
export ANSIBLE_COLLECTIONS_PATH="$WABIZ_COLLECTIONS_ROOT"
ansible-lint --offline --profile production
shopt -s nullglob
for f in plugins/modules/*.py; do
  name=$(basename "$f" .py)
  ansible-doc "wabiz.api_client.$name" > /dev/null
  echo "ansible-doc wabiz.api_client.$name: rendered"
done
ansible-doc -l wabiz.api_client | sed 's/^/  /'
