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

// State is one entry of a worker's state table: 128 bytes, aligned on
// 128 in the table's entry array. A packet of a UDP or other pseudo-state
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

// bucketSlots is how many states a bucket indexes.
const bucketSlots = 10

// bucket is one cache line of the table's index: a 16-bit signature of
// each state's hash (0: the slot is empty) and the state's entry index.
// over counts the states whose home bucket is this one or one before it
// but which sit in a later bucket (this one was full when they came): a
// lookup goes on to the next bucket only while it is not 0.
type bucket struct {
	sig  [bucketSlots]uint16
	over uint32
	idx  [bucketSlots]uint32
}

// Table is one worker's state table: a preallocated array of entries
// (State) taken from and given back to a free list (so the live states
// sit close together at the front: fewer pages, fewer cache misses), and
// an index of cache-line buckets, a power of two of them (at least one
// per seven states of the limit, ten slots each: at most 7/10 full),
// holding a 16-bit signature and the entry index of each state (the
// index is half the size that 32-bit signatures and seven slots made
// it: 2 MiB for 200,000 states, a smaller working set beside the FIB's). A lookup
// reads the key's home bucket, compares signatures, and reads only the
// entry whose signature matches; a full bucket overflows into the next
// one (linear probing by bucket, with the bucket's over count telling a
// lookup to go on). LookupBatch does the lookups of a whole vector in
// passes so that their cache misses overlap. Only its worker touches it.
type Table struct {
	buckets []bucket
	bmask   uint64
	entries []State
	free    []uint32 // free entry indices, a stack
	n       int
	limit   int
	sweep   uint64 // next entry the per-vector sweep looks at
	swept   int64  // the clock the sweeps are due from (sweepDue)

	// The route cache's generation (State.rgen, see routeGen): the
	// snapshot the worker routed its last vector by, and its number
	// (from 1: a state's 0 is never valid).
	rcfg   *dp.Config
	rgen   uint16
	rclear int // the next entry whose route cache a new generation clears (routeGen)

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
	nb := 1 << bits.Len(uint((limit+6)/7-1))
	if nb < 2 {
		nb = 2
	}
	t := &Table{buckets: make([]bucket, nb), bmask: uint64(nb - 1), entries: make([]State, limit),
		free: make([]uint32, limit), limit: limit}
	t.resetFree()
	adviseHuge(unsafe.Slice((*byte)(unsafe.Pointer(&t.buckets[0])), uintptr(nb)*unsafe.Sizeof(bucket{})))
	adviseHuge(unsafe.Slice((*byte)(unsafe.Pointer(&t.entries[0])), uintptr(limit)*unsafe.Sizeof(State{})))
	return t
}

// resetFree puts every entry on the free list, the first one on top.
func (t *Table) resetFree() {
	t.free = t.free[:t.limit]
	for i := range t.free {
		t.free[i] = uint32(t.limit - 1 - i)
	}
}

// Len is the number of states, Limit the most it takes.
func (t *Table) Len() int   { return t.n }
func (t *Table) Limit() int { return t.limit }

// hashSeed keys the table's hash, drawn once per process, so that no one
// outside can pick flows that share a bucket.
var hashSeed = [3]uint64{rand.Uint64() | 1, rand.Uint64() | 1, rand.Uint64() | 1}

// mum is the folded 128-bit product of x and y: every bit of either
// input reaches every bit of the result (wyhash's mixer).
func mum(x, y uint64) uint64 {
	hi, lo := bits.Mul64(x, y)
	return hi ^ lo
}

// hash is k's hash: its bucket from the low bits, its signature from the
// high ones. Every bit of the key reaches both (IPv4 flows differ mostly
// in the last bytes of their addresses and in their ports).
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

// sigOf is the signature of hash h in a bucket (never 0: 0 is empty),
// from bits the bucket's number does not use. Another key's signature
// matches one slot in 2^15: the entry it points to is read for nothing.
func sigOf(h uint64) uint16 { return uint16(h>>48) | 1 }

// Find returns k's state, or nil. An expired state is removed and not
// returned (lazy expiry).
func (t *Table) Find(k *Key, now int64) *State { return t.findHash(k, k.hash(), now) }

// locate returns the bucket and slot of k's state (hash h), ok false when
// it has none.
func (t *Table) locate(k *Key, h uint64) (b uint64, j int, ok bool) {
	sig := sigOf(h)
	b = h & t.bmask
	for range t.buckets {
		bk := &t.buckets[b]
		for j := range bk.sig {
			if bk.sig[j] == sig && t.entries[bk.idx[j]].K.eq(k) {
				return b, j, true
			}
		}
		if bk.over == 0 {
			break
		}
		b = (b + 1) & t.bmask
	}
	return 0, 0, false
}

