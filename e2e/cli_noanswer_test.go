package e2e

import (
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/softnet/softnet/internal/testenv"
)

// TestCLINoAnswer runs the real binary against a router that does not
// answer, as the audit did: softnet run stopped with kill -STOP, and a
// socket that accepts connections and never reads them. Each command
// fails (exit 1) within its bound, saying the router did not answer and
// what to check, never Go's raw `Get "http://softnet/...": context
// deadline exceeded`: --wait (30 s by default) bounds show, route and the
// others; trace and capture end at --timeout and 5 s for the router's
// answer. Before: capture -c 1 --timeout 1s ran until the socket closed
// (169 s), show interfaces and route add took 2 minutes, trace 1 --timeout
// 2s 32 s. Once continued, the router answers again.
func TestCLINoAnswer(t *testing.T) {
	need(t)
	tail := " (is it stopped, or busy loading a table?)"
	hint := "; give --wait (such as --wait 5m, 0: no limit) to wait longer"
	change := "; it may still make the change once it answers" // a command that asks for one
	type tc struct {
		args     []string
		want     string
		min, max time.Duration
	}
	check := func(t *testing.T, dir, sock string, c tc) {
		t.Helper()
		t0 := time.Now()
		res := softnet(t, dir, sock, c.max+20*time.Second, c.args...)
		el := time.Since(t0)
		if res.Code != 1 || !strings.Contains(res.Err, c.want) || el < c.min || el > c.max {
			t.Errorf("softnet %s: after %v, want exit 1 within %v to %v printing %q; got %s", strings.Join(c.args, " "), el.Round(time.Millisecond), c.min, c.max, c.want, res)
		}
		for _, raw := range []string{"context deadline exceeded", `"http://softnet`, "packets captured"} {
			if strings.Contains(res.Out+res.Err, raw) {
				t.Errorf("softnet %s printed %q: %s", strings.Join(c.args, " "), raw, res)
			}
		}
	}
	cases := func(sock string) []tc {
		did := "softnet: the router at " + sock + " did not answer within "
		return []tc{
			{[]string{"show", "interfaces", "--wait", "2s"}, did + "2s" + tail + hint, 2 * time.Second, 8 * time.Second},
			{[]string{"route", "add", "198.51.100.0/24", "blackhole", "--wait", "2s"}, did + "2s" + tail + change + hint, 2 * time.Second, 8 * time.Second},
			{[]string{"reload", "--wait", "2s"}, did + "2s" + tail + change + hint, 2 * time.Second, 8 * time.Second},
			{[]string{"trace", "1", "--timeout", "2s"}, "softnet: trace: the router at " + sock + " did not answer within 7s" + tail, 7 * time.Second, 12 * time.Second},
			{[]string{"capture", "-c", "1", "--timeout", "1s"}, "softnet: capture: the router at " + sock + " did not answer within 6s" + tail + ": nothing captured", 6 * time.Second, 11 * time.Second},
		}
	}

	t.Run("silent-socket", func(t *testing.T) {
		dir := t.TempDir()
		sock := testenv.SilentSocket(t, dir)
		for _, c := range cases(sock) {
			check(t, dir, sock, c)
		}
		// The default wait: 30 s.
		if !testing.Short() {
			check(t, dir, sock, tc{[]string{"show", "interfaces"}, "softnet: the router at " + sock + " did not answer within 30s" + tail + hint, 30 * time.Second, 38 * time.Second})
		}
	})

	t.Run("stopped-router", func(t *testing.T) {
		dir := copyExample(t, "operate-mem.yaml")
		r := startCLIRouter(t, dir, "operate-mem.yaml", "")
		if err := r.cmd.Process.Signal(syscall.SIGSTOP); err != nil {
			t.Fatal(err)
		}
		cont := func() { r.cmd.Process.Signal(syscall.SIGCONT) }
		t.Cleanup(cont) // before startCLIRouter's SIGTERM
		for _, c := range cases(r.Sock) {
			check(t, dir, r.Sock, c)
		}
		cont()
		if out := r.ok(t, "show", "interfaces", "--wait", "20s"); !strings.Contains(out, "lan0") {
			t.Errorf("show interfaces after SIGCONT: %s", out)
		}
		res := r.cli(t, "capture", "-c", "1", "--timeout", "1s")
		if res.Code != 0 || !strings.Contains(res.Err, "packets captured") {
			t.Errorf("capture --timeout 1s after SIGCONT: %s", res)
		}
	})
}
