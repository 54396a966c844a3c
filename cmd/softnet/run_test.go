package main

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/softnet/softnet/config"
	"github.com/softnet/softnet/dp"
	"github.com/softnet/softnet/logs"
	"github.com/softnet/softnet/run"
)

// badWant are softnet check's messages for examples/bad.yaml, one per
// mistake, in file order. If you edit bad.yaml, update them.
var badWant = []string{
	`../../examples/bad.yaml:4:10: workers: 0 is out of range: use 1..64`,
	`../../examples/bad.yaml:8:13: interfaces[0].device: no network device "nosuchdev0" on this host (see ip link; create it, e.g. ip link add nosuchdev0 type veth peer name nosuchdev0-peer, or fix the name)`,
	`../../examples/bad.yaml:12:9: interfaces[1].rx: cannot read ../../examples/missing.pcap: no such file or directory (paths are relative to the config file's directory)`,
	`../../examples/bad.yaml:13:10: interfaces[1].mac: "03:00:00:00:00:01" is not a unicast MAC address: the first byte must be even and the address not all zeros (e.g. 02:00:00:00:00:01)`,
	`../../examples/bad.yaml:15:9: interfaces[1].addresses[0]: "10.0.2.300/24" is not an IPv4 prefix (write it as A.B.C.D/N, e.g. 192.0.2.1/24)`,
	`../../examples/bad.yaml:16:5: interfaces[2].device: missing: the tap backend needs the Linux device to use, e.g. device: tap0`,
	`../../examples/bad.yaml:16:11: interfaces[2].name: "lan0" is already the name of interfaces[0] (line 6): names must be unique`,
	`../../examples/bad.yaml:18:5: interfaces[2]: unknown field "devce": did you mean "device"? known fields are name, backend, device, rx, tx, loop, rate, limit, mac, mtu, addresses, down, parent, vlan, outer_vlan, tpid, bridge`,
	`../../examples/bad.yaml:19:10: interfaces[2].mtu: 10000 is out of range: use 68..9258`,
	`../../examples/bad.yaml:21:14: interfaces[3].backend: unknown backend "vxlan": choose one of afpacket, tap, pcap, mem`,
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
	if os.Getenv("SOFTNET_TEST_MAIN") == "1" {
		os.Args = append([]string{"softnet"}, strings.Fields(os.Getenv("SOFTNET_TEST_ARGS"))...)
		main()
		os.Exit(0)
	}
	for _, tc := range []struct {
		args string
		code int
		out  string
	}{
		{"check -c ../../examples/two-port-mem.yaml", 0, "ok ("},
		{"check -c ../../examples/bad.yaml", 1, "softnet: ../../examples/bad.yaml: 17 errors"},
		{"check", 1, `softnet: required flag(s) "config" not set`},
		{"run -c ../../examples/bad.yaml", 1, "softnet: ../../examples/bad.yaml: 17 errors"},
		{"run -c ../../examples/two-port-mem.yaml --duration 100ms --api off", 0, "drops: none"},
	} {
		cmd := exec.Command(os.Args[0], "-test.run=^TestMainExitCodes$")
		cmd.Env = append(os.Environ(), "SOFTNET_TEST_MAIN=1", "SOFTNET_TEST_ARGS="+tc.args)
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
		"msg=interface name=lan0 backend=pcap rx=testdata/udp.pcap mac=02:52:00:00:00:01 mtu=1500 addresses=[10.0.1.1/24] queues=1 up=true",
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
		"drops: none\n"
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
	case <-time.After(5 * time.Second):
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
level=WARN msg="port drops" event=port-drops name=wan0 counts=map[rx-oversize:3]
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
	printCounters(&out, []run.IfaceStatus{a, b}, dp.Counters{RxPackets: []uint64{0, 0}, RxBytes: []uint64{0, 0}, TxPackets: []uint64{0, 0}, TxBytes: []uint64{0, 0}})
	if !strings.Contains(out.String(), "port wan0: rx-oversize 5 tx-busy 2\n") || strings.Contains(out.String(), "port lan0") {
		t.Errorf("output:\n%s", out.String())
	}
}
