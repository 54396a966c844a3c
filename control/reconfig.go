package control

import (
	"fmt"
	"maps"
	"net/netip"
	"slices"

	"github.com/softnet/softnet/dp"
	"github.com/softnet/softnet/hdr"
	"github.com/softnet/softnet/internal/rules"
	"github.com/softnet/softnet/neigh"
	"github.com/softnet/softnet/pkt"
)

// DeleteNeighbor removes the neighbour entry (static or learned) of addr
// on interface iface, with its host route; packets waiting for it are
// dropped. Routes through it as a gateway stay and resolve it again.
func (r *Router) DeleteNeighbor(iface int, a netip.Addr) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	static := false
	if e := r.neigh.Get(neigh.Key{Iface: iface, Addr: a}); e != nil {
		static = e.State == neigh.Static
	}
	if err := r.deleteNeighbor(iface, a); err != nil {
		return err
	}
	if static { // a reload let go of the lock: done again after it (it sets the static ones)
		r.logOp(routeOp{kind: opNeighbor, iface: iface, gw: a})
	}
	return nil
}

func (r *Router) deleteNeighbor(iface int, a netip.Addr) error {
	if iface < 0 || iface >= len(r.ifaces) {
		return fmt.Errorf("neighbor %v: no interface %d", a, iface)
	}
	k := neigh.Key{Iface: iface, Addr: a}
	e := r.neigh.Get(k)
	if e == nil {
		return fmt.Errorf("neighbor %v on %s: no such neighbour (softnet show neighbors lists them)", a, r.ifaces[iface].Name)
	}
	st := e.State
	r.forget(k)
	r.removeNeighbor(k)
	switch st {
	case neigh.Static: // the kernel's, if it has one, takes its place
		r.restoreKernelNeighbor(k)
	case neigh.Kernel: // gone until the kernel's next notification of it or the next resync
		delete(r.kneigh, k)
	}
	return nil
}

// Match is the result of a longest-prefix match in the control plane's
// table (Lookup).
type Match struct {
	Prefix netip.Prefix
	Kind   dp.AdjKind
	Iface  int        // egress interface; -1 for none (no route, blackhole, local)
	Via    netip.Addr // the neighbour the packet goes to, if any
	Static bool       // a configured route, not one of the router's own
	// Origin says where the route came from: static (configured),
	// local, connected (an interface's), neighbor (a neighbour's host
	// route), or a mirrored kernel route's protocol (bgp, ospf, kernel,
	// boot, static...: package linuxcp names them).
	Origin string
	// NextHops are an ECMP route's next hops (Kind dp.AdjGroup).
	NextHops []MatchHop
}

// Lookup returns the route a packet to a takes: the longest prefix that
// holds a, and what its next hop is. ok is false when no route does.
// It reads the control plane's table (up to 33 exact lookups), not a
// worker's snapshot; both hold the same routes once published.
func (r *Router) Lookup(a netip.Addr) (m Match, ok bool) {
	return r.LookupPrefix(netip.PrefixFrom(a, a.BitLen()))
}

// LookupPrefix returns the longest route that holds all of q: q itself if
// it is a route, else the longest shorter prefix of it that is. ok is
// false when none is.
func (r *Router) LookupPrefix(q netip.Prefix) (m Match, ok bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !q.IsValid() || q.Addr().Is4In6() {
		return m, false
	}
	a := q.Addr()
	for bits := q.Bits(); bits >= 0; bits-- {
		p := netip.PrefixFrom(a, bits).Masked()
		var nh uint16
		var has bool
		if p.Addr().Is6() {
			nh, has = r.fib6.Get(p)
		} else {
			nh, has = r.fib.Get(p)
		}
		if !has {
			continue
		}
		adj := r.adj.Get(nh)
		m = Match{Prefix: p, Kind: adj.Kind, Iface: -1}
		switch adj.Kind {
		case dp.AdjForward, dp.AdjIncomplete, dp.AdjUnreachable:
			m.Iface, m.Via = int(adj.Iface), adj.IP()
		case dp.AdjGlean:
			m.Iface = int(adj.Iface)
			if q.Bits() == a.BitLen() {
				m.Via = a // the destination itself is the next hop
			}
		case dp.AdjBroadcast:
			m.Iface = int(adj.Iface)
		case dp.AdjGroup:
			m.NextHops = r.groupHops(nh)
		}
		m.Static = r.static.has(p)
		m.Origin = r.origin(p, nh)
		return m, true
	}
	return m, false
}

