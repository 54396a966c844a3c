package control

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/softnet/softnet/dp"
	"github.com/softnet/softnet/fib"
	"github.com/softnet/softnet/hdr"
	"github.com/softnet/softnet/internal/rules"
	"github.com/softnet/softnet/neigh"
	"github.com/softnet/softnet/pkt"
)

// IfaceConfig describes one interface.
type IfaceConfig struct {
	Name  string
	MAC   [6]byte
	MTU   int            // IPv4 MTU; default 1500
	Addrs []netip.Prefix // IPv4 addresses with their subnet lengths
	Down  bool           // administratively down

	// A VLAN sub-interface names its Parent, a port interface added
	// before it, and carries the 802.1Q tag VLAN (1..4094); for QinQ
	// (802.1ad) also the outer tag OuterVLAN with TPID (default 0x88A8;
	// 0x8100 and 0x9100 are allowed). It has its parent's MAC (MAC must
	// be zero or equal to it) and by default its parent's MTU minus the
	// tag bytes, which is also its maximum. See AddInterface.
	Parent    string
	VLAN      int
	OuterVLAN int
	TPID      uint16
}

// Options tune a Router.
type Options struct {
	ICMPRate  int // ICMP errors per second per worker (default 1000)
	ICMPBurst int // default 100
	Neigh     neigh.Options
	Now       func() time.Time // clock, for tests (default time.Now)
}

// Drop is why the control plane dropped a packet the data plane handed
// it to wait for ARP (ip4-arp). Every such packet is dropped under one of
// these, held (Stats.Held), or sent back to a worker (Stats.Resolved,
// Stats.Unreachable).
type Drop uint8

// Control plane drop reasons, all of stage DropStage. Keep dropInfo in
// the same order.
const (
	DropQueueFull    Drop = iota // the neighbour's queue was full: its oldest packet dropped
	DropTableFull                // no neighbour entry (table full) or it could not be installed
	DropUnresolved               // the neighbour had failed ARP when the packet arrived
	DropNeighborGone             // the neighbour was deleted (or replaced) while packets waited
	DropIfaceGone                // the interface was deleted before the packet was handled
	DropInjectFull               // the worker's inject ring was full when the packet was released
	NumDrops
)

// DropStage is the stage name of the control plane's drop reasons.
const DropStage = "arp-queue"

var dropInfo = [NumDrops][2]string{
	DropQueueFull:    {"queue-full", "waiting for ARP: the neighbour's queue was full, its oldest packet dropped (neigh MaxPending per neighbour)"},
	DropTableFull:    {"neighbor-table-full", "waiting for ARP: no room for the neighbour (neighbour or adjacency table full)"},
	DropUnresolved:   {"unresolved", "to a neighbour that had failed ARP (the data plane answers the next ones with host unreachable)"},
	DropNeighborGone: {"neighbor-deleted", "waiting for ARP when the neighbour was deleted, flushed (its link went down or its device was re-created) or could not be installed"},
	DropIfaceGone:    {"iface-deleted", "waiting for ARP on an interface deleted meanwhile"},
	DropInjectFull:   {"inject-ring-full", "released after ARP, but the worker's inject ring was full"},
}

// Name is the reason's stable kebab-case name within DropStage.
func (d Drop) Name() string { return dropInfo[d][0] }

// Desc is a one-line description.
func (d Drop) Desc() string { return dropInfo[d][1] }

// String is "arp-queue/name".
func (d Drop) String() string { return DropStage + "/" + d.Name() }

// Stats are the control plane's own counters.
type Stats struct {
	ARPRequests  uint64 // requests sent
	PuntsHandled uint64
	Resolved     uint64 // packets sent after their neighbour resolved
	// Drops counts the packets waiting for ARP that were dropped, by
	// reason; QueueDrops is their sum.
	Drops      [NumDrops]uint64
	QueueDrops uint64
	// Held is the packets waiting for ARP now.
	Held          uint64
	Unreachable   uint64 // held packets sent back for ICMP host unreachable after ARP failed
	InjectFull    uint64 // messages lost because a worker's inject ring was full (packets and ARP requests)
	Publishes     uint64
	NeighborMoves uint64 // a neighbour's MAC changed
	// NeighborErrors counts neighbours that could not be installed (no
	// adjacency index or host route left); LastError says why.
	NeighborErrors uint64
	LastError      string
}

// Router is the control plane. See the package doc.
type Router struct {
	mu  sync.Mutex
	cur atomic.Pointer[dp.Config]

	o         Options
	ifaces    []dp.Iface
	fib       *fib.Table
	adj       []dp.Adj
	adjRefs   []int // routes pointing at each adjacency
	adjFree   []uint16
	local     uint16
	drop      uint16   // blackhole
	admin     []bool   // per interface: administratively up
	link      []bool   // per interface: link up, as the port reports
	glean     []uint16 // per interface
	bcast     []uint16 // per interface
	bridges   []dp.Bridge
	vlans     []*dp.VLANTable    // per port interface: its published VLAN table (copy on write)
	ifaceMemo map[netip.Addr]int // during AddRoutes: checked gateway -> interface (see gateway)
	ownMemo   *rules.Own         // during AddRoutes: the router's own prefixes
	nbrAdj    map[neigh.Key]uint16
	host      map[neigh.Key]bool // neighbours whose /32 host route we installed
	static    statics            // configured routes, as opposed to the router's own (replace.go)
	neigh     *neigh.Table
	workers   []*dp.Worker
	outbox    []outMsg
	dirty     bool
	lastAge   time.Time
	stats     Stats
	lastErr   string
	rr        int
}

