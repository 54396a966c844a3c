package control

import (
	"net/netip"

	"github.com/softnet/softnet/dp"
)

// Routes (of both families) through an interface that is down (administratively or its
// link; a VLAN sub-interface also when its port is) are parked: taken out of the FIB, so that a covering route (a
// default through another interface, say) carries their traffic, and
// what no route covers gets ICMP destination unreachable (ip4-lookup's
// and ip6-lookup's no-route answer); they come back into the FIB when it is up. The
// router's tables keep them meanwhile: r.parked (r.parked6 for IPv6) holds each one's
// adjacency (with its reference), and rget, radd and rdel see a prefix in
// either place, so routes can be added, changed and deleted while their
// interface is down. Which adjacencies are parked is fixed by their
// interface (a neighbour's, a connected subnet's), so a route moves only
// when its interface or port changes state (park, unpark) or its next hop does
// (radd).

// downAdj reports whether adjacency a sends out of an interface that is
// down: a neighbour or a connected subnet on it. A VLAN sub-interface is
// down also when its port is (its own Up does not follow the port's link:
// SetLinkUp is for ports). Caller holds mu.
func (r *Router) downAdj(a uint16) bool {
	ad := r.adj.Get(a)
	switch ad.Kind {
	case dp.AdjForward, dp.AdjIncomplete, dp.AdjGlean, dp.AdjUnreachable:
		i := int(ad.Iface)
		if i >= len(r.ifaces) {
			return false
		}
		ifc := &r.ifaces[i]
		if !ifc.Up {
			return true
		}
		p := int(ifc.Parent)
		return ifc.TagLen != 0 && p < len(r.ifaces) && !r.ifaces[p].Up
	}
	return false
}

// rget returns the adjacency of the route to exactly p, in the FIB or
// parked. Caller holds mu.
func (r *Router) rget(p netip.Prefix) (uint16, bool) {
	if p.Addr().Is6() {
		if a, ok := r.fib6.Get(p); ok {
			return a, true
		}
		a, ok := r.parked6[p]
		return a, ok
	}
	if a, ok := r.fib.Get(p); ok {
		return a, true
	}
	a, ok := r.parked[keyOf(p)]
	return a, ok
}

// radd points p at a: in the FIB, or parked if a is on a down interface.
// It does not count references (setRoute does). Caller holds mu.
// IPv6 routes are parked the same way, in parked6.
func (r *Router) radd(p netip.Prefix, a uint16) error {
	if p.Addr().Is6() {
		return r.radd6(p, a)
	}
	k := keyOf(p)
	if r.downAdj(a) {
		if _, ok := r.fib.Get(p); ok {
			if err := r.fib.Delete(p); err != nil {
				return err
			}
		}
		if r.parked == nil {
			r.parked = make(map[routeKey]uint16)
		}
		r.parked[k] = a
		return nil
	}
	if err := r.fib.Add(p, a); err != nil {
		return err
	}
	delete(r.parked, k)
	return nil
}

// radd6 is radd for an IPv6 prefix. Caller holds mu.
func (r *Router) radd6(p netip.Prefix, a uint16) error {
	if r.downAdj(a) {
		if _, ok := r.fib6.Get(p); ok {
			if err := r.fib6.Delete(p); err != nil {
				return err
			}
		}
		if r.parked6 == nil {
			r.parked6 = make(map[netip.Prefix]uint16)
		}
		r.parked6[p] = a
		return nil
	}
	if err := r.fib6.Add(p, a); err != nil {
		return err
	}
	delete(r.parked6, p)
	return nil
}

// rdel removes the route to p, in the FIB or parked. Caller holds mu.
func (r *Router) rdel(p netip.Prefix) error {
	if p.Addr().Is6() {
		if _, ok := r.parked6[p]; ok {
			delete(r.parked6, p)
			return nil
		}
		return r.fib6.Delete(p)
	}
	k := keyOf(p)
	if _, ok := r.parked[k]; ok {
		delete(r.parked, k)
		return nil
	}
	return r.fib.Delete(p)
}

