package control

import (
	"net/netip"

	"github.com/softnet/softnet/dp"
)

// Routes through an interface that is down (administratively or its
// link; a VLAN sub-interface also when its port is) are parked: taken out of the FIB, so that a covering route (a
// default through another interface, say) carries their traffic, and
// what no route covers gets ICMP destination unreachable (ip4-lookup's
// no-route answer); they come back into the FIB when it is up. The
// router's tables keep them meanwhile: r.parked holds each one's
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
		return r.fib6.Get(p)
	}
	if a, ok := r.fib.Get(p); ok {
		return a, true
	}
	a, ok := r.parked[keyOf(p)]
	return a, ok
}

// radd points p at a: in the FIB, or parked if a is on a down interface.
// It does not count references (setRoute does). Caller holds mu.
//
// IPv6 routes are never parked: they stay in the IPv6 FIB while their
// interface is down (interface-output drops what is sent out of it).
func (r *Router) radd(p netip.Prefix, a uint16) error {
	if p.Addr().Is6() {
		return r.fib6.Add(p, a)
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

// rdel removes the route to p, in the FIB or parked. Caller holds mu.
func (r *Router) rdel(p netip.Prefix) error {
	if p.Addr().Is6() {
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
		if a, ok := r.fib.Get(p); ok && r.downAdj(a) {
			_ = r.radd(p, a)
		}
	}
	on := func(i int) bool { // i is idx or one of its sub-interfaces
		return i == idx || i < len(r.ifaces) && r.ifaces[i].TagLen != 0 && int(r.ifaces[i].Parent) == idx
	}
	// A configured route goes out of idx only through a neighbour's
	// adjacency on it or a connected subnet's (glean): an interface with
	// neither (a bridge member, a VLAN without addresses) has none, and
	// the pass over every configured route (the full table) is skipped.
	some := false
	for k := range r.nbrAdj {
		some = some || on(k.Iface)
	}
	for i := range r.ifaces {
		some = some || on(i) && len(r.ifaces[i].Addrs) > 0
	}
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
	for p, k := range r.kern {
		if k.installed && p.Addr().Is4() {
			move(p)
		}
	}
	for k := range r.host {
		if on(k.Iface) {
			move(netip.PrefixFrom(k.Addr, 32))
		}
	}
	for i := range r.ifaces {
		if !on(i) {
			continue
		}
		for _, ad := range r.ifaces[i].Addrs {
			if ad.Len < 32 {
				move(ifacePrefix(ad).Masked())
			}
		}
	}
	r.dirty = true
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