type outMsg struct {
	w     *dp.Worker
	kind  dp.MsgKind
	iface uint16
	frame []byte
}

// ErrNoRoute is returned when deleting a route that does not exist.
var ErrNoRoute = errors.New("no such route")

// New returns a router with no interfaces and an empty table, and
// publishes its first (empty) config.
func New(o Options) *Router {
	if o.ICMPRate == 0 {
		o.ICMPRate = 1000
	}
	if o.ICMPBurst == 0 {
		o.ICMPBurst = 100
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	r := &Router{
		o:      o,
		fib:    fib.NewTable(),
		adj:    []dp.Adj{{Kind: dp.AdjNone}},
		nbrAdj: make(map[neigh.Key]uint16),
		host:   make(map[neigh.Key]bool),
		neigh:  neigh.New(o.Neigh),
	}
	r.adjRefs = []int{0}
	r.local, _ = r.allocAdj(dp.Adj{Kind: dp.AdjLocal}) // cannot fail on an empty table
	r.drop, _ = r.allocAdj(dp.Adj{Kind: dp.AdjDrop})
	r.mu.Lock()
	r.publish()
	r.mu.Unlock()
	return r
}

// Config is the pointer workers load their snapshot from. Callers only
// Load it; the router alone stores, and a loaded Config is read-only.
func (r *Router) Config() *atomic.Pointer[dp.Config] { return &r.cur }

// AttachWorkers tells the router which workers' rings to serve.
func (r *Router) AttachWorkers(ws []*dp.Worker) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.workers = slices.Clone(ws)
}

// Stats returns the control plane's counters.
func (r *Router) Stats() Stats {
	r.mu.Lock()
	defer r.mu.Unlock()
	st := r.stats
	st.LastError = r.lastErr
	st.QueueDrops = 0
	for _, n := range st.Drops {
		st.QueueDrops += n
	}
	st.Held = uint64(r.neigh.Held())
	return st
}

// errAdjFull is returned when every adjacency index a FIB entry can hold
// (fib.MaxNextHop) is in use.
var errAdjFull = fmt.Errorf("adjacency table full (%d entries): too many neighbours and next hops; remove some or use fewer gateways", fib.MaxNextHop)

func (r *Router) allocAdj(a dp.Adj) (uint16, error) {
	if n := len(r.adjFree); n > 0 {
		i := r.adjFree[n-1]
		r.adjFree = r.adjFree[:n-1]
		r.adj[i] = a
		r.adjRefs[i] = 0
		return i, nil
	}
	if len(r.adj) > fib.MaxNextHop {
		return 0, errAdjFull
	}
	r.adj = append(r.adj, a)
	r.adjRefs = append(r.adjRefs, 0)
	return uint16(len(r.adj) - 1), nil
}

// AddInterface adds an interface and returns its index. It installs a
// local /32 for each address, the connected subnet (glean), and its
// broadcast addresses.
//
// Port interfaces come first, in the order of their ports: a port
// interface's index is its port's. A VLAN sub-interface (c.Parent set) can
// be added at any time, also while workers run: its VLAN table entry and
// routes are in the next published snapshot (Publish, or the service
// loop), and the workers grow their counters when they load it.
func (r *Router) AddInterface(c IfaceConfig) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.addInterface(c)
}

// addInterface is AddInterface. Caller holds mu.
func (r *Router) addInterface(c IfaceConfig) (int, error) {
	var vlan dp.Iface
	if c.Parent != "" || c.VLAN != 0 || c.OuterVLAN != 0 || c.TPID != 0 {
		var err error
		if vlan, err = r.checkVLAN(&c); err != nil {
			return 0, err
		}
	}
	if c.MTU == 0 {
		c.MTU = 1500
	}
	if c.MTU < 68 || c.MTU > pkt.MaxFrame-hdr.EthernetLen-8 {
		return 0, fmt.Errorf("interface %s: MTU %d out of range: use 68..%d", c.Name, c.MTU, pkt.MaxFrame-hdr.EthernetLen-8)
	}
	if c.MAC[0]&1 != 0 || c.MAC == [6]byte{} {
		return 0, fmt.Errorf("interface %s: MAC %x is not a unicast address", c.Name, c.MAC)
	}
	idx := len(r.ifaces)
	if slices.ContainsFunc(r.ifaces, func(f dp.Iface) bool { return f.Name == c.Name }) {
		return 0, fmt.Errorf("interface %s: the name is taken: choose another", c.Name)
	}
	ifc := vlan
	ifc.Name, ifc.MAC, ifc.MTU, ifc.Up = c.Name, c.MAC, c.MTU, !c.Down
	if err := r.checkAddrs(c.Name, c.Addrs); err != nil {
		return 0, err
	}
	if err := r.checkOwnFree(c.Name, c.Addrs); err != nil {
		return 0, err
	}
	for _, p := range c.Addrs {
		if !p.Addr().Is4() {
			return 0, fmt.Errorf("interface %s: address %v is not IPv4", c.Name, p)
		}
		ifc.Addrs = append(ifc.Addrs, dp.IfaceAddr{Addr: u32(p.Addr()), Len: uint8(p.Bits())})
	}
	if len(ifc.Addrs) > 0 {
		ifc.Addr = ifc.Addrs[0].Addr
	}
	glean, err := r.allocAdj(dp.Adj{Kind: dp.AdjGlean, Iface: uint16(idx), MTU: uint16(c.MTU)})
	if err != nil {
		return 0, fmt.Errorf("interface %s: %w", c.Name, err)
	}
	bcast, err := r.allocAdj(dp.Adj{Kind: dp.AdjBroadcast, Iface: uint16(idx)})
	if err != nil {
		r.freeAdj(glean)
		return 0, fmt.Errorf("interface %s: %w", c.Name, err)
	}
	r.ifaces = append(r.ifaces, ifc)
	r.admin = append(r.admin, !c.Down)
	r.link = append(r.link, true)
	r.glean = append(r.glean, glean)
	r.bcast = append(r.bcast, bcast)
	// Install the interface's routes; on failure take back what was
	// installed, so nothing is half-applied.
	type undo struct {
		p      netip.Prefix
		old    uint16
		hadOld bool
	}
	var done []undo
	add := func(p netip.Prefix, a uint16) error {
		old, had := r.fib.Get(p)
		if err := r.setRoute(p, a); err != nil {
			return fmt.Errorf("interface %s: %w", c.Name, err)
		}
		done = append(done, undo{p, old, had})
		return nil
	}
	for _, p := range c.Addrs {
		err := add(netip.PrefixFrom(p.Addr(), 32), r.local)
		if err == nil && p.Bits() < 32 {
			err = add(p.Masked(), glean)
		}
		if err == nil && p.Bits() <= 30 { // RFC 3021: a /31 has no broadcast address
			net := u32(p.Masked().Addr())
			for _, a := range []uint32{net, net | ^prefixMask(p.Bits())} {
				if err = add(netip.PrefixFrom(addr(a), 32), bcast); err != nil {
					break
				}
			}
		}
		if err != nil {
			for i := len(done) - 1; i >= 0; i-- {
				u := done[i]
				cur, _ := r.fib.Get(u.p)
				if u.hadOld {
					_ = r.setRoute(u.p, u.old)
				} else {
					_ = r.fib.Delete(u.p)
					r.adjRefs[cur]--
				}
			}
			r.ifaces, r.glean, r.bcast = r.ifaces[:idx], r.glean[:idx], r.bcast[:idx]
			r.admin, r.link = r.admin[:idx], r.link[:idx]
			r.freeAdj(glean)
			r.freeAdj(bcast)
			return 0, err
		}
	}
	if ifc.TagLen != 0 {
		r.setVLANEntry(idx)
	}
	r.dirty = true
	return idx, nil
}

