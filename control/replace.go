package control

import (
	"encoding/binary"
	"fmt"
	"net/netip"

	"github.com/softnet/softnet/fib"
	"github.com/softnet/softnet/hdr"
	"github.com/softnet/softnet/internal/rules"
	"github.com/softnet/softnet/neigh"
)

// routeKey is a masked IPv4 prefix packed into an integer, so that the set
// of configured routes (a full table: ~900,000 of them) is a map of plain
// integers: cheap to hash and nothing for the garbage collector to scan.
// Bits 8..39 hold the address, bits 0..7 the length.
type routeKey uint64

// keyOf packs p, which must be IPv4; it masks p itself.
func keyOf(p netip.Prefix) routeKey {
	b := p.Addr().As4()
	return routeKey(binary.BigEndian.Uint32(b[:])&hdr.IPv4Mask(p.Bits()))<<8 | routeKey(p.Bits())
}

func (k routeKey) prefix() netip.Prefix {
	return netip.PrefixFrom(hdr.IPv4Addr(uint32(k>>8)), int(k&0xff))
}

// statics is the set of configured routes (AddRoute, AddRoutes,
// ReplaceRoutes), as opposed to the router's own: the local, connected and
// broadcast routes of its interfaces and its neighbours' host routes.
// ReplaceRoutes replaces the configured routes and never touches the
// router's own.
//
// The value of an entry is the mark of the last ReplaceRoutes that listed
// the prefix, or 0 if AddRoute added it since: a replace bumps mark (never
// to 0), marks every prefix it lists, and then removes the prefixes left
// with another mark. That finds the removed
// routes in one pass over the set, without building a second set of the
// new table.
type statics struct {
	m    map[routeKey]uint32
	mark uint32
}

func (s *statics) add(p netip.Prefix) {
	if s.m == nil {
		s.m = make(map[routeKey]uint32)
	}
	s.m[keyOf(p)] = 0
}

func (s *statics) remove(p netip.Prefix) { delete(s.m, keyOf(p)) }

// Static reports whether p is a configured route (added by AddRoute,
// AddRoutes or ReplaceRoutes), as opposed to one of the router's own.
func (r *Router) Static(p netip.Prefix) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !p.Addr().Is4() {
		return false
	}
	_, ok := r.static.m[keyOf(p)]
	return ok
}

// StaticRoutes is the number of configured routes.
func (r *Router) StaticRoutes() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.static.m)
}

// fresh marks a target that is a gateway with no adjacency yet: the low
// bits index the gateways ReplaceRoutes allocates adjacencies for. Real
// adjacency indices stop at fib.MaxNextHop (0x7fff), below it.
const fresh = 0x8000

// undoStep records one FIB change of ReplaceRoutes so that it can be taken
// back: prefix k had next hop old (if had). 16 bytes: a full-table replace
// records some 100,000 of them.
type undoStep struct {
	k   routeKey
	old uint16
	had bool
}

// hostUndo records that restoring a neighbour's host route set host[nk],
// and what host[nk] was before.
type hostUndo struct {
	nk  neigh.Key
	was bool
}

// ReplaceRoutes makes the configured routes exactly ps, ps[i] through
// gateway gw(i) (an invalid netip.Addr makes a blackhole route, as in
// AddRoute, with the same checks), and publishes the result as one new snapshot: a worker
// forwards each batch with either the old table or the new one, never a
// mix, and a prefix that is in both with the same next hop is never
// missing from any snapshot. The router's own routes (local, connected,
// broadcast, neighbour host routes) stay; a removed configured route that
// shadowed one of them exactly gives the prefix back to it.
//
// It returns how many prefixes were added (not configured before), changed
// (configured before, now through another next hop) and removed
// (configured before, not in ps). A prefix listed twice takes its last
// gateway. gw is called once per entry, in order, before anything changes.
//
// Everything is checked first: a prefix that is not IPv4 or is one of the
// router's own (see AddRoute), or a gateway that package rules refuses
// (not another host on a connected subnet), makes it return an error
// naming the first bad entry and its index, with nothing changed and
// nothing published. Running out of adjacencies or tbl8 groups midway is
// also reported with nothing changed: the changes made so far are taken
// back before the error returns.
//
// Cost: a pass over ps and one over the configured routes (two map lookups
// per prefix), plus the FIB work of the routes that changed; the new
// snapshot copies only the tbl24 chunks and tbl8 groups those touch. On
// the 901,899-prefix table with 10% of the next hops changed that is
// 0.26–0.34 s and ~210 chunks (27 MiB) per replace (bench's
// BenchmarkReplaceFullTable). The router's lock is held meanwhile, so its
// service loop (punts, ARP) waits for a full-table replace; the workers
// never do.
func (r *Router) ReplaceRoutes(ps []netip.Prefix, gw func(i int) netip.Addr) (added, changed, removed int, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.replaceRoutes(ps, gw, true)
}

