# shellcheck shell=bash
# Sourced by the suites: the support matrix of tests/ansible-cores.txt as "core python" lines, and the venv of
# each core (the first runs in $WABIZ_VENV, the others in "$WABIZ_VENV-core-<core>", made by tools/bootstrap.sh).
wabiz_cores() { sed -e 's/#.*//' -e '/^[[:space:]]*$/d' "$WABIZ_REPO/tests/ansible-cores.txt"; }
wabiz_core_venv() {
  if [ "$1" = "$(wabiz_cores | head -1 | cut -d' ' -f1)" ]; then echo "$WABIZ_VENV"; else echo "$WABIZ_VENV-core-$1"; fi
}
