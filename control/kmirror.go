package control

import (
	"fmt"
	"net/netip"
	"slices"

	"github.com/softnet/softnet/internal/rules"
	"github.com/softnet/softnet/neigh"
)

// Kernel neighbours and addresses are, like kernel routes (kernel.go),
// mirrored from a Linux namespace by package linuxcp.
//
// A kernel neighbour (ip neigh, in a usable state: permanent, noarp,
// reachable, stale, delay, probe) is a neighbour entry of state
// neigh.Kernel: softnet forwards to its MAC without resolving it, does not
// age it, and does not change it from ARP or Neighbor Discovery; the
// kernel's notifications change it or take it away. Precedence: a static
// neighbour (config, softnet neighbor add) wins over the kernel's (which
// is remembered, and takes its place if the static one is deleted); the
// kernel's wins over a learned one, which it replaces. A kernel
// neighbour's entry lives only while its address is on a subnet of its
// interface (fitKernelNeighbors: a kernel address deleted, or a reload,
// takes it away; the subnet back brings it back). When the kernel's
// goes (deleted, failed, incomplete), softnet resolves the address itself
// again on the next packet to it, whatever linux_cp's arp_nd (with arp_nd
// linux, softnet still resolves its own next hops).
//
// A kernel address (ip addr add on a mirrored interface) is added to the
// softnet interface as a configured one is (local delivery, connected
// route, ARP and ND answers); the interface's configured addresses are
// never removed by the kernel (a kernel delete of one does nothing), and
// a reload keeps the kernel's beside the new config's. Kernel addresses
// are not written by config save.

// KernelNeighbor is a neighbour of a mirrored kernel.
type KernelNeighbor struct {
	Iface int // softnet interface index
	Addr  netip.Addr
	MAC   [6]byte
	State string // the kernel's NUD state: permanent, noarp, reachable, stale, delay, probe
}

// ApplyKernelNeighbors applies a batch of kernel neighbour changes: set
// adds or replaces entries, del removes those the kernel no longer has
// (or no longer has usable). The batch is published as one snapshot.
// A static entry for the same address is left as it is (counted
// Shadowed); entries refused are in Errors.
func (r *Router) ApplyKernelNeighbors(set []KernelNeighbor, del []neigh.Key) KernelResult {
	r.mu.Lock()
	defer r.mu.Unlock()
	var res KernelResult
	for _, k := range del {
		if r.deleteKernelNeighbor(k) {
			res.Deleted++
		}
	}
	ifs := r.ruleIfaces()
	for _, n := range set {
		k := neigh.Key{Iface: n.Iface, Addr: n.Addr.Unmap()}
		existed := false
		if e := r.neigh.Get(k); e != nil && e.State == neigh.Kernel {
			existed = true
		}
		shadowed, err := r.setKernelNeighbor(ifs, k, n)
		res.count(existed, shadowed, err)
	}
	if len(res.Errors) > 0 {
		r.lastErr = "kernel neighbor " + res.Errors[len(res.Errors)-1]
	}
	if r.dirty {
		r.publish()
	}
	return res
}

// setKernelNeighbor installs kernel neighbour n (key k). Caller holds mu.
func (r *Router) setKernelNeighbor(ifs []rules.Iface, k neigh.Key, n KernelNeighbor) (shadowed bool, err error) {
	if k.Iface < 0 || k.Iface >= len(r.ifaces) || r.ifaces[k.Iface].Deleted {
		return false, fmt.Errorf("%v: on interface %d, which softnet does not have", k.Addr, k.Iface)
	}
	if err := rules.MAC(n.MAC); err != nil {
		return false, fmt.Errorf("%v: %w", k.Addr, err)
	}
	if r.kneigh == nil {
		r.kneigh = map[neigh.Key]KernelNeighbor{}
	}
	n.Iface, n.Addr = k.Iface, k.Addr
	// Remembered even off the interface's subnets: the kernel has it,
	// and fitKernelNeighbors installs it when its subnet comes back.
	r.kneigh[k] = n
	if err := rules.Neighbor(ifs, k.Iface, k.Addr); err != nil {
		return false, fmt.Errorf("%v: %w", k.Addr, err)
	}
	return r.installKernelNeighbor(k)
}

// fitKernelNeighbors makes the entries of the remembered kernel
// neighbours of interface only (-1: of every interface) follow its
// subnets after its addresses changed (a kernel address deleted or
// added, a reload): one no longer on a subnet of its interface goes
// (entry and host route: it does not outlive its subnet), one on a
// subnet again is installed (a static entry still wins). Caller holds
// mu.
func (r *Router) fitKernelNeighbors(only int) {
	if len(r.kneigh) == 0 {
		return
	}
	ifs := r.ruleIfaces()
	for k := range r.kneigh {
		i := k.Iface
		if only >= 0 && i != only {
			continue
		}
		e := r.neigh.Get(k)
		if i < 0 || i >= len(r.ifaces) || r.ifaces[i].Deleted || rules.Neighbor(ifs, i, k.Addr) != nil {
			if e != nil && e.State == neigh.Kernel {
				r.forget(k)
				r.removeNeighbor(k)
				r.dirty = true
			}
			continue
		}
		if e == nil || (e.State != neigh.Static && e.State != neigh.Kernel) {
			if _, err := r.installKernelNeighbor(k); err != nil {
				r.lastErr = "kernel neighbor " + err.Error()
			}
		}
	}
}

