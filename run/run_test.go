package run

import (
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/softnet/softnet/config"
	"github.com/softnet/softnet/dp/dptest"
	"github.com/softnet/softnet/hdr"
	"github.com/softnet/softnet/port/mem"
	"github.com/softnet/softnet/port/pcapfile"
)

var (
	lanMAC  = [6]byte{0x02, 0x52, 0, 0, 0, 1}
	wanMAC  = [6]byte{0x02, 0x52, 0, 0, 0, 2}
	hostA   = [6]byte{0x02, 0xaa, 0, 0, 0, 2}
	hostB   = [6]byte{0x02, 0xbb, 0, 0, 0, 2}
	srcAddr = netip.MustParseAddr("10.0.1.2")
)

// writeConfig writes src (with $DIR replaced by dir) to dir/r.yaml and
// parses it.
func writeConfig(t *testing.T, dir, src string) *config.Config {
	t.Helper()
	file := filepath.Join(dir, "r.yaml")
	if err := os.WriteFile(file, []byte(strings.ReplaceAll(src, "$DIR", dir)), 0o644); err != nil {
		t.Fatal(err)
	}
	c, err := config.Load(file)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// udp returns n UDP frames from host A to 198.18.0.1..n through the router.
func udp(n int) [][]byte {
	var out [][]byte
	for i := 1; i <= n; i++ {
		dst := netip.AddrFrom4([4]byte{198, 18, 0, byte(i)})
		out = append(out, dptest.IPv4Frame(lanMAC, hostA, srcAddr, dst, hdr.ProtoUDP, 64, false, dptest.UDP(uint16(1000+i), 9, 18)))
	}
	return out
}

const twoPort = `workers: %d
interfaces:
  - name: lan0
    backend: %s
    mac: 02:52:00:00:00:01
    addresses: [10.0.1.1/24]
  - name: wan0
    backend: %s
    mac: 02:52:00:00:00:02
    addresses: [10.0.2.1/24]
routes:
  - {prefix: 198.18.0.0/15, via: 10.0.2.2}
neighbors:
  - {interface: lan0, address: 10.0.1.2, mac: 02:aa:00:00:00:02}
  - {interface: wan0, address: 10.0.2.2, mac: 02:bb:00:00:00:02}
`

// checkForwarded checks that out are in, forwarded: TTL one less, the
// header checksum right, the MACs rewritten, the rest unchanged.
func checkForwarded(t *testing.T, in, out [][]byte) {
	t.Helper()
	if len(out) != len(in) {
		t.Fatalf("%d frames out, want %d", len(out), len(in))
	}
	for i := range in {
		want := append([]byte(nil), in[i]...)
		copy(want[0:6], hostB[:])
		copy(want[6:12], wanMAC[:])
		ip := hdr.IPv4(want[hdr.EthernetLen:])
		ip.SetTTL(63)
		ip.SetChecksum(0)
		ip.SetChecksum(ip.ComputeChecksum())
		if string(out[i]) != string(want) {
			t.Errorf("frame %d:\n got %x\nwant %x", i, out[i], want)
		}
	}
}

// waitFor polls cond for up to 10 s (run's tests also run under -race on
// a loaded CI machine).
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// noLeak fails if goroutines started after n0 was taken are still running.
func noLeak(t *testing.T, n0 int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for runtime.NumGoroutine() > n0 {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<16)
			t.Fatalf("%d goroutines after Stop, %d before:\n%s", runtime.NumGoroutine(), n0, buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestPcapReplay replays a pcap of UDP packets through the router and
// compares the pcap it writes: forwarded with TTL-1 and rewritten MACs.
func TestPcapReplay(t *testing.T) {
	dir := t.TempDir()
	in := udp(5)
	if err := pcapfile.WriteFile(filepath.Join(dir, "in.pcap"), in); err != nil {
		t.Fatal(err)
	}
	src := fmt.Sprintf(twoPort, 1, "pcap\n    rx: in.pcap", "pcap\n    tx: out.pcap")
	cfg := writeConfig(t, dir, src)
	n0 := runtime.NumGoroutine()
	r, err := Start(cfg, Options{})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "5 frames out of wan0", func() bool { return r.Counters().TxPackets[1] == 5 })
	if !r.ReplayDone() {
		t.Error("ReplayDone is false after the whole file was forwarded")
	}
	st := r.Status()
	if len(st) != 2 || st[0].Name != "lan0" || !st[0].Up || !st[0].Done || st[0].RxPackets != 5 || st[1].TxPackets != 5 || st[1].MAC != wanMAC || st[1].MTU != 1500 {
		t.Errorf("status %+v", st)
	}
	if err := r.Stop(); err != nil {
		t.Fatal(err)
	}
	noLeak(t, n0)
	out, err := pcapfile.ReadFile(filepath.Join(dir, "out.pcap"))
	if err != nil {
		t.Fatal(err)
	}
	checkForwarded(t, in, out)
	if c := r.Counters(); c.TotalDrops() != 0 || c.RxPackets[0] != 5 {
		t.Errorf("counters after Stop: drops %d rx %v", c.TotalDrops(), c.RxPackets)
	}
	if err := r.Stop(); err != nil {
		t.Errorf("second Stop: %v", err)
	}
}

// TestMemTwoWorkers runs two pinned workers over mem ports: the
// single-queue ports are polled by worker 0, which spreads the flows over
// both workers (software RSS); both transmit.
func TestMemTwoWorkers(t *testing.T) {
	cfg := writeConfig(t, t.TempDir(), fmt.Sprintf(twoPort, 2, "mem", "mem"))
	n0 := runtime.NumGoroutine()
	// Pinned: worker i on the i-th allowed CPU (wrapping round).
	r, err := Start(cfg, Options{Pin: true, SoftwareRSS: true})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Stop()
	if r.Workers() != 2 || r.Routes() != 1 {
		t.Errorf("workers %d routes %d", r.Workers(), r.Routes())
	}
	in := udp(40)
	lan, wan := r.Port("lan0").(*mem.Queue), r.Port("wan0").(*mem.Queue)
	lan.Push(in...)
	var out [][]byte
	waitFor(t, "40 frames out", func() bool { out = append(out, wan.Take()...); return len(out) >= 40 })
	// Software RSS spread the 40 flows over both workers: each flow's
	// order is kept, not the order across flows. Frame i goes to
	// 198.18.0.i.
	slices.SortFunc(out, func(a, b []byte) int { return int(a[33]) - int(b[33]) })
	checkForwarded(t, in, out)
	waitFor(t, "counters published", func() bool { return r.Counters().TxPackets[1] == 40 })
	if c := r.Counters(); c.Spread == 0 || c.Spread == 40 {
		t.Errorf("software RSS handed %d of 40 flows to worker 1: want some, not all", c.Spread)
	}
	if r.Port("nope") != nil {
		t.Error("Port of an unknown interface is not nil")
	}
	if err := r.Stop(); err != nil {
		t.Fatal(err)
	}
	if a := r.Accounting(); a.Balance() != 0 || a.Received != 40 || a.Sent != 40 {
		t.Errorf("accounting after Stop: %v", a)
	}
	noLeak(t, n0)
}

// TestRouteFile installs a route file (plain text, with an IPv6 line
// that is skipped) and forwards through it.
func TestRouteFile(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "table.txt"), []byte("# two prefixes\n198.18.0.0/24\n2001:db8::/32\n203.0.113.0/24\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	src := strings.Replace(fmt.Sprintf(twoPort, 1, "mem", "mem"), "routes:\n  - {prefix: 198.18.0.0/15, via: 10.0.2.2}\n",
		"route_files:\n  - {path: table.txt, via: 10.0.2.2}\n", 1)
	r, err := Start(writeConfig(t, dir, src), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Stop()
	if r.Routes() != 2 {
		t.Errorf("routes %d, want 2", r.Routes())
	}
	in := udp(1)
	r.Port("lan0").(*mem.Queue).Push(in...)
	var out [][]byte
	waitFor(t, "a frame out", func() bool { out = append(out, r.Port("wan0").(*mem.Queue).Take()...); return len(out) > 0 })
	checkForwarded(t, in, out)
}

// failing wraps the mem backend: the interface named fail fails to open,
// and every close is counted.
func failing(t *testing.T, fail string) (opens, closes *int) {
	opens, closes = new(int), new(int)
	orig := openers[config.Mem]
	t.Cleanup(func() { openers[config.Mem] = orig })
	openers[config.Mem] = func(c *config.Config, ic *config.Interface, q int) (*opened, error) {
		if ic.Name == fail {
			return nil, errors.New("no such thing")
		}
		op, err := orig(c, ic, q)
		if err == nil {
			*opens++
			inner := op.close
			op.close = func() error { *closes++; return inner() }
		}
		return op, err
	}
	return opens, closes
}

// TestStartRollback: a port that fails to open closes the ports opened
// before it, and the error names the interface and its line.
func TestStartRollback(t *testing.T) {
	src := fmt.Sprintf(twoPort, 1, "mem", "mem") + "  - {interface: wan0, address: 10.0.2.3, mac: 02:bb:00:00:00:03}\n"
	src = strings.Replace(src, "routes:", "  - name: dmz0\n    backend: mem\n    addresses: [10.0.3.1/24]\nroutes:", 1)
	cfg := writeConfig(t, t.TempDir(), src)
	opens, closes := failing(t, "dmz0")
	n0 := runtime.NumGoroutine()
	r, err := Start(cfg, Options{})
	if err == nil {
		r.Stop()
		t.Fatal("Start succeeded")
	}
	want := cfg.File + ":11:5: interfaces[2]: interface dmz0: cannot open mem port: no such thing"
	if err.Error() != want {
		t.Errorf("error\n got %v\nwant %s", err, want)
	}
	if *opens != 2 || *closes != 2 {
		t.Errorf("%d ports opened, %d closed", *opens, *closes)
	}
	noLeak(t, n0)
}

// TestStartSystemError: Start reports a missing device against the
// config's line, before opening anything.
func TestStartSystemError(t *testing.T) {
	src := fmt.Sprintf(twoPort, 1, "mem", "afpacket\n    device: nosuchdev0")
	cfg := writeConfig(t, t.TempDir(), src)
	opens, _ := failing(t, "")
	_, err := Start(cfg, Options{})
	if err == nil || !strings.HasPrefix(err.Error(), cfg.File+`:9:13: interfaces[1].device: no network device "nosuchdev0"`) {
		t.Errorf("got %v", err)
	}
	if *opens != 0 {
		t.Errorf("%d ports opened", *opens)
	}
}

func TestDefaultMAC(t *testing.T) {
	a, b := DefaultMAC("lan0"), DefaultMAC("wan0")
	if a == b || a != DefaultMAC("lan0") || a[0] != 0x02 || b[0] != 0x02 {
		t.Errorf("DefaultMAC: %x %x", a, b)
	}
	cfg := writeConfig(t, t.TempDir(), "interfaces:\n  - {name: lan0, backend: mem}\n")
	r, err := Start(cfg, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Stop()
	if st := r.Status(); st[0].MAC != a || st[0].MTU != 1500 || st[0].Queues != 1 {
		t.Errorf("status %+v", st[0])
	}
	if got := r.Control().Interfaces()[0].MAC; got != a {
		t.Errorf("control plane MAC %x, want %x", got, a)
	}
}
