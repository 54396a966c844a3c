package run

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// startIn runs Start(cfg) on a thread in network namespace ns (the
// thread is retired afterwards, so no other goroutine runs there).
func startIn(ns string, src string, dir string, t *testing.T) (*Router, error) {
	t.Helper()
	cfg := writeConfig(t, dir, src)
	type result struct {
		r   *Router
		err error
	}
	ch := make(chan result)
	go func() {
		runtime.LockOSThread()
		f, err := os.Open(filepath.Join("/run/netns", ns))
		if err == nil {
			err = unix.Setns(int(f.Fd()), unix.CLONE_NEWNET)
			f.Close()
		}
		if err != nil {
			ch <- result{nil, err}
			return
		}
		rt, err := Start(cfg, Options{})
		ch <- result{rt, err}
	}()
	res := <-ch
	return res.r, res.err
}

// TestTwoRoutersOneDevice (issue 17, defect 7): a second router on a
// device another router already uses is refused, with an error naming the
// device, the other process and what to do; once the first stops, a new
// one starts on it.
func TestTwoRoutersOneDevice(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		t.Skip("needs ip(8)")
	}
	ns := fmt.Sprintf("snlock%d", os.Getpid())
	if out, err := exec.Command("ip", "netns", "add", ns).CombinedOutput(); err != nil {
		t.Fatalf("ip netns add: %v: %s", err, out)
	}
	t.Cleanup(func() { exec.Command("ip", "netns", "del", ns).Run() })
	for _, c := range [][]string{
		{"-n", ns, "link", "add", "lk0", "type", "veth", "peer", "name", "lk1"},
		{"-n", ns, "link", "set", "lk0", "up"},
		{"-n", ns, "link", "set", "lk1", "up"},
	} {
		if out, err := exec.Command("ip", c...).CombinedOutput(); err != nil {
			t.Fatalf("ip %s: %v: %s", strings.Join(c, " "), err, out)
		}
	}
	const src = `workers: 1
interfaces:
  - name: lan0
    backend: afpacket
    device: lk0
    addresses: [10.0.1.1/24]
`
	dir := t.TempDir()
	first, err := startIn(ns, src, dir, t)
	if err != nil {
		t.Fatal(err)
	}
	defer first.Stop()

	second, err := startIn(ns, src, dir, t)
	if err == nil {
		second.Stop()
		t.Fatal("a second router on lk0 started: both would answer every packet (DUP! replies)")
	}
	msg := err.Error()
	t.Logf("second router: %s", msg)
	for _, want := range []string{"lk0", "already used by another softnet", fmt.Sprintf("pid %d", os.Getpid()), "stop that router first"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error %q does not say %q", msg, want)
		}
	}
	// The refusal changed nothing for the first router.
	if st := first.Status(); len(st) != 1 || !st[0].Up {
		t.Errorf("first router after the refusal: %+v", st)
	}

	if err := first.Stop(); err != nil {
		t.Fatal(err)
	}
	third, err := startIn(ns, src, dir, t)
	if err != nil {
		t.Fatalf("a router on lk0 after the first stopped: %v", err)
	}
	third.Stop()
}
