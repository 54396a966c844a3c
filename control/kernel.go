package control

import (
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"github.com/softnet/softnet/dp"
	"github.com/softnet/softnet/fib"
	"github.com/softnet/softnet/internal/rules"
	"github.com/softnet/softnet/neigh"
)

// Kernel routes are the routes a Linux routing table holds (put there by
// a routing daemon, BGP or OSPF, or by ip route), mirrored by package
// linuxcp through ApplyKernel. They are a third kind beside the
// configured routes and the router's own: a kernel route never replaces
// either (one to a local, connected or broadcast prefix, or to a prefix
// that has a configured route, is remembered but not installed:
// KernelResult.Shadowed), it may take a neighbour's /32 host route over as
// a configured one does, and deleting it gives the prefix back to the
// neighbour. A route with several next hops points at an ECMP group
// (groups below); a route with none is a blackhole.

// NextHop is one next hop of a kernel route.
type NextHop struct {
	Iface  int        // softnet interface index
	Via    netip.Addr // gateway; invalid: the destination is on Iface's link
	Weight int        // share of the flows among the route's next hops, 1..256 (0 is 1)
}

// KernelRoute is one route of a mirrored kernel table.
type KernelRoute struct {
	Prefix   netip.Prefix
	Proto    string    // who put it there: bgp, ospf, kernel, boot, static, ... (rtnetlink's protocol)
	NextHops []NextHop // none: a blackhole (or unreachable, prohibit) route
}

// Equal reports whether k and o are the same route (next hops in any order).
func (k KernelRoute) Equal(o KernelRoute) bool {
	if k.Prefix != o.Prefix || k.Proto != o.Proto || len(k.NextHops) != len(o.NextHops) {
		return false
	}
	if len(k.NextHops) <= 1 { // most routes: compared without copies (a resync compares a million)
		return len(k.NextHops) == 0 || (k.NextHops[0].Iface == o.NextHops[0].Iface && k.NextHops[0].Via == o.NextHops[0].Via &&
			max(k.NextHops[0].Weight, 1) == max(o.NextHops[0].Weight, 1))
	}
	a, b := sortedHops(k.NextHops), sortedHops(o.NextHops)
	return slices.Equal(a, b)
}

func sortedHops(h []NextHop) []NextHop {
	s := slices.Clone(h)
	for i := range s {
		if s[i].Weight <= 0 {
			s[i].Weight = 1
		}
	}
	slices.SortFunc(s, func(x, y NextHop) int {
		if x.Iface != y.Iface {
			return x.Iface - y.Iface
		}
		return x.Via.Compare(y.Via)
	})
	return s
}

// KernelResult is what ApplyKernel did.
type KernelResult struct {
	Added, Changed, Deleted int
	// Shadowed counts routes remembered but not installed: the prefix is
	// one of the router's own (an interface's address or connected
	// subnet: the kernel has those too) or a configured route's.
	Shadowed int
	// Errors are the routes refused (a next hop on no connected subnet,
	// a full table), one line each; the rest of the batch is applied.
	Errors []string
}

// count records what setting one route (or neighbour) did: refused
// (err), shadowed, changed (it existed) or added.
func (res *KernelResult) count(existed, shadowed bool, err error) {
	switch {
	case err != nil:
		res.Errors = append(res.Errors, err.Error())
	case shadowed:
		res.Shadowed++
	case existed:
		res.Changed++
	default:
		res.Added++
	}
}

// kroute is an installed (or shadowed) kernel route. Caller holds mu.
// Router.kern (a fib.PrefixMap: one probe to set a route, slots
// prefetched a few routes ahead by ApplyKernel) holds no pointer (the
// garbage collector does not scan a million of them) in 24-byte slots:
// the prefix as a kkey, the protocol an index in Router.protos.
type kroute struct {
	proto     uint16 // Router.protos[proto]
	adj       uint16 // its adjacency (0 while shadowed)
	installed bool
}

// kkey is a prefix as a key of Router.kern (pointer-free: see
// fib.PrefixKey).
type kkey = fib.PrefixKey

func kkeyOf(p netip.Prefix) kkey { return fib.KeyOf(p) }