// installKernelNeighbor makes the remembered kernel neighbour k the
// neighbour entry, unless a static one is there. Caller holds mu.
func (r *Router) installKernelNeighbor(k neigh.Key) (shadowed bool, err error) {
	n := r.kneigh[k]
	e := r.neigh.Get(k)
	if e != nil && e.State == neigh.Kernel && e.MAC == n.MAC && e.KernelState == n.State {
		return false, nil // unchanged
	}
	// Only a new entry or another MAC changes the data plane (a state
	// change of the kernel's, reachable to stale, is not published).
	moved := e == nil || e.State != neigh.Kernel || e.MAC != n.MAC
	pending, static, err := r.neigh.SetKernel(k, n.MAC, n.State, r.o.Now())
	if err != nil {
		return false, fmt.Errorf("%v: %w", k.Addr, err)
	}
	if static {
		return true, nil
	}
	if _, err := r.ensureNeighbor(k); err != nil {
		r.dropNeighbor(k, nil)
		r.stats.Drops[DropNeighborGone] += uint64(len(pending))
		return false, err
	}
	r.queueResolved(nil, k, pending)
	if moved {
		r.dirty = true
	}
	return false, nil
}

// deleteKernelNeighbor forgets kernel neighbour k and removes its entry
// if it is the kernel's (a static or learned one stays). It reports
// whether the kernel had it. Caller holds mu.
func (r *Router) deleteKernelNeighbor(k neigh.Key) bool {
	k.Addr = k.Addr.Unmap()
	_, had := r.kneigh[k]
	delete(r.kneigh, k)
	if e := r.neigh.Get(k); e != nil && e.State == neigh.Kernel {
		r.forget(k)
		r.removeNeighbor(k)
		r.dirty = true
	}
	return had
}

// restoreKernelNeighbor puts the kernel's entry for k back after a
// static one was deleted. Caller holds mu.
func (r *Router) restoreKernelNeighbor(k neigh.Key) {
	if _, ok := r.kneigh[k]; !ok || r.neigh.Get(k) != nil {
		return
	}
	if rules.Neighbor(r.ruleIfaces(), k.Iface, k.Addr) != nil {
		return // its subnet is gone: back with it (fitKernelNeighbors)
	}
	if _, err := r.installKernelNeighbor(k); err != nil {
		r.lastErr = "kernel neighbor " + err.Error()
	}
}

// KernelAddrs returns the addresses the kernel added to each interface
// (not its configured ones), by interface index.
func (r *Router) KernelAddrs() map[int][]netip.Prefix {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := map[int][]netip.Prefix{}
	for i, ps := range r.kaddrs {
		if len(ps) > 0 {
			out[i] = slices.Clone(ps)
		}
	}
	return out
}

// ApplyKernelAddrs makes the kernel addresses of the interfaces in want
// exactly want's (each interface's whole list, as the kernel has it; an
// interface not in want keeps its kernel addresses): an address the
// interface does not have is added, as a configured one is; a kernel
// address no longer listed is removed. Configured addresses are never
// removed, and one the kernel lists too stays configured. An address
// that overlaps another interface's subnet, or is a subnet's network or
// broadcast address, is refused (Errors). Published as one snapshot.
func (r *Router) ApplyKernelAddrs(want map[int][]netip.Prefix) KernelResult {
	r.replaceMu.Lock() // not during a Reconfigure: it sets every interface's addresses
	defer r.replaceMu.Unlock()
	r.mu.Lock()
	defer r.mu.Unlock()
	var res KernelResult
	idx := make([]int, 0, len(want))
	for i := range want {
		idx = append(idx, i)
	}
	slices.Sort(idx)
	for _, i := range idx {
		if i < 0 || i >= len(r.ifaces) || r.ifaces[i].Deleted {
			res.Errors = append(res.Errors, fmt.Sprintf("addresses on interface %d, which softnet does not have", i))
			continue
		}
		ifc := &r.ifaces[i]
		var cur, cfg []netip.Prefix
		for _, a := range ifc.Addrs {
			p := ifacePrefix(a)
			cur = append(cur, p)
			if !slices.Contains(r.kaddrs[i], p) {
				cfg = append(cfg, p)
			}
		}
		final := slices.Clone(cfg)
		var kern []netip.Prefix
		for _, p := range want[i] {
			if slices.ContainsFunc(final, func(q netip.Prefix) bool { return q.Addr() == p.Addr() }) {
				continue // configured (or listed twice)
			}
			if err := r.checkKernelAddr(i, final, p); err != nil {
				res.Errors = append(res.Errors, err.Error())
				continue
			}
			final = append(final, p)
			kern = append(kern, p)
			if !slices.Contains(cur, p) {
				res.Added++
			}
		}
		for _, p := range r.kaddrs[i] {
			if !slices.Contains(kern, p) {
				res.Deleted++
			}
		}
		if r.kaddrs == nil {
			r.kaddrs = map[int][]netip.Prefix{}
		}
		if slices.Equal(cur, final) {
			r.kaddrs[i] = kern
			continue
		}
		if _, err := r.setIface(i, IfaceState{MTU: ifc.MTU, Addrs: final, Down: !r.admin[i]}); err != nil {
			res.Errors = append(res.Errors, err.Error())
			r.setIface(i, IfaceState{MTU: ifc.MTU, Addrs: cur, Down: !r.admin[i]}) // back as it was
			continue
		}
		r.kaddrs[i] = kern
		r.fitKernelNeighbors(i)
	}
	if len(res.Errors) > 0 {
		r.lastErr = "kernel address " + res.Errors[len(res.Errors)-1]
	}
	if r.dirty {
		r.publish()
	}
	return res
}

