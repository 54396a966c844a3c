// Package nd is the data plane's Neighbor Discovery node, nd-input (RFC
// 4861): it checks every ND message the router receives and copies the
// Neighbor Solicitations for the router's addresses and the Neighbor
// Advertisements to it to the control plane (dp.PuntND), which answers
// and learns from them (package control/nd and control/nd.go). Resolving
// a next hop starts in dp/ip6's ip6-nd, which punts the waiting packet
// (dp.PuntResolve), as ip4-arp does for ARP.
//
// Hot path: no allocation, no lock, no interface call per packet, but ND
// is the slow path: nothing is answered in place.
//
// # Nodes and edges
//
//	nd-input -> drop; NS, NA and RS (where RA is on) punted (dp.PuntND)
//
// Predecessor: ip6-input, which reaches it by name (dp.Ref) for ICMPv6
// types 133..137 right after the IPv6 header, before its own source and
// destination checks (a DAD solicitation comes from ::, solicitations go
// to solicited-node groups, frames to 33:33:ff:xx:xx:xx: ethernet-input
// takes every group MAC, and the AF_PACKET port is promiscuous).
//
// # Rules (Check, table-tested in TestCheck)
//
// Hop limit 255; ICMPv6 checksum; code 0; at least the type's fixed
// length (RS 8, RA 16, NS and NA 24, Redirect 40 bytes); every option
// non-zero in length and within the message; NS, NA and Redirect target
// not multicast; an NS from :: only to a solicited-node group and without
// a source link-layer address option (DAD); an NA to a multicast group
// without the Solicited flag; RA and Redirect from a link-local source;
// no ND from a multicast or loopback source; an RS from :: without a
// source link-layer address option; the frame's source MAC not a group
// address, zero or the router's own.
//
// # Drop reasons (nd-input/...)
//
// too-short, bad-hop-limit, bad-checksum, bad-code, bad-option,
// multicast-target, bad-dad, bad-solicited-flag, bad-source, bad-sender,
// not-for-us, ignored (RA, Redirect, and RS where no Router
// Advertisements are sent), punt-queue-full.
package nd
