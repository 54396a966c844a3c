package control

import (
	"fmt"

	"github.com/softnet/softnet/dp"
	"github.com/softnet/softnet/hdr"
)

// checkVLAN validates a VLAN sub-interface's config against the router's
// interfaces and fills in its defaults (MAC, MTU, TPID). It returns the
// dp.Iface with the VLAN fields set. Caller holds mu.
func (r *Router) checkVLAN(c *IfaceConfig) (dp.Iface, error) {
	var ifc dp.Iface
	fail := func(format string, args ...any) (dp.Iface, error) {
		return dp.Iface{}, fmt.Errorf("interface %s: "+format, append([]any{c.Name}, args...)...)
	}
	if c.Parent == "" {
		return fail("a VLAN needs a parent interface (the port it is on)")
	}
	p := r.index(c.Parent)
	switch {
	case p < 0:
		return fail("no parent interface %q: add the port's interface first", c.Parent)
	case r.ifaces[p].TagLen != 0:
		return fail("parent %s is itself a VLAN sub-interface: VLANs nest no deeper than QinQ; give the port as parent with outer VLAN %d", c.Parent, r.ifaces[p].VLAN)
	case c.VLAN < 1 || c.VLAN > dp.MaxVLAN:
		return fail("VLAN %d out of range: use 1..%d (0 is a priority tag, 4095 is reserved)", c.VLAN, dp.MaxVLAN)
	case c.OuterVLAN < 0 || c.OuterVLAN > dp.MaxVLAN:
		return fail("outer VLAN %d out of range: use 1..%d", c.OuterVLAN, dp.MaxVLAN)
	case c.TPID != 0 && c.OuterVLAN == 0:
		return fail("a TPID is for the outer tag of QinQ: set an outer VLAN or remove the TPID (a single tag is always 0x8100)")
	case c.TPID != 0 && c.TPID != hdr.EtherTypeQinQ && c.TPID != hdr.EtherTypeVLAN && c.TPID != dp.TPID9100:
		return fail("outer TPID %#04x: use 0x88a8 (802.1ad), 0x8100 or 0x9100", c.TPID)
	case len(r.ifaces) >= dp.MaxIfaces && len(r.freed) == 0:
		return fail("too many interfaces (%d): a VLAN table entry holds indices below %d", len(r.ifaces), dp.MaxIfaces)
	}
	par := &r.ifaces[p]
	if c.MAC == [6]byte{} {
		c.MAC = par.MAC
	} else if c.MAC != par.MAC {
		return fail("MAC %x differs from parent %s's (%x): a VLAN receives on its parent's MAC; leave it unset", c.MAC, par.Name, par.MAC)
	}
	ifc.Parent, ifc.VLAN, ifc.OuterVLAN, ifc.TPID = uint16(p), uint16(c.VLAN), uint16(c.OuterVLAN), c.TPID
	if c.OuterVLAN != 0 && ifc.TPID == 0 {
		ifc.TPID = hdr.EtherTypeQinQ
	}
	ifc.SetTags()
	limit := par.MTU - int(ifc.TagLen)
	if c.MTU == 0 {
		c.MTU = limit
	} else if c.MTU > limit {
		return fail("MTU %d is above parent %s's MTU %d minus %d tag bytes: use at most %d, or raise the parent's", c.MTU, par.Name, par.MTU, ifc.TagLen, limit)
	}
	for i := range r.ifaces {
		o := &r.ifaces[i]
		if o.TagLen == 0 || int(o.Parent) != p || o.Deleted {
			continue
		}
		switch {
		case o.VLAN == ifc.VLAN && o.OuterVLAN == ifc.OuterVLAN:
			return fail("%s already has %s on parent %s: one sub-interface per tag", o.Name, describeTags(o), par.Name)
		case ifc.OuterVLAN != 0 && o.OuterVLAN == ifc.OuterVLAN && o.TPID != ifc.TPID:
			return fail("outer VLAN %d on %s has TPID %#04x (%s), not %#04x: one TPID per outer tag", ifc.OuterVLAN, par.Name, o.TPID, o.Name, ifc.TPID)
		case ifc.OuterVLAN != 0 && ifc.TPID == hdr.EtherTypeVLAN && o.OuterVLAN == 0 && o.VLAN == ifc.OuterVLAN,
			o.OuterVLAN != 0 && o.TPID == hdr.EtherTypeVLAN && ifc.OuterVLAN == 0 && ifc.VLAN == o.OuterVLAN:
			return fail("tag 0x8100 VLAN %d on %s would be both the single tag of one sub-interface and the outer tag of another (%s): use TPID 0x88a8 for the outer tag", max(ifc.OuterVLAN, o.OuterVLAN), par.Name, o.Name)
		}
	}
	return ifc, nil
}