// checkKernelAddr refuses kernel address p for interface i, whose
// addresses are to be mine: what checkAddrs refuses of a new interface's
// (another interface's subnet, a network or broadcast address), except
// that a second address in a subnet of the same interface is allowed, as
// Linux allows it. Caller holds mu.
func (r *Router) checkKernelAddr(i int, mine []netip.Prefix, p netip.Prefix) error {
	name := r.ifaces[i].Name
	if !p.IsValid() || p.Addr().Zone() != "" {
		return fmt.Errorf("%v on %s: not an interface address", p, name)
	}
	if err := rules.Family(p.Addr()); err != nil {
		return fmt.Errorf("%v on %s: %w", p, name, err)
	}
	var others []netip.Prefix
	for j := range r.ifaces {
		if j == i || r.ifaces[j].Deleted {
			continue
		}
		for _, a := range r.ifaces[j].Addrs {
			others = append(others, ifacePrefix(a))
		}
	}
	// checkAddrs's own checks, against the other interfaces only.
	if err := r.checkAddrsAgainst(name, others, p); err != nil {
		return err
	}
	for _, q := range mine {
		if q.Masked() != p.Masked() && q.Masked().Overlaps(p.Masked()) {
			return fmt.Errorf("interface %s: %v overlaps %v, already on it with another prefix length", name, p, q)
		}
	}
	return nil
}

// checkAddrsAgainst is checkAddrs for one address p against the
// addresses seen.
func (r *Router) checkAddrsAgainst(name string, seen []netip.Prefix, p netip.Prefix) error {
	if p.Addr().Is4() && p.Bits() < 31 {
		m := p.Masked()
		if p.Addr() == m.Addr() {
			return fmt.Errorf("interface %s: %v is the subnet's network address: an interface address needs a host part", name, p)
		}
		if n, b := m.Addr().As4(), p.Addr().As4(); isBroadcast4(n, b, p.Bits()) {
			return fmt.Errorf("interface %s: %v is the subnet's broadcast address: use a host address", name, p)
		}
	}
	for _, q := range seen {
		if p.Masked().Overlaps(q.Masked()) {
			return fmt.Errorf("interface %s: %v overlaps %v, already on the router: each interface needs its own subnet", name, p, q)
		}
	}
	return nil
}

// isBroadcast4 reports whether b is the broadcast address of subnet
// n/bits.
func isBroadcast4(n, b [4]byte, bits int) bool {
	for i := range 4 {
		host := byte(0xff)
		if bits >= 8*(i+1) {
			host = 0
		} else if bits > 8*i {
			host = 0xff >> (bits - 8*i)
		}
		if b[i] != n[i]|host {
			return false
		}
	}
	return true
}

// withKernelAddrs is the configured addresses want of interface i with
// its kernel addresses (Reconfigure): those the new config has are
// configured now, and those that overlap a desired address of another
// interface go. It updates kaddrs. Caller holds mu.
func (r *Router) withKernelAddrs(d []IfaceState) []IfaceState {
	if len(r.kaddrs) == 0 {
		return d
	}
	out := slices.Clone(d)
	for i, ps := range r.kaddrs {
		if i >= len(out) {
			continue
		}
		var keep []netip.Prefix
		addrs := slices.Clone(out[i].Addrs)
		for _, p := range ps {
			clash := false
			for j, s := range d {
				for _, q := range s.Addrs {
					if q.Addr() == p.Addr() || (j != i && q.Masked().Overlaps(p.Masked())) ||
						(j == i && q.Masked() != p.Masked() && q.Masked().Overlaps(p.Masked())) {
						clash = true
					}
				}
			}
			if !clash {
				keep = append(keep, p)
				addrs = append(addrs, p)
			}
		}
		out[i].Addrs = addrs
		r.kaddrs[i] = keep
	}
	return out
}

// withoutKernelAddrs takes the kernel addresses out of d (config save).
// Caller holds mu.
func (r *Router) withoutKernelAddrs(d *Desired) {
	for i, ps := range r.kaddrs {
		if i < len(d.Ifaces) {
			d.Ifaces[i].Addrs = slices.DeleteFunc(d.Ifaces[i].Addrs, func(p netip.Prefix) bool { return slices.Contains(ps, p) })
		}
	}
}
