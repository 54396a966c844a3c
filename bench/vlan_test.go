package bench

import (
	"math"
	"testing"
	"time"
)

// TestInterleaveMedian: the interleaved rate of a scenario comes from its
// median poll, so polls that lost the CPU to another process (here one
// in ten, each 100 times as long) leave it where the others put it; the
// rate over the total polling time, as interleave measured before, fell
// to a tenth.
func TestInterleaveMedian(t *testing.T) {
	var h nsHist
	if m := h.median(); m != 0 {
		t.Fatalf("median of no polls %v, want 0", m)
	}
	var total time.Duration
	pkts := 0
	for i := range 1000 {
		d := 256 * 40 * time.Nanosecond // 40 ns a packet
		if i%10 == 0 {
			d *= 100 // preempted
		}
		h.add(d, 256)
		total += d
		pkts += 256
	}
	h.add(time.Millisecond, 0) // an empty poll: not counted
	if h.n != 1000 {
		t.Fatalf("%d polls counted, want 1000", h.n)
	}
	if m := h.median(); math.Abs(m-40) > nsHistStep {
		t.Fatalf("median %v ns per packet, want 40", m)
	}
	sum := float64(pkts) / float64(total.Nanoseconds()) * 1e3
	if med := 1e3 / h.median(); med < 5*sum {
		t.Fatalf("median rate %.1f Mpps is not robust to the preempted polls (rate over the polling time %.1f)", med, sum)
	}
	// Polls slower than the histogram's range count in its last bin.
	var slow nsHist
	slow.add(time.Second, 1)
	if m := slow.median(); m != (float64(len(slow.bins))-0.5)*nsHistStep {
		t.Fatalf("median of one very slow poll %v, want the last bin's", m)
	}
}
