package edrop_test

import (
	"bytes"
	"encoding/binary"
	"net/netip"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/softnet/softnet/bench"
	"github.com/softnet/softnet/control"
	"github.com/softnet/softnet/dp"
	"github.com/softnet/softnet/dp/dptest"
	"github.com/softnet/softnet/dp/edrop"
	_ "github.com/softnet/softnet/dp/nodes"
	"github.com/softnet/softnet/hdr"
)

var remote = netip.MustParseAddr("198.18.0.9") // routed out if1

func listFile(t testing.TB, lines ...string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "list.txt")
	if err := os.WriteFile(p, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func load(t testing.TB, l *dptest.Lab, c control.BlocklistConfig) control.BlocklistInfo {
	t.Helper()
	info, err := l.Router.LoadBlocklist(c)
	if err != nil {
		t.Fatal(err)
	}
	return info
}

func udpFrom(src, dst netip.Addr) []byte {
	return dptest.IPv4Frame(dptest.R0MAC, dptest.HostAMAC, src, dst, hdr.ProtoUDP, 64, false, dptest.UDP(1000, 53, 20))
}

// ip6Frame is an IPv6/UDP frame to if0's MAC.
func ip6Frame(src, dst netip.Addr) []byte {
	f := make([]byte, 14+40+8)
	copy(f, dptest.R0MAC[:])
	copy(f[6:], dptest.HostAMAC[:])
	binary.BigEndian.PutUint16(f[12:], 0x86dd)
	ip := f[14:]
	ip[0] = 0x60
	binary.BigEndian.PutUint16(ip[4:], 8)
	ip[6], ip[7] = hdr.ProtoUDP, 64
	s, d := src.As16(), dst.As16()
	copy(ip[8:], s[:])
	copy(ip[24:], d[:])
	return f
}

func blocked(l *dptest.Lab) uint64 { c := l.Counters(); return c.Drops[edrop.Blocked] }

// TestSrcDst: a src list drops by source, a dst list by destination,
// IPv4 and IPv6, untagged and VLAN-tagged (802.1Q and QinQ: the tags are
// skipped); everything else goes on to ethernet-input and is forwarded.
// Per-list counters count each list's drops.
func TestSrcDst(t *testing.T) {
	l := dptest.New(t, dptest.Options{VLANs: true})
	load(t, l, control.BlocklistConfig{Name: "bad-src", File: listFile(t, "# sources", "10.0.1.66", "10.0.1.128/25", "2001:db8:bad::/48")})
	load(t, l, control.BlocklistConfig{Name: "bad-dst", Match: "dst", Interfaces: []string{"if0"}, File: listFile(t, "198.18.0.66", "2001:db8::dead")})
	okA, okV6 := netip.MustParseAddr("2001:db8:900d::1"), netip.MustParseAddr("2001:db8::1")
	for _, c := range []struct {
		name  string
		frame []byte
		drop  bool
	}{
		{"v4 src listed", udpFrom(netip.MustParseAddr("10.0.1.66"), remote), true},
		{"v4 src in /25", udpFrom(netip.MustParseAddr("10.0.1.200"), remote), true},
		{"v4 src not listed", udpFrom(dptest.HostA, remote), false},
		{"v4 dst listed", udpFrom(dptest.HostA, netip.MustParseAddr("198.18.0.66")), true},
		{"v4 src listed as dst only", udpFrom(netip.MustParseAddr("198.18.0.66"), remote), false},
		{"v4 802.1Q src listed", dptest.Tag(udpFrom(netip.MustParseAddr("10.0.1.66"), remote), 0x8100, 100), true},
		{"v4 QinQ src listed", dptest.Tag(udpFrom(netip.MustParseAddr("10.0.1.66"), remote), 0x88a8, 10, 0x8100, 20), true},
		{"v4 QinQ dst listed", dptest.Tag(udpFrom(dptest.HostA, netip.MustParseAddr("198.18.0.66")), 0x88a8, 10, 0x8100, 20), true},
		{"v6 src listed", ip6Frame(netip.MustParseAddr("2001:db8:bad:1::5"), okV6), true},
		{"v6 dst listed", ip6Frame(okA, netip.MustParseAddr("2001:db8::dead")), true},
		{"v6 dst listed, tagged", dptest.Tag(ip6Frame(okA, netip.MustParseAddr("2001:db8::dead")), 0x8100, 100), true},
		{"v6 not listed", ip6Frame(okA, okV6), false},
	} {
		before := blocked(l)
		l.Send(0, c.frame)
		if got := blocked(l) - before; got != map[bool]uint64{true: 1, false: 0}[c.drop] {
			t.Errorf("%s: early-drop dropped %d, want drop=%v", c.name, got, c.drop)
		}
	}
	if out := l.Out(1); len(out) != 2 { // the two unlisted untagged IPv4 frames
		t.Errorf("forwarded %d frames, want 2", len(out))
	}
	// if1 has bad-src (every port) but not bad-dst.
	before := blocked(l)
	l.Send(1, dptest.IPv4Frame(dptest.R1MAC, dptest.HostBMAC, dptest.HostB, netip.MustParseAddr("198.18.0.66"), hdr.ProtoUDP, 64, false, dptest.UDP(1, 2, 20)))
	l.Send(1, dptest.IPv4Frame(dptest.R1MAC, dptest.HostBMAC, netip.MustParseAddr("10.0.1.66"), dptest.HostA, hdr.ProtoUDP, 64, false, dptest.UDP(1, 2, 20)))
	if got := blocked(l) - before; got != 1 {
		t.Errorf("if1: dropped %d, want 1 (bad-src only)", got)
	}
	drops := map[string]uint64{}
	for _, i := range l.Router.Blocklists() {
		drops[i.Name] = i.Drops
	}
	if drops["bad-src"] != 6 || drops["bad-dst"] != 4 {
		t.Errorf("per-list drops %v, want bad-src 6, bad-dst 4", drops)
	}
	if r := edrop.Blocked; r.String() != "early-drop/blocklisted" {
		t.Errorf("reason %q", r)
	}
}

// TestAddDelShow: add and del change the list in force; show lists it.
func TestAddDelShow(t *testing.T) {
	l := dptest.New(t, dptest.Options{})
	load(t, l, control.BlocklistConfig{Name: "b", File: listFile(t, "10.0.1.66")})
	bad := netip.MustParseAddr("10.0.1.77")
	if _, err := l.Router.BlocklistChange("b", []string{"10.0.1.77", "2001:db8::/64"}, false); err != nil {
		t.Fatal(err)
	}
	l.Send(0, udpFrom(bad, remote))
	if blocked(l) != 1 {
		t.Fatalf("after add: dropped %d, want 1", blocked(l))
	}
	got, err := l.Router.BlocklistEntries("b", 0)
	if err != nil || strings.Join(got, " ") != "10.0.1.66 10.0.1.77 2001:db8::/64" {
		t.Fatalf("entries %q %v", got, err)
	}
	if _, err := l.Router.BlocklistChange("b", []string{"10.0.1.77"}, true); err != nil {
		t.Fatal(err)
	}
	l.Send(0, udpFrom(bad, remote))
	if blocked(l) != 1 || len(l.Out(1)) != 1 {
		t.Fatalf("after del: dropped %d (want still 1), forwarded %d", blocked(l), len(l.Out(1)))
	}
	if _, err := l.Router.BlocklistChange("b", []string{"10.9.9.9"}, true); err == nil || !strings.Contains(err.Error(), "not an entry") {
		t.Errorf("deleting a missing entry: %v", err)
	}
	if _, err := l.Router.BlocklistChange("nope", []string{"10.9.9.9"}, false); err == nil || !strings.Contains(err.Error(), "blocklists are: b") {
		t.Errorf("unknown list: %v", err)
	}
	if _, err := l.Router.LoadBlocklist(control.BlocklistConfig{Name: "x", File: listFile(t, "1.2.3.4"), Interfaces: []string{"if0.100"}}); err == nil {
		t.Errorf("a VLAN sub-interface was accepted")
	}
	if _, err := l.Router.LoadBlocklist(control.BlocklistConfig{Name: "x", File: listFile(t, "1.2.3.4"), Match: "both"}); err == nil || !strings.Contains(err.Error(), "want src or dst") {
		t.Errorf("bad match: %v", err)
	}
}

// TestSwapUnderTraffic: lists are reloaded, added to and deleted from
// while the worker forwards: every frame from an unlisted source is
// forwarded, every frame from the always-listed one dropped.
func TestSwapUnderTraffic(t *testing.T) {
	l := dptest.New(t, dptest.Options{})
	bad := netip.MustParseAddr("10.0.1.66")
	f1, f2 := listFile(t, "10.0.1.66", "10.0.1.128/25"), listFile(t, "10.0.1.64/30", "2001:db8::/32")
	load(t, l, control.BlocklistConfig{Name: "b", File: f1})
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	swaps := 0
	go func() {
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			file := f1
			if swaps%2 == 1 {
				file = f2
			}
			if _, err := l.Router.LoadBlocklist(control.BlocklistConfig{Name: "b", File: file}); err != nil {
				t.Error(err)
				return
			}
			if _, err := l.Router.BlocklistChange("b", []string{"192.0.2.1"}, false); err != nil {
				t.Error(err)
				return
			}
			swaps++
		}
	}()
	const rounds = 300
	sent := 0
	for i := 0; i < rounds; i++ {
		var frames [][]byte
		for j := 0; j < 32; j++ {
			frames = append(frames, udpFrom(dptest.HostA, remote), udpFrom(bad, remote))
		}
		l.Send(0, frames...)
		sent += 32
		if out := l.Out(1); len(out) != 32 {
			t.Fatalf("round %d: forwarded %d of 32 unlisted frames", i, len(out))
		}
	}
	close(stop)
	wg.Wait()
	if b := blocked(l); b != uint64(sent) {
		t.Errorf("dropped %d, want %d (every listed frame)", b, sent)
	}
	t.Logf("%d swaps during %d rounds", swaps, rounds)
	if swaps == 0 {
		t.Error("no swap happened during the traffic")
	}
}

