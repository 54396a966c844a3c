// Package filter is the stateful packet filter: the feature nodes
// ip4-filter (on the ip4-unicast arc) and ip6-filter (on ip6-unicast),
// after ip4-input/ip6-input and before the lookup, on every interface
// (VLAN sub-interfaces and BVIs included) once the config has a filter.
//
// Rules (package pf: pf.conf in spirit) are compiled into a Ruleset that
// the control plane swaps into the Holder atomically (dp.Config.Filter);
// they are evaluated only for the first packet of a flow, twice as pf
// does: as the packet comes in on its receiving interface (rules with
// in, or no direction) and, when it is routed on, as it goes out of its
// egress interface (out, or no direction), which the node finds with one
// FIB lookup. The last matching rule decides, or the first quick one;
// the default policy when none matches. Only the rules that can match
// the packet's family, direction and protocol are checked (an index the
// Ruleset compiles). A pass rule that keeps state
// (the default) makes a state; the flow's later packets, both
// directions, hit it and skip the rules.
//
// States live in one Table per worker (Holder.Table, by worker ID):
// preallocated 128-byte entries on a free list, indexed by cache-line
// buckets of ten 16-bit signatures and entry indices, keyed by the 5-tuple
// normalised so both directions find the same entry. A vector's lookups
// are done in passes (hash every packet and prefetch its bucket, then
// prefetch the entries whose signature matches, then decide), so their cache
// misses overlap instead of following one another. The common packets,
// unfragmented IPv4 without options, UDP or TCP without SYN, FIN or RST
// (an established connection's data and ACKs), are keyed straight from
// their headers' fixed offsets (fastKey4w; for TCP also the sequence and
// ACK numbers, window and payload length that the window check reads)
// and parsed in full only when they have no state; their state hits are
// made in the decision loop itself, without a call of decide (a UDP one
// updates the expiry and counter, a TCP one also runs the window check).
// A UDP state hit reads and writes one cache line of its entry (key,
// expiry, counters, route cache), a TCP one two (the windows are in the
// second, prefetched for TCP keys only). The packets that pass go on in
// one vector pass, not a call each: to ip4-rewrite those the route cache
// (below) routed, to the next node of the arc the others
// (dp.Worker.Pass, ToAll, PassNext). Both directions of a flow reach the
// same worker on every backend (package rss's symmetric Toeplitz hash,
// and PACKET_FANOUT_HASH on AF_PACKET, whose flow hash is symmetric), so
// a table is its worker's alone: no lock. Ageing is cheap: the clock is
// read once per vector, an expired state found by a lookup is removed
// then, and each vector sweeps a bounded run of entries (the table's
// limit a second: sweepDue).
// TCP is tracked as pf does (pf_tcp_track_full: sequence windows with
// window scaling; a segment outside the window, or an RST whose sequence
// number is not the expected one, is dropped), UDP and other protocols
// with pseudo-states, ICMP queries by identifier; an ICMP error passes
// when the packet it quotes belongs to a state.
//
// Drop reasons: blocked (a block rule or the default policy), no-state
// (a TCP segment other than a SYN with no state, under a default block),
// out-of-window, state-limit (the worker's table is full), short (a
// transport header cut short). Per-rule counters (packets decided, states
// made) are per worker, summed on read. Packets the router itself sends
// (ICMP errors, echo replies) are not filtered.
//
// Non-first fragments carry no ports: they match only rules without
// ports, flags or ICMP types (there is no reassembly).
//
// A reload (SetRules through control.Router.SetFilter) or a table change
// keeps the counters of every rule left unchanged, matched by its parsed
// form, not its number (Ruleset.ShareCounters).
//
// Fuzzers: FuzzFlow (parse, the ICMP quote, the rules and TCP tracking on
// one packet) and FuzzFilter, which drives the nodes and a table of 8
// states through a router (dptest's lab, IPv4, IPv6 and VLANs) with
// sequences of frames both ways, moves of the clock and reloads (rules,
// and limits that make the worker remake its table), seeded with real
// flows, and checks after each run the table's consistency (count, free
// list, index, overflow counts, every state found from both directions:
// CheckTable in export_test.go), that every packet forwarded has a live
// state of its own flow or is an ICMP error quoting one, and that no
// buffer leaks. Run it with go test -run '^$' -fuzz '^FuzzFilter$'
// -fuzztime 60s ./dp/filter.
//
// The route cache. When ip4-filter is the last feature of ip4-unicast
// (it is unless an interface lists a feature after it), an IPv4 packet
// that hits its state does not go on to ip4-lookup: each state keeps,
// per side, the next hop ip4-lookup gives that side's packets (the FIB,
// then the ECMP group's member for the flow) and the route generation it
// is valid for; the table's generation moves whenever a snapshot with
// another FIB, adjacencies or ECMP groups comes (Table.routeGen), so a
// routing change takes effect at the next packet as it does without the
// filter. The packet goes straight to ip4-rewrite when ip4-lookup would
// have sent it there (a forward, incomplete or glean adjacency, a
// transit packet not received as link-layer broadcast, TTL above 1);
// every other packet goes to ip4-lookup as before. The first packet of
// a flow, which makes the state, fills the cache with the filter's own
// FIB lookup and goes the same way; so do packets whose cache is of an
// older generation. So these packets do not count in ip4-lookup's
// (show runtime), and traces of them show ip4-filter then ip4-rewrite.
// Packets that pass without a state (a rule with no state, an ICMP error
// quoting one) and IPv6 take ip4-lookup/ip6-lookup as always.
//
// Cost (softnet bench --scenario ip4-forward,ip4-filter: 1,000 rules,
// 100,000 established UDP states, random flows; README "Stateful
// filter" has the current figures, docs/history-filter.md every run and
// what was tried and reverted). A state hit costs the stage about 17 ns
// a packet with 1,000 states (compute: the key's words from the header,
// hash4's two products, the signature match, the entry check, the route
// cache check) and 23 to 24 with 100,000 (the bucket line and the
// entry's first line come from L3: with that many states the stage waits
// on its cache misses, not on its instructions), where ip4-lookup costs
// forwarding 7 to 11: the filtered path with the route cache runs at a
// median 0.69 of plain forwarding's rate, 0.77 interleaved (December 7,
// 21:09-21:13). Taken apart in the pipeline (December 8), the header's
// read costs 4 to 5 ns and finding the state 11 to 13 more with 100,000
// states, where 0.8x would leave the whole stage 11 to 13: the target is
// reported blocked (docs/history-filter.md). The IPv4 UDP hit, the
// common packet, is keyed in run's first loop by hand (words4's body);
// UDP and TCP hits are decided without calling decide.
package filter

