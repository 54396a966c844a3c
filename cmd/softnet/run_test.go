package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/softnet/softnet/api"
	"github.com/softnet/softnet/config"
	"github.com/softnet/softnet/control"
	"github.com/softnet/softnet/dp"
	"github.com/softnet/softnet/dp/ip4"
	"github.com/softnet/softnet/logs"
	"github.com/softnet/softnet/run"
)

// badWant are softnet check's messages for examples/bad.yaml, one per
// mistake, in file order. If you edit bad.yaml, update them.
var badWant = []string{
	`../../examples/bad.yaml:4:10: workers: 0 is out of range: use 1..64`,
	`../../examples/bad.yaml:8:13: interfaces[0].device: no network device "nosuchdev0" on this host (see ip link; create it, e.g. ip link add nosuchdev0 type veth peer name nosuchdev0-peer, or fix the name)`,
	`../../examples/bad.yaml:12:9: interfaces[1].rx: cannot read ../../examples/missing.pcap: no such file or directory (paths are relative to the config file's directory)`,
	`../../examples/bad.yaml:13:10: interfaces[1].mac: 03:00:00:00:00:01 is not a unicast MAC address: the first byte must be even and the address not all zeros (e.g. 02:00:00:00:00:01)`,
	`../../examples/bad.yaml:15:9: interfaces[1].addresses[0]: "10.0.2.300/24" is not an IPv4 prefix (write it as A.B.C.D/N, e.g. 192.0.2.1/24)`,
	`../../examples/bad.yaml:16:5: interfaces[2].device: missing: the tap backend needs the Linux device to use, e.g. device: tap0`,
	`../../examples/bad.yaml:16:11: interfaces[2].name: "lan0" is already the name of interfaces[0] (line 6): names must be unique`,
	`../../examples/bad.yaml:18:5: interfaces[2]: unknown field "devce": did you mean "device"? known fields are name, backend, device, rx, tx, loop, rate, limit, mac, mtu, addresses, down, stack_drop, router_advertisements, parent, vlan, outer_vlan, tpid, bridge`,
	`../../examples/bad.yaml:19:10: interfaces[2].mtu: 10000 is out of range: use 68..9258`,
	`../../examples/bad.yaml:21:14: interfaces[3].backend: unknown backend "vxlan": choose one of afpacket, afxdp, tap, pcap, mem`,
	`../../examples/bad.yaml:22:17: interfaces[3].addresses[0]: 10.0.1.7/24 overlaps 10.0.1.1/24 of lan0 (line 9): each interface needs its own subnet`,
	`../../examples/bad.yaml:24:34: routes[0].via: 192.0.2.2 is on no interface's subnet (lan0 10.0.1.0/24, dmz0 10.0.1.0/24) (some interface addresses are invalid: fix them first): add an address on its subnet to an interface, or fix the next hop`,
	`../../examples/bad.yaml:25:14: routes[1].prefix: "203.0.113.1/24" has host bits set: write 203.0.113.0/24`,
	`../../examples/bad.yaml:26:5: routes[2]: needs a next hop (via: A.B.C.D) or blackhole: true`,
	`../../examples/bad.yaml:28:17: neighbors[0].interface: no interface is named "dmz9" (interfaces: lan0, wan0, dmz0)`,
	`../../examples/bad.yaml:29:47: neighbors[1].mac: "02-bb-00-00-00" is not a MAC address (write six hex bytes, e.g. 02:00:00:00:00:01)`,
	`../../examples/bad.yaml:30:14: icmp.rate: "fast" is not a whole number (write e.g. 1000)`,
}

func runCheck(t *testing.T, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	cmd := checkCmd()
	var o, e bytes.Buffer
	cmd.SetOut(&o)
	cmd.SetErr(&e)
	cmd.SetArgs(args)
	cmd.SilenceUsage = true
	cmd.SilenceErrors = true
	err = cmd.Execute()
	return o.String(), e.String(), err
}

