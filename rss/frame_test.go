package rss

import (
	"bytes"
	"encoding/binary"
	"math/rand/v2"
	"testing"

	"github.com/softnet/softnet/hdr"
)

const (
	protoICMP = hdr.ProtoICMP
	protoTCP  = hdr.ProtoTCP
	protoUDP  = hdr.ProtoUDP
)

// pkt describes a test frame. Frames are built field by field into fresh
// slices so the tests see exactly the bytes a NIC would.
type pkt struct {
	tags         []uint16 // TPIDs, outermost first
	v6           bool
	src4, dst4   uint32
	src6, dst6   [16]byte
	proto        uint8 // upper-layer protocol; TCP/UDP get ports, others an 8-byte header
	sport, dport uint16
	fragField    uint16  // IPv4 flags|fragment offset word
	opts         int     // IPv4 option bytes, a multiple of 4
	exts         []uint8 // IPv6 extension headers (8 bytes each) before the upper layer
	fragOff      uint16  // offset written into IPv6 Fragment headers
	pad          int     // Ethernet padding after the packet
}

func (p pkt) build() (frame []byte, l3off int) {
	var l4 []byte
	switch p.proto {
	case protoTCP:
		l4 = make([]byte, hdr.TCPMinLen)
		l4[12] = 5 << 4 // data offset
	case protoUDP:
		l4 = make([]byte, hdr.UDPLen)
		binary.BigEndian.PutUint16(l4[4:], hdr.UDPLen)
	default:
		l4 = make([]byte, 8)
		l4[0] = 8 // ICMP echo request
	}
	if p.proto == protoTCP || p.proto == protoUDP {
		binary.BigEndian.PutUint16(l4[0:], p.sport)
		binary.BigEndian.PutUint16(l4[2:], p.dport)
	}
	var l3 []byte
	etype := uint16(hdr.EtherTypeIPv4)
	if !p.v6 {
		hl := hdr.IPv4MinLen + p.opts
		l3 = make([]byte, hl+len(l4))
		ip := hdr.IPv4(l3)
		ip.SetVersionIHL(hl)
		ip.SetTotalLen(len(l3))
		binary.BigEndian.PutUint16(l3[6:], p.fragField)
		ip.SetTTL(64)
		ip.SetProtocol(p.proto)
		ip.SetSrc(p.src4)
		ip.SetDst(p.dst4)
		for i := hdr.IPv4MinLen; i < hl; i++ {
			l3[i] = 1 // NOP option
		}
		ip.SetChecksum(ip.ComputeChecksum())
		copy(l3[hl:], l4)
	} else {
		etype = hdr.EtherTypeIPv6
		l3 = make([]byte, hdr.IPv6Len+8*len(p.exts)+len(l4))
		ip := hdr.IPv6(l3)
		ip.SetVersionClassFlow(0, 0x12345)
		ip.SetPayloadLen(len(l3) - hdr.IPv6Len)
		ip.SetHopLimit(64)
		copy(ip.Src(), p.src6[:])
		copy(ip.Dst(), p.dst6[:])
		nh, off := &l3[6], hdr.IPv6Len
		for _, e := range p.exts {
			*nh = e
			nh = &l3[off]
			// Length byte 0 means 8 bytes for every type used here (for
			// AH: (0+2)*4).
			if e == hdr.ProtoFragment {
				binary.BigEndian.PutUint16(l3[off+2:], p.fragOff<<3|1)
			}
			off += 8
		}
		*nh = p.proto
		copy(l3[off:], l4)
	}
	f := make([]byte, 12, 12+4*len(p.tags)+2+len(l3)+p.pad)
	copy(f, []byte{0x02, 0, 0, 0, 0, 1, 0x02, 0, 0, 0, 0, 2})
	for i, tpid := range p.tags {
		f = binary.BigEndian.AppendUint16(f, tpid)
		f = binary.BigEndian.AppendUint16(f, uint16(100+i)) // TCI: VID 100+i
	}
	f = binary.BigEndian.AppendUint16(f, etype)
	l3off = len(f)
	f = append(f, l3...)
	f = append(f, make([]byte, p.pad)...)
	return f, l3off
}

