package dp

import (
	"encoding/binary"

	"github.com/softnet/softnet/hdr"
)

// VLAN sub-interfaces (IEEE 802.1Q, and 802.1ad QinQ) are ordinary
// interfaces of Config.Ifaces that receive and transmit on their parent's
// port. A VLAN costs a table index on input and a tag written into the
// headroom on output, nothing more: no list scan, no map, no lock.
//
// Demux: Config.VLANs[port] is the port's VLANTable (nil when it has
// none). A single 802.1Q tag (TPID 0x8100) indexes Dot1Q by its VID; a
// QinQ frame indexes QinQ by its outer VID, whose OuterTable (allocated
// only for configured outer tags) holds the outer TPID it must carry and
// indexes Inner by the inner (0x8100) VID. An entry is the sub-interface's
// index, with VLANDown set while it is down; 0 means no sub-interface (0
// is always a port's own interface, never a sub-interface).
//
// Encapsulation: a sub-interface's adjacencies carry its tags inside their
// precomputed Ethernet header (Adj.L2, Adj.TagLen), which ip4-rewrite
// writes with one fixed-size store, as it does an untagged one (see
// writeL2).

// Tag values (IEEE 802.1Q §9.6, Table 9-2).
const (
	MaxVLAN    = 4094   // VIDs 1..4094 name VLANs
	vidReserve = 4095   // reserved: never a VLAN
	vidMask    = 0x0fff // the VID bits of a TCI
	TagLen     = 4      // bytes of one tag: TPID and TCI
	// MaxL2 is the longest Ethernet header a frame leaves with: addresses,
	// two tags (QinQ) and the EtherType (Adj.L2).
	MaxL2 = 14 + 2*TagLen
	// VLANDown marks a table entry whose sub-interface is down.
	VLANDown = 0x8000
	// VLANBridged marks a table entry whose sub-interface is a bridge
	// member: its frames go to l2-bridge, whatever their MAC.
	VLANBridged = 0x4000
	// MaxIfaces bounds interface indices (a VLAN table entry holds one
	// with the two flag bits).
	MaxIfaces = 0x4000
	// TPID9100 is the pre-standard QinQ outer TPID some switches use.
	TPID9100 = 0x9100
)

// VLANTable maps a port's tags to its sub-interfaces. Immutable once
// published, like everything reachable from a Config.
type VLANTable struct {
	Dot1Q [4096]uint16       // single 0x8100 tag: VID -> interface (| VLANDown)
	QinQ  *[4096]*OuterTable // outer VID -> its inner table; nil: no QinQ on the port
}

// OuterTable is the inner-tag table of one (port, outer VID).
type OuterTable struct {
	TPID  uint16       // the outer tag's TPID (0x88A8, 0x8100 or 0x9100)
	Inner [4096]uint16 // inner (0x8100) VID -> interface (| VLANDown)
}

// putTags writes tags (right-aligned in an [8]byte, as Iface.Tags holds
// them) for vid behind an outer tag (outer 0: none).
func putTags(tags *[8]byte, vid, outer, tpid uint16) uint8 {
	*tags = [8]byte{}
	binary.BigEndian.PutUint16(tags[4:], hdr.EtherTypeVLAN)
	binary.BigEndian.PutUint16(tags[6:], vid)
	if outer == 0 {
		return TagLen
	}
	binary.BigEndian.PutUint16(tags[0:], tpid)
	binary.BigEndian.PutUint16(tags[2:], outer)
	return 2 * TagLen
}

// SetTags fills in a sub-interface's Tags and TagLen from VLAN, OuterVLAN
// and TPID (0x88A8 if zero); for a port's own interface (VLAN 0) it clears
// them.
func (ifc *Iface) SetTags() {
	if ifc.VLAN == 0 {
		ifc.Tags, ifc.TagLen = [8]byte{}, 0
		return
	}
	tpid := ifc.TPID
	if tpid == 0 {
		tpid = hdr.EtherTypeQinQ
	}
	ifc.TagLen = putTags(&ifc.Tags, ifc.VLAN, ifc.OuterVLAN, tpid)
}

// SetL2 sets the adjacency's Ethernet header (L2, TagLen): destination
// dst, source src, tags (0, 4 or 8 bytes in wire order, as
// Iface.TagBytes), EtherType et.
func (adj *Adj) SetL2(dst, src [6]byte, tags []byte, et uint16) {
	adj.L2 = [MaxL2]byte{}
	adj.TagLen = uint8(len(tags))
	h := adj.L2[MaxL2-hdr.EthernetLen-len(tags):]
	copy(h[0:6], dst[:])
	copy(h[6:12], src[:])
	copy(h[12:], tags)
	binary.BigEndian.PutUint16(h[12+len(tags):], et)
}

// Header returns the adjacency's Ethernet header in wire order (the last
// EthernetLen+TagLen bytes of L2).
func (adj *Adj) Header() []byte { return adj.L2[MaxL2-hdr.EthernetLen-int(adj.TagLen):] }

// DstMAC returns the header's destination MAC (the neighbour's).
func (adj *Adj) DstMAC() [6]byte { return [6]byte(adj.Header()) }

// EtherType returns the header's EtherType.
func (adj *Adj) EtherType() uint16 { return binary.BigEndian.Uint16(adj.L2[MaxL2-2:]) }

// PutL2 writes the Ethernet header of a frame leaving by adj into the
// front of f (dst, src, tags, EtherType et) and returns its length.
func (adj *Adj) PutL2(f []byte, et uint16) int {
	n := copy(f, adj.Header())
	binary.BigEndian.PutUint16(f[n-2:], et)
	return n
}

// TagBytes returns the interface's tags in wire order (empty for a port's
// own interface).
func (ifc *Iface) TagBytes() []byte { return ifc.Tags[8-ifc.TagLen:] }
