#!/usr/bin/env bash
# Run the API modules with -vvv (success and failure paths) and prove that no password, PIN, token,
# API key or backup data appears anywhere in the output.
set -euo pipefail

work=$(mktemp -d)
out="$work/ansible.log"
cleanup() {
  python "../setup_emu/files/emuctl.py" stop "$work/emu" > /dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

export ANSIBLE_ROLES_PATH=..
export ANSIBLE_NOCOLOR=1
if ! ansible-playbook -i "${INVENTORY_PATH:-localhost,}" no_log.yml -vvv -e "no_log_work=$work" > "$out" 2>&1; then
  cat "$out"
  echo "FAILED: the playbook failed"
  exit 1
fi

# The secrets the playbook used (see no_log.yml), plus the token and backup data it wrote to files.
secrets=(
  "Old-Admin-Pass1" "N0log-Admin-Pass!" "Backup-Secret-9" "Wrong-Backup-9" "246810" "nolog-api-key-0123456789"
  "Url-Secret-77" "Hook-Secret-42"
  "$(cat "$work/token")" "$(cat "$work/backup.bak")"
)
leaks=0
for secret in "${secrets[@]}"; do
  test -n "$secret" || { echo "FAILED: an expected secret is empty"; exit 1; }
  if grep -qF -- "$secret" "$out"; then
    echo "LEAK: a secret (${#secret} characters, starting ${secret:0:3}) appears in the -vvv output:"
    grep -nF -- "$secret" "$out" | cut -c1-300 | head -5
    leaks=1
  fi
done
# Any JWT-like token (tokens obtained inside modules are never printed either).
if grep -nE 'eyJ[A-Za-z0-9_-]{10,}' "$out" | head -5 | grep .; then
  echo "LEAK: a JWT-like token appears in the output"
  leaks=1
fi
# Every file the run wrote (the backup metadata, ...), except the two files that ARE secrets on purpose
# (the backup data, mode 0600, and the token the playbook saved for this grep) and the emulators' own state.
while IFS= read -r -d '' file; do
  for secret in "${secrets[@]}"; do
    if grep -qF -- "$secret" "$file"; then
      echo "LEAK: a secret (${#secret} characters, starting ${secret:0:3}) is in the written file $file"
      leaks=1
    fi
  done
done < <(find "$work" -path "$work/emu" -prune -o -type f ! -name backup.bak ! -name token ! -name ansible.log -print0)
test -s "$work/backup.bak.meta.json"
test "$leaks" = 0

# The run really passed the secrets (and -vvv printed module arguments).
grep -q 'VALUE_SPECIFIED_IN_NO_LOG_PARAMETER' "$out"
grep -q 'restore failed: 400 1009' "$out"
grep -q 'pin must be exactly six digits' "$out"
grep -q 'https://\*\*\*\*\*\*\*\*@hooks.example.com/wa' "$out"
grep -q 'api_url must be a URL without credentials' "$out"
echo "no secret in $(wc -l < "$out") lines of -vvv output"
