package control

import (
	"errors"
	"fmt"
	"net/netip"

	"github.com/softnet/softnet/internal/rules"
	"github.com/softnet/softnet/neigh"
)

// ErrNoRoute is returned when deleting a route that does not exist.
var ErrNoRoute = errors.New("no such route")

// setRoute points p at adjacency a, keeping reference counts.
func (r *Router) setRoute(p netip.Prefix, a uint16) error {
	old, had := r.rget(p)
	return r.setRouteFrom(p, a, old, had)
}

// setRouteFrom is setRoute for a caller that has looked p up already:
// old, had are rget(p)'s answer.
func (r *Router) setRouteFrom(p netip.Prefix, a, old uint16, had bool) error {
	if err := r.radd(p, a); err != nil {
		return fmt.Errorf("route %v: %w", p, err)
	}
	r.adj.Ref(a)
	if had {
		r.unref(old)
	}
	return nil
}

func (r *Router) unref(a uint16) {
	if r.adj.Unref(a) > 0 || r.freeGroup(a) {
		return
	}
	// A neighbour adjacency with no routes and no neighbour entry is freed;
	// fixed adjacencies (local, glean, broadcast, blackhole) never are.
	for k, i := range r.nbrAdj {
		if i == a {
			if r.neigh.Get(k) == nil {
				delete(r.nbrAdj, k)
				r.adj.Free(a)
			}
			return
		}
	}
}

// ifaceFor returns the interface whose subnet holds a (IPv4 or IPv6:
// an address of another family is on none).
func (r *Router) ifaceFor(a netip.Addr) (int, bool) {
	if i, ok := r.ifaceMemo[a]; ok {
		return i, true
	}
	for i, ifc := range r.ifaces {
		for _, ad := range ifc.Addrs {
			if p := ifacePrefix(ad); p.Bits() < p.Addr().BitLen() && p.Contains(a) {
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
	if !p.IsValid() || p.Addr().Is4In6() || p.Addr().Zone() != "" {
		return fmt.Errorf("route %v: not a route prefix: write an IPv4 prefix (A.B.C.D/N) or an IPv6 one (2001:db8::/32)", p)
	}
	if gw.IsValid() && gw.Is4() != p.Addr().Is4() {
		return fmt.Errorf("route %v: next hop %v is of the other address family: an IPv4 route needs an IPv4 next hop, an IPv6 route an IPv6 one", p, gw)
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
	r.logOp(routeOp{p: p, gw: gw, add: true}) // a replace let go of the lock: done again after it
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
			out[i].Addrs = append(out[i].Addrs, ifacePrefix(a))
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
//
// While a replace lets go of the lock, the delete is also logged and done
// again after it, like AddRoute; a route added meanwhile (logged) that the
// replace has already taken out (not in its table) is deleted all the
// same: the router ends without it.
func (r *Router) DeleteRoute(p netip.Prefix) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	err := r.deleteRoute(p)
	if r.replacing && (err == nil || r.loggedAdd(p.Masked())) { // done again after the replace
		r.replaceLog = append(r.replaceLog, routeOp{p: p.Masked()})
		return nil
	}
	return err
}

// loggedAdd reports whether the last route change to p logged during a
// replace is an add: after the replace, p is a configured route whatever
// the replace did to it. Caller holds mu.
func (r *Router) loggedAdd(p netip.Prefix) bool {
	for i := len(r.replaceLog) - 1; i >= 0; i-- {
		if op := r.replaceLog[i]; op.p == p {
			return op.add
		}
	}
	return false
}

func (r *Router) deleteRoute(p netip.Prefix) error {
	if !p.IsValid() || p.Addr().Is4In6() || p.Addr().Zone() != "" {
		return fmt.Errorf("route %v: not a route prefix: write an IPv4 prefix (A.B.C.D/N) or an IPv6 one (2001:db8::/32)", p)
	}
	p = p.Masked()
	a, ok := r.rget(p)
	if !r.static.has(p) {
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
		if err := r.rdel(p); err != nil {
			return err
		}
		r.unref(a)
	}
	r.static.remove(p)
	r.dirty = true
	return nil
}

// Routes is the number of routes: those in the FIB and those parked
// while their interface is down (down.go).
func (r *Router) Routes() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.fib.Len() + len(r.parked) + r.fib6.Len() + len(r.parked6)
}

// Adjacencies returns the adjacencies in use (the router's own local and
// drop adjacencies included) and the table's capacity.
func (r *Router) Adjacencies() (inUse, max int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.adj.InUse(), r.adj.Max()
}
