package mem

import (
	"encoding/binary"
	"testing"
	"unsafe"

	"github.com/softnet/softnet/hdr"
	"github.com/softnet/softnet/pkt"
	"github.com/softnet/softnet/port"
)

var _ port.Backlogger = (*RateGen)(nil)

// fakeClock is a settable clock for RateGen.SetClock.
type fakeClock struct{ ns int64 }

func (c *fakeClock) now() int64  { return c.ns }
func (c *fakeClock) add(d int64) { c.ns += d }
func newRate(frames [][]byte, rate float64, ring int) (*RateGen, *fakeClock) {
	g := NewRateGen("r", frames, rate, ring)
	c := &fakeClock{ns: 1}
	g.SetClock(c.now)
	return g, c
}

// recvRate receives up to k frames and returns their template indexes
// (first byte), freeing the buffers.
func recvRate(g *RateGen, k int, pool *pkt.Pool) []int {
	var v pkt.Batch
	v.N = pkt.BatchSize - k
	n := g.Recv(0, &v, pool)
	ids := make([]int, 0, n)
	for _, x := range v.B[v.N-n : v.N] {
		b := pkt.At(x)
		ids = append(ids, int(b.Bytes()[0]))
		pool.Put(b)
	}
	return ids
}

func checkBalance(t *testing.T, g *RateGen) RateStats {
	t.Helper()
	s := g.Stats()
	if s.Offered != s.Delivered+s.IfqDrops+s.Pending {
		t.Fatalf("offered %d != delivered %d + drops %d + pending %d", s.Offered, s.Delivered, s.IfqDrops, s.Pending)
	}
	if int(s.Pending) != g.Backlog(0) {
		t.Fatalf("Backlog %d, pending %d", g.Backlog(0), s.Pending)
	}
	return s
}

func seq(from, n, mod int) []int {
	s := make([]int, n)
	for i := range s {
		s[i] = (from + i) % mod
	}
	return s
}

func TestRateGenArrivalsAndTailDrops(t *testing.T) {
	g, c := newRate(templates(200), 1e6, 100) // 1 frame per µs, 100 slots
	pool := pkt.NewPool(512)

	// The first call starts the clock: nothing has arrived yet.
	if ids := recvRate(g, 256, pool); len(ids) != 0 {
		t.Fatalf("first Recv got %d frames", len(ids))
	}
	c.add(50_000) // 50 arrivals, all fit
	if ids := recvRate(g, 20, pool); !equal(ids, seq(0, 20, 200)) {
		t.Fatalf("got %v", ids)
	}
	if s := checkBalance(t, g); s.Offered != 50 || s.Pending != 30 || s.IfqDrops != 0 {
		t.Fatalf("after 50 µs: %+v", s)
	}

	// 300 more: 70 fill the ring (100 slots), 230 are dropped at its tail.
	c.add(300_000)
	if ids := recvRate(g, 256, pool); !equal(ids, seq(20, 100, 200)) {
		t.Fatalf("ring not handed out in arrival order: %v", ids)
	}
	s := checkBalance(t, g)
	if s.Offered != 350 || s.IfqDrops != 230 || s.Delivered != 120 || s.Pending != 0 {
		t.Fatalf("after overflow: %+v", s)
	}
	// The dropped frames consumed their templates: the next arrival is
	// frame 350 of the sequence.
	c.add(3_000)
	if ids := recvRate(g, 256, pool); !equal(ids, seq(350, 3, 200)) {
		t.Fatalf("after the drops got %v, want %v", ids, seq(350, 3, 200))
	}
	checkBalance(t, g)

	// A full ring with a batch pending stays visible through Backlog.
	c.add(1_000_000)
	recvRate(g, 10, pool)
	if g.Backlog(0) != 90 {
		t.Fatalf("Backlog %d, want 90", g.Backlog(0))
	}
	checkBalance(t, g)
	if pool.Free() != 512 {
		t.Fatalf("leaked %d buffers", 512-pool.Free())
	}
}

func TestRateGenCarry(t *testing.T) {
	// 1/3 frame per ns: the remainder must carry across calls so that
	// offered = floor(rate × elapsed) exactly.
	g, c := newRate(templates(4), 1e9/3.0, 1<<20)
	pool := pkt.NewPool(512)
	recvRate(g, 0, pool)
	for range 1000 {
		c.add(1)
		recvRate(g, 0, pool) // no room: only accounts the arrivals
	}
	if s := checkBalance(t, g); s.Offered != 333 {
		t.Fatalf("offered %d after 1000 ns at 1/3 per ns, want 333", s.Offered)
	}
	// A very long pause does not overflow.
	c.add(1 << 62)
	recvRate(g, 0, pool)
	checkBalance(t, g)
}

// arpFrame is a 64-byte frame with EtherType ARP, first byte id.
func arpFrame(id byte) []byte {
	f := make([]byte, 64)
	f[0] = id
	binary.BigEndian.PutUint16(f[12:], hdr.EtherTypeARP)
	return f
}

