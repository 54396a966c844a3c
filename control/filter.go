package control

import (
	"fmt"
	"net/netip"
	"sync"
	"time"

	"github.com/softnet/softnet/dp"
	"github.com/softnet/softnet/dp/edrop/blocklist"
	"github.com/softnet/softnet/dp/filter"
	"github.com/softnet/softnet/dp/filter/pf"
)

// FilterConfig is the stateful filter (dp/filter): its rules (package
// pf), the default policy, named tables, the state limit per worker and
// the timeouts of the state classes.
type FilterConfig struct {
	Default  pf.Action
	Rules    []pf.Rule
	Tables   []FilterTable
	Limit    int // states per worker; 0: DefaultStateLimit
	Timeouts filter.Timeouts
}

// FilterTable is a named table: the addresses and prefixes in File
// (plain or gzip, one a line) and in Addrs.
type FilterTable struct {
	Name  string
	File  string
	Addrs []netip.Prefix
}

// DefaultStateLimit is the states per worker when the config gives none.
const DefaultStateLimit = 65536

// DefaultTimeouts are pf's defaults for the state classes.
var DefaultTimeouts = filter.Timeouts{
	TCPOpening:     int64(30 * time.Second),
	TCPEstablished: int64(24 * time.Hour),
	TCPClosing:     int64(900 * time.Second),
	TCPClosed:      int64(90 * time.Second),
	UDP:            int64(60 * time.Second),
	ICMP:           int64(20 * time.Second),
	Other:          int64(60 * time.Second),
}

type filterState struct {
	mu     sync.Mutex // one change at a time; table loads run outside Router.mu
	cfg    FilterConfig
	hold   *filter.Holder
	tables map[string]*blocklist.Table // the named tables in force (FilterTableChange changes them)
}

// SetFilter compiles c and makes it the filter in force. The first call
// turns the filter on (ip4-filter and ip6-filter on every interface);
// later ones (softnet reload) swap the rules atomically and keep every
// worker's states, and the counters of the rules that did not change
// (matched by their parsed text, not their number: Ruleset.ShareCounters).
func (r *Router) SetFilter(c FilterConfig) error {
	fs := &r.filt
	fs.mu.Lock()
	defer fs.mu.Unlock()
	tables := map[string]*blocklist.Table{}
	for _, t := range c.Tables {
		var e blocklist.Entries
		if t.File != "" {
			var err error
			if e, err = blocklist.Load(t.File); err != nil {
				return fmt.Errorf("filter table <%s>: %v", t.Name, err)
			}
		}
		for _, p := range t.Addrs {
			e.Add(p)
		}
		tables[t.Name] = blocklist.Build(e)
	}
	if c.Limit <= 0 {
		c.Limit = DefaultStateLimit
	}
	to := c.Timeouts
	def := DefaultTimeouts
	for _, p := range []struct{ v, d *int64 }{{&to.TCPOpening, &def.TCPOpening}, {&to.TCPEstablished, &def.TCPEstablished},
		{&to.TCPClosing, &def.TCPClosing}, {&to.TCPClosed, &def.TCPClosed}, {&to.UDP, &def.UDP}, {&to.ICMP, &def.ICMP}, {&to.Other, &def.Other}} {
		if *p.v <= 0 {
			*p.v = *p.d
		}
	}
	c.Timeouts = to
	r.mu.Lock()
	defer r.mu.Unlock()
	rs, err := r.compileFilterLocked(&c, tables)
	if err != nil {
		return err
	}
	if fs.hold == nil {
		fs.hold = filter.NewHolder(c.Limit)
		r.dirty = true
	}
	fs.hold.SetLimit(c.Limit)
	rs.ShareCounters(fs.hold.Rules()) // the rules a reload left unchanged keep their counters
	fs.hold.SetRules(rs)
	fs.cfg = c
	fs.tables = tables
	if r.dirty {
		r.publish()
	}
	return nil
}

// compileFilterLocked compiles c's rules over tables. Caller holds mu.
func (r *Router) compileFilterLocked(c *FilterConfig, tables map[string]*blocklist.Table) (*filter.Ruleset, error) {
	rs, err := filter.Compile(c.Rules, c.Default, c.Timeouts, func(name string) (int, bool) {
		i := r.ifaceIndexLocked(name)
		return i, i >= 0
	}, tables, filter.MaxWorkers)
	if err != nil {
		return nil, fmt.Errorf("filter: %v", err)
	}
	return rs, nil
}

