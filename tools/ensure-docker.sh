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
# Knobs: WABIZ_DOCKERD_LOG, WABIZ_DOCKER_TIMEOUT, WABIZ_DOCKERD_PIDFILE, WABIZ_DOCKERD_ARGS (extra dockerd
# arguments); the client side follows DOCKER_HOST as usual.
set -euo pipefail

log=${WABIZ_DOCKERD_LOG:-/var/log/wabiz-dockerd.log}
timeout=${WABIZ_DOCKER_TIMEOUT:-60}
pidfile=${WABIZ_DOCKERD_PIDFILE:-/var/run/docker.pid}
# Extra dockerd arguments, split on white space (e.g. "--data-root /srv/docker"). Careful when trying a second
# daemon beside a running one: dockerd started with "--bridge none" deletes the host's docker0 bridge.
read -r -a dockerd_args <<<"${WABIZ_DOCKERD_ARGS:-}"
apt_log=/tmp/wabiz-apt.log

say() { echo "ensure-docker: $*"; }
die() { echo "ensure-docker: ERROR: $*" >&2; exit 1; }

apt_updated=0
apt_install() {
  # apt_install PACKAGE...: install Debian packages, refreshing the package lists once if needed.
  # The exit status is not trusted alone (a maintainer script may fail to start a service in a container
  # without an init system while the binaries are installed fine): callers check for the binaries.
  [ "$(id -u)" = 0 ] || die "need root to install $* (run as root or install them first)"
  export DEBIAN_FRONTEND=noninteractive
  if apt-get install -y -q --no-install-recommends "$@" >>"$apt_log" 2>&1; then
    return 0
  fi
  if [ "$apt_updated" = 0 ]; then
    apt_updated=1
    say "apt-get update"
    apt-get update -q >>"$apt_log" 2>&1 || die "apt-get update failed (see $apt_log)"
    apt-get install -y -q --no-install-recommends "$@" >>"$apt_log" 2>&1 && return 0
  fi
  say "WARNING: apt-get install $* reported an error (see $apt_log); checking what got installed"
}

ensure_compose() {
  if ! command -v docker-compose >/dev/null 2>&1; then
    say "installing Debian package docker-compose"
    apt_install docker-compose
    command -v docker-compose >/dev/null 2>&1 || die "docker-compose is missing and could not be installed (see $apt_log)"
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
command -v dockerd >/dev/null 2>&1 || die "dockerd not found even after installing docker.io (see $apt_log)"
command -v docker >/dev/null 2>&1 || die "the docker client is missing even after installing docker.io (see $apt_log)"
command -v docker-compose >/dev/null 2>&1 || die "docker-compose is missing and could not be installed (see $apt_log)"

# The package's maintainer scripts may already have started the daemon: give it a moment first.
started_pid=
if ! docker info >/dev/null 2>&1; then
  if [ -s "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; then
    say "dockerd (pid $(cat "$pidfile")) is running but does not answer yet; waiting"
  else
    [ "$(id -u)" = 0 ] || die "the Docker engine is not running and only root can start dockerd here"
    rm -f "$pidfile"
    mkdir -p "$(dirname "$log")"
    say "starting dockerd in the background (log: $log)"
    # Own session: the daemon must outlive this script and the suite that called it.
    setsid nohup dockerd --pidfile "$pidfile" "${dockerd_args[@]}" >>"$log" 2>&1 </dev/null &
    started_pid=$!
  fi
fi

deadline=$((SECONDS + timeout))
until docker info >/dev/null 2>&1; do
  if [ -n "$started_pid" ] && ! kill -0 "$started_pid" 2>/dev/null; then
    echo "----- last lines of $log -----" >&2
    tail -n 30 "$log" >&2 2>/dev/null || true
    die "dockerd exited during start-up"
  fi
  if [ "$SECONDS" -ge "$deadline" ]; then
    echo "----- last lines of $log -----" >&2
    tail -n 30 "$log" >&2 2>/dev/null || true
    die "the Docker engine did not answer within ${timeout}s"
  fi
  sleep 0.5
done
say "engine is up ($(docker version --format '{{.Server.Version}}' 2>/dev/null || echo '?')) after $(( $(date +%s) - t0 ))s"