// findHash is Find with k's hash given.
func (t *Table) findHash(k *Key, h uint64, now int64) *State {
	b, j, ok := t.locate(k, h)
	if !ok {
		return nil
	}
	s := &t.entries[t.buckets[b].idx[j]]
	if s.Expire < now {
		t.stats.expired.Store(t.stats.expired.Load() + 1)
		t.del(b, j)
		return nil
	}
	return s
}

// Hint is what LookupBatch found for a key: the entry its signature
// matched (-1: none). A hint is only a guess (another key may share the
// signature, and the vector's earlier packets may insert or remove
// states): FindHint checks it.
type Hint int32

// LookupBatch is the first part of the lookups of a vector of n keys of
// hashes hs: it prefetches every key's home bucket, then reads the
// buckets' signatures and prefetches every matching entry, and writes
// each key's hint. Prefetches do not wait for their lines, so the
// vector's cache misses overlap far more than loads let them (a load
// that misses holds up the instructions behind it; a miss per packet
// taken one after the other is what a large table costs otherwise): by
// the time decide reads an entry it is in the cache. Only a TCP key's
// entry has its second cache line (the sequence windows) prefetched: a
// UDP or other state hit reads and writes the first line alone, and a
// line fetched for nothing evicts one another stage needs (the FIB's,
// the packets').
func (t *Table) LookupBatch(hs []uint64, tcp []bool, hints []Hint) {
	if len(hs) == 0 {
		return
	}
	// Pass 1: the home buckets (one cache line each), in one call.
	prefetchLines(uintptr(unsafe.Pointer(&t.buckets[0])), 6, t.bmask, hs)
	// Pass 2: the signatures, then the matching entries: the first line
	// (key, expiry, counters, route cache), in one call, and, for TCP,
	// the second (the windows).
	hints = hints[:len(hs)]
	tcp = tcp[:len(hs)]
	anyTCP := false
	for i, h := range hs {
		hints[i] = bucketHint(&t.buckets[h&t.bmask], sigOf(h))
		anyTCP = anyTCP || tcp[i]
	}
	base := uintptr(unsafe.Pointer(&t.entries[0]))
	prefetchHints(base, 7, hints)
	if anyTCP {
		for i, h := range hints {
			if h >= 0 && tcp[i] {
				prefetch(base + uintptr(h)<<7 + 64)
			}
		}
	}
}

// bucketHint returns the entry of the first slot of bk whose signature
// is sig, -1 if none: the ten 16-bit signatures compared four at a time
// in 64-bit words (the lowest lane whose XOR is zero is exact: a borrow
// only runs upward, to lanes above it), not in a loop of ten. The words
// are read little-endian, so lane j is signature j on any machine (on a
// big-endian one with its bytes swapped, as sig is swapped to match).
func bucketHint(bk *bucket, sig uint16) Hint {
	const lo, hi = 0x0001000100010001, 0x8000800080008000
	if bigEndian {
		sig = bits.ReverseBytes16(sig)
	}
	rep := uint64(sig) * lo
	b := (*[64]byte)(unsafe.Pointer(bk))
	le := binary.LittleEndian
	x := le.Uint64(b[0:8]) ^ rep
	if m := (x - lo) &^ x & hi; m != 0 {
		return Hint(bk.idx[bits.TrailingZeros64(m)>>4])
	}
	x = le.Uint64(b[8:16]) ^ rep
	if m := (x - lo) &^ x & hi; m != 0 {
		return Hint(bk.idx[4+bits.TrailingZeros64(m)>>4])
	}
	// Slots 8 and 9; the word's upper half is the over count, never a
	// match.
	x = (le.Uint64(b[16:24]) ^ rep) | 0xffffffff_00000000
	if m := (x - lo) &^ x & hi; m != 0 {
		return Hint(bk.idx[8+bits.TrailingZeros64(m)>>4])
	}
	return -1
}

// bigEndian is true on a big-endian machine (bucketHint).
var bigEndian = binary.NativeEndian.Uint16([]byte{0, 1}) == 1

// eq4 reports whether s holds the IPv4 key w (key4): its two address
// words and its ports, protocol and family (the family 4 in w.p: an IPv6
// state never matches, and an IPv4 one has zeros in the addresses'
// first eight bytes), in three word compares. key4's words are the key's
// bytes read little-endian, on any machine.
func eq4(s *State, w *key4) bool {
	b := (*[40]byte)(unsafe.Pointer(&s.K)) // the Key's 38 bytes, then Init and used
	le := binary.LittleEndian
	return le.Uint64(b[8:16]) == w.a && le.Uint64(b[24:32]) == w.b && le.Uint64(b[32:40])&0xffff_ffff_ffff == w.p
}

