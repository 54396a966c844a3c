package control

import (
	"fmt"
	"net/netip"
	"slices"

	"github.com/softnet/softnet/dp"
	"github.com/softnet/softnet/hdr"
	"github.com/softnet/softnet/internal/rules"
	"github.com/softnet/softnet/pkt"
)

// IfaceConfig describes one interface.
type IfaceConfig struct {
	Name string
	MAC  [6]byte
	MTU  int // IPv4 MTU; default 1500
	// Addrs are the interface's addresses with their subnet lengths:
	// IPv4 and IPv6 (see rules.Family). The first
	// of each family is the source of that family's ICMP errors.
	Addrs []netip.Prefix
	Down  bool // administratively down
	// RA: send Router Advertisements on the interface (RFC 4861 §6.2,
	// control/nd.go): periodically and in answer to Router
	// Solicitations, with its IPv6 subnets as prefixes. Off by default.
	RA bool

	// A VLAN sub-interface names its Parent, a port interface added
	// before it, and carries the 802.1Q tag VLAN (1..4094); for QinQ
	// (802.1ad) also the outer tag OuterVLAN with TPID (default 0x88A8;
	// 0x8100 and 0x9100 are allowed). It has its parent's MAC (MAC must
	// be zero or equal to it) and by default its parent's MTU minus the
	// tag bytes, which is also its maximum. See AddInterface.
	Parent    string
	VLAN      int
	OuterVLAN int
	TPID      uint16
}

// AddInterface adds an interface and returns its index. It installs a
// local /32 for each address, the connected subnet (glean), and its
// broadcast addresses.
//
// Port interfaces come first, in the order of their ports: a port
// interface's index is its port's. A VLAN sub-interface (c.Parent set) can
// be added at any time, also while workers run: its VLAN table entry and
// routes are in the next published snapshot (Publish, or the service
// loop), and the workers grow their counters when they load it.
func (r *Router) AddInterface(c IfaceConfig) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.addInterface(c)
}

