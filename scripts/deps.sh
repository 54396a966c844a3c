#!/usr/bin/env bash
# Installs what softnet's commands and tests need on Debian, if missing.
# Safe to run again: it installs only what is absent.
set -euo pipefail

need=()
# gcc is needed by the race detector (cgo).
command -v gcc >/dev/null 2>&1 || need+=(gcc)
command -v git >/dev/null 2>&1 || need+=(git)

if [ ${#need[@]} -gt 0 ]; then
	if [ "$(id -u)" -ne 0 ]; then
		echo "deps: missing ${need[*]}; run as root or: sudo apt-get install -y ${need[*]}" >&2
		exit 1
	fi
	echo "deps: installing ${need[*]}"
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}"
fi
command -v go >/dev/null 2>&1 || { echo "deps: Go is not on PATH (install Go 1.26 or newer)" >&2; exit 1; }
