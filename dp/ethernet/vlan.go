package ethernet

import (
	"encoding/binary"

	"github.com/softnet/softnet/dp"
	"github.com/softnet/softnet/hdr"
	"github.com/softnet/softnet/pkt"
)

// The VLAN demux of ethernet-input (see dp/vlan.go for the tables).

const (
	vidReserve = 4095   // reserved: never a VLAN
	vidMask    = 0x0fff // the VID bits of a TCI
)

// isTPID reports whether an EtherType is a VLAN tag's TPID.
func isTPID(t uint16) bool {
	return t == hdr.EtherTypeVLAN || t == hdr.EtherTypeQinQ || t == dp.TPID9100
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
//     on a port with no sub-interfaces at all: VLANTagged.
//   - A tag behind the tags the sub-interface is configured with:
//     VLANTooDeep. A frame that ends inside a tag: VLANTruncated.
func vlanInput(vt *dp.VLANTable, iface uint16, f []byte) (uint16, int, uint16, dp.Reason) {
	if len(f) < hdr.EthernetLen+dp.TagLen {
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
		return iface, hdr.EthernetLen + dp.TagLen, et, dp.ReasonNone
	case vid == vidReserve:
		return 0, 0, 0, VLANReserved
	case vt == nil:
		return 0, 0, 0, VLANTagged
	}
	if tpid == hdr.EtherTypeVLAN {
		if e := vt.Dot1Q[vid]; e != 0 {
			if isTPID(et) {
				return 0, 0, 0, VLANTooDeep
			}
			return e, hdr.EthernetLen + dp.TagLen, et, dp.ReasonNone
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
	if len(f) < hdr.EthernetLen+2*dp.TagLen {
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
	return e, hdr.EthernetLen + 2*dp.TagLen, et, dp.ReasonNone
}

// etherVLANFast passes frames from in.B[i:] while they are of EtherType
// et (IPv4 or IPv6) in one 802.1Q tag of an up sub-interface, to the
// port's unicast MAC from a unicast source that is not that MAC: it sets
// their interface and L3, counts them on the sub-interface, compacts them
// to in.B[k:] and returns where it stopped and the new k. Like etherFast
// it makes no calls, and it keeps few values live so that none is
// spilled to the stack per frame: its counts are plain increments of the
// sub-interface's counters (a run of one VLAN chains them through a
// store-to-load forward, which costs less than tracking runs).
func etherVLANFast(in *pkt.Batch, i, k int, vt *dp.VLANTable, mac uint64, et uint16, rxp, rxb []uint64) (int, int) {
	n := in.N
	recs := pkt.Records()
	rxb = rxb[:len(rxp)] // one bounds check for both
	for ; i < n; i++ {
		x := in.B[i]
		b := recs.At(x)
		f := b.Bytes()
		if len(f) < hdr.EthernetLen+dp.TagLen {
			break
		}
		// Four loads: the destination MAC (with two bytes of the
		// source, shifted out), the source MAC (with two bytes of the
		// destination, masked out), TPID and TCI, the inner EtherType.
		tag := binary.BigEndian.Uint32(f[12:16])
		src := binary.BigEndian.Uint64(f[4:12]) & (1<<48 - 1)
		if binary.BigEndian.Uint64(f[0:8])>>16 != mac || tag>>16 != hdr.EtherTypeVLAN ||
			binary.BigEndian.Uint16(f[16:18]) != et || src == mac || src&(1<<40) != 0 {
			break
		}
		e := int(vt.Dot1Q[tag&vidMask])
		// 0 (no sub-interface) stops, and so do the flag bits (down,
		// bridged: above every index) and an index past the counters
		// (a config newer than them).
		if e == 0 || e >= len(rxp) {
			break
		}
		rxp[e]++
		rxb[e] += uint64(b.Len)
		b.InPort = uint16(e)
		b.L3 = hdr.EthernetLen + dp.TagLen
		in.B[k] = x
		k++
	}
	return i, k
}
