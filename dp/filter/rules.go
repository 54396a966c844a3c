package filter

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"sync/atomic"

	"github.com/softnet/softnet/dp/edrop/blocklist"
	"github.com/softnet/softnet/dp/filter/pf"
)

// Ruleset is the rules in force, compiled, immutable once made (a reload
// makes a new one; the states, which live in the Holder's tables, stay).
type Ruleset struct {
	Rules   []pf.Rule // as parsed, for show rules and traces
	Default pf.Action
	// Timeouts of the state classes.
	Timeouts Timeouts
	rules    []crule
	hasOut   bool // some rule matches out: the first packet of a flow needs its egress interface
	// The rules that can match, in order, per family (IPv4, IPv6),
	// direction (in, out) and protocol class (classOf: one class per
	// protocol some rule names, class 0 for the rest): eval scans only
	// those, so a UDP flow's first packet does not walk a thousand TCP
	// rules. The last match (or first quick one) is the same as over all
	// the rules, as no rule left out can match.
	classOf [256]uint8
	cand    [2][2][][]int32
	// counters: per rule (index len(rules): the default policy), per
	// worker slot, packets decided and states made; a slot is written
	// only by its worker (a load and a store: no locked instruction). A
	// rule's slots are its own allocation, so that a later Ruleset in
	// which the rule is unchanged can count in them (ShareCounters).
	slots int
	cnt   [][]ruleCount
	// ids: each rule's identity, which a state records (State.Rule)
	// instead of the rule's index, so that show states names the right
	// rule after a reload moved it; ShareCounters gives an unchanged rule
	// its identity in old. byID maps them back to indices.
	ids  []int32
	byID map[int32]int
}

// ruleIDs hands out rule identities (control plane only: Compile).
var ruleIDs atomic.Int32

type ruleCount struct {
	pkts, states atomic.Uint64
}

// Table is a named table of addresses and prefixes (rules' <name>).
type NamedTable struct {
	Name  string
	Table *blocklist.Table
}

type chost struct {
	any, not bool
	v4       []p4
	v6       []p6
	table    *blocklist.Table
	ports    []pf.PortRange
}

type p4 struct{ a, m uint32 }
type p6 struct{ hi, lo, mhi, mlo uint64 }

type crule struct {
	action   pf.Action
	dir      pf.Dir
	quick    bool
	keep     bool
	iface    int // -1: any
	ifaceNot bool
	fam      uint8
	protoAny bool
	protos   [4]uint64 // bitmap
	src, dst chost
	flags    uint8
	mask     uint8
	icmpType int16
	icmpCode int16
}

// Compile makes a Ruleset. iface resolves an interface name to its index
// (false: unknown); tables are the named tables the rules may use;
// workers is the number of counter slots (one per worker).
func Compile(rules []pf.Rule, def pf.Action, to Timeouts, iface func(string) (int, bool), tables map[string]*blocklist.Table, workers int) (*Ruleset, error) {
	rs := &Ruleset{Rules: rules, Default: def, Timeouts: to, slots: max(workers, 1)}
	for i, r := range rules {
		c := crule{action: r.Action, dir: r.Dir, quick: r.Quick, keep: r.KeepState, iface: -1, ifaceNot: r.IfaceNot,
			fam: r.Family, protoAny: len(r.Protos) == 0, flags: r.Flags, mask: r.FlagsMask, icmpType: r.ICMPType, icmpCode: r.ICMPCode}
		if r.Iface != "" {
			x, ok := iface(r.Iface)
			if !ok {
				return nil, fmt.Errorf("rule %d (%s): no interface %q", i+1, r.Text, r.Iface)
			}
			c.iface = x
		}
		for _, p := range r.Protos {
			c.protos[p>>6] |= 1 << (p & 63)
		}
		var err error
		if c.src, err = compileHost(r.Src, tables); err != nil {
			return nil, fmt.Errorf("rule %d (%s): %v", i+1, r.Text, err)
		}
		if c.dst, err = compileHost(r.Dst, tables); err != nil {
			return nil, fmt.Errorf("rule %d (%s): %v", i+1, r.Text, err)
		}
		if r.Dir == pf.Out {
			rs.hasOut = true
		}
		if r.Dir == pf.Both && r.Iface != "" {
			rs.hasOut = true
		}
		rs.rules = append(rs.rules, c)
	}
	rs.cnt = make([][]ruleCount, len(rules)+1)
	for i := range rs.cnt {
		rs.cnt[i] = make([]ruleCount, rs.slots)
	}
	rs.ids = make([]int32, len(rules))
	for i := range rs.ids {
		rs.ids[i] = ruleIDs.Add(1)
	}
	rs.indexIDs()
	rs.index()
	return rs, nil
}

func (rs *Ruleset) indexIDs() {
	rs.byID = make(map[int32]int, len(rs.ids))
	for i, id := range rs.ids {
		rs.byID[id] = i
	}
}

// ruleID is the identity of rule i (-1, the default policy: -1).
func (rs *Ruleset) ruleID(i int) int32 {
	if i < 0 || i >= len(rs.ids) {
		return -1
	}
	return rs.ids[i]
}