// replaceRoutes is ReplaceRoutes; publish says whether to publish the
// result (Reconfigure publishes once, after its other changes). Caller
// holds mu.
func (r *Router) replaceRoutes(ps []netip.Prefix, gw func(i int) netip.Addr, publish bool) (added, changed, removed int, err error) {

	// 1. Check every entry and resolve it to its adjacency, changing
	// nothing. A full table has few gateways: they are resolved once
	// (byGW) and looked up through a small direct-mapped cache in front.
	target := make([]uint16, len(ps))
	byGW := make(map[uint32]uint16)
	var cache [64]struct {
		gw  uint32
		a   uint16
		set bool
	}
	var newGW []neigh.Key
	ifs := r.ruleIfaces()
	own := rules.NewOwn(ifs)
	for i, p := range ps {
		if !p.IsValid() || !p.Addr().Is4() {
			return 0, 0, 0, fmt.Errorf("routes[%d] %v: only IPv4 routes are supported", i, p)
		}
		if err := own.Check(p.Masked()); err != nil {
			return 0, 0, 0, fmt.Errorf("routes[%d] %v: %w", i, p, err)
		}
		g := gw(i)
		if !g.IsValid() {
			target[i] = r.drop
			continue
		}
		if !g.Is4() {
			return 0, 0, 0, fmt.Errorf("routes[%d] %v: via %v is not an IPv4 address: write the next hop as A.B.C.D", i, p, g)
		}
		v := u32(g)
		if c := &cache[v&63]; c.set && c.gw == v {
			target[i] = c.a
			continue
		}
		a, ok := byGW[v]
		if !ok {
			ifc, err := rules.NextHop(ifs, g)
			if err != nil {
				return 0, 0, 0, fmt.Errorf("routes[%d] %v: via %w", i, p, err)
			}
			k := neigh.Key{Iface: ifc, Addr: g}
			if a, ok = r.nbrAdj[k]; !ok {
				a = fresh | uint16(len(newGW))
				newGW = append(newGW, k)
			}
			byGW[v] = a
		}
		cache[v&63].gw, cache[v&63].a, cache[v&63].set = v, a, true
		target[i] = a
	}

	// 2. Adjacencies for gateways the router has none for yet.
	dirty := r.dirty
	made := make([]uint16, len(newGW))
	for j, k := range newGW {
		a, err := r.neighborAdj(k)
		if err != nil {
			for _, k := range newGW[:j] {
				r.adj.Free(r.nbrAdj[k])
				delete(r.nbrAdj, k)
			}
			r.dirty = dirty
			return 0, 0, 0, fmt.Errorf("replace routes: gateway %v: %w", k.Addr, err)
		}
		made[j] = a
	}
	if len(newGW) > 0 {
		for i, a := range target {
			if a&fresh != 0 {
				target[i] = made[a&^fresh]
			}
		}
	}

	// Pin every neighbour adjacency while the FIB changes, so that none is
	// freed when its last route goes (unref) and an undo can point routes
	// back at it. Unpinning frees those left with no route and no neighbour
	// entry, such as a new gateway whose routes were undone.
	// (Unpinning comes before the publish, so the snapshot holds no freed
	// adjacency.)
	pinned := make([]uint16, 0, len(r.nbrAdj))
	for _, a := range r.nbrAdj {
		r.adj.Ref(a)
		pinned = append(pinned, a)
	}
	unpin := func() {
		for _, a := range pinned {
			r.unref(a)
		}
	}

	// 3. The difference. ops are the entries whose prefix needs a FIB
	// change, newKeys the prefixes not configured before. The pass runs
	// backwards so that the last entry of a prefix listed twice is the one
	// seen first, and the others are skipped.
	r.static.mark++
	if r.static.mark == 0 { // 0 is what add writes: never a replace's mark
		r.static.mark = 1
	}
	mark := r.static.mark
	if r.static.m == nil {
		r.static.m = make(map[routeKey]uint32, len(ps))
	}
	var ops []int32
	var newKeys []routeKey
	repeats := 0
	for i := len(ps) - 1; i >= 0; i-- {
		p := ps[i]
		k := keyOf(p)
		m, was := r.static.m[k]
		switch {
		case was && m == mark:
			repeats++
		case !was:
			r.static.m[k] = mark
			newKeys = append(newKeys, k)
			ops = append(ops, int32(i))
			added++
		default:
			r.static.m[k] = mark
			if cur, ok := r.fib.Get(p); !ok || cur != target[i] {
				ops = append(ops, int32(i))
				changed++
			}
		}
	}
	// The set holds unlisted prefixes only if it is larger than the number
	// of distinct prefixes listed: skip the pass when it is not.
	var gone []routeKey
	if len(r.static.m) > len(ps)-repeats {
		for k, m := range r.static.m {
			if m != mark {
				gone = append(gone, k)
			}
		}
	}

	// 4. Apply: removals first, since they free tbl8 groups the additions
	// may need.
	undo := make([]undoStep, 0, len(gone)+len(ops))
	var hosts []hostUndo
	fail := func(err error) (int, int, int, error) {
		r.rollback(undo, hosts, newKeys, gone)
		unpin()
		r.dirty = dirty
		return 0, 0, 0, err
	}
	for _, k := range gone {
		p := k.prefix()
		old, had := r.fib.Get(p)
		if own, nk, isHost, ok := r.ownRoute(p); ok {
			if !had || old != own {
				if err := r.setRoute(p, own); err != nil {
					return fail(fmt.Errorf("replace routes: restore %w", err))
				}
			}
			if isHost {
				hosts = append(hosts, hostUndo{nk, r.host[nk]})
				r.host[nk] = true
			}
		} else if had {
			if err := r.fib.Delete(p); err != nil {
				return fail(fmt.Errorf("replace routes: remove %v: %w", p, err))
			}
			r.unref(old)
		}
		undo = append(undo, undoStep{k, old, had})
		delete(r.static.m, k)
	}
	for j := len(ops) - 1; j >= 0; j-- { // in the order of ps
		i := int(ops[j])
		p := ps[i].Masked()
		old, had := r.fib.Get(p)
		if err := r.setRoute(p, target[i]); err != nil {
			return fail(fmt.Errorf("routes[%d]: %w", i, err))
		}
		undo = append(undo, undoStep{keyOf(p), old, had})
	}
	removed = len(gone)
	unpin()

	// 5. One snapshot for the whole replace.
	if len(undo) > 0 || len(newGW) > 0 {
		r.dirty = true
	}
	if r.dirty && publish {
		r.publish()
	}
	return added, changed, removed, nil
}

