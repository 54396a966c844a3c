package control

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"runtime"

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
// new table. m6 holds the configured IPv6 routes (masked), marked alike.
type statics struct {
	m    map[routeKey]uint32
	mark uint32
	m6   map[netip.Prefix]uint32
}

func (s *statics) add(p netip.Prefix) {
	if p.Addr().Is6() {
		if s.m6 == nil {
			s.m6 = map[netip.Prefix]uint32{}
		}
		s.m6[p] = 0
		return
	}
	if s.m == nil {
		s.m = make(map[routeKey]uint32)
	}
	s.m[keyOf(p)] = 0
}

func (s *statics) remove(p netip.Prefix) {
	if p.Addr().Is6() {
		delete(s.m6, p)
		return
	}
	delete(s.m, keyOf(p))
}

// has reports whether p (masked) is a configured route, of either family.
func (s *statics) has(p netip.Prefix) bool {
	if p.Addr().Is6() {
		_, ok := s.m6[p]
		return ok
	}
	_, ok := s.m[keyOf(p)]
	return ok
}

// Static reports whether p is a configured route (added by AddRoute,
// AddRoutes or ReplaceRoutes), as opposed to one of the router's own.
func (r *Router) Static(p netip.Prefix) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.static.has(p)
}

// StaticRoutes is the number of configured routes.
func (r *Router) StaticRoutes() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.static.m) + len(r.static.m6)
}

// routeOp is a change made while a replace (or Reconfigure) let go of
// the lock, done again after it (replay): a route's (AddRoute: add, with
// gw; DeleteRoute), or, by kind, an interface's admin state
// (SetInterfaceUp: up in add), MTU (SetInterfaceMTU) or a static
// neighbour's (AddNeighbor: add, gw with mac; DeleteNeighbor).
type routeOp struct {
	p     netip.Prefix
	gw    netip.Addr
	add   bool
	kind  opKind
	iface int
	mtu   int
	mac   [6]byte
}

type opKind uint8

const (
	opRoute opKind = iota
	opAdmin
	opMTU
	opNeighbor
)

