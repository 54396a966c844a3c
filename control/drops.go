package control

// Drop is why the control plane dropped a packet the data plane handed
// it to wait for ARP (ip4-arp). Every such packet is dropped under one of
// these, held (Stats.Held), or sent back to a worker (Stats.Resolved,
// Stats.Unreachable).
type Drop uint8

// Control plane drop reasons, all of stage DropStage. Keep dropInfo in
// the same order.
const (
	DropQueueFull    Drop = iota // the neighbour's queue was full: its oldest packet dropped
	DropTableFull                // no neighbour entry (table full) or it could not be installed
	DropUnresolved               // the neighbour had failed ARP when the packet arrived
	DropNeighborGone             // the neighbour was deleted (or replaced) while packets waited
	DropIfaceGone                // the interface was deleted before the packet was handled
	DropInjectFull               // the worker's inject ring was full when the packet was released
	NumDrops
)

// DropStage is the stage name of the control plane's drop reasons.
const DropStage = "arp-queue"

var dropInfo = [NumDrops][2]string{
	DropQueueFull:    {"queue-full", "waiting for ARP: the neighbour's queue was full, its oldest packet dropped (neigh MaxPending per neighbour)"},
	DropTableFull:    {"neighbor-table-full", "waiting for ARP: no room for the neighbour (neighbour or adjacency table full)"},
	DropUnresolved:   {"unresolved", "to a neighbour that had failed ARP (the data plane answers the next ones with host unreachable)"},
	DropNeighborGone: {"neighbor-deleted", "waiting for ARP when the neighbour was deleted, flushed (its link went down or its device was re-created) or could not be installed"},
	DropIfaceGone:    {"iface-deleted", "waiting for ARP on an interface deleted meanwhile"},
	DropInjectFull:   {"inject-ring-full", "released after ARP, but the worker's inject ring was full"},
}

// Name is the reason's stable kebab-case name within DropStage.
func (d Drop) Name() string { return dropInfo[d][0] }

// Desc is a one-line description.
func (d Drop) Desc() string { return dropInfo[d][1] }

// String is "arp-queue/name".
func (d Drop) String() string { return DropStage + "/" + d.Name() }

// Stats are the control plane's own counters.
type Stats struct {
	ARPRequests  uint64 // requests sent
	NDSolicits   uint64 // Neighbor Solicitations sent (IPv6 resolution and probes)
	NDAdverts    uint64 // Neighbor Advertisements sent (answers to solicitations for the router's addresses)
	RAs          uint64 // Router Advertisements sent (periodic, and answers to Router Solicitations)
	PuntsHandled uint64
	Resolved     uint64 // packets sent after their neighbour resolved
	// Drops counts the packets waiting for ARP that were dropped, by
	// reason; QueueDrops is their sum.
	Drops      [NumDrops]uint64
	QueueDrops uint64
	// Held is the packets waiting for ARP now.
	Held          uint64
	Unreachable   uint64 // held packets sent back for ICMP host unreachable after ARP failed
	InjectFull    uint64 // messages lost because a worker's inject ring was full (packets and ARP requests)
	Publishes     uint64
	NeighborMoves uint64 // a neighbour's MAC changed
	// Host interfaces (linux_cp): frames handed to them (punted, and
	// copies of ARP replies and Neighbor Advertisements), frames they
	// sent out of softnet's ports, and frames for or from an interface
	// with no host interface (a late punt after one was removed).
	HostRx    uint64
	HostTx    uint64
	HostDrops uint64
	// NeighborErrors counts neighbours that could not be installed (no
	// adjacency index or host route left); LastError says why.
	NeighborErrors uint64
	LastError      string
}

// Stats returns the control plane's counters.
func (r *Router) Stats() Stats {
	r.mu.Lock()
	defer r.mu.Unlock()
	st := r.stats
	st.LastError = r.lastErr
	st.QueueDrops = 0
	for _, n := range st.Drops {
		st.QueueDrops += n
	}
	st.Held = uint64(r.neigh.Held())
	return st
}