import (
	"encoding/binary"
	"fmt"
	"math/bits"
	"math/rand/v2"
	"sync/atomic"
	"time"

	"github.com/softnet/softnet/dp"
	"github.com/softnet/softnet/dp/filter/pf"
	"github.com/softnet/softnet/dp/ip4"
	"github.com/softnet/softnet/dp/ip6"
	"github.com/softnet/softnet/pkt"
)

// The per-vector sweep looks at the table's entries at a rate of its
// limit per sweepPeriod of clock time (the whole table about once a
// second, whatever the load: timeouts are seconds), at most sweepMax in
// one vector. At a full load of 256-packet vectors that is a few entries
// a vector (a fixed 64 a vector read a cache line for every fourth
// packet, evicting lines the other stages need), at a light load up to
// sweepMax.
const (
	sweepPeriod = int64(time.Second)
	sweepMax    = 256
)

// epoch anchors the monotonic clock of the tables.
var epoch = time.Now()

// skew is added to the clock (Advance).
var skew atomic.Int64

// Now is the tables' clock: monotonic ns.
func Now() int64 { return int64(time.Since(epoch)) + skew.Load() }

// Advance moves the tables' clock forward by d, in every process's
// tables: for tests of the timeouts, which need not wait them out.
func Advance(d time.Duration) { skew.Add(int64(d)) }

// MaxWorkers bounds the workers a Holder has tables for (config's).
const MaxWorkers = 64

// Holder is the filter's shared part, the same in every Config: the
// Ruleset in force (swapped atomically), the state limit per worker, and
// each worker's state table, which the worker makes itself at its first
// vector (one allocation of the whole table, then none) and remakes,
// keeping its states, when the limit changes.
type Holder struct {
	rules  atomic.Pointer[Ruleset]
	limit  atomic.Int64
	tables [MaxWorkers]atomic.Pointer[Table]
	reqs   [MaxWorkers]atomic.Pointer[Request]
}

// NewHolder makes a Holder whose tables take at most limit states each.
func NewHolder(limit int) *Holder {
	h := &Holder{}
	h.limit.Store(int64(max(limit, 1)))
	return h
}