func (p pkt) reverse() pkt {
	p.src4, p.dst4 = p.dst4, p.src4
	p.src6, p.dst6 = p.dst6, p.src6
	p.sport, p.dport = p.dport, p.sport
	return p
}

func frame4(tags []uint16, src, dst uint32, proto uint8, sport, dport uint16) ([]byte, int) {
	return pkt{tags: tags, src4: src, dst4: dst, proto: proto, sport: sport, dport: dport}.build()
}

func frame6(tags []uint16, src, dst *[16]byte, exts []uint8, proto uint8, sport, dport uint16) ([]byte, int) {
	return pkt{tags: tags, v6: true, src6: *src, dst6: *dst, exts: exts, proto: proto, sport: sport, dport: dport}.build()
}

func randPkt(r *rand.Rand) pkt {
	p := pkt{v6: r.IntN(2) == 1, proto: protoTCP}
	if r.IntN(2) == 1 {
		p.proto = protoUDP
	}
	p.src4, p.dst4 = r.Uint32(), r.Uint32()
	p.src6, p.dst6 = rand6(r), rand6(r)
	p.sport, p.dport = uint16(r.Uint32()), uint16(r.Uint32())
	tpids := []uint16{hdr.EtherTypeVLAN, hdr.EtherTypeQinQ}
	for range r.IntN(MaxTags + 1) {
		p.tags = append(p.tags, tpids[r.IntN(2)])
	}
	return p
}

// TestFrameSymmetric builds both directions of 10 000 random TCP/UDP flows
// (IPv4 and IPv6, 0-2 VLAN tags) as real frames and checks that Frame with
// the symmetric key gives them the same hash, hence the same queue, and the
// hash the tuple methods give.
func TestFrameSymmetric(t *testing.T) {
	h := New(SymmetricKey)
	t2, t4 := NewTable(2), NewTable(4)
	r := rand.New(rand.NewPCG(9, 10))
	for range 10000 {
		p := randPkt(r)
		fwd, _ := p.build()
		rev, _ := p.reverse().build()
		a, okA := h.Frame(fwd)
		b, okB := h.Frame(rev)
		if !okA || !okB {
			t.Fatalf("%+v: Frame ok = %v, reverse ok = %v", p, okA, okB)
		}
		want := h.IPv4(p.src4, p.dst4, p.sport, p.dport)
		if p.v6 {
			want = h.IPv6(&p.src6, &p.dst6, p.sport, p.dport)
		}
		if a != want || b != want {
			t.Fatalf("%+v: Frame = %#08x, reverse %#08x, tuple hash %#08x", p, a, b, want)
		}
		if t2.Queue(a) != t2.Queue(b) || t4.Queue(a) != t4.Queue(b) {
			t.Fatalf("%+v: queues differ", p)
		}
	}
}

