#!/usr/bin/env bash
# Copyright (c) 2026, wabiz.api_client contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
#
# Steps 5-7 of Meta's migration guide by hand, with docker and curl only: the yardstick for the playbook's
# downtime (tests/bench/bench_migration.py runs it after the playbook's steps 1-4 on its own lab).
#
#   direct_steps_5_7.sh OLD_COMPOSE_PROJECT NEW_API_URL NEW_ADMIN_PASSWORD BACKUP_FILE BACKUP_PASSWORD TO CONNECTED [POLL] [STOP]
#
# CONNECTED: how many nodes report "connected" on a healthy new setup (1 for a single instance or high
# availability, shards + 1 for multiconnect). POLL: seconds between health polls (0.25, as the playbook).
# STOP: like for like with the playbook's step 5 (30, its stack_uninstall_stop_timeout): a graceful
# `docker stop -t STOP` of the client containers at once, then `docker rm`; `kill`: `docker rm -f` at once.
# Everything that is not downtime (login, the restore body, the container list) is prepared first. Prints
# one JSON line: {"downtime": seconds from the first docker stop (or rm -f) to the first accepted test message, ...}.
set -euo pipefail
project=$1 url=$2 password=$3 backup=$4 backup_password=$5 to=$6 connected=$7 poll=${8:-0.25} stop=${9:-30}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
curl_() { curl -sk --max-time 10 "$@"; }
token=$(curl_ -u "admin:$password" -X POST -H 'Content-Type: application/json' -d '{}' "$url/v1/users/login" \
        | sed -n 's/.*"token": *"\([^"]*\)".*/\1/p')
[ -n "$token" ] || { echo "login to $url failed" >&2; exit 1; }
printf '{"password": "%s", "data": "%s"}' "$backup_password" "$(tr -d '\n' < "$backup")" > "$work/restore.json"
printf '{"to": "%s", "type": "text", "recipient_type": "individual", "text": {"body": "direct script test message"}}' \
  "$to" > "$work/message.json"
mapfile -t app < <(docker ps -a --filter "label=com.docker.compose.project=$project" \
                     --format '{{.Names}} {{.Label "com.docker.compose.service"}}' | awk '$2 != "db" {print $1}')
[ "${#app[@]}" -gt 0 ] || { echo "no client containers in $project" >&2; exit 1; }
auth=(-H "Authorization: Bearer $token" -H 'Content-Type: application/json')

t0=$(date +%s.%N)
if [ "$stop" = kill ]; then                                                          # step 5
  docker rm -f "${app[@]}" > /dev/null
else
  docker stop -t "$stop" "${app[@]}" > /dev/null && docker rm "${app[@]}" > /dev/null
fi
t5=$(date +%s.%N)
code=$(curl_ -o "$work/restore.out" -w '%{http_code}' "${auth[@]}" -X POST \
       --data-binary "@$work/restore.json" "$url/v1/settings/restore")             # step 6
[ "$code" = 200 ] || { echo "restore: HTTP $code $(cat "$work/restore.out")" >&2; exit 1; }
t6=$(date +%s.%N)
polls=0
while :; do                                                                          # step 7: health
  polls=$((polls + 1))
  n=$(curl_ "${auth[@]}" "$url/v1/health" | grep -o '"gateway_status": *"connected"' | wc -l || true)
  [ "$n" -ge "$connected" ] && break
  sleep "$poll"
done
t7h=$(date +%s.%N)
while :; do                                                                          # step 7: test message
  code=$(curl_ -o "$work/message.out" -w '%{http_code}' "${auth[@]}" -X POST \
         --data-binary "@$work/message.json" "$url/v1/messages")
  case $code in 200|201) break ;; esac
  sleep "$poll"
done
t1=$(date +%s.%N)
python3 -c 'import json,sys; t0,t5,t6,t7h,t1=map(float,sys.argv[1:6]); print(json.dumps({"downtime": round(t1-t0,3),
  "step5_uninstall": round(t5-t0,3), "step6_restore": round(t7h-t5,3), "step7_health": round(t1-t7h,3),
  "restore_call": round(t6-t5,3), "polls": int(sys.argv[6]), "containers": int(sys.argv[7]), "stop": sys.argv[8]}))' \
  "$t0" "$t5" "$t6" "$t7h" "$t1" "$polls" "${#app[@]}" "$stop"
