package ip6_test

import (
	"bytes"
	"encoding/binary"
	"net"
	"net/netip"
	"sync/atomic"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"

	"github.com/softnet/softnet/dp"
	"github.com/softnet/softnet/dp/ip6"
	_ "github.com/softnet/softnet/dp/nodes"
	"github.com/softnet/softnet/fib"
	"github.com/softnet/softnet/hdr"
	"github.com/softnet/softnet/port"
	"github.com/softnet/softnet/port/mem"
)

// The lab (built by hand: the dp Config the control plane would publish):
//
//	host A 2001:db8:1::2 (macA) --- if0 2001:db8:1::1/64, fe80::1 (mac0)
//	                                router
//	host B 2001:db8:2::2 (macB) --- if1 2001:db8:2::1/64 (mac1)
//
// Routes: 2001:db8:100::/40 via host B; 2001:db8:99::/48 via host B on an
// adjacency with MTU 1280; 2001:db8:77::/48 to a next hop with no
// neighbour (incomplete).
var (
	mac0 = [6]byte{0x02, 0x52, 0, 0, 0, 0x01}
	mac1 = [6]byte{0x02, 0x52, 0, 0, 0, 0x02}
	macA = [6]byte{0x02, 0xaa, 0, 0, 0, 0x02}
	macB = [6]byte{0x02, 0xbb, 0, 0, 0, 0x02}

	r0     = netip.MustParseAddr("2001:db8:1::1")
	r1     = netip.MustParseAddr("2001:db8:2::1")
	r0LL   = netip.MustParseAddr("fe80::1")
	hostA  = netip.MustParseAddr("2001:db8:1::2")
	hostB  = netip.MustParseAddr("2001:db8:2::2")
	hostLL = netip.MustParseAddr("fe80::2")
	remote = netip.MustParseAddr("2001:db8:100::5")
	small  = netip.MustParseAddr("2001:db8:99::1")
	unres  = netip.MustParseAddr("2001:db8:77::1")
)

type lab struct {
	t     *testing.T
	w     *dp.Worker
	ports [2]*mem.Queue
}

// fwdAdj is a resolved IPv6 neighbour's adjacency.
func fwdAdj(iface, mtu uint16, dst, src [6]byte, addr netip.Addr) dp.Adj {
	a := dp.Adj{Kind: dp.AdjForward, Iface: iface, MTU: mtu, Addr: addr.As16()}
	a.SetL2(dst, src, nil, hdr.EtherTypeIPv6)
	return a
}

func newLab(t *testing.T, burst int) *lab {
	t.Helper()
	return newLabCfg(t, labConfig(t, burst))
}

// newLabCfg is newLab with cfg.
func newLabCfg(t *testing.T, cfg *dp.Config) *lab {
	t.Helper()
	var p atomic.Pointer[dp.Config]
	p.Store(cfg)
	l := &lab{t: t, ports: [2]*mem.Queue{mem.NewQueue("if0"), mem.NewQueue("if1")}}
	l.w = dp.NewWorker(0, &p, []port.Port{l.ports[0], l.ports[1]}, []dp.RxQueue{{Iface: 0}, {Iface: 1}}, dp.Options{PoolSize: 256})
	return l
}

// newLabGen is the lab's worker receiving f over and over on if0 (a
// generator port) and sending into sinks.
func newLabGen(t *testing.T, f []byte) *dp.Worker {
	var p atomic.Pointer[dp.Config]
	p.Store(labConfig(t, 1<<30))
	ports := []port.Port{mem.NewGen("if0", [][]byte{f}), mem.NewSink("if1")}
	return dp.NewWorker(0, &p, ports, []dp.RxQueue{{Iface: 0}}, dp.Options{})
}