// FilterTableInfo describes a named table of the filter (softnet table
// show).
type FilterTableInfo struct {
	Name    string `json:"name"`
	File    string `json:"file,omitempty"` // where the config loads it from
	Entries int    `json:"entries"`
	IPv4    int    `json:"ipv4"`
	IPv6    int    `json:"ipv6"`
	Bytes   int    `json:"bytes"`
}

// FilterTables describes the filter's named tables in config order (nil:
// no filter).
func (r *Router) FilterTables() []FilterTableInfo {
	fs := &r.filt
	fs.mu.Lock()
	defer fs.mu.Unlock()
	var out []FilterTableInfo
	for _, c := range fs.cfg.Tables {
		if t := fs.tables[c.Name]; t != nil {
			out = append(out, FilterTableInfo{Name: c.Name, File: c.File, Entries: t.Len(), IPv4: t.Len4(), IPv6: t.Len6(), Bytes: t.Bytes()})
		}
	}
	return out
}

// FilterTableEntries returns the entries of table name, at most max (0:
// all), as text.
func (r *Router) FilterTableEntries(name string, max int) ([]string, error) {
	fs := &r.filt
	fs.mu.Lock()
	defer fs.mu.Unlock()
	t := fs.tables[name]
	if t == nil {
		return nil, fmt.Errorf("no filter table <%s>%s", name, fs.tableNames())
	}
	var out []string
	for _, p := range t.Prefixes() {
		if max > 0 && len(out) == max {
			break
		}
		if p.Bits() == p.Addr().BitLen() {
			out = append(out, p.Addr().String())
		} else {
			out = append(out, p.String())
		}
	}
	return out, nil
}

func (fs *filterState) tableNames() string {
	if len(fs.cfg.Tables) == 0 {
		return " (the filter has none: define them under filter.tables)"
	}
	s := "; the tables are:"
	for _, t := range fs.cfg.Tables {
		s += " " + t.Name
	}
	return s
}

// FilterTableChange adds (del false) or deletes the addresses and
// prefixes entries to or from the filter's table name, which the config
// defines, and swaps in the rules compiled over the new table: one
// atomic swap, the workers never wait, the states and the rules'
// counters stay. A reload (softnet reload) loads the tables from the
// config again, as pf does.
func (r *Router) FilterTableChange(name string, entries []string, del bool) (FilterTableInfo, error) {
	fs := &r.filt
	fs.mu.Lock()
	defer fs.mu.Unlock()
	if fs.hold == nil {
		return FilterTableInfo{}, fmt.Errorf("no filter: add a filter section with tables to the config (softnet reload)")
	}
	old := fs.tables[name]
	if old == nil {
		return FilterTableInfo{}, fmt.Errorf("no filter table <%s>%s", name, fs.tableNames())
	}
	e := old.Entries()
	var rm blocklist.Entries
	for _, s := range entries {
		p, err := blocklist.CheckEntry(s)
		if err != nil {
			return FilterTableInfo{}, fmt.Errorf("table <%s>: %v", name, err)
		}
		if !del {
			e.Add(p)
			continue
		}
		if !old.Contains(p) {
			return FilterTableInfo{}, fmt.Errorf("table <%s>: %s is not an entry of it (delete entries as listed: softnet table show %s --entries 0)", name, s, name)
		}
		rm.Add(p)
	}
	if del {
		e.Remove(rm)
	}
	t := blocklist.Build(e)
	tables := make(map[string]*blocklist.Table, len(fs.tables))
	for k, v := range fs.tables {
		tables[k] = v
	}
	tables[name] = t
	r.mu.Lock()
	rs, err := r.compileFilterLocked(&fs.cfg, tables)
	r.mu.Unlock()
	if err != nil {
		return FilterTableInfo{}, err
	}
	rs.ShareCounters(fs.hold.Rules())
	fs.hold.SetRules(rs)
	fs.tables = tables
	var file string
	for _, c := range fs.cfg.Tables {
		if c.Name == name {
			file = c.File
		}
	}
	return FilterTableInfo{Name: name, File: file, Entries: t.Len(), IPv4: t.Len4(), IPv6: t.Len6(), Bytes: t.Bytes()}, nil
}

// FilterOn reports whether a filter was set (SetFilter).
func (r *Router) FilterOn() bool { return r.filterHolder() != nil }

// filterFeatures adds the filter's nodes to the published interfaces'
// features when a filter is on. Caller holds mu (publish).
func (r *Router) filterFeatures(ifaces []dp.Iface) any {
	h := r.filt.hold
	if h == nil {
		return nil
	}
	for i := range ifaces {
		f := make([]string, 0, len(ifaces[i].Features)+2)
		f = append(f, ifaces[i].Features...)
		ifaces[i].Features = append(f, filter.Node4, filter.Node6)
	}
	return h
}

