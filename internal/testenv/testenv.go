// Package testenv says what a test does when a prerequisite is missing
// (root, a tool such as ip(8) or tcpdump, /dev/net/tun): on a developer's
// machine it skips, saying what to install or how to run it; under CI=true
// it fails, because CI runs as root with every tool installed
// (scripts/deps.sh) and a skipped end-to-end test there would hide a
// broken set-up as a pass.
//
// Test support only: never on the hot path, imported by _test.go files.
package testenv

import (
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/softnet/softnet/internal/ptrfree"
)

// CI reports whether the tests run under CI (CI=true).
func CI() bool { return os.Getenv("CI") == "true" }

// Need skips t (fails it under CI=true) with why unless ok.
func Need(t testing.TB, ok bool, why string) {
	t.Helper()
	if ok {
		return
	}
	if CI() {
		t.Fatalf("missing prerequisite under CI=true: %s", why)
	}
	t.Skip(why)
}

// Root needs root: namespaces, veths, AF_PACKET and TAP need it.
func Root(t testing.TB) {
	t.Helper()
	Need(t, os.Geteuid() == 0, "needs root: the test creates network namespaces, veths, AF_PACKET sockets or TAP devices (run `go test` as root)")
}

// Tools needs each program on $PATH.
func Tools(t testing.TB, tools ...string) {
	t.Helper()
	for _, tool := range tools {
		_, err := exec.LookPath(tool)
		Need(t, err == nil, "needs "+tool+" on $PATH (bash scripts/deps.sh installs it)")
	}
}

// TUN needs /dev/net/tun.
func TUN(t testing.TB) {
	t.Helper()
	_, err := os.Stat("/dev/net/tun")
	Need(t, err == nil, "needs /dev/net/tun (modprobe tun)")
}

// HasPointers reports whether a value of type t holds a pointer the
// garbage collector would scan (ptrfree.HasPointers).
func HasPointers(t reflect.Type) bool { return ptrfree.HasPointers(t) }

// SilentSocket listens on the Unix socket dir/sn.sock and never accepts:
// the kernel queues each connection and nothing answers, as with a router
// stopped by kill -STOP or too busy to answer. The listener closes when
// the test ends. It returns the socket's path.
func SilentSocket(t testing.TB, dir string) string {
	t.Helper()
	sock := filepath.Join(dir, "sn.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return sock
}