func labConfig(t *testing.T, burst int) *dp.Config {
	t.Helper()
	tb := fib.NewTable6()
	add := func(p string, nh uint16) {
		if err := tb.Add(netip.MustParsePrefix(p), nh); err != nil {
			t.Fatal(err)
		}
	}
	add("2001:db8:1::1/128", 1)
	add("2001:db8:2::1/128", 1)
	add("fe80::1/128", 1)
	add("2001:db8:1::/64", 2)
	add("2001:db8:2::/64", 3)
	add("2001:db8:100::/40", 3)
	add("2001:db8:99::/48", 4)
	add("2001:db8:77::/48", 5)
	cfg := &dp.Config{
		FIB6: tb.Snapshot(),
		Adj: []dp.Adj{
			{Kind: dp.AdjNone},
			{Kind: dp.AdjLocal},
			fwdAdj(0, 1500, macA, mac0, hostA),
			fwdAdj(1, 1500, macB, mac1, hostB),
			fwdAdj(1, 1280, macB, mac1, hostB),
			{Kind: dp.AdjIncomplete, Iface: 1, MTU: 1500, Addr: netip.MustParseAddr("2001:db8:2::9").As16()},
		},
		Ifaces: []dp.Iface{
			{Name: "if0", MAC: mac0, MTU: 1500, Up: true},
			{Name: "if1", MAC: mac1, MTU: 1500, Up: true},
		},
		ICMPRate:  1000,
		ICMPBurst: burst,
	}
	cfg.Ifaces[0].SetAddrs([]netip.Prefix{netip.MustParsePrefix("2001:db8:1::1/64"), netip.MustParsePrefix("fe80::1/64")})
	cfg.Ifaces[1].SetAddrs([]netip.Prefix{netip.MustParsePrefix("2001:db8:2::1/64")})
	return cfg
}

// send queues f on interface i, polls until the worker is idle and returns
// what each interface sent.
func (l *lab) send(i int, f []byte) [2][][]byte {
	l.ports[i].Push(f)
	for n := 0; n < 20; n++ {
		if l.w.Poll() == 0 && l.ports[0].Pending() == 0 && l.ports[1].Pending() == 0 {
			break
		}
	}
	return [2][][]byte{l.ports[0].Take(), l.ports[1].Take()}
}

// ser serializes layers with gopacket (lengths and checksums computed by
// gopacket: the independent encoder the router's output is compared to).
func ser(t *testing.T, ls ...gopacket.SerializableLayer) []byte {
	t.Helper()
	for _, l := range ls {
		if c, ok := l.(interface {
			SetNetworkLayerForChecksum(gopacket.NetworkLayer) error
		}); ok {
			for _, n := range ls {
				if ip, ok := n.(*layers.IPv6); ok {
					if err := c.SetNetworkLayerForChecksum(ip); err != nil {
						t.Fatal(err)
					}
				}
			}
		}
	}
	buf := gopacket.NewSerializeBuffer()
	if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}, ls...); err != nil {
		t.Fatal(err)
	}
	return append([]byte(nil), buf.Bytes()...)
}

func eth(dst, src [6]byte) *layers.Ethernet {
	return &layers.Ethernet{DstMAC: net.HardwareAddr(dst[:]), SrcMAC: net.HardwareAddr(src[:]), EthernetType: layers.EthernetTypeIPv6}
}

func ip(src, dst netip.Addr, next layers.IPProtocol, hop uint8) *layers.IPv6 {
	return &layers.IPv6{Version: 6, NextHeader: next, HopLimit: hop, SrcIP: src.AsSlice(), DstIP: dst.AsSlice()}
}

func udp(n int) []byte {
	u := make([]byte, 8+n)
	binary.BigEndian.PutUint16(u[0:], 40000)
	binary.BigEndian.PutUint16(u[2:], 40001)
	binary.BigEndian.PutUint16(u[4:], uint16(8+n))
	for i := range n {
		u[8+i] = byte(i)
	}
	return u
}

// frame builds host A's frame to the router carrying an IPv6 packet with
// next header next (raw extension headers and upper layer in payload).
func frame(t *testing.T, src, dst netip.Addr, next layers.IPProtocol, hop uint8, payload []byte) []byte {
	return ser(t, eth(mac0, macA), ip(src, dst, next, hop), gopacket.Payload(payload))
}

// icmpErr is the error the router must send about the IPv6 packet
// offending (its bytes from the IPv6 header on), built by gopacket.
func icmpErr(t *testing.T, dstMAC, srcMAC [6]byte, from, to netip.Addr, typ, code uint8, rest uint32, offending []byte) []byte {
	var r [4]byte
	binary.BigEndian.PutUint32(r[:], rest)
	q := offending[:min(len(offending), 1280-48)]
	return ser(t, eth(dstMAC, srcMAC), ip(from, to, layers.IPProtocolICMPv6, 64),
		&layers.ICMPv6{TypeCode: layers.CreateICMPv6TypeCode(typ, code)}, gopacket.Payload(append(r[:], q...)))
}

