#!/usr/bin/env bash
# Make a Docker engine available for the container tests, or say in one line why not.
#
# Uses an engine that already answers `docker info`. Otherwise, only as root on Debian:
# installs docker.io from the Debian mirror (no image registry is needed) and starts
# dockerd in the background with its own log. The container backend uses host networking
# only, so dockerd runs with --iptables=false --bridge=none: it creates no bridge and
# touches no firewall rules. It is left running for later runs (like a system service).
# Never fails: without an engine the container tests skip, naming this script's reason.
set -uo pipefail

LOG=/var/log/dapr-chaos-dockerd.log
APT_LOG=/var/log/dapr-chaos-apt.log
SOCK=unix:///var/run/docker.sock

engine_up() { docker info >/dev/null 2>&1; }

if command -v docker >/dev/null && engine_up; then
    echo "docker-engine: using the running engine"
    exit 0
fi
if [ "$(id -u)" != 0 ]; then
    echo "docker-engine: no running Docker engine and not root: container tests will skip"
    exit 0
fi
if [ ! -f /etc/debian_version ]; then
    echo "docker-engine: no running Docker engine and not Debian: container tests will skip"
    exit 0
fi
if ! command -v dockerd >/dev/null; then
    echo "docker-engine: installing docker.io from the Debian mirror"
    if ! DEBIAN_FRONTEND=noninteractive apt-get install -y -q docker.io >$APT_LOG 2>&1; then
        apt-get update -q >$APT_LOG 2>&1
        if ! DEBIAN_FRONTEND=noninteractive apt-get install -y -q docker.io >>$APT_LOG 2>&1; then
            echo "docker-engine: apt-get install docker.io failed (see $APT_LOG): container tests will skip"
            exit 0
        fi
    fi
fi
# A dockerd that died leaves its pid file, and a new one refuses to start over it.
if [ -f /var/run/docker.pid ] && ! kill -0 "$(cat /var/run/docker.pid)" 2>/dev/null; then
    rm -f /var/run/docker.pid
fi
echo "docker-engine: starting dockerd (log: $LOG)"
# Its own session: a Ctrl-C on `make test` must not reach the engine. No descriptor of
# ours beyond stdio either: a lock the caller holds (`flock LOCK make test`) must end with
# the caller, not live as long as the engine.
(
    for fd in $(ls /proc/$BASHPID/fd); do
        [ "$fd" -gt 2 ] && eval "exec $fd>&-" 2>/dev/null
    done
    exec setsid nohup dockerd --host "$SOCK" --iptables=false --ip6tables=false --bridge=none \
        >"$LOG" 2>&1 </dev/null
) &
for _ in $(seq 1 60); do
    if engine_up; then
        echo "docker-engine: dockerd is up"
        exit 0
    fi
    sleep 1
done
echo "docker-engine: dockerd did not answer within 60 s (see $LOG): container tests will skip"
exit 0
