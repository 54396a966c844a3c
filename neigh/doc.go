// Package neigh is the neighbour table: for IPv4 the ARP cache (RFC 826,
// with the state machine of RFC 4861 §7.3 applied to ARP, as Linux does),
// for IPv6 Neighbor Discovery's (RFC 4861 §7.3: Incomplete, Reachable,
// Stale, Delay, Probe): entries, their states and timers, and the small
// bounded queue of packets waiting for each neighbour to resolve. Its keys
// carry IPv4 and IPv6 addresses alike (netip.Addr); the control plane
// sends ARP requests or Neighbor Solicitations by the key's family.
// Besides the learned entries and the static ones (configured), an entry
// may be a Linux kernel's (state Kernel, SetKernel: mirrored by package
// linuxcp): it never ages, learning does not change it, and a static one
// replaces it.
//
// Hot path: no. The table belongs to the control plane's goroutine and is
// not safe for concurrent use. The data plane never reads it: the control
// plane turns each entry into an adjacency (a ready-made Ethernet rewrite)
// in the next published dp.Config.
//
// The table decides; it does not send. Its methods return what the caller
// must do (send an ARP request or a solicitation, flush queued packets, withdraw a route), so
// the state machine is tested without a network.
package neigh
