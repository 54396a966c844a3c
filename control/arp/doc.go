// Package arp is the control plane's side of ARP (RFC 826) on the wire:
// it builds the requests control.Router sends to resolve a neighbour and
// reads the ARP packets the data plane's arp-input punts to it. What is
// learnt from them is package neigh's state machine and control.Router's
// merge (control/arp.go); the data plane answers requests for the
// router's own addresses itself (dp, arp-input).
//
// Hot path: no. ARP resolves IPv4 addresses only: an IPv6 neighbour is
// resolved by neighbour discovery, not here.
package arp