// protoIndex interns a kernel route's protocol name in r.protos (a
// handful: bgp, ospf, kernel, ...). Caller holds mu.
func (r *Router) protoIndex(s string) uint16 {
	if i := int(r.lastProto); i < len(r.protos) && r.protos[i] == s {
		return r.lastProto
	}
	i := slices.Index(r.protos, s)
	if i < 0 {
		i = len(r.protos)
		r.protos = append(r.protos, s)
	}
	r.lastProto = uint16(i)
	return r.lastProto
}

// group is an ECMP group: an AdjGroup adjacency whose members are other
// adjacencies (neighbours', a connected subnet's glean), each with a
// weight. Groups are shared: routes with the same next hops point at the
// same group. The group holds a reference on each member; the routes
// hold references on the group's adjacency.
type group struct {
	key     string
	adj     uint16
	members []uint16
	weights []int
}

// maxBuckets bounds one group's buckets: weights are scaled down to fit.
const maxBuckets = 1024

// ApplyKernel applies a batch of kernel route changes: set adds or
// replaces routes, del removes them (prefixes of routes set earlier).
// The batch is published as one snapshot. A route that cannot be
// installed is reported in the result's Errors and skipped.
func (r *Router) ApplyKernel(set []KernelRoute, del []netip.Prefix) KernelResult {
	r.mu.Lock()
	defer r.mu.Unlock()
	var res KernelResult
	own := rules.NewOwn(r.ruleIfaces())
	// The interfaces do not change meanwhile: each gateway's is looked up
	// once a batch, not once a route (as AddRoutes does).
	if r.ifaceMemo == nil {
		r.ifaceMemo = map[netip.Addr]int{}
		defer func() { r.ifaceMemo = nil }()
	}
	for _, p := range del {
		if err := r.deleteKernel(p.Masked()); err != nil {
			res.Errors = append(res.Errors, err.Error())
			continue
		}
		res.Deleted++
	}
	for i, kr := range set {
		if j := i + fib.PrefetchAhead; j < len(set) {
			r.kern.Prefetch(kkeyOf(set[j].Prefix.Masked()))
		}
		existed, shadowed, err := r.setKernel(own, kr)
		res.count(existed, shadowed, err)
	}
	if len(res.Errors) > 0 {
		r.lastErr = "kernel route " + res.Errors[len(res.Errors)-1]
	}
	r.publish()
	return res
}

// setKernel installs kernel route kr; existed: p had a kernel route.
// Caller holds mu.
func (r *Router) setKernel(own *rules.Own, kr KernelRoute) (existed, shadowed bool, err error) {
	p := kr.Prefix
	if !p.IsValid() || p.Addr().Is4In6() || p.Addr().Zone() != "" {
		return false, false, fmt.Errorf("%v: not a route prefix", p)
	}
	p = p.Masked()
	for _, h := range kr.NextHops {
		if h.Via.IsValid() && h.Via.Is4() != p.Addr().Is4() {
			return false, false, fmt.Errorf("%v: next hop %v is of the other address family (IPv4 routes via IPv6 gateways are not supported)", p, h.Via)
		}
		if h.Iface < 0 || h.Iface >= len(r.ifaces) || r.ifaces[h.Iface].Deleted {
			return false, false, fmt.Errorf("%v: next hop on interface %d, which softnet does not have", p, h.Iface)
		}
	}
	proto := r.protoIndex(kr.Proto)
	if own.Check(p) != nil || r.static.has(p) {
		old, existed := r.kern.Get(kkeyOf(p))
		if existed && old.installed {
			if err := r.deleteKernel(p); err != nil {
				return existed, false, err
			}
		}
		r.setKern(p, kroute{proto: proto})
		return existed, true, nil
	}
	a, err := r.kernelAdj(p, kr.NextHops)
	if err != nil {
		return false, false, fmt.Errorf("%v: %w", p, err)
	}
	// Reference the new adjacency before setRoute drops the old one, so
	// a group or neighbour both share is not freed in between.
	r.adj.Ref(a)
	defer r.unref(a)
	if cur, ok := r.rget(p); !ok || cur != a {
		if err := r.setRouteFrom(p, a, cur, ok); err != nil {
			if old, ok := r.kern.Get(kkeyOf(p)); ok && !old.installed {
				r.dropKern(p)
			}
			return false, false, err
		}
	}
	existed = r.setKern(p, kroute{proto: proto, adj: a, installed: true})
	r.dirty = true
	return existed, false, nil
}