// SetLimit changes the state limit per worker (each worker remakes its
// table at its next vector, keeping as many states as fit).
func (h *Holder) SetLimit(limit int) { h.limit.Store(int64(max(limit, 1))) }

// Limit is the state limit per worker.
func (h *Holder) Limit() int { return int(h.limit.Load()) }

// Table returns worker slot i's table (nil until its worker made it).
// Its counters may be read on any goroutine; its states only through
// a Request.
func (h *Holder) Table(i int) *Table { return h.tables[i%MaxWorkers].Load() }

// table returns worker slot i's table, made or remade for the limit.
func (h *Holder) table(i int) *Table {
	t := h.tables[i].Load()
	lim := int(h.limit.Load())
	if t != nil && t.limit == lim {
		return t
	}
	nt := NewTable(lim)
	if t != nil {
		nt.stats = tableStats{}
		nt.stats.inserts.Store(t.stats.inserts.Load())
		nt.stats.expired.Store(t.stats.expired.Load())
		nt.stats.flushed.Store(t.stats.flushed.Load())
		nt.stats.limited.Store(t.stats.limited.Load())
		for j := range t.entries {
			if s := &t.entries[j]; s.used && nt.n < nt.limit {
				if ns := nt.Insert(&s.K); ns != nil {
					*ns = *s
					ns.rgen = [2]uint16{} // see below
				}
			}
		}
		nt.stats.inserts.Store(t.stats.inserts.Load())
		// The generation goes on, but the states' route caches are not
		// kept: routeGen's clearing round starts again at the new
		// table's first entry, so a cache copied in might not be cleared
		// within the round it counts on (tables remade again and again
		// would leave the last entries' never cleared). Each state looks
		// its next hop up again at its next packet.
		nt.rcfg, nt.rgen = t.rcfg, t.rgen
	}
	h.tables[i].Store(nt)
	return nt
}

// ShuffleFree makes worker slot i's table if it has none and shuffles its
// free list (seeded by seed), so the states made next take entries in
// random order, as flows that come and go leave them, rather than in
// order. For benchmarks; call it on the worker's goroutine, or before
// the worker runs.
func (h *Holder) ShuffleFree(i int, seed uint64) {
	t := h.table(i % MaxWorkers)
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	rng.Shuffle(len(t.free), func(a, b int) { t.free[a], t.free[b] = t.free[b], t.free[a] })
}

// Rules is the Ruleset in force (nil: the filter passes everything).
func (h *Holder) Rules() *Ruleset { return h.rules.Load() }

// SetRules makes rs the Ruleset in force; the states stay.
func (h *Holder) SetRules(rs *Ruleset) { h.rules.Store(rs) }

// tableStats are a table's counters (written by its worker only).
type tableStats struct {
	inserts, expired, flushed, limited, live atomic.Uint64
}

// TableStats is a table's counters as read.
type TableStats struct {
	States, Limit                      int
	Inserts, Expired, Flushed, Refused uint64
}

// Stats reads worker slot i's table counters (any goroutine).
func (h *Holder) Stats(i int) TableStats {
	t := h.Table(i)
	if t == nil {
		return TableStats{Limit: h.Limit()}
	}
	return TableStats{States: int(t.stats.live.Load()), Limit: t.limit, Inserts: t.stats.inserts.Load(),
		Expired: t.stats.expired.Load(), Flushed: t.stats.flushed.Load(), Refused: t.stats.limited.Load()}
}

// Request is a control-plane request a worker serves on its next vector
// or wake-up (InjectWake): flush its table, or copy its states out.
type Request struct {
	Flush bool
	Match func(*State) bool // nil: every state
	Max   int               // most states to copy (0: all)
	Out   []State           // filled by the worker
	N     int               // states flushed
	Done  chan struct{}
}

// Post hands r to worker slot i; the caller then wakes the worker (an
// InjectWake message) and waits on r.Done. false: a request is pending.
func (h *Holder) Post(i int, r *Request) bool {
	return h.reqs[i].CompareAndSwap(nil, r)
}

// Cancel withdraws r from worker i if it has not been served.
func (h *Holder) Cancel(i int, r *Request) bool {
	return h.reqs[i].CompareAndSwap(r, nil)
}