// RouteCounts returns the number of routes of each prefix length.
func (r *Router) RouteCounts() [33]int {
	r.mu.Lock()
	defer r.mu.Unlock()
	c := r.fib.Counts()
	r.parkedCounts(&c)
	return c
}

// RouteCounts6 returns the number of IPv6 routes of each prefix length.
func (r *Router) RouteCounts6() [129]int {
	r.mu.Lock()
	defer r.mu.Unlock()
	c := r.fib6.Counts()
	r.parkedCounts6(&c)
	return c
}

// ICMPLimit returns the ICMP error rate limit: errors per second per
// worker, and the burst.
func (r *Router) ICMPLimit() (rate, burst int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.o.ICMPRate, r.o.ICMPBurst
}

// AdminUp reports whether interface idx is administratively up.
func (r *Router) AdminUp(idx int) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return idx >= 0 && idx < len(r.admin) && r.admin[idx]
}

// IfaceState is the configurable state of an existing interface, as
// Reconfigure sets it.
type IfaceState struct {
	MTU   int
	Addrs []netip.Prefix
	Down  bool // administratively down
}

// StaticNeighbor is one configured neighbour.
type StaticNeighbor struct {
	Iface int
	Addr  netip.Addr
	MAC   [6]byte
}

// Desired is the whole configurable state Reconfigure moves the router to.
type Desired struct {
	Ifaces    []IfaceState // one per interface, in index order
	Routes    []netip.Prefix
	Via       func(i int) netip.Addr // Routes[i]'s gateway; invalid: blackhole
	Neighbors []StaticNeighbor       // every static neighbour wanted
	ICMPRate  int
	ICMPBurst int
}

// Changes counts what a Reconfigure changed.
type Changes struct {
	Interfaces     int  `json:"interfaces"` // interfaces whose MTU, addresses or admin state changed
	RoutesAdded    int  `json:"routes_added"`
	RoutesChanged  int  `json:"routes_changed"` // through another next hop
	RoutesRemoved  int  `json:"routes_removed"`
	NeighborsAdded int  `json:"neighbors_added"` // or changed MAC
	NeighborsGone  int  `json:"neighbors_removed"`
	ICMP           bool `json:"icmp"` // the ICMP rate limit changed
}

