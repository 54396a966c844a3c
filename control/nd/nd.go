package nd

import (
	"encoding/binary"
	"net/netip"

	"github.com/softnet/softnet/dp"
	dpnd "github.com/softnet/softnet/dp/nd"
	"github.com/softnet/softnet/hdr"
)

// Packet is what the control plane reads from a Neighbor Solicitation or
// Advertisement, or a Router Solicitation (its type and addresses only;
// nd-input checked it: dp/nd.Check).
type Packet struct {
	Type     uint8 // hdr.ICMPv6NeighborSolicit, hdr.ICMPv6NeighborAdvert or hdr.ICMPv6RouterSolicit
	SrcMAC   [6]byte
	Src, Dst netip.Addr
	Target   netip.Addr
	Flags    uint8 // an NA's R, S and O flags (dp/nd.FlagRouter, ...)
	// LinkAddr is the Source (NS, RS) or Target (NA) Link-Layer Address
	// option; HasLinkAddr says whether there was one.
	LinkAddr    [6]byte
	HasLinkAddr bool
}

// Parse reads the NS, NA or RS of an untagged Ethernet frame (nd-input punts
// frames with their VLAN tags taken off). It reports false for anything
// else or a message too short.
func Parse(frame []byte) (Packet, bool) {
	if len(frame) >= hdr.EthernetLen+hdr.IPv6Len+8 && frame[hdr.EthernetLen+6] == hdr.ProtoICMPv6 &&
		frame[hdr.EthernetLen+hdr.IPv6Len] == hdr.ICMPv6RouterSolicit {
		ip := frame[hdr.EthernetLen:]
		m := ip[hdr.IPv6Len:]
		if pl := int(binary.BigEndian.Uint16(ip[4:6])); pl < len(m) && pl >= 8 {
			m = m[:pl] // Ethernet padding
		}
		p := Packet{Type: hdr.ICMPv6RouterSolicit, SrcMAC: [6]byte(frame[6:12]), Src: netip.AddrFrom16([16]byte(ip[8:24])),
			Dst: netip.AddrFrom16([16]byte(ip[24:40]))}
		p.LinkAddr, p.HasLinkAddr = dpnd.Option(m[8:], dpnd.OptSourceLL)
		return p, true
	}
	if len(frame) < hdr.EthernetLen+hdr.IPv6Len+24 {
		return Packet{}, false
	}
	ip := frame[hdr.EthernetLen:]
	m := ip[hdr.IPv6Len:]
	if ip[6] != hdr.ProtoICMPv6 || (m[0] != hdr.ICMPv6NeighborSolicit && m[0] != hdr.ICMPv6NeighborAdvert) {
		return Packet{}, false
	}
	if pl := int(binary.BigEndian.Uint16(ip[4:6])); pl < len(m) && pl >= 24 {
		m = m[:pl] // Ethernet padding
	}
	p := Packet{Type: m[0], SrcMAC: [6]byte(frame[6:12]), Src: netip.AddrFrom16([16]byte(ip[8:24])),
		Dst: netip.AddrFrom16([16]byte(ip[24:40])), Target: netip.AddrFrom16([16]byte(m[8:24]))}
	opt := uint8(dpnd.OptSourceLL)
	if p.Type == hdr.ICMPv6NeighborAdvert {
		p.Flags = m[4] & (dpnd.FlagRouter | dpnd.FlagSolicited | dpnd.FlagOverride)
		opt = dpnd.OptTargetLL
	}
	p.LinkAddr, p.HasLinkAddr = dpnd.Option(m[24:], opt)
	return p, true
}

// Source returns the address of interface ifc that the router sends ND
// about target from: its address whose subnet holds target, else its
// link-local one (dp.LinkLocalOf).
func Source(ifc *dp.Iface, target netip.Addr) netip.Addr {
	for _, a := range ifc.Addrs {
		if !a.Is4() && a.Prefix().Contains(target) {
			return a.Prefix().Addr()
		}
	}
	return netip.AddrFrom16(dp.LinkLocalOf(ifc))
}

// Solicit builds a Neighbor Solicitation from interface ifc for target
// (RFC 4861 §7.2.2): to its solicited-node group (33:33:ff:xx:xx:xx), or
// unicast to target at *to (a probe of a known neighbour, §7.3.3), with
// a Source Link-Layer Address option and ifc's VLAN tags. It returns nil
// when target is not an IPv6 address.
func Solicit(ifc *dp.Iface, target netip.Addr, to *[6]byte) []byte {
	if !target.Is6() || target.Is4In6() {
		return nil
	}
	t := target.As16()
	dst, mac := dpnd.SolicitedNode(t), [6]byte{0x33, 0x33, 0xff, t[13], t[14], t[15]}
	if to != nil {
		dst, mac = t, *to
	}
	src := Source(ifc, target).As16()
	f, m := frame(ifc, mac, src, dst, 24+8)
	m[0] = hdr.ICMPv6NeighborSolicit
	copy(m[8:24], t[:])
	m[24], m[25] = dpnd.OptSourceLL, 1
	copy(m[26:32], ifc.MAC[:])
	checksum(f, m, src, dst)
	return f
}

