#!/usr/bin/env bash
# Create (or refresh) the project's virtual environment with everything the test command and the demo
# need, and the offline get-pip stand-in for ansible-test. Idempotent: skips pip when the requirement
# files did not change. Usage: tools/bootstrap.sh [VENV_DIR]  (default: .venv in the repository)
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
venv=${1:-${WABIZ_VENV:-$repo/.venv}}
python=${WABIZ_PYTHON:-python3}

# Debian tools the sanity tests use (ansible-test runs shellcheck only when it is installed).
if ! command -v shellcheck >/dev/null 2>&1 && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "bootstrap: installing Debian package shellcheck"
  (apt-get install -y -qq shellcheck >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq shellcheck >/dev/null; }) \
    || { echo "bootstrap: could not install shellcheck" >&2; exit 1; }
fi

if [ ! -x "$venv/bin/python" ]; then
  echo "bootstrap: creating venv $venv"
  "$python" -m venv "$venv"
fi
stamp="$venv/.wabiz-requirements.sha256"
want=$(cat "$repo/requirements.txt" "$repo/requirements-test.txt" | sha256sum | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  echo "bootstrap: installing requirements-test.txt into $venv"
  (cd "$repo" && "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r requirements-test.txt)
  echo "$want" > "$stamp"
else
  echo "bootstrap: venv $venv is up to date"
fi

# One venv per further ansible-core of tests/ansible-cores.txt (the support matrix), each on its own Python:
# "$venv-core-<version>". Python is taken from PATH (python3.12) or pyenv's versions; none found is an error.
find_python() {
  local cand
  for cand in $(command -v "python$1" 2>/dev/null) \
      $(find "${PYENV_ROOT:-$HOME/.pyenv}/versions" -maxdepth 3 -path "*/versions/$1.*/bin/python$1" 2>/dev/null | sort -rV); do
    "$cand" -c 'import venv, ensurepip' >/dev/null 2>&1 && { echo "$cand"; return 0; }
  done
  return 1
}
sed -e 's/#.*//' -e '/^[[:space:]]*$/d' "$repo/tests/ansible-cores.txt" | tail -n +2 | while read -r core py; do
  cvenv="$venv-core-$core"
  cwant=$(cat "$repo/requirements.txt" "$repo/requirements-cores.txt" | sha256sum | cut -d' ' -f1)-$core
  if [ "$(cat "$cvenv/.wabiz-requirements.sha256" 2>/dev/null)" = "$cwant" ]; then
    echo "bootstrap: venv $cvenv (ansible-core $core) is up to date"
    continue
  fi
  cpython=$(find_python "$py") || { echo "bootstrap: Python $py for ansible-core $core not found (PATH or pyenv)" >&2; exit 1; }
  echo "bootstrap: venv $cvenv with ansible-core $core on $cpython"
  rm -rf "$cvenv"
  "$cpython" -m venv "$cvenv"
  (cd "$repo" && "$cvenv/bin/python" -m pip install --quiet --disable-pip-version-check \
    -r requirements-cores.txt "ansible-core==$core.*" < /dev/null)
  echo "$cwant" > "$cvenv/.wabiz-requirements.sha256"
done
"$repo/tools/install-get-pip-offline.sh"