// ext returns an extension header: next, length byte, body (padded by the
// caller to a multiple of 8 with the first two bytes).
func ext(next uint8, body ...byte) []byte {
	h := append([]byte{next, 0}, body...)
	h[1] = uint8(len(h)/8 - 1)
	if len(h)%8 != 0 {
		panic("extension header length not a multiple of 8")
	}
	return h
}

func cat(bs ...[]byte) []byte { return bytes.Join(bs, nil) }

type out struct {
	port  int
	frame []byte
}

func check(t *testing.T, l *lab, in []byte, want []out, drop dp.Reason) {
	t.Helper()
	before := l.w.Counters()
	got := l.send(0, in)
	var wantBy [2][][]byte
	for _, o := range want {
		wantBy[o.port] = append(wantBy[o.port], o.frame)
	}
	for p := range got {
		if len(got[p]) != len(wantBy[p]) {
			t.Fatalf("if%d sent %d frames, want %d", p, len(got[p]), len(wantBy[p]))
		}
		for i := range got[p] {
			if !bytes.Equal(got[p][i], wantBy[p][i]) {
				t.Errorf("if%d frame %d:\n got %x\nwant %x\n%v", p, i, got[p][i], wantBy[p][i],
					gopacket.NewPacket(got[p][i], layers.LayerTypeEthernet, gopacket.Default))
			}
			// gopacket must decode what the router sent, checksum and all.
			pk := gopacket.NewPacket(got[p][i], layers.LayerTypeEthernet, gopacket.Default)
			if el := pk.ErrorLayer(); el != nil {
				t.Errorf("if%d frame %d: gopacket: %v", p, i, el.Error())
			}
		}
	}
	after := l.w.Counters()
	for r := dp.Reason(1); r < dp.NumReasons; r++ {
		d := after.Drops[r] - before.Drops[r]
		if r == drop && d != 1 || r != drop && d != 0 {
			t.Errorf("%v: %d drops", r, d)
		}
	}
}

