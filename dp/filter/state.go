package filter

import (
	"encoding/binary"
	"math/bits"
	"math/rand/v2"
	"unsafe"
)

// Key is a flow's 5-tuple normalised so that both directions give the
// same key: side A is the (address, port) pair that sorts first. An IPv4
// address is held IPv4-mapped. ICMP echo and other query messages use
// their identifier as both ports.
type Key struct {
	A, B   [16]byte
	PA, PB uint16
	Proto  uint8
	Fam    uint8
}

// TCP connection states of a peer, as pf (and the BSD stack) number them.
const (
	TCPClosed uint8 = iota
	TCPListen
	TCPSynSent
	TCPSynReceived
	TCPEstablished
	TCPCloseWait
	TCPFinWait1
	TCPClosing
	TCPLastAck
	TCPFinWait2
	TCPTimeWait
)

// TCPStateNames names the TCP states.
var TCPStateNames = [...]string{"CLOSED", "LISTEN", "SYN_SENT", "SYN_RCVD", "ESTABLISHED", "CLOSE_WAIT", "FIN_WAIT_1", "CLOSING", "LAST_ACK", "FIN_WAIT_2", "TIME_WAIT"}

// UDP and ICMP pseudo-states of a peer (pf's PFUDPS_*, PFOTHERS_*).
const (
	PseudoNone     uint8 = 0 // not heard from
	PseudoSingle   uint8 = 1 // sent packets
	PseudoMultiple uint8 = 2 // both sides sent
)

// Peer is one side's tracking: for TCP the sequence window as pf keeps it
// (seqlo: the highest sequence number sent; seqhi: the highest the other
// side's window allows; maxwin: the largest window seen; wscale: the
// window scale, with wsValid when the SYN carried the option). 12 bytes:
// both peers fit a state's slot beside its key, expiry and counters.
type Peer struct {
	SeqLo, SeqHi uint32
	MaxWin       uint16
	WScale       uint8
	State        uint8
}

const wsValid = 0x80

// State is a state as the control plane sees it (show states, states
// flush, a table remade for a new limit): the hot part a packet reads and
// writes (its slot) and the cold part (when, which rule, which
// interface, the full key) put together.
type State struct {
	K       Key
	Init    uint8     // the side (0: A, 1: B) that sent the first packet
	Expire  int64     // monotonic ns (see Now)
	Pkts    [2]uint64 // packets from side A, B
	Peer    [2]Peer
	Created int64
	Rule    int32 // the rule that made the state (its identity: Ruleset.RuleNumber), -1: the default policy
	Iface   uint16
}

// Timeouts per state class, in ns.
type Timeouts struct {
	TCPOpening, TCPEstablished, TCPClosing, TCPClosed, UDP, ICMP, Other int64
}

// Slot tags (slot.tag).
const (
	tagEmpty = 0
	tagIPv4  = 1 // the compact key is the whole key (an IPv4-mapped one)
	tagWide  = 2 // the compact key is a fold: the cold part's full key tells
)

// slot is the hot part of a state, one cache line (64 bytes, aligned on
// 64 in the table's slot array): everything a packet of an established
// flow reads and writes. The key is compact: an IPv4 flow's addresses,
// ports and protocol whole (12 + 1 bytes, the key itself); an IPv6
// flow's addresses folded into the same 8 bytes, its full key checked in
// the cold part (a second line for IPv6 hits only).
type slot struct {
	k0     uint64 // IPv4: A's last 4 bytes | B's << 32 (little endian); IPv6: a fold of A and B
	k1     uint32 // PA | PB << 16
	proto  uint8
	tag    uint8 // tagEmpty, tagIPv4, tagWide
	Init   uint8 // the side (0: A, 1: B) that sent the first packet
	seen   uint8 // TCP: bit side set once that side has sent a segment
	Expire int64 // monotonic ns (see Now)
	Pkts   [2]uint64
	Peer   [2]Peer
}

// cold is the part of a state only slow paths read: the full key (an
// IPv6 state's lookups too), when it was made, by which rule, on which
// interface. The table's cold array is parallel to its slots (state i's
// cold part is cold[i]), so it needs no index of its own.
type cold struct {
	K       Key
	Created int64
	Rule    int32
	Iface   uint16
}