// park takes the routes through interface idx, which just went down, out
// of the FIB: the configured routes through a gateway on it, its
// neighbours' host routes and its connected subnets; for a port, those of
// its VLAN sub-interfaces too. With yields it lets go of mu every
// parkChunk routes (letGo), as a replace does: the full table through a
// link that went down took seconds to park, and every API call and the
// service loop waited for it. Moving a route is idempotent (it is moved
// only if it is still in the FIB through a down interface, and radd parks
// a route added meanwhile itself), so what changes while the lock is let
// go of stays right; a snapshot published meanwhile (by another change)
// has some routes of the interface parked and others not yet, whose
// packets are counted as iface-down as before parking. Caller holds mu.
func (r *Router) park(idx int, yields bool) {
	move := func(p netip.Prefix) {
		r.parkLooks++
		get := r.fib.Get
		if p.Addr().Is6() {
			get = r.fib6.Get
		}
		if a, ok := get(p); ok && r.downAdj(a) {
			_ = r.radd(p, a)
		}
	}
	on := func(i int) bool { // i is idx or one of its sub-interfaces
		return i == idx || i < len(r.ifaces) && r.ifaces[i].TagLen != 0 && int(r.ifaces[i].Parent) == idx
	}
	// The passes over every configured and kernel route (the full
	// table) are made only if one of them may go out of idx.
	some := r.routesThrough(on)
	n := 0
	for k := range r.static.m {
		if !some {
			break
		}
		move(k.prefix())
		if n++; yields && n%parkChunk == 0 {
			r.letGo()
		}
	}
	for p := range r.static.m6 {
		if !some {
			break
		}
		move(p)
		if n++; yields && n%parkChunk == 0 {
			r.letGo()
		}
	}
	for kk, k := range r.kern.All() {
		if !some {
			break
		}
		if k.installed {
			move(kk.Prefix())
		}
	}
	for k := range r.host {
		if on(k.Iface) {
			move(netip.PrefixFrom(k.Addr, k.Addr.BitLen()))
		}
	}
	for i := range r.ifaces {
		if !on(i) {
			continue
		}
		for _, ad := range r.ifaces[i].Addrs {
			if p := ifacePrefix(ad); p.Bits() < p.Addr().BitLen() {
				move(p.Masked())
			}
		}
	}
	r.dirty = true
}

// routesThrough reports whether a configured or kernel route may go out
// of an interface that on selects: whether one of their neighbour
// adjacencies is referenced by more than its neighbour's host route, or
// one of their glean adjacencies by more than the interface's connected
// subnets. A route that is not the router's own holds a reference on the
// adjacency it goes through (directly, or through an ECMP group, which
// holds one on each member), so when none is left over no such route
// goes out of them: a VLAN with addresses and neighbours but no route
// through them (one being deleted: DeleteVLAN refuses one with routes) is
// taken down in proportion to what is on it, not to the table. It may
// answer true when no route moves (a route through an ECMP group is not
// parked), never false when one would. Caller holds mu.
func (r *Router) routesThrough(on func(int) bool) bool {
	for k, a := range r.nbrAdj {
		if !on(k.Iface) {
			continue
		}
		own := 0
		if r.hostInstalled(k) {
			own = 1
		}
		if r.adj.Refs(a) > own {
			return true
		}
	}
	for i := range r.ifaces {
		if !on(i) || i >= len(r.glean) || r.glean[i] == 0 {
			continue
		}
		own := 0
		for _, ad := range r.ifaces[i].Addrs {
			p := ifacePrefix(ad)
			if p.Bits() >= p.Addr().BitLen() {
				continue
			}
			if a, ok := r.rget(p.Masked()); ok && a == r.glean[i] {
				own++
			}
		}
		if r.adj.Refs(r.glean[i]) > own {
			return true
		}
	}
	return false
}

// unpark puts the parked routes whose interface is up again back into
// the FIB. A route that does not fit back (no tbl8 group left) stays
// parked and is the router's last error. With yields it lets go of mu
// every parkChunk routes, as park does. Caller holds mu.
func (r *Router) unpark(yields bool) {
	n := 0
	for k, a := range r.parked {
		if n++; yields && n%parkChunk == 0 {
			r.letGo()
			var ok bool
			if a, ok = r.parked[k]; !ok { // moved or deleted meanwhile
				continue
			}
		}
		if r.downAdj(a) {
			continue
		}
		if err := r.radd(k.prefix(), a); err != nil {
			r.lastErr = "route " + k.prefix().String() + " back into the FIB: " + err.Error()
		}
	}
	for p, a := range r.parked6 {
		if n++; yields && n%parkChunk == 0 {
			r.letGo()
			var ok bool
			if a, ok = r.parked6[p]; !ok { // moved or deleted meanwhile
				continue
			}
		}
		if r.downAdj(a) {
			continue
		}
		if err := r.radd(p, a); err != nil {
			r.lastErr = "route " + p.String() + " back into the IPv6 FIB: " + err.Error()
		}
	}
	r.dirty = true
}

// parkChunk is how many routes park and unpark move between two moments
// they let go of the router's lock: a few milliseconds' work.
const parkChunk = 4096

// parkedCounts adds the parked routes to counts by prefix length.
// Caller holds mu.
func (r *Router) parkedCounts(c *[33]int) {
	for k := range r.parked {
		c[k&0xff]++
	}
}

// parkedCounts6 adds the parked IPv6 routes to counts by prefix length.
// Caller holds mu.
func (r *Router) parkedCounts6(c *[129]int) {
	for p := range r.parked6 {
		c[p.Bits()]++
	}
}