// setKern sets kern[p] to k, keeping kernCount, and reports whether p
// had an entry. Caller holds mu.
func (r *Router) setKern(p netip.Prefix, k kroute) (existed bool) {
	v, existed := r.kern.Upsert(kkeyOf(p))
	if existed {
		r.kernCount[kernSlot(*v)].Add(-1)
	}
	*v = k
	r.kernCount[kernSlot(k)].Add(1)
	return existed
}

// dropKern deletes kern[p], keeping kernCount. Caller holds mu.
func (r *Router) dropKern(p netip.Prefix) {
	if old, ok := r.kern.Delete(kkeyOf(p)); ok {
		r.kernCount[kernSlot(old)].Add(-1)
	}
}

// kernSlot is k's counter in kernCount: 0 installed, 1 shadowed.
func kernSlot(k kroute) int {
	if k.installed {
		return 0
	}
	return 1
}

// kernelAdj returns the adjacency for next hops hs (unreferenced: the
// caller references it). Caller holds mu.
func (r *Router) kernelAdj(p netip.Prefix, hs []NextHop) (uint16, error) {
	if len(hs) == 0 {
		return r.drop, nil
	}
	var members []uint16
	var weights []int
	for _, h := range hs {
		a, err := r.hopAdj(h)
		if err != nil {
			return 0, err
		}
		w := min(max(h.Weight, 1), 256)
		if i := slices.Index(members, a); i >= 0 {
			weights[i] += w
			continue
		}
		members, weights = append(members, a), append(weights, w)
	}
	if len(members) == 1 {
		return members[0], nil
	}
	return r.groupAdj(members, weights)
}

// hopAdj is one next hop's adjacency: its gateway's neighbour adjacency,
// or for an on-link next hop the interface's glean. Caller holds mu.
func (r *Router) hopAdj(h NextHop) (uint16, error) {
	if !h.Via.IsValid() {
		return r.glean[h.Iface], nil
	}
	i, err := r.gateway(h.Via)
	if err != nil {
		return 0, fmt.Errorf("via %v: %w", h.Via, err)
	}
	return r.neighborAdj(neigh.Key{Iface: i, Addr: h.Via})
}

// groupAdj returns the ECMP group of members with weights, made if new.
// Caller holds mu.
func (r *Router) groupAdj(members []uint16, weights []int) (uint16, error) {
	idx := make([]int, len(members))
	for i := range idx {
		idx[i] = i
	}
	slices.SortFunc(idx, func(x, y int) int { return int(members[x]) - int(members[y]) })
	var key strings.Builder
	ms, ws := make([]uint16, len(idx)), make([]int, len(idx))
	for j, i := range idx {
		ms[j], ws[j] = members[i], weights[i]
		key.WriteString(strconv.Itoa(int(ms[j])) + "*" + strconv.Itoa(ws[j]) + ",")
	}
	if g := r.groups[key.String()]; g != nil {
		return g.adj, nil
	}
	a, err := r.adj.Alloc(dp.Adj{Kind: dp.AdjGroup})
	if err != nil {
		return 0, fmt.Errorf("ECMP group: %w", err)
	}
	g := &group{key: key.String(), adj: a, members: ms, weights: ws}
	for _, m := range ms {
		r.adj.Ref(m)
	}
	if r.groups == nil {
		r.groups = map[string]*group{}
		r.groupOf = map[uint16]*group{}
	}
	r.groups[g.key], r.groupOf[a] = g, g
	return a, nil
}

// freeGroup frees group adjacency a, whose last route is gone, and drops
// its references on its members. It reports whether a was a group.
// Caller holds mu.
func (r *Router) freeGroup(a uint16) bool {
	g := r.groupOf[a]
	if g == nil {
		return false
	}
	delete(r.groups, g.key)
	delete(r.groupOf, a)
	r.adj.Free(a)
	for _, m := range g.members {
		r.unref(m)
	}
	return true
}

