package dp

import (
	"encoding/binary"
	"net/netip"
	"unsafe"

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
	// packets are punted to the control plane, which queues them and
	// resolves Addr (ARP for IPv4).
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
	// AdjGroup: an ECMP group (routes with several next hops). Group and
	// GroupN locate its buckets in Config.ECMP; ip4-lookup and ip6-lookup
	// replace the route's index by the bucket the packet's flow hash
	// picks (see PickECMP), so the later stages never see this kind.
	AdjGroup
)

// Adj is one adjacency: what to do with packets whose FIB next-hop index
// is its index in Config.Adj. For AdjForward it holds the ready-made
// Ethernet header (destination, source, the egress interface's VLAN tags
// if any, EtherType) that ip4-rewrite copies in front of the IPv4 header,
// as VPP does: tagged or not, one fixed-size store of L2 (see writeL2).
// The control plane builds the header (SetL2), so the EtherType is the
// adjacency's, not the node's: an IPv6 neighbour's adjacency ends with
// 0x86DD, an IPv4 one's with 0x0800.
//
// Addr is the neighbour's address in 16 bytes, IPv4 or IPv6 alike (an
// IPv4 address IPv4-mapped, ::ffff:a.b.c.d, as pkt.Meta.Dst and Msg.Addr):
// one Adj type serves both families. It is last: the fields ip4-rewrite
// reads per packet come first.
type Adj struct {
	Kind   AdjKind
	TagLen uint8  // bytes of VLAN tags in the header: 0, 4 (802.1Q) or 8 (QinQ)
	Iface  uint16 // egress interface
	MTU    uint16 // egress IP MTU (the interface's)
	// L2 is the Ethernet header, right-aligned: its last
	// EthernetLen+TagLen bytes are the destination MAC, the source MAC,
	// the tags and the EtherType (Header); the bytes before them are
	// zero. All zero until the neighbour is resolved.
	L2   [MaxL2]byte
	Addr [16]byte // the neighbour's address (gateway or host), for resolution; see Addr4, IP
	// Group and GroupN, for AdjGroup only: the group's buckets are
	// Config.ECMP[Group : Group+GroupN], each a member's adjacency index
	// (a member of weight w holds w buckets, in proportion).
	Group  uint32
	GroupN uint16
	// An Adj fills one 64-byte cache line (adjSize): ip4-rewrite reads
	// the fields above per packet, and a record that straddled two lines
	// (44 bytes unpadded) would cost a second miss on a large table.
	_ [14]byte
}

// adjSize is the size of an Adj: one cache line. The build fails here if
// a field is added without shrinking the padding.
const adjSize = 64

var _ [adjSize - unsafe.Sizeof(Adj{})]byte
var _ [unsafe.Sizeof(Adj{}) - adjSize]byte

// IP returns the neighbour's address: IPv4 (unmapped) or IPv6. The zero
// Addr (glean, local and the other kinds with no neighbour) is ::.
func (a *Adj) IP() netip.Addr { return netip.AddrFrom16(a.Addr).Unmap() }

// Addr4 returns the neighbour's IPv4 address as hdr reads one (the first
// byte on the wire most significant): the last four bytes of Addr. Only
// meaningful for an IPv4 neighbour (the ip4 nodes see no other).
func (a *Adj) Addr4() uint32 { return binary.BigEndian.Uint32(a.Addr[12:]) }

// Mapped4 returns the IPv4 address v (as hdr reads it) IPv4-mapped in 16
// bytes (::ffff:a.b.c.d, RFC 4291 §2.5.5.2): how Adj.Addr, IfaceAddr.Addr,
// Msg.Addr and pkt.Meta.Dst hold an IPv4 address.
func Mapped4(v uint32) [16]byte {
	return [16]byte{10: 0xff, 11: 0xff, 12: byte(v >> 24), 13: byte(v >> 16), 14: byte(v >> 8), 15: byte(v)}
}

