package l2

import (
	"encoding/binary"
	"sync"
	"sync/atomic"
	"time"

	"github.com/softnet/softnet/dp"
	"github.com/softnet/softnet/hdr"
	"github.com/softnet/softnet/pkt"
)

// l2-bridge: its registration (see dp.Register).
var (
	StageBridge dp.Stage

	NotMember, MulticastSource, LinkLocal, SameMember dp.Reason
	FloodLimited, NoMembers, NoBuffer                 dp.Reason

	// The bridge's successors registered by other packages (see
	// dp.Ref), and the reasons of other nodes it counts drops under (a
	// re-tagged frame without headroom, a frame for a BVI that is down or
	// of an EtherType no node takes), as they were before l2-bridge had a
	// package.
	stageARPInput, stageIP4Input, stageIP6Input dp.Stage
	noHeadroom, ifaceDown, unknownType          dp.Reason
)

var (
	_ = dp.Ref("arp-input", &stageARPInput)
	_ = dp.Ref("ip4-input", &stageIP4Input)
	_ = dp.Ref("ip6-input", &stageIP6Input)
	_ = dp.RefReason("ip4-rewrite", "no-headroom", &noHeadroom)
	_ = dp.RefReason("ethernet-input", "iface-down", &ifaceDown)
	_ = dp.RefReason("ethernet-input", "unknown-ethertype", &unknownType)
)

var _ = dp.Register(dp.Node{
	Name:  "l2-bridge",
	Stage: &StageBridge,
	Run:   bridge,
	Next:  []string{"interface-output", "arp-input", "ip4-input", "ip6-input", "drop"},
	State: newState,
	Reasons: []dp.ReasonDef{
		{Reason: &NotMember, Name: "not-member", Desc: "the interface is no longer a member of a bridge (the config changed)"},
		{Reason: &MulticastSource, Name: "multicast-source", Desc: "source MAC is multicast or broadcast: invalid, neither learned nor forwarded (IEEE 802.1D)"},
		{Reason: &LinkLocal, Name: "link-local-group", Desc: "to 01:80:c2:00:00:0x, the 802.1D reserved link-local group (STP, LACP, LLDP, pause): never forwarded by a bridge"},
		{Reason: &SameMember, Name: "same-member", Desc: "destination MAC was learned on the receiving member: filtered"},
		{Reason: &FloodLimited, Name: "flood-limited", Desc: "broadcast, multicast or unknown unicast over the bridge's flood rate limit"},
		{Reason: &NoMembers, Name: "no-members", Desc: "nowhere to flood: no other member is up"},
		{Reason: &NoBuffer, Name: "no-buffer", Desc: "no free buffer for a flooded copy"},
	},
})

// macTable is one worker's learned MACs of one bridge: open addressing
// with linear probing, capacity a power of two at least twice MaxMACs, so
// a lookup is a hash and a few probes. Only the worker writes it; the
// other workers (lookups, see state.lookup) and the control plane (MACs)
// read it with atomic loads, and the worker stores an entry atomically
// only when it changes (learn, move, delete) or its last-seen second
// changes, never per packet otherwise.
//
// An entry's key word holds the MAC and the member it was learned on
// (macKey | (member+1)<<48; 0 empty), so a reader never pairs a MAC with
// another entry's member; its val word is when it was last seen (ms of
// the bridge clock, shared by all workers, low 48 bits) and the member's
// down count then (see downs, high 16 bits): an entry learned before its
// member last went down is stale, as if flushed.
type macTable struct {
	key  []uint64 // MAC | (member+1)<<48 when in use; 0 empty
	val  []uint64 // downs<<48 | last seen (ms of the bridge clock)
	mask uint64
	n    int // entries in use
	max  int
	age  int64 // ms
	cur  int   // next slot to sweep for expired entries

	tokens     float64 // flood token bucket
	lastRefill int64
	moved      bool // set by learn
}

const macMask = 1<<48 - 1

func newMACTable(b *dp.Bridge) *macTable {
	c := 16
	for c < 2*b.MaxMACs {
		c <<= 1
	}
	return &macTable{key: make([]uint64, c), val: make([]uint64, c), mask: uint64(c - 1), max: b.MaxMACs, age: b.Ageing / 1e6, tokens: float64(b.FloodBurst)}
}

