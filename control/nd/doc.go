// Package nd is the control plane's side of IPv6 Neighbor Discovery (RFC
// 4861) on the wire, as control/arp is ARP's: it builds the Neighbor
// Solicitations control.Router sends to resolve and probe an IPv6
// neighbour (to its solicited-node group, or unicast), the Neighbor
// Advertisements that answer solicitations for the router's addresses
// (Router flag set), the Router Advertisements of interfaces that send
// them (control.IfaceConfig.RA: prefixes, MTU, link-layer address), and
// reads the NS, NA and RS the data plane's nd-input checked and punted
// (package dp/nd). The state machine (Incomplete,
// Reachable, Stale, Delay, Probe) is package neigh's; what is learnt from
// each message is control.Router's (control/nd.go).
//
// Hot path: no.
package nd