// freeAdj returns an adjacency index to the free list.
func (r *Router) freeAdj(a uint16) {
	r.adj[a] = dp.Adj{}
	r.adjRefs[a] = 0
	r.adjFree = append(r.adjFree, a)
}

// SetInterfaceUp sets an interface's administrative state.
func (r *Router) SetInterfaceUp(idx int, up bool) error { return r.setState(false, idx, up) }

// SetLinkUp records an interface's link (operational) state, as its port
// reports it: a device that went down or disappeared. The data plane sees
// the interface up only when it is administratively up and its link is up;
// meanwhile frames to and from it are dropped as iface-down.
func (r *Router) SetLinkUp(idx int, up bool) error { return r.setState(true, idx, up) }

// LinkUp reports interface idx's link state as last set by SetLinkUp
// (true until then): what the data plane acts on once published.
func (r *Router) LinkUp(idx int) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return idx >= 0 && idx < len(r.link) && r.link[idx]
}

// SetInterfaceMTU changes an interface's IPv4 MTU (the device's changed):
// its adjacencies take it in the next snapshot, so larger packets are
// fragmented, or answered with "fragmentation needed" when DF is set.
func (r *Router) SetInterfaceMTU(idx, mtu int) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if idx < 0 || idx >= len(r.ifaces) {
		return fmt.Errorf("no interface %d", idx)
	}
	if mtu < 68 || mtu > pkt.MaxFrame-hdr.EthernetLen-8 {
		return fmt.Errorf("interface %s: MTU %d out of range: use 68..%d", r.ifaces[idx].Name, mtu, pkt.MaxFrame-hdr.EthernetLen-8)
	}
	if ifc := &r.ifaces[idx]; ifc.TagLen != 0 {
		if limit := r.ifaces[ifc.Parent].MTU - int(ifc.TagLen); mtu > limit {
			return fmt.Errorf("interface %s: MTU %d is above its parent %s's MTU minus its %d tag bytes (%d): lower it, or raise the parent's", ifc.Name, mtu, r.ifaces[ifc.Parent].Name, ifc.TagLen, limit)
		}
	}
	r.setMTU(idx, mtu)
	// A lowered port MTU lowers its sub-interfaces' with it: their tagged
	// frames must still fit the port.
	for i := range r.ifaces {
		if ifc := &r.ifaces[i]; ifc.TagLen != 0 && int(ifc.Parent) == idx && ifc.MTU > mtu-int(ifc.TagLen) {
			r.setMTU(i, mtu-int(ifc.TagLen))
		}
	}
	return nil
}

// setMTU sets interface idx's MTU and its adjacencies'. Caller holds mu.
func (r *Router) setMTU(idx, mtu int) {
	if r.ifaces[idx].MTU == mtu {
		return
	}
	r.ifaces[idx].MTU = mtu
	for i := range r.adj {
		if a := &r.adj[i]; int(a.Iface) == idx && a.MTU != 0 {
			a.MTU = uint16(mtu)
		}
	}
	r.dirty = true
}

// setState sets an interface's link or administrative state.
func (r *Router) setState(link bool, idx int, up bool) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if idx < 0 || idx >= len(r.ifaces) {
		return fmt.Errorf("no interface %d", idx)
	}
	if link {
		r.link[idx] = up
	} else {
		r.admin[idx] = up
	}
	r.setUp(idx)
	return nil
}

