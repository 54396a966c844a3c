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
	// AdjForward: a resolved neighbour; Rewrite holds its Ethernet addresses.
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
// Ethernet addresses (destination then source) that ip4-rewrite copies in
// front of the IPv4 header, as VPP does.
type Adj struct {
	Kind    AdjKind
	Iface   uint16 // egress interface
	MTU     uint16 // egress IPv4 MTU
	Rewrite [12]byte
	Addr    uint32 // the neighbour's IPv4 address (gateway or host), for resolution
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
	Ifaces []Iface // index = interface (port) index

	// ICMP error rate limit per worker: a token bucket refilled at
	// ICMPRate tokens per second up to ICMPBurst.
	ICMPRate  int
	ICMPBurst int
}
