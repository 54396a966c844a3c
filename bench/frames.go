package bench

import (
	"encoding/binary"
	"math/rand/v2"
	"net/netip"

	"github.com/softnet/softnet/hdr"
)

// The ip4-forward topology (the same as bench/peers).
var (
	InMAC   = [6]byte{0x02, 0, 0, 0, 0, 0x01} // router, ingress
	OutMAC  = [6]byte{0x02, 0, 0, 0, 0x01, 0x01}
	PeerMAC = [6]byte{0x02, 0, 0, 0, 0, 0x02} // the sending host
	InAddr  = netip.MustParsePrefix("192.0.2.1/24")
	OutAddr = netip.MustParsePrefix("198.51.100.1/24")
	SrcAddr = netip.MustParseAddr("192.0.2.2")
)

// NextHops is the number of gateways on the egress subnet.
const NextHops = 16

// Gateway returns next hop i (1..NextHops): 198.51.100.(9+i).
func Gateway(i int) netip.Addr { return netip.AddrFrom4([4]byte{198, 51, 100, byte(9 + i)}) }

// GatewayMAC returns the MAC of next hop i: 02:00:00:00:02:(0x0f+i).
func GatewayMAC(i int) [6]byte { return [6]byte{0x02, 0, 0, 0, 0x02, byte(0x0f + i)} }

// Frames builds n IPv4/UDP frames of size bytes (at least 42) to
// destinations drawn from prefixes (IPv4 only): with a PCG(1, 2) source,
// a random prefix, random host bits, then a random source port in
// 1024..65535 — the same draws, in the same order, as bench/peers.
func Frames(prefixes []netip.Prefix, n, size int) [][]byte {
	rng := rand.New(rand.NewPCG(1, 2))
	buf := make([]byte, n*size)
	frames := make([][]byte, n)
	src := SrcAddr.As4()
	for i := range frames {
		p := prefixes[rng.IntN(len(prefixes))]
		base := binary.BigEndian.Uint32(p.Addr().AsSlice())
		host := uint32(0)
		if p.Bits() < 32 {
			host = ^uint32(0) >> p.Bits()
		}
		dst := base | (rng.Uint32() & host)
		sport := uint16(1024 + rng.IntN(65536-1024))
		f := buf[i*size : (i+1)*size : (i+1)*size]
		UDPFrame(f, InMAC, PeerMAC, binary.BigEndian.Uint32(src[:]), dst, sport, 9, 64)
		frames[i] = f
	}
	return frames
}

// UDPFrame writes an Ethernet/IPv4/UDP frame filling f (zero payload) with
// correct checksums.
func UDPFrame(f []byte, dstMAC, srcMAC [6]byte, src, dst uint32, sport, dport uint16, ttl uint8) {
	clear(f)
	copy(f[0:6], dstMAC[:])
	copy(f[6:12], srcMAC[:])
	binary.BigEndian.PutUint16(f[12:], hdr.EtherTypeIPv4)
	ip := hdr.IPv4(f[hdr.EthernetLen : hdr.EthernetLen+hdr.IPv4MinLen])
	ip.SetVersionIHL(hdr.IPv4MinLen)
	ip.SetTotalLen(len(f) - hdr.EthernetLen)
	ip.SetTTL(ttl)
	ip.SetProtocol(hdr.ProtoUDP)
	ip.SetSrc(src)
	ip.SetDst(dst)
	ip.SetChecksum(ip.ComputeChecksum())
	u := hdr.UDP(f[hdr.EthernetLen+hdr.IPv4MinLen:])
	binary.BigEndian.PutUint16(u[0:], sport)
	binary.BigEndian.PutUint16(u[2:], dport)
	binary.BigEndian.PutUint16(u[4:], uint16(len(u)))
	c := hdr.Checksum(u, hdr.PseudoSumIPv4(src, dst, hdr.ProtoUDP, uint16(len(u))))
	if c == 0 {
		c = 0xffff // RFC 768: an all-zero computed checksum is sent as all ones
	}
	binary.BigEndian.PutUint16(u[6:], c)
}