// addInterface is AddInterface. Caller holds mu.
func (r *Router) addInterface(c IfaceConfig) (int, error) {
	var vlan dp.Iface
	if c.Parent != "" || c.VLAN != 0 || c.OuterVLAN != 0 || c.TPID != 0 {
		var err error
		if vlan, err = r.checkVLAN(&c); err != nil {
			return 0, err
		}
	}
	if c.MTU == 0 {
		c.MTU = 1500
	}
	if c.MTU < 68 || c.MTU > pkt.MaxFrame-hdr.EthernetLen-8 {
		return 0, fmt.Errorf("interface %s: MTU %d out of range: use 68..%d", c.Name, c.MTU, pkt.MaxFrame-hdr.EthernetLen-8)
	}
	if c.MAC[0]&1 != 0 || c.MAC == [6]byte{} {
		return 0, fmt.Errorf("interface %s: MAC %x is not a unicast address", c.Name, c.MAC)
	}
	idx, at := len(r.ifaces), -1
	if vlan.TagLen != 0 {
		if i, j := r.reusable(); i >= 0 {
			idx, at = i, j // a deleted VLAN's index (see freedIface)
		} else if idx >= dp.MaxIfaces {
			return 0, fmt.Errorf("interface %s: too many interfaces (%d): the indices of %d deleted VLAN(s) are reused once every worker has moved past their deletion: retry in a moment", c.Name, idx, len(r.freed))
		}
	}
	if slices.ContainsFunc(r.ifaces, func(f dp.Iface) bool { return f.Name == c.Name }) {
		return 0, fmt.Errorf("interface %s: the name is taken: choose another", c.Name)
	}
	ifc := vlan
	ifc.Name, ifc.MAC, ifc.MTU, ifc.Up, ifc.RA = c.Name, c.MAC, c.MTU, !c.Down, c.RA
	if err := r.checkAddrs(c.Name, c.Addrs); err != nil {
		return 0, err
	}
	if err := r.checkOwnFree(c.Name, c.Addrs); err != nil {
		return 0, err
	}
	ifc.SetAddrs(c.Addrs)
	glean, err := r.adj.Alloc(dp.Adj{Kind: dp.AdjGlean, Iface: uint16(idx), MTU: uint16(c.MTU)})
	if err != nil {
		return 0, fmt.Errorf("interface %s: %w", c.Name, err)
	}
	bcast, err := r.adj.Alloc(dp.Adj{Kind: dp.AdjBroadcast, Iface: uint16(idx)})
	if err != nil {
		r.adj.Free(glean)
		return 0, fmt.Errorf("interface %s: %w", c.Name, err)
	}
	var prev dp.Iface
	var prevAdmin, prevLink bool
	if at >= 0 {
		prev, prevAdmin, prevLink = r.ifaces[idx], r.admin[idx], r.link[idx]
		r.ifaces[idx], r.admin[idx], r.link[idx], r.glean[idx], r.bcast[idx] = ifc, !c.Down, true, glean, bcast
	} else {
		r.ifaces = append(r.ifaces, ifc)
		r.admin = append(r.admin, !c.Down)
		r.link = append(r.link, true)
		r.glean = append(r.glean, glean)
		r.bcast = append(r.bcast, bcast)
	}
	// Install the interface's routes; on failure take back what was
	// installed, so nothing is half-applied.
	type undo struct {
		p      netip.Prefix
		old    uint16
		hadOld bool
	}
	var done []undo
	add := func(p netip.Prefix, a uint16) error {
		old, had := r.rget(p)
		if err := r.setRoute(p, a); err != nil {
			return fmt.Errorf("interface %s: %w", c.Name, err)
		}
		done = append(done, undo{p, old, had})
		return nil
	}
	for _, p := range c.Addrs {
		// An IPv6 address: its /128 is local, its subnet connected
		// (glean: hosts on it are resolved by Neighbor Discovery); no
		// broadcast.
		err := add(netip.PrefixFrom(p.Addr(), p.Addr().BitLen()), r.local)
		if err == nil && p.Bits() < p.Addr().BitLen() {
			err = add(p.Masked(), glean)
		}
		if err == nil && p.Addr().Is4() && p.Bits() <= 30 { // RFC 3021: a /31 has no broadcast address
			net := u32(p.Masked().Addr())
			for _, a := range []uint32{net, net | ^hdr.IPv4Mask(p.Bits())} {
				if err = add(netip.PrefixFrom(hdr.IPv4Addr(a), 32), bcast); err != nil {
					break
				}
			}
		}
		if err != nil {
			for i := len(done) - 1; i >= 0; i-- {
				u := done[i]
				cur, _ := r.rget(u.p)
				if u.hadOld {
					_ = r.setRoute(u.p, u.old)
				} else {
					_ = r.rdel(u.p)
					r.adj.Unref(cur)
				}
			}
			if at >= 0 {
				r.ifaces[idx], r.admin[idx], r.link[idx], r.glean[idx], r.bcast[idx] = prev, prevAdmin, prevLink, 0, 0
			} else {
				r.ifaces, r.glean, r.bcast = r.ifaces[:idx], r.glean[:idx], r.bcast[:idx]
				r.admin, r.link = r.admin[:idx], r.link[:idx]
			}
			r.adj.Free(glean)
			r.adj.Free(bcast)
			return 0, err
		}
	}
	if ifc.TagLen != 0 {
		r.setVLANEntry(idx)
	}
	if at >= 0 {
		r.freed = slices.Delete(r.freed, at, at+1)
	}
	r.ifaceGen++ // a replace that let go of the lock checked against the old ones
	r.dirty = true
	return idx, nil
}

// SetInterfaceUp sets an interface's administrative state.
func (r *Router) SetInterfaceUp(idx int, up bool) error { return r.setState(false, idx, up) }

// SetLinkUp records an interface's link (operational) state, as its port
// reports it: a device that went down or disappeared. The data plane sees
// the interface up only when it is administratively up and its link is up;
// meanwhile frames to and from it are dropped as iface-down.
func (r *Router) SetLinkUp(idx int, up bool) error { return r.setState(true, idx, up) }