// Table is one worker's state table: an open-addressed array of 64-byte
// slots, a power of two of them (at least 4/3 of the limit: at most 3/4
// full), each state in its home slot (its key's hash) or, when that is
// taken, the next free one after it (linear probing by slot; a deletion
// shifts the states behind it back, so there are no tombstones and a
// lookup stops at the first empty slot). A state hit reads and writes
// one cache line, its slot, which the vector's first pass prefetched
// (LookupBatch); the cold parts sit in a parallel array that only the
// slow paths touch (a new state, an IPv6 key's check, show states). Only
// its worker touches it.
type Table struct {
	slots []slot
	cold  []cold
	mask  uint64
	n     int
	limit int
	sweep uint64 // next slot the per-vector sweep looks at
	swept int64  // the clock of the last sweepDue
	carry uint64 // the slots due but not swept yet, times sweepPeriod

	// Counters of this worker (written by it, read on other goroutines:
	// see Holder.Stats): states inserted, removed on expiry, flushed,
	// refused at the limit.
	stats tableStats
}

// slotsFor is the number of slots of a table for limit states: a power
// of two, at least 4/3 of the limit (and more than it: a probe always
// finds a free slot).
func slotsFor(limit int) int {
	return max(2, 1<<bits.Len(uint(limit+(limit+2)/3-1)))
}

// NewTable makes a table for at most limit states.
func NewTable(limit int) *Table {
	if limit < 1 {
		limit = 1
	}
	ns := slotsFor(limit)
	t := &Table{mask: uint64(ns - 1), limit: limit}
	t.slots, t.cold = hugeSlice[slot](t, ns), hugeSlice[cold](t, ns)
	return t
}

// Len is the number of states, Limit the most it takes.
func (t *Table) Len() int   { return t.n }
func (t *Table) Limit() int { return t.limit }

// hashSeed keys the table's hash, drawn once per process, so that no one
// outside can pick flows that share a home slot.
var hashSeed = [3]uint64{rand.Uint64() | 1, rand.Uint64() | 1, rand.Uint64() | 1}

// mum is the folded 128-bit product of x and y: every bit of either
// input reaches every bit of the result (wyhash's mixer).
func mum(x, y uint64) uint64 {
	hi, lo := bits.Mul64(x, y)
	return hi ^ lo
}

const hashMul = 0x9E3779B97F4A7C15

// hash4 is an IPv4 key's hash from its addresses' word x (A's last 4
// bytes | B's << 32, little endian) and p (ports, protocol, family).
func hash4(x, p uint64) uint64 {
	return mum(mum(x^hashSeed[0], p^hashSeed[1])^hashSeed[2], hashMul)
}

// hash is k's hash: its home slot from the low bits. Every bit of the
// key reaches it (IPv4 flows differ mostly in the last bytes of their
// addresses and in their ports).
func (k *Key) hash() uint64 {
	p := uint64(k.PA) | uint64(k.PB)<<16 | uint64(k.Proto)<<32 | uint64(k.Fam)<<40
	if k.Fam == 4 {
		// An IPv4 key's addresses fit one word (the rest of A and B is
		// the mapping's constant prefix): two products instead of three.
		le := binary.LittleEndian
		return hash4(uint64(le.Uint32(k.A[12:]))|uint64(le.Uint32(k.B[12:]))<<32, p)
	}
	a := mum(binary.LittleEndian.Uint64(k.A[:8])^hashSeed[0], binary.LittleEndian.Uint64(k.A[8:])^hashMul)
	b := mum(binary.LittleEndian.Uint64(k.B[:8])^hashSeed[1], binary.LittleEndian.Uint64(k.B[8:])^hashMul)
	return mum(a^p^hashSeed[2], b^hashMul)
}

// mapped4 is bytes 8 to 11 of an IPv4-mapped address, little endian.
const mapped4 = 0xffff0000

// compact returns k's compact form as a slot holds it (k0, k1, tag).
func (k *Key) compact() (k0 uint64, k1 uint32, tag uint8) {
	le := binary.LittleEndian
	k1 = uint32(k.PA) | uint32(k.PB)<<16
	if k.Fam == 4 && le.Uint64(k.A[:8])|le.Uint64(k.B[:8]) == 0 && le.Uint32(k.A[8:]) == mapped4 && le.Uint32(k.B[8:]) == mapped4 {
		return uint64(le.Uint32(k.A[12:])) | uint64(le.Uint32(k.B[12:]))<<32, k1, tagIPv4
	}
	a := le.Uint64(k.A[:8]) ^ le.Uint64(k.A[8:])
	b := le.Uint64(k.B[:8]) ^ le.Uint64(k.B[8:])
	return a ^ bits.RotateLeft64(b, 32) ^ uint64(k.Fam), k1, tagWide
}