// Reconfigure moves the router to d and publishes the result as one
// snapshot: a worker sees either the old state or the new one, never a
// mix, and a route in both with the same next hop is in every snapshot.
// Only the difference is applied (ReplaceRoutes for the routes). The
// interface count must not change. On an error nothing is changed and
// nothing published: the steps done are taken back.
//
// Like ReplaceRoutes, it lets go of the router's lock every replaceChunk
// routes, in its checks too (made again under the lock if the interfaces
// changed meanwhile). The changes made meanwhile through the API (routes,
// static neighbours, admin state, MTU: see ReplaceRoutes) come after it:
// they are done again once it is in, or once it is taken back, and
// published then, with it.
func (r *Router) Reconfigure(d Desired) (ch Changes, err error) {
	r.replaceMu.Lock()
	defer r.replaceMu.Unlock()
	r.mu.Lock()
	defer r.mu.Unlock()
	// Changes made while it lets go of the lock (its checks, its route
	// replace's yields) are logged and done again after it, whether it
	// succeeds or is taken back: they come after it (replay).
	r.replacing, r.replaceLog, r.dirtyMeanwhile = true, nil, false
	defer func() {
		r.replacing = false
		r.replay()
		if r.dirty { // its own changes, or those made meanwhile
			r.publish()
		}
	}()
	// Check first, change nothing. The checks let go of the lock: if the
	// interfaces changed meanwhile, they are made again under it.
	gen := r.ifaceGen
	err = r.checkDesired(d, true)
	if r.ifaceGen != gen {
		err = r.checkDesired(d, false)
	}
	if err != nil {
		return ch, err
	}
	// The addresses the kernel added (linux_cp) stay beside the config's.
	// withKernelAddrs drops from kaddrs those the new config clashes
	// with: undo puts them back with the interfaces' old addresses.
	oldKaddrs := maps.Clone(r.kaddrs)
	d.Ifaces = r.withKernelAddrs(d.Ifaces)

	old := r.desiredNow()
	dirty := r.dirty
	// undo puts the interfaces and neighbours back as they were; the
	// route replace takes its own steps back.
	undo := func() {
		for i, s := range old.Ifaces {
			if !r.ifaces[i].Deleted { // a VLAN deleted meanwhile stays deleted
				r.setIface(i, s)
			}
		}
		r.kaddrs = oldKaddrs
		for i := range r.kaddrs {
			if i >= len(r.ifaces) || r.ifaces[i].Deleted {
				delete(r.kaddrs, i) // a VLAN deleted meanwhile: its went with it
			}
		}
		r.fitKernelNeighbors(-1)
		r.setNeighbors(old.Neighbors)
		r.o.ICMPRate, r.o.ICMPBurst = old.ICMPRate, old.ICMPBurst
		// A change made while the replace let go of the lock (or
		// replayed after it) is still to publish.
		r.dirty = dirty || r.dirtyMeanwhile
	}
	for i, s := range d.Ifaces {
		if r.ifaces[i].Deleted {
			// A VLAN deleted at run time stays deleted, whatever a
			// desired state taken before the delete says.
			s = IfaceState{MTU: r.ifaces[i].MTU, Down: true}
		}
		if b := r.bviOf(i); b != nil {
			// Capped to the members' MTU, set by now (a bridge's
			// members have lower indices than its routed interface).
			s.MTU = min(s.MTU, r.memberMTUIn(b, d.Ifaces))
		}
		c, err := r.setIface(i, s)
		if err != nil {
			undo()
			return Changes{}, err
		}
		if c {
			ch.Interfaces++
		}
	}
	r.fitKernelNeighbors(-1) // the kernel's neighbours follow the subnets
	ch.NeighborsAdded, ch.NeighborsGone, err = r.setNeighbors(d.Neighbors)
	if err != nil {
		undo()
		return Changes{}, err
	}
	ch.RoutesAdded, ch.RoutesChanged, ch.RoutesRemoved, err = r.replaceRoutes(d.Routes, d.Via, false)
	if err != nil {
		undo()
		return Changes{}, err
	}
	if r.o.ICMPRate != d.ICMPRate || r.o.ICMPBurst != d.ICMPBurst {
		r.o.ICMPRate, r.o.ICMPBurst = d.ICMPRate, d.ICMPBurst
		ch.ICMP = true
		r.dirty = true
	}
	return ch, nil // published by the deferred function, once
}