// LinkUp reports interface idx's link state as last set by SetLinkUp
// (true until then): what the data plane acts on once published.
func (r *Router) LinkUp(idx int) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return idx >= 0 && idx < len(r.link) && r.link[idx]
}

// SetInterfaceMTU changes an interface's IPv4 MTU (the device's changed):
// its adjacencies take it in the next snapshot, so larger packets are
// fragmented, or answered with "fragmentation needed" when DF is set.
func (r *Router) SetInterfaceMTU(idx, mtu int) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := r.setInterfaceMTU(idx, mtu); err != nil {
		return err
	}
	r.logOp(routeOp{kind: opMTU, iface: idx, mtu: mtu}) // a reload let go of the lock: done again after it
	return nil
}

func (r *Router) setInterfaceMTU(idx, mtu int) error {
	if idx < 0 || idx >= len(r.ifaces) {
		return fmt.Errorf("no interface %d", idx)
	}
	if mtu < 68 || mtu > pkt.MaxFrame-hdr.EthernetLen-8 {
		return fmt.Errorf("interface %s: MTU %d out of range: use 68..%d", r.ifaces[idx].Name, mtu, pkt.MaxFrame-hdr.EthernetLen-8)
	}
	if ifc := &r.ifaces[idx]; ifc.TagLen != 0 {
		if limit := r.ifaces[ifc.Parent].MTU - int(ifc.TagLen); mtu > limit {
			return fmt.Errorf("interface %s: MTU %d is above its parent %s's MTU minus its %d tag bytes (%d): lower it, or raise the parent's", ifc.Name, mtu, r.ifaces[ifc.Parent].Name, ifc.TagLen, limit)
		}
	}
	if b := r.bviOf(idx); b != nil {
		if limit, of := r.memberMTU(b); mtu > limit {
			return fmt.Errorf("interface %s: MTU %d is above bridge %s's smallest member MTU (%s's, %d), which the routed interface's packets leave through: lower it, or raise the members'", r.ifaces[idx].Name, mtu, b.Name, of, limit)
		}
	}
	r.setMTU(idx, mtu)
	// A lowered port MTU lowers its sub-interfaces' with it: their tagged
	// frames must still fit the port.
	for i := range r.ifaces {
		if ifc := &r.ifaces[i]; ifc.TagLen != 0 && int(ifc.Parent) == idx && ifc.MTU > mtu-int(ifc.TagLen) {
			r.setMTU(i, mtu-int(ifc.TagLen))
		}
	}
	r.capBVIs() // a lowered member MTU lowers its bridge's routed interface's
	return nil
}

// setMTU sets interface idx's MTU and its adjacencies'. Caller holds mu.
func (r *Router) setMTU(idx, mtu int) {
	if r.ifaces[idx].MTU == mtu {
		return
	}
	r.ifaces[idx].MTU = mtu
	r.adj.SetMTU(idx, mtu)
	r.dirty = true
}

// setState sets an interface's link or administrative state.
func (r *Router) setState(link bool, idx int, up bool) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if idx < 0 || idx >= len(r.ifaces) {
		return fmt.Errorf("no interface %d", idx)
	}
	// Parking or unparking the routes through it lets go of the lock
	// midway (park), also in a pause of a replace: each side moves a
	// route only after looking where it is now (rget, radd), and the
	// replace publishes what changed in its pauses (yield).
	if link {
		r.link[idx] = up
		r.setUpYield(idx, true)
		return nil
	}
	r.logOp(routeOp{kind: opAdmin, iface: idx, add: up}) // a reload let go of the lock: done again after it
	r.admin[idx] = up
	r.setUpYield(idx, true)
	return nil
}

// setAdmin sets interface idx's administrative state. Caller holds mu.
func (r *Router) setAdmin(idx int, up bool) error {
	if idx < 0 || idx >= len(r.ifaces) {
		return fmt.Errorf("no interface %d", idx)
	}
	r.admin[idx] = up
	r.setUp(idx)
	return nil
}

func (r *Router) setUp(idx int) { r.setUpYield(idx, false) }