func TestRateGenARPCounts(t *testing.T) {
	fs := templates(8)
	fs[3] = arpFrame(3) // one ARP request in 8 frames
	g, c := newRate(fs, 1e6, 16)
	pool := pkt.NewPool(512)
	recvRate(g, 0, pool)
	c.add(80_000) // 80 arrivals: 10 ARP; 16 fit (2 ARP), 64 dropped (8 ARP)
	var v pkt.Batch
	g.Recv(0, &v, pool)
	s := checkBalance(t, g)
	if s.ARPOffered != 10 || s.ARPDropped != 8 {
		t.Fatalf("ARP offered %d dropped %d, want 10 and 8", s.ARPOffered, s.ARPDropped)
	}
	// Send counts what comes back, ARP apart.
	g.Send(0, &v, pool)
	if s := g.Stats(); s.Sent != 16 || s.ARPSent != 2 {
		t.Fatalf("sent %d (ARP %d), want 16 (2)", s.Sent, s.ARPSent)
	}
	// Across several cycles of templates, arpsIn agrees with a count.
	for from := range 8 {
		for n := range uint64(40) {
			want := uint64(0)
			for i := range n {
				if (from+int(i))%8 == 3 {
					want++
				}
			}
			if got := g.arpsIn(from, n); got != want {
				t.Fatalf("arpsIn(%d, %d) = %d, want %d", from, n, got, want)
			}
		}
	}
	if pool.Free() != 512 {
		t.Fatalf("leaked %d buffers", 512-pool.Free())
	}
}

func TestRateGenMixedLengths(t *testing.T) {
	fs := [][]byte{make([]byte, 60), make([]byte, 100), make([]byte, 42)}
	for i := range fs {
		fs[i][0] = byte(i)
	}
	g, c := newRate(fs, 1e6, 64)
	pool := pkt.NewPool(64)
	recvRate(g, 0, pool)
	c.add(6_000)
	var v pkt.Batch
	if n := g.Recv(0, &v, pool); n != 6 {
		t.Fatalf("got %d frames", n)
	}
	for i, x := range v.B[:v.N] {
		b := pkt.At(x)
		if f := b.Bytes(); len(f) != len(fs[i%3]) || f[0] != byte(i%3) {
			t.Fatalf("frame %d: len %d id %d", i, len(f), f[0])
		}
	}
	pool.PutBatch(&v)
}

func TestRateGenQueueLines(t *testing.T) {
	if s := unsafe.Sizeof(rateQueue{}); s%lineSize != 0 {
		t.Fatalf("rateQueue is %d bytes, not a multiple of %d", s, lineSize)
	}
	g := NewRateGenQueues("r", templates(4), 1e6, 0, 3)
	if g.Ring() != DefaultRing || g.Queues() != 3 {
		t.Fatalf("ring %d queues %d", g.Ring(), g.Queues())
	}
	if a := uintptr(unsafe.Pointer(&g.q[0])); a%lineSize != 0 {
		t.Fatalf("queue state at %#x, not %d-aligned", a, lineSize)
	}
}

func TestRateGenZeroAlloc(t *testing.T) {
	fs := templates(64)
	fs[7] = arpFrame(7)
	g, c := newRate(fs, 1e9, 1024) // 1 frame per ns: always overloaded
	pool := pkt.NewPool(1024)
	var v pkt.Batch
	allocs := testing.AllocsPerRun(1000, func() {
		c.add(1000)
		g.Recv(0, &v, pool)
		g.Backlog(0)
		g.Send(0, &v, pool)
	})
	if allocs != 0 {
		t.Fatalf("%v allocations per Recv/Send", allocs)
	}
	if s := checkBalance(t, g); s.IfqDrops == 0 || s.ARPSent == 0 {
		t.Fatalf("%+v", s)
	}
}

func BenchmarkRateGenRecv(b *testing.B) {
	g := NewRateGen("r", templates(1024), 1e10, 0) // always a full ring
	pool := pkt.NewPool(1024)
	var v pkt.Batch
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		n += g.Recv(0, &v, pool)
		pool.PutBatch(&v)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(max(n, 1)), "ns/pkt")
}

// TestRateGenARPPending: ARPPending counts the ARP frames still in the
// ring, so ARP frames offered = dropped at the tail + handed out by Recv +
// pending, exactly, at every step (the overload benchmark's accounting).
func TestRateGenARPPending(t *testing.T) {
	fs := templates(8)
	fs[3] = arpFrame(3) // one ARP request in 8 frames
	g, c := newRate(fs, 1e6, 16)
	pool := pkt.NewPool(512)
	recvRate(g, 0, pool)
	var delivered uint64
	for step := range 200 {
		c.add(int64(1000 + step*337%9000)) // 1..10 arrivals
		for _, id := range recvRate(g, step%7*3, pool) {
			if id == 3 {
				delivered++
			}
		}
		s := checkBalance(t, g)
		if s.ARPOffered != s.ARPDropped+delivered+s.ARPPending {
			t.Fatalf("step %d: ARP offered %d != dropped %d + delivered %d + pending %d", step, s.ARPOffered, s.ARPDropped, delivered, s.ARPPending)
		}
		if s.ARPPending > s.Pending {
			t.Fatalf("step %d: %d ARP pending of %d frames", step, s.ARPPending, s.Pending)
		}
	}
	if s := g.Stats(); s.ARPPending == 0 && s.Pending >= 8 {
		t.Errorf("no ARP pending in a ring of %d frames", s.Pending)
	}
}