// macKey is MAC m as a table key without its member (48 bits).
func macKey(m []byte) uint64 {
	return uint64(binary.BigEndian.Uint16(m[0:2]))<<32 | uint64(binary.BigEndian.Uint32(m[2:6]))
}

func (t *macTable) slot(mac uint64) uint64 {
	h := mac * 0x9e3779b97f4a7c15
	return (h >> 32) & t.mask
}

// find returns the slot of MAC mac, or -1. Only the owning worker calls
// it (plain loads).
func (t *macTable) find(mac uint64) int {
	for i := t.slot(mac); ; i = (i + 1) & t.mask {
		switch k := t.key[i]; {
		case k == 0:
			return -1
		case k&macMask == mac:
			return int(i)
		}
	}
}

// get returns the member MAC mac was learned on and when it was last
// seen, if the table holds it. Any goroutine may call it while the owner
// changes the table: it loads atomically, re-reads the key after the
// value so a pair torn by a concurrent move or delete is not returned,
// and gives up after one lap; an entry being moved meanwhile may be
// missed (its frame is flooded).
func (t *macTable) get(mac uint64) (m uint16, v uint64, ok bool) {
	i := t.slot(mac)
	for range t.mask + 1 {
		k := atomic.LoadUint64(&t.key[i])
		if k == 0 {
			return 0, 0, false
		}
		if k&macMask == mac {
			v := atomic.LoadUint64(&t.val[i])
			if atomic.LoadUint64(&t.key[i]) != k {
				return 0, 0, false
			}
			return uint16(k>>48) - 1, v, true
		}
		i = (i + 1) & t.mask
	}
	return 0, 0, false
}

// learn records that mac was seen on member m, down count d (see downs),
// at now. It returns whether the table changed (mac is new, on another
// member than before or stale: then t.moved says whether that was a move
// of a live entry), and false in ok when the table is full.
func (t *macTable) learn(mac uint64, m, d uint16, now int64) (changed, ok bool) {
	t.moved = false
	k := mac | (uint64(m)+1)<<48
	v := uint64(d)<<48 | uint64(now)
	i := t.find(mac)
	if i >= 0 {
		old, ov := t.key[i], t.val[i]
		seen := int64(ov & macMask)
		fresh := now-seen <= t.age
		stale := ov>>48 != uint64(d) // learned before m last went down
		if old != k {
			atomic.StoreUint64(&t.key[i], k)
		}
		if old != k || stale || now/1000 != seen/1000 {
			atomic.StoreUint64(&t.val[i], v)
		}
		t.moved = old != k && fresh
		return old != k || stale, true
	}
	if t.n >= t.max {
		return false, false
	}
	j := t.slot(mac)
	for t.key[j] != 0 {
		j = (j + 1) & t.mask
	}
	atomic.StoreUint64(&t.val[j], v)
	atomic.StoreUint64(&t.key[j], k)
	t.n++
	return true, true
}

// sweep removes up to n slots' worth of expired entries, resuming where
// the last sweep stopped (backward-shift deletion keeps probe chains
// whole). It runs once per bridge call, so aging costs a few slots per
// batch.
func (t *macTable) sweep(now int64, n int) {
	for ; n > 0; n-- {
		i := uint64(t.cur) & t.mask
		t.cur = int((i + 1) & t.mask)
		if t.key[i] != 0 && now-int64(t.val[i]&macMask) > t.age {
			t.remove(i)
		}
	}
}

// remove deletes slot i (Knuth's algorithm R for linear probing). A slot
// is cleared before another entry moves into it, so a reader (get) that
// loaded its old key sees the key change when it re-reads it.
func (t *macTable) remove(i uint64) {
	t.n--
	for {
		atomic.StoreUint64(&t.key[i], 0)
		j := i
		for {
			j = (j + 1) & t.mask
			if t.key[j] == 0 {
				return
			}
			h := t.slot(t.key[j] & macMask)
			// Move j back to i unless its home slot h lies cyclically
			// in (i, j].
			if (i < j && (h <= i || h > j)) || (i > j && h <= i && h > j) {
				atomic.StoreUint64(&t.val[i], t.val[j])
				atomic.StoreUint64(&t.key[i], t.key[j])
				i = j
				break
			}
		}
	}
}

// MAC is one learned MAC of a bridge, as a worker's table holds it.
type MAC struct {
	MAC    [6]byte
	Member uint16 // interface index
	Seen   int64  // the bridge clock (see Now) when last seen
	Downs  uint16 // the member's down count when learned (see Flushed)
}

