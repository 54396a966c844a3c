package mem

import (
	"encoding/binary"
	"math/bits"
	"time"

	"github.com/softnet/softnet/hdr"
	"github.com/softnet/softnet/pkt"
)

// DefaultRing is RateGen's ring size when none is given: 1024 slots, a
// common NIC receive ring (ixgbe, i40e and mlx5 default to 512–1024).
const DefaultRing = 1024

// RateGen is a generator port that models a NIC receive ring fed at a
// fixed offered rate, whatever the consumer does: each queue's ring holds
// up to Ring frames; frames arrive at Rate per second (per queue), and
// those that find the ring full are dropped at its tail and counted
// (IfqDrops), as a NIC does when the host does not refill descriptors in
// time. Recv reads the clock once, adds the frames that arrived since the
// last call (rate × elapsed, the remainder carried), then hands out up to
// a batch from the head of the ring, copying template frames like Gen.
// Send counts what the router sends back (per queue, and ARP frames —
// EtherType 0x0806 — apart) and frees it.
//
// Templates may differ in length and may mix kinds, e.g. an ARP request
// every K frames, so a test can see whether the control plane's traffic
// survives overload. Arrivals walk the templates in order, cycling;
// a frame dropped at the tail still consumes its template.
//
// Hot path: no allocation, no lock, no syscall; one clock read per Recv.
// Each queue's state and counters sit on their own cache lines (see Gen).
// Read the counters when no worker polls the port.
type RateGen struct {
	name   string
	frames []byte // templates back to back
	off    []int  // template i is frames[off[i]:off[i+1]]
	count  int
	same   int      // the templates' common length, 0 if they differ
	arps   []uint32 // arps[i]: ARP templates among the first i
	ring   int
	rate   uint64 // frames per second per queue
	clock  func() int64
	q      []rateQueue
	spans  [][]span // per queue: the ring's frames as runs of templates (circular)
}

// rateQueue is one queue's ring state, cursor and counters. The struct is
// a multiple of lineSize and holds no pointer (an object with pointers
// above 512 bytes starts after an 8-byte header), so a slice of them is
// 128-byte aligned (see genQueue) and two queues share no line.
type rateQueue struct {
	head, ns   int    // first span in spans[q], spans in use
	n          int    // frames in the ring
	next       int    // template of the next arrival
	last       int64  // clock at the last Recv, 0 before the first
	carry      uint64 // arrivals × 1e9 not yet whole (rate × ns mod 1e9)
	offered    uint64
	delivered  uint64
	drops      uint64
	arpOffered uint64
	arpDropped uint64
	sent       uint64
	arpSent    uint64
	_          [lineSize - 104]byte
}

// span is a run of n frames in the ring: templates start, start+1, …
// (cycling). The frames that fit in the ring at one Recv are consecutive
// templates, so the ring stores one span per Recv rather than one index
// per frame: the generator's cost per frame stays that of Gen.
type span struct{ start, n int32 }

// NewRateGen makes a one-queue RateGen offering frames at rate frames per
// second into a ring of ring slots (DefaultRing if ring <= 0).
func NewRateGen(name string, frames [][]byte, rate float64, ring int) *RateGen {
	return NewRateGenQueues(name, frames, rate, ring, 1)
}

// NewRateGenQueues makes a RateGen with queues receive queues (at least
// 1), each with its own ring fed at rate frames per second. Queue q starts
// at template q*len(frames)/queues.
func NewRateGenQueues(name string, frames [][]byte, rate float64, ring, queues int) *RateGen {
	if ring <= 0 {
		ring = DefaultRing
	}
	g := &RateGen{
		name:  name,
		count: len(frames),
		off:   make([]int, len(frames)+1),
		arps:  make([]uint32, len(frames)+1),
		ring:  ring,
		rate:  uint64(max(rate, 0)),
		q:     make([]rateQueue, max(queues, 1)),
		spans: make([][]span, max(queues, 1)),
	}
	total := 0
	for _, f := range frames {
		total += len(f)
	}
	g.frames = make([]byte, 0, total)
	if len(frames) > 0 {
		g.same = len(frames[0])
	}
	for i, f := range frames {
		if len(f) > pkt.MaxFrame {
			panic("mem.NewRateGen: template frame larger than a buffer")
		}
		if len(f) != g.same {
			g.same = 0
		}
		g.frames = append(g.frames, f...)
		g.off[i+1] = len(g.frames)
		g.arps[i+1] = g.arps[i]
		if len(f) >= hdr.EthernetLen && binary.BigEndian.Uint16(f[12:]) == hdr.EtherTypeARP {
			g.arps[i+1]++
		}
	}
	start := time.Now()
	g.clock = func() int64 { return int64(time.Since(start)) + 1 } // monotonic, never 0
	for i := range g.q {
		g.spans[i] = make([]span, ring) // each span holds at least one frame
		if g.count > 0 {
			g.q[i].next = i * g.count / len(g.q)
		}
	}
	return g
}

