#!/usr/bin/env bash
# Runs every check softnet has: formatting, vet, the unit/integration/golden
# tests, the race detector on the concurrent packages, a short run of every
# fuzz target, and the tests of the separate bench/peers module.
#
#   bash scripts/test.sh                # everything (what CI runs)
#   FUZZTIME=500000x bash scripts/test.sh   # every target, FuzzBridge, FuzzFastPath and FuzzTable6 too (20000x by default)
#
# It installs what the tests need first (scripts/deps.sh), so it works on a
# fresh Debian machine with Go. Exits non-zero on the first failure.
set -euo pipefail
cd "$(dirname "$0")/.."

# Fuzz budgets are execution counts, not durations: with a duration, Go
# 1.26's fuzz coordinator can report a spurious "context deadline
# exceeded" failure when time runs out under CPU contention (golang/go#75804,
# fixed in Go 1.27). 100000 executions take 3-25 s per target here.
FUZZTIME_SET=${FUZZTIME:-}
FUZZTIME=${FUZZTIME:-100000x}
export CGO_ENABLED=${CGO_ENABLED:-0}

step() { printf '\n== %s ==\n' "$*"; }

bash scripts/deps.sh

step "build (CGO_ENABLED=$CGO_ENABLED)"
go build ./...
# Linux on other word sizes and architectures: a constant that only fits
# in 64 bits, or a struct field typed per architecture, fails here.
for arch in 386 arm64; do
	GOARCH=$arch go build ./... || { echo "build: GOARCH=$arch go build ./... failed"; exit 1; }
done

step "gofmt"
unformatted=$(find . -name '*.go' -not -path './.git/*' -print0 | xargs -0 gofmt -l)
if [ -n "$unformatted" ]; then
	echo "gofmt: these files need formatting (run gofmt -w):"
	echo "$unformatted"
	exit 1
fi

step "go vet"
go vet ./...

step "go mod tidy"
# Both modules' go.mod and go.sum must be what go mod tidy writes: a
# missing line fails a later step (bench/peers did once) or a user's build.
for m in . bench/peers; do
	if ! (cd "$m" && go mod tidy -diff); then
		echo "go mod tidy: $m/go.mod or go.sum is not tidy: run (cd $m && go mod tidy) and commit the result"
		exit 1
	fi
done

step "go test"
# The end-to-end tests run alone, after the others: they measure real
# traffic through namespaces, and the other packages' tests running at the
# same time on a 2-core machine would starve the router under test.
# -timeout: go test's default of 10 minutes per package binary is too short
# for the slowest packages (fib's full-table tests) on a loaded 2-core box.
go test -count=1 -timeout 30m $(go list ./... | grep -v '/e2e$')

step "go test ./e2e (alone)"
# The BGP test (bird2 and gobgpd exchanging 100k prefixes) alone takes
# minutes: the whole e2e package needs more than the default 10.
go test -count=1 -timeout 45m ./e2e

step "go test -race (concurrent packages)"
# The race detector needs cgo.
CGO_ENABLED=1 go test -count=1 -race -short ./pkt/... ./dp/... ./control/... ./neigh/... ./fib/... ./port/... ./api/... ./run/... ./logs/...

step "fuzz ($FUZZTIME per target)"
for pkg in $(go list ./...); do
	for target in $(go test -list '^Fuzz' "$pkg" | grep '^Fuzz' || true); do
		echo "-- $pkg $target"
		budget=$FUZZTIME
		if [ "$target" = FuzzBridge ] && [ -z "${FUZZTIME_SET:-}" ]; then
			# Builds a whole router (a 32 MiB FIB cleared) per input:
			# 100000 inputs took 160-600 s here. A fifth of the budget.
			budget=20000x
		fi
		if [ "$target" = FuzzTable6 ] && [ -z "${FUZZTIME_SET:-}" ]; then
			# Runs up to 200 adds and deletes on a fresh IPv6 table (a
			# 384 KiB root) per input, each checked against bart:
			# 100000 inputs took 160 s here. A fifth of the budget.
			budget=20000x
		fi
		if [ "$target" = FuzzFastPath ] && [ -z "${FUZZTIME_SET:-}" ]; then
			# Runs each input through two routers, and builds a fresh
			# pair for bridge inputs and inputs that reach the control
			# plane: 20000 inputs took 90 s here. A fifth too.
			budget=20000x
		fi
		if [ "$target" = FuzzParse ] && [ "$pkg" = github.com/softnet/softnet/dp/edrop/blocklist ] && [ -z "${FUZZTIME_SET:-}" ]; then
			# The early-drop list parser: each input with an IPv4 entry
			# builds a table with its 16 MiB verdict array. A fifth too.
			budget=20000x
		fi
		# -timeout: go test's default of 10 minutes is a test's; a fuzz
		# run's length is its budget.
		go test -run '^$' -fuzz "^${target}\$" -fuzztime "$budget" -timeout 30m "$pkg"
	done
done

step "bench/peers (separate module)"
(cd bench/peers && go vet ./... && go test -count=1 ./...)

echo
echo "all checks passed"