// serve serves worker slot i's pending request, if any.
func (h *Holder) serve(i int, now int64) {
	r := h.reqs[i].Load()
	if r == nil || !h.reqs[i].CompareAndSwap(r, nil) {
		return
	}
	t := h.table(i)
	if r.Flush {
		if r.Match == nil {
			r.N = t.Flush()
		} else {
			for j := range t.entries {
				if s := &t.entries[j]; s.used && r.Match(s) {
					t.delEntry(uint32(j))
					r.N++
					t.stats.flushed.Store(t.stats.flushed.Load() + 1)
				}
			}
		}
	} else {
		t.Each(now, func(s *State) {
			if (r.Max == 0 || len(r.Out) < r.Max) && (r.Match == nil || r.Match(s)) {
				r.Out = append(r.Out, *s)
			}
		})
	}
	t.stats.live.Store(uint64(t.n))
	close(r.Done)
}

// Stages and reasons of the two nodes.
var (
	Stage4, Stage6 dp.Stage
	reasons4       reasons
	reasons6       reasons
)

type reasons struct {
	Blocked, NoState, OutOfWindow, StateLimit, Short dp.Reason
}

func reasonDefs(r *reasons) []dp.ReasonDef {
	return []dp.ReasonDef{
		{Reason: &r.Blocked, Name: "blocked", Desc: "blocked by a filter rule or the default policy (softnet show rules: which rule)"},
		{Reason: &r.NoState, Name: "no-state", Desc: "TCP segment other than a SYN with no state (the flow was not opened through the filter, or its state expired)"},
		{Reason: &r.OutOfWindow, Name: "out-of-window", Desc: "TCP segment or RST outside the state's sequence window (pf's check)"},
		{Reason: &r.StateLimit, Name: "state-limit", Desc: "the worker's state table is full (raise filter.limit)"},
		{Reason: &r.Short, Name: "short", Desc: "transport header cut short"},
	}
}

// Node names (Iface.Features).
const (
	Node4 = "ip4-filter"
	Node6 = "ip6-filter"
)

// InjectWake is the message kind that wakes a worker to serve a Request.
const InjectWake dp.MsgKind = 32

var _ = dp.Register(dp.Node{
	Name:       Node4,
	Stage:      &Stage4,
	Arc:        ip4.ArcUnicast,
	Run:        func(w *dp.Worker, cfg *dp.Config, in *pkt.Batch) { run(w, cfg, in, Stage4, &reasons4) },
	Next:       []string{"ip4-rewrite", "drop"},
	Reasons:    reasonDefs(&reasons4),
	State:      newWState,
	Trace:      dp.NodeTrace{Record: record, Note: note, NoteDrops: true},
	Inject:     injectWake,
	InjectKind: InjectWake,
})

var _ = dp.Register(dp.Node{
	Name:    Node6,
	Stage:   &Stage6,
	Arc:     ip6.ArcUnicast,
	Run:     func(w *dp.Worker, cfg *dp.Config, in *pkt.Batch) { run(w, cfg, in, Stage6, &reasons6) },
	Next:    []string{"drop"},
	Reasons: reasonDefs(&reasons6),
	State:   newWState,
	Trace:   dp.NodeTrace{Record: record, Note: note, NoteDrops: true},
})

type wstate struct {
	f, q Flow // traces' scratch, and the ICMP quote's
	k    Key
	// The vector's flows, keys, the sides their senders are on, their
	// transport offsets and key hashes (run's first pass), the hints of
	// Table.LookupBatch.
	flows  [pkt.BatchSize]Flow
	keys   [pkt.BatchSize]Key  // the Key: parsed packets' (fastKey4w's made only for decide)
	k4     [pkt.BatchSize]key4 // fastKey4w's key words (parsed false)
	tcp    [pkt.BatchSize]bool // a TCP key (LookupBatch prefetches its windows)
	sides  [pkt.BatchSize]uint8
	l4s    [pkt.BatchSize]int32
	hashes [pkt.BatchSize]uint64
	parsed [pkt.BatchSize]bool // flows[i] filled (false: fastKey4w's key words only)
	// routable: an IPv4 packet the route cache may route (not a
	// fragment, TTL above 1: see routable), read in the first pass
	// with the key so that the decisions do not read the header again.
	routable [pkt.BatchSize]bool
	hints    [pkt.BatchSize]Hint
	// rest: the packets for ip4-lookup when the others go straight to
	// ip4-rewrite (the route cache); hit: the state decide passed a
	// packet by (nil: none, an ICMP error or a rule without state).
	rest [pkt.BatchSize]uint32
	hit  *State
}

func newWState(*dp.Worker) any { return new(wstate) }

// SlotOf is the table slot of worker ID id.
func SlotOf(id int) int { return id % MaxWorkers }