// SetClock replaces the clock (nanoseconds, monotonic, never 0), for
// tests. Call it before the first Recv.
func (g *RateGen) SetClock(now func() int64) { g.clock = now }

// Rate is the offered rate per queue, in frames per second.
func (g *RateGen) Rate() uint64 { return g.rate }

// Ring is each queue's ring size.
func (g *RateGen) Ring() int { return g.ring }

// Queues is the number of receive queues.
func (g *RateGen) Queues() int { return len(g.q) }

// TxQueues implements port.TxQueuer: as many transmit queues as receive
// queues, each with its own counters.
func (g *RateGen) TxQueues() int { return len(g.q) }

// Name implements port.Port.
func (g *RateGen) Name() string { return g.name }

// arpsIn is the number of ARP templates among n arrivals from template
// from, cycling.
func (g *RateGen) arpsIn(from int, n uint64) uint64 {
	c := uint64(g.count)
	per := uint64(g.arps[g.count])
	if per == 0 || n == 0 {
		return 0
	}
	k := (n / c) * per
	rest := int(n % c)
	if end := from + rest; end <= g.count {
		k += uint64(g.arps[end] - g.arps[from])
	} else {
		k += uint64(g.arps[g.count]-g.arps[from]) + uint64(g.arps[end-g.count])
	}
	return k
}

// arrive adds the frames that arrived on q up to now: into the ring while
// it has room, then dropped at its tail.
func (g *RateGen) arrive(q *rateQueue, spans []span, now int64) {
	if q.last == 0 || now <= q.last {
		if q.last == 0 {
			q.last = now
		}
		return
	}
	el := uint64(now - q.last)
	q.last = now
	// arrivals = (rate × elapsed + carry) / 1e9, in 128 bits: a long
	// pause cannot overflow it.
	hi, lo := bits.Mul64(g.rate, el)
	lo, c := bits.Add64(lo, q.carry, 0)
	hi += c
	if hi >= 1e9 {
		hi, lo = 1e9-1, 0 // > 2^64 frames: beyond any counter anyway
	}
	n, rem := bits.Div64(hi, lo, 1e9)
	q.carry = rem
	if n == 0 {
		return
	}
	q.offered += n
	free := uint64(g.ring - q.n)
	in := min(n, free)
	q.arpOffered += g.arpsIn(q.next, n)
	if in > 0 {
		t := q.head + q.ns
		if t >= len(spans) {
			t -= len(spans)
		}
		spans[t] = span{int32(q.next), int32(in)}
		q.ns++
		q.n += int(in)
		q.next = g.advance(q.next, in)
	}
	if d := n - in; d > 0 {
		q.drops += d
		q.arpDropped += g.arpsIn(q.next, d)
		q.next = g.advance(q.next, d)
	}
}

// advance returns the template n arrivals after t.
func (g *RateGen) advance(t int, n uint64) int {
	if n < uint64(g.count) {
		if t += int(n); t >= g.count {
			t -= g.count
		}
		return t
	}
	return int((uint64(t) + n) % uint64(g.count))
}

