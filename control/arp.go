package control

import (
	"time"

	"github.com/softnet/softnet/control/arp"
	"github.com/softnet/softnet/dp"
	"github.com/softnet/softnet/hdr"
	"github.com/softnet/softnet/neigh"
)

// arpRequest queues an ARP request for k: broadcast, or unicast to *to.
func (r *Router) arpRequest(w *dp.Worker, k neigh.Key, to *[6]byte) {
	f := arp.Request(&r.ifaces[k.Iface], k.Addr, to)
	if f == nil {
		return // not IPv4: nothing for ARP to resolve
	}
	r.outbox = append(r.outbox, outMsg{w: w, kind: dp.InjectTx, iface: uint16(k.Iface), frame: f})
	r.stats.ARPRequests++
}

// handleARP learns from an ARP packet a worker punted (arp-input passed
// it on): RFC 826's merge. Caller holds mu.
func (r *Router) handleARP(w *dp.Worker, m *dp.Msg, now time.Time) {
	a, ok := arp.Parse(m.Frame())
	if !ok {
		return
	}
	r.arpToHost(m, a)
	mac := a.SenderMAC
	k := neigh.Key{Iface: int(m.Iface), Addr: a.Sender}
	ours := false
	for _, ad := range r.ifaces[m.Iface].Addrs {
		ours = ours || ad.Prefix().Addr() == a.Target
	}
	if mac[0]&1 != 0 || mac == [6]byte{} { // RFC 1812 §3.3.2 (arp-input checks too)
		return
	}
	// RFC 826 merge: an existing entry is updated from any ARP; a new
	// one is made only from a request aimed at us (Linux's arp_accept=0),
	// so unsolicited replies cannot fill the table.
	create := ours && a.Op == hdr.ARPRequest
	r.learned(w, k, mac, func() (*neigh.Entry, bool, [][]byte) { return r.neigh.Learn(k, mac, create, now) })
}

// learned applies learn, an update of neighbour k's entry to mac
// (neigh.Table.Learn for ARP, Confirm for Neighbor Discovery), and what
// follows from it: a move of a resolved dynamic entry to another MAC is
// counted, the neighbour's adjacency republished if the entry changed,
// and the packets that waited for it sent. Caller holds mu.
func (r *Router) learned(w *dp.Worker, k neigh.Key, mac [6]byte, learn func() (*neigh.Entry, bool, [][]byte)) {
	// Read the old state before learn: it updates the entry in place.
	// Only a resolved dynamic entry can move: an Incomplete or Failed
	// one has no MAC yet, and learn never changes a Static one.
	var oldMAC [6]byte
	resolved := false
	if before := r.neigh.Get(k); before != nil {
		oldMAC, resolved = before.MAC, before.State != neigh.Incomplete && before.State != neigh.Failed && before.State != neigh.Static && before.State != neigh.Kernel
	}
	e, changed, pending := learn()
	if e == nil {
		return
	}
	if resolved && oldMAC != mac {
		r.stats.NeighborMoves++
	}
	if changed {
		if _, err := r.ensureNeighbor(k); err != nil {
			r.dropNeighbor(k, err)
			r.stats.Drops[DropNeighborGone] += uint64(len(pending))
			return
		}
	}
	r.queueResolved(w, k, pending)
}