func TestCheckBad(t *testing.T) {
	stdout, stderr, err := runCheck(t, "-c", "../../examples/bad.yaml")
	if err == nil || err.Error() != "../../examples/bad.yaml: 17 errors" {
		t.Errorf("error %v", err)
	}
	if stdout != "" {
		t.Errorf("stdout %q", stdout)
	}
	got := strings.Split(strings.TrimSuffix(stderr, "\n"), "\n")
	for i := range max(len(got), len(badWant)) {
		var g, w string
		if i < len(got) {
			g = got[i]
		}
		if i < len(badWant) {
			w = badWant[i]
		}
		if g != w {
			t.Errorf("line %d:\n got %s\nwant %s", i+1, g, w)
		}
	}
}

func TestCheckOK(t *testing.T) {
	cases := map[string]string{
		"../../examples/two-port-mem.yaml": "../../examples/two-port-mem.yaml: ok (2 interfaces, 2 routes, 2 neighbors, 1 worker)\n",
		"../../examples/full-table.yaml":   "../../examples/full-table.yaml: ok (2 interfaces, 1 route, 1 route file (901899 prefixes), 1 neighbor, 1 worker)\n",
	}
	for file, want := range cases {
		if testing.Short() && strings.Contains(file, "full-table") {
			continue
		}
		stdout, stderr, err := runCheck(t, "-c", file)
		if err != nil || stdout != want || stderr != "" {
			t.Errorf("%s: err %v stdout %q stderr %q", file, err, stdout, stderr)
		}
	}
	// veth-router.yaml is valid but needs its devices: ok only where
	// they exist (the lab), otherwise exactly the two device errors.
	_, stderr, err := runCheck(t, "-c", "../../examples/veth-router.yaml")
	if err != nil && (strings.Count(stderr, "no network device") != strings.Count(stderr, "\n") || stderr == "") {
		t.Errorf("veth-router.yaml: %v\n%s", err, stderr)
	}
	if _, _, err := runCheck(t); err == nil || !strings.Contains(err.Error(), `"config" not set`) {
		t.Errorf("without -c: %v", err)
	}
	if _, _, err := runCheck(t, "-c", "nonexistent.yaml"); err == nil {
		t.Error("nonexistent file: no error")
	}
}

// TestMainExitCodes runs the binary's main (this test binary, re-executed)
// and checks its exit codes: 0 for a good config, 1 for a bad one.
func TestMainExitCodes(t *testing.T) {
	type exitCase struct {
		args string
		code int
		out  string
	}
	cases := []exitCase{
		{"check -c ../../examples/two-port-mem.yaml", 0, "ok ("},
		{"check -c ../../examples/bad.yaml", 1, "softnet: ../../examples/bad.yaml: 17 errors"},
		{"check", 1, `softnet: required flag(s) "config" not set`},
		{"run -c ../../examples/bad.yaml", 1, "softnet: ../../examples/bad.yaml: 17 errors"},
		{"run -c ../../examples/two-port-mem.yaml --duration 100ms --api off", 0, "drops: none"},
		{"run -c ../../examples/two-port-mem.yaml --duration -1s --api off", 1, "softnet: --duration -1s: must be positive"},
		{"run -c ../../examples/two-port-mem.yaml --rt-priority 100 --api off", 1, "softnet: --rt-priority 100: give a SCHED_FIFO priority from 1 to 99"},
		{"run -c ../../examples/two-port-mem.yaml --control-cpus 4096 --api off", 1, "which leaves none for the workers; give fewer, or let softnet use more CPUs (taskset)"},
		{"run -c ../../examples/two-port-mem.yaml --worker-nice 20 --api off", 1, "softnet: --worker-nice 20: give a nice value from -20 to 19"},
		{"run -c ../../examples/two-port-mem.yaml --worker-cpus 4096 --api off", 1, "worker CPU 4096: not a CPU this process may use"},
		{"run -c ../../examples/two-port-mem.yaml --worker-cpus 0 --control-cpus 1 --api off", 1, "two ways to place the workers; give one"},
		{"run -c ../../examples/two-port-mem.yaml --duration 100ms --worker-nice 0 --api off", 0, "drops: none"},
	}
	if os.Geteuid() == 0 { // SCHED_FIFO needs CAP_SYS_NICE
		cases = append(cases, exitCase{"run -c ../../examples/two-port-mem.yaml --duration 100ms --rt-priority 5 --api off", 0, "drops: none"})
	}
	for _, tc := range cases {
		cmd := softnetCmd(tc.args)
		out, err := cmd.CombinedOutput()
		code := 0
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		if code != tc.code || !strings.Contains(string(out), tc.out) {
			t.Errorf("softnet %s: exit %d, want %d; output:\n%s", tc.args, code, tc.code, out)
		}
	}
}