func slotOf(w *dp.Worker, _ *Holder) int { return SlotOf(w.ID) }

// injectWake serves the worker's pending request and frees the buffer.
func injectWake(w *dp.Worker, _ *dp.Msg, b *pkt.Buf) {
	w.Pool().Put(b)
	if h, ok := w.Config().Filter.(*Holder); ok && h != nil {
		h.serve(slotOf(w, h), Now())
	}
}

func run(w *dp.Worker, cfg *dp.Config, in *pkt.Batch, stage dp.Stage, rs *reasons) {
	h, _ := cfg.Filter.(*Holder)
	var set *Ruleset
	if h != nil {
		set = h.rules.Load()
	}
	if set == nil {
		w.PassNext(stage, in.N)
		return
	}
	st := w.State(stage).(*wstate)
	slot := slotOf(w, h)
	t := h.table(slot)
	now := Now()
	h.serve(slot, now)
	t.Sweep(t.sweepDue(now), now)
	// First pass: key every packet and hash its key; then the table
	// prefetches every home bucket and every matching entry in tight
	// loops, so that the vector's cache misses on a large table overlap
	// (the CPU keeps many in flight at once) instead of costing one
	// after the other in the decisions.
	for i, x := range in.B[:in.N] {
		ip := pkt.At(x).L3Bytes()
		if udp4(ip) {
			// The commonest case, fastKey4w's UDP datagram, by hand
			// (words4 inlined: a call per packet costs this loop).
			be := binary.BigEndian
			src, dst := be.Uint32(ip[12:16]), be.Uint32(ip[16:20])
			sport, dport := be.Uint16(ip[20:22]), be.Uint16(ip[22:24])
			// Side A is the lower (address, port): min and max, not a
			// branch (one the sides of random flows mispredict).
			ka, kb := uint64(src)<<16|uint64(sport), uint64(dst)<<16|uint64(dport)
			side := uint8(0)
			if ka > kb {
				side = 1
			}
			lo, hi := min(ka, kb), max(ka, kb)
			src, dst, sport, dport = uint32(lo>>16), uint32(hi>>16), uint16(lo), uint16(hi)
			const mapped = 0xffff << 32
			w := &st.k4[i]
			w.a = bits.ReverseBytes64(mapped | uint64(src))
			w.b = bits.ReverseBytes64(mapped | uint64(dst))
			w.p = uint64(sport) | uint64(dport)<<16 | uint64(pf.ProtoUDP)<<32 | 4<<40
			st.hashes[i] = hash4(src, dst, sport, dport, pf.ProtoUDP)
			st.sides[i], st.parsed[i], st.tcp[i] = side, false, false
			st.routable[i] = routable(ip)
			continue
		}
		if side, h, ok := fastKey4w(ip, &st.k4[i], &st.flows[i].Seg); ok {
			// The common case: the key's words (and a TCP segment)
			// without a full parse (decide parses the packet, and
			// makes the Key, when it needs more).
			st.sides[i], st.parsed[i] = uint8(side), false
			st.routable[i] = routable(ip)
			st.hashes[i] = h
			st.tcp[i] = uint8(st.k4[i].p>>32) == pf.ProtoTCP
			continue
		}
		f := &st.flows[i]
		st.parsed[i] = true
		st.routable[i] = len(ip) >= 20 && routable(ip)
		st.l4s[i] = int32(parse(ip, f))
		st.hashes[i] = 0
		st.tcp[i] = false
		if f.Short {
			continue
		}
		st.sides[i] = uint8(f.key(&st.keys[i]))
		st.hashes[i] = st.keys[i].hash()
		st.tcp[i] = f.Proto == pf.ProtoTCP
	}
	t.LookupBatch(st.hashes[:in.N], st.tcp[:in.N], st.hints[:in.N])
	// Decide, compacting the vector to the packets that pass, and hand
	// them on in one pass (a vector swap when they all go to the same
	// next node, as a vector from one interface does).
	//
	// A UDP packet of an established pseudo-state (its side heard from
	// before: the peers' pseudo-states stay as they are) found where
	// LookupBatch hinted, the common hit, is passed here without a call
	// of decide: its entry's expiry and counter are all it changes. So is
	// a TCP segment fastKey4w keyed (no SYN, FIN or RST) found where
	// hinted, tracked here as decide would (tcpTrack, the expiry of its
	// connection's state, the counter).
	// The route cache (State.rnh): when this node is the last feature
	// of ip4-unicast (its packets go on to ip4-lookup), an IPv4 packet
	// that hits its state takes the next hop its state cached for its
	// side and goes straight to ip4-rewrite, if ip4-lookup would have
	// sent it there (the checks below); the others go on to ip4-lookup.
	// Not on the general path (tests of the nodes' general loops).
	route := stage == Stage4 && cfg.FIB != nil && !w.General() && w.LastFeature(stage)
	var gen uint16
	if route {
		gen = t.routeGen(cfg)
	}
	k, m := 0, 0 // packets for ip4-rewrite (route) compacted in in.B, and for the next node in st.rest
	udpTimeout := set.Timeouts.UDP
	recs := pkt.Records()
	adjs := cfg.Adj
	for i, x := range in.B[:in.N] {
		b := recs.At(x)
		var s *State
		side := int(st.sides[i] & 1)
		if h := st.hints[i]; h >= 0 && !st.parsed[i] {
			e := &t.entries[h]
			if !st.tcp[i] {
				if e.used && e.Expire >= now && e.pkts[side] != 0 && eq4(e, &st.k4[i]) {
					e.Expire = now + udpTimeout
					e.count(side)
					s = e
				}
			} else if e.used && e.Expire >= now && eq4(e, &st.k4[i]) {
				// A segment of an established connection (fastKey4w's:
				// no SYN, FIN or RST, its segment in flows[i].Seg)
				// found where hinted: decide's state hit, without the
				// call (nor the Key it would make and compare).
				if !tcpTrack(e, side, &st.flows[i].Seg) {
					w.Drop(b, rs.OutOfWindow)
					continue
				}
				e.Expire = now + tcpTimeout(e, &set.Timeouts)
				e.count(side)
				s = e
			}
		}
		if s == nil {
			st.hit = nil
			if !st.parsed[i] {
				st.k4[i].key(&st.keys[i])
			}
			if r := decide(cfg, set, t, st, b, i, slot, now, rs); r != dp.ReasonNone {
				w.Drop(b, r)
				continue
			}
			s = st.hit
		}
		if route && s != nil && st.routable[i] {
			// The next hop the state cached for this side (looked
			// up and cached when it is not of this generation), if
			// ip4-lookup would send the packet to ip4-rewrite with
			// it, as its lookupFast does: a forward, incomplete or
			// glean adjacency, a transit packet (not the router's
			// own), not received as link-layer broadcast, TTL above
			// 1 and not a fragment (routable). Else ip4-lookup
			// decides (and counts) as for any packet.
			if s.rgen[side] != gen {
				cacheRoute(cfg, s, side, gen, b)
			}
			if nh := s.rnh[side]; int(nh) < len(adjs) {
				if kind := adjs[nh].Kind; (kind == dp.AdjForward || kind == dp.AdjIncomplete || kind == dp.AdjGlean) &&
					b.Flags&(pkt.FlagLocal|pkt.FlagL2Multicast) == 0 {
					b.NH = nh
					in.B[k] = x
					k++
					continue
				}
			}
		}
		if route {
			st.rest[m] = x
			m++
			continue
		}
		in.B[k] = x
		k++
	}
	if route {
		w.Pass(stage, ip4.StageRewrite, k)
		w.ToAll(ip4.StageLookup, st.rest[:m])
	} else {
		w.PassNext(stage, k)
	}
	t.stats.live.Store(uint64(t.n))
}