// TestFrameTuple checks which tuple Frame hashes: 4-tuple for TCP/UDP
// (whatever the IPv4 options or IPv6 extension headers in front), 2-tuple
// for fragments and other protocols, whatever the VLAN tags.
func TestFrameTuple(t *testing.T) {
	src4, dst4 := uint32(0xc0a80001), uint32(0x0a000002)
	src6, dst6 := addr6("2001:db8::1"), addr6("2001:db8:1::2")
	const sp, dp = 40000, 443
	base4 := pkt{src4: src4, dst4: dst4, proto: protoTCP, sport: sp, dport: dp}
	base6 := pkt{v6: true, src6: src6, dst6: dst6, proto: protoTCP, sport: sp, dport: dp}
	with := func(p pkt, f func(*pkt)) pkt { f(&p); return p }
	for _, k := range []Key{MicrosoftKey, SymmetricKey} {
		h := New(k)
		four4 := h.IPv4(src4, dst4, sp, dp)
		two4 := h.IPv4Addrs(src4, dst4)
		four6 := h.IPv6(&src6, &dst6, sp, dp)
		two6 := h.IPv6Addrs(&src6, &dst6)
		cases := []struct {
			name string
			p    pkt
			want uint32
		}{
			{"ipv4-tcp", base4, four4},
			{"ipv4-udp", with(base4, func(p *pkt) { p.proto = protoUDP }), four4},
			{"ipv4-udp-padded", with(base4, func(p *pkt) { p.proto = protoUDP; p.pad = 18 }), four4},
			{"ipv4-tcp-options", with(base4, func(p *pkt) { p.opts = 12 }), four4},
			{"ipv4-tcp-max-options", with(base4, func(p *pkt) { p.opts = 40 }), four4},
			{"ipv4-tcp-df", with(base4, func(p *pkt) { p.fragField = 0x4000 }), four4},
			{"ipv4-first-fragment", with(base4, func(p *pkt) { p.fragField = 0x2000 }), two4},
			{"ipv4-middle-fragment", with(base4, func(p *pkt) { p.fragField = 0x2000 | 185 }), two4},
			{"ipv4-last-fragment", with(base4, func(p *pkt) { p.fragField = 370 }), two4},
			{"ipv4-icmp", with(base4, func(p *pkt) { p.proto = protoICMP }), two4},
			{"ipv4-esp", with(base4, func(p *pkt) { p.proto = hdr.ProtoESP }), two4},
			{"ipv4-vlan", with(base4, func(p *pkt) { p.tags = []uint16{hdr.EtherTypeVLAN} }), four4},
			{"ipv4-qinq", with(base4, func(p *pkt) { p.tags = []uint16{hdr.EtherTypeQinQ, hdr.EtherTypeVLAN} }), four4},
			{"ipv4-vlan-fragment", with(base4, func(p *pkt) { p.tags = []uint16{hdr.EtherTypeVLAN}; p.fragField = 0x2000 }), two4},
			{"ipv4-vlan-icmp", with(base4, func(p *pkt) { p.tags = []uint16{hdr.EtherTypeVLAN}; p.proto = protoICMP }), two4},
			{"ipv6-tcp", base6, four6},
			{"ipv6-udp-padded", with(base6, func(p *pkt) { p.proto = protoUDP; p.pad = 10 }), four6},
			{"ipv6-ext-tcp", with(base6, func(p *pkt) {
				p.exts = []uint8{hdr.ProtoHopByHop, hdr.ProtoDestOpts, hdr.ProtoRouting, hdr.ProtoAH}
			}), four6},
			{"ipv6-first-fragment", with(base6, func(p *pkt) { p.exts = []uint8{hdr.ProtoFragment} }), two6},
			{"ipv6-later-fragment", with(base6, func(p *pkt) { p.exts = []uint8{hdr.ProtoFragment}; p.fragOff = 100 }), two6},
			{"ipv6-hbh-fragment", with(base6, func(p *pkt) { p.exts = []uint8{hdr.ProtoHopByHop, hdr.ProtoFragment} }), two6},
			{"ipv6-icmp", with(base6, func(p *pkt) { p.proto = hdr.ProtoICMPv6 }), two6},
			{"ipv6-no-next", with(base6, func(p *pkt) { p.proto = hdr.ProtoNoNext }), two6},
			{"ipv6-vlan", with(base6, func(p *pkt) { p.tags = []uint16{hdr.EtherTypeVLAN} }), four6},
			{"ipv6-qinq-icmp", with(base6, func(p *pkt) {
				p.tags = []uint16{hdr.EtherTypeQinQ, hdr.EtherTypeVLAN}
				p.proto = hdr.ProtoICMPv6
			}), two6},
			{"ipv6-vlan-fragment", with(base6, func(p *pkt) {
				p.tags = []uint16{hdr.EtherTypeVLAN}
				p.exts = []uint8{hdr.ProtoFragment}
			}), two6},
		}
		for _, c := range cases {
			f, _ := c.p.build()
			got, ok := h.Frame(f)
			if !ok || got != c.want {
				t.Errorf("key %x…: %s: Frame = %#08x, %v; want %#08x, true", k[:4], c.name, got, ok, c.want)
			}
		}
	}
}

