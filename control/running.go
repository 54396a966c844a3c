package control

import (
	"net/netip"
	"slices"
)

// Running returns the router's configurable state now, as Reconfigure
// takes it: each interface's MTU, addresses and admin state (a VLAN
// deleted at run time has none), every static neighbour, the ICMP rate,
// and the configured routes (config, route files and the API's alike,
// not the router's own), the IPv4 ones sorted then the IPv6 ones sorted,
// with their gateways (Via; invalid: a blackhole). It waits for a route
// replace under way (ReplaceRoutes, Reconfigure).
func (r *Router) Running() Desired {
	return r.RunningState().Desired
}

// RunningState is what softnet config save writes, taken at one moment
// (under one lock), so that its parts agree on the interface indices.
type RunningState struct {
	Desired                // the routes of both families, IPv4 first
	Routes6 []netip.Prefix // the configured IPv6 routes, sorted (also at the end of Desired.Routes)
	Via6    []netip.Addr   // Routes6[i]'s gateway; invalid: a blackhole
	Names   []string       // each interface's name, by index ("" : deleted)
	VLANs   []VLANInfo     // the VLAN sub-interfaces (not deleted), in index order, without counters
}

// RunningState returns Running's state, the configured IPv6 routes, the
// interfaces' names and the VLAN sub-interfaces at one moment. It waits
// for a route replace under way.
func (r *Router) RunningState() RunningState {
	r.replaceMu.Lock()
	defer r.replaceMu.Unlock()
	r.mu.Lock()
	defer r.mu.Unlock()
	s := RunningState{Desired: r.desiredNow(), VLANs: r.vlanList()}
	d := &s.Desired
	r.withoutKernelAddrs(d) // the kernel's (linux_cp), not the config's
	for i := range r.ifaces {
		n := r.ifaces[i].Name
		if r.ifaces[i].Deleted {
			n = ""
		}
		s.Names = append(s.Names, n)
	}
	gw := make(map[uint16]netip.Addr, len(r.nbrAdj))
	for k, a := range r.nbrAdj {
		gw[a] = k.Addr
	}
	via := func(p netip.Prefix) netip.Addr {
		if a, ok := r.rget(p); ok && a != r.drop {
			return gw[a]
		}
		return netip.Addr{}
	}
	keys := make([]routeKey, 0, len(r.static.m))
	for k := range r.static.m {
		keys = append(keys, k)
	}
	slices.Sort(keys) // by address, then length
	vias := make([]netip.Addr, len(keys))
	d.Routes = make([]netip.Prefix, len(keys))
	for i, k := range keys {
		p := k.prefix()
		d.Routes[i] = p
		vias[i] = via(p)
	}
	for p := range r.static.m6 {
		s.Routes6 = append(s.Routes6, p)
	}
	slices.SortFunc(s.Routes6, func(a, b netip.Prefix) int {
		if c := a.Addr().Compare(b.Addr()); c != 0 {
			return c
		}
		return a.Bits() - b.Bits()
	})
	for _, p := range s.Routes6 {
		s.Via6 = append(s.Via6, via(p))
	}
	d.Routes = append(d.Routes, s.Routes6...)
	vias = append(vias, s.Via6...)
	d.Via = func(i int) netip.Addr { return vias[i] }
	return s
}