// Flushed says whether m is as if flushed in cfg: its member is down, or
// went down since m was learned. Lookups ignore such entries; the
// workers remove them when they next switch a frame of the bridge.
func (m MAC) Flushed(cfg *dp.Config) bool {
	return !memberUp(cfg, m.Member) || downs(cfg, m.Member) != m.Downs
}

// Shared is one bridge's learned MACs as every worker sees them: each
// worker's MAC table of the bridge, published here (by worker ID) when
// the worker makes it. A worker learns into its own table only and looks
// a destination up in all of them (atomic loads, no lock), taking the
// most recently seen entry, so a MAC learned on one worker is known on
// every other. The control plane makes one per bridge (NewShared) and
// puts it in dp.Bridge.Shared, the same in every snapshot.
type Shared struct {
	mu   sync.Mutex // serialises publish; never taken per packet or per batch
	tabs atomic.Pointer[[]*macTable]
}

// NewShared makes a bridge's shared MAC tables, empty.
func NewShared() *Shared { return &Shared{} }

// publish makes t worker id's table of the bridge.
func (s *Shared) publish(id int, t *macTable) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var tabs []*macTable
	if p := s.tabs.Load(); p != nil {
		tabs = *p
	}
	tabs = append([]*macTable(nil), tabs...)
	for len(tabs) <= id {
		tabs = append(tabs, nil)
	}
	tabs[id] = t
	s.tabs.Store(&tabs)
}

// state is l2-bridge's per-worker state (see dp.Node.State): a MAC
// table per bridge of macsOf (see syncBridges) and the bridge's shared
// tables it is published in, the same published for readers under mu,
// and the bridge clock.
type state struct {
	id     int // the worker's ID
	macs   []*macTable
	shares []*Shared // per bridge; nil: the worker's own table only
	macsOf *dp.Config
	mu     sync.Mutex // guards pub; never taken per packet or per batch
	pub    []*macTable
	// clock replaces the bridge clock in tests (ms, > 0).
	clock func() int64
}

// epoch is the start of the bridge clock, one for all workers so that
// the times they learn MACs at compare.
var epoch = time.Now()

func newState(w *dp.Worker) any { return &state{id: w.ID} }

func stateOf(w *dp.Worker) *state { return w.State(StageBridge).(*state) }

// SetClock makes w's bridge clock f (milliseconds, > 0), for tests: call
// it before w polls. Workers of one bridge compare their clocks: give
// them all the same f.
func SetClock(w *dp.Worker, f func() int64) { stateOf(w).clock = f }

// MACs returns the MACs worker w has learned in bridge b (index in
// Config.Bridges), aged-out ones included (see Now). It may run
// concurrently with the worker: entries are read with atomic loads, so
// one being changed meanwhile may show its old or new member.
func MACs(w *dp.Worker, b int) []MAC {
	st := stateOf(w)
	st.mu.Lock()
	var t *macTable
	if b < len(st.pub) {
		t = st.pub[b]
	}
	st.mu.Unlock()
	if t == nil {
		return nil
	}
	var out []MAC
	for i := range t.key {
		k := atomic.LoadUint64(&t.key[i])
		if k == 0 {
			continue
		}
		v := atomic.LoadUint64(&t.val[i])
		var m MAC
		binary.BigEndian.PutUint16(m.MAC[0:2], uint16(k>>32))
		binary.BigEndian.PutUint32(m.MAC[2:6], uint32(k))
		m.Member, m.Seen, m.Downs = uint16(k>>48)-1, int64(v&macMask), uint16(v>>48)
		out = append(out, m)
	}
	return out
}

// syncBridges makes the worker's MAC tables match cfg's bridges: a table
// per bridge, kept across snapshots while the bridge's shape is the same,
// and published in the bridge's Shared. When a member went down since
// the last snapshot (old), the entries learned on members now down are
// flushed: a host behind a member that comes back is learned anew.
func (st *state) syncBridges(old, cfg *dp.Config) {
	if len(cfg.Bridges) == 0 && len(st.macs) == 0 {
		return
	}
	macs := make([]*macTable, len(cfg.Bridges))
	shares := make([]*Shared, len(cfg.Bridges))
	for i := range cfg.Bridges {
		b := &cfg.Bridges[i]
		shares[i], _ = b.Shared.(*Shared)
		if i < len(st.macs) && st.macs[i] != nil && st.macs[i].max == b.MaxMACs {
			macs[i] = st.macs[i]
			macs[i].age = b.Ageing / 1e6
			if memberWentDown(old, cfg, b) {
				macs[i].flushDown(cfg, i)
			}
		} else {
			macs[i] = newMACTable(b)
		}
		if s := shares[i]; s != nil && (i >= len(st.shares) || st.shares[i] != s || macs[i] != st.macs[i]) {
			s.publish(st.id, macs[i])
		}
	}
	st.macs, st.shares = macs, shares
	st.mu.Lock()
	st.pub = macs
	st.mu.Unlock()
}