func (r *Router) setUp(idx int) {
	if up := r.admin[idx] && r.link[idx]; up != r.ifaces[idx].Up {
		r.ifaces[idx].Up = up
		if r.ifaces[idx].TagLen != 0 {
			r.setVLANEntry(idx) // the entry carries dp.VLANDown
		}
		r.dirty = true
	}
}

// SetFeatures sets the feature nodes interface idx's packets run through
// (dp.Iface.Features: registered feature node names, in order per arc;
// none to disable them all). The change reaches the workers with the next
// publish (Publish, or Service): one snapshot.
func (r *Router) SetFeatures(idx int, features []string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if idx < 0 || idx >= len(r.ifaces) {
		return fmt.Errorf("no interface %d", idx)
	}
	ifc := dp.Iface{Name: r.ifaces[idx].Name, Features: slices.Clone(features)}
	if err := dp.CheckFeatures(&ifc); err != nil {
		return err
	}
	r.ifaces[idx].Features = ifc.Features // a new slice: published ones are never modified
	r.dirty = true
	return nil
}

// InterfaceMTU is interface idx's IPv4 MTU now (0 for no such interface).
func (r *Router) InterfaceMTU(idx int) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	if idx < 0 || idx >= len(r.ifaces) {
		return 0
	}
	return r.ifaces[idx].MTU
}

// Interfaces returns a copy of the interfaces.
func (r *Router) Interfaces() []dp.Iface {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := slices.Clone(r.ifaces)
	for i := range out {
		out[i].Addrs = slices.Clone(out[i].Addrs)
	}
	return out
}

// setRoute points p at adjacency a, keeping reference counts.
func (r *Router) setRoute(p netip.Prefix, a uint16) error {
	old, had := r.fib.Get(p)
	if err := r.fib.Add(p, a); err != nil {
		return fmt.Errorf("route %v: %w", p, err)
	}
	r.adjRefs[a]++
	if had {
		r.unref(old)
	}
	return nil
}

func (r *Router) unref(a uint16) {
	r.adjRefs[a]--
	if r.adjRefs[a] > 0 {
		return
	}
	// A neighbour adjacency with no routes and no neighbour entry is freed;
	// fixed adjacencies (local, glean, broadcast, blackhole) never are.
	for k, i := range r.nbrAdj {
		if i == a {
			if r.neigh.Get(k) == nil {
				delete(r.nbrAdj, k)
				r.adj[a] = dp.Adj{}
				r.adjFree = append(r.adjFree, a)
			}
			return
		}
	}
}

// ifaceFor returns the interface whose subnet holds a.
func (r *Router) ifaceFor(a netip.Addr) (int, bool) {
	if i, ok := r.ifaceMemo[a]; ok {
		return i, true
	}
	v := u32(a)
	for i, ifc := range r.ifaces {
		for _, ad := range ifc.Addrs {
			m := prefixMask(int(ad.Len))
			if v&m == ad.Addr&m && ad.Len < 32 {
				return i, true
			}
		}
	}
	return 0, false
}

// AddRoute adds or replaces the configured route to p through gateway gw.
// An invalid gw makes a blackhole route. The checks are package rules':
// gw must be another host on a connected subnet (not one of the router's
// own addresses, nor a subnet's network or broadcast address), and p must
// not be one of the router's own prefixes (an interface address's /32,
// its connected subnet, the subnet's network or broadcast /32): those
// belong to the interfaces. A route more specific than a connected subnet
// is fine, and so is a /32 to a neighbour: it takes precedence over the
// neighbour's host route until it is deleted.
func (r *Router) AddRoute(p netip.Prefix, gw netip.Addr) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.addRoute(p, gw)
}

func (r *Router) addRoute(p netip.Prefix, gw netip.Addr) error {
	if !p.IsValid() || !p.Addr().Is4() {
		return fmt.Errorf("route %v: only IPv4 routes are supported", p)
	}
	p = p.Masked()
	own := r.ownMemo
	if own == nil {
		own = rules.NewOwn(r.ruleIfaces())
	}
	if err := own.Check(p); err != nil {
		return fmt.Errorf("route %v: %w", p, err)
	}
	var a uint16
	if !gw.IsValid() {
		a = r.drop
	} else {
		i, err := r.gateway(gw)
		if err != nil {
			return fmt.Errorf("route %v: via %w", p, err)
		}
		if a, err = r.neighborAdj(neigh.Key{Iface: i, Addr: gw}); err != nil {
			return fmt.Errorf("route %v: %w", p, err)
		}
	}
	if err := r.setRoute(p, a); err != nil {
		return err
	}
	r.static.add(p)
	r.dirty = true
	return nil
}

// gateway checks next hop gw (rules.NextHop) and returns its interface.
// During AddRoutes a checked gateway is remembered. Caller holds mu.
func (r *Router) gateway(gw netip.Addr) (int, error) {
	if i, ok := r.ifaceMemo[gw]; ok {
		return i, nil
	}
	i, err := rules.NextHop(r.ruleIfaces(), gw)
	if err != nil {
		return 0, err
	}
	if r.ifaceMemo != nil {
		r.ifaceMemo[gw] = i
	}
	return i, nil
}

// ruleIfaces is the interfaces as package rules sees them (a deleted VLAN
// has no addresses). Caller holds mu.
func (r *Router) ruleIfaces() []rules.Iface {
	out := make([]rules.Iface, len(r.ifaces))
	for i := range r.ifaces {
		out[i].Name = r.ifaces[i].Name
		if r.ifaces[i].Deleted {
			continue
		}
		for _, a := range r.ifaces[i].Addrs {
			out[i].Addrs = append(out[i].Addrs, netip.PrefixFrom(addr(a.Addr), int(a.Len)))
		}
	}
	return out
}

