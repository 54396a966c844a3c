package dp

// Reason is why a packet left the graph without being sent: a small enum
// with a name, the stage that decides it and a one-line description (VPP's
// error counters). Drops are data, not errors: every reason has a counter
// per worker, summed on read.
type Reason uint16

// Drop reasons. Keep reasonInfo in the same order.
const (
	ReasonNone Reason = iota

	// ethernet-input
	EtherRunt
	EtherNotForUs
	EtherUnknownType
	EtherVLAN
	EtherIPv6
	EtherIfaceDown
	EtherRSSRingFull

	// ethernet-input, VLAN demux (IEEE 802.1Q)
	VLANUnknown
	VLANReserved
	VLANStackedPriority
	VLANTooDeep
	VLANTruncated

	// l2-bridge
	BridgeNotMember
	BridgeMulticastSource
	BridgeLinkLocal
	BridgeSameMember
	BridgeFloodLimited
	BridgeNoMembers
	BridgeNoBuffer

	// arp-input
	ARPMalformed
	ARPNotForUs
	ARPBadSender

	// ip4-input (RFC 1812 §5.2.2, §5.3.7)
	IP4TooShort
	IP4BadVersion
	IP4BadIHL
	IP4BadChecksum
	IP4BadTotalLen
	IP4MartianSource
	IP4MartianDest
	IP4Multicast
	IP4Broadcast

	// ip4-lookup
	IP4NoRoute
	IP4L2Broadcast
	IP4DirectedBroadcast
	IP4Blackhole

	// ip4-arp
	IP4PuntQueueFull
	IP4ResolveLoop

	// ip4-rewrite
	IP4NoRoom

	// ip4-frag
	IP4FragNoBuffer
	IP4FragMTU
	IP4FragBadOffset
	IP4FragIfaceDown

	// ip4-local
	IP4LocalFragment
	IP4LocalTCP
	IP4LocalICMPBad
	IP4LocalICMPOther

	// icmp4-error (RFC 1812 §4.3.2.7)
	ICMPAboutICMPError
	ICMPAboutBroadcast
	ICMPAboutFragment
	ICMPAboutMartian
	ICMPAboutLocal
	ICMPRateLimited
	ICMPNoSource
	ICMPNoRoom

	// interface-output
	OutIfaceDown
	OutTxFull

	NumReasons
)

type reasonInfo struct {
	stage Stage
	name  string
	desc  string
}