// checkDesired checks d against the router's interfaces, changing
// nothing; with yields it lets go of the lock every replaceChunk routes.
// Caller holds mu.
func (r *Router) checkDesired(d Desired, yields bool) error {
	if len(d.Ifaces) != len(r.ifaces) {
		return fmt.Errorf("reconfigure: %d interfaces given, the router has %d: adding or removing interfaces needs a restart", len(d.Ifaces), len(r.ifaces))
	}
	for i, s := range d.Ifaces {
		if s.MTU < 68 || s.MTU > maxMTU {
			return fmt.Errorf("interface %s: MTU %d out of range: use 68..%d", r.ifaces[i].Name, s.MTU, maxMTU)
		}
		for _, p := range s.Addrs {
			if err := rules.Family(p.Addr()); err != nil {
				return fmt.Errorf("interface %s: address %w", r.ifaces[i].Name, err)
			}
		}
	}
	if d.ICMPRate <= 0 || d.ICMPBurst <= 0 {
		return fmt.Errorf("reconfigure: ICMP rate and burst must be positive")
	}
	// Every route's gateway must be on a subnet of the desired addresses:
	// checked here, before setIface changes anything, because a failure
	// after it could not give back a configured route that a new
	// address's connected route replaced.
	// The checks are package rules', on the desired addresses: the same
	// as softnet check's and AddRoute's.
	ifs := make([]rules.Iface, len(d.Ifaces))
	for i, s := range d.Ifaces {
		ifs[i] = rules.Iface{Name: r.ifaces[i].Name, Addrs: s.Addrs}
		if r.ifaces[i].Deleted {
			ifs[i].Addrs = nil
		}
	}
	own := rules.NewOwn(ifs)
	gws := make(map[netip.Addr]bool)
	for i, p := range d.Routes {
		if yields && i%replaceChunk == replaceChunk-1 {
			r.yield(r.ifaceGen) // nothing changed yet: no lock held across a full table's checks
		}
		if err := routePrefix(p); err != nil {
			return fmt.Errorf("routes[%d] %w", i, err)
		}
		if err := own.Check(p.Masked()); err != nil {
			return fmt.Errorf("routes[%d] %v: %w", i, p, err)
		}
		g := d.Via(i)
		if !g.IsValid() || gws[g] {
			continue
		}
		if err := sameFamily(p, g); err != nil {
			return fmt.Errorf("routes[%d] %w", i, err)
		}
		if _, err := rules.NextHop(ifs, g); err != nil {
			return fmt.Errorf("routes[%d] %v: via %w", i, p, err)
		}
		gws[g] = true
	}
	for _, n := range d.Neighbors {
		if n.Iface < 0 || n.Iface >= len(ifs) {
			return fmt.Errorf("neighbor %v: no such interface (index %d): the router has no interface by that name, or it was deleted at run time (softnet vlan del): remove the neighbour or restart", n.Addr, n.Iface)
		}
		if err := rules.Neighbor(ifs, n.Iface, n.Addr); err != nil {
			return fmt.Errorf("neighbor %v: %w", n.Addr, err)
		}
		if err := rules.MAC(n.MAC); err != nil {
			return fmt.Errorf("neighbor %v: %w", n.Addr, err)
		}
	}
	return nil
}

// maxMTU is the largest IPv4 MTU an interface can have: a buffer holds
// the frame with room for two VLAN tags.
const maxMTU = pkt.MaxFrame - hdr.EthernetLen - 8

// desiredNow is the router's current configurable state (routes are not
// included: ReplaceRoutes undoes its own changes). Caller holds mu.
func (r *Router) desiredNow() Desired {
	d := Desired{ICMPRate: r.o.ICMPRate, ICMPBurst: r.o.ICMPBurst}
	for i, ifc := range r.ifaces {
		s := IfaceState{MTU: ifc.MTU, Down: !r.admin[i]}
		for _, a := range ifc.Addrs {
			s.Addrs = append(s.Addrs, ifacePrefix(a))
		}
		d.Ifaces = append(d.Ifaces, s)
	}
	for _, e := range r.neigh.All() {
		if e.State == neigh.Static {
			d.Neighbors = append(d.Neighbors, StaticNeighbor{Iface: e.Iface, Addr: e.Addr, MAC: e.MAC})
		}
	}
	return d
}