// eq reports whether k and o are the same key, in word compares (the
// struct's == calls memequal for its 38 bytes).
func (k *Key) eq(o *Key) bool {
	le := binary.LittleEndian
	return le.Uint64(k.A[8:]) == le.Uint64(o.A[8:]) && le.Uint64(k.B[8:]) == le.Uint64(o.B[8:]) &&
		le.Uint64(k.A[:8]) == le.Uint64(o.A[:8]) && le.Uint64(k.B[:8]) == le.Uint64(o.B[:8]) &&
		k.PA == o.PA && k.PB == o.PB && k.Proto == o.Proto && k.Fam == o.Fam
}

// home is the home slot of the state in slot i: from the slot alone for
// an IPv4 state, from the cold part's key for others.
func (t *Table) home(i uint64) uint64 {
	s := &t.slots[i]
	if s.tag == tagIPv4 {
		return hash4(s.k0, uint64(s.k1)|uint64(s.proto)<<32|4<<40) & t.mask
	}
	return t.cold[i].K.hash() & t.mask
}

// locate returns the slot of k's state (hash h), -1 when it has none: a
// walk from the home slot to the state or the first empty slot.
func (t *Table) locate(k *Key, h uint64) int {
	k0, k1, tag := k.compact()
	proto := k.Proto
	for i := h & t.mask; ; i = (i + 1) & t.mask {
		s := &t.slots[i]
		if s.k0 == k0 && s.k1 == k1 && s.proto == proto && s.tag == tag && (tag == tagIPv4 || t.cold[i].K.eq(k)) {
			return int(i)
		}
		if s.tag == tagEmpty {
			return -1
		}
	}
}

// Find returns k's state, or nil. An expired state is removed and not
// returned (lazy expiry).
func (t *Table) Find(k *Key, now int64) *slot { return t.findHash(k, k.hash(), now) }

// findHash is Find with k's hash given.
func (t *Table) findHash(k *Key, h uint64, now int64) *slot {
	i := t.locate(k, h)
	if i < 0 {
		return nil
	}
	s := &t.slots[i]
	if s.Expire < now {
		t.stats.expired.Store(t.stats.expired.Load() + 1)
		t.del(uint64(i))
		return nil
	}
	return s
}

// LookupBatch is the first part of the lookups of a vector of keys of
// hashes hs: it prefetches every key's home slot (and, for a key whose
// slot holds only a fold of it, an IPv6 one, the home's cold part), in a
// tight loop. Prefetches do not wait for their lines, so the vector's
// cache misses overlap far more than loads let them (a load that misses
// holds up the instructions behind it; a miss per packet taken one after
// the other is what a large table costs otherwise): by the time decide
// reads a slot it is in the cache. A hit is one line, the slot, unless
// the home was taken and the state sits further on.
func (t *Table) LookupBatch(hs []uint64, keys []Key) {
	keys = keys[:len(hs)]
	for i, h := range hs {
		j := h & t.mask
		prefetch(uintptr(unsafe.Pointer(&t.slots[j])))
		if keys[i].Fam != 4 {
			prefetch(uintptr(unsafe.Pointer(&t.cold[j])))
		}
	}
}

// peek is Find without removing an expired state (traces).
func (t *Table) peek(k *Key, now int64) *slot {
	i := t.locate(k, k.hash())
	if i < 0 {
		return nil
	}
	if s := &t.slots[i]; s.Expire >= now {
		return s
	}
	return nil
}

// Insert adds a state for k (which must not be in the table) and returns
// its slot zeroed but for its key, or nil when the table holds its limit.
func (t *Table) Insert(k *Key) *slot {
	i := t.insert(k, k.hash())
	if i < 0 {
		return nil
	}
	return &t.slots[i]
}

// insert is Insert with k's hash given, returning the state's slot
// number (its cold part's too), -1 at the limit.
func (t *Table) insert(k *Key, h uint64) int {
	if t.n >= t.limit {
		t.stats.limited.Store(t.stats.limited.Load() + 1)
		return -1
	}
	i := h & t.mask
	for t.slots[i].tag != tagEmpty {
		i = (i + 1) & t.mask
	}
	k0, k1, tag := k.compact()
	t.slots[i] = slot{k0: k0, k1: k1, proto: k.Proto, tag: tag}
	t.cold[i] = cold{K: *k}
	t.n++
	t.stats.inserts.Store(t.stats.inserts.Load() + 1)
	return int(i)
}

// del removes the state in slot i and shifts back the states after it
// whose walk from their home would pass the hole (Knuth's algorithm R:
// every state stays reachable from its home without tombstones).
func (t *Table) del(i uint64) {
	for j := (i + 1) & t.mask; t.slots[j].tag != tagEmpty; j = (j + 1) & t.mask {
		// The state in j may move to i unless its home lies cyclically
		// in (i, j].
		if h := t.home(j); (j-h)&t.mask >= (j-i)&t.mask {
			t.slots[i], t.cold[i] = t.slots[j], t.cold[j]
			i = j
		}
	}
	t.slots[i], t.cold[i] = slot{}, cold{}
	t.n--
}

