package mem

import (
	"unsafe"

	"github.com/softnet/softnet/pkt"
)

// lineSize is the stride between two queues' state: two 64-byte cache
// lines, because x86's adjacent-line prefetcher pulls lines in pairs, so
// state on neighbouring lines would still bounce between cores.
const lineSize = 128

// Gen is a generator port with any number of receive queues: Recv on
// queue q fills the batch with copies of template frames, cycling through
// them from q's own offset; Send counts (per queue) and frees, so a Gen is
// also a sink for what the router sends back, such as ICMP errors.
//
// Each queue has its own cursor and counters on their own cache lines: a
// worker polling queue q writes only q's lines, and the templates are
// read-only, so workers on different queues share no written cache line.
type Gen struct {
	name   string
	frames []byte // count frames of size bytes each, back to back
	size   int
	count  int
	limit  uint64 // frames to generate per queue; 0 = no limit
	q      []genQueue
}

// genQueue is one queue's state, padded to its own lines. A slice of them
// is 128-byte aligned: Go's size classes from 128 bytes up are multiples
// of 128 and objects start at multiples of their class in a page-aligned
// span.
type genQueue struct {
	next      int // template index of the next frame
	generated uint64
	sent      uint64
	_         [lineSize - 24]byte
}

// NewGen makes a one-queue generator cycling through frames, which must
// all have the same length.
func NewGen(name string, frames [][]byte) *Gen { return NewGenQueues(name, frames, 1) }

// NewGenQueues makes a generator with queues receive queues (at least 1).
// Queue q starts at template q*len(frames)/queues, so workers polling
// different queues do not replay the same sequence in lockstep.
func NewGenQueues(name string, frames [][]byte, queues int) *Gen {
	g := &Gen{name: name, count: len(frames), q: make([]genQueue, max(queues, 1))}
	if len(frames) > 0 {
		g.size = len(frames[0])
	}
	g.frames = make([]byte, 0, g.size*g.count)
	for _, f := range frames {
		if len(f) != g.size {
			panic("mem.NewGen: template frames differ in length")
		}
		g.frames = append(g.frames, f...)
	}
	for i := range g.q {
		g.q[i].next = i * g.count / len(g.q)
	}
	return g
}

// copy64 copies a 64-byte frame in eight word moves. It is small enough to
// inline (binary.LittleEndian's helpers are not, eight of them), so the
// generator's loop makes no call per frame: a call spills the loop's
// registers. Frames and generator buffers are 8-byte aligned.
func copy64(d, s *[64]byte) {
	dw, sw := (*[8]uint64)(unsafe.Pointer(d)), (*[8]uint64)(unsafe.Pointer(s))
	dw[0], dw[1], dw[2], dw[3] = sw[0], sw[1], sw[2], sw[3]
	dw[4], dw[5], dw[6], dw[7] = sw[4], sw[5], sw[6], sw[7]
}

// SetLimit makes each queue stop after n frames (0: never). Call it while
// no worker polls the generator.
func (g *Gen) SetLimit(n uint64) { g.limit = n }

// Queues is the number of receive queues.
func (g *Gen) Queues() int { return len(g.q) }

// TxQueues implements port.TxQueuer: as many transmit queues (each with
// its own sent counter) as receive queues.
func (g *Gen) TxQueues() int { return len(g.q) }

// QueueGenerated is the number of frames received from queue q.
func (g *Gen) QueueGenerated(q int) uint64 { return g.q[q].generated }

// QueueSent is the number of frames sent to queue q (see Send).
func (g *Gen) QueueSent(q int) uint64 { return g.q[q].sent }

// Generated is the number of frames received from all queues. Read it
// when no worker polls the generator.
func (g *Gen) Generated() uint64 {
	var n uint64
	for i := range g.q {
		n += g.q[i].generated
	}
	return n
}

// Sent is the number of frames sent to all queues. Read it when no worker
// polls the generator.
func (g *Gen) Sent() uint64 {
	var n uint64
	for i := range g.q {
		n += g.q[i].sent
	}
	return n
}

// Name implements port.Port.
func (g *Gen) Name() string { return g.name }

// Recv implements port.Port: it appends up to v.Room() template frames
// from queue's sequence. A queue the generator does not have receives
// nothing.
func (g *Gen) Recv(queue int, v *pkt.Batch, pool *pkt.Pool) int {
	if g.count == 0 || uint(queue) >= uint(len(g.q)) {
		return 0
	}
	q := &g.q[queue]
	want := v.Room()
	if g.limit > 0 {
		want = int(min(uint64(want), g.limit-min(g.limit, q.generated)))
	}
	n := pool.GetN(v.B[v.N : v.N+want])
	size, next := g.size, q.next
	recs := pkt.Records()
	if size == 64 {
		// The benchmark's frame size: eight word moves, inline, instead
		// of a call to memmove, so the generator's own cost stays small.
		for _, x := range v.B[v.N : v.N+n] {
			b := recs.At(x)
			copy64((*[64]byte)(b.Reset(64)), (*[64]byte)(g.frames[next*64:]))
			next++
			if next == g.count {
				next = 0
			}
		}
	} else {
		for _, x := range v.B[v.N : v.N+n] {
			b := recs.At(x)
			copy(b.Reset(size), g.frames[next*size:(next+1)*size])
			next++
			if next == g.count {
				next = 0
			}
		}
	}
	q.next = next
	v.N += n
	q.generated += uint64(n)
	return n
}

// Send implements port.Port: counts and frees. The frames are counted on
// queue modulo the number of queues (workers pass their ID as the queue).
func (g *Gen) Send(queue int, v *pkt.Batch, pool *pkt.Pool) int {
	n := v.N
	g.q[uint(queue)%uint(len(g.q))].sent += uint64(n)
	pool.PutBatch(v)
	return n
}

// Sink is a port that receives nothing and counts the frames it is sent,
// per queue (the worker counts bytes per interface). Each queue's counter
// has its own cache lines, so workers sending on different queues share
// no written line.
type Sink struct {
	name string
	q    []sinkQueue
}

type sinkQueue struct {
	sent uint64
	_    [lineSize - 8]byte
}

// NewSink makes a one-queue sink.
func NewSink(name string) *Sink { return NewSinkQueues(name, 1) }

// NewSinkQueues makes a sink with queues transmit queues (at least 1).
func NewSinkQueues(name string, queues int) *Sink {
	return &Sink{name: name, q: make([]sinkQueue, max(queues, 1))}
}

// Name implements port.Port.
func (s *Sink) Name() string { return s.name }

// Queues is the number of transmit queues.
func (s *Sink) Queues() int { return len(s.q) }

// TxQueues implements port.TxQueuer (the same as Queues).
func (s *Sink) TxQueues() int { return len(s.q) }

// QueueSent is the number of frames sent on queue q.
func (s *Sink) QueueSent(q int) uint64 { return s.q[q].sent }

// Sent is the number of frames sent on all queues. Read it when no worker
// sends to the sink.
func (s *Sink) Sent() uint64 {
	var n uint64
	for i := range s.q {
		n += s.q[i].sent
	}
	return n
}

// Recv implements port.Port: a sink never receives.
func (s *Sink) Recv(int, *pkt.Batch, *pkt.Pool) int { return 0 }

// Send implements port.Port: counts and frees. The frames are counted on
// queue modulo the number of queues (workers pass their ID as the queue);
// two workers must not send on queues that map to the same counter.
func (s *Sink) Send(queue int, v *pkt.Batch, pool *pkt.Pool) int {
	n := v.N
	s.q[uint(queue)%uint(len(s.q))].sent += uint64(n)
	pool.PutBatch(v)
	return n
}
