package linuxcp

import (
	"net/netip"
	"slices"

	"github.com/softnet/softnet/control"
	"github.com/softnet/softnet/neigh"
)

// Kernel neighbour states (NUD_*, include/uapi/linux/neighbour.h).
const (
	nudIncomplete = 0x01
	nudReachable  = 0x02
	nudStale      = 0x04
	nudDelay      = 0x08
	nudProbe      = 0x10
	nudFailed     = 0x20
	nudNoARP      = 0x40
	nudPermanent  = 0x80
)

// Neigh is a kernel neighbour (ip neigh), as netlink gives it.
type Neigh struct {
	Link   int // kernel interface index
	Addr   netip.Addr
	MAC    [6]byte
	HasMAC bool   // NDA_LLADDR was there
	State  uint16 // NUD_*
}

// usable reports whether the kernel forwards to n without resolving it:
// a MAC and a state that has one (reachable, stale, delay, probe,
// permanent, noarp). Incomplete and failed ones are not, nor those with
// a MAC that is not a host's (a noarp entry of a broadcast address has
// ff:ff:ff:ff:ff:ff, one of a loopback zeros).
func (n Neigh) usable() bool {
	return n.HasMAC && n.MAC[0]&1 == 0 && n.MAC != [6]byte{} &&
		n.State&(nudReachable|nudStale|nudDelay|nudProbe|nudPermanent|nudNoARP) != 0
}

// NUDName names a kernel neighbour state as ip neigh does (lower case).
func NUDName(s uint16) string {
	switch {
	case s&nudPermanent != 0:
		return "permanent"
	case s&nudNoARP != 0:
		return "noarp"
	case s&nudReachable != 0:
		return "reachable"
	case s&nudStale != 0:
		return "stale"
	case s&nudDelay != 0:
		return "delay"
	case s&nudProbe != 0:
		return "probe"
	case s&nudFailed != 0:
		return "failed"
	case s&nudIncomplete != 0:
		return "incomplete"
	}
	return "none"
}

// Addr is an address of a kernel interface (ip addr), as netlink gives
// it.
type Addr struct {
	Link   int          // kernel interface index
	Prefix netip.Prefix // the address and its subnet length
}

// NeighDumper is a Source that also dumps the kernel's neighbours
// (RTM_GETNEIGH) and addresses (RTM_GETADDR); the mirror's resync asks
// it, after the routes.
type NeighDumper interface {
	DumpNeighbors() ([]Neigh, []Addr, error)
}

// NeighRouter is a Router that also takes the kernel's neighbours and
// addresses: *control.Router.
type NeighRouter interface {
	ApplyKernelNeighbors(set []control.KernelNeighbor, del []neigh.Key) control.KernelResult
	ApplyKernelAddrs(want map[int][]netip.Prefix) control.KernelResult
}

// nkey is a kernel neighbour's identity.
type nkey struct {
	link int
	addr netip.Addr
}

// nstate is the applier's view of the kernel's neighbours and addresses
// (no lock: the applier's goroutine).
type nstate struct {
	neighs map[nkey]Neigh                  // the kernel's
	haveN  map[nkey]control.KernelNeighbor // what softnet was given
	addrs  map[Addr]bool                   // the kernel's
	haveA  map[int][]netip.Prefix          // what softnet was given, by softnet interface
	// This batch's changes.
	touchN     map[nkey]bool
	addrsDirty bool
	// resend: the batch is a resync's, so every usable neighbour is given
	// to softnet again, changed or not: softnet's entry may be gone
	// meanwhile (softnet neighbor del of a kernel entry, or one it refused
	// while its subnet was missing), and setting an unchanged one is a
	// no-op there (nothing published).
	resend bool
}

// mirroredAddr reports whether a is a neighbour or an address the
// mirror follows: not IPv6 link-local, not multicast.
func mirroredAddr(a netip.Addr) bool {
	return a.IsValid() && !a.IsLinkLocalUnicast() && !a.IsMulticast() && !a.IsUnspecified()
}

// noteNeigh records a neighbour or address event of the batch being
// applied (Mirror.apply).
func (m *Mirror) noteNeigh(e Event) {
	n := &m.ns
	switch e.Kind {
	case NeighSet, NeighDel:
		k := nkey{e.Neigh.Link, e.Neigh.Addr}
		if e.Kind == NeighSet && mirroredAddr(e.Neigh.Addr) {
			n.neighs[k] = e.Neigh
		} else {
			delete(n.neighs, k)
		}
		n.touchN[k] = true
	case AddrSet, AddrDel:
		if e.Kind == AddrSet && mirroredAddr(e.Addr.Prefix.Addr()) {
			n.addrs[e.Addr] = true
		} else {
			delete(n.addrs, e.Addr)
		}
		n.addrsDirty = true
	}
}

// noteLink records that link index changed (up, name, gone): its
// neighbours and addresses may map to another softnet interface now.
func (m *Mirror) noteLink(index int) {
	n := &m.ns
	for k := range n.neighs {
		if k.link == index {
			n.touchN[k] = true
		}
	}
	for k := range n.haveN {
		if k.link == index {
			n.touchN[k] = true
		}
	}
	n.addrsDirty = true
}

