// Package nodes is the router's whole packet graph: it imports every
// protocol package of dp, each of which registers its nodes with
// dp.Register when it is initialised. Import it (for its side effect)
// wherever workers run the real graph: softnet, bench, lab and the
// tests that make routers.
//
//	import _ "github.com/softnet/softnet/dp/nodes"
//
// A new protocol folder is added here, one line. The engine (package dp)
// names none of them: a worker made without them panics with the next
// node that is missing and this import as the fix.
package nodes

import (
	_ "github.com/softnet/softnet/dp"          // the engine's nodes: interface-output, drop
	_ "github.com/softnet/softnet/dp/arp"      // arp-input
	_ "github.com/softnet/softnet/dp/edrop"    // early-drop (device-input feature)
	_ "github.com/softnet/softnet/dp/ethernet" // ethernet-input (with the VLAN demux)
	_ "github.com/softnet/softnet/dp/filter"   // ip4-filter, ip6-filter (ip4-unicast, ip6-unicast features)
	_ "github.com/softnet/softnet/dp/hostpunt" // host-punt (linux_cp host interfaces)
	_ "github.com/softnet/softnet/dp/ip4"      // ip4-input, ip4-lookup, ip4-local, ip4-rewrite, ip4-arp, ip4-frag, icmp4-error
	_ "github.com/softnet/softnet/dp/ip6"      // ip6-input, ip6-lookup, ip6-local, ip6-rewrite, ip6-nd, icmp6-error
	_ "github.com/softnet/softnet/dp/l2"       // l2-bridge
	_ "github.com/softnet/softnet/dp/nd"       // nd-input
)
