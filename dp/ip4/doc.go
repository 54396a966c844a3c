// Package ip4 is the IPv4 part of the data plane: header checks, the
// route lookup, the router's own packets, the link-layer rewrite, ARP
// resolution punts, fragmentation and ICMP errors (RFC 791, 792, 1812).
//
// Hot path: yes. Per packet no allocation, no lock, no interface call;
// the common cases run in fast loops (ip4InputFast, lookupFast,
// rewriteFast) that the engine's differential test checks against the
// general path (dp.SetGeneralPath in tests).
//
// # Nodes and edges (Back edges marked <-)
//
//	ip4-input   -> ip4-lookup, host-punt, drop (ip4-unicast features between them)
//	ip4-lookup  -> ip4-local, ip4-rewrite, icmp4-error, drop
//	ip4-local   -> icmp4-error, host-punt, drop; <- ip4-lookup (echo replies)
//	ip4-rewrite -> interface-output, ip4-arp, ip4-frag, icmp4-error, drop
//	ip4-arp     -> (control plane: dp.PuntResolve), drop
//	ip4-frag    -> interface-output, drop
//	icmp4-error -> drop; <- ip4-lookup
//
// ip4-lookup also takes the control plane's InjectLookup messages
// (dp.Node.Inject): packets given back after their next hop resolved.
//
// On an interface with a host interface (dp.Iface.Host, linux_cp),
// ip4-local hands TCP, UDP, ICMP other than echo, other protocols (OSPF's
// 89) and fragments to the router's addresses to host-punt (dp/hostpunt)
// instead of dropping them or answering with an ICMP error, and
// ip4-input hands it link-local multicast (224.0.0.0/24: OSPF's
// 224.0.0.5 and .6) instead of dropping it: the kernel behind the TAP
// answers.
//
// Per-worker node state (dp.Node.State): ip4-lookup's scratch arrays for
// the batched FIB lookup, icmp4-error's token bucket (RFC 1812 §4.3.2.8)
// and IP ID.
//
// # Drop reasons
//
// ip4-input/: too-short, bad-version, bad-ihl, bad-checksum,
// bad-total-length, martian-source, martian-destination, multicast,
// broadcast. ip4-lookup/: no-route, l2-broadcast, directed-broadcast,
// blackhole. ip4-local/: fragment, tcp, icmp-malformed, icmp-consumed.
// ip4-rewrite/: no-headroom (l2-bridge counts it too). ip4-arp/:
// punt-queue-full, resolve-loop. ip4-frag/: no-buffer, mtu-too-small,
// bad-offset, iface-down. icmp4-error/: about-icmp-error,
// about-broadcast, about-fragment, about-martian, about-local,
// rate-limited, no-source-address, no-headroom.
package ip4