// TestRun runs examples/two-port-mem.yaml for a moment: the three packets
// of its pcap come out of wan0, and the log has the start-up summary.
func TestRun(t *testing.T) {
	var stdout, stderr bytes.Buffer
	log := slog.New(slog.NewTextHandler(&stderr, nil))
	err := runRouter(context.Background(), log, &stdout, &stderr, "../../examples/two-port-mem.yaml", 700*time.Millisecond, run.Options{}, serveOpts{socketSet: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`msg="softnet started"`, "interfaces=2 routes=2", "workers=1",
		"msg=interface name=lan0 backend=pcap rx=testdata/udp.pcap mac=02:52:00:00:00:01 mtu=1500 addresses=10.0.1.1/24 queues=1 up=true",
		`msg="pcap replay done" name=lan0 rx_packets=3`, `msg=stopping reason="duration elapsed"`} {
		if !strings.Contains(stderr.String(), want) {
			t.Errorf("log lacks %q:\n%s", want, stderr.String())
		}
	}
	want := "" +
		"  interface  rx packets  rx bytes  tx packets  tx bytes  kernel drops\n" +
		"       lan0           3       180           0         0             0\n" +
		"       wan0           0         0           3       180             0\n" +
		"\n" +
		"drops: none\n" +
		"accounting: received 3 + generated 0 = sent 3 + dropped 0 + consumed 0 + held 0\n"
	// The last line counts polls, which depend on timing.
	got, polls, _ := strings.Cut(stdout.String(), "polls: ")
	if got != want || !strings.HasSuffix(polls, " busy 0 livelocks 0 spread 0\n") {
		t.Errorf("counters:\n%s\nwant:\n%spolls: N busy 0 livelocks 0 spread 0", stdout.String(), want)
	}
}

// TestRunCancelled: a cancelled context (SIGINT) stops the router.
func TestRunCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	var stdout, stderr bytes.Buffer
	done := make(chan error)
	go func() {
		done <- runRouter(ctx, slog.New(slog.NewTextHandler(&stderr, nil)), &stdout, &stderr, "../../examples/two-port-mem.yaml", 0, run.Options{}, serveOpts{socketSet: true})
	}()
	time.Sleep(200 * time.Millisecond)
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("run did not stop")
	}
	if !strings.Contains(stderr.String(), "reason=signal") || !strings.Contains(stdout.String(), "drops: none") {
		t.Errorf("stderr:\n%s\nstdout:\n%s", stderr.String(), stdout.String())
	}
}

func TestLogChanges(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
		if a.Key == slog.TimeKey {
			return slog.Attr{}
		}
		return a
	}}))
	ev := logs.NewSampler(log, 5)
	up := run.IfaceStatus{Name: "wan0", Device: "veth-r1", Backend: config.AFPacket}
	up.Up = true
	down := up
	down.Up, down.LastError = false, "link down"
	drops := up
	drops.KernelDrops, drops.LastError = 7, "ring full"
	logChanges(ev, []run.IfaceStatus{up}, []run.IfaceStatus{down})
	logChanges(ev, []run.IfaceStatus{down}, []run.IfaceStatus{up})
	logChanges(ev, []run.IfaceStatus{up}, []run.IfaceStatus{up})
	logChanges(ev, []run.IfaceStatus{up}, []run.IfaceStatus{drops})
	oversize := up
	oversize.PortDrops = map[string]uint64{"rx-oversize": 3}
	logChanges(ev, []run.IfaceStatus{up}, []run.IfaceStatus{oversize})
	logChanges(ev, []run.IfaceStatus{oversize}, []run.IfaceStatus{oversize}) // no growth: silent
	want := `level=WARN msg="interface down" name=wan0 device=veth-r1 last_error="link down" kernel_drops=0
level=INFO msg="interface up" name=wan0 device=veth-r1 kernel_drops=0
level=WARN msg="interface error" event=port-error name=wan0 error="ring full"
level=WARN msg="kernel drops" event=kernel-drops name=wan0 new=7 total=7
level=WARN msg="port drops" event=port-drops name=wan0 counts="rx-oversize 3"
`
	if buf.String() != want {
		t.Errorf("got:\n%s\nwant:\n%s", buf.String(), want)
	}
}

