package control

import (
	"fmt"
	"net/netip"
	"slices"
	"time"

	"github.com/softnet/softnet/dp"
	"github.com/softnet/softnet/hdr"
	"github.com/softnet/softnet/internal/rules"
	"github.com/softnet/softnet/neigh"
)

// AddNeighbor adds a static neighbour.
func (r *Router) AddNeighbor(iface int, a netip.Addr, mac [6]byte) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := r.addNeighbor(iface, a, mac); err != nil {
		return err
	}
	r.logOp(routeOp{kind: opNeighbor, iface: iface, gw: a, mac: mac, add: true}) // a reload let go of the lock: done again after it
	return nil
}

func (r *Router) addNeighbor(iface int, a netip.Addr, mac [6]byte) error {
	if iface < 0 || iface >= len(r.ifaces) {
		return fmt.Errorf("neighbor %v: no interface %d", a, iface)
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
// it; static neighbours (config, `neighbor add`) and kernel ones
// (linux_cp: the kernel flushes its own and says so) stay. Packets waiting
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
		if e.State == neigh.Static || e.State == neigh.Kernel { // the kernel flushes its own and says so
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
	a, err := r.adj.Alloc(dp.Adj{})
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
	p := netip.PrefixFrom(k.Addr, k.Addr.BitLen()) // /32 or /128
	cur, ok := r.rget(p)
	if r.static.has(p) || r.kernInstalled(p) {
		r.host[k] = true // DeleteRoute (a kernel route's delete) gives the prefix back to the neighbour
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
	adj := dp.Adj{Kind: dp.AdjIncomplete, Iface: uint16(k.Iface), MTU: uint16(ifc.MTU), Addr: k.Addr.As16(),
		TagLen: ifc.TagLen}
	if e := r.neigh.Get(k); e != nil {
		switch e.State {
		case neigh.Reachable, neigh.Stale, neigh.Static, neigh.Delay, neigh.Probing, neigh.Kernel:
			adj.Kind = dp.AdjForward
			adj.SetL2(e.MAC, ifc.MAC, ifc.TagBytes(), etherType(k.Addr))
		case neigh.Failed:
			adj.Kind = dp.AdjUnreachable
		}
	}
	if r.adj.Set(a, adj) {
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
	p := netip.PrefixFrom(k.Addr, k.Addr.BitLen())
	if r.static.has(p) {
		return false
	}
	cur, ok := r.rget(p)
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
			_ = r.rdel(netip.PrefixFrom(k.Addr, k.Addr.BitLen()))
			r.adj.Unref(a)
		}
	}
	if r.adj.Refs(a) <= 0 {
		delete(r.nbrAdj, k)
		r.adj.Free(a)
	} else {
		r.refreshAdj(k)
	}
	r.dirty = true
}

// handleAge carries out one of the neighbour table's ageing actions (see
// neigh.Age): an ARP request or probe, a failure, a removal.
func (r *Router) handleAge(act neigh.Action) {
	k := act.Entry.Key
	switch act.Kind {
	case neigh.Request:
		r.solicit(nil, k, nil)
	case neigh.Probe:
		mac := act.Entry.MAC
		r.solicit(nil, k, &mac)
	case neigh.Fail:
		// The adjacency becomes unreachable; the packets that waited go
		// back through ip4-lookup, which answers each with ICMP host
		// unreachable (RFC 1812 §5.2.7.1), as Linux does (IPv6: through
		// ip6-lookup, Destination Unreachable code 3, RFC 4861 §7.2.2).
		r.refreshAdj(k)
		r.requeue(k, act.Dropped)
	case neigh.Remove:
		r.removeNeighbor(k)
	}
}

// handleResolve queues a packet ip4-arp punted to wait for its next hop
// (m.Addr on m.Iface), creating the neighbour and asking for an ARP
// request when it is new. Caller holds mu.
func (r *Router) handleResolve(w *dp.Worker, m *dp.Msg, now time.Time) {
	k := neigh.Key{Iface: int(m.Iface), Addr: m.IP()}
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
		r.solicit(w, k, nil)
	}
	if !queued {
		switch e.State {
		case neigh.Reachable, neigh.Stale, neigh.Static, neigh.Delay, neigh.Probing, neigh.Kernel:
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

// etherType is the EtherType of the packets an adjacency to a neighbour
// at a carries: its rewrite ends with it (ip4-rewrite copies it as is).
func etherType(a netip.Addr) uint16 {
	if a.Is4() {
		return hdr.EtherTypeIPv4
	}
	return hdr.EtherTypeIPv6
}
