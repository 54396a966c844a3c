// Package ethernet is the first node of every received batch:
// ethernet-input, with the 802.1Q/802.1ad VLAN demux (vlan.go; the VLAN
// tables themselves are Config data, dp.VLANTable).
//
// Hot path: yes. Nodes are plain functions called once per vector
// through the engine's node table; per packet no allocation, no lock, no
// interface call.
//
// # Nodes and edges
//
//	ethernet-input -> l2-bridge, arp-input, ip4-input, ip6-input, drop
//
// The engine hands it every received batch (it is the end of the
// device-input arc) and w.RxIface names the receiving port. Its successors
// live in other packages and are resolved by name (dp.Ref): this package
// imports none of them.
//
// # Drop reasons (ethernet-input/...)
//
// runt, not-for-us, multicast-source (a routed frame from a group source
// MAC), own-source (a routed frame from the receiving interface's own
// MAC), unknown-ethertype, vlan-tagged, iface-down, rss-ring-full (counted by the engine's software RSS, which
// finds it by name), and the VLAN demux's vlan-unknown, vlan-reserved,
// vlan-stacked-priority, vlan-too-deep, vlan-truncated. l2-bridge counts
// iface-down and unknown-ethertype for frames it hands up to a BVI.
//
// Tests: the whole-graph tests of dp (vlan_test.go, vlan_alloc_test.go,
// golden, fast-path differential) drive it through a router.
package ethernet