// checkOwnFree refuses an interface (added at run time) whose own
// prefixes are configured routes: its routes would take them over, and
// the configured route would be lost with the interface. Caller holds mu.
func (r *Router) checkOwnFree(name string, addrs []netip.Prefix) error {
	if len(r.static.m) == 0 {
		return nil
	}
	for _, p := range addrs {
		if !p.IsValid() || !p.Addr().Is4() {
			continue
		}
		for _, q := range ownPrefixes(p) {
			if _, ok := r.static.m[keyOf(q.p)]; ok {
				return fmt.Errorf("interface %s: its address %v needs the route %v, which is a configured route: delete that route first (softnet route del %v)", name, p, q.p, q.p)
			}
		}
	}
	return nil
}

// AddRoutes adds many routes (a full table) under one lock; gw(i) gives
// the gateway of ps[i]. It stops at the first error.
func (r *Router) AddRoutes(ps []netip.Prefix, gw func(i int) netip.Addr) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	// The interfaces do not change meanwhile: remember each gateway's,
	// rather than scan thousands of (VLAN) interfaces per prefix.
	r.ifaceMemo = map[netip.Addr]int{}
	r.ownMemo = rules.NewOwn(r.ruleIfaces())
	defer func() { r.ifaceMemo, r.ownMemo = nil, nil }()
	for i, p := range ps {
		if err := r.addRoute(p, gw(i)); err != nil {
			return err
		}
	}
	return nil
}

// DeleteRoute removes the configured route to p. If p is also one of the
// router's own routes (a neighbour's host route, or an interface's route
// that a configured route predates), the prefix goes back to it. The
// router's own routes cannot be deleted: they belong to the interfaces
// and the neighbours.
func (r *Router) DeleteRoute(p netip.Prefix) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !p.IsValid() || !p.Addr().Is4() {
		return fmt.Errorf("route %v: only IPv4 routes are supported", p)
	}
	p = p.Masked()
	a, ok := r.fib.Get(p)
	if _, static := r.static.m[keyOf(p)]; !static {
		if !ok {
			return fmt.Errorf("route %v: %w", p, ErrNoRoute)
		}
		if why := rules.NewOwn(r.ruleIfaces()).Why(p); why != "" {
			return fmt.Errorf("route %v: %v %s: that route belongs to the interface and cannot be deleted; change the interface's address instead", p, p, why)
		}
		if _, nk, isHost, own := r.ownRoute(p); own && isHost {
			return fmt.Errorf("route %v: it is the host route of neighbour %v on %s, not a configured route: delete the neighbour instead (softnet neighbor del %s %v)", p, nk.Addr, r.ifaces[nk.Iface].Name, r.ifaces[nk.Iface].Name, nk.Addr)
		}
		return fmt.Errorf("route %v: not a configured route: only routes added by the config, a route file or softnet route add can be deleted", p)
	}
	if own, nk, isHost, has := r.ownRoute(p); has {
		if !ok || a != own {
			if err := r.setRoute(p, own); err != nil {
				return fmt.Errorf("route %v: restoring the router's own route: %w", p, err)
			}
		}
		if isHost {
			r.host[nk] = true
		}
	} else if ok {
		if err := r.fib.Delete(p); err != nil {
			return err
		}
		r.unref(a)
	}
	r.static.remove(p)
	r.dirty = true
	return nil
}

// Routes is the number of routes in the FIB.
func (r *Router) Routes() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.fib.Len()
}

// AddNeighbor adds a static neighbour.
func (r *Router) AddNeighbor(iface int, a netip.Addr, mac [6]byte) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.addNeighbor(iface, a, mac)
}

func (r *Router) addNeighbor(iface int, a netip.Addr, mac [6]byte) error {
	if iface < 0 || iface >= len(r.ifaces) {
		return fmt.Errorf("neighbor %v: no interface %d", a, iface)
	}
	if !a.Is4() {
		return fmt.Errorf("neighbor %v: only IPv4 neighbours are supported", a)
	}
	if err := rules.Neighbor(r.ruleIfaces(), iface, a); err != nil {
		return fmt.Errorf("neighbor %v: %w", a, err)
	}
	if err := rules.MAC(mac); err != nil {
		return fmt.Errorf("neighbor %v: %w", a, err)
	}
	k := neigh.Key{Iface: iface, Addr: a}
	pending, err := r.neigh.AddStatic(k, mac, r.o.Now())
	if err != nil {
		return err
	}
	if _, err := r.ensureNeighbor(k); err != nil {
		r.dropNeighbor(k, nil)
		r.stats.Drops[DropNeighborGone] += uint64(len(pending))
		return err
	}
	r.queueResolved(nil, k, pending)
	r.dirty = true
	return nil
}

// FlushNeighbors forgets the dynamic (ARP-learned) neighbours of port
// interface idx and of its VLAN sub-interfaces, as Linux does when a
// device goes down or loses its carrier: the device went away or its link
// did, so the MACs learned on it may be wrong when it comes back (a
// re-created veth, a replaced host). Routes through a flushed neighbour
// keep their adjacency, now incomplete, so the next packet re-resolves
// it; static neighbours (config, `neighbor add`) stay. Packets waiting
// for resolution are dropped (arp-queue/neighbor-deleted). It returns how many
// entries went; call Publish (or let Run) to publish.
func (r *Router) FlushNeighbors(idx int) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	if idx < 0 || idx >= len(r.ifaces) {
		return 0
	}
	n := 0
	for _, e := range r.neigh.All() {
		i := e.Iface
		if i != idx && (i >= len(r.ifaces) || r.ifaces[i].TagLen == 0 || int(r.ifaces[i].Parent) != idx) {
			continue
		}
		if e.State == neigh.Static {
			continue
		}
		r.stats.Drops[DropNeighborGone] += uint64(len(e.Pending))
		r.neigh.Delete(e.Key)
		r.removeNeighbor(e.Key)
		n++
	}
	return n
}

