package control

import (
	"time"

	"github.com/softnet/softnet/control/nd"
	"github.com/softnet/softnet/dp"
	"github.com/softnet/softnet/hdr"
	"github.com/softnet/softnet/neigh"
)

// solicit asks for neighbour k's MAC: an ARP request for an IPv4 one, a
// Neighbor Solicitation for an IPv6 one; broadcast (multicast to the
// solicited-node group), or unicast to *to (a probe).
func (r *Router) solicit(w *dp.Worker, k neigh.Key, to *[6]byte) {
	if k.Addr.Is4() {
		r.arpRequest(w, k, to)
		return
	}
	ifc := r.ifaces[k.Iface]
	f := nd.Solicit(&ifc, k.Addr, to)
	if f == nil {
		return
	}
	r.outbox = append(r.outbox, outMsg{w: w, kind: dp.InjectTx, iface: uint16(k.Iface), frame: f})
	r.stats.NDSolicits++
}

// handleND answers and learns from a Neighbor Solicitation,
// Advertisement or Router Solicitation nd-input checked and punted (RFC 4861 §7.2.3-§7.2.5).
// Caller holds mu.
//
//   - NS (nd-input passes only those for the interface's addresses): the
//     solicitor's Source Link-Layer Address, if it gave one (not DAD),
//     creates or updates its entry as Stale (a new MAC), and the router
//     answers with an NA (nd.Advert: R, S and O flags, Target
//     Link-Layer Address), sent as is on the interface.
//   - RS (punted only where RA is on): its Source Link-Layer Address
//     is learnt as an NS's (RFC 4861 §6.2.6), and the router answers
//     with a Router Advertisement, at most one every 3 s.
//   - NA: only an existing entry is updated (no entry is created from an
//     advertisement): an Incomplete (or Failed) one takes the MAC, as
//     Reachable if the NA is solicited, else Stale, and its queued packets
//     go out; a known one moves only with the Override flag (a different
//     MAC without it makes a Reachable entry Stale), and a solicited NA
//     confirms it (Reachable).
func (r *Router) handleND(w *dp.Worker, m *dp.Msg, now time.Time) {
	p, ok := nd.Parse(m.Frame())
	if !ok {
		return
	}
	r.ndMessage(w, m, p, now)
}

func (r *Router) ndMessage(w *dp.Worker, m *dp.Msg, p nd.Packet, now time.Time) {
	ifc := r.ifaces[m.Iface]
	switch p.Type {
	case hdr.ICMPv6RouterSolicit:
		// RFC 4861 §6.2.6: the sender's Source Link-Layer Address (not
		// from ::) creates or updates its entry, as an NS's does.
		r.ndLearnSolicitor(w, m, p, now)
		// nd-input punts it only where RA is on. RFC 4861 §6.2.6: to
		// all nodes, at most one every MinDelayBetweenRAs per interface.
		if !ifc.RA || now.Sub(r.raAnswer[int(m.Iface)]) < minDelayBetweenRAs {
			return
		}
		if r.raAnswer == nil {
			r.raAnswer = map[int]time.Time{}
		}
		r.raAnswer[int(m.Iface)] = now
		r.outbox = append(r.outbox, outMsg{w: w, kind: dp.InjectTx, iface: m.Iface, frame: nd.RouterAdvert(&ifc)})
		r.stats.RAs++
	case hdr.ICMPv6NeighborSolicit:
		r.ndLearnSolicitor(w, m, p, now)
		if r.hostOwnsNeigh(int(m.Iface)) {
			r.ndToHost(m, p.LinkAddr) // the kernel behind the host interface answers
			return
		}
		r.outbox = append(r.outbox, outMsg{w: w, kind: dp.InjectTx, iface: m.Iface, frame: nd.Advert(&ifc, p)})
		r.stats.NDAdverts++
	case hdr.ICMPv6NeighborAdvert:
		r.ndToHost(m, p.LinkAddr)
		k := neigh.Key{Iface: int(m.Iface), Addr: p.Target}
		e := r.neigh.Get(k)
		if e == nil || e.State == neigh.Static || e.State == neigh.Kernel {
			return
		}
		solicited, override := p.Flags&0x40 != 0, p.Flags&0x20 != 0
		if e.State == neigh.Incomplete || e.State == neigh.Failed {
			if !p.HasLinkAddr {
				return
			}
			st := neigh.Stale
			if solicited {
				st = neigh.Reachable
			}
			r.ndLearn(w, k, p.LinkAddr, st, false, now)
			return
		}
		moved := p.HasLinkAddr && p.LinkAddr != e.MAC
		if moved && !override {
			if e.State == neigh.Reachable {
				r.ndLearn(w, k, e.MAC, neigh.Stale, false, now)
			}
			return
		}
		mac := e.MAC
		if p.HasLinkAddr {
			mac = p.LinkAddr
		}
		switch {
		case solicited:
			r.ndLearn(w, k, mac, neigh.Reachable, false, now)
		case moved:
			r.ndLearn(w, k, mac, neigh.Stale, false, now)
		}
	}
}