// TestIP6 sends one packet per rule of ip6-input, ip6-lookup,
// ip6-rewrite, ip6-local and icmp6-error and compares what the router
// sends, byte for byte, with the frame gopacket builds for the RFC's
// answer.
func TestIP6(t *testing.T) {
	const (
		hbh    = 0
		route  = 43
		frag   = 44
		dopts  = 60
		pUDP   = layers.IPProtocolUDP
		pICMP  = layers.IPProtocolICMPv6
		pHBH   = layers.IPProtocolIPv6HopByHop
		pDOpts = layers.IPProtocolIPv6Destination
		pFrag  = layers.IPProtocolIPv6Fragment
		pRoute = layers.IPProtocolIPv6Routing
	)
	l3 := func(f []byte) []byte { return f[hdr.EthernetLen:] }
	fwd := func(f []byte) []byte { // f forwarded to host B: hop limit - 1
		o := append([]byte(nil), f...)
		copy(o[0:6], macB[:])
		copy(o[6:12], mac1[:])
		o[hdr.EthernetLen+7]--
		return o
	}
	echo := func(src, dst netip.Addr, hop uint8) []byte {
		return ser(t, eth(mac0, macA), ip(src, dst, pICMP, hop),
			&layers.ICMPv6{TypeCode: layers.CreateICMPv6TypeCode(128, 0)}, gopacket.Payload([]byte{0, 7, 0, 1, 'p', 'i', 'n', 'g'}))
	}
	type tc struct {
		name string
		in   []byte
		want []out
		drop dp.Reason
	}
	var cases []tc
	add := func(name string, in []byte, drop dp.Reason, want ...out) {
		cases = append(cases, tc{name, in, want, drop})
	}
	f := frame(t, hostA, remote, pUDP, 64, udp(18))
	add("forward", f, 0, out{1, fwd(f)})
	padded := append(append([]byte(nil), f...), make([]byte, 6)...) // Ethernet padding trimmed
	add("forward-padded", padded, 0, out{1, fwd(f)})
	f = frame(t, hostA, remote, pUDP, 1, udp(18))
	add("hop-limit-1", f, 0, out{0, icmpErr(t, macA, mac0, r0, hostA, 3, 0, 0, l3(f))})
	f = frame(t, hostA, remote, pUDP, 2, udp(18))
	add("hop-limit-2", f, 0, out{1, fwd(f)})
	f = frame(t, hostA, small, pUDP, 64, udp(1400))
	add("packet-too-big", f, 0, out{0, icmpErr(t, macA, mac0, r0, hostA, 2, 0, 1280, l3(f))})
	f = frame(t, hostA, small, pUDP, 64, udp(1232))
	add("mtu-fits", f, 0, out{1, fwd(f)})
	f = frame(t, hostA, netip.MustParseAddr("2001:db9::1"), pUDP, 64, udp(18))
	add("no-route", f, 0, out{0, icmpErr(t, macA, mac0, r0, hostA, 1, 0, 0, l3(f))})
	f = frame(t, hostA, unres, pUDP, 64, udp(18))
	add("unresolved-punted-to-nd", f, 0) // ip6-nd: to the control plane (TestNDResolve)
	f = frame(t, hostLL, remote, pUDP, 64, udp(18))
	add("link-local-source", f, 0, out{0, icmpErr(t, macA, mac0, r0, hostLL, 1, 2, 0, l3(f))})
	f = frame(t, hostA, netip.MustParseAddr("fe80::99"), pUDP, 64, udp(18))
	add("link-local-destination", f, 0, out{0, icmpErr(t, macA, mac0, r0, hostA, 1, 2, 0, l3(f))})
	add("source-unspecified", frame(t, netip.IPv6Unspecified(), remote, pUDP, 64, udp(18)), ip6.MartianSource)
	add("source-loopback", frame(t, netip.IPv6Loopback(), remote, pUDP, 64, udp(18)), ip6.MartianSource)
	add("source-multicast", frame(t, netip.MustParseAddr("ff02::1"), remote, pUDP, 64, udp(18)), ip6.MartianSource)
	add("destination-loopback", frame(t, hostA, netip.IPv6Loopback(), pUDP, 64, udp(18)), ip6.MartianDest)
	add("destination-multicast", frame(t, hostA, netip.MustParseAddr("ff0e::1"), pUDP, 64, udp(18)), ip6.Multicast)
	f = frame(t, hostA, remote, pUDP, 64, udp(18))
	f[hdr.EthernetLen] = 0x40
	add("bad-version", f, ip6.BadVersion)
	f = frame(t, hostA, remote, pUDP, 64, udp(18))
	f[hdr.EthernetLen+5] += 1
	add("payload-length-past-frame", f, ip6.BadPayloadLen)
	add("too-short", frame(t, hostA, remote, pUDP, 64, nil)[:hdr.EthernetLen+39], ip6.TooShort)

	// Extension headers.
	f = frame(t, hostA, remote, pHBH, 64, cat(ext(17, 1, 4, 0, 0, 0, 0), udp(10)))
	add("hop-by-hop-padn", f, 0, out{1, fwd(f)})
	f = frame(t, hostA, remote, pDOpts, 64, cat(ext(hbh, 1, 4, 0, 0, 0, 0), ext(17, 1, 4, 0, 0, 0, 0), udp(10)))
	add("hop-by-hop-not-first", f, 0, out{0, icmpErr(t, macA, mac0, r0, hostA, 4, 1, 40, l3(f))})
	f = frame(t, hostA, remote, pHBH, 64, cat(ext(17, 1, 0, 0x1e, 2, 0, 0), udp(10)))
	add("option-unknown-skip", f, 0, out{1, fwd(f)})
	f = frame(t, hostA, remote, pHBH, 64, cat(ext(17, 1, 0, 0x5e, 2, 0, 0), udp(10)))
	add("option-unknown-discard", f, ip6.OptionDiscard)
	f = frame(t, hostA, remote, pHBH, 64, cat(ext(17, 1, 0, 0x9e, 2, 0, 0), udp(10)))
	add("option-unknown-param-problem", f, 0, out{0, icmpErr(t, macA, mac0, r0, hostA, 4, 2, 44, l3(f))})
	f = frame(t, hostA, remote, pHBH, 64, cat(ext(17, 0, 0xde, 0, 0, 0, 0), udp(10)))
	add("option-unknown-param-problem-11", f, 0, out{0, icmpErr(t, macA, mac0, r0, hostA, 4, 2, 43, l3(f))})
	f = frame(t, hostA, remote, pHBH, 64, cat(ext(17, 1, 9, 0, 0, 0, 0), udp(10)))
	add("option-past-header", f, ip6.BadExt)
	f = frame(t, hostA, remote, pRoute, 64, cat(ext(17, 0, 1, 0, 0, 0, 0), udp(10)))
	add("routing-in-transit-untouched", f, 0, out{1, fwd(f)})
	f = frame(t, hostA, r0, pRoute, 64, cat(ext(17, 0, 1, 0, 0, 0, 0), udp(10)))
	add("routing-type-0-segments-left", f, 0, out{0, icmpErr(t, macA, mac0, r0, hostA, 4, 0, 42, l3(f))})
	f = frame(t, hostA, r0, pRoute, 64, cat(ext(17, 77, 3, 0, 0, 0, 0), udp(10)))
	add("routing-unknown-type-segments-left", f, 0, out{0, icmpErr(t, macA, mac0, r0, hostA, 4, 0, 42, l3(f))})
	f = frame(t, hostA, r0, pRoute, 64, cat(ext(17, 77, 0, 0, 0, 0, 0), udp(10)))
	add("routing-segments-left-0-ignored", f, 0, out{0, icmpErr(t, macA, mac0, r0, hostA, 1, 4, 0, l3(f))})
	// A first fragment (offset 0, M set) whose chain stops short: the
	// destination options header says 16 bytes, 8 are there.
	f = frame(t, hostA, remote, pFrag, 64, cat([]byte{dopts, 0, 0, 1, 0, 0, 0, 1}, []byte{17, 1, 1, 4, 0, 0, 0, 0}))
	add("first-fragment-incomplete-chain", f, 0, out{0, icmpErr(t, macA, mac0, r0, hostA, 4, 3, 0, l3(f))})
	f = frame(t, hostA, remote, pFrag, 64, []byte{17, 0, 0, 1, 0, 0, 0, 1})
	add("first-fragment-no-upper-layer", f, 0, out{0, icmpErr(t, macA, mac0, r0, hostA, 4, 3, 0, l3(f))})
	f = frame(t, hostA, remote, pFrag, 64, cat([]byte{17, 0, 0, 1, 0, 0, 0, 1}, udp(16)))
	add("first-fragment-whole-chain", f, 0, out{1, fwd(f)})
	f = frame(t, hostA, remote, pFrag, 64, cat([]byte{dopts, 0, 0, 0x21, 0, 0, 0, 1}, make([]byte, 16)))
	add("later-fragment-forwarded", f, 0, out{1, fwd(f)})
	var nine []byte
	for range 9 {
		nine = append(nine, ext(dopts, 1, 4, 0, 0, 0, 0)...)
	}
	nine[len(nine)-8] = 17
	add("too-many-ext-headers", frame(t, hostA, remote, pDOpts, 64, cat(nine, udp(8))), ip6.TooManyExt)

	// The router's own addresses.
	f = echo(hostA, r0, 64)
	add("echo-global", f, 0, out{0, ser(t, eth(macA, mac0), ip(r0, hostA, pICMP, 64),
		&layers.ICMPv6{TypeCode: layers.CreateICMPv6TypeCode(129, 0)}, gopacket.Payload([]byte{0, 7, 0, 1, 'p', 'i', 'n', 'g'}))})
	f = echo(hostA, r1, 3)
	add("echo-other-interface-address", f, 0, out{0, ser(t, eth(macA, mac0), ip(r1, hostA, pICMP, 64),
		&layers.ICMPv6{TypeCode: layers.CreateICMPv6TypeCode(129, 0)}, gopacket.Payload([]byte{0, 7, 0, 1, 'p', 'i', 'n', 'g'}))})
	f = echo(hostLL, r0LL, 64)
	add("echo-link-local", f, 0, out{0, ser(t, eth(macA, mac0), ip(r0LL, hostLL, pICMP, 64),
		&layers.ICMPv6{TypeCode: layers.CreateICMPv6TypeCode(129, 0)}, gopacket.Payload([]byte{0, 7, 0, 1, 'p', 'i', 'n', 'g'}))})
	f = echo(hostA, r0, 64)
	f[len(f)-1] ^= 1
	add("echo-bad-checksum", f, ip6.LocalICMPBad)
	f = frame(t, hostA, r0, pUDP, 64, udp(10))
	add("udp-to-router", f, 0, out{0, icmpErr(t, macA, mac0, r0, hostA, 1, 4, 0, l3(f))})
	f = frame(t, hostA, r0, 132, 64, make([]byte, 16))
	add("unknown-next-header-to-router", f, 0, out{0, icmpErr(t, macA, mac0, r0, hostA, 4, 1, 6, l3(f))})
	f = frame(t, hostA, r0, pDOpts, 64, cat(ext(132, 1, 4, 0, 0, 0, 0), make([]byte, 8)))
	add("unknown-next-header-after-ext", f, 0, out{0, icmpErr(t, macA, mac0, r0, hostA, 4, 1, 40, l3(f))})

	// ICMPv6 errors never about ...
	te := append([]byte{1, 0, 0, 0}, make([]byte, 52)...) // the router does not check a transit checksum
	add("no-error-about-icmp-error", frame(t, hostA, remote, pICMP, 1, te), ip6.ICMPAboutICMPError)
	rd := append([]byte{137, 0, 0, 0}, make([]byte, 36)...)
	add("no-error-about-redirect", frame(t, hostA, remote, pICMP, 1, rd), ip6.ICMPAboutICMPError)
	f = echo(hostA, remote, 1)
	add("error-about-echo", f, 0, out{0, icmpErr(t, macA, mac0, r0, hostA, 3, 0, 0, l3(f))})
	f = frame(t, hostA, remote, pUDP, 1, udp(1400))
	add("quote-cut-to-1280", f, 0, out{0, icmpErr(t, macA, mac0, r0, hostA, 3, 0, 0, l3(f))})
	f = frame(t, hostA, remote, pUDP, 1, udp(18))
	copy(f[0:6], []byte{0x33, 0x33, 0, 0, 0, 1})
	add("l2-multicast-not-forwarded", f, ip6.L2Multicast)

	l := newLab(t, 100)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { check(t, l, c.in, c.want, c.drop) })
	}
	// The quote really is cut: the error is 1280 bytes of IPv6.
	if got := l.send(0, frame(t, hostA, remote, pUDP, 1, udp(1400)))[0]; len(got) != 1 || len(got[0]) != hdr.EthernetLen+1280 {
		t.Errorf("time exceeded about a 1448-byte packet: %d frames, want one of %d bytes", len(got), hdr.EthernetLen+1280)
	}
}