// Neighbors returns a copy of the neighbour entries.
func (r *Router) Neighbors() []neigh.Entry {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []neigh.Entry
	for _, e := range r.neigh.All() {
		c := *e
		c.Pending = nil
		out = append(out, c)
	}
	return out
}

// neighborAdj returns (creating if needed) the adjacency of neighbour k.
func (r *Router) neighborAdj(k neigh.Key) (uint16, error) {
	if a, ok := r.nbrAdj[k]; ok {
		return a, nil
	}
	a, err := r.allocAdj(dp.Adj{})
	if err != nil {
		return 0, fmt.Errorf("neighbor %v: %w", k.Addr, err)
	}
	r.nbrAdj[k] = a
	r.refreshAdj(k)
	return a, nil
}

// ensureNeighbor makes sure neighbour k has an adjacency and a host route
// (unless a configured /32 route for it exists: that takes precedence),
// and refreshes it. It reports whether the host route now points at the
// neighbour (or a configured route covers it exactly).
func (r *Router) ensureNeighbor(k neigh.Key) (bool, error) {
	a, err := r.neighborAdj(k)
	if err != nil {
		return false, err
	}
	p := netip.PrefixFrom(k.Addr, 32)
	cur, ok := r.fib.Get(p)
	if _, static := r.static.m[keyOf(p)]; static {
		r.host[k] = true // DeleteRoute gives the prefix back to the neighbour
		r.refreshAdj(k)
		return true, nil
	}
	if !ok || (r.host[k] && cur != a) {
		if err := r.setRoute(p, a); err != nil {
			r.refreshAdj(k)
			return false, fmt.Errorf("neighbor %v: host route: %w", k.Addr, err)
		}
		r.host[k] = true
	}
	r.refreshAdj(k)
	return true, nil
}

// refreshAdj rebuilds neighbour k's adjacency from its entry.
func (r *Router) refreshAdj(k neigh.Key) {
	a, ok := r.nbrAdj[k]
	if !ok {
		return
	}
	ifc := &r.ifaces[k.Iface]
	adj := dp.Adj{Kind: dp.AdjIncomplete, Iface: uint16(k.Iface), MTU: uint16(ifc.MTU), Addr: u32(k.Addr),
		Tags: ifc.Tags, TagLen: ifc.TagLen}
	if e := r.neigh.Get(k); e != nil {
		switch e.State {
		case neigh.Reachable, neigh.Stale, neigh.Static:
			adj.Kind = dp.AdjForward
			copy(adj.Rewrite[0:6], e.MAC[:])
			copy(adj.Rewrite[6:12], ifc.MAC[:])
		case neigh.Failed:
			adj.Kind = dp.AdjUnreachable
		}
	}
	if r.adj[a] != adj {
		r.adj[a] = adj
		r.dirty = true
	}
}

// hostInstalled reports whether the FIB's route to neighbour k's /32 is
// its host route: the neighbour's, pointing at its adjacency, and not a
// configured route (which takes precedence, even through the neighbour
// itself). Caller holds mu.
func (r *Router) hostInstalled(k neigh.Key) bool {
	a, ok := r.nbrAdj[k]
	if !ok || !r.host[k] {
		return false
	}
	p := netip.PrefixFrom(k.Addr, 32)
	if _, static := r.static.m[keyOf(p)]; static {
		return false
	}
	cur, ok := r.fib.Get(p)
	return ok && cur == a
}

// dropNeighbor forgets a neighbour the router could not install (no
// adjacency or host route left), counting why.
func (r *Router) dropNeighbor(k neigh.Key, err error) {
	if err != nil {
		r.stats.NeighborErrors++
		r.lastErr = err.Error()
	}
	r.forget(k)
	r.removeNeighbor(k)
}

// forget deletes neighbour k's entry, counting the packets that waited
// for it as dropped. It reports whether there was an entry.
func (r *Router) forget(k neigh.Key) bool {
	if e := r.neigh.Get(k); e != nil {
		r.stats.Drops[DropNeighborGone] += uint64(len(e.Pending))
	}
	return r.neigh.Delete(k)
}

// removeNeighbor withdraws neighbour k's host route and adjacency.
func (r *Router) removeNeighbor(k neigh.Key) {
	a, ok := r.nbrAdj[k]
	if !ok {
		return
	}
	if r.host[k] {
		installed := r.hostInstalled(k)
		delete(r.host, k)
		if installed {
			_ = r.fib.Delete(netip.PrefixFrom(k.Addr, 32))
			r.adjRefs[a]--
		}
	}
	if r.adjRefs[a] <= 0 {
		delete(r.nbrAdj, k)
		r.adj[a] = dp.Adj{}
		r.adjFree = append(r.adjFree, a)
	} else {
		r.refreshAdj(k)
	}
	r.dirty = true
}

// publish builds and publishes a new Config. Caller holds mu.
func (r *Router) publish() {
	ifaces := slices.Clone(r.ifaces)
	for i := range ifaces {
		ifaces[i].Addrs = slices.Clone(ifaces[i].Addrs)
	}
	r.cur.Store(&dp.Config{
		FIB:       r.fib.Snapshot(),
		Adj:       slices.Clone(r.adj),
		Ifaces:    ifaces,
		VLANs:     slices.Clone(r.vlans),
		Bridges:   slices.Clone(r.bridges),
		ICMPRate:  r.o.ICMPRate,
		ICMPBurst: r.o.ICMPBurst,
	})
	r.dirty = false
	r.stats.Publishes++
}