// RuleInfo is a rule with its counters (show rules).
type RuleInfo struct {
	Number  int    `json:"number"` // 1-based; 0: the default policy
	Rule    string `json:"rule"`
	Packets uint64 `json:"packets"` // first packets of flows it decided
	States  uint64 `json:"states"`  // states it made
}

// FilterRules returns the rules in force with their counters summed over
// the workers, the default policy last; nil when there is no filter.
func (r *Router) FilterRules() []RuleInfo {
	h := r.filterHolder()
	if h == nil {
		return nil
	}
	rs := h.Rules()
	st := rs.Stats()
	out := make([]RuleInfo, 0, len(rs.Rules)+1)
	for i, ru := range rs.Rules {
		out = append(out, RuleInfo{Number: i + 1, Rule: ru.Text, Packets: st[i].Packets, States: st[i].States})
	}
	out = append(out, RuleInfo{Number: 0, Rule: "default " + rs.Default.String(), Packets: st[len(rs.Rules)].Packets, States: st[len(rs.Rules)].States})
	return out
}

// DropRule names the filter rule that made a captured drop with reason
// reason and detail (dp.CapRecord's): "rule N (TEXT)" or "default
// policy block" for the filter's blocked and no-state drops, from the
// rules in force now; "" for other drops or without a filter.
func (r *Router) DropRule(reason dp.Reason, detail uint32) string {
	h := r.filterHolder()
	if h == nil {
		return ""
	}
	s, _ := h.DropRule(reason, detail)
	return s
}

func (r *Router) filterHolder() *filter.Holder {
	r.filt.mu.Lock()
	defer r.filt.mu.Unlock()
	return r.filt.hold
}

// FilterStats are the state tables' counters summed over the workers.
type FilterStats struct {
	States  int    `json:"states"`
	Limit   int    `json:"limit"` // per worker
	Inserts uint64 `json:"inserts"`
	Expired uint64 `json:"expired"`
	Flushed uint64 `json:"flushed"`
	Refused uint64 `json:"refused"` // at the limit
}

// FilterStats sums the workers' table counters; ok false without a filter.
func (r *Router) FilterStats() (FilterStats, bool) {
	h := r.filterHolder()
	if h == nil {
		return FilterStats{}, false
	}
	var s FilterStats
	s.Limit = h.Limit()
	for i := 0; i < filter.MaxWorkers; i++ {
		t := h.Stats(i)
		s.States += t.States
		s.Inserts += t.Inserts
		s.Expired += t.Expired
		s.Flushed += t.Flushed
		s.Refused += t.Refused
	}
	return s, true
}

// StateInfo is one state (show states).
type StateInfo struct {
	Worker   int       `json:"worker"`
	Proto    string    `json:"proto"`
	Src      string    `json:"src"` // the side that opened the flow, addr:port
	Dst      string    `json:"dst"`
	State    string    `json:"state"` // TCP: the peers' states; UDP, ICMP: SINGLE or MULTIPLE
	Rule     int       `json:"rule"`  // the rule that made it (1-based, in the rules in force now), 0: the default policy, -1: a rule a reload removed or changed
	Iface    string    `json:"iface"` // where its first packet came in
	AgeS     int64     `json:"age_s"`
	ExpiresS int64     `json:"expires_s"`
	Packets  [2]uint64 `json:"packets"` // from src, from dst
}

// StateFilter selects states: by address (either side), port (either
// side) and protocol; zero values match all.
type StateFilter struct {
	Addr  netip.Addr
	Port  uint16
	Proto uint8
}

func (f StateFilter) match(s *filter.State) bool {
	if f.Proto != 0 && s.K.Proto != f.Proto {
		return false
	}
	if f.Port != 0 && s.K.PA != f.Port && s.K.PB != f.Port {
		return false
	}
	if f.Addr.IsValid() {
		a := f.Addr.Unmap().As16()
		if f.Addr.Is4() {
			a = netip.AddrFrom4(f.Addr.As4()).As16()
			a[10], a[11] = 0xff, 0xff
		}
		if s.K.A != a && s.K.B != a {
			return false
		}
	}
	return true
}

// filterTimeout bounds the wait for the workers to serve a request.
const filterTimeout = 3 * time.Second