// view puts together the state in slot i.
func (t *Table) view(i int, v *State) {
	s, c := &t.slots[i], &t.cold[i]
	*v = State{K: c.K, Init: s.Init, Expire: s.Expire, Pkts: s.Pkts,
		Peer: s.Peer, Created: c.Created, Rule: c.Rule, Iface: c.Iface}
}

// sweepDue returns how many slots the sweep of a vector at clock now
// looks at: the table's slots per sweepPeriod of clock since the last
// vector, at most sweepMax; the fraction of a slot not due yet carries
// over to the next vector.
func (t *Table) sweepDue(now int64) int {
	d := now - t.swept
	if d <= 0 {
		return 0
	}
	t.swept = now
	ns := uint64(len(t.slots))
	if d >= sweepPeriod {
		t.carry = 0
		return min(sweepMax, int(ns))
	}
	x := uint64(d)*ns + t.carry
	n := x / uint64(sweepPeriod)
	if n >= sweepMax {
		t.carry = 0
		return sweepMax
	}
	t.carry = x - n*uint64(sweepPeriod)
	return int(n)
}

// Sweep looks at up to n slots from where the last sweep stopped and
// removes the expired states: the bounded ageing done once per vector.
// A removal may shift a later state into the slot: it is looked at next.
func (t *Table) Sweep(n int, now int64) {
	for ; n > 0; n-- {
		i := t.sweep & t.mask
		if s := &t.slots[i]; s.tag != tagEmpty && s.Expire < now {
			t.stats.expired.Store(t.stats.expired.Load() + 1)
			t.del(i)
			continue
		}
		t.sweep++
	}
}

// Flush removes every state and returns how many there were.
func (t *Table) Flush() int {
	n := t.n
	clear(t.slots)
	clear(t.cold)
	t.n = 0
	t.stats.flushed.Store(t.stats.flushed.Load() + uint64(n))
	return n
}

// Each calls fn with every live state.
func (t *Table) Each(now int64, fn func(*State)) {
	var v State
	for i := range t.slots {
		if s := &t.slots[i]; s.tag != tagEmpty && s.Expire >= now {
			t.view(i, &v)
			fn(&v)
		}
	}
}

// TCP sequence arithmetic.
func seqLT(a, b uint32) bool  { return int32(a-b) < 0 }
func seqLEQ(a, b uint32) bool { return int32(a-b) <= 0 }
func seqGT(a, b uint32) bool  { return int32(a-b) > 0 }
func seqGEQ(a, b uint32) bool { return int32(a-b) >= 0 }

// maxAckWindow is pf's MAXACKWINDOW: how far an ACK may lag or lead.
const maxAckWindow = 65535 + 1500

// Segment is what TCP tracking reads of a segment.
type Segment struct {
	Seq, Ack uint32
	Win      uint16
	Flags    uint8
	Len      uint32 // payload bytes
	WScale   int8   // the window scale option of a SYN, -1 if none
}

const (
	fFIN = 0x01
	fSYN = 0x02
	fRST = 0x04
	fACK = 0x10
)

// tcpStart initialises a new state's initiator side from its first
// segment, as pf_create_state does.
func tcpStart(s *slot, side int, g *Segment) {
	src, dst := &s.Peer[side], &s.Peer[1-side]
	src.SeqLo = g.Seq
	src.SeqHi = g.Seq + g.Len + 1
	if g.Flags&fFIN != 0 {
		src.SeqHi++
	}
	src.MaxWin = max(g.Win, 1)
	if g.Flags&fSYN != 0 && g.WScale >= 0 {
		src.WScale = uint8(g.WScale) | wsValid
	}
	src.State = TCPSynSent
	s.seen |= 1 << side
	dst.SeqHi, dst.MaxWin, dst.State = 1, 1, TCPClosed
}