// RuleNumber is the 1-based number in rs of the rule a state recorded
// (State.Rule): 0 for the default policy, -1 if rs no longer has that
// rule (a reload removed or changed it).
func (rs *Ruleset) RuleNumber(id int32) int {
	if id < 0 {
		return 0
	}
	if i, ok := rs.byID[id]; ok {
		return i + 1
	}
	return -1
}

// index fills classOf and cand from the compiled rules.
func (rs *Ruleset) index() {
	var protos []int // protocol of each class from 1
	for i := range rs.rules {
		c := &rs.rules[i]
		if c.protoAny {
			continue
		}
		for p := 0; p < 256; p++ {
			if c.protos[p>>6]&(1<<(p&63)) != 0 && rs.classOf[p] == 0 && len(protos) < 255 {
				protos = append(protos, p)
				rs.classOf[p] = uint8(len(protos))
			}
		}
	}
	for fi, fam := range [2]uint8{4, 6} {
		for di, dir := range [2]pf.Dir{pf.In, pf.Out} {
			lists := make([][]int32, len(protos)+1)
			for cl := range lists {
				for i := range rs.rules {
					c := &rs.rules[i]
					if c.fam != 0 && c.fam != fam || c.dir != pf.Both && c.dir != dir {
						continue
					}
					// Class 0 holds the protocols no rule names: only
					// rules for any protocol can match them.
					if c.protoAny || cl > 0 && c.protos[protos[cl-1]>>6]&(1<<(protos[cl-1]&63)) != 0 {
						lists[cl] = append(lists[cl], int32(i))
					}
				}
			}
			rs.cand[fi][di] = lists
		}
	}
}

// candidates returns the rules that can match f in direction dir, in
// order (nil: check them all).
func (rs *Ruleset) candidates(f *Flow, dir pf.Dir) ([]int32, bool) {
	fi, di := 0, 0
	switch f.Fam {
	case 4:
	case 6:
		fi = 1
	default:
		return nil, false
	}
	switch dir {
	case pf.In:
	case pf.Out:
		di = 1
	default:
		return nil, false
	}
	l := rs.cand[fi][di]
	if l == nil {
		return nil, false
	}
	return l[rs.classOf[f.Proto]], true
}

func compileHost(h pf.Host, tables map[string]*blocklist.Table) (chost, error) {
	c := chost{any: h.Any, not: h.Not, ports: h.Ports}
	if h.Table != "" {
		t, ok := tables[h.Table]
		if !ok {
			return c, fmt.Errorf("no table <%s>: define it under filter.tables", h.Table)
		}
		c.table = t
	}
	for _, p := range h.Prefixes {
		a := p.Addr()
		if a.Is4() {
			m := ^uint32(0)
			if p.Bits() < 32 {
				m = ^(^uint32(0) >> p.Bits())
			}
			if p.Bits() == 0 {
				m = 0
			}
			b := a.As4()
			c.v4 = append(c.v4, p4{binary.BigEndian.Uint32(b[:]) & m, m})
			continue
		}
		b := a.As16()
		hi, lo := binary.BigEndian.Uint64(b[:8]), binary.BigEndian.Uint64(b[8:])
		mhi, mlo := mask64(p.Bits()), mask64(p.Bits()-64)
		c.v6 = append(c.v6, p6{hi & mhi, lo & mlo, mhi, mlo})
	}
	return c, nil
}

func mask64(n int) uint64 {
	switch {
	case n <= 0:
		return 0
	case n >= 64:
		return ^uint64(0)
	}
	return ^(^uint64(0) >> n)
}

// addrIn reports whether address a (16 bytes, IPv4-mapped for IPv4) is
// in h's addresses (before negation).
func (h *chost) addrIn(a *[16]byte, fam uint8) bool {
	if h.any {
		return true
	}
	in := false
	if fam == 4 {
		v := binary.BigEndian.Uint32(a[12:])
		for _, p := range h.v4 {
			if v&p.m == p.a {
				in = true
				break
			}
		}
		if !in && h.table != nil {
			in = h.table.Lookup4(v)
		}
	} else {
		hi, lo := binary.BigEndian.Uint64(a[:8]), binary.BigEndian.Uint64(a[8:])
		for _, p := range h.v6 {
			if hi&p.mhi == p.hi && lo&p.mlo == p.lo {
				in = true
				break
			}
		}
		if !in && h.table != nil {
			in = h.table.Lookup6(hi, lo)
		}
	}
	return in != h.not
}

func portIn(rs []pf.PortRange, p uint16) bool {
	for _, r := range rs {
		if p >= r.Lo && p <= r.Hi {
			return true
		}
	}
	return false
}