// TestIP6RateLimited: ICMPv6 errors share the per-worker token bucket.
// The bucket refills on the real clock: at one token a second (not the
// lab's 1000, a token a millisecond, which a loaded machine or the race
// detector took between two of the five sends), a third error needs the
// sends to take a second.
func TestIP6RateLimited(t *testing.T) {
	cfg := labConfig(t, 2)
	cfg.ICMPRate = 1
	l := newLabCfg(t, cfg)
	f := frame(t, hostA, remote, layers.IPProtocolUDP, 1, udp(18))
	sent := 0
	for range 5 {
		sent += len(l.send(0, f)[0])
	}
	if sent > 3 || sent < 2 {
		t.Errorf("%d errors sent for 5 expired packets with a burst of 2", sent)
	}
	if d := l.w.Counters().Drops[ip6.ICMPRateLimited]; int(d) != 5-sent {
		t.Errorf("rate-limited %d, want %d", d, 5-sent)
	}
}

// TestIP6Allocs: forwarding, Time Exceeded and echo replies allocate
// nothing per packet.
func TestIP6Allocs(t *testing.T) {
	for _, c := range []struct {
		name string
		f    []byte
	}{
		{"forward", frame(t, hostA, remote, layers.IPProtocolUDP, 64, udp(18))},
		{"time-exceeded", frame(t, hostA, remote, layers.IPProtocolUDP, 1, udp(18))},
		{"hop-by-hop", frame(t, hostA, remote, layers.IPProtocolIPv6HopByHop, 64, cat(ext(17, 1, 4, 0, 0, 0, 0), udp(10)))},
	} {
		t.Run(c.name, func(t *testing.T) {
			l := newLabGen(t, c.f)
			l.Poll()
			if n := testing.AllocsPerRun(100, func() { l.Poll() }); n != 0 {
				t.Errorf("%v allocations per batch, want 0", n)
			}
			if l.Counters().TxPackets[0]+l.Counters().TxPackets[1] == 0 {
				t.Error("nothing sent")
			}
		})
	}
}