// setUpYield is setUp; with yields, moving the routes through the
// interface lets go of mu midway (park). Caller holds mu.
func (r *Router) setUpYield(idx int, yields bool) {
	if up := r.admin[idx] && r.link[idx]; up != r.ifaces[idx].Up {
		r.ifaces[idx].Up = up
		if up {
			if r.ifaces[idx].RA {
				r.raSoon(r.o.Now())
			}
			r.unpark(yields)
		} else {
			r.ifaces[idx].Downs++ // a bridge forgets the MACs learned on it
			r.park(idx, yields)
		}
		if r.ifaces[idx].TagLen != 0 {
			r.setVLANEntry(idx) // the entry carries dp.VLANDown
		}
		r.dirty = true
	}
}

// SetFeatures sets the feature nodes interface idx's packets run through
// (dp.Iface.Features: registered feature node names, in order per arc;
// none to disable them all). The change reaches the workers with the next
// publish (Publish, or Service): one snapshot.
func (r *Router) SetFeatures(idx int, features []string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if idx < 0 || idx >= len(r.ifaces) {
		return fmt.Errorf("no interface %d", idx)
	}
	ifc := dp.Iface{Name: r.ifaces[idx].Name, TagLen: r.ifaces[idx].TagLen, Features: slices.Clone(features)}
	if err := dp.CheckFeatures(&ifc); err != nil {
		return err
	}
	r.ifaces[idx].Features = ifc.Features // a new slice: published ones are never modified
	r.dirty = true
	return nil
}

// InterfaceMTU is interface idx's IPv4 MTU now (0 for no such interface).
func (r *Router) InterfaceMTU(idx int) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	if idx < 0 || idx >= len(r.ifaces) {
		return 0
	}
	return r.ifaces[idx].MTU
}

// Interfaces returns a copy of the interfaces.
func (r *Router) Interfaces() []dp.Iface {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := slices.Clone(r.ifaces)
	for i := range out {
		out[i].Addrs = slices.Clone(out[i].Addrs)
	}
	return out
}

// checkAddrs refuses addresses a new interface cannot have, as the
// config's validation does: a subnet's network or broadcast address, and a
// subnet that overlaps another interface's (or another of its own): its
// connected route would take over the other's. Caller holds mu.
func (r *Router) checkAddrs(name string, addrs []netip.Prefix) error {
	var seen []netip.Prefix
	for i := range r.ifaces {
		if r.ifaces[i].Deleted {
			continue
		}
		for _, a := range r.ifaces[i].Addrs {
			seen = append(seen, ifacePrefix(a))
		}
	}
	for _, p := range addrs {
		if !p.IsValid() {
			return fmt.Errorf("interface %s: no address: give one with its prefix length, e.g. 192.0.2.1/24", name)
		}
		if err := rules.Family(p.Addr()); err != nil {
			return fmt.Errorf("interface %s: address %w", name, err)
		}
		if p.Addr().Is4() && p.Bits() < 31 {
			m := p.Masked()
			if p.Addr() == m.Addr() {
				return fmt.Errorf("interface %s: %v is the subnet's network address: an interface address needs a host part, e.g. %v", name, p, netip.PrefixFrom(m.Addr().Next(), p.Bits()))
			}
			if p.Addr() == hdr.IPv4Addr(u32(m.Addr())|^hdr.IPv4Mask(p.Bits())) {
				return fmt.Errorf("interface %s: %v is the subnet's broadcast address: use a host address, e.g. %v", name, p, netip.PrefixFrom(m.Addr().Next(), p.Bits()))
			}
		}
		for _, q := range seen {
			if p.Masked().Overlaps(q.Masked()) {
				return fmt.Errorf("interface %s: %v overlaps %v, already on the router: each interface needs its own subnet", name, p, q)
			}
		}
		seen = append(seen, p)
	}
	return nil
}

// ifacePrefix is an interface address as control handles it: a
// netip.Prefix, IPv4 or IPv6.
func ifacePrefix(a dp.IfaceAddr) netip.Prefix { return a.Prefix() }