// logOp logs op if a replace let go of the lock: it is done again after
// the replace. Caller holds mu.
func (r *Router) logOp(op routeOp) {
	if r.replacing {
		r.replaceLog = append(r.replaceLog, op)
	}
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

// undoStep6 is undoStep for an IPv6 prefix.
type undoStep6 struct {
	p   netip.Prefix
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
// ps holds IPv4 and IPv6 prefixes alike, each through a gateway of its
// own family: the configured routes of both families are replaced, in
// one snapshot.
//
// Everything is checked first: a prefix that is not a route prefix or is
// one of the router's own (see AddRoute), a gateway of the other family,
// or a gateway that package rules refuses
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
// BenchmarkReplaceFullTable).
//
// The router's lock is not held throughout: the replace lets go of it
// every replaceChunk entries, so the service loop (punts, ARP learning,
// neighbour timers) and the API (reads and changes) go on meanwhile; the
// workers never wait. Nothing is published until the replace ends (a
// change made meanwhile is published with it). Route changes made
// meanwhile (AddRoute, AddRoutes, DeleteRoute) come after the replace:
// they are done again once it is in, so none is lost (a DeleteRoute of a
// route added meanwhile succeeds even if the replace took it out
// already). So are SetInterfaceUp, SetInterfaceMTU, AddNeighbor and
// DeleteNeighbor of a static neighbour, which Reconfigure also sets. If the interfaces
// or their addresses change meanwhile (the replace's checks were made
// against them), the replace is taken back and built again against the
// new ones, under the lock this time. Replaces (and Reconfigure) run one
// at a time; gw may then be called twice per entry.
func (r *Router) ReplaceRoutes(ps []netip.Prefix, gw func(i int) netip.Addr) (added, changed, removed int, err error) {
	r.replaceMu.Lock()
	defer r.replaceMu.Unlock()
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.replaceRoutes(ps, gw, true)
}

// replaceChunk is how many entries a replace handles between two moments
// it lets go of the router's lock (yield): a few milliseconds' work.
const replaceChunk = 16384

// errStale stops a replace whose interfaces changed while it let go of
// the lock: it is taken back and built again.
var errStale = errors.New("the interfaces changed during the replace")

// replaceRoutes is ReplaceRoutes; alone says it is one (not part of a
// Reconfigure): it logs the changes made meanwhile, replays them after
// and publishes the result. Reconfigure does those itself, around all its
// changes. Caller holds replaceMu and mu; mu is let go of and taken again
// midway (yield).
func (r *Router) replaceRoutes(ps []netip.Prefix, gw func(i int) netip.Addr, alone bool) (added, changed, removed int, err error) {
	if alone {
		r.replacing, r.replaceLog, r.dirtyMeanwhile = true, nil, false
	}
	added, changed, removed, err = r.replaceOnce(ps, gw, true)
	if errors.Is(err, errStale) {
		added, changed, removed, err = r.replaceOnce(ps, gw, false)
	}
	if alone {
		r.replacing = false
		r.replay()
		if err == nil && r.dirty {
			r.publish()
		}
	}
	return added, changed, removed, err
}

// yield lets go of mu for a moment during a replace, and reports whether
// the interfaces changed meanwhile (gen is r.ifaceGen when the replace
// made its checks). Caller holds mu.
func (r *Router) yield(gen uint64) (stale bool) {
	mine := r.dirty
	r.dirty = false
	r.letGo()
	r.dirtyMeanwhile = r.dirtyMeanwhile || r.dirty
	r.dirty = mine || r.dirty
	return r.ifaceGen != gen
}

// letGo lets go of mu for a moment (a replace's yield, Reconfigure's
// checks), and takes it again. Caller holds mu.
func (r *Router) letGo() {
	hook := r.replaceHook
	r.mu.Unlock() // rings the service loop if it has work
	if hook != nil {
		hook()
	}
	runtime.Gosched()
	r.mu.Lock()
}

// replay does again the changes made while a replace (or Reconfigure)
// let go of the lock, in order, after it (or after it was taken back).
// A change that no longer applies (its gateway gone with an interface) is
// the router's last error.
func (r *Router) replay() {
	log := r.replaceLog
	r.replaceLog = nil
	if len(log) > 0 {
		r.dirtyMeanwhile = true // to publish, even if what it follows is taken back
	}
	for _, op := range log {
		var err error
		switch {
		case op.kind == opAdmin:
			err = r.setAdmin(op.iface, op.add)
		case op.kind == opMTU:
			err = r.setInterfaceMTU(op.iface, op.mtu)
		case op.kind == opNeighbor && op.add:
			err = r.addNeighbor(op.iface, op.gw, op.mac)
		case op.kind == opNeighbor:
			_ = r.deleteNeighbor(op.iface, op.gw) // gone already is as good
		case op.add:
			err = r.addRoute(op.p, op.gw)
		default:
			r.static.add(op.p) // the replace may have listed it again (marked 0: as AddRoute)
			err = r.deleteRoute(op.p)
		}
		if err != nil {
			r.lastErr = "after a route replace: " + err.Error()
		}
	}
}

// replaceOnce does one replace; with yields it lets go of mu every
// replaceChunk entries and gives up with errStale (everything taken back)
// if the interfaces changed meanwhile. Caller holds mu.
func (r *Router) replaceOnce(ps []netip.Prefix, gw func(i int) netip.Addr, yields bool) (added, changed, removed int, err error) {
	gen := r.ifaceGen
	n := 0
	pause := func() bool { // true: stale
		if n++; !yields || n%replaceChunk != 0 {
			return false
		}
		return r.yield(gen)
	}

	// 1. Check every entry and resolve it to its gateway (an index into
	// gws, with the fresh bit) or the blackhole, changing nothing. A full
	// table has few gateways: they are resolved once (byGW) and looked up
	// through a small direct-mapped cache in front. Adjacencies come in
	// step 2, under the lock throughout: one found here could be freed
	// while the lock is let go of.
	target := make([]uint16, len(ps))
	byGW := make(map[uint32]uint16)
	var cache [64]struct {
		gw  uint32
		a   uint16
		set bool
	}
	var gws []neigh.Key
	byGW6 := make(map[netip.Addr]uint16)
	ifs := r.ruleIfaces()
	own := rules.NewOwn(ifs)
	for i, p := range ps {
		if pause() {
			return 0, 0, 0, errStale
		}
		if err := routePrefix(p); err != nil {
			return 0, 0, 0, fmt.Errorf("routes[%d] %w", i, err)
		}
		if err := own.Check(p.Masked()); err != nil {
			return 0, 0, 0, fmt.Errorf("routes[%d] %v: %w", i, p, err)
		}
		g := gw(i)
		if !g.IsValid() {
			target[i] = r.drop
			continue
		}
		if err := sameFamily(p, g); err != nil {
			return 0, 0, 0, fmt.Errorf("routes[%d] %w", i, err)
		}
		if g.Is6() {
			a, ok := byGW6[g]
			if !ok {
				ifc, err := rules.NextHop(ifs, g)
				if err != nil {
					return 0, 0, 0, fmt.Errorf("routes[%d] %v: via %w", i, p, err)
				}
				if len(gws) >= fresh {
					return 0, 0, 0, fmt.Errorf("routes[%d] %v: more than %d gateways: the adjacency table cannot hold them", i, p, fresh)
				}
				a = fresh | uint16(len(gws))
				gws = append(gws, neigh.Key{Iface: ifc, Addr: g})
				byGW6[g] = a
			}
			target[i] = a
			continue
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
			if len(gws) >= fresh {
				return 0, 0, 0, fmt.Errorf("routes[%d] %v: more than %d gateways: the adjacency table cannot hold them", i, p, fresh)
			}
			a = fresh | uint16(len(gws))
			gws = append(gws, neigh.Key{Iface: ifc, Addr: g})
			byGW[v] = a
		}
		cache[v&63].gw, cache[v&63].a, cache[v&63].set = v, a, true
		target[i] = a
	}

	// 2. The gateways' adjacencies: a neighbour's, or a new one.
	dirty := r.dirty
	made := make([]uint16, len(gws))
	var newGW []neigh.Key
	for j, k := range gws {
		if a, ok := r.nbrAdj[k]; ok {
			made[j] = a
			continue
		}
		a, err := r.neighborAdj(k)
		if err != nil {
			for _, k := range newGW {
				r.adj.Free(r.nbrAdj[k])
				delete(r.nbrAdj, k)
			}
			r.dirty = dirty || r.dirtyMeanwhile
			return 0, 0, 0, fmt.Errorf("replace routes: gateway %v: %w", k.Addr, err)
		}
		made[j] = a
		newGW = append(newGW, k)
	}
	if len(gws) > 0 {
		for i, a := range target {
			if a&fresh != 0 {
				target[i] = made[a&^fresh]
			}
		}
	}

	// Pin every neighbour adjacency while the FIB changes, so that none is
	// freed when its last route goes (unref), nor when its neighbour is
	// deleted while the lock is let go of, and an undo can point routes
	// back at it. Unpinning frees those left with no route and no
	// neighbour entry, such as a new gateway whose routes were undone.
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
	undo := make([]undoStep, 0, len(ps)/8)
	var undo6 []undoStep6
	var hosts []hostUndo
	var newKeys, gone []routeKey
	var newKeys6, gone6 []netip.Prefix
	fail := func(err error) (int, int, int, error) {
		r.rollback(undo, hosts, newKeys, gone)
		r.rollback6(undo6, newKeys6, gone6)
		unpin()
		r.dirty = dirty || r.dirtyMeanwhile // a change made meanwhile is still to publish
		return 0, 0, 0, err
	}
	r.static.mark++
	if r.static.mark == 0 { // 0 is what add writes: never a replace's mark
		r.static.mark = 1
	}
	mark := r.static.mark
	if r.static.m == nil {
		r.static.m = make(map[routeKey]uint32, len(ps))
	}
	if r.static.m6 == nil {
		r.static.m6 = make(map[netip.Prefix]uint32)
	}
	var ops []int32
	repeats := 0
	for i := len(ps) - 1; i >= 0; i-- {
		if pause() {
			return fail(errStale)
		}
		p := ps[i]
		if p.Addr().Is6() {
			q := p.Masked()
			m, was := r.static.m6[q]
			switch {
			case was && m == mark:
				repeats++
			case !was:
				r.static.m6[q] = mark
				newKeys6 = append(newKeys6, q)
				ops = append(ops, int32(i))
				added++
			default:
				r.static.m6[q] = mark
				if cur, ok := r.rget(q); !ok || cur != target[i] {
					ops = append(ops, int32(i))
					changed++
				}
			}
			continue
		}
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
			if cur, ok := r.rget(p); !ok || cur != target[i] {
				ops = append(ops, int32(i))
				changed++
			}
		}
	}
	// The set holds unlisted prefixes only if it is larger than the number
	// of distinct prefixes listed: skip the pass when it is not.
	if len(r.static.m)+len(r.static.m6) > len(ps)-repeats {
		for k, m := range r.static.m { // a pass over the full table: it pauses too
			if pause() {
				return fail(errStale)
			}
			if m != mark {
				gone = append(gone, k)
			}
		}
		for p, m := range r.static.m6 {
			if pause() {
				return fail(errStale)
			}
			if m != mark {
				gone6 = append(gone6, p)
			}
		}
	}

	// 4. Apply: removals first, since they free tbl8 groups the additions
	// may need.
	for _, k := range gone {
		if pause() {
			return fail(errStale)
		}
		old, had, err := r.unconfigure(k.prefix(), &hosts)
		if err != nil {
			return fail(err)
		}
		undo = append(undo, undoStep{k, old, had})
		delete(r.static.m, k)
	}
	for _, p := range gone6 {
		if pause() {
			return fail(errStale)
		}
		old, had, err := r.unconfigure(p, &hosts)
		if err != nil {
			return fail(err)
		}
		undo6 = append(undo6, undoStep6{p, old, had})
		delete(r.static.m6, p)
	}
	for j := len(ops) - 1; j >= 0; j-- { // in the order of ps
		if pause() {
			return fail(errStale)
		}
		i := int(ops[j])
		p := ps[i].Masked()
		old, had := r.rget(p)
		if err := r.setRoute(p, target[i]); err != nil {
			return fail(fmt.Errorf("routes[%d]: %w", i, err))
		}
		if p.Addr().Is6() {
			undo6 = append(undo6, undoStep6{p, old, had})
		} else {
			undo = append(undo, undoStep{keyOf(p), old, had})
		}
	}
	removed = len(gone) + len(gone6)
	unpin()

	if len(undo) > 0 || len(undo6) > 0 || len(newGW) > 0 {
		r.dirty = true
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
		cur, ok := r.rget(p)
		switch {
		case u.had && (!ok || cur != u.old):
			_ = r.setRoute(p, u.old)
		case !u.had && ok:
			_ = r.rdel(p)
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

// unconfigure takes the configured route to p (masked) out of the FIB for
// a replace: the prefix goes back to the router's own route to it, if it
// has one (recorded in hosts if it is a neighbour's host route), else it
// is deleted. It returns what p's next hop was (old, had) for the undo.
// Caller holds mu.
func (r *Router) unconfigure(p netip.Prefix, hosts *[]hostUndo) (old uint16, had bool, err error) {
	old, had = r.rget(p)
	if own, nk, isHost, ok := r.ownRoute(p); ok {
		if !had || old != own {
			if err := r.setRoute(p, own); err != nil {
				return old, had, fmt.Errorf("replace routes: restore %w", err)
			}
		}
		if isHost {
			*hosts = append(*hosts, hostUndo{nk, r.host[nk]})
			r.host[nk] = true
		}
	} else if had {
		if err := r.rdel(p); err != nil {
			return old, had, fmt.Errorf("replace routes: remove %v: %w", p, err)
		}
		r.unref(old)
	}
	return old, had, nil
}

// rollback6 is rollback for the IPv6 routes: the FIB changes in undo
// (newest first) and the configured set's additions and removals.
func (r *Router) rollback6(undo []undoStep6, newKeys, gone []netip.Prefix) {
	for i := len(undo) - 1; i >= 0; i-- {
		u := undo[i]
		cur, ok := r.rget(u.p)
		switch {
		case u.had && (!ok || cur != u.old):
			_ = r.setRoute(u.p, u.old)
		case !u.had && ok:
			_ = r.rdel(u.p)
			r.unref(cur)
		}
	}
	for _, p := range newKeys {
		delete(r.static.m6, p)
	}
	for _, p := range gone {
		r.static.m6[p] = 0
	}
}

// routePrefix checks that p can be a route: a valid IPv4 or IPv6 prefix
// (not IPv4-mapped, no zone).
func routePrefix(p netip.Prefix) error {
	if !p.IsValid() || p.Addr().Is4In6() || p.Addr().Zone() != "" {
		return fmt.Errorf("%v: not a route prefix: write an IPv4 prefix (A.B.C.D/N) or an IPv6 one (2001:db8::/32)", p)
	}
	return nil
}

// sameFamily checks that gateway g is of p's address family.
func sameFamily(p netip.Prefix, g netip.Addr) error {
	if g.Is4() != p.Addr().Is4() {
		return fmt.Errorf("%v: next hop %v is of the other address family: an IPv4 route needs an IPv4 next hop, an IPv6 route an IPv6 one", p, g)
	}
	return nil
}

// ownRoute returns the adjacency of the router's own route to exactly p,
// if it has one: an interface address (local), a connected subnet
// (glean), a subnet's network or broadcast address (broadcast), or a
// neighbour's host route. Where several match, the one AddInterface
// installs last wins, as it does there.
func (r *Router) ownRoute(p netip.Prefix) (a uint16, nk neigh.Key, isHost, ok bool) {
	if p.Addr().Is6() {
		return r.ownRoute6(p)
	}
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

// ownRoute6 is ownRoute for an IPv6 prefix: an interface address's /128
// (local), its subnet (glean) or a neighbour's /128 host route.
func (r *Router) ownRoute6(p netip.Prefix) (a uint16, nk neigh.Key, isHost, ok bool) {
	for i, ifc := range r.ifaces {
		for _, ad := range ifc.Addrs {
			if ad.Is4() {
				continue
			}
			q := ad.Prefix()
			if p.Bits() == 128 && p.Addr() == q.Addr() {
				a, ok = r.local, true
			}
			if q.Bits() < 128 && p == q.Masked() {
				a, ok = r.glean[i], true
			}
		}
	}
	if ok || p.Bits() != 128 {
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
	for p := range r.static.m6 {
		r.static.m6[p] = r.static.mark
	}
}

// RuntimeRoutes returns the configured routes added by AddRoute or
// AddRoutes since the last MarkConfigured, ReplaceRoutes or Reconfigure:
// with softnet run, the routes added through the API, which a reload of a
// config without them removes.
//
// It looks at every configured route (the full table with softnet run's
// reload) and lets go of the router's lock every replaceChunk of them,
// so that API calls do not wait for the pass.
func (r *Router) RuntimeRoutes() []netip.Prefix {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []netip.Prefix
	n := 0
	for k, m := range r.static.m {
		if m == 0 {
			out = append(out, k.prefix())
		}
		if n++; n%replaceChunk == 0 {
			r.letGo()
		}
	}
	for p, m := range r.static.m6 { // few: no pause
		if m == 0 {
			out = append(out, p)
		}
	}
	return out
}