var reasons = [NumReasons]reasonInfo{
	ReasonNone: {StageDrop, "none", "no reason recorded (a bug if it counts)"},

	EtherRunt:        {StageEthernetInput, "runt", "frame shorter than an Ethernet header"},
	EtherNotForUs:    {StageEthernetInput, "not-for-us", "destination MAC is neither the interface's, broadcast nor multicast we accept"},
	EtherUnknownType: {StageEthernetInput, "unknown-ethertype", "EtherType not handled (not IPv4 or ARP)"},
	EtherVLAN:        {StageEthernetInput, "vlan-tagged", "802.1Q/802.1ad tagged frame on an interface with no VLAN sub-interfaces"},
	EtherIPv6:        {StageEthernetInput, "ip6-unsupported", "IPv6 is not forwarded yet"},
	EtherIfaceDown:   {StageEthernetInput, "iface-down", "frame received on an interface (or VLAN sub-interface) that is down"},
	EtherRSSRingFull: {StageEthernetInput, "rss-ring-full", "software RSS: the lane to the worker that owns the flow was full (an ifq drop: that worker is behind)"},

	VLANUnknown:         {StageEthernetInput, "vlan-unknown", "VLAN tag (or outer/inner pair) with no sub-interface on the receiving port"},
	VLANReserved:        {StageEthernetInput, "vlan-reserved", "VID 4095, reserved by IEEE 802.1Q: never a VLAN"},
	VLANStackedPriority: {StageEthernetInput, "vlan-stacked-priority", "VID 0 (priority tag) behind another tag, or a tag behind a priority tag"},
	VLANTooDeep:         {StageEthernetInput, "vlan-too-deep", "more VLAN tags than the sub-interface is configured with"},
	VLANTruncated:       {StageEthernetInput, "vlan-truncated", "frame ends inside a VLAN tag"},

	BridgeNotMember:       {StageBridge, "not-member", "the interface is no longer a member of a bridge (the config changed)"},
	BridgeMulticastSource: {StageBridge, "multicast-source", "source MAC is multicast or broadcast: invalid, neither learned nor forwarded (IEEE 802.1D)"},
	BridgeLinkLocal:       {StageBridge, "link-local-group", "to 01:80:c2:00:00:0x, the 802.1D reserved link-local group (STP, LACP, LLDP, pause): never forwarded by a bridge"},
	BridgeSameMember:      {StageBridge, "same-member", "destination MAC was learned on the receiving member: filtered"},
	BridgeFloodLimited:    {StageBridge, "flood-limited", "broadcast, multicast or unknown unicast over the bridge's flood rate limit"},
	BridgeNoMembers:       {StageBridge, "no-members", "nowhere to flood: no other member is up"},
	BridgeNoBuffer:        {StageBridge, "no-buffer", "no free buffer for a flooded copy"},

	ARPMalformed: {StageARPInput, "malformed", "not an Ethernet/IPv4 ARP request or reply, or truncated"},
	ARPNotForUs:  {StageARPInput, "not-for-us", "ARP target address is not one of the interface's addresses"},
	ARPBadSender: {StageARPInput, "bad-sender", "ARP sender IP not on the interface's subnet or ours, or sender MAC broadcast/multicast/zero/ours (RFC 1812 §3.3.2)"},

	IP4TooShort:      {StageIP4Input, "too-short", "shorter than an IPv4 header (RFC 1812 §5.2.2)"},
	IP4BadVersion:    {StageIP4Input, "bad-version", "IP version is not 4"},
	IP4BadIHL:        {StageIP4Input, "bad-ihl", "header length below 20 or past the end of the packet"},
	IP4BadChecksum:   {StageIP4Input, "bad-checksum", "IPv4 header checksum is wrong"},
	IP4BadTotalLen:   {StageIP4Input, "bad-total-length", "total length below the header length or above the bytes received"},
	IP4MartianSource: {StageIP4Input, "martian-source", "source is 0/8, 127/8, multicast, class E or broadcast (RFC 1812 §5.3.7)"},
	IP4MartianDest:   {StageIP4Input, "martian-destination", "destination is 0/8, 127/8 or class E (RFC 1812 §5.3.7)"},
	IP4Multicast:     {StageIP4Input, "multicast", "multicast destination: no multicast routing"},
	IP4Broadcast:     {StageIP4Input, "broadcast", "limited or directed broadcast: not forwarded (RFC 2644)"},

	IP4NoRoute:           {StageIP4Lookup, "no-route", "no route for a packet the router originated"},
	IP4L2Broadcast:       {StageIP4Lookup, "l2-broadcast", "received as link-layer broadcast or multicast: not forwarded (RFC 1812 §5.3.4)"},
	IP4DirectedBroadcast: {StageIP4Lookup, "directed-broadcast", "to a connected subnet's broadcast address: not forwarded (RFC 2644)"},
	IP4Blackhole:         {StageIP4Lookup, "blackhole", "route to a blackhole next hop"},

	IP4PuntQueueFull: {StageIP4ARP, "punt-queue-full", "the queue to the control plane (ARP resolution and learning) is full"},

	IP4ResolveLoop: {StageIP4ARP, "resolve-loop", "a packet released after resolution needed resolving again (no host route): dropped, not re-punted"},
	IP4NoRoom:      {StageIP4Rewrite, "no-headroom", "no headroom to write the Ethernet header"},

	IP4FragNoBuffer: {StageIP4Frag, "no-buffer", "no free buffer for a fragment"},

	IP4FragMTU:        {StageIP4Frag, "mtu-too-small", "egress MTU leaves no room for 8 bytes of payload per fragment"},
	IP4FragBadOffset:  {StageIP4Frag, "bad-offset", "fragment offset plus length beyond 65535 (RFC 791)"},
	IP4FragIfaceDown:  {StageIP4Frag, "iface-down", "egress interface is down"},
	IP4LocalFragment:  {StageIP4Local, "fragment", "fragment addressed to the router: no reassembly"},
	IP4LocalTCP:       {StageIP4Local, "tcp", "TCP to the router: no TCP service"},
	IP4LocalICMPBad:   {StageIP4Local, "icmp-malformed", "ICMP to the router is truncated or has a bad checksum"},
	IP4LocalICMPOther: {StageIP4Local, "icmp-consumed", "ICMP to the router other than echo request, consumed"},

	ICMPAboutICMPError: {StageICMP4Error, "about-icmp-error", "no ICMP error about an ICMP error (RFC 1812 §4.3.2.7)"},
	ICMPAboutBroadcast: {StageICMP4Error, "about-broadcast", "no ICMP error about a broadcast or multicast packet"},
	ICMPAboutFragment:  {StageICMP4Error, "about-fragment", "no ICMP error about a non-first fragment"},
	ICMPAboutMartian:   {StageICMP4Error, "about-martian", "no ICMP error to an invalid source address"},
	ICMPAboutLocal:     {StageICMP4Error, "about-local", "no ICMP error about a packet the router originated"},
	ICMPRateLimited:    {StageICMP4Error, "rate-limited", "ICMP error suppressed by the per-worker token bucket"},
	ICMPNoSource:       {StageICMP4Error, "no-source-address", "the receiving interface has no IPv4 address to send the error from"},

	ICMPNoRoom:   {StageICMP4Error, "no-headroom", "no headroom to build the error in place"},
	OutIfaceDown: {StageInterfaceOutput, "iface-down", "egress interface is down"},
	OutTxFull:    {StageInterfaceOutput, "tx-full", "the port's transmit ring was full"},
}

// Stage returns the stage that counts the reason.
func (r Reason) Stage() Stage { return reasons[r].stage }

// Name returns the reason's stable kebab-case name, unique within its stage.
func (r Reason) Name() string { return reasons[r].name }

// Desc returns a one-line description.
func (r Reason) Desc() string { return reasons[r].desc }

// String returns "stage/name".
func (r Reason) String() string { return r.Stage().String() + "/" + r.Name() }
