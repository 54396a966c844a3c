// Package hdr owns the wire formats softnet forwards: zero-copy header views
// (Ethernet, 802.1Q/802.1ad VLAN tags, ARP, IPv4, IPv6 and its extension
// headers, ICMPv4, ICMPv6, UDP, TCP) and the Internet checksum (RFC 1071,
// with incremental updates per RFC 1624).
//
// Hot path: yes. Every function here runs per packet, so nothing allocates
// (proven by the AllocsPerRun tests and the benchmarks), nothing keeps state,
// and the small accessors stay within the inliner's budget.
//
// Ownership: a view is a []byte type over the first byte of its header. It
// borrows the caller's bytes: reads and writes go straight to the packet
// buffer, and a view must not outlive the buffer it was made from. Slices
// returned by accessors (MACs, IPv6 addresses, payloads) alias the packet;
// to set a MAC or IPv6 address, copy into the returned slice.
//
// Length rules: accessors assume the caller has already checked the length,
// either with the view's Validate method or with an explicit length check
// against the header's fixed size constant (EthernetLen, IPv4MinLen, ...);
// on a short slice they may panic. Validate, ParseEthernet and
// IPv6.Transport never panic on any input.
//
// Results: validation returns a Status, a small enum whose String is a stable
// kebab-case name usable as a drop reason in counters and the CLI. Nothing
// in this package returns an error value.
//
// Concurrency: there is no shared state; a view may be used by one goroutine
// at a time, like the buffer it points at.
package hdr