// routable reports whether the route cache may route the IPv4 packet ip
// (its header's first 20 bytes at least): TTL above 1 (else ip4-lookup
// sends it to ICMP time exceeded), not a fragment (more fragments, or an
// offset: ECMP hashes a fragment without its ports, it may have none, so
// a fragment's next hop may not be its flow's; fragments go to
// ip4-lookup).
func routable(ip []byte) bool {
	return ip[6]&0x3f|ip[7] == 0 && ip[8] > 1
}

// cacheRoute looks up the next hop of b, a packet of state s from side,
// as ip4-lookup does (the FIB, then the ECMP group's member for its
// flow), and caches it in s for route generation gen.
func cacheRoute(cfg *dp.Config, s *State, side int, gen uint16, b *pkt.Buf) {
	nh := cfg.FIB.Lookup(b.Dst4())
	if int(nh) < len(cfg.Adj) && cfg.Adj[nh].Kind == dp.AdjGroup {
		nh = dp.PickECMP(cfg, &cfg.Adj[nh], b.L3Bytes())
	}
	s.rnh[side], s.rgen[side] = nh, gen
}

// Verdict kinds recorded in traces (RawStep.K).
const (
	vState uint8 = iota + 1
	vRule
	vICMPState
)

// decide returns the drop reason for b, or ReasonNone to pass it.
func decide(cfg *dp.Config, set *Ruleset, t *Table, st *wstate, b *pkt.Buf, i, slot int, now int64, rs *reasons) dp.Reason {
	f := &st.flows[i]
	parsed := st.parsed[i] // f is filled (else only the key and, for TCP, f.Seg: fastKey4w)
	if parsed && f.Short {
		return rs.Short
	}
	side := int(st.sides[i])
	key := &st.keys[i]
	if s := t.FindHint(key, st.hashes[i], st.hints[i], now); s != nil {
		to := &set.Timeouts
		switch {
		case key.Proto == pf.ProtoTCP && (!parsed || !f.Frag):
			// A TCP segment (not a later fragment): its segment is in
			// f.Seg, from parse or fastKey4w.
			if !tcpTrack(s, side, &f.Seg) {
				return rs.OutOfWindow
			}
			s.Expire = now + tcpTimeout(s, to)
		default:
			// The pseudo-states change only at a side's first packet
			// (the counters, in the entry's first cache line, tell):
			// later ones leave the peers' line alone.
			if s.Packets(side) == 0 {
				p := &s.Peer[side]
				p.State = PseudoSingle
				if s.Peer[1-side].State != PseudoNone {
					p.State, s.Peer[1-side].State = PseudoMultiple, PseudoMultiple
				}
			}
			s.Expire = now + otherTimeout(key.Proto, to)
		}
		s.count(side)
		st.hit = s
		return dp.ReasonNone
	}
	ip := b.L3Bytes()
	if !parsed {
		st.l4s[i] = int32(parse(ip, f))
	}
	l4 := int(st.l4s[i])
	if f.ICMPErr {
		// An ICMP error about a packet of a state passes (pf matches it
		// to the quoted packet's state); else the rules decide.
		q := &st.q
		if quoted(ip, l4, q) {
			var k Key
			q.key(&k)
			if t.peek(&k, now) != nil {
				return dp.ReasonNone
			}
		}
	}
	inI, inAct, inKeep := set.eval(f, pf.In, int(b.InPort))
	outI, outAct, outKeep := -1, pf.Pass, false
	if inAct == pf.Pass {
		if o := egress(cfg, f); o >= 0 {
			outI, outAct, outKeep = set.eval(f, pf.Out, o)
		}
	}
	if inAct == pf.Block || outAct == pf.Block {
		i := inI
		if inAct != pf.Block {
			i = outI
		}
		set.count(slot, inI)
		if outI >= 0 {
			set.count(slot, outI)
		}
		b.Aux = uint32(set.ruleID(i) + 1) // the deciding rule's identity + 1 (0: the default policy), for drop captures
		if i < 0 && f.Proto == pf.ProtoTCP && !f.Frag && f.Seg.Flags&(fSYN|fRST) != fSYN {
			return rs.NoState
		}
		return rs.Blocked
	}
	set.count(slot, inI)
	if outI >= 0 {
		set.count(slot, outI)
	}
	if !(inKeep || outKeep) {
		return dp.ReasonNone
	}
	s := t.Insert(key)
	if s == nil {
		return rs.StateLimit
	}
	s.Init, s.Iface, s.Created = uint8(side), b.InPort, now
	made := inI
	if !inKeep {
		made = outI
	}
	s.Rule = set.ruleID(made)
	to := &set.Timeouts
	if f.Proto == pf.ProtoTCP && !f.Frag {
		tcpStart(s, side, &f.Seg)
		s.Expire = now + tcpTimeout(s, to)
	} else {
		s.Peer[side].State = PseudoSingle
		s.Expire = now + otherTimeout(f.Proto, to)
	}
	s.count(side)
	set.countState(slot, made)
	st.hit = s
	return dp.ReasonNone
}