// ndLearnSolicitor learns from a Neighbor or Router Solicitation's
// Source Link-Layer Address (RFC 4861 §7.2.3, §6.2.6): none from ::; a
// new entry, a new MAC, or an unresolved entry becomes Stale at it.
func (r *Router) ndLearnSolicitor(w *dp.Worker, m *dp.Msg, p nd.Packet, now time.Time) {
	if p.Src.IsUnspecified() || !p.HasLinkAddr {
		return
	}
	k := neigh.Key{Iface: int(m.Iface), Addr: p.Src}
	e := r.neigh.Get(k)
	if e == nil || e.MAC != p.LinkAddr || e.State == neigh.Incomplete || e.State == neigh.Failed {
		r.ndLearn(w, k, p.LinkAddr, neigh.Stale, true, now)
	}
}

// ndLearn records that neighbour k is at mac in state st, republishes its
// adjacency if that changed and sends the packets that waited for it.
func (r *Router) ndLearn(w *dp.Worker, k neigh.Key, mac [6]byte, st neigh.State, create bool, now time.Time) {
	r.learned(w, k, mac, func() (*neigh.Entry, bool, [][]byte) { return r.neigh.Confirm(k, mac, st, create, now) })
}

// Router Advertisement timing (RFC 4861 §6.2.4, §6.2.6, §10).
const (
	minDelayBetweenRAs       = 3 * time.Second
	maxInitialRAInterval     = 16 * time.Second
	maxInitialAdvertisements = 3
	defaultRAInterval        = 200 * time.Second
)

// raOn reports whether some interface sends Router Advertisements.
// Caller holds mu.
func (r *Router) raOn() bool {
	for i := range r.ifaces {
		if r.ifaces[i].RA && !r.ifaces[i].Deleted {
			return true
		}
	}
	return false
}

// periodicRAs sends the unsolicited Router Advertisements that are due
// (RFC 4861 §6.2.4): one on each up interface with RA on, the first
// maxInitialAdvertisements rounds at most maxInitialRAInterval apart,
// then every Options.RAInterval. It reports whether it sent. Caller
// holds mu.
func (r *Router) periodicRAs(now time.Time) bool {
	if len(r.workers) == 0 || !r.raOn() || (!r.raNext.IsZero() && now.Before(r.raNext)) {
		return false
	}
	for i := range r.ifaces {
		ifc := r.ifaces[i]
		if !ifc.RA || ifc.Deleted || !r.admin[i] || !r.link[i] {
			continue
		}
		r.outbox = append(r.outbox, outMsg{kind: dp.InjectTx, iface: uint16(i), frame: nd.RouterAdvert(&ifc)})
		r.stats.RAs++
	}
	r.raSent++
	d := r.o.RAInterval
	if d <= 0 {
		d = defaultRAInterval
	}
	if r.raSent < maxInitialAdvertisements {
		d = min(d, maxInitialRAInterval)
	}
	r.raNext = now.Add(d)
	return true
}

// raSoon starts the initial advertisements again (RFC 4861 §6.2.4) when
// an interface that sends them comes up: the next round at most
// minDelayBetweenRAs from now (never closer to the previous one), then
// maxInitialAdvertisements rounds at most maxInitialRAInterval apart.
// Caller holds mu.
func (r *Router) raSoon(now time.Time) {
	r.raSent = 0
	if at := now.Add(minDelayBetweenRAs); !r.raNext.IsZero() && r.raNext.After(at) {
		r.raNext = at
	}
}