// setIface moves interface i to s, reporting whether anything changed.
// Caller holds mu.
func (r *Router) setIface(i int, s IfaceState) (bool, error) {
	ifc := &r.ifaces[i]
	changed := false
	if ifc.MTU != s.MTU {
		ifc.MTU = s.MTU
		r.adj.SetMTU(i, s.MTU)
		changed = true
	}
	if r.admin[i] == s.Down {
		r.admin[i] = !s.Down
		r.setUp(i)
		changed = true
	}
	var cur []netip.Prefix
	for _, a := range ifc.Addrs {
		cur = append(cur, ifacePrefix(a))
	}
	if slices.Equal(cur, s.Addrs) {
		if changed {
			r.dirty = true
		}
		return changed, nil
	}
	r.ifaceGen++ // a replace that let go of the lock checked against the old ones
	// Withdraw the routes of the old addresses, then install the new
	// ones'. A configured route to exactly one of these prefixes is put
	// back by the route replace that follows in Reconfigure.
	for _, p := range cur {
		for _, q := range ownPrefixes(p) {
			if nh, ok := r.rget(q.p); ok && r.isOwnAdj(i, nh) {
				_ = r.rdel(q.p)
				r.adj.Unref(nh)
			}
		}
	}
	ifc.SetAddrs(s.Addrs)
	for _, p := range s.Addrs {
		for _, q := range ownPrefixes(p) {
			a := r.local
			switch q.kind {
			case dp.AdjGlean:
				a = r.glean[i]
			case dp.AdjBroadcast:
				a = r.bcast[i]
			}
			if err := r.setRoute(q.p, a); err != nil {
				return false, fmt.Errorf("interface %s: %w", ifc.Name, err)
			}
		}
	}
	r.dirty = true
	return true, nil
}

// isOwnAdj reports whether nh is the local adjacency or interface i's
// glean or broadcast one.
func (r *Router) isOwnAdj(i int, nh uint16) bool {
	return nh == r.local || nh == r.glean[i] || nh == r.bcast[i]
}

type ownPrefix struct {
	p    netip.Prefix
	kind dp.AdjKind
}

// ownPrefixes are the routes AddInterface installs for address p: its /32
// (local), its subnet (glean) and the subnet's network and broadcast
// addresses (RFC 3021: a /31 has none). None for an IPv6 address: its
// routes are the IPv6 FIB's (issue 12).
func ownPrefixes(p netip.Prefix) []ownPrefix {
	if !p.Addr().Is4() {
		out := []ownPrefix{{netip.PrefixFrom(p.Addr(), 128), dp.AdjLocal}}
		if p.Bits() < 128 {
			out = append(out, ownPrefix{p.Masked(), dp.AdjGlean})
		}
		return out
	}
	out := []ownPrefix{{netip.PrefixFrom(p.Addr(), 32), dp.AdjLocal}}
	if p.Bits() < 32 {
		out = append(out, ownPrefix{p.Masked(), dp.AdjGlean})
	}
	if p.Bits() <= 30 {
		n := u32(p.Masked().Addr())
		out = append(out, ownPrefix{netip.PrefixFrom(hdr.IPv4Addr(n), 32), dp.AdjBroadcast},
			ownPrefix{netip.PrefixFrom(hdr.IPv4Addr(n|^hdr.IPv4Mask(p.Bits())), 32), dp.AdjBroadcast})
	}
	return out
}

// setNeighbors makes the static neighbours exactly want: it removes the
// static entries not listed and adds or updates the listed ones. Learned
// entries stay. Caller holds mu.
func (r *Router) setNeighbors(want []StaticNeighbor) (added, gone int, err error) {
	keep := map[neigh.Key][6]byte{}
	for _, n := range want {
		keep[neigh.Key{Iface: n.Iface, Addr: n.Addr}] = n.MAC
	}
	for _, e := range r.neigh.All() {
		if _, ok := keep[e.Key]; !ok && e.State == neigh.Static {
			k := e.Key
			r.forget(k)
			r.removeNeighbor(k)
			r.restoreKernelNeighbor(k)
			gone++
		}
	}
	for _, n := range want {
		k := neigh.Key{Iface: n.Iface, Addr: n.Addr}
		if e := r.neigh.Get(k); e != nil && e.State == neigh.Static && e.MAC == n.MAC {
			continue
		}
		if err := r.addNeighbor(n.Iface, n.Addr, n.MAC); err != nil {
			return added, gone, err
		}
		added++
	}
	return added, gone, nil
}
