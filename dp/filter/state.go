package filter

import (
	"encoding/binary"
	"math/bits"
	"math/rand/v2"
	"slices"
	"unsafe"

	"github.com/softnet/softnet/dp"
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

// State is one slot of a worker's state table: 128 bytes, aligned on
// 128 in the table's slot array (an empty slot is all zeros; a
// deletion may move a state to another slot, so a pointer to one is
// valid until the table's next deletion). A packet of a UDP or other pseudo-state
// flow reads and writes its first cache line only (the key, the expiry,
// the counters' low words, the route cache); TCP's sequence windows (the
// peers) come next, and the fields only the control plane reads (when,
// which rule, which interface, the counters' high words) last.
//
// The route cache (rnh, rgen: per side, the next hop ip4-lookup would
// give the side's packets, valid while rgen is the table's route
// generation, see Table.routeGen) lets an IPv4 packet that hits its
// state skip ip4-lookup: its FIB lookup is done once per flow and
// direction and routing change, not once per packet.
type State struct {
	K       Key
	Init    uint8 // the side (0: A, 1: B) that sent the first packet
	used    bool
	Expire  int64     // monotonic ns (see now)
	pkts    [2]uint32 // packets from side A, B: the low words (Packets)
	rgen    [2]uint16 // route generation of rnh[side] (0: none)
	rnh     [2]uint16 // side's next hop (adjacency index), see above
	Peer    [2]Peer
	Created int64
	Rule    int32 // the rule that made the state (its identity: Ruleset.RuleNumber), -1: the default policy
	Iface   uint16
	pktsHi  [2]uint32 // the counters' high words
	_       [8]byte   // to 128 bytes: an entry never straddles a third cache line
}

// Packets is how many packets side (0: A, 1: B) sent.
func (s *State) Packets(side int) uint64 {
	return uint64(s.pktsHi[side&1])<<32 | uint64(s.pkts[side&1])
}

// count counts a packet from side (0 or 1): the low word, and the high
// one when the low one wraps (every 2^32 packets: the second cache line
// is written that rarely).
func (s *State) count(side int) {
	if s.pkts[side]++; s.pkts[side] == 0 {
		s.pktsHi[side]++
	}
}

// Timeouts per state class, in ns.
type Timeouts struct {
	TCPOpening, TCPEstablished, TCPClosing, TCPClosed, UDP, ICMP, Other int64
}

// Table is one worker's state table: open addressing over its entries.
// The entries (State) are the hash table itself, a power of two of
// 128-byte slots, at least one and a half times the limit (so at most
// two thirds full), huge-page advised. A key's home slot is its hash's
// low bits; its state sits there or, when that slot was taken, in the
// first free slot after it (linear probing, wrapping at the end): a
// lookup compares keys from the home slot on and stops at the first
// empty slot. A state hit reads one cache line (the entry's first: the
// key, the expiry, the counters, the route cache), a TCP one two. A
// deletion shifts back the states after the freed slot that may take
// it (Knuth's algorithm R), so no slot is marked deleted and a lookup
// never walks past one: states move, so a slot number kept across a
// deletion is a guess that the key compare checks. LookupBatch
// prefetches a vector's home slots in one pass so that their cache
// misses overlap. Only its worker touches it.
type Table struct {
	entries []State // the slots: len is a power of two, above the limit
	mask    uint64  // len(entries)-1
	n       int
	limit   int
	sweep   uint64 // next slot the per-vector sweep looks at
	swept   int64  // the clock of the last sweepDue
	// sweepAcc: the sweep's slots not due yet, times sweepPeriod.
	sweepAcc uint64

	// The route cache's generation (State.rgen, see routeGen): the
	// snapshot the worker routed its last vector by, and its number
	// (from 1: a state's 0 is never valid).
	rcfg   *dp.Config
	rgen   uint16
	rclear int // the next slot whose route cache a new generation clears (routeGen)

	// Counters of this worker (written by it, read on other goroutines:
	// see Holder.Stats): states inserted, removed on expiry, flushed,
	// refused at the limit.
	stats tableStats
}

// tableSlots is the number of slots of a table for limit states: the
// power of two at least one and a half times the limit (131,072 slots,
// 16 MiB, for the default 65,536; 524,288, 64 MiB, for 200,000).
func tableSlots(limit int) int {
	return 1 << bits.Len(uint(limit+(limit+1)/2-1))
}

// NewTable makes a table for at most limit states.
func NewTable(limit int) *Table {
	if limit < 1 {
		limit = 1
	}
	ns := tableSlots(limit)
	t := &Table{entries: make([]State, ns), mask: uint64(ns - 1), limit: limit}
	adviseHuge(unsafe.Slice((*byte)(unsafe.Pointer(&t.entries[0])), uintptr(ns)*unsafe.Sizeof(State{})))
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

// hash is k's hash: its home slot from the low bits. Every bit of the
// key reaches every bit of the hash (IPv4 flows differ mostly in the
// last bytes of their addresses and in their ports).
func (k *Key) hash() uint64 {
	const m = 0x9E3779B97F4A7C15
	if k.Fam == 4 {
		// An IPv4 key's addresses fit one word (the rest of A and B is
		// the mapping's constant prefix): two products instead of three.
		be := binary.BigEndian
		return hash4(be.Uint32(k.A[12:]), be.Uint32(k.B[12:]), k.PA, k.PB, k.Proto)
	}
	p := uint64(k.PA) | uint64(k.PB)<<16 | uint64(k.Proto)<<32 | uint64(k.Fam)<<40
	a := mum(binary.LittleEndian.Uint64(k.A[:8])^hashSeed[0], binary.LittleEndian.Uint64(k.A[8:])^m)
	b := mum(binary.LittleEndian.Uint64(k.B[:8])^hashSeed[1], binary.LittleEndian.Uint64(k.B[8:])^m)
	return mum(a^p^hashSeed[2], b^m)
}

// hash4 is the hash of the IPv4 key of addresses a, b (side A's first),
// ports pa, pb and protocol proto, from the values themselves: fastKey4w
// hashes the key it has in registers (reading back the key it has just
// stored, field by field, into wider loads stalls the store forwarding).
func hash4(a, b uint32, pa, pb uint16, proto uint8) uint64 {
	const m = 0x9E3779B97F4A7C15
	x := uint64(a)<<32 | uint64(b)
	p := uint64(pa) | uint64(pb)<<16 | uint64(proto)<<32 | 4<<40
	return mum(mum(x^hashSeed[0], p^hashSeed[1])^hashSeed[2], m)
}

// eq reports whether k and o are the same key, in word compares (the
// struct's == calls memequal for its 38 bytes).
func (k *Key) eq(o *Key) bool {
	le := binary.LittleEndian
	return le.Uint64(k.A[8:]) == le.Uint64(o.A[8:]) && le.Uint64(k.B[8:]) == le.Uint64(o.B[8:]) &&
		le.Uint64(k.A[:8]) == le.Uint64(o.A[:8]) && le.Uint64(k.B[:8]) == le.Uint64(o.B[:8]) &&
		k.PA == o.PA && k.PB == o.PB && k.Proto == o.Proto && k.Fam == o.Fam
}

// Find returns k's state, or nil. An expired state is removed and not
// returned (lazy expiry).
func (t *Table) Find(k *Key, now int64) *State { return t.findHash(k, k.hash(), now) }

// locate returns the slot of k's state (hash h), ok false when it has
// none: the slots from its home on, up to the first empty one (there is
// always one: the table has more slots than its limit).
func (t *Table) locate(k *Key, h uint64) (j uint64, ok bool) {
	for j = h & t.mask; ; j = (j + 1) & t.mask {
		s := &t.entries[j]
		if !s.used {
			return 0, false
		}
		if s.K.eq(k) {
			return j, true
		}
	}
}

// findHash is Find with k's hash given.
func (t *Table) findHash(k *Key, h uint64, now int64) *State {
	j, ok := t.locate(k, h)
	if !ok {
		return nil
	}
	s := &t.entries[j]
	if s.Expire < now {
		t.stats.expired.Store(t.stats.expired.Load() + 1)
		t.del(j)
		return nil
	}
	return s
}

// Hint is what LookupBatch gives a key: its home slot, where a lookup
// starts (the state may be there, in a slot after it, or nowhere).
type Hint int32

// LookupBatch is the first part of the lookups of a vector of n keys of
// hashes hs: it prefetches every key's home slot, its first cache line
// (the key, the expiry, the counters, the route cache) in one call and,
// for a TCP key, its second (the windows), and writes each key's hint,
// the home slot. Prefetches do not wait for their lines, so the
// vector's cache misses overlap far more than loads let them (a load
// that misses holds up the instructions behind it; a miss per packet
// taken one after the other is what a large table costs otherwise): by
// the time the decisions read a state it is in the cache. A UDP or
// other state hit reads and writes the first line alone, and a line
// fetched for nothing evicts one another stage needs (the FIB's, the
// packets').
func (t *Table) LookupBatch(hs []uint64, tcp []bool, hints []Hint) {
	if len(hs) == 0 {
		return
	}
	base := uintptr(unsafe.Pointer(&t.entries[0]))
	prefetchLines(base, 7, t.mask, hs)
	hints = hints[:len(hs)]
	tcp = tcp[:len(hs)]
	for i, h := range hs {
		j := h & t.mask
		hints[i] = Hint(j)
		if tcp[i] {
			prefetch(base + uintptr(j)<<7 + 64)
		}
	}
}

// eq4 reports whether s holds the IPv4 key w (key4): its two address
// words and its ports, protocol and family (the family 4 in w.p: an IPv6
// state never matches, an empty slot, all zeros, neither, and an IPv4
// one has zeros in the addresses' first eight bytes), in three word
// compares. key4's words are the key's bytes read little-endian, on any
// machine.
func eq4(s *State, w *key4) bool {
	b := (*[40]byte)(unsafe.Pointer(&s.K)) // the Key's 38 bytes, then Init and used
	le := binary.LittleEndian
	return le.Uint64(b[8:16]) == w.a && le.Uint64(b[24:32]) == w.b && le.Uint64(b[32:40])&0xffff_ffff_ffff == w.p
}

// FindHint is findHash with LookupBatch's hint (the home slot of hash
// h, whose line it prefetched): the walk starts there.
func (t *Table) FindHint(k *Key, h uint64, hint Hint, now int64) *State {
	return t.findHash(k, h, now)
}

// peek is Find without removing an expired state (traces).
func (t *Table) peek(k *Key, now int64) *State {
	j, ok := t.locate(k, k.hash())
	if !ok {
		return nil
	}
	if s := &t.entries[j]; s.Expire >= now {
		return s
	}
	return nil
}

// Insert adds a state for k (which must not be in the table) and returns
// it zeroed but for its key, or nil when the table holds its limit: the
// first empty slot from k's home on.
func (t *Table) Insert(k *Key) *State {
	if t.n >= t.limit {
		t.stats.limited.Store(t.stats.limited.Load() + 1)
		return nil
	}
	j := k.hash() & t.mask
	for t.entries[j].used {
		j = (j + 1) & t.mask
	}
	s := &t.entries[j]
	*s = State{K: *k, used: true}
	t.n++
	t.stats.inserts.Store(t.stats.inserts.Load() + 1)
	return s
}

// del removes the state in slot i, then fills the hole from the states
// after it up to the next empty slot (Knuth's algorithm R): a state at
// slot j whose home is not in (i, j] (cyclically) moves back to the
// hole, and its slot is the hole now. So every state stays reachable
// from its home without an empty slot in between, with no mark of
// deletion. A state moved from at or past the route cache's clearing
// cursor (rclear) to before it has its route cache cleared: a round of
// the cursor would pass it by (routeGen).
func (t *Table) del(i uint64) {
	m := t.mask
	for j := (i + 1) & m; ; j = (j + 1) & m {
		s := &t.entries[j]
		if !s.used {
			break
		}
		if home := s.K.hash() & m; (j-home)&m >= (j-i)&m {
			d := &t.entries[i]
			*d = *s
			if c := uint64(t.rclear); i < c && j >= c {
				d.rgen = [2]uint16{}
			}
			i = j
		}
	}
	t.entries[i] = State{}
	t.n--
}

// deleteIf removes every state for which fn is true and returns how many
// it removed: one walk of the slots that starts after an empty slot (no
// run of states wraps past its start, so a state moved back by a
// deletion is never moved behind the walk) and looks again at the slot
// it just emptied (a later state may have moved into it).
func (t *Table) deleteIf(fn func(*State) bool) int {
	if t.n == 0 {
		return 0
	}
	m := t.mask
	start := uint64(0)
	for t.entries[start].used {
		start++
	}
	n := 0
	for x := uint64(1); x <= m; {
		j := (start + x) & m
		if s := &t.entries[j]; s.used && fn(s) {
			t.del(j)
			n++
			continue
		}
		x++
	}
	return n
}

// sweepDue returns how many slots the sweep of a vector at clock now
// looks at: the table's slots per sweepPeriod of clock since the last
// vector, at most sweepMax (a longer gap's backlog is dropped); the
// fraction of a slot not due yet carries over to the next vector
// (sweepAcc).
func (t *Table) sweepDue(now int64) int {
	d := now - t.swept
	if d <= 0 {
		return 0
	}
	t.swept = now
	size := uint64(len(t.entries))
	if d >= sweepPeriod {
		t.sweepAcc = 0
		return min(sweepMax, int(size))
	}
	t.sweepAcc += uint64(d) * size
	n := t.sweepAcc / uint64(sweepPeriod)
	if n >= sweepMax {
		t.sweepAcc = 0
		return sweepMax
	}
	t.sweepAcc -= n * uint64(sweepPeriod)
	return int(n)
}

// Sweep looks at up to n slots from where the last sweep stopped and
// removes the expired states: the bounded ageing done once per vector.
// After a removal it looks at the same slot again (a later state may
// have moved into it). A state moved back behind the cursor by another
// removal (a lookup's) waits for the next round; the lookups never
// return an expired state meanwhile.
func (t *Table) Sweep(n int, now int64) {
	for ; n > 0; n-- {
		j := t.sweep & t.mask
		if s := &t.entries[j]; s.used && s.Expire < now {
			t.stats.expired.Store(t.stats.expired.Load() + 1)
			t.del(j)
			continue
		}
		t.sweep = j + 1
	}
}

// routeGen returns the route generation of snapshot cfg: the last
// vector's while cfg routes as its snapshot did (sameRouting), else the
// next one, which makes every state's cached next hops stale. The
// generation has 16 bits: so that an old number never comes back valid
// when it wraps, each new generation clears the route caches of the next
// few slots round the table (routeAgeGens), and every state's cache is
// cleared at least once every routeAgeGens generations, far from the
// 65,535 after which a number comes back. A state that a deletion moves
// back across the cursor, from a slot not cleared yet in this round to
// one already cleared, has its cache cleared as it moves (Table.del), so
// no state misses a round. The work is spread: a new generation clears
// slots/8192 slots (64 for the 524,288 slots of 200,000 states), where
// a clear of every slot at the wrap stalled one vector for milliseconds.
// The table keeps the last snapshot (and so its FIB) alive until a
// vector with another comes.
func (t *Table) routeGen(cfg *dp.Config) uint16 {
	if cfg == t.rcfg {
		return t.rgen
	}
	o := t.rcfg
	t.rcfg = cfg
	if o != nil && t.rgen != 0 && sameRouting(o, cfg) {
		return t.rgen
	}
	if t.rgen++; t.rgen == 0 {
		t.rgen = 1 // a state's 0 is never valid
	}
	// Every cache is stale now: clearing some costs no lookup that the
	// new generation would not have made anyway.
	for n := (len(t.entries) + routeAgeGens - 1) / routeAgeGens; n > 0; n-- {
		if t.rclear >= len(t.entries) {
			t.rclear = 0
		}
		t.entries[t.rclear].rgen = [2]uint16{}
		t.rclear++
	}
	return t.rgen
}

// routeAgeGens is how many route generations a full round of routeGen's
// clearing takes: a cached generation is at most that old (twice that
// across a resize of the table, whose new cursor starts again at its
// first slot), a quarter of the 65,535 a number takes to come back.
const routeAgeGens = 8192

// sameRouting reports whether snapshots o and c give every IPv4 packet
// the next hop ip4-lookup gives it, as far as a cached next hop goes:
// the same FIB (a snapshot is never modified: another route is another
// FIB), the same ECMP buckets, and the same groups (which adjacencies
// are groups, and where their buckets are). The rest of an adjacency
// (its kind otherwise, its header, its interface) is read per packet,
// not cached; the control plane publishes a copy of the adjacencies with
// every snapshot, so they are compared, not their identity. An index
// past the shorter list is in neither's FIB nor buckets (the same FIB and
// buckets refer to the same indices).
func sameRouting(o, c *dp.Config) bool {
	if o.FIB != c.FIB || !slices.Equal(o.ECMP, c.ECMP) {
		return false
	}
	n := min(len(o.Adj), len(c.Adj))
	for i := range n {
		a, b := &o.Adj[i], &c.Adj[i]
		if (a.Kind == dp.AdjGroup) != (b.Kind == dp.AdjGroup) || a.Group != b.Group || a.GroupN != b.GroupN {
			return false
		}
	}
	return true
}

// Flush removes every state and returns how many there were.
func (t *Table) Flush() int {
	n := t.n
	clear(t.entries)
	t.n = 0
	t.stats.flushed.Store(t.stats.flushed.Load() + uint64(n))
	return n
}

// Each calls fn with every live state.
func (t *Table) Each(now int64, fn func(*State)) {
	for i := range t.entries {
		if s := &t.entries[i]; s.used && s.Expire >= now {
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