// resetNeighs replaces the view of the kernel's neighbours and addresses
// with a dump (resync): every one the kernel has or softnet was given is
// compared at the next syncNeighs, and every usable one given to softnet
// again (resend).
func (m *Mirror) resetNeighs(ns []Neigh, as []Addr) {
	n := &m.ns
	n.neighs, n.addrs = map[nkey]Neigh{}, map[Addr]bool{}
	for _, x := range ns {
		if mirroredAddr(x.Addr) {
			n.neighs[nkey{x.Link, x.Addr}] = x
		}
	}
	for _, a := range as {
		if mirroredAddr(a.Prefix.Addr()) {
			n.addrs[a] = true
		}
	}
	for k := range n.neighs {
		n.touchN[k] = true
	}
	for k := range n.haveN {
		n.touchN[k] = true
	}
	n.addrsDirty = true
	n.resend = true
}

// softnetIface is the softnet interface kernel link index stands for, or
// -1: not a mirrored interface (unknown, not softnet's, or not in
// Options.Interfaces).
func (m *Mirror) softnetIface(index int) int {
	l, ok := m.links[index]
	if !ok {
		return -1
	}
	name := l.Name
	if x, ok := m.o.Names[name]; ok {
		name = x
	}
	if len(m.o.Interfaces) > 0 && !slices.Contains(m.o.Interfaces, name) {
		return -1
	}
	return m.r.InterfaceIndex(name)
}

// syncAddrs gives softnet the kernel's addresses of every mirrored
// interface whose list changed, in one call (one snapshot).
func (m *Mirror) syncAddrs() {
	n := &m.ns
	nr, ok := m.r.(NeighRouter)
	if !ok || !n.addrsDirty {
		return
	}
	n.addrsDirty = false
	want := map[int][]netip.Prefix{}
	for a := range n.addrs {
		if i := m.softnetIface(a.Link); i >= 0 {
			want[i] = append(want[i], a.Prefix)
		}
	}
	change := map[int][]netip.Prefix{}
	for i, ps := range want {
		slices.SortFunc(ps, func(a, b netip.Prefix) int {
			if c := a.Addr().Compare(b.Addr()); c != 0 {
				return c
			}
			return a.Bits() - b.Bits()
		})
		if !slices.Equal(ps, n.haveA[i]) {
			change[i] = ps
		}
	}
	for i := range n.haveA {
		if _, ok := want[i]; !ok {
			change[i] = nil
		}
	}
	if len(change) == 0 {
		return
	}
	res := nr.ApplyKernelAddrs(change)
	for i, ps := range change {
		if len(ps) == 0 {
			delete(n.haveA, i)
		} else {
			n.haveA[i] = ps
		}
	}
	for _, e := range res.Errors {
		m.logf("linux_cp: address %s refused", e)
	}
	m.count(func(s *Stats) {
		s.Addresses = 0
		for _, ps := range n.haveA {
			s.Addresses += len(ps)
		}
		s.Refused += uint64(len(res.Errors))
		if len(res.Errors) > 0 {
			s.LastError = "address " + res.Errors[len(res.Errors)-1]
		}
	})
}

// syncNeighs gives softnet the kernel's neighbours touched in this batch
// that changed, in one call (one snapshot): a usable one on a mirrored
// interface is set, one no longer so deleted.
func (m *Mirror) syncNeighs() {
	n := &m.ns
	nr, ok := m.r.(NeighRouter)
	defer func() { n.resend = false }()
	if !ok || len(n.touchN) == 0 {
		clear(n.touchN)
		return
	}
	var set []control.KernelNeighbor
	var del []neigh.Key
	for k := range n.touchN {
		var want control.KernelNeighbor
		wanted := false
		if x, ok := n.neighs[k]; ok && x.usable() {
			if i := m.softnetIface(k.link); i >= 0 {
				want, wanted = control.KernelNeighbor{Iface: i, Addr: k.addr, MAC: x.MAC, State: NUDName(x.State)}, true
			}
		}
		old, had := n.haveN[k]
		switch {
		case wanted && had && old == want && !n.resend:
		case wanted:
			if had && old.Iface != want.Iface {
				del = append(del, neigh.Key{Iface: old.Iface, Addr: old.Addr})
			}
			set = append(set, want)
			n.haveN[k] = want
		case had:
			del = append(del, neigh.Key{Iface: old.Iface, Addr: old.Addr})
			delete(n.haveN, k)
		}
	}
	clear(n.touchN)
	if len(set) == 0 && len(del) == 0 {
		return
	}
	res := nr.ApplyKernelNeighbors(set, del)
	for _, e := range res.Errors {
		m.logf("linux_cp: neighbor %s refused", e)
	}
	m.count(func(s *Stats) {
		s.Neighbors = len(n.haveN)
		s.Refused += uint64(len(res.Errors))
		if len(res.Errors) > 0 {
			s.LastError = "neighbor " + res.Errors[len(res.Errors)-1]
		}
	})
}
