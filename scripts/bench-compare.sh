#!/usr/bin/env bash
# Measures softnet at a base revision next to the working tree, in one run:
# builds both binaries, runs their `softnet bench --json` alternately
# (old first in odd rounds, new first in even ones), prints one JSON line
# per run and then, per figure (Mpps, GC share, ratios, RTTs), each
# binary's median over the rounds and the ratio new/old. The runs and the
# summary are bench/compare's (go doc ./bench/compare).
#
#   bash scripts/bench-compare.sh [-n ROUNDS] [BASE_REV] [-- BENCH ARGS...]
#
#   bash scripts/bench-compare.sh                              # ip4-forward, merge-base vs working tree, 3 rounds
#   bash scripts/bench-compare.sh b5d5491 -- --duration 2s
#   bash scripts/bench-compare.sh -n 5 main -- --scenario ip4-forward,ip4-forward-vlan
#   bash scripts/bench-compare.sh -- --workers 1,2
#
# BASE_REV defaults to the merge-base of HEAD with origin/main (main when
# there is no origin/main): on a branch, the commit it started from, so
# the comparison is "my branch against the engine it replaces". When that
# is HEAD itself and the working tree has no changes (a clean main), it is
# HEAD~1, the previous commit.
#
# The base is taken with `git archive` into a temporary directory (no
# worktree or checkout is touched) and removed on exit, Ctrl-C included.
# "new" is the working tree as it is, uncommitted changes included.
# BENCH_COMPARE_DRY_RUN=1 prints what would be built and run, and stops.
set -euo pipefail
cd "$(dirname "$0")/.."

die() {
	echo "bench-compare: $*" >&2
	exit 2
}

usage() {
	sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0"
}

rounds=3
base=""
while [ $# -gt 0 ]; do
	case "$1" in
	-h | --help)
		usage
		exit 0
		;;
	-n | --rounds)
		[ $# -ge 2 ] || die "$1 needs a number of rounds, e.g. $1 3"
		rounds=$2
		shift 2
		;;
	--rounds=*)
		rounds=${1#*=}
		shift
		;;
	--)
		shift
		break
		;;
	-*)
		die "unknown option $1: the options are -n ROUNDS and --help; softnet bench's arguments go after --, e.g. -- $1"
		;;
	*)
		[ -z "$base" ] || die "two base revisions, $base and $1: give one; softnet bench's arguments go after --, e.g. -- --scenario $1"
		base=$1
		shift
		;;
	esac
done
if ! [[ $rounds =~ ^[0-9]+$ ]] || [ "$rounds" -lt 1 ] || [ "$rounds" -gt 100 ]; then
	die "-n $rounds: give a number of rounds from 1 to 100"
fi

git rev-parse --git-dir >/dev/null 2>&1 || die "$(pwd) is not a git repository: run the script from a clone of softnet"
head=$(git rev-parse -q --verify 'HEAD^{commit}') || die "the repository has no commit yet: nothing to compare with"
dirty=""
if [ -n "$(git status --porcelain)" ]; then
	dirty="+changes" # uncommitted or new files (not ignored ones)
fi
if [ -z "$base" ]; then
	up=origin/main
	git rev-parse -q --verify "$up^{commit}" >/dev/null || up=main
	if git rev-parse -q --verify "$up^{commit}" >/dev/null; then
		base=$(git merge-base HEAD "$up") || base=""
	fi
	if [ -z "$base" ] || { [ "$base" = "$head" ] && [ -z "$dirty" ]; }; then
		base=HEAD~1
	fi
fi
rev=$(git rev-parse -q --verify "$base^{commit}") ||
	die "base revision $base is not a commit of this repository: give a commit, branch or tag (git log --oneline)"
old_label=$(git rev-parse --short "$rev")
new_label="$(git rev-parse --short HEAD)$dirty"
if [ "$old_label" = "$new_label" ]; then
	new_label="$new_label (working tree)"
fi

if [ -n "${BENCH_COMPARE_DRY_RUN:-}" ]; then
	echo "base $rev ($old_label)"
	echo "new working tree at $head ($new_label)"
	echo "rounds $rounds"
	echo "bench args: $*"
	exit 0
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/bench-compare.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
trap 'exit 130' INT TERM

echo "building softnet at $old_label (old) and the working tree, $new_label (new), in $tmp" >&2
mkdir "$tmp/old"
git archive --format=tar "$rev" | tar -x -C "$tmp/old"
(cd "$tmp/old" && go build -o "$tmp/softnet-old" ./cmd/softnet) ||
	die "building $old_label failed (above); a revision whose cmd/softnet does not build cannot be measured"
go build -o "$tmp/softnet-new" ./cmd/softnet || die "building the working tree failed (above)"
go build -o "$tmp/compare" ./bench/compare

"$tmp/compare" --old "$tmp/softnet-old" --new "$tmp/softnet-new" \
	--old-label "$old_label" --new-label "$new_label" --rounds "$rounds" -- "$@"