// memberUp says whether member m of a bridge is up in cfg: the
// interface and, for a VLAN sub-interface, the port it is on.
func memberUp(cfg *dp.Config, m uint16) bool {
	return int(m) < len(cfg.Ifaces) && cfg.Ifaces[m].Up && cfg.Ifaces[cfg.PortOf(int(m))].Up
}

// downs is member m's down count in cfg: how often it went down
// (dp.Iface.Downs), its port's included for a VLAN sub-interface. An entry
// learned on m with another count is stale.
func downs(cfg *dp.Config, m uint16) uint16 {
	if int(m) >= len(cfg.Ifaces) {
		return 0
	}
	d := cfg.Ifaces[m].Downs
	if p := cfg.PortOf(int(m)); p != int(m) {
		d += cfg.Ifaces[p].Downs
	}
	return d
}

// memberWentDown says whether a member of b that was up in old (nil: the
// first snapshot) is down in cfg.
func memberWentDown(old, cfg *dp.Config, b *dp.Bridge) bool {
	if old == nil {
		return false
	}
	for _, m := range b.Members {
		if memberUp(old, m) && !memberUp(cfg, m) {
			return true
		}
	}
	return false
}

// flushDown removes the entries learned on a member that is down in cfg,
// went down since (see downs) or is no longer in bridge bi. It scans the
// whole table: once per snapshot in which a member went down, never per
// packet.
func (t *macTable) flushDown(cfg *dp.Config, bi int) {
	for i := uint64(0); i <= t.mask; {
		k := t.key[i]
		if m := uint16(k>>48) - 1; k != 0 && (!memberUp(cfg, m) || int(cfg.Ifaces[m].Bridge) != bi+1 || uint16(t.val[i]>>48) != downs(cfg, m)) {
			t.remove(i) // another entry may move into i: look at it again
			continue
		}
		i++
	}
}

// live says whether entry value v of member m (see macTable) is live in
// cfg at now: seen within age (ms), its member up and not gone down since.
func live(cfg *dp.Config, m uint16, v uint64, now, age int64) bool {
	return now-int64(v&macMask) <= age && memberUp(cfg, m) && uint16(v>>48) == downs(cfg, m)
}

// lookup returns the member MAC mac of bridge bi was last seen on by any
// worker, if the entry is live (an entry of a member that went down is as
// if flushed, on every worker, whether or not the worker that learned it
// has flushed it yet): the worker's own table only when the bridge shares
// none.
func (st *state) lookup(cfg *dp.Config, bi int, mac uint64, now, age int64) (uint16, bool) {
	s := st.shares[bi]
	if s == nil {
		m, v, ok := st.macs[bi].get(mac)
		return m, ok && live(cfg, m, v, now, age)
	}
	var best uint16
	var bestSeen int64
	found := false
	if p := s.tabs.Load(); p != nil {
		for _, t := range *p {
			if t == nil {
				continue
			}
			if m, v, ok := t.get(mac); ok && live(cfg, m, v, now, age) && (!found || int64(v&macMask) > bestSeen) {
				best, bestSeen, found = m, int64(v&macMask), true
			}
		}
	}
	return best, found
}

// now is the bridge clock: ms since the process started (at least 1),
// the same for every worker.
func (st *state) now() int64 {
	if st.clock != nil {
		return st.clock()
	}
	return time.Since(epoch).Milliseconds() + 1
}

// Now is worker w's bridge clock now, in MAC.Seen's unit (ms):
// a MAC with BridgeNow() - Seen above its bridge's ageing time has aged
// out, even while still in the table (workers remove aged entries
// lazily). Safe to call from any goroutine.
func Now(w *dp.Worker) int64 { return stateOf(w).now() }