// match reports whether rule c matches f evaluated in direction dir on
// interface ifc.
func (c *crule) match(f *Flow, dir pf.Dir, ifc int) bool {
	if c.dir != pf.Both && c.dir != dir {
		return false
	}
	if c.iface >= 0 && (c.iface == ifc) == c.ifaceNot {
		return false
	}
	if c.fam != 0 && c.fam != f.Fam {
		return false
	}
	if !c.protoAny && c.protos[f.Proto>>6]&(1<<(f.Proto&63)) == 0 {
		return false
	}
	if !c.src.addrIn(&f.Src, f.Fam) || !c.dst.addrIn(&f.Dst, f.Fam) {
		return false
	}
	if len(c.src.ports) > 0 || len(c.dst.ports) > 0 {
		if f.Frag || f.Proto != pf.ProtoTCP && f.Proto != pf.ProtoUDP {
			return false
		}
		if len(c.src.ports) > 0 && !portIn(c.src.ports, f.SPort) || len(c.dst.ports) > 0 && !portIn(c.dst.ports, f.DPort) {
			return false
		}
	}
	// Flags apply to TCP only (a rule for {tcp, udp} matches UDP
	// whatever its flags say, as pf's expansion of the rule does).
	if c.mask != 0 && f.Proto == pf.ProtoTCP && (f.Frag || f.Seg.Flags&c.mask != c.flags) {
		return false
	}
	if c.icmpType >= 0 && (f.Frag || int16(f.ICMPType) != c.icmpType || c.icmpCode >= 0 && int16(f.ICMPCode) != c.icmpCode) {
		return false
	}
	return true
}

// eval runs the rules for f in direction dir on interface ifc: the last
// matching rule decides, or the first quick one; -1 is the default
// policy.
func (rs *Ruleset) eval(f *Flow, dir pf.Dir, ifc int) (int, pf.Action, bool) {
	idx, act, keep := -1, rs.Default, false
	if cand, ok := rs.candidates(f, dir); ok {
		for _, i := range cand {
			c := &rs.rules[i]
			if !c.match(f, dir, ifc) {
				continue
			}
			idx, act, keep = int(i), c.action, c.keep
			if c.quick {
				break
			}
		}
		return idx, act, keep
	}
	for i := range rs.rules {
		c := &rs.rules[i]
		if !c.match(f, dir, ifc) {
			continue
		}
		idx, act, keep = i, c.action, c.keep
		if c.quick {
			break
		}
	}
	return idx, act, keep
}

// ShareCounters makes every rule of rs that old has too, unchanged,
// count in old's counters for it: its packets and states go on across
// the swap (a reload, or a table changed under the rules), and a worker
// still counting in old counts in the same place. Rules are matched by
// their parsed form (ruleKey: the text as the parser reads it, so
// spacing does not matter), not by number: a rule moved by rules added
// or removed before it keeps its counters; a changed or new rule starts
// at 0. Identical rules pair up in order. The default policy keeps its
// counters while it stays the same action. A matched rule keeps its
// identity too (RuleNumber), whatever the counters.
func (rs *Ruleset) ShareCounters(old *Ruleset) {
	if old == nil {
		return
	}
	counters := old.slots == rs.slots
	byKey := make(map[string][]int, len(old.Rules))
	for j := range old.Rules {
		k := ruleKey(&old.Rules[j])
		byKey[k] = append(byKey[k], j)
	}
	for i := range rs.Rules {
		k := ruleKey(&rs.Rules[i])
		if js := byKey[k]; len(js) > 0 {
			if counters {
				rs.cnt[i] = old.cnt[js[0]]
			}
			rs.ids[i] = old.ids[js[0]]
			byKey[k] = js[1:]
		}
	}
	rs.indexIDs()
	if counters && old.Default == rs.Default {
		rs.cnt[len(rs.rules)] = old.cnt[len(old.rules)]
	}
}

// ruleKey is r's identity across reloads: its parsed fields, without the
// text as written.
func ruleKey(r *pf.Rule) string {
	c := *r
	c.Text = ""
	return fmt.Sprintf("%+v", c)
}

// count adds a packet decided to rule i's counter (i -1: the default
// policy) in slot; countState a state made.
func (rs *Ruleset) count(slot, i int) {
	c := rs.counter(slot, i)
	c.pkts.Store(c.pkts.Load() + 1)
}

func (rs *Ruleset) countState(slot, i int) {
	c := rs.counter(slot, i)
	c.states.Store(c.states.Load() + 1)
}

func (rs *Ruleset) counter(slot, i int) *ruleCount {
	if i < 0 || i >= len(rs.rules) {
		i = len(rs.rules)
	}
	return &rs.cnt[i][slot%rs.slots]
}

// RuleStats is a rule's counters summed over the workers.
type RuleStats struct {
	Packets, States uint64
}

// Stats returns each rule's counters, then the default policy's.
func (rs *Ruleset) Stats() []RuleStats {
	n := len(rs.rules) + 1
	out := make([]RuleStats, n)
	for s := 0; s < rs.slots; s++ {
		for i := 0; i < n; i++ {
			c := &rs.cnt[i][s]
			out[i].Packets += c.pkts.Load()
			out[i].States += c.states.Load()
		}
	}
	return out
}

// Prefix6 helpers for callers that show addresses.
func addrOf(a [16]byte, fam uint8) netip.Addr {
	if fam == 4 {
		return netip.AddrFrom16(a).Unmap()
	}
	return netip.AddrFrom16(a)
}
