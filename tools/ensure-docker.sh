#!/usr/bin/env bash
# Copyright (c) 2026, wabiz.api_client contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
#
# Make sure a Docker engine answers on this machine, and that docker-compose (v1) is installed.
#
#   tools/ensure-docker.sh
#
# - engine already up (`docker info` works): only checks docker-compose, returns in well under a second;
# - otherwise (CI starts on a fresh machine): installs Debian's `docker.io` with apt when `dockerd` is
#   missing, starts `dockerd` in the background (own session, log in $WABIZ_DOCKERD_LOG) and waits until
#   it answers ($WABIZ_DOCKER_TIMEOUT seconds, default 60).
# Exits non-zero with a message saying why when the engine cannot be made to answer. It never skips.
set -euo pipefail

log=${WABIZ_DOCKERD_LOG:-/var/log/wabiz-dockerd.log}
timeout=${WABIZ_DOCKER_TIMEOUT:-60}

say() { echo "ensure-docker: $*"; }
die() { echo "ensure-docker: ERROR: $*" >&2; exit 1; }

apt_updated=0
apt_install() {
  # apt_install PACKAGE...: install Debian packages, refreshing the package lists once if needed.
  [ "$(id -u)" = 0 ] || die "need root to install $* (run as root or install them first)"
  export DEBIAN_FRONTEND=noninteractive
  if ! apt-get install -y -q --no-install-recommends "$@" >/tmp/wabiz-apt.log 2>&1; then
    if [ "$apt_updated" = 0 ]; then
      apt_updated=1
      say "apt-get update"
      apt-get update -q >>/tmp/wabiz-apt.log 2>&1 || die "apt-get update failed (see /tmp/wabiz-apt.log)"
      apt-get install -y -q --no-install-recommends "$@" >>/tmp/wabiz-apt.log 2>&1 \
        || die "apt-get install $* failed (see /tmp/wabiz-apt.log)"
    else
      die "apt-get install $* failed (see /tmp/wabiz-apt.log)"
    fi
  fi
}

ensure_compose() {
  if ! command -v docker-compose >/dev/null 2>&1; then
    say "installing Debian package docker-compose"
    apt_install docker-compose
  fi
}

if docker info >/dev/null 2>&1; then
  ensure_compose
  say "engine is up ($(docker version --format '{{.Server.Version}}' 2>/dev/null || echo '?'))"
  exit 0
fi

t0=$(date +%s)
missing=()
command -v dockerd >/dev/null 2>&1 || missing+=(docker.io)
command -v docker-compose >/dev/null 2>&1 || missing+=(docker-compose)
command -v iptables >/dev/null 2>&1 || missing+=(iptables)
if [ "${#missing[@]}" -gt 0 ]; then
  say "installing Debian packages: ${missing[*]}"
  apt_install "${missing[@]}"
fi
command -v dockerd >/dev/null 2>&1 || die "dockerd not found even after installing docker.io"

# The package's maintainer scripts may already have started the daemon: give it a moment first.
if ! docker info >/dev/null 2>&1; then
  pidfile=/var/run/docker.pid
  if [ -s "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; then
    say "dockerd (pid $(cat "$pidfile")) is running but does not answer yet; waiting"
  else
    [ "$(id -u)" = 0 ] || die "the Docker engine is not running and only root can start dockerd here"
    rm -f "$pidfile"
    mkdir -p "$(dirname "$log")"
    say "starting dockerd in the background (log: $log)"
    # Own session: the daemon must outlive this script and the suite that called it.
    setsid nohup dockerd >>"$log" 2>&1 </dev/null &
  fi
fi

deadline=$((SECONDS + timeout))
until docker info >/dev/null 2>&1; do
  if [ "$SECONDS" -ge "$deadline" ]; then
    echo "----- last lines of $log -----" >&2
    tail -n 30 "$log" >&2 2>/dev/null || true
    die "the Docker engine did not answer within ${timeout}s"
  fi
  sleep 0.5
done
say "engine is up ($(docker version --format '{{.Server.Version}}' 2>/dev/null || echo '?')) after $(( $(date +%s) - t0 ))s"
