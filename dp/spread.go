package dp

import (
	"fmt"
	"sync/atomic"

	"github.com/softnet/softnet/pkt"
	"github.com/softnet/softnet/rss"
)

// Software RSS.
//
// A NIC with several receive queues spreads flows over workers by itself:
// it hashes each packet's addresses and ports (Toeplitz) and puts the
// packet on the queue the hash picks. A port with fewer queues than there
// are workers (a pcap file, a single-queue device, a mem port) cannot, so
// the worker that polls such a queue does it in software: it hashes every
// packet it receives with the same symmetric Toeplitz key (rss.Frame),
// keeps the packets whose flows it owns and hands the others to their
// owners over lanes. Both directions of a flow are then handled by one
// worker, as with a NIC's RSS using the same symmetric key, as long as
// every port the flow crosses is spread this way (a multi-queue
// AF_PACKET port spreads by the kernel's fanout hash instead, which is
// not this Toeplitz hash).
//
// A lane joins the spreading worker (producer) to one other worker
// (consumer) for one receive queue. It has two single-producer
// single-consumer rings of buffer indices (BufRing), moved in bulk: one
// atomic store per batch on each side, never per packet, no lock, no
// channel. The forward ring carries received packets; the return ring
// carries as many free buffers back, so both workers' pools keep their
// size: buffers are fungible (same size, same layout), so the consumer
// gives back buffers of its own rather than waiting for the very ones it
// received to be transmitted. A full forward ring drops the packet at the
// tail, counted as ethernet-input/rss-ring-full: an ifq drop, the
// consumer is behind.
//
// The consumer runs a lane's batch through the graph like a batch it
// received itself, as received on the lane's interface, so per-interface
// counters, ARP and ICMP errors behave the same on every worker.

// BufRing is a bounded single-producer single-consumer queue of buffer
// indices with bulk enqueue and dequeue. Each side keeps a private copy
// of the other side's index and reads the shared one only when that copy
// says the ring is full (producer) or empty (consumer), so in steady state
// a batch costs one atomic load and one atomic store per side.
type BufRing struct {
	_    [64]byte
	head atomic.Uint64 // next slot to read; written by the consumer
	_    [56]byte
	tail atomic.Uint64 // next slot to write; written by the producer
	_    [56]byte
	// headCache is the producer's last reading of head; tailCache the
	// consumer's last reading of tail. Each is written by one side only,
	// on a line of its own.
	headCache uint64
	_         [56]byte
	tailCache uint64
	_         [56]byte
	slots     []uint32
	mask      uint64
}

// NewBufRing makes a ring of n slots (rounded up to a power of two, at
// least one batch).
func NewBufRing(n int) *BufRing {
	size := pkt.BatchSize
	for size < n {
		size <<= 1
	}
	return &BufRing{slots: make([]uint32, size), mask: uint64(size - 1)}
}

// Cap is the number of slots.
func (r *BufRing) Cap() int { return len(r.slots) }

// Enqueue appends as many of bs as fit, in order, and returns how many.
// The caller gives up those buffers; the others stay its own. Producer
// only.
func (r *BufRing) Enqueue(bs []uint32) int {
	t := r.tail.Load()
	size := uint64(len(r.slots))
	free := size - (t - r.headCache)
	if free < uint64(len(bs)) {
		r.headCache = r.head.Load()
		free = size - (t - r.headCache)
	}
	n := min(uint64(len(bs)), free)
	for i := range n {
		r.slots[(t+i)&r.mask] = bs[i]
	}
	if n > 0 {
		r.tail.Store(t + n)
	}
	return int(n)
}

// Dequeue moves up to len(dst) buffers, oldest first, into dst and
// returns how many. The caller owns them. Consumer only.
func (r *BufRing) Dequeue(dst []uint32) int {
	h := r.head.Load()
	avail := r.tailCache - h
	if avail < uint64(len(dst)) {
		r.tailCache = r.tail.Load()
		avail = r.tailCache - h
	}
	n := min(uint64(len(dst)), avail)
	for i := range n {
		s := &r.slots[(h+i)&r.mask]
		dst[i], *s = *s, 0
	}
	if n > 0 {
		r.head.Store(h + n)
	}
	return int(n)
}

// Len is the number of buffers waiting (racy: for statistics).
func (r *BufRing) Len() int { return int(r.tail.Load() - r.head.Load()) }

// lane carries one spread receive queue's packets from its poller to one
// other worker, and free buffers back.
type lane struct {
	fwd, ret *BufRing
	iface    uint16
	// The wakers of the consumer (woken after a forward enqueue) and of
	// the producer (after a return enqueue: its pool may be what it
	// waits for); see idle.go.
	cons, prod *waker
	// owed is the consumer's count of buffers it received and has not yet
	// paid back (its pool was short, or the return ring full): paid on
	// its next turns. Consumer only.
	owed int
}

// spreader is a spread receive queue's dispatch state on its poller.
type spreader struct {
	self  int        // the poller's position in the worker list
	table rss.Table  // hash -> worker position
	lanes []*lane    // by worker position; nil for self
	out   [][]uint32 // per worker position: this batch's packets for it
}

// DefaultLaneSize is the number of slots of each lane ring: four batches,
// enough to ride out a consumer's short stall without drops.
const DefaultLaneSize = 4 * pkt.BatchSize