// FilterStates returns the states matching f, at most max (0: all), from
// every worker (each copies its own table when woken).
func (r *Router) FilterStates(f StateFilter, max int) ([]StateInfo, error) {
	h := r.filterHolder()
	if h == nil {
		return nil, fmt.Errorf("no filter: add a filter section to the config (softnet reload)")
	}
	var out []StateInfo
	now := filter.Now()
	rs := h.Rules()
	err := r.filterRequest(h, func() *filter.Request {
		return &filter.Request{Match: f.match, Max: max}
	}, func(w int, q *filter.Request) {
		for i := range q.Out {
			if max > 0 && len(out) >= max {
				return
			}
			out = append(out, r.stateInfo(w, rs, &q.Out[i], now))
		}
	})
	return out, err
}

// FlushStates removes the states matching f from every worker's table and
// returns how many.
func (r *Router) FlushStates(f StateFilter) (int, error) {
	h := r.filterHolder()
	if h == nil {
		return 0, fmt.Errorf("no filter: add a filter section to the config (softnet reload)")
	}
	n := 0
	var match func(*filter.State) bool
	if f != (StateFilter{}) {
		match = f.match
	}
	err := r.filterRequest(h, func() *filter.Request {
		return &filter.Request{Flush: true, Match: match}
	}, func(_ int, q *filter.Request) { n += q.N })
	return n, err
}

// filterRequest posts a request to every worker, wakes each with an
// InjectWake message, and hands each answer to done.
func (r *Router) filterRequest(h *filter.Holder, mk func() *filter.Request, done func(w int, q *filter.Request)) error {
	r.mu.Lock()
	ws := append([]*dp.Worker(nil), r.workers...)
	type posted struct {
		w    int
		slot int
		q    *filter.Request
	}
	var ps []posted
	for _, w := range ws {
		q := mk()
		q.Done = make(chan struct{})
		slot := filter.SlotOf(w.ID)
		if !h.Post(slot, q) {
			r.mu.Unlock()
			return fmt.Errorf("worker %d is busy with another state request: try again", w.ID)
		}
		ps = append(ps, posted{w.ID, slot, q})
		r.send(outMsg{w: w, kind: filter.InjectWake, frame: make([]byte, 14)})
	}
	r.mu.Unlock()
	deadline := time.After(filterTimeout)
	for _, p := range ps {
		select {
		case <-p.q.Done:
			done(p.w, p.q)
		case <-deadline:
			for _, p := range ps {
				h.Cancel(p.slot, p.q)
			}
			return fmt.Errorf("worker %d did not answer within %v (is it running?)", p.w, filterTimeout)
		}
	}
	return nil
}

func (r *Router) stateInfo(w int, rs *filter.Ruleset, s *filter.State, now int64) StateInfo {
	ks, kd := s.K.A, s.K.B
	ps, pd := s.K.PA, s.K.PB
	src, dst := 0, 1
	if s.Init == 1 {
		ks, kd, ps, pd = kd, ks, pd, ps
		src, dst = 1, 0
	}
	addr := func(a [16]byte) netip.Addr {
		x := netip.AddrFrom16(a)
		if s.K.Fam == 4 {
			x = x.Unmap()
		}
		return x
	}
	si := StateInfo{Worker: w, Rule: rs.RuleNumber(s.Rule),
		AgeS: (now - s.Created) / int64(time.Second), ExpiresS: (s.Expire - now) / int64(time.Second),
		Packets: [2]uint64{s.Packets(src), s.Packets(dst)}}
	r.mu.Lock()
	if int(s.Iface) < len(r.ifaces) {
		si.Iface = r.ifaces[s.Iface].Name
	}
	r.mu.Unlock()
	switch s.K.Proto {
	case pf.ProtoTCP:
		si.Proto = "tcp"
		a, b := s.Peer[src].State, s.Peer[dst].State
		si.State = filter.TCPStateNames[min(int(a), len(filter.TCPStateNames)-1)] + ":" + filter.TCPStateNames[min(int(b), len(filter.TCPStateNames)-1)]
	case pf.ProtoUDP:
		si.Proto = "udp"
	case pf.ProtoICMP:
		si.Proto = "icmp"
	case pf.ProtoICMPv6:
		si.Proto = "ipv6-icmp"
	default:
		si.Proto = fmt.Sprint(s.K.Proto)
	}
	if s.K.Proto != pf.ProtoTCP {
		names := []string{"NO_TRAFFIC", "SINGLE", "MULTIPLE"}
		si.State = names[min(int(s.Peer[src].State), 2)] + ":" + names[min(int(s.Peer[dst].State), 2)]
	}
	hp := func(a netip.Addr, p uint16) string {
		if s.K.Proto == pf.ProtoTCP || s.K.Proto == pf.ProtoUDP {
			return netip.AddrPortFrom(a, p).String()
		}
		return a.String()
	}
	si.Src, si.Dst = hp(addr(ks), ps), hp(addr(kd), pd)
	return si
}
