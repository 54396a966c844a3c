package filter

import (
	"encoding/binary"
	"math/bits"
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
// window scale, with wsValid when the SYN carried the option).
type Peer struct {
	SeqLo, SeqHi uint32
	MaxWin       uint16
	WScale       uint8
	State        uint8
	Seen         bool
}

const wsValid = 0x80

// State is one entry of a worker's state table.
type State struct {
	K       Key
	used    bool
	Init    uint8 // the side (0: A, 1: B) that sent the first packet
	Rule    int32 // the rule that made the state (its index), -1: the default policy
	Iface   uint16
	Expire  int64 // monotonic ns (see now)
	Created int64
	Peer    [2]Peer
	Pkts    [2]uint64 // packets from side A, B
}

// Timeouts per state class, in ns.
type Timeouts struct {
	TCPOpening, TCPEstablished, TCPClosing, TCPClosed, UDP, ICMP, Other int64
}

// Table is one worker's state table: open addressing with linear probing
// in a preallocated array (a power of two at least twice the limit),
// deleted entries closed up by backward shift, so a lookup stops at the
// first empty slot. Only its worker touches it.
type Table struct {
	slots []State
	mask  uint64
	n     int
	limit int
	sweep uint64 // next slot the per-vector sweep looks at

	// Counters of this worker (written by it, read on other goroutines:
	// see Holder.Stats): states inserted, removed on expiry, flushed,
	// refused at the limit.
	stats tableStats
}

// NewTable makes a table for at most limit states.
func NewTable(limit int) *Table {
	if limit < 1 {
		limit = 1
	}
	size := 1 << bits.Len(uint(2*limit-1))
	if size < 16 {
		size = 16
	}
	t := &Table{slots: make([]State, size), mask: uint64(size - 1), limit: limit}
	adviseHuge(unsafe.Slice((*byte)(unsafe.Pointer(&t.slots[0])), uintptr(size)*unsafe.Sizeof(State{})))
	return t
}

// Len is the number of states, Limit the most it takes.
func (t *Table) Len() int   { return t.n }
func (t *Table) Limit() int { return t.limit }

func (k *Key) hash() uint64 {
	const m = 0x9E3779B97F4A7C15
	h := binary.LittleEndian.Uint64(k.A[:8])*m ^ binary.LittleEndian.Uint64(k.A[8:])
	h = (h^binary.LittleEndian.Uint64(k.B[:8]))*m ^ binary.LittleEndian.Uint64(k.B[8:])
	h = (h ^ (uint64(k.PA) | uint64(k.PB)<<16 | uint64(k.Proto)<<32 | uint64(k.Fam)<<40)) * m
	return h ^ h>>29
}

// Find returns k's state, or nil. An expired state is removed and not
// returned (lazy expiry).
func (t *Table) Find(k *Key, now int64) *State { return t.findHash(k, k.hash(), now) }

// findHash is Find with k's hash given.
func (t *Table) findHash(k *Key, h uint64, now int64) *State {
	i := h & t.mask
	for {
		s := &t.slots[i]
		if !s.used {
			return nil
		}
		if s.K == *k {
			if s.Expire < now {
				t.stats.expired.Store(t.stats.expired.Load() + 1)
				t.del(i)
				return nil
			}
			return s
		}
		i = (i + 1) & t.mask
	}
}

// peek is Find without removing an expired state (traces).
func (t *Table) peek(k *Key, now int64) *State {
	i := k.hash() & t.mask
	for {
		s := &t.slots[i]
		if !s.used {
			return nil
		}
		if s.K == *k {
			if s.Expire < now {
				return nil
			}
			return s
		}
		i = (i + 1) & t.mask
	}
}

// Insert adds a state for k (which must not be in the table) and returns
// it zeroed but for its key, or nil when the table holds its limit.
func (t *Table) Insert(k *Key) *State {
	if t.n >= t.limit {
		t.stats.limited.Store(t.stats.limited.Load() + 1)
		return nil
	}
	i := k.hash() & t.mask
	for t.slots[i].used {
		i = (i + 1) & t.mask
	}
	s := &t.slots[i]
	*s = State{K: *k, used: true}
	t.n++
	t.stats.inserts.Store(t.stats.inserts.Load() + 1)
	return s
}

// del empties slot i and shifts the entries of its probe run back so no
// lookup stops early.
func (t *Table) del(i uint64) {
	t.n--
	j := i
	for {
		j = (j + 1) & t.mask
		s := &t.slots[j]
		if !s.used {
			break
		}
		h := s.K.hash() & t.mask
		// s may move to i if its home h is not cyclically within (i, j].
		if (j > i && (h <= i || h > j)) || (j < i && (h <= i && h > j)) {
			t.slots[i] = *s
			i = j
		}
	}
	t.slots[i] = State{}
}

// Sweep looks at up to n slots from where the last sweep stopped and
// removes the expired states: the bounded ageing done once per vector.
func (t *Table) Sweep(n int, now int64) {
	for ; n > 0; n-- {
		i := t.sweep & t.mask
		s := &t.slots[i]
		if s.used && s.Expire < now {
			t.stats.expired.Store(t.stats.expired.Load() + 1)
			t.del(i) // an entry may have moved into i: look at it again
			continue
		}
		t.sweep++
	}
}

// Flush removes every state and returns how many there were.
func (t *Table) Flush() int {
	n := t.n
	clear(t.slots)
	t.n = 0
	t.stats.flushed.Store(t.stats.flushed.Load() + uint64(n))
	return n
}

// Each calls fn with every live state.
func (t *Table) Each(now int64, fn func(*State)) {
	for i := range t.slots {
		if s := &t.slots[i]; s.used && s.Expire >= now {
			fn(s)
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
func tcpStart(s *State, side int, g *Segment) {
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
	src.Seen = true
	dst.SeqHi, dst.MaxWin, dst.State = 1, 1, TCPClosed
}

// tcpTrack checks segment g from side against the state's windows and
// advances them and the peers' states, as pf_tcp_track_full does. It
// returns false for a segment out of the window (or an RST whose
// sequence number is not the one expected): drop it.
func tcpTrack(s *State, side int, g *Segment) bool {
	src, dst := &s.Peer[side], &s.Peer[1-side]
	seq, ack, win := g.Seq, g.Ack, uint32(g.Win)
	var sws, dws uint8
	if src.WScale&wsValid != 0 && dst.WScale&wsValid != 0 && g.Flags&fSYN == 0 {
		sws, dws = src.WScale&0xf, dst.WScale&0xf
	}
	end := seq + g.Len
	if !src.Seen {
		// This side's first segment (the SYN-ACK).
		src.Seen = true
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
func tcpTimeout(s *State, to *Timeouts) int64 {
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