// TestZeroAlloc: the node allocates nothing per packet or vector: the
// bench's early-drop flood (every source listed) and the same with one
// frame in four unlisted, polled from an in-memory generator.
func TestZeroAlloc(t *testing.T) {
	f, err := bench.NewEarlyDrop([]netip.Prefix{netip.MustParsePrefix("198.18.0.0/15")}, 100_000, 64)
	if err != nil {
		t.Fatal(err)
	}
	w := f.Workers[0]
	for range 4 {
		w.Poll()
	}
	if a := testing.AllocsPerRun(200, func() { w.Poll() }); a != 0 {
		t.Fatalf("%v allocations per poll of 256 packets, want 0", a)
	}
	if c := w.Counters(); c.Drops[edrop.Blocked] == 0 || c.Drops[edrop.Blocked] != c.Packets[edrop.Stage] {
		t.Fatalf("dropped %d of the %d early-drop saw, want all", c.Drops[edrop.Blocked], c.Packets[edrop.Stage])
	}
}

// BenchmarkFlood is the bench's early-drop scenario in one worker's
// polls: a flood whose sources are all in a 6,000,000-host list, every
// frame dropped. It reports ns per packet (receive, lookup, drop, free).
func BenchmarkFlood(b *testing.B) {
	f, err := bench.NewEarlyDrop([]netip.Prefix{netip.MustParsePrefix("198.18.0.0/15")}, bench.EarlyDropEntries, 64)
	if err != nil {
		b.Fatal(err)
	}
	w := f.Workers[0]
	for range 16 {
		w.Poll()
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	c0 := *w.Stats()
	t0 := threadCPU()
	b.ResetTimer()
	for range b.N {
		w.Poll()
	}
	b.StopTimer()
	cpu := threadCPU() - t0
	c := w.Stats()
	n := c.Packets[edrop.Stage] - c0.Packets[edrop.Stage]
	if d := c.Drops[edrop.Blocked] - c0.Drops[edrop.Blocked]; d != n || n == 0 {
		b.Fatalf("dropped %d of %d", d, n)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(n), "ns/pkt")
	b.ReportMetric(float64(n)/b.Elapsed().Seconds()/1e6, "Mpps")
	b.ReportMetric(float64(cpu.Nanoseconds())/float64(n), "cpu-ns/pkt")
	b.ReportMetric(float64(n)/cpu.Seconds()/1e6, "Mpps/CPU")
}

// threadCPU is the CPU time of the calling thread (the benchmark locks
// its goroutine to it): on a shared machine, wall time is mostly waiting.
func threadCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(1 /* RUSAGE_THREAD */, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// TestBulkDrop: the frames a list drops are counted once per vector and
// their buffers freed together, without a visit to the drop node per
// packet (its input stays empty); a traced frame still ends at the drop
// node, so its trace shows why it was dropped. No buffer is lost.
func TestBulkDrop(t *testing.T) {
	l := dptest.New(t, dptest.Options{})
	load(t, l, control.BlocklistConfig{Name: "bad", File: listFile(t, "10.0.1.66", "10.0.2.0/24")})
	free0, _ := l.Worker.PoolFree()
	bad := udpFrom(netip.MustParseAddr("10.0.1.66"), remote)
	l.Send(0, bad, udpFrom(netip.MustParseAddr("10.0.2.9"), remote), udpFrom(dptest.HostA, remote), bad)
	c := l.Counters()
	if c.Drops[edrop.Blocked] != 3 {
		t.Fatalf("dropped %d, want 3", c.Drops[edrop.Blocked])
	}
	if c.Packets[dp.StageDrop] != 0 {
		t.Errorf("the drop node saw %d packets: early-drop's drops should be freed in bulk", c.Packets[dp.StageDrop])
	}
	// Received counts every frame, the dropped ones too (ethernet-input
	// counts the others): show interfaces' RX and show errors' balance.
	if c.RxPackets[0] != 4 || c.RxBytes[0] != uint64(4*len(bad)) {
		t.Errorf("port 0 received %d packets, %d bytes; want 4, %d", c.RxPackets[0], c.RxBytes[0], 4*len(bad))
	}
	if out := l.Out(1); len(out) != 1 {
		t.Errorf("forwarded %d frames, want 1", len(out))
	}
	if free, _ := l.Worker.PoolFree(); free != free0 {
		t.Errorf("%d buffers free after the drops, %d before", free, free0)
	}

	tr := dp.NewTracer([]*dp.Worker{l.Worker})
	if err := tr.Start(2); err != nil {
		t.Fatal(err)
	}
	l.Send(0, bad, udpFrom(dptest.HostA, remote))
	recs := tr.Stop()
	if len(recs) != 2 {
		t.Fatalf("%d packets traced, want 2", len(recs))
	}
	var last []dp.Stage
	for _, r := range recs {
		last = append(last, r.Steps[len(r.Steps)-1].Stage)
	}
	if recs[0].Steps[0].Stage != edrop.Stage || last[0] != dp.StageDrop {
		t.Errorf("the blocked frame's trace: %v, want early-drop first and drop last", recs[0].Steps)
	}
	if last[1] == dp.StageDrop {
		t.Errorf("the unlisted frame's trace ends in drop: %v", recs[1].Steps)
	}
	if c := l.Counters(); c.Drops[edrop.Blocked] != 4 {
		t.Errorf("dropped %d in all, want 4", c.Drops[edrop.Blocked])
	}
}

// TestDropCapture: a capture of early-drop's drops (softnet capture
// --drop blocklisted) sees each one, with its reason and port; the drops
// are counted as without it, and none is captured once it stops.
func TestDropCapture(t *testing.T) {
	l := dptest.New(t, dptest.Options{})
	load(t, l, control.BlocklistConfig{Name: "bad", File: listFile(t, "10.0.1.66")})
	bad := udpFrom(netip.MustParseAddr("10.0.1.66"), remote)
	for _, q := range []control.CaptureRequest{{Drop: true, Reason: "blocklisted"}, {Drop: true}} {
		spec, err := l.Router.ResolveCapture(q)
		if err != nil {
			t.Fatal(err)
		}
		cs, err := l.Router.StartCaptures(spec)
		if err != nil {
			t.Fatal(err)
		}
		before := blocked(l)
		bad1 := dptest.IPv4Frame(dptest.R1MAC, dptest.HostBMAC, netip.MustParseAddr("10.0.1.66"), dptest.HostA, hdr.ProtoUDP, 64, false, dptest.UDP(1, 2, 20))
		l.Send(0, bad, udpFrom(dptest.HostA, remote), bad)
		l.Send(1, bad1)
		var got []dp.CapRecord
		cs[0].Drain(func(r *dp.CapRecord) { x := *r; x.Data = bytes.Clone(r.Data); got = append(got, x) })
		if len(got) != 3 {
			t.Fatalf("capture %+v: %d records, want the 3 blocked frames", q, len(got))
		}
		for i, r := range got {
			port, frame := 0, bad
			if i == 2 {
				port, frame = 1, bad1
			}
			if r.Point != dp.CapDrop || r.Reason != edrop.Blocked || r.Iface != port || !bytes.Equal(r.Data, frame) {
				t.Errorf("capture %+v: record %d %+v, want the blocked frame as dropped by early-drop/blocklisted on port %d", q, i, r, port)
			}
		}
		if d := blocked(l) - before; d != 3 {
			t.Errorf("capture %+v: %d counted dropped, want 3", q, d)
		}
		if err := l.Router.StopCaptures(cs...); err != nil {
			t.Fatal(err)
		}
		l.Send(0, bad)
		n := cs[0].Drain(func(*dp.CapRecord) {})
		if n != 0 {
			t.Errorf("capture %+v: %d records after it stopped", q, n)
		}
	}
}

// TestLoadRefuses: a list's interfaces are checked as the config checks
// them (so that softnet config save can write back what was loaded at
// run time): a port, not a VLAN sub-interface nor a bridge's routed
// interface, each once. A refused load changes nothing.
func TestLoadRefuses(t *testing.T) {
	l := dptest.New(t, dptest.Options{VLANs: true})
	for _, c := range []control.IfaceConfig{{Name: "if0.300", Parent: "if0", VLAN: 300}, {Name: "if1.300", Parent: "if1", VLAN: 300}} {
		if _, err := l.Router.AddInterface(c); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := l.Router.AddBridge(control.BridgeConfig{Name: "br0", Members: []string{"if0.300", "if1.300"},
		BVI: control.IfaceConfig{Name: "irb0", MAC: [6]byte{2, 0, 0, 0, 0, 9}}}); err != nil {
		t.Fatal(err)
	}
	l.Router.Publish()
	file := listFile(t, "10.0.1.66")
	for _, c := range []struct {
		ifaces []string
		want   string
	}{
		{[]string{"if0", "if0"}, "blocklist a: interface if0 is listed twice: keep one"},
		{[]string{"if1", "if0", "if1"}, "blocklist a: interface if1 is listed twice: keep one"},
		{[]string{"nope"}, `blocklist a: no interface "nope": name a port interface`},
		{[]string{"if0.10.20"}, "blocklist a: interface if0.10.20 is a VLAN sub-interface: early drop runs per port, name its parent if0"},
		{[]string{"irb0"}, "blocklist a: interface irb0 is a bridge's routed interface, which has no port: name the bridge's member ports"},
	} {
		_, err := l.Router.LoadBlocklist(control.BlocklistConfig{Name: "a", File: file, Interfaces: c.ifaces})
		if err == nil || err.Error() != c.want {
			t.Errorf("load on %q: %v, want %s", c.ifaces, err, c.want)
		}
	}
	if bl := l.Router.Blocklists(); len(bl) != 0 {
		t.Errorf("refused loads left %d lists: %+v", len(bl), bl)
	}
	load(t, l, control.BlocklistConfig{Name: "a", File: file, Interfaces: []string{"if1", "if0"}})
}