// Recv implements port.Port: it accounts the arrivals since the last call
// (one clock read) and appends up to v.Room() frames from the head of
// queue's ring. A queue the port does not have receives nothing.
func (g *RateGen) Recv(queue int, v *pkt.Batch, pool *pkt.Pool) int {
	if g.count == 0 || uint(queue) >= uint(len(g.q)) {
		return 0
	}
	q := &g.q[queue]
	spans := g.spans[queue]
	g.arrive(q, spans, g.clock())
	want := min(v.Room(), q.n)
	if want == 0 {
		return 0
	}
	n := pool.GetN(v.B[v.N : v.N+want])
	out := v.B[v.N : v.N+n]
	for len(out) > 0 {
		s := &spans[q.head]
		k := min(int(s.n), len(out))
		t := int(s.start)
		if g.same == 64 {
			// The benchmark's frame size: word moves, as in Gen.
			for _, b := range out[:k] {
				copy64((*[64]byte)(b.Reset(64)), (*[64]byte)(g.frames[t*64:]))
				if t++; t == g.count {
					t = 0
				}
			}
		} else {
			for _, b := range out[:k] {
				f := g.frames[g.off[t]:g.off[t+1]]
				copy(b.Reset(len(f)), f)
				if t++; t == g.count {
					t = 0
				}
			}
		}
		out = out[k:]
		s.start, s.n = int32(t), s.n-int32(k)
		if s.n == 0 {
			if q.head++; q.head == len(spans) {
				q.head = 0
			}
			q.ns--
		}
	}
	q.n -= n
	v.N += n
	q.delivered += uint64(n)
	return n
}

// Backlog implements port.Backlogger: the frames in queue's ring after
// the last Recv. It does not read the clock.
func (g *RateGen) Backlog(queue int) int {
	if uint(queue) >= uint(len(g.q)) {
		return 0
	}
	return g.q[queue].n
}

// Send implements port.Port: counts (ARP frames apart) and frees. The
// frames are counted on queue modulo the number of queues (workers pass
// their ID as the queue).
func (g *RateGen) Send(queue int, v *pkt.Batch, pool *pkt.Pool) int {
	n := v.N
	q := &g.q[uint(queue)%uint(len(g.q))]
	q.sent += uint64(n)
	for _, b := range v.B[:n] {
		if f := b.Bytes(); len(f) >= hdr.EthernetLen && binary.BigEndian.Uint16(f[12:]) == hdr.EtherTypeARP {
			q.arpSent++
		}
	}
	pool.PutBatch(v)
	return n
}

// RateStats are a RateGen's counters, for one queue or summed. Offered =
// Delivered + IfqDrops + Pending at all times, and so for ARP frames:
// ARPOffered = ARP frames delivered + ARPDropped + ARPPending.
type RateStats struct {
	Offered    uint64 // frames that arrived at the ring
	Delivered  uint64 // frames handed out by Recv
	IfqDrops   uint64 // frames dropped at the ring's tail (ring full)
	Pending    uint64 // frames in the ring now
	ARPOffered uint64 // ARP frames among Offered
	ARPDropped uint64 // ARP frames among IfqDrops
	ARPPending uint64 // ARP frames among Pending (in the ring now)
	Sent       uint64 // frames the router sent to the port
	ARPSent    uint64 // ARP frames (EtherType 0x0806) among Sent
}

// QueueStats returns queue q's counters. ARPPending is counted over the
// ring's spans here, not kept on the hot path.
func (g *RateGen) QueueStats(q int) RateStats {
	s := &g.q[q]
	var arpPending uint64
	spans := g.spans[q]
	for i, t := 0, s.head; i < s.ns; i++ {
		arpPending += g.arpsIn(int(spans[t].start), uint64(spans[t].n))
		if t++; t == len(spans) {
			t = 0
		}
	}
	return RateStats{
		Offered: s.offered, Delivered: s.delivered, IfqDrops: s.drops, Pending: uint64(s.n),
		ARPOffered: s.arpOffered, ARPDropped: s.arpDropped, ARPPending: arpPending, Sent: s.sent, ARPSent: s.arpSent,
	}
}

// Stats returns the counters summed over all queues.
func (g *RateGen) Stats() RateStats {
	var t RateStats
	for i := range g.q {
		s := g.QueueStats(i)
		t.Offered += s.Offered
		t.Delivered += s.Delivered
		t.IfqDrops += s.IfqDrops
		t.Pending += s.Pending
		t.ARPOffered += s.ARPOffered
		t.ARPDropped += s.ARPDropped
		t.ARPPending += s.ARPPending
		t.Sent += s.Sent
		t.ARPSent += s.ARPSent
	}
	return t
}
