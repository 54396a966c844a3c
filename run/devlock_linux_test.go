package run

import (
	"bufio"
	"bytes"
	"fmt"
	"github.com/softnet/softnet/internal/testenv"
	"log/slog"
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
func startIn(ns string, src string, dir string, t *testing.T, o ...Options) (*Router, error) {
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
		var opt Options
		if len(o) > 0 {
			opt = o[0]
		}
		rt, err := Start(cfg, opt)
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
	testenv.Root(t)
	testenv.Tools(t, "ip")
	ns := vethNS(t, "snlock", "lk0", "lk1")
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

// TestForeignPacketSocketWarned: a program that is not softnet holding the
// device with its own AF_PACKET socket (here tcpdump; it could be another
// router) cannot be refused, but Start warns about it, naming the device;
// with no such program there is no warning.
func TestForeignPacketSocketWarned(t *testing.T) {
	testenv.Root(t)
	testenv.Tools(t, "ip", "tcpdump")
	ns := vethNS(t, "snfrgn", "fg0", "fg1")
	const src = `workers: 1
interfaces:
  - name: lan0
    backend: afpacket
    device: fg0
    addresses: [10.0.1.1/24]
`
	start := func() string {
		t.Helper()
		var buf bytes.Buffer
		rt, err := startIn(ns, src, t.TempDir(), t, Options{Logger: slog.New(slog.NewTextHandler(&buf, nil))})
		if err != nil {
			t.Fatal(err)
		}
		rt.Stop()
		return buf.String()
	}
	if log := start(); strings.Contains(log, "AF_PACKET sockets") {
		t.Fatalf("warning with no other program on fg0:\n%s", log)
	}

	cmd := exec.Command("ip", "netns", "exec", ns, "tcpdump", "-n", "-i", "fg0")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	// tcpdump says "listening on fg0, ..." once its socket is bound.
	rd := bufio.NewReader(stderr)
	for {
		line, err := rd.ReadString('\n')
		if err != nil {
			t.Fatalf("tcpdump: %v", err)
		}
		if strings.Contains(line, "listening on") {
			break
		}
	}
	log := start()
	t.Logf("log: %s", log)
	if !strings.Contains(log, "AF_PACKET sockets") || !strings.Contains(log, "device=fg0") {
		t.Errorf("no warning about tcpdump's AF_PACKET socket on fg0:\n%s", log)
	}
}

// vethNS makes a network namespace (prefix and the pid), removed when the
// test ends, with a veth pair a-b in it, both up, and returns its name.
func vethNS(t *testing.T, prefix, a, b string) string {
	t.Helper()
	ns := fmt.Sprintf("%s%d", prefix, os.Getpid())
	if out, err := exec.Command("ip", "netns", "add", ns).CombinedOutput(); err != nil {
		t.Fatalf("ip netns add: %v: %s", err, out)
	}
	t.Cleanup(func() { exec.Command("ip", "netns", "del", ns).Run() })
	for _, c := range [][]string{
		{"-n", ns, "link", "add", a, "type", "veth", "peer", "name", b},
		{"-n", ns, "link", "set", a, "up"},
		{"-n", ns, "link", "set", b, "up"},
	} {
		if out, err := exec.Command("ip", c...).CombinedOutput(); err != nil {
			t.Fatalf("ip %s: %v: %s", strings.Join(c, " "), err, out)
		}
	}
	return ns
}
