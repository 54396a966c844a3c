package arp

import (
	"encoding/binary"
	"net/netip"

	"github.com/softnet/softnet/dp"
	"github.com/softnet/softnet/hdr"
)

var broadcast = [6]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}

// Request builds an ARP request from interface ifc for target: broadcast,
// or unicast to *to (a probe of a stale entry). The sender address is
// ifc's address whose subnet holds target, else its primary address. The
// frame is a minimum Ethernet frame (60 bytes, zero padded) with ifc's
// VLAN tags on top (IEEE 802.1Q: a tagged frame's minimum is 4 bytes
// more). It returns nil when target is not an IPv4 address.
func Request(ifc *dp.Iface, target netip.Addr, to *[6]byte) []byte {
	if !target.Is4() {
		return nil
	}
	t4 := target.As4()
	tgt := binary.BigEndian.Uint32(t4[:])
	var src uint32
	for _, ad := range ifc.Addrs {
		m := hdr.IPv4Mask(int(ad.Len))
		if ad.Is4() && tgt&m == ad.Addr4()&m {
			src = ad.Addr4()
			break
		}
	}
	if src == 0 {
		src = ifc.Addr4
	}
	tl := int(ifc.TagLen)
	f := make([]byte, 60+tl)
	dst := &broadcast
	if to != nil {
		dst = to
	}
	copy(f[0:6], dst[:])
	copy(f[6:12], ifc.MAC[:])
	copy(f[12:12+tl], ifc.TagBytes())
	binary.BigEndian.PutUint16(f[12+tl:], hdr.EtherTypeARP)
	a := hdr.ARP(f[hdr.EthernetLen+tl:])
	binary.BigEndian.PutUint16(a[0:], 1)                 // Ethernet
	binary.BigEndian.PutUint16(a[2:], hdr.EtherTypeIPv4) // IPv4
	a[4], a[5] = 6, 4
	a.SetOp(hdr.ARPRequest)
	copy(a.SenderMAC(), ifc.MAC[:])
	a.SetSenderIP(src)
	a.SetTargetIP(tgt)
	return f
}

// Packet is what the control plane reads from an ARP packet.
type Packet struct {
	Op        uint16 // hdr.ARPRequest or hdr.ARPReply
	SenderMAC [6]byte
	Sender    netip.Addr
	Target    netip.Addr
}

// Parse reads the ARP packet of an untagged Ethernet frame (arp-input
// punts frames with their VLAN tags taken off). It reports false for a
// frame too short or an ARP packet that is not Ethernet/IPv4 (hdr.ARP's
// Validate).
func Parse(frame []byte) (Packet, bool) {
	if len(frame) < hdr.EthernetLen+hdr.ARPLen {
		return Packet{}, false
	}
	a := hdr.ARP(frame[hdr.EthernetLen:])
	if a.Validate() != hdr.OK {
		return Packet{}, false
	}
	p := Packet{Op: a.Op(), Sender: hdr.IPv4Addr(a.SenderIP()), Target: hdr.IPv4Addr(a.TargetIP())}
	copy(p.SenderMAC[:], a.SenderMAC())
	return p, true
}
