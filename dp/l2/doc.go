// Package l2 is the data plane's learning bridge, l2-bridge (IEEE 802.1D):
// MAC learning and ageing, flooding under a rate limit, and the routed
// interface in a bridge (BVI). The bridge domains themselves are Config
// data (dp.Bridge).
//
// Learning is shared across workers without a lock: each worker learns
// into its own table of a bridge and publishes it in the bridge's Shared
// (dp.Bridge.Shared, made by the control plane); a destination is looked
// up in every worker's table with atomic loads, and the most recently seen
// entry wins (the bridge clock is one for all workers). A lookup racing
// with the owner moving or deleting that entry may miss it: the frame is
// flooded, never sent to a wrong member.
//
// Hot path: yes (no allocation, no lock per packet; known unicast between
// untagged members is passed on as a vector).
//
// # Nodes and edges
//
//	l2-bridge -> interface-output, arp-input, ip4-input, ip6-input (BVI), drop; <- interface-output (sent on a BVI)
//
// Per-worker node state (dp.Node.State): a MAC table per bridge, its
// flood token bucket, the bridge clock (shared epoch). MACs and Now read it from other
// goroutines (control's show bridge); SetClock replaces the clock in
// tests.
//
// # Drop reasons (l2-bridge/...)
//
// not-member, multicast-source, link-local-group, same-member,
// flood-limited, no-members, no-buffer; it also counts
// ethernet-input/iface-down, ethernet-input/unknown-ethertype and
// ip4-rewrite/no-headroom, found by name (dp.RefReason).
//
// Tests: dp/bridge_test.go and dp/golden_l2_test.go, through a router
// (they share the bridge lab with the fast-path differential test).
package l2
