#!/usr/bin/env bash
# Forwards real traffic through softnet: installs the lab's tools
# (scripts/deps.sh), builds ./softnet and runs `softnet lab` as root:
# host A ─ softnet ─ host B in network namespaces, with ping, a TTL probe,
# iperf3 TCP/UDP and a trafgen 64-byte flood, then a summary.
#
#   bash scripts/lab.sh                  # as root
#   bash scripts/lab.sh --duration 5s    # flags go to `softnet lab`
#   bash scripts/lab.sh --keep           # leave the namespaces for debugging
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/deps.sh
CGO_ENABLED=0 go build -o ./softnet ./cmd/softnet
if [ "$(id -u)" -ne 0 ]; then
	exec sudo ./softnet lab "$@"
fi
exec ./softnet lab "$@"