// rollback takes back the FIB changes in undo (newest first), the host
// routes marked as the neighbours' (hosts), and the configured set's
// additions (newKeys) and removals (gone). Each step returns the table to
// a state it had before, so a step never needs a tbl8 group that was not
// in use then and cannot fail.
func (r *Router) rollback(undo []undoStep, hosts []hostUndo, newKeys, gone []routeKey) {
	for i := len(undo) - 1; i >= 0; i-- {
		u := undo[i]
		p := u.k.prefix()
		cur, ok := r.fib.Get(p)
		switch {
		case u.had && (!ok || cur != u.old):
			_ = r.setRoute(p, u.old)
		case !u.had && ok:
			_ = r.fib.Delete(p)
			r.unref(cur)
		}
	}
	for _, h := range hosts {
		if h.was {
			r.host[h.nk] = true
		} else {
			delete(r.host, h.nk)
		}
	}
	for _, k := range newKeys {
		delete(r.static.m, k)
	}
	for _, k := range gone {
		r.static.m[k] = 0
	}
}

// ownRoute returns the adjacency of the router's own route to exactly p,
// if it has one: an interface address (local), a connected subnet
// (glean), a subnet's network or broadcast address (broadcast), or a
// neighbour's host route. Where several match, the one AddInterface
// installs last wins, as it does there.
func (r *Router) ownRoute(p netip.Prefix) (a uint16, nk neigh.Key, isHost, ok bool) {
	v, bits := u32(p.Addr()), p.Bits()
	for i, ifc := range r.ifaces {
		for _, ad := range ifc.Addrs {
			if !ad.Is4() {
				continue
			}
			m, a4 := hdr.IPv4Mask(int(ad.Len)), ad.Addr4()
			if bits == 32 && v == a4 {
				a, ok = r.local, true
			}
			if ad.Len < 32 && bits == int(ad.Len) && v == a4&m {
				a, ok = r.glean[i], true
			}
			if bits == 32 && ad.Len <= 30 && (v == a4&m || v == a4|^m) {
				a, ok = r.bcast[i], true
			}
		}
	}
	if ok || bits != 32 {
		return a, nk, false, ok
	}
	if i, on := r.ifaceFor(p.Addr()); on {
		k := neigh.Key{Iface: i, Addr: p.Addr()}
		if na, has := r.nbrAdj[k]; has && r.neigh.Get(k) != nil {
			return na, k, true, true
		}
	}
	return 0, nk, false, false
}

// A compile-time check that no adjacency index can carry the fresh bit.
var _ = [1]struct{}{}[fib.MaxNextHop&fresh]

// MarkConfigured marks every configured route as the config's: softnet run
// calls it once the config's routes are in. A route AddRoute or AddRoutes
// adds later (the API) is unmarked until the next ReplaceRoutes or
// Reconfigure (a reload) lists it; RuntimeRoutes returns those.
func (r *Router) MarkConfigured() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.static.mark++
	if r.static.mark == 0 {
		r.static.mark = 1
	}
	for k := range r.static.m {
		r.static.m[k] = r.static.mark
	}
}

// RuntimeRoutes returns the configured routes added by AddRoute or
// AddRoutes since the last MarkConfigured, ReplaceRoutes or Reconfigure:
// with softnet run, the routes added through the API, which a reload of a
// config without them removes.
func (r *Router) RuntimeRoutes() []netip.Prefix {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []netip.Prefix
	for k, m := range r.static.m {
		if m == 0 {
			out = append(out, k.prefix())
		}
	}
	return out
}