// Spread connects ws for software RSS. Every receive queue of theirs
// marked Spread is hashed by the worker that polls it, which hands the
// packets of flows owned by other workers to them over lanes of laneSize
// slots each (DefaultLaneSize if 0). Flows are owned by the worker that
// rss.NewTable(len(ws)) picks for their hash, by position in ws. Call it
// once, before any worker runs; it returns an error if a worker is
// already connected or ws holds more workers than a table can name.
func Spread(ws []*Worker, laneSize int) error {
	if laneSize <= 0 {
		laneSize = DefaultLaneSize
	}
	if len(ws) > rss.TableSize {
		return fmt.Errorf("software RSS: %d workers, at most %d", len(ws), rss.TableSize)
	}
	for _, w := range ws {
		if w.spread != nil || len(w.lanesIn) > 0 {
			return fmt.Errorf("software RSS: worker %d is already connected", w.ID)
		}
	}
	if len(ws) < 2 {
		return nil
	}
	table := rss.NewTable(len(ws))
	for p, w := range ws {
		for i, q := range w.rxq {
			if !q.Spread {
				continue
			}
			if w.spread == nil {
				w.spread = make([]*spreader, len(w.rxq))
				w.hasher = rss.New(rss.SymmetricKey)
			}
			sp := &spreader{self: p, table: table, lanes: make([]*lane, len(ws)), out: make([][]uint32, len(ws))}
			for t, c := range ws {
				if t == p {
					continue
				}
				l := &lane{fwd: NewBufRing(laneSize), ret: NewBufRing(laneSize), iface: uint16(q.Iface), cons: c.wk, prod: w.wk}
				sp.lanes[t] = l
				sp.out[t] = make([]uint32, 0, pkt.BatchSize)
				w.lanesOut = append(w.lanesOut, l)
				c.lanesIn = append(c.lanesIn, l)
			}
			w.spread[i] = sp
		}
	}
	return nil
}

// spreadBatch keeps in v the packets whose flows this worker owns and
// hands each other packet to its owner's lane, in bulk: one enqueue per
// owner per batch. A packet whose lane is full is dropped (rss-ring-full).
// Frames that rss.Frame cannot hash (ARP, malformed) hash to 0, so they
// all go to one worker, as a NIC sends them to queue 0.
func (w *Worker) spreadBatch(sp *spreader, v *pkt.Batch) {
	k := 0
	for _, x := range v.B[:v.N] {
		b := pkt.At(x)
		h, _ := w.hasher.Frame(b.Bytes())
		t := sp.table.Queue(h)
		if t == sp.self {
			v.B[k] = x
			k++
			continue
		}
		sp.out[t] = append(sp.out[t], x)
	}
	clear(v.B[k:v.N])
	v.N = k
	for t, o := range sp.out {
		if len(o) == 0 {
			continue
		}
		l := sp.lanes[t]
		e := l.fwd.Enqueue(o)
		if e > 0 {
			l.cons.wake() // one atomic load per lane per batch while it is awake
		}
		w.c.Spread += uint64(e)
		w.c.Drops[rssRingFull] += uint64(len(o) - e)
		w.pool.PutN(o[e:])
		clear(o)
		sp.out[t] = o[:0]
	}
}

// takeReturns puts the free buffers consumers sent back into the pool.
func (w *Worker) takeReturns() {
	for _, l := range w.lanesOut {
		for {
			n := l.ret.Dequeue(w.scratch[:])
			if n == 0 {
				break
			}
			w.pool.PutN(w.scratch[:n])
		}
	}
}

// payBack sends free buffers from the pool back to l's producer for the
// ones received: as many as owed, less any the pool or the ring cannot
// spare now (they stay owed).
func (w *Worker) payBack(l *lane) {
	for l.owed > 0 {
		n := w.pool.GetN(w.scratch[:min(l.owed, len(w.scratch))])
		if n == 0 {
			return
		}
		e := l.ret.Enqueue(w.scratch[:n])
		if e > 0 {
			l.prod.wake()
		}
		w.pool.PutN(w.scratch[e:n])
		l.owed -= e
		if e < n {
			return
		}
	}
}

// pollLanes runs the batches other workers handed to this one through
// the graph, one batch per lane per poll, and returns how many packets
// it took.
func (w *Worker) pollLanes(cfg *Config, armed bool) int {
	total := 0
	for _, l := range w.lanesIn {
		in := w.frames[stageRx]
		n := l.fwd.Dequeue(in.B[:])
		if n == 0 {
			if l.owed > 0 {
				w.payBack(l)
			}
			continue
		}
		in.N = n
		l.owed += n
		w.payBack(l)
		total += n
		w.c.Batches++
		w.rxIf = l.iface
		if armed {
			w.traceMark(in)
		}
		if w.arcs.at[stageRx] != ArcNone {
			w.deviceInput()
		}
		w.run(cfg)
		if w.tracing {
			w.traceEnd()
		}
	}
	return total
}

// rssRingFull is the reason a packet the lane to its worker had no room
// for is dropped under: ethernet-input's (the node the batch was for).
var rssRingFull Reason

var _ = RefReason("ethernet-input", "rss-ring-full", &rssRingFull)