// TestPrintPortDrops: the ports' own drops are printed per interface,
// only where there are any.
func TestPrintPortDrops(t *testing.T) {
	a := run.IfaceStatus{Name: "wan0"}
	a.PortDrops = map[string]uint64{"tx-busy": 2, "rx-oversize": 5}
	b := run.IfaceStatus{Name: "lan0"}
	var out bytes.Buffer
	printCounters(&out, []run.IfaceStatus{a, b}, dp.Counters{RxPackets: []uint64{0, 0}, RxBytes: []uint64{0, 0}, TxPackets: []uint64{0, 0}, TxBytes: []uint64{0, 0}}, control.Stats{})
	if !strings.Contains(out.String(), "port wan0: rx-oversize 5 tx-busy 2\n") || strings.Contains(out.String(), "port lan0") {
		t.Errorf("output:\n%s", out.String())
	}
}

// TestLogChangesByName: readings are matched by name, not position. A VLAN
// added at run time grows the list (this used to index out of range and
// kill softnet run); one deleted shifts it (this used to log one
// interface's events under another's name).
func TestLogChangesByName(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
		if a.Key == slog.TimeKey {
			return slog.Attr{}
		}
		return a
	}}))
	ev := logs.NewSampler(log, 5)
	st := func(name string, up bool) run.IfaceStatus {
		s := run.IfaceStatus{Name: name, Backend: "vlan"}
		s.Up = up
		return s
	}
	two := []run.IfaceStatus{st("lan0", true), st("wan0", true)}
	three := []run.IfaceStatus{st("lan0", true), st("wan0", true), st("wan0.100", true)}
	logChanges(ev, two, three)
	// wan0 deleted: wan0.100 moves to index 1, where wan0 was. Nothing
	// went down.
	shifted := []run.IfaceStatus{st("lan0", true), st("wan0.100", true)}
	logChanges(ev, three, shifted)
	down := []run.IfaceStatus{st("lan0", true), st("wan0.100", false)}
	logChanges(ev, shifted, down)
	want := `level=INFO msg="interface added" name=wan0.100 backend=vlan up=true
level=INFO msg="interface deleted" name=wan0 backend=vlan
level=WARN msg="interface down" name=wan0.100 device="" last_error="" kernel_drops=0
`
	if buf.String() != want {
		t.Errorf("got:\n%s\nwant:\n%s", buf.String(), want)
	}
}

// TestRunVLANAtRunTime: softnet run on examples/operate-mem.yaml survives a
// VLAN added and deleted through the API (issue 17, defect 1: it panicked
// in logChanges within a second), and logs both.
func TestRunVLANAtRunTime(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "sn.sock")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stdout bytes.Buffer
	logw := &syncBuffer{}
	done := make(chan error, 1)
	go func() {
		done <- runRouter(ctx, slog.New(slog.NewTextHandler(logw, nil)), &stdout, io.Discard, "../../examples/operate-mem.yaml", 0, run.Options{}, serveOpts{socketSet: true, socket: sock})
	}()
	c := api.NewClient(sock)
	waitFor(t, done, func() bool { _, err := c.Status(ctx); return err == nil }, "the API to answer")
	if err := c.AddVLAN(ctx, api.VLANRequest{Name: "wan0.100", Parent: "wan0", VLAN: 100}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, done, func() bool { return strings.Contains(logw.String(), `msg="interface added" name=wan0.100`) }, "the VLAN's log line")
	if err := c.DeleteVLAN(ctx, "wan0.100"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, done, func() bool { return strings.Contains(logw.String(), `msg="interface deleted" name=wan0.100`) }, "the VLAN's deletion log line")
	// Two more status ticks with the VLAN gone: still running.
	time.Sleep(2 * statusEvery)
	select {
	case err := <-done:
		t.Fatalf("router stopped: %v\n%s", err, logw.String())
	default:
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(stdout.String(), "wan0") || strings.Contains(stdout.String(), "wan0.100") {
		t.Errorf("final counters:\n%s", stdout.String())
	}
}

