// Package hostpunt is the host-punt node: traffic to the router's
// addresses that softnet does not answer itself, received on an interface
// with a host interface (linux_cp's TAP, dp.Iface.Host), copied to the
// control plane (dp.PuntHost), which writes it to the TAP, where Linux and
// the routing daemons (BIRD, FRR) bind and answer. What the kernel sends
// on the TAP leaves by the port: that is the control plane's (control's
// SendHostFrame), not a node's.
//
// # Node
//
//	host-punt (dp/hostpunt) -> (control plane), drop
//
// ip4-input (link-local multicast, 224.0.0.0/24), ip4-local (TCP, UDP,
// ICMP other than echo, other protocols such as OSPF's 89), ip6-input
// (link-scoped multicast ff02::/16 other than Neighbor Discovery) and
// ip6-local (the same as ip4-local) hand it a packet with its class in
// pkt.Buf.Aux (Class). It copies the frame (the Ethernet header with a
// VLAN sub-interface's tags taken out, and the IP packet) into the
// worker's punt ring, counts it under its class (dp.Scalars.HostPuntTCP
// and its siblings, in show counters and the metrics) and frees the
// buffer.
//
// # Rate limit
//
// Each worker keeps a token bucket per class (dp.Config.HostRate packets
// per second up to HostBurst; linux_cp's punt_rate and punt_burst), so a
// flood of one class (a SYN flood at the BGP port, a UDP scan) cannot
// starve the others (OSPF hellos, BGP keepalives) nor the control plane.
// The clock is read at most once per vector, and only when a bucket is
// empty. A packet over its class's rate is dropped under its reason
// (host-punt/rate-limited-tcp, ...), one with no room in the punt ring
// under host-punt/ring-full: both in show errors and the metrics.
//
// Hot path: yes. No allocation, no lock, no system call, no interface
// call per packet: one copy into a ring slot, as ARP punts do.
package hostpunt