// bridge switches frames within their bridge domain.
//
// l2-bridge (IEEE 802.1D learning bridge, learning shared by the workers,
// see Shared): for a frame from a member, learns its source MAC on that
// member (never a multicast source:
// such frames are dropped; a MAC seen on another member than before is a
// move, counted), then looks its destination up: the BVI's MAC goes up to
// arp-input, ip4-input or ip6-input as received on the BVI; a MAC learned on another
// member goes out of it (re-tagged for it); one learned on the receiving
// member is filtered (a destination is looked up in every worker's table
// of the bridge). Broadcast, multicast and unknown unicast are
// flooded to every other member (and a copy of broadcast and multicast to
// the BVI), within a per-worker rate limit. Frames the BVI sends
// (interface-output hands them here) are switched the same way, without
// learning. Learned MACs age out after Bridge.Ageing, and are flushed
// when their member goes down (see downs); a full table
// (Bridge.MaxMACs) learns nothing more until entries age out.
//   - Next: interface-output, arp-input, ip4-input, ip6-input, drop.
func bridge(w *dp.Worker, cfg *dp.Config, in *pkt.Batch) {
	st := stateOf(w)
	if st.macsOf != cfg {
		st.syncBridges(st.macsOf, cfg)
		st.macsOf = cfg
	}
	c := w.Stats()
	now := st.now()
	for _, t := range st.macs {
		t.sweep(now, 16)
	}
	// Consecutive frames mostly share their source and destination: the
	// last learned source and the last looked-up destination are
	// remembered for this call (the destination until a learn changes
	// the table).
	// (Not in tests of the general path: every frame learns and looks up.)
	general := w.General()
	var lastSrc, lastDst uint64
	var lastSrcM, lastDstM uint16
	lastBr := -1
	k := 0 // known unicast leaving untouched, compacted for interface-output
	// in.N is read on every turn: interface-output, when this stage
	// flushes it, may hand more BVI packets here; they are done now.
	for i := 0; i < in.N; i++ {
		x := in.B[i]
		b := pkt.At(x)
		ifc := &cfg.Ifaces[b.InPort]
		bi := int(ifc.Bridge) - 1
		if bi < 0 || bi >= len(cfg.Bridges) || bi >= len(st.macs) {
			w.Drop(b, NotMember)
			continue
		}
		if bi != lastBr || general {
			lastSrc, lastDst, lastBr = 0, 0, bi
		}
		br := &cfg.Bridges[bi]
		t := st.macs[bi]
		f := b.Bytes()
		fromBVI := int(b.InPort) == br.BVI
		if f[6]&1 != 0 {
			w.Drop(b, MulticastSource)
			continue
		}
		// 01:80:c2:00:00:0x, the IEEE 802.1D reserved link-local group
		// (STP, LACP, LLDP, pause): never forwarded by a bridge.
		if f[0] == 0x01 && f[1] == 0x80 && f[2] == 0xc2 && f[3] == 0 && f[4] == 0 && f[5]&0xf0 == 0 {
			w.Drop(b, LinkLocal)
			continue
		}
		if src := macKey(f[6:12]); !fromBVI && (src != lastSrc || b.InPort != lastSrcM) {
			changed, ok := t.learn(src, b.InPort, downs(cfg, b.InPort), now)
			switch {
			case !ok:
				c.BridgeLearnFull++
			case changed:
				lastDst = 0
				if t.moved {
					c.BridgeMoves++
				}
			}
			lastSrc, lastSrcM = src, b.InPort
		}
		if f[0]&1 == 0 {
			dst := macKey(f[0:6])
			if br.BVI >= 0 && !fromBVI && [6]byte(f[0:6]) == cfg.Ifaces[br.BVI].MAC {
				if !cfg.Ifaces[br.BVI].Up {
					w.Drop(b, ifaceDown) // the routed interface is down
					continue
				}
				bridgeUp(w, cfg, b, br.BVI)
				continue
			}
			m, ok := lastDstM, dst == lastDst
			if !ok {
				if m, ok = st.lookup(cfg, bi, dst, now, br.Ageing/1e6); ok {
					lastDst, lastDstM = dst, m
				}
			}
			if ok {
				switch {
				case m == b.InPort:
					w.Drop(b, SameMember)
				case b.L3 == hdr.EthernetLen && cfg.Ifaces[m].TagLen == 0:
					b.OutPort = m // untagged to untagged: the frame is right as it is
					in.B[k] = x
					k++
				default:
					bridgeOut(w, cfg, b, m)
				}
				continue
			}
		}
		flood(w, cfg, br, t, b, fromBVI, now)
	}
	// Flood copies and re-tagged frames went into interface-output's
	// vector already: send it first if the untouched ones would not fit.
	w.OutputRoom(cfg, k)
	w.Pass(StageBridge, dp.StageInterfaceOutput, k)
}