func otherTimeout(proto uint8, to *Timeouts) int64 {
	switch proto {
	case pf.ProtoUDP:
		return to.UDP
	case pf.ProtoICMP, pf.ProtoICMPv6:
		return to.ICMP
	}
	return to.Other
}

// egress returns the interface f would be routed out of, -1 when it is
// for the router itself or has no route.
func egress(cfg *dp.Config, f *Flow) int {
	var nh uint16
	if f.Fam == 4 {
		if cfg.FIB == nil {
			return -1
		}
		nh = cfg.FIB.Lookup(uint32(f.Dst[12])<<24 | uint32(f.Dst[13])<<16 | uint32(f.Dst[14])<<8 | uint32(f.Dst[15]))
	} else {
		if cfg.FIB6 == nil {
			return -1
		}
		nh = cfg.FIB6.Lookup(f.Dst)
	}
	if int(nh) >= len(cfg.Adj) {
		return -1
	}
	switch a := &cfg.Adj[nh]; a.Kind {
	case dp.AdjForward, dp.AdjIncomplete, dp.AdjGlean, dp.AdjUnreachable:
		return int(a.Iface)
	}
	return -1
}

// record notes, for a traced packet, what the filter will decide: K the
// verdict kind (vState: a state; vRule: the rules), A and B the rules
// decided in and out (index+1; 0: the default policy or none).
func record(w *dp.Worker, cfg *dp.Config, b *pkt.Buf, rst *dp.RawStep) {
	h, _ := cfg.Filter.(*Holder)
	if h == nil {
		return
	}
	set := h.rules.Load()
	if set == nil {
		return
	}
	st := w.State(rst.Stage).(*wstate)
	t := h.Table(slotOf(w, h)) // nil before the worker's first vector: no state
	f := &st.f
	if parse(b.L3Bytes(), f); f.Short {
		return
	}
	f.key(&st.k)
	if f.Fam == 4 {
		rst.C = b.Dst4() // for the route cache's note
	}
	now := Now()
	if t != nil && t.peek(&st.k, now) != nil {
		rst.K = vState
		return
	}
	rst.K = vRule
	inI, inAct, _ := set.eval(f, pf.In, int(b.InPort))
	rst.A = uint16(inI + 1)
	if inAct == pf.Pass {
		if o := egress(cfg, f); o >= 0 {
			outI, _, _ := set.eval(f, pf.Out, o)
			rst.B = uint16(outI + 1)
			rst.D = 1
		}
	}
}