// Iface is the data plane's view of one interface.
type Iface struct {
	Name string
	MAC  [6]byte
	MTU  int // IP MTU (bytes of IP datagram)
	// Addr4 is the primary IPv4 address (the first IPv4 one of Addrs), the
	// source of ICMP errors ip4-local sends; 0 if none. Addr6 is the
	// primary IPv6 address (the first IPv6 one of Addrs), the usual
	// source of ICMPv6 errors (dp/ip6 errorSource); all zero if none. Both are
	// copies of Addrs the nodes read without walking it.
	Addr4 uint32
	Addr6 [16]byte
	// LinkLocal is the interface's IPv6 link-local address (fe80::/10,
	// RFC 4291 §2.5.6): its first configured one, else the modified
	// EUI-64 one derived from MAC (RFC 4291 Appendix A; see
	// LinkLocalOf). The control plane sets it when it publishes; the
	// router answers Neighbor Discovery and echo requests for it.
	LinkLocal [16]byte
	// RA: the router sends Router Advertisements on the interface
	// (control.IfaceConfig.RA); nd-input punts Router Solicitations
	// received on it, and drops them as ignored otherwise.
	RA bool
	// Host: the interface has a host interface (linux_cp's TAP in a
	// Linux namespace, control.Router.SetHostInterface): ip4-local,
	// ip6-local, ip4-input and ip6-input hand traffic to the router's
	// addresses that softnet does not answer itself (TCP, UDP, other
	// protocols, ICMP other than echo, link-local multicast) to
	// host-punt instead of dropping it or answering it with an error.
	Host bool
	// HostNeigh: Linux behind the host interface answers ARP requests
	// and Neighbor Solicitations for the interface's addresses (linux_cp
	// arp_nd: linux): arp-input punts a request for learning but does
	// not answer it (the control plane copies it to the host interface,
	// and does not answer Neighbor Solicitations either). ARP probes
	// (RFC 5227) are still answered here.
	HostNeigh bool
	// Addrs are the interface's addresses, IPv4 and IPv6, with their
	// prefix lengths (see IfaceAddr, SetAddrs).
	Addrs []IfaceAddr
	Up    bool
	// Downs counts the times the interface went down (wrapping): a MAC
	// a bridge learned on it before the last is forgotten (dp/l2).
	Downs uint16

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

// IfaceAddr is one address of an interface, IPv4 or IPv6 alike: Addr in
// network byte order, an IPv4 address IPv4-mapped (::ffff:a.b.c.d, as
// Adj.Addr), and Len its prefix length in its own family (0..32 for IPv4,
// 0..128 for IPv6: as netip.Prefix.Bits). An IPv4-mapped IPv6 address is
// never an interface address (the control plane refuses one), so the
// mapping tells the families apart. Make one with IfaceAddrOf.
type IfaceAddr struct {
	Addr [16]byte
	Len  uint8
}

// IfaceAddrOf returns p as an IfaceAddr (p's address unmapped first).
func IfaceAddrOf(p netip.Prefix) IfaceAddr {
	return IfaceAddr{Addr: p.Addr().Unmap().As16(), Len: uint8(p.Bits())}
}

// Is4 reports whether a is an IPv4 address.
func (a IfaceAddr) Is4() bool {
	return [12]byte(a.Addr[:12]) == [12]byte{10: 0xff, 11: 0xff}
}

// Addr4 returns an IPv4 address as hdr reads one (the first byte on the
// wire most significant). Only meaningful when Is4.
func (a IfaceAddr) Addr4() uint32 { return binary.BigEndian.Uint32(a.Addr[12:]) }

// Prefix returns a as a netip.Prefix: an IPv4 prefix (unmapped) or an
// IPv6 one.
func (a IfaceAddr) Prefix() netip.Prefix {
	return netip.PrefixFrom(netip.AddrFrom16(a.Addr).Unmap(), int(a.Len))
}

// SetAddrs sets ifc's addresses to ps, in order, and its primary
// addresses Addr4 and Addr6 from them. Addrs is a new slice: a published
// Iface's is never modified.
func (ifc *Iface) SetAddrs(ps []netip.Prefix) {
	ifc.Addrs, ifc.Addr4, ifc.Addr6 = nil, 0, [16]byte{}
	have6 := false
	for _, p := range ps {
		a := IfaceAddrOf(p)
		ifc.Addrs = append(ifc.Addrs, a)
		switch {
		case a.Is4() && ifc.Addr4 == 0:
			ifc.Addr4 = a.Addr4()
		case !a.Is4() && !have6:
			ifc.Addr6, have6 = a.Addr, true
		}
	}
}

// LinkLocalOf returns ifc's link-local address: its first configured
// fe80::/10 address, else fe80::/64 with the modified EUI-64 interface
// identifier of ifc.MAC (RFC 4291 Appendix A: the universal/local bit
// flipped, ff:fe in the middle).
func LinkLocalOf(ifc *Iface) [16]byte {
	for _, a := range ifc.Addrs {
		if a.Addr[0] == 0xfe && a.Addr[1]&0xc0 == 0x80 {
			return a.Addr
		}
	}
	m := ifc.MAC
	return [16]byte{0: 0xfe, 1: 0x80, 8: m[0] ^ 2, 9: m[1], 10: m[2], 11: 0xff, 12: 0xfe, 13: m[3], 14: m[4], 15: m[5]}
}

// Config is an immutable snapshot of everything the data plane reads. The
// control plane builds a new one for every change and publishes it with an
// atomic pointer; a worker loads it once per batch, so each packet sees
// either the old or the new snapshot, never a mix. Nothing reachable from a
// published Config is ever modified.
type Config struct {
	FIB *fib.Snapshot
	// FIB6 is the IPv6 FIB (dp/ip6's ip6-lookup), published with FIB;
	// its next-hop indices index Adj too. Nil: no IPv6 route.
	FIB6 *fib.Snapshot6
	Adj  []Adj // index = FIB next-hop index; Adj[0] is AdjNone
	// ECMP holds the buckets of every AdjGroup adjacency (Adj.Group,
	// Adj.GroupN): adjacency indices of the group's live members. Empty
	// when no route has several next hops.
	ECMP   []uint16
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

	// Host punt rate limit per worker and per class (host-punt, package
	// dp/hostpunt): a token bucket refilled at HostRate packets per
	// second up to HostBurst. Zero: the defaults (DefaultHostRate,
	// DefaultHostBurst).
	HostRate  int
	HostBurst int

	// EarlyDrop is the early-drop stage's blocklists (an *edrop.Holder,
	// made by the control plane and the same in every snapshot: its lists
	// are swapped atomically inside it). Nil: no blocklists.
	EarlyDrop any

	// Filter is the stateful filter (a *filter.Holder, made by the
	// control plane and the same in every snapshot: its rules are
	// swapped atomically inside it, and it holds each worker's state
	// table). Nil: no filter.
	Filter any

	// Taps is the running packet captures' index (capture.go; nil: no
	// capture). The control plane rebuilds it on each publish while a
	// capture runs.
	Taps *Taps
}

// DefaultHostRate and DefaultHostBurst are the host punt rate limit of
// a Config that sets none (see Config.HostRate): per worker and class.
const (
	DefaultHostRate  = 10000
	DefaultHostBurst = 2000
)

// Bridge is one bridge domain of a Config: a learning switch across its
// member interfaces (ports or VLAN sub-interfaces), with an optional
// routed interface in it (BVI).
//
// A member's frames all go to l2-bridge, whatever their destination MAC;
// a member has no addresses of its own. The BVI is an ordinary L3
// interface of Config.Ifaces with no port: frames to its MAC go up to
// arp-input, ip4-input and ip6-input as received on it, and what the router sends
// out of it (routed packets, ARP) enters the bridge as from a member.
type Bridge struct {
	Name    string
	Members []uint16 // interface indices
	BVI     int      // interface index of the routed interface, -1 if none
	MaxMACs int      // learned MACs per worker (each worker's table limit)
	Ageing  int64    // ns a learned MAC lives without being seen
	// FloodRate and FloodBurst are a per-worker token bucket for flooded
	// frames (unknown unicast, broadcast, multicast), in frames per second.
	FloodRate, FloodBurst int
	// Shared is the bridge's learning shared by the workers (an
	// *l2.Shared: each worker's MAC table, which every worker looks
	// destinations up in), made by the control plane with the bridge and
	// the same in every snapshot: the one thing reachable from a Config
	// that changes (each worker writes only its own table, atomically).
	// Nil: each worker knows only the MACs it learned itself.
	Shared any
}

// portBVI marks a BVI in Worker.portOf: it has no port; interface-output
// hands its packets to l2-bridge.
const portBVI = 0xffff
