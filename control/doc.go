// Package control is softnet's control plane: it owns the mutable state
// (interfaces, routes, the neighbour table, adjacencies), builds immutable
// dp.Config snapshots and publishes them with an atomic pointer, serves the
// workers' punts (ARP learning, packets waiting for resolution) and ages
// neighbours. ARP learning follows RFC 826's merge: an entry is created
// only from a request aimed at the router, but any ARP from a known
// neighbour (gratuitous or not, whoever it asks for) updates its MAC at
// once; FlushNeighbors forgets an interface's learned neighbours when its
// device goes away or loses its link.
//
// Hot path: no. A Router is safe for concurrent use by API callers and its
// own service loop (one mutex, never touched by a worker). It never blocks
// a worker: it talks to workers only through their single-producer
// single-consumer rings, and drops (and counts) a message when a ring is
// full rather than wait. No call holds the mutex across a full-table
// build: ReplaceRoutes and Reconfigure let go of it every few thousand
// routes (replace.go), so the service loop (ARP learning, timers) and the
// API go on meanwhile; what they change is published with the replace,
// route changes are done again after it, and an interface change makes
// it build again. TestReplaceRoutesLetsGoOfTheLock stops one midway.
//
// A packet a worker hands over to wait for ARP is held (Stats.Held), sent
// back (Stats.Resolved, Stats.Unreachable) or dropped under a reason
// (Drop, stage "arp-queue": Stats.Drops), never lost uncounted.
//
// Routes are of two kinds. The router's own (an interface address's /32,
// its connected subnet and the subnet's network and broadcast /32s, and
// neighbours' /32 host routes) belong to the interfaces and neighbours;
// configured routes (AddRoute, AddRoutes, ReplaceRoutes) are checked by
// package internal/rules, as softnet check checks a config. A configured
// route to exactly a local, connected or broadcast prefix is refused, and
// so is DeleteRoute of one of the router's own routes; a configured /32 to
// a neighbour takes precedence over its host route, and deleting it gives
// the prefix back to the neighbour.
//
// Reconfigure moves the whole configurable state (interface addresses, MTU
// and admin state, static neighbours, configured routes, the ICMP rate) to
// a new one in one snapshot, taking its own steps back on an error; it is
// what softnet reload applies.
//
// An interface that is down (admin or link) has the routes through it
// (configured routes via a gateway on it, its neighbours' host routes, its
// connected subnets) taken out of the FIB while it is down, so that a
// covering route takes over (a default through another interface fails
// over), and what no route covers gets ICMP destination unreachable from
// ip4-lookup (ICMPv6 from ip6-lookup: IPv6 routes are parked the same way).
// The router keeps them (parked, down.go): they can be added,
// changed and deleted meanwhile, count in Routes, RouteCounts and RouteCounts6, and go
// back into the FIB when the interface is up. Lookup answers what the
// workers do: the covering route. SetLinkUp and SetInterfaceUp let go of
// the lock every parkChunk routes they move (as a replace does), so a
// full table through a flapping link does not hold the API and the
// service loop for seconds. The pass over the table is made only when a
// route other than the interface's own goes through it (a reference left
// on one of its adjacencies, routesThrough): a VLAN or bridge member
// without one, and DeleteVLAN, which refuses a VLAN with one, cost what
// is on the interface, not the table.
//
// Interface addresses (IfaceConfig.Addrs, dp.Iface.Addrs) and neighbours
// (neigh.Key, dp.Adj.Addr) are IPv4 or IPv6 alike in every type. An IPv6
// address installs its /128 (local) and its subnet (connected) in the
// IPv6 FIB (fib.Table6, published as dp.Config.FIB6), a static IPv6
// neighbour its /128 host route, and AddRoute an IPv6 prefix via an IPv6
// gateway; the adjacencies are shared by both families (an IPv6
// neighbour's rewrite ends with 0x86DD). Neighbor Discovery (nd.go)
// resolves IPv6 next hops, IPv6 routes are parked while their interface
// is down as IPv4 ones are (down.go), and ReplaceRoutes (and Reconfigure,
// softnet reload) replaces the configured routes of both families
// together, in one snapshot.
//
// Kernel routes (kernel.go) are a third kind, mirrored from a Linux
// routing table by package linuxcp through ApplyKernel, one snapshot per
// batch; each keeps its origin (the kernel protocol: bgp, ospf, boot...),
// which Lookup reports as Match.Origin with the other kinds' (static,
// local, connected, neighbor). A kernel route never replaces the
// router's own routes or a configured one (it is remembered, shadowed).
// Kernel neighbours and addresses (kmirror.go: ApplyKernelNeighbors,
// ApplyKernelAddrs) are mirrored too: a kernel neighbour is an entry of
// state neigh.Kernel (a static one wins over it, it wins over a learned
// one; softnet does not age it), a kernel address is added to its
// interface beside the configured ones, which the kernel never removes.
// A route with several next hops points at an ECMP group: an AdjGroup
// adjacency shared by the routes with the same next hops and weights,
// holding a reference on each member adjacency; publish writes each
// group's buckets (its live members, in proportion to their weights) in
// dp.Config.ECMP, leaving out members that are unreachable or out of a
// down interface, and the lookup nodes pick one per flow. The FIB stays
// a prefix-to-index map. Kernel routes of both families are parked while
// their interface is down, as configured ones; a reload (Reconfigure,
// ReplaceRoutes) does not know them: it leaves them alone.
//
// Adjacency indices are FIB next-hop indices. Index 0 is "no route"; each
// interface has a glean adjacency (its connected subnet: resolve the
// destination) and a broadcast adjacency; one local adjacency serves all
// the router's own addresses; each neighbour has one adjacency shared by
// its host route and every route through it as a gateway.
//
// Where each concern lives:
//   - router.go: the Router, its options, New, publishing snapshots.
//   - iface.go: interface admin (add, addresses, MTU, admin and link
//     state); vlan.go and bridge.go: VLAN sub-interfaces and bridges.
//   - rib.go: the routes (configured and the router's own, reference
//     counting on adjacencies); kernel.go: kernel routes and ECMP groups; down.go: routes parked while their
//     interface is down; replace.go and reconfig.go: replacing the
//     routes and the whole configurable state at once.
//   - neighbor.go: neighbour entries to adjacencies and host routes, the
//     packets waiting for resolution, ageing's actions.
//   - arp.go: learning from punted ARP (RFC 826 merge) and sending ARP
//     requests; package control/arp builds and reads the frames.
//   - service.go: the service loop: punts in, timers, publish, injections
//     out. drops.go: the control plane's drop reasons and counters.
//
// The service loop (Run) has no ticker: it sleeps until there is work and
// an idle router does not wake at all. A worker that punted rings its
// dp.Bell once per poll (dp.Ring.Notify; one atomic load, no channel
// operation, while the loop is awake), an API call that leaves a snapshot
// to publish, messages to send or an earlier neighbour timer rings it as
// it unlocks the router's mutex, and a timer wakes it when the neighbour
// table's next deadline is due (neigh.Table.Next; ageing passes are at
// least 100 ms apart, as before).
//   - package control/adj: the adjacency allocator (indices, reference
//     counts, free list). Package neigh: the neighbour state machine.
package control
