package dp

import (
	"github.com/softnet/softnet/fib"
)

// AdjKind says what ip4-lookup and ip4-rewrite do with a packet whose route
// points at an adjacency.
type AdjKind uint8

const (
	// AdjNone is adjacency 0: no route. Transit packets get ICMP
	// destination unreachable (net), RFC 1812 §5.2.7.1.
	AdjNone AdjKind = iota
	// AdjForward: a resolved neighbour; Rewrite holds its Ethernet header.
	AdjForward
	// AdjIncomplete: a neighbour (gateway or host) not yet resolved;
	// packets are punted to the control plane, which queues them and ARPs
	// for Addr.
	AdjIncomplete
	// AdjGlean: a connected subnet; packets are punted so the control
	// plane resolves the destination itself.
	AdjGlean
	// AdjLocal: one of the router's own addresses.
	AdjLocal
	// AdjBroadcast: a directed broadcast address of a connected subnet.
	AdjBroadcast
	// AdjDrop: a blackhole route.
	AdjDrop
	// AdjUnreachable: a neighbour that did not answer ARP; ICMP host
	// unreachable (RFC 1812 §5.2.7.1).
	AdjUnreachable
)

// Adj is one adjacency: what to do with packets whose FIB next-hop index
// is its index in Config.Adj. For AdjForward it holds the ready-made
// Ethernet header (destination, source, the egress interface's VLAN tags
// if any, EtherType) that ip4-rewrite copies in front of the IPv4 header,
// as VPP does: tagged or not, one fixed-size store of L2 (see writeL2).
// The control plane builds the header (SetL2), so the EtherType is the
// adjacency's, not the node's.
type Adj struct {
	Kind   AdjKind
	TagLen uint8  // bytes of VLAN tags in the header: 0, 4 (802.1Q) or 8 (QinQ)
	Iface  uint16 // egress interface
	MTU    uint16 // egress IPv4 MTU
	// L2 is the Ethernet header, right-aligned: its last
	// EthernetLen+TagLen bytes are the destination MAC, the source MAC,
	// the tags and the EtherType (Header); the bytes before them are
	// zero. All zero until the neighbour is resolved.
	L2   [MaxL2]byte
	Addr uint32 // the neighbour's IPv4 address (gateway or host), for resolution
}

// Iface is the data plane's view of one interface.
type Iface struct {
	Name string
	MAC  [6]byte
	MTU  int    // IPv4 MTU (bytes of IP datagram)
	Addr uint32 // primary IPv4 address, the source of ICMP errors; 0 if none
	// Addrs are the interface's IPv4 addresses with their prefix lengths.
	Addrs []IfaceAddr
	Up    bool

	// A VLAN sub-interface (VLAN != 0) receives and transmits on the port
	// of interface Parent, a port's own interface, with the same MAC. It
	// carries one 802.1Q tag VLAN, or for QinQ the outer tag OuterVLAN
	// (TPID, 0x88A8 if zero) around the inner 0x8100 tag VLAN. Tags and
	// TagLen are those tags in wire order, right-aligned in Tags (set by
	// SetTags). All zero for a port's own interface.
	Parent    uint16
	VLAN      uint16
	OuterVLAN uint16
	TPID      uint16
	TagLen    uint8
	Tags      [8]byte

	// Bridge is 1 + the index in Config.Bridges of the bridge this
	// interface is a member or the BVI of; 0 for none.
	Bridge uint16

	// Deleted marks a VLAN sub-interface deleted at run time: it is down,
	// has no name, no address and no VLAN table entry, so nothing reaches
	// it. The control plane gives its index to a later VLAN once every
	// worker has polled past the delete (control/vlan.go, freedIface).
	Deleted bool

	// Features are the feature nodes (registered with an Arc, see
	// arc.go) the interface's packets run through, by node name, in
	// order per arc; empty for none. Set for a port interface, they
	// apply on device-input to everything received on the port.
	Features []string
}

// PortOf returns the index of the port interface i transmits on: i itself,
// or a sub-interface's parent.
func (c *Config) PortOf(i int) int {
	if i < len(c.Ifaces) && c.Ifaces[i].TagLen != 0 {
		return int(c.Ifaces[i].Parent)
	}
	return i
}

// IfaceAddr is one address of an interface.
type IfaceAddr struct {
	Addr uint32
	Len  uint8
}

// Config is an immutable snapshot of everything the data plane reads. The
// control plane builds a new one for every change and publishes it with an
// atomic pointer; a worker loads it once per batch, so each packet sees
// either the old or the new snapshot, never a mix. Nothing reachable from a
// published Config is ever modified.
type Config struct {
	FIB    *fib.Snapshot
	Adj    []Adj   // index = FIB next-hop index; Adj[0] is AdjNone
	Ifaces []Iface // index = interface index: ports first, then VLAN sub-interfaces
	// VLANs demuxes tagged frames: index = port interface index; nil (or
	// short) for ports with no sub-interfaces. See VLANTable.
	VLANs []*VLANTable
	// Bridges are the bridge domains (see Bridge).
	Bridges []Bridge

	// ICMP error rate limit per worker: a token bucket refilled at
	// ICMPRate tokens per second up to ICMPBurst.
	ICMPRate  int
	ICMPBurst int
}

// Bridge is one bridge domain of a Config: a learning switch across its
// member interfaces (ports or VLAN sub-interfaces), with an optional
// routed interface in it (BVI).
//
// A member's frames all go to l2-bridge, whatever their destination MAC;
// a member has no addresses of its own. The BVI is an ordinary L3
// interface of Config.Ifaces with no port: frames to its MAC go up to
// arp-input and ip4-input as received on it, and what the router sends
// out of it (routed packets, ARP) enters the bridge as from a member.
type Bridge struct {
	Name    string
	Members []uint16 // interface indices
	BVI     int      // interface index of the routed interface, -1 if none
	MaxMACs int      // learned MACs per worker (the table limit)
	Ageing  int64    // ns a learned MAC lives without being seen
	// FloodRate and FloodBurst are a per-worker token bucket for flooded
	// frames (unknown unicast, broadcast, multicast), in frames per second.
	FloodRate, FloodBurst int
}

// portBVI marks a BVI in Worker.portOf: it has no port; interface-output
// hands its packets to l2-bridge.
const portBVI = 0xffff