func describeTags(ifc *dp.Iface) string {
	if ifc.OuterVLAN == 0 {
		return fmt.Sprintf("VLAN %d", ifc.VLAN)
	}
	return fmt.Sprintf("outer VLAN %d (TPID %#04x) inner VLAN %d", ifc.OuterVLAN, ifc.TPID, ifc.VLAN)
}

// index returns the index of the interface named name, or -1. Caller
// holds mu.
func (r *Router) index(name string) int {
	if name == "" {
		return -1 // deleted interfaces have no name
	}
	for i := range r.ifaces {
		if r.ifaces[i].Name == name && !r.ifaces[i].Deleted {
			return i
		}
	}
	return -1
}

// InterfaceIndex returns the index of the interface named name, or -1.
func (r *Router) InterfaceIndex(name string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.index(name)
}

// setVLANEntry writes sub-interface idx's entry (or, for a deleted one,
// clears it) (its index, with
// dp.VLANDown while it is down) into its parent's VLAN table. Published
// tables are immutable, so it copies the table (8 KiB), and for QinQ the
// outer-tag index (32 KiB) and the one inner table it changes; the others
// are shared with the previous snapshot. Caller holds mu.
func (r *Router) setVLANEntry(idx int) {
	ifc := &r.ifaces[idx]
	e := uint16(idx)
	if !ifc.Up {
		e |= dp.VLANDown
	}
	if ifc.Bridge != 0 {
		e |= dp.VLANBridged
	}
	if ifc.Deleted {
		e = 0
	}
	p := int(ifc.Parent)
	for len(r.vlans) <= p {
		r.vlans = append(r.vlans, nil)
	}
	t := new(dp.VLANTable)
	if old := r.vlans[p]; old != nil {
		*t = *old
	}
	if ifc.OuterVLAN == 0 {
		t.Dot1Q[ifc.VLAN] = e
	} else {
		q := new([4096]*dp.OuterTable)
		if t.QinQ != nil {
			*q = *t.QinQ
		}
		o := &dp.OuterTable{TPID: ifc.TPID}
		if old := q[ifc.OuterVLAN]; old != nil {
			*o = *old
		}
		o.Inner[ifc.VLAN] = e
		if e != 0 {
			o.TPID = ifc.TPID // a re-added outer tag may come with another TPID
		}
		if o.Inner == ([4096]uint16{}) {
			o = nil // the last sub-interface on this outer tag is gone
		}
		q[ifc.OuterVLAN] = o
		t.QinQ = q
	}
	r.vlans[p] = t
}

// VLANInfo is one VLAN sub-interface as `softnet show vlans` lists it.
type VLANInfo struct {
	Index     int
	Name      string
	Parent    string
	VLAN      int
	OuterVLAN int    // 0: a single 802.1Q tag
	TPID      uint16 // outer TPID (QinQ); 0 for a single tag
	MTU       int
	Up        bool
	Addrs     []dp.IfaceAddr
	// Counted by the workers (summed on read).
	RxPackets, RxBytes, TxPackets, TxBytes uint64
}

// VLANs lists the VLAN sub-interfaces with their counters, in index order.
func (r *Router) VLANs() []VLANInfo {
	r.mu.Lock()
	ws := r.workers
	out := r.vlanList()
	r.mu.Unlock()
	c := dp.Sum(ws)
	for j := range out {
		i := out[j].Index
		if i < len(c.RxPackets) {
			out[j].RxPackets, out[j].RxBytes = c.RxPackets[i], c.RxBytes[i]
			out[j].TxPackets, out[j].TxBytes = c.TxPackets[i], c.TxBytes[i]
		}
	}
	return out
}

// vlanList is the VLAN sub-interfaces not deleted, in index order, without
// their counters. Caller holds mu.
func (r *Router) vlanList() []VLANInfo {
	var out []VLANInfo
	for i := range r.ifaces {
		ifc := &r.ifaces[i]
		if ifc.TagLen == 0 || ifc.Deleted {
			continue
		}
		v := VLANInfo{Index: i, Name: ifc.Name, Parent: r.ifaces[ifc.Parent].Name, VLAN: int(ifc.VLAN),
			OuterVLAN: int(ifc.OuterVLAN), MTU: ifc.MTU, Up: ifc.Up, Addrs: append([]dp.IfaceAddr(nil), ifc.Addrs...)}
		if ifc.OuterVLAN != 0 {
			v.TPID = ifc.TPID
		}
		out = append(out, v)
	}
	return out
}

