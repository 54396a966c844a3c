package dp

import (
	"encoding/binary"

	"github.com/softnet/softnet/hdr"
	"github.com/softnet/softnet/pkt"
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
// Encapsulation: a sub-interface's adjacencies carry its tags (Adj.Tags,
// Adj.TagLen), which ip4-rewrite writes with the Ethernet addresses in one
// pass of fixed-size stores (see writeL2).

// Tag values (IEEE 802.1Q §9.6, Table 9-2).
const (
	MaxVLAN    = 4094   // VIDs 1..4094 name VLANs
	vidReserve = 4095   // reserved: never a VLAN
	vidMask    = 0x0fff // the VID bits of a TCI
	TagLen     = 4      // bytes of one tag: TPID and TCI
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

// isTPID reports whether an EtherType is a VLAN tag's TPID.
func isTPID(t uint16) bool {
	return t == hdr.EtherTypeVLAN || t == hdr.EtherTypeQinQ || t == TPID9100
}

// vlanInput classifies a tagged frame f received on port iface (whose
// VLAN table is vt, nil if none). It returns the interface the frame
// belongs to, the offset of its payload and the payload's EtherType, or
// a drop reason. The frame is at least an Ethernet header long and its
// EtherType is a TPID.
//
//   - A priority tag (VID 0) is treated as untagged, once: the frame
//     belongs to the port itself (IEEE 802.1Q §6.9.1). A tag behind it, or
//     an inner VID 0, is VLANStackedPriority.
//   - VID 4095 is reserved: VLANReserved.
//   - A VID (or outer/inner VID pair) with no sub-interface: VLANUnknown;
//     on a port with no sub-interfaces at all: EtherVLAN.
//   - A tag behind the tags the sub-interface is configured with:
//     VLANTooDeep. A frame that ends inside a tag: VLANTruncated.
func vlanInput(vt *VLANTable, iface uint16, f []byte) (uint16, int, uint16, Reason) {
	if len(f) < hdr.EthernetLen+TagLen {
		return 0, 0, 0, VLANTruncated
	}
	tpid := binary.BigEndian.Uint16(f[12:14])
	vid := binary.BigEndian.Uint16(f[14:16]) & vidMask
	et := binary.BigEndian.Uint16(f[16:18])
	switch {
	case vid == 0:
		if isTPID(et) {
			return 0, 0, 0, VLANStackedPriority
		}
		return iface, hdr.EthernetLen + TagLen, et, ReasonNone
	case vid == vidReserve:
		return 0, 0, 0, VLANReserved
	case vt == nil:
		return 0, 0, 0, EtherVLAN
	}
	if tpid == hdr.EtherTypeVLAN {
		if e := vt.Dot1Q[vid]; e != 0 {
			if isTPID(et) {
				return 0, 0, 0, VLANTooDeep
			}
			return e, hdr.EthernetLen + TagLen, et, ReasonNone
		}
	}
	if vt.QinQ == nil {
		return 0, 0, 0, VLANUnknown
	}
	o := vt.QinQ[vid]
	if o == nil || o.TPID != tpid || et != hdr.EtherTypeVLAN {
		// No such outer tag, or an outer tag with no inner one: nothing
		// is configured for it.
		return 0, 0, 0, VLANUnknown
	}
	if len(f) < hdr.EthernetLen+2*TagLen {
		return 0, 0, 0, VLANTruncated
	}
	ivid := binary.BigEndian.Uint16(f[18:20]) & vidMask
	et = binary.BigEndian.Uint16(f[20:22])
	switch {
	case ivid == 0:
		return 0, 0, 0, VLANStackedPriority
	case ivid == vidReserve:
		return 0, 0, 0, VLANReserved
	}
	e := o.Inner[ivid]
	switch {
	case e == 0:
		return 0, 0, 0, VLANUnknown
	case isTPID(et):
		return 0, 0, 0, VLANTooDeep
	}
	return e, hdr.EthernetLen + 2*TagLen, et, ReasonNone
}

// etherVLANFast passes frames from in.B[i:] while they are IPv4 in one
// 802.1Q tag of an up sub-interface, to the port's unicast MAC: it sets
// their interface and L3, counts them on the sub-interface, compacts them
// to in.B[k:] and returns where it stopped, the new k and how many it
// passed. Like etherFast it makes no calls. Counts are added per run of
// frames of one sub-interface, not per frame: a per-frame increment of
// the same counter would chain every iteration through memory.
func etherVLANFast(in *pkt.Batch, i, k int, vt *VLANTable, macHi uint32, macLo uint16, rxp, rxb []uint64) (int, int, int) {
	n := in.N
	start := i
	cur := uint16(0)
	var cn, cb uint64
	mac := uint64(macHi)<<16 | uint64(macLo)
	recs := pkt.Records()
	for ; i < n; i++ {
		x := in.B[i]
		b := recs.At(x)
		f := b.Bytes()
		if len(f) < hdr.EthernetLen+TagLen {
			break
		}
		// Three loads: the destination MAC (with two bytes of the
		// source, shifted out), TPID and TCI, the inner EtherType.
		tag := binary.BigEndian.Uint32(f[12:16])
		if binary.BigEndian.Uint64(f[0:8])>>16 != mac || tag>>16 != hdr.EtherTypeVLAN ||
			binary.BigEndian.Uint16(f[16:18]) != hdr.EtherTypeIPv4 {
			break
		}
		e := vt.Dot1Q[tag&vidMask]
		// One unsigned compare: 0 (no sub-interface) wraps round, the
		// flag bits (down, bridged) are above every index, and an index
		// past the counters (a config newer than them) stops too.
		if uint(e)-1 >= uint(len(rxp))-1 {
			break
		}
		if e != cur {
			if cn > 0 {
				rxp[cur] += cn
				rxb[cur] += cb
			}
			cur, cn, cb = e, 0, 0
		}
		cn++
		cb += uint64(b.Len)
		b.InPort = e
		b.L3 = hdr.EthernetLen + TagLen
		in.B[k] = x
		k++
	}
	if cn > 0 {
		rxp[cur] += cn
		rxb[cur] += cb
	}
	return i, k, i - start
}

// putTags writes tags (right-aligned in an [8]byte, as Adj.Tags and
// Iface.Tags hold them) for vid behind an outer tag (outer 0: none).
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

// PutL2 writes the Ethernet header of a frame leaving by adj into the
// front of f (dst, src, tags, EtherType et) and returns its length.
func (adj *Adj) PutL2(f []byte, et uint16) int {
	copy(f[:12], adj.Rewrite[:])
	n := int(adj.TagLen)
	copy(f[12:12+n], adj.Tags[8-n:])
	binary.BigEndian.PutUint16(f[12+n:], et)
	return hdr.EthernetLen + n
}

// TagBytes returns the interface's tags in wire order (empty for a port's
// own interface).
func (ifc *Iface) TagBytes() []byte { return ifc.Tags[8-ifc.TagLen:] }
