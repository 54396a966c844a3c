#!/usr/bin/env bash
# Installs what softnet's commands and tests need on Debian, if missing.
# Safe to run again: it installs only what is absent, and prints nothing
# when everything is present.
#
# The network lab (`softnet lab`, `softnet bench --scenario veth`) and the
# end-to-end tests (go test ./e2e) use iproute2 (ip), iputils-ping (ping),
# iperf3, netsniff-ng (trafgen), tcpdump, ethtool and traceroute (traceroute -6
# in TestIPv6; the modern traceroute package, not inetutils-traceroute).
# The linux_cp end-to-end test (TestHostIfBGP) runs BIRD (bird2) in the
# host interfaces' namespace and GoBGP (gobgpd) in two neighbours'.
set -euo pipefail

need=()
# want CMD PACKAGE: queue PACKAGE when CMD is not on PATH.
want() { command -v "$1" >/dev/null 2>&1 || PATH="$PATH:/usr/sbin:/sbin" command -v "$1" >/dev/null 2>&1 || need+=("$2"); }

# gcc and the C library headers are needed by the race detector (cgo);
# Debian's gcc only recommends libc6-dev, which --no-install-recommends
# would skip.
want gcc gcc
[ -e /usr/include/stdlib.h ] || need+=(libc6-dev)
want git git
want ip iproute2
want ping iputils-ping
want iperf3 iperf3
want trafgen netsniff-ng
want tcpdump tcpdump
want ethtool ethtool
want taskset util-linux
want traceroute traceroute
want bird bird2
want gobgpd gobgpd

if [ ${#need[@]} -gt 0 ]; then
	if [ "$(id -u)" -ne 0 ]; then
		echo "deps: missing ${need[*]}; run as root or: sudo apt-get install -y ${need[*]}" >&2
		exit 1
	fi
	echo "deps: installing ${need[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq >/dev/null
	# iperf3's postinst asks whether to start a daemon; answer no.
	echo "iperf3 iperf3/start_daemon boolean false" | debconf-set-selections 2>/dev/null || true
	apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
command -v go >/dev/null 2>&1 || { echo "deps: Go is not on PATH (install Go 1.26 or newer)" >&2; exit 1; }