// DeleteVLAN deletes the VLAN sub-interface name at run time, in one
// published snapshot: its VLAN table entry goes (its tags then count as
// ethernet-input/vlan-unknown), and with it its addresses, their connected
// and local routes, and its neighbours. It is refused, changing nothing,
// if name is not a VLAN sub-interface, is a bridge member, or carries
// routes other than its own (a configured route through one of its
// neighbours: delete the route first). It costs what is on the VLAN, not
// the table: taking it down skips the pass over the configured routes,
// none of which goes through it (routesThrough). The name and the tags
// are free again at once, the index once every worker has polled past
// the delete (see freedIface).
func (r *Router) DeleteVLAN(name string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	i := r.index(name)
	if i < 0 {
		return fmt.Errorf("vlan %s: no such interface (softnet show vlans lists them)", name)
	}
	ifc := &r.ifaces[i]
	switch {
	case ifc.TagLen == 0:
		return fmt.Errorf("vlan %s: not a VLAN sub-interface: a port's own interface cannot be deleted at run time", name)
	case ifc.Bridge != 0:
		return fmt.Errorf("vlan %s: a member of bridge %s: bridges change with a restart", name, r.bridges[ifc.Bridge-1].Name)
	}
	for k, a := range r.nbrAdj {
		if k.Iface != i {
			continue
		}
		own := 0
		if r.hostInstalled(k) {
			own = 1
		}
		if r.adj.Refs(a) > own {
			return fmt.Errorf("vlan %s: %d route(s) go through its neighbour %v: delete them first (softnet route del PREFIX)", name, r.adj.Refs(a)-own, k.Addr)
		}
	}
	for _, e := range r.neigh.All() {
		if e.Key.Iface == i {
			r.forget(e.Key)
			r.removeNeighbor(e.Key)
		}
	}
	// The kernel's neighbours and addresses of it (linux_cp) go with it:
	// a VLAN given its index later is another interface.
	for k := range r.kneigh {
		if k.Iface == i {
			delete(r.kneigh, k)
		}
	}
	delete(r.kaddrs, i)
	if _, err := r.setIface(i, IfaceState{MTU: ifc.MTU, Down: true}); err != nil {
		return fmt.Errorf("vlan %s: %w", name, err)
	}
	ifc = &r.ifaces[i]
	r.endCaptures(i, ifc.Name)
	ifc.Deleted, ifc.Name, ifc.Addr4, ifc.Addr6 = true, "", 0, [16]byte{}
	if i < len(r.hostIf) {
		r.hostIf[i] = false // a later VLAN given this index has no host interface
	}
	r.setVLANEntry(i)
	r.dirty = true
	r.publish()
	// Its glean and broadcast adjacencies go back to the allocator now:
	// every snapshot carries its own copy of the adjacency table, so a
	// worker still forwarding with an older snapshot reads the old entries
	// there, never a reused one. The index waits (see freedIface).
	for _, a := range []uint16{r.glean[i], r.bcast[i]} {
		if a != 0 && r.adj.Refs(a) == 0 {
			r.adj.Free(a)
		}
	}
	r.glean[i], r.bcast[i] = 0, 0
	f := freedIface{idx: i, polls: make([]uint64, len(r.workers))}
	for j, w := range r.workers {
		f.polls[j] = w.Counters().Polls
	}
	r.freed = append(r.freed, f)
	return nil
}

// freedIface is the index of a VLAN sub-interface deleted at run time,
// waiting to be given to a new interface. An index is reused only once no
// one can still name the deleted interface by it:
//   - the snapshot published by DeleteVLAN no longer names it (no VLAN
//     table entry, no route, no neighbour);
//   - every worker has finished the poll it was in when that snapshot was
//     published, and run a whole poll after it: its in-flight batch and the
//     packets the control plane had injected were run with the new snapshot
//     or the old one, never with one where the index is another interface.
//     polls holds each worker's published poll count at the delete; a
//     worker publishes it at least every 16 polls, so a count 17 above it
//     proves that (a worker that sleeps meanwhile delays the reuse, no more);
//   - its punt ring is empty, so no punt from before the delete (an ARP
//     received on the deleted VLAN) is left to be read as the new one's.
//
// Without attached workers (tests, tools) the index is reusable at once.
// Until then AddInterface takes a new index. The adjacencies need no wait
// (see DeleteVLAN). Counters are per index: a reused index's counters go
// on from the deleted interface's, as counters that only ever grow.
type freedIface struct {
	idx   int
	polls []uint64
}

// reusable returns the first freed index that may be reused now, and its
// place in r.freed; -1 if none. Caller holds mu.
func (r *Router) reusable() (idx, at int) {
	for j, f := range r.freed {
		ok := len(f.polls) == len(r.workers)
		for k, w := range r.workers {
			if !ok {
				break
			}
			ok = w.Counters().Polls >= f.polls[k]+17 && w.Punt().Len() == 0
		}
		if ok {
			return f.idx, j
		}
	}
	return -1, -1
}