// waitFor polls cond until it holds, failing if the router stops first or
// after 10 s.
func waitFor(t *testing.T, done chan error, cond func() bool, what string) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); {
		select {
		case err := <-done:
			t.Fatalf("router stopped waiting for %s: %v", what, err)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// syncBuffer is a bytes.Buffer the router's log and the test share.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestRunSignals runs the real binary's main (this test binary,
// re-executed) and sends it signals as an init system or an operator
// would: SIGHUP reloads the config (a route added to the file appears; a
// broken file is rejected and the router keeps running), and SIGTERM
// stops it cleanly: exit 0, the final counters printed, the API socket
// removed (issue 17, defect 9: SIGHUP killed the router).
func TestRunSignals(t *testing.T) {
	dir := t.TempDir()
	var src []byte
	file := operateMemConfig(t, dir, func(b []byte) []byte { src = b; return b })
	sock := filepath.Join(dir, "sn.sock")
	cmd := softnetCmd("run -c " + file + " --api " + sock)
	var stdout bytes.Buffer
	stderr := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = &stdout, stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	defer cmd.Process.Kill()
	ctx := context.Background()
	c := api.NewClient(sock)
	waitFor(t, done, func() bool { _, err := c.Status(ctx); return err == nil }, "the API to answer")

	// A route added to the file, then SIGHUP.
	more := strings.Replace(string(src), "routes:\n", "routes:\n  - {prefix: 192.0.2.0/24, via: 10.0.2.2}\n", 1)
	if err := os.WriteFile(file, []byte(more), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	waitFor(t, done, func() bool { return strings.Contains(stderr.String(), `msg="SIGHUP: config reloaded"`) }, "the reload's log line")
	if !strings.Contains(stderr.String(), "routes_added=1") {
		t.Errorf("log:\n%s", stderr.String())
	}
	if m, err := c.Route(ctx, "192.0.2.1"); err != nil || !m.Found || m.Prefix != "192.0.2.0/24" {
		t.Errorf("route after SIGHUP: %+v %v", m, err)
	}
	// A broken file: rejected, nothing changed, still running.
	if err := os.WriteFile(file, []byte(strings.Replace(more, "via: 10.0.2.2}", "via: 10.0.9.2}", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	waitFor(t, done, func() bool { return strings.Contains(stderr.String(), "SIGHUP: reload rejected") }, "the rejection's log line")
	if !strings.Contains(stderr.String(), "10.0.9.2 is on no interface's subnet") {
		t.Errorf("log:\n%s", stderr.String())
	}
	if m, err := c.Route(ctx, "192.0.2.1"); err != nil || !m.Found {
		t.Errorf("route after a rejected SIGHUP reload: %+v %v", m, err)
	}

	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("exit after SIGTERM: %v\nstderr:\n%s", err, stderr.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("softnet run did not stop on SIGTERM")
	}
	if !strings.Contains(stdout.String(), "rx packets") || !strings.Contains(stdout.String(), "blackhole") {
		t.Errorf("final counters:\n%s", stdout.String())
	}
	if !strings.Contains(stderr.String(), "reason=signal") {
		t.Errorf("log:\n%s", stderr.String())
	}
	if _, err := os.Stat(sock); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("API socket left behind: %v", err)
	}
}

// TestPrintAllDrops (issue 17, defect 5): the final counters list the
// control plane's drops and the ports' receive drops with the data
// plane's, in the total; a port's transmit failures are shown as part of
// interface-output/tx-full, not counted twice; the accounting balances.
func TestPrintAllDrops(t *testing.T) {
	a := run.IfaceStatus{Name: "lan0", RxPackets: 60}
	a.PortDrops = map[string]uint64{"rx-oversize": 5}
	b := run.IfaceStatus{Name: "wan0", TxPackets: 3}
	b.PortDrops = map[string]uint64{"tx-busy": 2}
	c := dp.Counters{RxPackets: []uint64{60, 0}, RxBytes: []uint64{0, 0}, TxPackets: []uint64{0, 3}, TxBytes: []uint64{0, 0}}
	c.Drops[ip4.Blackhole] = 3
	c.Drops[dp.OutTxFull] = 2
	c.InjectedTx = 1  // an ARP request
	c.ARPConsumed = 1 // an ARP reply
	var cs control.Stats
	cs.Drops[control.DropQueueFull] = 46
	cs.Held = 4
	cs.Unreachable = 2 // came back: counted in c (sent or dropped)
	c.Drops[ip4.ICMPRateLimited] = 2
	var out bytes.Buffer
	printCounters(&out, []run.IfaceStatus{a, b}, c, cs)
	for _, want := range []string{
		"  ip4-lookup/blackhole                     3\n",
		"  interface-output/tx-full                 2\n",
		"  arp-queue/queue-full                     46\n",
		"  port/rx-oversize (lan0)                  5\n",
		"  port/tx-busy (wan0)                      2 (part of interface-output/tx-full)\n",
		"total drops: 58\n",
		"waiting for ARP: 4 held, 2 sent back for host unreachable\n",
		"accounting: received 65 + generated 1 = sent 3 + dropped 58 + consumed 1 + held 4\n",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
}

// TestPrintCountersICMP: the ICMP errors sent read "host-unreachable 4,
// ttl-exceeded 1", not Go's [host-unreachable 4 ttl-exceeded 1].
func TestPrintCountersICMP(t *testing.T) {
	var c dp.Counters
	c.ICMPErrors[dp.ICMPErrHostUnreach] = 4
	c.ICMPErrors[dp.ICMPErrTTLExceeded] = 1
	var out bytes.Buffer
	printCounters(&out, nil, c, control.Stats{})
	if !strings.Contains(out.String(), "icmp errors sent: host-unreachable 4, ttl-exceeded 1\n") || strings.Contains(out.String(), "[") {
		t.Errorf("output:\n%s", out.String())
	}
}

// TestRunSignalDuringStartup: SIGTERM while softnet run loads the full
// table (examples/full-table.yaml, seconds of start-up) stops it at once:
// exit 0, a log line saying start-up was interrupted, the router never
// started, no API socket left behind, no counters printed. It logs how long
// the stop took after the signal (it waited for the whole load before).
func TestRunSignalDuringStartup(t *testing.T) {
	dir := t.TempDir()
	file := fullTableConfig(t, dir)
	for _, tc := range []struct {
		sig   syscall.Signal
		after string // the log line to send it after
	}{
		{syscall.SIGTERM, "msg=starting"},                     // reading the table (config.CheckContext)
		{syscall.SIGINT, "msg=starting"},                      //
		{syscall.SIGTERM, `msg="config checked: installing"`}, // installing it (run.StartContext)
	} {
		sig := tc.sig
		sock := filepath.Join(dir, "sn.sock")
		cmd := softnetCmd("run -c " + file + " --api " + sock + " --log-level debug")
		var stdout bytes.Buffer
		stderr := &syncBuffer{}
		cmd.Stdout, cmd.Stderr = &stdout, stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		defer cmd.Process.Kill()
		waitFor(t, done, func() bool { return strings.Contains(stderr.String(), tc.after) }, tc.after)
		t0 := time.Now()
		if err := cmd.Process.Signal(sig); err != nil {
			t.Fatal(err)
		}
		select {
		case err := <-done:
			if err != nil {
				t.Fatalf("exit after %v during start-up: %v\nstderr:\n%s", sig, err, stderr.String())
			}
		case <-time.After(30 * time.Second):
			t.Fatalf("softnet run did not stop on %v", sig)
		}
		t.Logf("%v after %s: exited %v after the signal", sig, tc.after, time.Since(t0).Round(time.Millisecond))
		log := stderr.String()
		if !strings.Contains(log, `msg="start-up interrupted: stopped before the router ran" reason=signal`) || strings.Contains(log, "softnet started") {
			t.Errorf("%v during start-up: want the start-up interrupted before the router started; log:\n%s", sig, log)
		}
		if stdout.Len() != 0 {
			t.Errorf("%v during start-up: counters of a router that never ran:\n%s", sig, stdout.String())
		}
		if _, err := os.Stat(sock); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%v during start-up: API socket left behind: %v", sig, err)
		}
	}
}

// fullTableConfig copies examples/full-table.yaml (a full table: seconds
// of start-up) into dir and returns the copy's path.
func fullTableConfig(t *testing.T, dir string) string {
	t.Helper()
	src, err := os.ReadFile("../../examples/full-table.yaml")
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dir, "full.yaml")
	if err := os.WriteFile(file, src, 0o644); err != nil {
		t.Fatal(err)
	}
	return file
}