// FindHint is findHash helped by LookupBatch's hint: when the hinted
// entry holds k and is alive, it is the state, found without another
// walk of the bucket; otherwise the full lookup decides.
func (t *Table) FindHint(k *Key, h uint64, hint Hint, now int64) *State {
	if hint >= 0 {
		if s := &t.entries[hint]; s.used && s.K.eq(k) && s.Expire >= now {
			return s
		}
	}
	return t.findHash(k, h, now)
}

// peek is Find without removing an expired state (traces).
func (t *Table) peek(k *Key, now int64) *State {
	b, j, ok := t.locate(k, k.hash())
	if !ok {
		return nil
	}
	if s := &t.entries[t.buckets[b].idx[j]]; s.Expire >= now {
		return s
	}
	return nil
}

// Insert adds a state for k (which must not be in the table) and returns
// it zeroed but for its key, or nil when the table holds its limit.
func (t *Table) Insert(k *Key) *State {
	if t.n >= t.limit {
		t.stats.limited.Store(t.stats.limited.Load() + 1)
		return nil
	}
	h := k.hash()
	b := h & t.bmask
	for {
		bk := &t.buckets[b]
		for j := range bk.sig {
			if bk.sig[j] == 0 {
				e := t.free[len(t.free)-1]
				t.free = t.free[:len(t.free)-1]
				bk.sig[j], bk.idx[j] = sigOf(h), e
				s := &t.entries[e]
				*s = State{K: *k, used: true}
				t.n++
				t.stats.inserts.Store(t.stats.inserts.Load() + 1)
				return s
			}
		}
		// Full (there is room further on: the buckets hold 10/7 of the
		// limit): pass it, and say so for the lookups.
		bk.over++
		b = (b + 1) & t.bmask
	}
}

// del removes the state in bucket b's slot j: its entry goes back to the
// free list, and the buckets its insertion passed count one fewer.
func (t *Table) del(b uint64, j int) {
	bk := &t.buckets[b]
	e := bk.idx[j]
	s := &t.entries[e]
	for x := s.K.hash() & t.bmask; x != b; x = (x + 1) & t.bmask {
		t.buckets[x].over--
	}
	bk.sig[j], bk.idx[j] = 0, 0
	*s = State{}
	t.free = append(t.free, e)
	t.n--
}

// delEntry removes the state in entry e.
func (t *Table) delEntry(e uint32) {
	s := &t.entries[e]
	h := s.K.hash()
	b := h & t.bmask
	sig := sigOf(h)
	for range t.buckets {
		bk := &t.buckets[b]
		for j := range bk.sig {
			if bk.sig[j] == sig && bk.idx[j] == e {
				t.del(b, j)
				return
			}
		}
		b = (b + 1) & t.bmask
	}
	panic("filter: a live state missing from its table's index")
}

// sweepDue returns how many entries the sweep of a vector at clock now
// looks at: the limit per sweepPeriod of clock since the sweeps are due
// from, at most sweepMax; the fraction of an entry not due yet carries
// over to the next vector.
func (t *Table) sweepDue(now int64) int {
	d := now - t.swept
	if d <= 0 {
		return 0
	}
	if d >= sweepPeriod || uint64(d)*uint64(t.limit) >= sweepMax*uint64(sweepPeriod) {
		t.swept = now
		return min(sweepMax, t.limit)
	}
	n := int(uint64(d) * uint64(t.limit) / uint64(sweepPeriod))
	t.swept += int64(uint64(n) * uint64(sweepPeriod) / uint64(t.limit))
	return n
}

// Sweep looks at up to n entries from where the last sweep stopped and
// removes the expired states: the bounded ageing done once per vector.
func (t *Table) Sweep(n int, now int64) {
	for ; n > 0; n-- {
		if t.sweep >= uint64(t.limit) {
			t.sweep = 0 // not a modulo: a division per entry
		}
		e := uint32(t.sweep)
		t.sweep++
		if s := &t.entries[e]; s.used && s.Expire < now {
			t.stats.expired.Store(t.stats.expired.Load() + 1)
			t.delEntry(e)
		}
	}
}

// routeGen returns the route generation of snapshot cfg: the last
// vector's while cfg routes as its snapshot did (sameRouting), else the
// next one, which makes every state's cached next hops stale. The
// generation has 16 bits: so that an old number never comes back valid
// when it wraps, each new generation clears the route caches of the next
// few entries round the table (routeAgeGens), and every state's cache is
// cleared at least once every routeAgeGens generations, far from the
// 65,535 after which a number comes back. The work is spread: a new
// generation clears limit/8192 entries (25 for 200,000 states), where a
// clear of every entry at the wrap stalled one vector for milliseconds.
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
// clearing takes: a cached generation is at most that old, an eighth of
// the 65,535 a number takes to come back (a table remade for a new limit
// starts with every cache cleared: Holder.table).
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
	clear(t.buckets)
	clear(t.entries)
	t.resetFree()
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