// TestFrameReject lists frames Frame must refuse (ok=false, queue 0).
func TestFrameReject(t *testing.T) {
	h := New(SymmetricKey)
	tcp4, l3 := pkt{src4: 1, dst4: 2, proto: protoTCP, sport: 1, dport: 2}.build()
	tcp6, l36 := pkt{v6: true, src6: addr6("::1"), dst6: addr6("::2"), proto: protoTCP, sport: 1, dport: 2}.build()
	mod := func(b []byte, f func([]byte)) []byte { c := bytes.Clone(b); f(c); return c }
	arp := mod(tcp4[:14+hdr.ARPLen], func(b []byte) { binary.BigEndian.PutUint16(b[12:], hdr.EtherTypeARP) })
	threeTags, _ := pkt{tags: []uint16{hdr.EtherTypeVLAN, hdr.EtherTypeVLAN, hdr.EtherTypeVLAN}, proto: protoTCP}.build()
	cases := []struct {
		name string
		f    []byte
	}{
		{"empty", nil},
		{"short-ethernet", tcp4[:13]},
		{"ethernet-only", tcp4[:14]},
		{"arp", arp},
		{"truncated-tag", []byte{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x81, 0x00, 0, 1}},
		{"three-tags", threeTags},
		{"ipv4-short", tcp4[:l3+19]},
		{"ipv4-bad-version", mod(tcp4, func(b []byte) { b[l3] = 0x65 })},
		{"ipv4-ihl-4", mod(tcp4, func(b []byte) { b[l3] = 0x44 })},
		{"ipv4-ihl-past-end", mod(tcp4, func(b []byte) { b[l3] = 0x4f })},
		{"ipv4-total-len-short", mod(tcp4, func(b []byte) { binary.BigEndian.PutUint16(b[l3+2:], 19) })},
		{"ipv4-total-len-long", mod(tcp4, func(b []byte) { binary.BigEndian.PutUint16(b[l3+2:], 41) })},
		{"ipv4-tcp-no-ports", mod(tcp4[:l3+22], func(b []byte) { binary.BigEndian.PutUint16(b[l3+2:], 22) })},
		{"ipv4-tcp-ports-in-padding", mod(tcp4, func(b []byte) { binary.BigEndian.PutUint16(b[l3+2:], 20) })},
		{"ipv6-short", tcp6[:l36+39]},
		{"ipv6-bad-version", mod(tcp6, func(b []byte) { b[l36] = 0x40 })},
		{"ipv6-payload-len-long", mod(tcp6, func(b []byte) { binary.BigEndian.PutUint16(b[l36+4:], 21) })},
		{"ipv6-tcp-no-ports", mod(tcp6, func(b []byte) { binary.BigEndian.PutUint16(b[l36+4:], 3) })},
		{"ipv6-ext-past-end", mod(tcp6, func(b []byte) { b[l36+6] = hdr.ProtoDestOpts; b[l36+41] = 9 })},
		{"ipv6-misplaced-hbh", mod(tcp6, func(b []byte) {
			b[l36+6] = hdr.ProtoDestOpts
			b[l36+40] = hdr.ProtoHopByHop
			b[l36+41] = 0
		})},
	}
	for _, c := range cases {
		if got, ok := h.Frame(c.f); ok {
			t.Errorf("%s: Frame = %#08x, true; want ok=false", c.name, got)
		}
	}
}