// tcpTrack checks segment g from side against the state's windows and
// advances them and the peers' states, as pf_tcp_track_full does. It
// returns false for a segment out of the window (or an RST whose
// sequence number is not the one expected): drop it.
func tcpTrack(s *slot, side int, g *Segment) bool {
	src, dst := &s.Peer[side], &s.Peer[1-side]
	seq, ack, win := g.Seq, g.Ack, uint32(g.Win)
	var sws, dws uint8
	if src.WScale&wsValid != 0 && dst.WScale&wsValid != 0 && g.Flags&fSYN == 0 {
		sws, dws = src.WScale&0xf, dst.WScale&0xf
	}
	end := seq + g.Len
	if s.seen&(1<<side) == 0 {
		// This side's first segment (the SYN-ACK).
		s.seen |= 1 << side
		if g.Flags&fSYN != 0 {
			end++
			if g.WScale >= 0 {
				src.WScale = uint8(g.WScale) | wsValid
			}
			if dst.WScale&wsValid == 0 || src.WScale&wsValid == 0 {
				src.WScale, dst.WScale = 0, dst.WScale&^wsValid
			}
		}
		if g.Flags&fFIN != 0 {
			end++
		}
		src.SeqLo = seq
		if src.State < TCPSynSent {
			src.State = TCPSynSent
		}
		if src.SeqHi == 1 || seqGEQ(end+max(1, uint32(dst.MaxWin)<<dws), src.SeqHi) {
			src.SeqHi = end + max(1, uint32(dst.MaxWin)<<dws)
		}
		if uint16(win) > src.MaxWin {
			src.MaxWin = uint16(win)
		}
	} else {
		if g.Flags&fSYN != 0 {
			end++
		}
		if g.Flags&fFIN != 0 {
			end++
		}
	}
	if g.Flags&fACK == 0 {
		ack = dst.SeqLo // no ACK: let it through the ack check
	} else if ack == 0 && g.Flags&(fACK|fRST) == fACK|fRST {
		ack = dst.SeqLo // broken RST with ACK 0
	}
	origSeq := seq
	if seq == end {
		seq, end = src.SeqLo, src.SeqLo // no data: ease the sequence checks
	}
	ackskew := int64(int32(dst.SeqLo - ack))
	inWindow := seqGEQ(src.SeqHi, end) &&
		seqGEQ(seq, src.SeqLo-(uint32(dst.MaxWin)<<dws)) &&
		ackskew >= -maxAckWindow && ackskew <= maxAckWindow<<sws
	if inWindow && g.Flags&fRST != 0 {
		// An RST must carry the sequence number the other side expects
		// (or one off it), as pf requires: a blind RST is dropped.
		inWindow = origSeq == src.SeqLo || origSeq == src.SeqLo+1 || origSeq+1 == src.SeqLo
	}
	if !inWindow {
		// pf's loose check: the other side not heard from yet, or both
		// closing: accept what is near the window.
		if g.Flags&fRST == 0 && (dst.State < TCPSynSent || dst.State >= TCPFinWait2 || src.State >= TCPFinWait2) &&
			seqGEQ(src.SeqHi+maxAckWindow, end) && seqGEQ(seq, src.SeqLo-maxAckWindow) {
			if seqGT(end, src.SeqLo) {
				src.SeqLo = end
			}
			tcpStates(src, dst, g.Flags)
			return true
		}
		return false
	}
	if uint16(win) > src.MaxWin && g.Flags&fSYN == 0 {
		src.MaxWin = uint16(win)
	} else if uint16(win) > src.MaxWin {
		src.MaxWin = uint16(win)
	}
	if seqGT(end, src.SeqLo) {
		src.SeqLo = end
	}
	if g.Flags&fACK != 0 && seqGEQ(ack+(win<<sws), dst.SeqHi) {
		dst.SeqHi = ack + max(win<<sws, 1)
	}
	tcpStates(src, dst, g.Flags)
	return true
}

func tcpStates(src, dst *Peer, fl uint8) {
	if fl&fSYN != 0 && src.State < TCPSynSent {
		src.State = TCPSynSent
	}
	if fl&fFIN != 0 && src.State < TCPClosing {
		src.State = TCPClosing
	}
	if fl&fACK != 0 {
		if dst.State == TCPSynSent {
			dst.State = TCPEstablished
		} else if dst.State == TCPClosing {
			dst.State = TCPFinWait2
		}
	}
	if fl&fRST != 0 {
		src.State, dst.State = TCPTimeWait, TCPTimeWait
	}
}

// tcpTimeout is the timeout of a TCP state's class (pf's choice).
func tcpTimeout(s *slot, to *Timeouts) int64 {
	a, b := s.Peer[0].State, s.Peer[1].State
	switch {
	case a >= TCPFinWait2 && b >= TCPFinWait2:
		return to.TCPClosed
	case a >= TCPClosing && b >= TCPClosing:
		return to.TCPClosed
	case a < TCPEstablished || b < TCPEstablished:
		return to.TCPOpening
	case a >= TCPClosing || b >= TCPClosing:
		return to.TCPClosing
	}
	return to.TCPEstablished
}
