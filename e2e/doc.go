// Package e2e holds softnet's end-to-end tests: the softnet binary, built
// once per test run, forwards real traffic between network namespaces
// (package lab) and is checked with real tools: ping, iperf3, trafgen and
// ip neigh.
//
// The tests need root; without it they skip. A missing tool fails the
// test with the Debian package to install (scripts/deps.sh installs them
// all). Every namespace is removed in t.Cleanup.
package e2e
