#!/usr/bin/env bash
# EMULATOR helper: wait_on_db.sh HOST PORT [COMMAND ARGS...]
# Waits until HOST:PORT accepts a TCP connection, then execs COMMAND (nothing to run: exit 0).
set -u
host=$1 port=$2
shift 2
limit=${WA_DB_WAIT_TIMEOUT:-0}
start=$SECONDS
next_note=0
# shellcheck disable=SC2016  # $0 and $1 expand in the inner shell
until timeout 2 bash -c 'exec 3<>"/dev/tcp/$0/$1"' "$host" "$port" 2>/dev/null; do
  waited=$((SECONDS - start))
  if [ "$limit" -gt 0 ] && [ "$waited" -ge "$limit" ]; then
    echo "wait_on_db: $host:$port did not accept connections within ${limit}s" >&2
    exit 1
  fi
  if [ "$waited" -ge "$next_note" ]; then
    echo "wait_on_db: waiting for the database at $host:$port (${waited}s)"
    next_note=$((next_note + 10))
  fi
  sleep 1
done
echo "wait_on_db: $host:$port accepts connections"
[ "$#" -gt 0 ] || exit 0
exec "$@"
