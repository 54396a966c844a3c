package dp

import (
	"net/netip"
	"sync/atomic"

	"github.com/softnet/softnet/hdr"
	"github.com/softnet/softnet/pkt"
)

// MsgKind says what a Msg carries.
type MsgKind uint8

const (
	// PuntARP: an ARP packet the control plane should learn from.
	PuntARP MsgKind = iota + 1
	// PuntResolve: a packet waiting for the neighbour Addr on Iface to be
	// resolved; the control plane queues it and ARPs.
	PuntResolve
	// InjectTx: a frame the control plane built (ARP request or reply), to
	// send as is on Iface.
	InjectTx
	// InjectLookup: an IPv4 packet that waited for resolution, to route
	// again from ip4-lookup (the frame of a PuntResolve, given back).
	InjectLookup
	// PuntND: a Neighbor Discovery message (RFC 4861) nd-input checked,
	// for the control plane to answer and learn from; Addr is its IPv6
	// source.
	PuntND
	// InjectLookup6: an IPv6 packet that waited for Neighbor Discovery,
	// to route again from ip6-lookup (InjectLookup's IPv6 twin).
	InjectLookup6
	// PuntHost: a frame for the host interface (linux_cp's TAP) of Iface,
	// as received but untagged (a VLAN sub-interface's tags taken out):
	// traffic to the router's addresses that softnet does not answer
	// itself (host-punt, package dp/hostpunt).
	PuntHost
)

// Msg is one packet copied between a worker and the control plane. Copying
// (at most one frame per ARP or per resolution) keeps worker pools and the
// control plane's memory apart: no buffer changes hands across goroutines.
type Msg struct {
	Kind  MsgKind
	Iface uint16
	Len   uint16
	// Addr is the address to resolve (PuntResolve) or the ARP sender
	// (PuntARP), IPv4 or IPv6 alike in 16 bytes: an IPv4 address is
	// IPv4-mapped (::ffff:a.b.c.d, RFC 4291 §2.5.5.2). IP reads it;
	// SetAddr4 writes an IPv4 one without allocating.
	Addr [16]byte
	Data [pkt.MaxFrame]byte
}

// IP returns Addr: an IPv4 address (unmapped) or an IPv6 one.
func (m *Msg) IP() netip.Addr { return netip.AddrFrom16(m.Addr).Unmap() }

// SetAddr4 sets Addr to the IPv4 address v (as hdr reads it: the first
// byte on the wire is the most significant), IPv4-mapped.
func (m *Msg) SetAddr4(v uint32) {
	m.Addr = Mapped4(v)
}

// PuntResolve and InjectLookup frames are an IPv4 packet behind a 14-byte
// link-header slot. The slot's bytes are scratch (ip4-rewrite writes the
// real header), so it carries the packet's metadata across the control
// plane and back: bytes 0-1 the interface it arrived on, byte 2 its flags.
// The control plane keeps such frames whole and never looks at the slot.
// PutMeta writes b's metadata into m's slot, GetMeta reads it back.

func PutMeta(m *Msg, b *pkt.Buf) {
	m.Data[0], m.Data[1], m.Data[2] = byte(b.InPort>>8), byte(b.InPort), b.Flags
}

func GetMeta(m *Msg, b *pkt.Buf) {
	b.InPort = uint16(m.Data[0])<<8 | uint16(m.Data[1])
	b.Flags = m.Data[2]
}

// Frame returns the message's frame.
func (m *Msg) Frame() []byte { return m.Data[:m.Len] }

// SetFrame copies f into the message.
func (m *Msg) SetFrame(f []byte) { m.Len = uint16(copy(m.Data[:], f)) }

// Ring is a bounded single-producer single-consumer queue of Msg slots,
// used between one worker and the control plane in each direction. The
// producer fills a slot in place (Reserve, Commit) and the consumer reads
// it in place (Peek, Release): no allocation, one atomic store per message.
// A worker's inject ring wakes the worker when a commit finds it asleep
// (one more atomic load per message while it is awake; see idle.go). A
// worker's punt ring wakes the control plane through its Bell (SetBell),
// once per poll that punted (Notify), not per message.
type Ring struct {
	_     [64]byte
	head  atomic.Uint64 // next slot to read; written by the consumer
	_     [56]byte
	tail  atomic.Uint64 // next slot to write; written by the producer
	_     [56]byte
	slots []Msg
	mask  uint64
	wk    *waker // the consumer's, or nil
	bell  *Bell  // the consumer's, or nil: Notify rings it
}

