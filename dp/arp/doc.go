// Package arp is the data plane's ARP node, arp-input (RFC 826): it
// answers requests for the router's addresses in place and punts what the
// control plane learns from (package control/arp reads those punts and
// builds requests).
//
// Hot path: yes (no allocation, no lock, no interface call per packet).
//
// # Nodes and edges
//
//	arp-input -> interface-output (replies), drop; learning punted (dp.PuntARP)
//
// Predecessors: ethernet-input and l2-bridge (a BVI's ARP), which reach it
// by name.
//
// # Drop reasons (arp-input/...)
//
// malformed, not-for-us, bad-sender (Malformed, NotForUs, BadSender).
package arp