// bridgeUp hands b, received in the bridge, to the BVI's L3 stages.
func bridgeUp(w *dp.Worker, cfg *dp.Config, b *pkt.Buf, bvi int) {
	f := b.Bytes()
	et := binary.BigEndian.Uint16(f[b.L3-2:])
	b.InPort = uint16(bvi)
	// Received on the BVI (the member port counted it too, as a bridge
	// port's frame).
	if c := w.Stats(); bvi < len(c.RxPackets) {
		c.RxPackets[bvi]++
		c.RxBytes[bvi] += uint64(b.Len)
	}
	switch et {
	case hdr.EtherTypeIPv4:
		w.To(stageIP4Input, b)
	case hdr.EtherTypeIPv6:
		w.To(stageIP6Input, b)
	case hdr.EtherTypeARP:
		w.To(stageARPInput, b)
	default:
		w.Drop(b, unknownType)
	}
}

// bridgeOut sends b out of member m: the frame's L2 header is rebuilt in
// front of its payload with m's tags (a member VLAN sub-interface's), or
// none.
func bridgeOut(w *dp.Worker, cfg *dp.Config, b *pkt.Buf, m uint16) {
	mi := &cfg.Ifaces[m]
	raw := b.Raw()
	l3 := int(b.Off) + int(b.L3)
	var addrs [12]byte
	copy(addrs[:], raw[b.Off:int(b.Off)+12])
	et := binary.BigEndian.Uint16(raw[l3-2:])
	tl := int(mi.TagLen)
	start := l3 - hdr.EthernetLen - tl
	if start < 0 {
		w.Drop(b, noHeadroom)
		return
	}
	copy(raw[start:], addrs[:])
	copy(raw[start+12:], mi.TagBytes())
	binary.BigEndian.PutUint16(raw[l3-2:], et)
	b.Len = uint16(int(b.Len) + int(b.Off) - start)
	b.Off, b.L3 = uint16(start), uint16(l3-start)
	b.OutPort = m
	w.Output(cfg, b)
}

// flood sends b to every member but the one it came from, and a copy of
// a broadcast or multicast frame to the BVI, if the bucket allows.
func flood(w *dp.Worker, cfg *dp.Config, br *dp.Bridge, t *macTable, b *pkt.Buf, fromBVI bool, now int64) {
	if now != t.lastRefill {
		t.tokens = min(float64(br.FloodBurst), t.tokens+float64(now-t.lastRefill)*float64(br.FloodRate)/1000)
		t.lastRefill = now
	}
	if t.tokens < 1 {
		w.Drop(b, FloodLimited)
		return
	}
	t.tokens--
	st := w.Stats()
	st.BridgeFloods++
	group := b.Bytes()[0]&1 != 0
	// The targets: every member up but the receiving one, however many
	// (no fixed-size list: a bridge has no member limit).
	lastT := -1 // index in br.Members of the last target
	for j, m := range br.Members {
		if m != b.InPort && cfg.Ifaces[m].Up {
			lastT = j
		}
	}
	toBVI := group && br.BVI >= 0 && !fromBVI && cfg.Ifaces[br.BVI].Up
	if lastT < 0 && !toBVI {
		w.Drop(b, NoMembers)
		return
	}
	// Copies first; the original goes last, to the last target.
	f := b.Bytes()
	for j, m := range br.Members {
		if m == b.InPort || !cfg.Ifaces[m].Up {
			continue
		}
		last := j == lastT && !toBVI
		c := b
		if !last {
			st.FloodCopies++
			if c = w.Pool().Get(); c == nil {
				st.Drops[NoBuffer]++
				continue
			}
			cf := c.Reset(len(f))
			copy(cf, f)
			c.L3, c.InPort, c.Flags = b.L3, b.InPort, b.Flags
		}
		bridgeOut(w, cfg, c, m)
	}
	if toBVI {
		b.Flags |= pkt.FlagL2Multicast
		bridgeUp(w, cfg, b, br.BVI)
	}
}