// NewRing makes a ring of n slots (rounded up to a power of two).
func NewRing(n int) *Ring {
	size := 1
	for size < n {
		size <<= 1
	}
	return &Ring{slots: make([]Msg, size), mask: uint64(size - 1)}
}

// Reserve returns the slot to fill next, or nil if the ring is full.
// Producer only.
func (r *Ring) Reserve() *Msg {
	t := r.tail.Load()
	if t-r.head.Load() > r.mask {
		return nil
	}
	return &r.slots[t&r.mask]
}

// Commit publishes the slot returned by Reserve and wakes the consumer
// if it is a worker asleep. Producer only.
func (r *Ring) Commit() {
	r.tail.Add(1)
	r.wk.wake() // after the store: see the ordering in idle.go
}

// Peek returns the oldest message, or nil if the ring is empty. Consumer
// only; the slot stays valid until Release.
func (r *Ring) Peek() *Msg {
	h := r.head.Load()
	if h == r.tail.Load() {
		return nil
	}
	return &r.slots[h&r.mask]
}

// Release frees the slot returned by Peek. Consumer only.
func (r *Ring) Release() { r.head.Add(1) }

// Len is the number of messages waiting.
func (r *Ring) Len() int { return int(r.tail.Load() - r.head.Load()) }

// SetBell makes Notify ring b (the consumer's; nil: none). Call it before
// the producer starts.
func (r *Ring) SetBell(b *Bell) { r.bell = b }

// Notify rings the consumer's Bell if the consumer sleeps: one atomic load
// when it does not. A producer that commits messages in batches calls it
// once after a batch that committed any. Producer only.
func (r *Ring) Notify() { r.bell.Ring() }

// Bell wakes a goroutine that consumes rings and waits on other things
// too (the control plane's service loop: punt rings, timers, API calls),
// without a lost wake-up, and without a channel operation while it is
// awake: a worker's waker (idle.go) with a channel for the eventfd.
//
//	consumer                          producer
//	Sleep()                           commit messages (atomic store)
//	re-check its rings                Notify() (Ring(): load the state)
//	wait on C() (and the rest)        if sleeping: CAS to woken, send on C
//	Awake()
//
// As in idle.go, both sides store, then load the other's variable, so
// either the producer sees sleeping and sends, or the consumer's re-check
// sees the message. A send that races with a wake for another reason
// leaves a token that Awake drains.
type Bell struct {
	_     [64]byte
	state atomic.Uint32
	_     [60]byte
	c     chan struct{}
}

// NewBell makes a Bell, awake.
func NewBell() *Bell { return &Bell{c: make(chan struct{}, 1)} }

// C is the channel the consumer waits on between Sleep and Awake.
func (b *Bell) C() <-chan struct{} { return b.c }

// Sleep says the consumer is about to wait: it must then re-check what it
// consumes before it waits on C.
func (b *Bell) Sleep() { b.state.Store(sleeping) }

// Awake says the consumer no longer waits; producers ring nothing until
// the next Sleep.
func (b *Bell) Awake() {
	b.state.Store(awake)
	select {
	case <-b.c:
	default:
	}
}

// Ring wakes the consumer if it sleeps. One atomic load when it does not;
// safe for any number of producers, and on a nil Bell (no-op).
func (b *Bell) Ring() {
	if b == nil || b.state.Load() != sleeping || !b.state.CompareAndSwap(sleeping, woken) {
		return
	}
	select {
	case b.c <- struct{}{}:
	default:
	}
}

// PuntResolve hands b, a packet waiting for the neighbour addr on iface,
// to the control plane (ip4-arp and ip6-nd): it copies the packet with
// its 14-byte link-header slot and metadata into the punt ring, counts it
// and frees b. It returns false, keeping b, when the ring is full.
func (w *Worker) PuntResolve(b *pkt.Buf, iface uint16, addr [16]byte) bool {
	m := w.Punt().Reserve()
	if m == nil {
		return false
	}
	m.Kind, m.Iface, m.Addr = PuntResolve, iface, addr
	raw := b.Raw()
	l3off := int(b.Off) + int(b.L3)
	m.SetFrame(raw[l3off-hdr.EthernetLen : int(b.Off)+int(b.Len)])
	PutMeta(m, b)
	w.Punt().Commit()
	w.Stats().Punts++
	w.Stats().Resolves++
	w.Pool().Put(b)
	return true
}