func TestAllocs(t *testing.T) {
	h := New(SymmetricKey)
	ms := New(MicrosoftKey)
	f4, _ := pkt{tags: []uint16{hdr.EtherTypeVLAN}, src4: 1, dst4: 2, proto: protoTCP, sport: 3, dport: 4}.build()
	s6, d6 := addr6("2001:db8::1"), addr6("2001:db8::2")
	f6, _ := pkt{v6: true, src6: s6, dst6: d6, exts: []uint8{hdr.ProtoHopByHop}, proto: protoUDP, sport: 3, dport: 4}.build()
	var sink uint32
	for name, fn := range map[string]func(){
		"Frame/ipv4":      func() { x, _ := h.Frame(f4); sink ^= x },
		"Frame/ipv6":      func() { x, _ := h.Frame(f6); sink ^= x },
		"Frame/ipv6/ms":   func() { x, _ := ms.Frame(f6); sink ^= x },
		"IPv4":            func() { sink ^= h.IPv4(1, 2, 3, 4) ^ ms.IPv4(1, 2, 3, 4) },
		"IPv6":            func() { sink ^= h.IPv6(&s6, &d6, 3, 4) ^ ms.IPv6(&s6, &d6, 3, 4) },
		"IPv4Addrs+IPv6s": func() { sink ^= h.IPv4Addrs(1, 2) ^ h.IPv6Addrs(&s6, &d6) ^ ms.IPv6Addrs(&s6, &d6) },
		"Sum":             func() { sink ^= ms.Sum(f4[:36]) },
	} {
		if n := testing.AllocsPerRun(1000, fn); n != 0 {
			t.Errorf("%s: %v allocations per run, want 0", name, n)
		}
	}
	_ = sink
}

// swapFrame swaps the addresses of the IP packet in frame f and, where a
// TCP/UDP header could sit, its two ports: the frame of the other direction.
// It returns false when it cannot find the fields (then Frame refused f
// anyway). It reuses hdr's parsers, not Frame's code.
func swapFrame(f []byte) bool {
	et, off, _, st := hdr.ParseEthernet(f, MaxTags)
	if st != hdr.OK {
		return false
	}
	ip := f[off:]
	swap := func(a, b []byte) {
		for i := range a {
			a[i], b[i] = b[i], a[i]
		}
	}
	switch et {
	case hdr.EtherTypeIPv4:
		if len(ip) < hdr.IPv4MinLen {
			return false
		}
		swap(ip[12:16], ip[16:20])
		if hl := hdr.IPv4(ip).HeaderLen(); hl+4 <= len(ip) {
			swap(ip[hl:hl+2], ip[hl+2:hl+4])
		}
	case hdr.EtherTypeIPv6:
		if len(ip) < hdr.IPv6Len {
			return false
		}
		swap(ip[8:24], ip[24:40])
		if _, l4, _, _, st := hdr.IPv6(ip).Transport(); st == hdr.OK && l4+4 <= len(ip) {
			swap(ip[l4:l4+2], ip[l4+2:l4+4])
		}
	default:
		return false
	}
	return true
}

// FuzzFrame: Frame never panics on any bytes, and with the symmetric key a
// frame it accepts hashes like its reverse (addresses and ports swapped).
func FuzzFrame(f *testing.F) {
	r := rand.New(rand.NewPCG(11, 12))
	for range 16 {
		b, _ := randPkt(r).build()
		f.Add(b)
	}
	for _, p := range []pkt{
		{proto: protoICMP, src4: 1, dst4: 2},
		{proto: protoUDP, fragField: 0x2000, opts: 8},
		{v6: true, proto: protoTCP, exts: []uint8{hdr.ProtoHopByHop, hdr.ProtoFragment}, fragOff: 3},
		{v6: true, proto: protoUDP, exts: []uint8{hdr.ProtoRouting, hdr.ProtoAH, hdr.ProtoDestOpts}},
		{tags: []uint16{hdr.EtherTypeQinQ, hdr.EtherTypeVLAN}, v6: true, proto: hdr.ProtoICMPv6, pad: 4},
	} {
		b, _ := p.build()
		f.Add(b)
	}
	sym, ms := New(SymmetricKey), New(MicrosoftKey)
	f.Fuzz(func(t *testing.T, b []byte) {
		ms.Frame(b)
		h, ok := sym.Frame(b)
		if !ok {
			return
		}
		c := bytes.Clone(b)
		if !swapFrame(c) {
			t.Fatalf("Frame accepted %x but swapFrame cannot parse it", b)
		}
		h2, ok2 := sym.Frame(c)
		if !ok2 || h2 != h {
			t.Fatalf("Frame(%x) = %#08x, true; reversed frame %x: %#08x, %v", b, h, c, h2, ok2)
		}
	})
}
