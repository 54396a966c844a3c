// Package ip6 is the IPv6 part of the data plane: header and extension
// header checks, the route lookup on the IPv6 FIB (dp.Config.FIB6), the
// router's own packets, the link-layer rewrite and ICMPv6 errors (RFC
// 8200, 4291, 4443, 7112), and ip6-nd, which hands packets waiting for a
// next hop to Neighbor Discovery (RFC 4861: the messages themselves are
// checked by nd-input, package dp/nd, and answered by the control plane).
//
// Hot path: yes. Per packet no allocation, no lock, no interface call
// (TestIP6Allocs). IPv6 has no header checksum: the hop limit is
// decremented with a plain store.
//
// # Nodes and edges (Back edges marked <-)
//
//	ip6-input   -> ip6-lookup, nd-input, icmp6-error, host-punt, drop
//	ip6-lookup  -> ip6-local, ip6-rewrite, icmp6-error, drop
//	ip6-local   -> nd-input, icmp6-error, host-punt, interface-output, drop; <- ip6-lookup (echo replies)
//	ip6-rewrite -> interface-output, ip6-nd, icmp6-error, drop
//	ip6-nd      -> (control plane: dp.PuntResolve), drop
//	icmp6-error -> interface-output, drop; <- ip6-lookup
//
// ip6-lookup also takes the control plane's InjectLookup6 messages:
// packets that waited for Neighbor Discovery, routed again.
//
// ethernet-input sends EtherType 0x86DD here. Replies and errors to a
// link-local address (which no route leads to) go straight back out of
// the receiving interface to the sender's MAC (interface-output).
//
// Per-worker node state (dp.Node.State): ip6-lookup's scratch arrays for
// the batched FIB lookup (fib.Snapshot6.LookupBatch), icmp6-error's token
// bucket (Config.ICMPRate and ICMPBurst, as icmp4-error).
//
// # Rules
//
//   - ip6-input: version 6, 40 bytes, payload length within the frame
//     (padding trimmed); unspecified, loopback and multicast sources and
//     unspecified and loopback destinations dropped; multicast
//     destinations dropped (no multicast routing). Neighbor Discovery
//     (ICMPv6 133-137 right after the header) to a multicast or
//     link-local destination, or from ::, goes to nd-input before these
//     checks. The extension header chain is walked (at most hdr.MaxExtHeaders headers): Hop-by-Hop
//     anywhere but first, Parameter Problem code 1 pointing at the Next
//     Header field naming it; Hop-by-Hop options by their two action bits
//     (skip; discard; discard and Parameter Problem code 2 pointing at the
//     option; the same unless the destination is multicast), also those
//     of a packet to a multicast group the router is a member of (all
//     nodes, all routers, solicited-node) before it is dropped; a first
//     fragment without the whole chain through the upper-layer header,
//     Parameter Problem code 3 (RFC 7112).
//   - ip6-lookup: a transit packet with a link-local source or
//     destination, Destination Unreachable code 2 (beyond scope), unless
//     it is to the receiving interface's link-local address
//     (dp.Iface.LinkLocal: configured, or derived from its MAC), which
//     is the router's (ip6-local); hop
//     limit <= 1, Time Exceeded code 0 (the hop limit is decremented only
//     when forwarding, in ip6-rewrite); no route, Destination Unreachable
//     code 0; a neighbour Neighbor Discovery gave up on (3 solicitations
//     1 s apart), Destination Unreachable code 3.
//   - ip6-rewrite: larger than the next hop's MTU, Packet Too Big with
//     that MTU (never below 1280); IPv6 is never fragmented in transit.
//     A next hop not resolved (incomplete, or on a connected subnet:
//     glean): ip6-nd punts the packet to the control plane, which holds a
//     few per neighbour while it solicits.
//   - ip6-local: echo requests to any of the router's addresses (global
//     or link-local) answered; a Routing header with Segments Left > 0,
//     Parameter Problem code 0 pointing at its type (no type is
//     implemented; type 0 is deprecated, RFC 5095); UDP, port
//     unreachable; Neighbor Discovery to a global address of the router,
//     nd-input; an unknown upper layer, Parameter Problem code 1. On an
//     interface with a host interface (dp.Iface.Host, linux_cp) TCP,
//     UDP, other ICMPv6, other upper layers and fragments go to
//     host-punt (dp/hostpunt) instead, as do link-scoped multicast
//     packets (ff02::/16, other than Neighbor Discovery) in ip6-input.
//   - icmp6-error: never about an ICMPv6 error or Redirect, a packet the
//     router sent, an unspecified, loopback or multicast source, or a
//     multicast destination (network or link layer) except Packet Too Big
//     and Parameter Problem code 2; rate-limited per worker; quotes as
//     much as fits in 1280 bytes; checksum over the pseudo-header.
//     Source (RFC 4443 §2.2): the router's address the offending packet
//     was sent to (a global one, or the receiving interface's
//     link-local one); else the first global IPv6 address of the
//     interface the error leaves by; else, to a link-local destination,
//     that interface's link-local address (so an interface with no IPv6
//     address configured still answers its link's hosts); else the first
//     global address of another interface; else none, and the error is
//     dropped (no-source-address).
//
// # Drop reasons
//
// ip6-input/: too-short, bad-version, bad-payload-length,
// martian-source, martian-destination, multicast, too-many-ext-headers,
// bad-ext-header, option-discard. ip6-lookup/: no-route, l2-multicast,
// blackhole. ip6-local/: fragment, tcp, icmp-malformed, icmp-consumed,
// no-next-header, no-headroom. ip6-rewrite/: no-headroom. ip6-nd/:
// punt-queue-full, resolve-loop.
// icmp6-error/: about-icmp-error, about-multicast, about-bad-source,
// about-local, rate-limited, no-source-address, no-headroom.
package ip6
