package bench

import (
	"net/netip"
	"sync"
	"testing"

	"github.com/softnet/softnet/hdr"
)

// TestForward6: the ip6-forward setup forwards every frame (no drop) and
// allocates nothing per batch, on a few prefixes of the full IPv6 table.
func TestForward6(t *testing.T) {
	all, err := FullTableIPv6()
	if err != nil {
		t.Fatal(err)
	}
	if len(all) < 100000 {
		t.Fatalf("%d IPv6 prefixes in the full table, want the ~160,000 of the BGP data", len(all))
	}
	ps := all[:2000]
	frames := Frames6(ps, 512, 64)
	for _, f := range frames[:8] {
		ip := hdr.IPv6(f[hdr.EthernetLen:])
		d := netip.AddrFrom16([16]byte(ip.Dst()))
		if len(f) != 64 || ip.Validate() != hdr.OK || !covered(ps, d) {
			t.Fatalf("frame to %v: %x", d, f)
		}
	}
	f, err := NewForward6(ps, frames, 1)
	if err != nil {
		t.Fatal(err)
	}
	for range 10 {
		f.Worker.Poll()
	}
	if n := testing.AllocsPerRun(50, func() { f.Worker.Poll() }); n != 0 {
		t.Errorf("%v allocations per poll", n)
	}
	c := f.Worker.Counters()
	var drops uint64
	for _, d := range c.Drops {
		drops += d
	}
	if f.Sink.Sent() == 0 || drops != 0 {
		t.Errorf("sent %d, dropped %d", f.Sink.Sent(), drops)
	}
}

func covered(ps []netip.Prefix, a netip.Addr) bool {
	for _, p := range ps {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

var (
	fwd6Once sync.Once
	fwd6     *Forward
	fwd6Err  error
)

// fullForward6 builds the ip6-forward setup on the full IPv6 table once
// per test binary (as the scenario does: Templates frames).
func fullForward6(tb testing.TB) *Forward {
	fwd6Once.Do(func() {
		ps, err := FullTableIPv6()
		if err != nil {
			fwd6Err = err
			return
		}
		fwd6, fwd6Err = NewForward6(ps, Frames6(ps, Templates, 64), 1)
	})
	if fwd6Err != nil {
		tb.Fatal(fwd6Err)
	}
	return fwd6
}

// BenchmarkForward6 is BenchmarkForward for ip6-forward: the worker polled
// on the benchmark goroutine, the full IPv6 table.
func BenchmarkForward6(b *testing.B) {
	f := fullForward6(b)
	b.ReportAllocs()
	pkts := 0
	b.ResetTimer()
	for b.Loop() {
		pkts += f.Worker.Poll()
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(pkts), "ns/pkt")
	b.ReportMetric(float64(pkts)/b.Elapsed().Seconds()/1e6, "Mpps")
}
