#!/usr/bin/env bash
# Installs the Debian packages the tests run for real when missing: the openssl CLI, etcd (server and
# etcdctl), Prometheus (`prometheus` server and `promtool`, for the scrape, metrics and rule tests),
# systemd's `systemd-analyze` (checks the units in deploy/systemd) and haproxy (the fleet test runs
# deploy/haproxy/haproxy.cfg in front of two servers).
set -euo pipefail
need=()
command -v openssl >/dev/null 2>&1 || need+=(openssl)
command -v etcd >/dev/null 2>&1 || need+=(etcd-server)
command -v etcdctl >/dev/null 2>&1 || need+=(etcd-client)
{ command -v prometheus && command -v promtool; } >/dev/null 2>&1 || need+=(prometheus)
command -v systemd-analyze >/dev/null 2>&1 || need+=(systemd)
command -v haproxy >/dev/null 2>&1 || need+=(haproxy)
[ ${#need[@]} -eq 0 ] && exit 0
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
echo "installing Debian packages: ${need[*]}" >&2
$SUDO apt-get update -qq
# no recommends: Prometheus would pull in the node exporter and its web assets, which no test uses
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
