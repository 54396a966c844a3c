package bench

import (
	"bytes"
	"encoding/binary"
	"math/rand/v2"
	"net/netip"

	softnet "github.com/softnet/softnet"
	"github.com/softnet/softnet/control"
	"github.com/softnet/softnet/fib"
	"github.com/softnet/softnet/hdr"
)

// ScenarioForward6 is ip4-forward's IPv6 twin: 64-byte IPv6/UDP frames
// (the smallest IPv6/UDP frame is 62 bytes) to destinations drawn from
// the full IPv6 table, routed through 16 static IPv6 neighbours (no
// Neighbor Discovery yet). Compared with ip4-forward (ip6-forward/ip4-forward).
const ScenarioForward6 = "ip6-forward"

// The ip6-forward topology: ip4-forward's MACs, IPv6 addresses.
var (
	InAddr6  = netip.MustParsePrefix("2001:db8:1::1/64")
	OutAddr6 = netip.MustParsePrefix("2001:db8:2::1/64")
	SrcAddr6 = netip.MustParseAddr("2001:db8:1::2")
)

// Gateway6 returns IPv6 next hop i (1..NextHops): 2001:db8:2::(9+i).
func Gateway6(i int) netip.Addr {
	return netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, 0, 2, 15: byte(9 + i)})
}

// FullTableIPv6 returns the IPv6 prefixes of the embedded full table, in
// file order.
func FullTableIPv6() ([]netip.Prefix, error) {
	all, err := fib.ReadPrefixes(bytes.NewReader(softnet.FullTableGz))
	if err != nil {
		return nil, err
	}
	v6 := all[:0]
	for _, p := range all {
		if p.Addr().Is6() {
			v6 = append(v6, p)
		}
	}
	return v6, nil
}

// Frames6 builds n IPv6/UDP frames of size bytes (at least 62) to
// destinations drawn from prefixes (IPv6 only): a random prefix, random
// host bits, a random source port, as Frames.
func Frames6(prefixes []netip.Prefix, n, size int) [][]byte {
	rng := rand.New(rand.NewPCG(1, 2))
	buf := make([]byte, n*size)
	frames := make([][]byte, n)
	src := SrcAddr6.As16()
	for i := range frames {
		p := prefixes[rng.IntN(len(prefixes))]
		d := p.Addr().As16()
		var r [16]byte
		binary.BigEndian.PutUint64(r[:8], rng.Uint64())
		binary.BigEndian.PutUint64(r[8:], rng.Uint64())
		for j := range d {
			if bit := p.Bits() - 8*j; bit < 8 {
				keep := byte(0xff)
				if bit <= 0 {
					keep = 0
				} else {
					keep = ^byte(0xff >> bit)
				}
				d[j] = d[j]&keep | r[j]&^keep
			}
		}
		f := buf[i*size : (i+1)*size : (i+1)*size]
		copy(f[0:6], InMAC[:])
		copy(f[6:12], PeerMAC[:])
		binary.BigEndian.PutUint16(f[12:], hdr.EtherTypeIPv6)
		ip := hdr.IPv6(f[hdr.EthernetLen:])
		ip.SetVersionClassFlow(0, 0)
		ip.SetPayloadLen(size - hdr.EthernetLen - hdr.IPv6Len)
		ip.SetNextHeader(hdr.ProtoUDP)
		ip.SetHopLimit(64)
		copy(ip.Src(), src[:])
		copy(ip.Dst(), d[:])
		u := f[hdr.EthernetLen+hdr.IPv6Len:]
		binary.BigEndian.PutUint16(u[0:], uint16(1024+rng.IntN(65536-1024)))
		binary.BigEndian.PutUint16(u[2:], 9)
		binary.BigEndian.PutUint16(u[4:], uint16(len(u)))
		c := hdr.Checksum(u, hdr.PseudoSumIPv6(ip.Src(), ip.Dst(), hdr.ProtoUDP, uint32(len(u))))
		if c == 0 {
			c = 0xffff
		}
		binary.BigEndian.PutUint16(u[6:], c)
		frames[i] = f
	}
	return frames
}

// NewForward6 builds the ip6-forward topology: in0 and out0 with IPv6
// addresses, the NextHops gateways as static IPv6 neighbours on out0 and
// the full IPv6 table through them (fib.NextHopOf), a generator cycling
// through frames and workers unpinned workers.
func NewForward6(prefixes []netip.Prefix, frames [][]byte, workers int) (*Forward, error) {
	r := control.New(control.Options{})
	in, err := r.AddInterface(control.IfaceConfig{Name: "in0", MAC: InMAC, Addrs: []netip.Prefix{InAddr6}})
	if err != nil {
		return nil, err
	}
	out, err := r.AddInterface(control.IfaceConfig{Name: "out0", MAC: OutMAC, Addrs: []netip.Prefix{OutAddr6}})
	if err != nil {
		return nil, err
	}
	for i := 1; i <= NextHops; i++ {
		if err := r.AddNeighbor(out, Gateway6(i), GatewayMAC(i)); err != nil {
			return nil, err
		}
	}
	if err := r.AddRoutes(prefixes, func(i int) netip.Addr {
		return Gateway6(int(fib.NextHopOf(prefixes[i], NextHops)))
	}); err != nil {
		return nil, err
	}
	r.Publish()
	f := &Forward{Router: r, Routes: r.Routes(), frames: frames, in: in, out: out, txIf: out}
	f.attach(workers, nil, false)
	return f, nil
}
