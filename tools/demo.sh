#!/usr/bin/env bash
# Copyright (c) 2026, wabiz.api_client contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
#
# The local demo (`make demo`): on a fresh machine, build what is needed, start an old multiconnect
# setup on the emulator (2 Masters, 3 CoreApps, 2 shards; registered, webhook and two-step on), run
# playbooks/migrate.yml with inventories/local, and print a short report.
#
#   tools/demo.sh            # old setup on port 9090, new on 9091 (WABIZ_DEMO_OLD_PORT / _NEW_PORT)
#   tools/demo.sh down       # remove the demo's containers, networks and volumes
#
# Everything the demo makes is named wabiz-demo-*; its files are in /var/tmp/wabiz-demo.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
prefix=wabiz-demo
workdir=/var/tmp/wabiz-demo
old_port=${WABIZ_DEMO_OLD_PORT:-9090}
new_port=${WABIZ_DEMO_NEW_PORT:-9091}
say() { printf '\n=== demo: %s\n' "$*"; }

if [ "${1:-}" = down ]; then
  say "removing the demo (only wabiz-demo-* objects)"
  python3 tests/e2e/lab.py down --prefix "$prefix" --workdir "$workdir"
  rm -rf "$workdir"
  exit 0
fi

say "Python venv (.venv), Docker engine, emulator images"
bash tools/bootstrap.sh
bash tools/ensure-docker.sh
bash tools/build-images.sh
venv=${WABIZ_VENV:-$repo/.venv}
export PATH="$venv/bin:$PATH"

# The playbooks run from the work tree, found as the collection wabiz.api_client.
colls="$repo/.cache/collections"
mkdir -p "$colls/ansible_collections/wabiz"
ln -sfn "$repo" "$colls/ansible_collections/wabiz/api_client"
export ANSIBLE_COLLECTIONS_PATH="$colls" ANSIBLE_NOCOLOR=1 ANSIBLE_LOCALHOST_WARNING=0

say "removing an earlier demo (only wabiz-demo-* objects)"
python tests/e2e/lab.py down --prefix "$prefix" --workdir "$workdir" || true
rm -rf "$workdir"

say "starting the old setup: Meta's multiconnect compose layout on the emulator, seeded as registered"
python tests/e2e/lab.py up --prefix "$prefix" --old-port "$old_port" --new-port "$new_port" \
  --workdir "$workdir" > "$workdir.vars.json"
mv "$workdir.vars.json" "$workdir/vars.json"

say "ansible-playbook -i inventories/local playbooks/migrate.yml"
t0=$(date +%s)
ansible-playbook -i inventories/local playbooks/migrate.yml -e "@$workdir/vars.json"
say "migration finished in $(( $(date +%s) - t0 )) s"

python tools/demo_report.py "$workdir/state/$prefix.json"
cat <<EOT
  old setup API:  https://127.0.0.1:$old_port (its client containers are gone; database $prefix-old_db_1 kept)
  new setup API:  https://127.0.0.1:$new_port (admin / the password in inventories/local)
  rollback:       ansible-playbook -i inventories/local playbooks/rollback.yml -e @$workdir/vars.json
  remove it all:  bash tools/demo.sh down
EOT
