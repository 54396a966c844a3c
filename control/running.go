package control

import (
	"net/netip"
	"slices"
)

// Running returns the router's configurable state now, as Reconfigure
// takes it: each interface's MTU, addresses and admin state (a VLAN
// deleted at run time has none), every static neighbour, the ICMP rate,
// and the configured routes (config, route files and the API's alike,
// not the router's own), sorted, with their gateways (Via; invalid: a
// blackhole). softnet config save writes it back to a config file. It
// waits for a route replace under way (ReplaceRoutes, Reconfigure).
func (r *Router) Running() Desired {
	r.replaceMu.Lock()
	defer r.replaceMu.Unlock()
	r.mu.Lock()
	defer r.mu.Unlock()
	d := r.desiredNow()
	gw := make(map[uint16]netip.Addr, len(r.nbrAdj))
	for k, a := range r.nbrAdj {
		gw[a] = k.Addr
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
		if a, ok := r.rget(p); ok && a != r.drop {
			vias[i] = gw[a]
		}
	}
	d.Via = func(i int) netip.Addr { return vias[i] }
	return d
}