// Advert builds the Neighbor Advertisement answering ns, a solicitation
// for one of interface ifc's addresses (RFC 4861 §7.2.4): from that
// address, with the Router flag (a router, §4.4), Solicited unless ns
// came from :: (DAD: then to all nodes, ff02::1), Override, and a Target
// Link-Layer Address option; to the solicitor's MAC (its option's, else
// the frame's source).
func Advert(ifc *dp.Iface, ns Packet) []byte {
	src := ns.Target.As16()
	var dst [16]byte
	mac := ns.SrcMAC
	flags := uint8(dpnd.FlagRouter | dpnd.FlagOverride)
	if ns.Src.IsUnspecified() {
		dst, mac = [16]byte{0xff, 0x02, 15: 1}, [6]byte{0x33, 0x33, 0, 0, 0, 1}
	} else {
		dst = ns.Src.As16()
		flags |= dpnd.FlagSolicited
		if ns.HasLinkAddr {
			mac = ns.LinkAddr
		}
	}
	f, m := frame(ifc, mac, src, dst, 24+8)
	m[0] = hdr.ICMPv6NeighborAdvert
	m[4] = flags
	copy(m[8:24], src[:])
	m[24], m[25] = dpnd.OptTargetLL, 1
	copy(m[26:32], ifc.MAC[:])
	checksum(f, m, src, dst)
	return f
}

// frame makes an Ethernet frame from ifc to mac (with ifc's VLAN tags)
// holding an IPv6 header from src to dst (hop limit 255, ICMPv6) and
// room for an n-byte ICMPv6 message, which it returns too.
func frame(ifc *dp.Iface, mac [6]byte, src, dst [16]byte, n int) ([]byte, []byte) {
	tl := int(ifc.TagLen)
	f := make([]byte, hdr.EthernetLen+tl+hdr.IPv6Len+n)
	copy(f[0:6], mac[:])
	copy(f[6:12], ifc.MAC[:])
	copy(f[12:12+tl], ifc.TagBytes())
	binary.BigEndian.PutUint16(f[12+tl:], hdr.EtherTypeIPv6)
	ip := f[hdr.EthernetLen+tl:]
	ip[0] = 0x60
	binary.BigEndian.PutUint16(ip[4:6], uint16(n))
	ip[6], ip[7] = hdr.ProtoICMPv6, 255
	copy(ip[8:24], src[:])
	copy(ip[24:40], dst[:])
	return f, ip[hdr.IPv6Len:]
}

func checksum(_ []byte, m []byte, src, dst [16]byte) {
	binary.BigEndian.PutUint16(m[2:4], 0)
	binary.BigEndian.PutUint16(m[2:4], hdr.Checksum(m, hdr.PseudoSumIPv6(src[:], dst[:], hdr.ProtoICMPv6, uint32(len(m)))))
}

// Router Advertisement values (RFC 4861 §6.2.1 defaults, RFC 4862).
const (
	RouterLifetime    = 1800    // seconds: 3 x MaxRtrAdvInterval
	ValidLifetime     = 2592000 // 30 days
	PreferredLifetime = 604800  // 7 days
	optPrefixInfo     = 3
	optMTU            = 5
)

// RouterAdvert builds a Router Advertisement from interface ifc (RFC 4861
// §4.2, §6.2.3) to all nodes (ff02::1, 33:33:00:00:00:01): from its
// link-local address (dp.LinkLocalOf), hop limit 255, Cur Hop Limit 64,
// Router Lifetime 1800 s, with a Source Link-Layer Address option, an MTU
// option (the interface's) and a Prefix Information option for each of
// its IPv6 subnets but link-local ones: on-link, and autonomous (hosts
// form addresses from it, RFC 4862) for a /64.
func RouterAdvert(ifc *dp.Iface) []byte {
	var pis []dp.IfaceAddr
	for _, a := range ifc.Addrs {
		if !a.Is4() && !(a.Addr[0] == 0xfe && a.Addr[1]&0xc0 == 0x80) && a.Len <= 128 {
			pis = append(pis, a)
		}
	}
	src := dp.LinkLocalOf(ifc)
	dst := [16]byte{0xff, 0x02, 15: 1}
	f, m := frame(ifc, [6]byte{0x33, 0x33, 0, 0, 0, 1}, src, dst, 16+8+8+32*len(pis))
	m[0] = hdr.ICMPv6RouterAdvert
	m[4] = 64 // Cur Hop Limit
	binary.BigEndian.PutUint16(m[6:8], RouterLifetime)
	o := m[16:]
	o[0], o[1] = dpnd.OptSourceLL, 1
	copy(o[2:8], ifc.MAC[:])
	o = o[8:]
	o[0], o[1] = optMTU, 1
	binary.BigEndian.PutUint32(o[4:8], uint32(ifc.MTU))
	o = o[8:]
	for _, a := range pis {
		p := a.Prefix().Masked()
		o[0], o[1], o[2] = optPrefixInfo, 4, a.Len
		o[3] = 0x80 // L: on-link
		if a.Len == 64 {
			o[3] |= 0x40 // A: autonomous address configuration
		}
		binary.BigEndian.PutUint32(o[4:8], ValidLifetime)
		binary.BigEndian.PutUint32(o[8:12], PreferredLifetime)
		pa := p.Addr().As16()
		copy(o[16:32], pa[:])
		o = o[32:]
	}
	checksum(f, m, src, dst)
	return f
}