// Publish publishes pending changes now.
func (r *Router) Publish() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.dirty {
		r.publish()
	}
}

// Service does the control plane's pending work: the workers' punts, the
// neighbour timers, publishing, and messages to the workers. It returns
// whether there was anything to do. Run calls it in a loop; tests call it
// directly.
func (r *Router) Service() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	now := r.o.Now()
	did := false
	for _, w := range r.workers {
		ring := w.Punt()
		for i := 0; i < 1024; i++ {
			m := ring.Peek()
			if m == nil {
				break
			}
			r.handlePunt(w, m, now)
			ring.Release()
			r.stats.PuntsHandled++
			did = true
		}
	}
	if now.Sub(r.lastAge) >= 100*time.Millisecond || now.Before(r.lastAge) {
		r.lastAge = now
		for _, act := range r.neigh.Age(now) {
			r.handleAge(act)
			did = true
		}
	}
	if r.dirty {
		r.publish()
		did = true
	}
	// Messages go out after the publish they may depend on.
	for _, m := range r.outbox {
		r.send(m)
	}
	if len(r.outbox) > 0 {
		did = true
		clear(r.outbox)
		r.outbox = r.outbox[:0]
	}
	return did
}

// Run serves until stop is closed.
func (r *Router) Run(stop <-chan struct{}) {
	t := time.NewTicker(time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
			for r.Service() {
			}
		}
	}
}

func (r *Router) send(m outMsg) {
	w := m.w
	if w == nil {
		if len(r.workers) == 0 {
			return
		}
		w = r.workers[r.rr%len(r.workers)]
		r.rr++
	}
	slot := w.Inject().Reserve()
	if slot == nil {
		r.stats.InjectFull++
		if m.kind == dp.InjectLookup {
			r.stats.Drops[DropInjectFull]++ // a packet; else an ARP request
		}
		return
	}
	slot.Kind, slot.Iface, slot.Addr = m.kind, m.iface, 0
	slot.SetFrame(m.frame)
	w.Inject().Commit()
}

func (r *Router) handlePunt(w *dp.Worker, m *dp.Msg, now time.Time) {
	if int(m.Iface) >= len(r.ifaces) || r.ifaces[m.Iface].Deleted {
		if m.Kind == dp.PuntResolve {
			r.stats.Drops[DropIfaceGone]++
		}
		return // a late punt from before a VLAN was deleted
	}
	switch m.Kind {
	case dp.PuntARP:
		f := m.Frame()
		if len(f) < hdr.EthernetLen+hdr.ARPLen {
			return
		}
		a := hdr.ARP(f[hdr.EthernetLen:])
		if a.Validate() != hdr.OK {
			return
		}
		var mac [6]byte
		copy(mac[:], a.SenderMAC())
		k := neigh.Key{Iface: int(m.Iface), Addr: addr(a.SenderIP())}
		ours := false
		for _, ad := range r.ifaces[m.Iface].Addrs {
			ours = ours || ad.Addr == a.TargetIP()
		}
		// Read the old state before Learn: Learn updates the entry in place.
		// Only a resolved dynamic entry can move: an Incomplete or Failed
		// one has no MAC yet, and Learn never changes a Static one.
		var oldMAC [6]byte
		resolved := false
		if before := r.neigh.Get(k); before != nil {
			oldMAC, resolved = before.MAC, before.State == neigh.Reachable || before.State == neigh.Stale
		}
		if mac[0]&1 != 0 || mac == [6]byte{} { // RFC 1812 §3.3.2 (arp-input checks too)
			return
		}
		// RFC 826 merge: an existing entry is updated from any ARP; a new
		// one is made only from a request aimed at us (Linux's arp_accept=0),
		// so unsolicited replies cannot fill the table.
		create := ours && a.Op() == hdr.ARPRequest
		e, changed, pending := r.neigh.Learn(k, mac, create, now)
		if e == nil {
			return
		}
		if resolved && oldMAC != mac {
			r.stats.NeighborMoves++
		}
		if changed {
			if _, err := r.ensureNeighbor(k); err != nil {
				r.dropNeighbor(k, err)
				r.stats.Drops[DropNeighborGone] += uint64(len(pending))
				return
			}
		}
		r.queueResolved(w, k, pending)
	case dp.PuntResolve:
		k := neigh.Key{Iface: int(m.Iface), Addr: addr(m.Addr)}
		var dropped uint64 // Queue drops the oldest packet of a full queue
		if old := r.neigh.Get(k); old != nil {
			dropped = old.Dropped
		}
		e, created, request, queued := r.neigh.Queue(k, m.Frame(), now)
		if e == nil {
			r.stats.Drops[DropTableFull]++
			return
		}
		r.stats.Drops[DropQueueFull] += e.Dropped - dropped
		if created {
			if _, err := r.ensureNeighbor(k); err != nil {
				// The packet just queued goes with the entry.
				r.stats.Drops[DropTableFull] += uint64(len(e.Pending))
				e.Pending = nil
				r.dropNeighbor(k, err)
				return
			}
		}
		if request {
			r.arpRequest(w, k, nil)
		}
		if !queued {
			switch e.State {
			case neigh.Reachable, neigh.Stale, neigh.Static:
				// Resolved, yet the packet was routed to resolution: its
				// host route is missing (deleted by hand, or it could not
				// be installed). Put it back and route the packet again;
				// if that fails, drop it rather than loop.
				if ok, err := r.ensureNeighbor(k); ok && err == nil {
					r.queueResolved(w, k, [][]byte{slices.Clone(m.Frame())})
				} else {
					r.stats.Drops[DropTableFull]++
				}
			default:
				r.stats.Drops[DropUnresolved]++
			}
		}
	}
}