func note(cfg *dp.Config, st, nx *dp.RawStep, _ bool) string {
	h, _ := cfg.Filter.(*Holder)
	var set *Ruleset
	if h != nil {
		set = h.rules.Load()
	}
	// A packet the route cache sent to ip4-rewrite: what ip4-lookup's
	// step would have said of its route.
	route := ""
	if nx != nil && nx.Stage == ip4.StageRewrite && cfg != nil {
		route = fmt.Sprintf("; route %s (cached in the state): adjacency %d, %s via %s",
			dp.IP4String(st.C), nx.A, dp.AdjKindName(nx.K), dp.IfaceName(cfg, int(nx.B)))
	}
	switch st.K {
	case vState:
		return "matched a state" + route
	case vRule:
		s := "in: " + ruleName(set, int(st.A)-1)
		if st.D != 0 {
			s += "; out: " + ruleName(set, int(st.B)-1)
		}
		return s + route
	}
	return ""
}

// DropRule names the rule that made a drop with reason r whose detail
// (pkt.Buf.Aux, a drop capture's CapRecord.Detail: the rule's identity
// + 1) is d: "rule N (TEXT)" or "default policy block", as traces do,
// for the filter's blocked and no-state drops, numbered as in the rules
// in force now (a reload in between may have moved the rule: the
// number is its new one; "a rule a reload removed or changed" if it is
// gone); ok false for other reasons.
func (h *Holder) DropRule(r dp.Reason, d uint32) (rule string, ok bool) {
	if r == dp.ReasonNone || (r != reasons4.Blocked && r != reasons4.NoState && r != reasons6.Blocked && r != reasons6.NoState) {
		return "", false
	}
	set := h.Rules()
	if set == nil {
		return ruleName(set, -1), true
	}
	n := set.RuleNumber(int32(d) - 1)
	if n < 0 {
		return "a rule a reload removed or changed", true
	}
	return ruleName(set, n-1), true
}

func ruleName(set *Ruleset, i int) string {
	if set == nil {
		return "no rules"
	}
	if i < 0 || i >= len(set.Rules) {
		return "default policy " + set.Default.String()
	}
	return "rule " + itoa(i+1) + " (" + set.Rules[i].Text + ")"
}

func itoa(i int) string {
	if i == 0 {
		return "0"
	}
	var b [20]byte
	n := len(b)
	for i > 0 {
		n--
		b[n] = byte('0' + i%10)
		i /= 10
	}
	return string(b[n:])
}