// deleteKernel removes kernel route p. Caller holds mu.
func (r *Router) deleteKernel(p netip.Prefix) error {
	kr, ok := r.kern.Get(kkeyOf(p))
	if !ok {
		return fmt.Errorf("%v: %w", p, ErrNoRoute)
	}
	r.dropKern(p)
	if !kr.installed || r.static.has(p) { // a configured route took it over meanwhile
		return nil
	}
	a, ok := r.rget(p)
	if !ok {
		return nil
	}
	if own, nk, isHost, has := r.ownRoute(p); has {
		if a != own {
			if err := r.setRoute(p, own); err != nil {
				return fmt.Errorf("%v: restoring the router's own route: %w", p, err)
			}
		}
		if isHost {
			r.host[nk] = true
		}
	} else {
		if err := r.rdel(p); err != nil {
			return err
		}
		r.unref(a)
	}
	r.dirty = true
	return nil
}

// KernelRoutes returns the number of kernel routes installed and shadowed.
// It does not take the router's lock (counters kept as routes change): the
// API's GET /v1/linuxcp, polled while linux_cp applies a full table, neither
// waits for a batch nor walks a million routes under the lock the batch
// needs.
func (r *Router) KernelRoutes() (installed, shadowed int) {
	return int(r.kernCount[0].Load()), int(r.kernCount[1].Load())
}

// ecmpBuckets fills the Group and GroupN of every group adjacency of adjs
// (a snapshot) and returns the buckets: per group, its live members
// (neither unreachable nor out of a down interface) repeated in
// proportion to their weights; all members when none is live. Caller
// holds mu.
func (r *Router) ecmpBuckets(adjs []dp.Adj) []uint16 {
	if len(r.groups) == 0 {
		return nil
	}
	var out []uint16
	for a, g := range r.groupOf {
		var ms []uint16
		var ws []int
		for i, m := range g.members {
			if r.adj.Get(m).Kind == dp.AdjUnreachable || r.downAdj(m) {
				continue
			}
			ms, ws = append(ms, m), append(ws, g.weights[i])
		}
		if len(ms) == 0 {
			ms, ws = g.members, g.weights
		}
		ws = scaleWeights(ws)
		start := len(out)
		for i, m := range ms {
			for range ws[i] {
				out = append(out, m)
			}
		}
		adjs[a].Group, adjs[a].GroupN = uint32(start), uint16(len(out)-start)
	}
	return out
}

// scaleWeights divides weights by their greatest common divisor and
// scales them down to at most maxBuckets in all, each at least 1.
func scaleWeights(ws []int) []int {
	g := 0
	for _, w := range ws {
		g = gcd(g, w)
	}
	out := make([]int, len(ws))
	sum := 0
	for i, w := range ws {
		out[i] = w / max(g, 1)
		sum += out[i]
	}
	if sum > maxBuckets {
		for i := range out {
			out[i] = max(1, out[i]*maxBuckets/sum)
		}
	}
	return out
}

func gcd(a, b int) int {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}

// groupHops returns, for a group adjacency, its next hops: each member's interface, gateway (invalid for
// an on-link member) and weight. Caller holds mu.
func (r *Router) groupHops(a uint16) []MatchHop {
	g := r.groupOf[a]
	if g == nil {
		return nil
	}
	var out []MatchHop
	for i, m := range g.members {
		ad := r.adj.Get(m)
		h := MatchHop{Iface: int(ad.Iface), Kind: ad.Kind, Weight: g.weights[i], Live: ad.Kind != dp.AdjUnreachable && !r.downAdj(m)}
		if ad.Kind != dp.AdjGlean {
			h.Via = ad.IP()
		}
		out = append(out, h)
	}
	return out
}

// MatchHop is one next hop of an ECMP route (Match.NextHops).
type MatchHop struct {
	Iface  int
	Via    netip.Addr
	Kind   dp.AdjKind
	Weight int
	Live   bool // carries traffic: not unreachable, its interface up
}

// origin says where route p with adjacency a came from. Caller holds mu.
func (r *Router) origin(p netip.Prefix, a uint16) string {
	if r.static.has(p) {
		return "static"
	}
	if k, ok := r.kern.Get(kkeyOf(p)); ok && k.installed {
		if r.protos[k.proto] == "" {
			return "kernel"
		}
		return r.protos[k.proto]
	}
	switch r.adj.Get(a).Kind {
	case dp.AdjLocal:
		return "local"
	case dp.AdjGlean, dp.AdjBroadcast:
		return "connected"
	}
	return "neighbor"
}

// kernInstalled reports whether p is an installed kernel route. Caller
// holds mu.
func (r *Router) kernInstalled(p netip.Prefix) bool {
	k, ok := r.kern.Get(kkeyOf(p))
	return ok && k.installed
}
