package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/softnet/softnet/api"
	"github.com/softnet/softnet/internal/testenv"
)

// noAnswerCase is a command run against a router that does not answer:
// it must fail (exit 1) within [min, max] and print want, and nothing raw.
type noAnswerCase struct {
	args     string
	want     string
	min, max time.Duration
}

// runNoAnswer runs softnet args (the real command line) and checks it
// against c.
func runNoAnswer(t *testing.T, c noAnswerCase) {
	t.Helper()
	cmd := softnetCmd(c.args)
	var out syncBuffer
	cmd.Stdout, cmd.Stderr = &out, &out
	t0 := time.Now()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	var err error
	select {
	case err = <-done:
	case <-time.After(c.max + 10*time.Second):
		_ = cmd.Process.Kill()
		<-done
		t.Fatalf("softnet %s: still running after %v, want it to fail within %v\n%s", c.args, c.max+10*time.Second, c.max, out.String())
	}
	el := time.Since(t0)
	got := out.String()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 {
		t.Errorf("softnet %s: %v, want exit status 1\n%s", c.args, err, got)
	}
	if el < c.min || el > c.max {
		t.Errorf("softnet %s: failed after %v, want %v to %v\n%s", c.args, el.Round(time.Millisecond), c.min, c.max, got)
	}
	if !strings.Contains(got, c.want) {
		t.Errorf("softnet %s printed:\n%s\nwant:\n%s", c.args, got, c.want)
	}
	for _, raw := range []string{"context deadline exceeded", "context canceled", `"http://softnet`, "packets captured"} {
		if strings.Contains(got, raw) {
			t.Errorf("softnet %s printed %q:\n%s", c.args, raw, got)
		}
	}
}

