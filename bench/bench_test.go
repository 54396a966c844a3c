package bench

import (
	"sync"
	"testing"
)

var (
	fwdOnce sync.Once
	fwd     *Forward
	fwdErr  error
)

// fullForward builds the ip4-forward setup on the full table once per
// test binary.
func fullForward(tb testing.TB) *Forward {
	fwdOnce.Do(func() {
		var ps, err = FullTableIPv4()
		if err != nil {
			fwdErr = err
			return
		}
		fwd, fwdErr = NewForward(ps, Frames(ps, Templates, 64))
	})
	if fwdErr != nil {
		tb.Fatal(fwdErr)
	}
	return fwd
}

// BenchmarkForward polls the ip4-forward worker on the benchmark goroutine:
// the pipeline's cost per packet with nothing else running.
func BenchmarkForward(b *testing.B) {
	f := fullForward(b)
	b.ReportAllocs()
	pkts := 0
	b.ResetTimer()
	for b.Loop() {
		pkts += f.Worker.Poll()
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(pkts), "ns/pkt")
	b.ReportMetric(float64(pkts)/b.Elapsed().Seconds()/1e6, "Mpps")
}

func TestForwardZeroAlloc(t *testing.T) {
	f := fullForward(t)
	if a := testing.AllocsPerRun(200, func() { f.Worker.Poll() }); a != 0 {
		t.Fatalf("%v allocations per poll of 256 packets, want 0", a)
	}
	c := f.Worker.Counters()
	if c.TxPackets[1] == 0 || c.TotalDrops() != 0 {
		t.Fatalf("forwarded %d, dropped %d", c.TxPackets[1], c.TotalDrops())
	}
}