func (r *Router) handleAge(act neigh.Action) {
	k := act.Entry.Key
	switch act.Kind {
	case neigh.Request:
		r.arpRequest(nil, k, nil)
	case neigh.Probe:
		mac := act.Entry.MAC
		r.arpRequest(nil, k, &mac)
	case neigh.Fail:
		// The adjacency becomes unreachable; the packets that waited go
		// back through ip4-lookup, which answers each with ICMP host
		// unreachable (RFC 1812 §5.2.7.1), as Linux does.
		r.refreshAdj(k)
		r.requeue(k, act.Dropped)
	case neigh.Remove:
		r.removeNeighbor(k)
	}
}

// requeue sends packets that waited for a neighbour that failed back into
// the graph after the next publish.
func (r *Router) requeue(k neigh.Key, frames [][]byte) {
	for _, f := range frames {
		r.outbox = append(r.outbox, outMsg{kind: dp.InjectLookup, iface: uint16(k.Iface), frame: f})
		r.stats.Unreachable++
	}
	if len(frames) > 0 {
		r.dirty = true
	}
}

// queueResolved sends packets that waited for k back into the graph.
func (r *Router) queueResolved(w *dp.Worker, k neigh.Key, frames [][]byte) {
	for _, f := range frames {
		r.outbox = append(r.outbox, outMsg{w: w, kind: dp.InjectLookup, iface: uint16(k.Iface), frame: f})
		r.stats.Resolved++
	}
	if len(frames) > 0 {
		r.dirty = true // publish before injecting, even if nothing else changed
	}
}

// arpRequest queues an ARP request for k: broadcast, or unicast to *to.
func (r *Router) arpRequest(w *dp.Worker, k neigh.Key, to *[6]byte) {
	ifc := &r.ifaces[k.Iface]
	target := u32(k.Addr)
	var src uint32
	for _, ad := range ifc.Addrs {
		m := prefixMask(int(ad.Len))
		if target&m == ad.Addr&m {
			src = ad.Addr
			break
		}
	}
	if src == 0 {
		src = ifc.Addr
	}
	// Minimum Ethernet frame, zero padded; a sub-interface's tags come on
	// top (IEEE 802.1Q: a tagged frame's minimum is 4 bytes more).
	tl := int(ifc.TagLen)
	f := make([]byte, 60+tl)
	if to != nil {
		copy(f[0:6], to[:])
	} else {
		copy(f[0:6], []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff})
	}
	copy(f[6:12], ifc.MAC[:])
	copy(f[12:12+tl], ifc.TagBytes())
	binary.BigEndian.PutUint16(f[12+tl:], hdr.EtherTypeARP)
	a := hdr.ARP(f[hdr.EthernetLen+tl:])
	binary.BigEndian.PutUint16(a[0:], 1)      // Ethernet
	binary.BigEndian.PutUint16(a[2:], 0x0800) // IPv4
	a[4], a[5] = 6, 4
	a.SetOp(hdr.ARPRequest)
	copy(a.SenderMAC(), ifc.MAC[:])
	a.SetSenderIP(src)
	a.SetTargetIP(target)
	r.outbox = append(r.outbox, outMsg{w: w, kind: dp.InjectTx, iface: uint16(k.Iface), frame: f})
	r.stats.ARPRequests++
}

func u32(a netip.Addr) uint32 {
	b := a.As4()
	return binary.BigEndian.Uint32(b[:])
}

func addr(v uint32) netip.Addr {
	var b [4]byte
	binary.BigEndian.PutUint32(b[:], v)
	return netip.AddrFrom4(b)
}

func prefixMask(n int) uint32 {
	if n == 0 {
		return 0
	}
	return ^uint32(0) << (32 - n)
}

// checkAddrs refuses addresses a new interface cannot have, as the
// config's validation does: a subnet's network or broadcast address, and a
// subnet that overlaps another interface's (or another of its own): its
// connected route would take over the other's. Caller holds mu.
func (r *Router) checkAddrs(name string, addrs []netip.Prefix) error {
	var seen []netip.Prefix
	for i := range r.ifaces {
		if r.ifaces[i].Deleted {
			continue
		}
		for _, a := range r.ifaces[i].Addrs {
			seen = append(seen, netip.PrefixFrom(addr(a.Addr), int(a.Len)))
		}
	}
	for _, p := range addrs {
		if !p.IsValid() || !p.Addr().Is4() {
			return fmt.Errorf("interface %s: address %v is not IPv4", name, p)
		}
		if p.Bits() < 31 {
			m := p.Masked()
			if p.Addr() == m.Addr() {
				return fmt.Errorf("interface %s: %v is the subnet's network address: an interface address needs a host part, e.g. %v", name, p, netip.PrefixFrom(m.Addr().Next(), p.Bits()))
			}
			if p.Addr() == addr(u32(m.Addr())|^prefixMask(p.Bits())) {
				return fmt.Errorf("interface %s: %v is the subnet's broadcast address: use a host address, e.g. %v", name, p, netip.PrefixFrom(m.Addr().Next(), p.Bits()))
			}
		}
		for _, q := range seen {
			if p.Masked().Overlaps(q.Masked()) {
				return fmt.Errorf("interface %s: %v overlaps %v, already on the router: each interface needs its own subnet", name, p, q)
			}
		}
		seen = append(seen, p)
	}
	return nil
}