// TestNoAnswer: against a router that accepts and never answers, the
// commands fail within a bound, saying what happened and what to do (the
// audit: capture -c 1 --timeout 1s ran until the socket closed; show
// interfaces and route add waited 2 minutes, then printed Go's `Get
// "http://softnet/v1/interfaces": context deadline exceeded`; trace 1
// --timeout 2s took 32 s). Real command line.
func TestNoAnswer(t *testing.T) {
	sock := testenv.SilentSocket(t, t.TempDir())
	tail := " (is it stopped, or busy loading a table?)"
	hint := "; give --wait (such as --wait 5m, 0: no limit) to wait longer\n"
	waited := func(d string) string {
		return "softnet: the router at " + sock + " did not answer within " + d + tail + hint
	}
	// A command that asks for a change: the router may make it later.
	changed := func(d string) string {
		return "softnet: the router at " + sock + " did not answer within " + d + tail + "; it may still make the change once it answers" + hint
	}
	file := filepath.Join(t.TempDir(), "list.txt")
	if err := os.WriteFile(file, []byte("192.0.2.1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cases := []noAnswerCase{
		{"show interfaces --wait 1s --api " + sock, waited("1s"), time.Second, 5 * time.Second},
		{"show routes 10.0.0.1 --wait 1500ms --api " + sock, waited("1.5s"), 1500 * time.Millisecond, 5 * time.Second},
		{"route add 198.51.100.0/24 blackhole --wait 1s --api " + sock, changed("1s"), time.Second, 5 * time.Second},
		{"neighbor del 10.0.2.3 dev wan0 --wait 1s --api " + sock, changed("1s"), time.Second, 5 * time.Second},
		{"vlan del eth0.100 --wait 1s --api " + sock, changed("1s"), time.Second, 5 * time.Second},
		{"reload --wait 1s --api " + sock, changed("1s"), time.Second, 5 * time.Second},
		{"config save - --wait 1s --api " + sock, waited("1s"), time.Second, 5 * time.Second},
		{"blocklist load x " + file + " --wait 1s --api " + sock, changed("1s"), time.Second, 5 * time.Second},
		{"table show --wait 1s --api " + sock, waited("1s"), time.Second, 5 * time.Second},
		// trace and capture end at --timeout and a 5 s grace.
		{"trace 1 --timeout 1s --api " + sock, "softnet: trace: the router at " + sock + " did not answer within 6s" + tail + "\n", 6 * time.Second, 10 * time.Second},
		{"capture -c 1 --timeout 1s --api " + sock, "softnet: capture: the router at " + sock + " did not answer within 6s" + tail + ": nothing captured\n", 6 * time.Second, 10 * time.Second},
	}
	if !testing.Short() {
		// The default waits: 30 s (show, route, ...); capture without
		// --timeout: 30 s of silence.
		cases = append(cases,
			noAnswerCase{"show interfaces --api " + sock, waited("30s"), 30 * time.Second, 36 * time.Second},
			noAnswerCase{"capture -c 1 --api " + sock, "softnet: capture: the router at " + sock + " did not answer within 30s" + tail + ": nothing captured\n", 30 * time.Second, 36 * time.Second})
	}
	for _, c := range cases {
		t.Run(strings.Join(strings.Fields(c.args)[:2], " "), func(t *testing.T) {
			t.Parallel()
			runNoAnswer(t, c)
		})
	}
}

// TestCaptureInterruptedNoAnswer: Ctrl-C on a capture the router never
// took says so and fails, instead of "0 packets captured" and exit 0
// (which stays the answer to Ctrl-C on a capture that ran, as tcpdump).
func TestCaptureInterruptedNoAnswer(t *testing.T) {
	sock := testenv.SilentSocket(t, t.TempDir())
	cmd := softnetCmd("capture -c 1 --api " + sock)
	var out syncBuffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	time.Sleep(time.Second)
	if err := cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	var err error
	select {
	case err = <-done:
	case <-time.After(10 * time.Second):
		_ = cmd.Process.Kill()
		<-done
		t.Fatalf("capture still running 10 s after Ctrl-C\n%s", out.String())
	}
	want := "softnet: capture: interrupted before the router at " + sock + " answered: nothing captured (is it stopped, or busy loading a table?)\n"
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 || out.String() != want {
		t.Errorf("capture, Ctrl-C: %v\n%s\nwant exit status 1 and:\n%s", err, out.String(), want)
	}
}

// TestStoppedRouter is the audit's case itself: softnet run stopped with
// kill -STOP. show, route add, trace and capture fail within their bounds
// saying so; once it is continued they work again. Real binary.
func TestStoppedRouter(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "r.yaml")
	y := "interfaces:\n  - {name: lan0, backend: mem, addresses: [10.0.1.1/24]}\n  - {name: wan0, backend: mem, addresses: [10.0.2.1/24]}\n"
	if err := os.WriteFile(cfg, []byte(y), 0o644); err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(dir, "sn.sock")
	router := softnetCmd("run -c " + cfg + " --api " + sock)
	var logs syncBuffer
	router.Stdout, router.Stderr = &logs, &logs
	if err := router.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- router.Wait() }()
	t.Cleanup(func() {
		_ = router.Process.Signal(syscall.SIGCONT)
		_ = router.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			_ = router.Process.Kill()
			<-done
			t.Errorf("softnet run: still running 20 s after SIGTERM\n%s", logs.String())
		}
	})
	c := api.NewClient(sock)
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		_, err := c.Status(ctx)
		cancel()
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("softnet run: API not up after 20 s: %v\n%s", err, logs.String())
		}
	}
	if err := router.Process.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	tail := " (is it stopped, or busy loading a table?)"
	for _, c := range []noAnswerCase{
		{"show interfaces --wait 2s --api " + sock, "softnet: the router at " + sock + " did not answer within 2s" + tail, 2 * time.Second, 6 * time.Second},
		{"route add 198.51.100.0/24 blackhole --wait 2s --api " + sock, "softnet: the router at " + sock + " did not answer within 2s" + tail + "; it may still make the change once it answers", 2 * time.Second, 6 * time.Second},
		{"trace 1 --timeout 1s --api " + sock, "softnet: trace: the router at " + sock + " did not answer within 6s" + tail, 6 * time.Second, 10 * time.Second},
		{"capture -c 1 --timeout 1s --api " + sock, "softnet: capture: the router at " + sock + " did not answer within 6s" + tail + ": nothing captured", 6 * time.Second, 10 * time.Second},
	} {
		runNoAnswer(t, c)
	}
	if err := router.Process.Signal(syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
	out, err := softnetCmd("show interfaces --wait 10s --api " + sock).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "lan0") {
		t.Errorf("show interfaces after SIGCONT: %v\n%s", err, out)
	}
	out, err = softnetCmd("capture --timeout 1s --api " + sock).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "0 packets captured") {
		t.Errorf("capture --timeout 1s after SIGCONT: %v\n%s", err, out)
	}
}
