package hdr

import (
	"encoding/binary"
	"testing"
)

// Fuzz targets, one per parser. Each asserts that nothing panics and that a
// successful validation makes every accessor safe and self-consistent.
// Crashers found by `go test -fuzz` are kept under testdata/fuzz.

func FuzzParseEthernet(f *testing.F) {
	f.Add(frame([]uint16{EtherTypeIPv4}, 20), 2)
	f.Add(frame([]uint16{EtherTypeVLAN, 0xb064, EtherTypeIPv6}, 40), 2)
	f.Add(frame([]uint16{EtherTypeQinQ, 1, EtherTypeVLAN, 2, EtherTypeARP}, 28), 2)
	f.Add(frame([]uint16{EtherTypeQinQ, 1, EtherTypeVLAN, 2, EtherTypeVLAN, 3, EtherTypeIPv4}, 0), 2)
	f.Add(frame([]uint16{EtherTypeVLAN, 1}, 0)[:17], 1)
	f.Add([]byte{1, 2, 3}, 0)
	f.Add([]byte(nil), -1)
	f.Fuzz(func(t *testing.T, b []byte, maxTags int) {
		etype, l3off, ntags, st := ParseEthernet(b, maxTags)
		isTag := etype == EtherTypeVLAN || etype == EtherTypeQinQ
		if l3off != 0 && l3off != EthernetLen+ntags*VLANTagLen {
			t.Fatalf("l3off %d with %d tags", l3off, ntags)
		}
		if l3off > len(b) || ntags < 0 || (ntags > maxTags && ntags > 0) {
			t.Fatalf("l3off %d ntags %d maxTags %d len %d", l3off, ntags, maxTags, len(b))
		}
		switch st {
		case OK:
			if isTag || etype != binary.BigEndian.Uint16(b[l3off-2:]) {
				t.Fatalf("OK with etype %#x at %d", etype, l3off)
			}
			e := Ethernet(b)
			_, _, _ = e.Dst(), e.Src(), e.Type()
			for i := range ntags {
				v := VLAN(b[EthernetLen+i*VLANTagLen : EthernetLen+(i+1)*VLANTagLen])
				if v.VID() != v.TCI()&0xfff || uint16(v.PCP())<<13 != v.TCI()&0xe000 || v.DEI() != (v.TCI()&0x1000 != 0) {
					t.Fatalf("VLAN fields inconsistent with TCI %#x", v.TCI())
				}
				if next := v.Type(); (next == EtherTypeVLAN || next == EtherTypeQinQ) != (i < ntags-1) {
					t.Fatalf("tag %d inner type %#x", i, next)
				}
			}
		case TooManyTags:
			if !isTag || ntags != max(maxTags, 0) {
				t.Fatalf("TooManyTags with etype %#x ntags %d max %d", etype, ntags, maxTags)
			}
		case TooShort:
			if len(b) >= EthernetLen && len(b) >= l3off+VLANTagLen {
				t.Fatalf("TooShort with %d bytes, l3off %d", len(b), l3off)
			}
		default:
			t.Fatalf("unexpected status %v", st)
		}
	})
}

func FuzzARP(f *testing.F) {
	f.Add(buildARP(ARPRequest))
	f.Add(buildARP(ARPReply))
	f.Add(buildARP(3))
	f.Add(buildARP(ARPRequest)[:27])
	f.Add(append(buildARP(ARPReply), make([]byte, 18)...))
	f.Fuzz(func(t *testing.T, b []byte) {
		a := ARP(b)
		st := a.Validate()
		if st == TooShort != (len(b) < ARPLen) {
			t.Fatalf("Validate = %v for %d bytes", st, len(b))
		}
		if st != OK {
			return
		}
		if op := a.Op(); op != ARPRequest && op != ARPReply {
			t.Fatalf("OK with op %d", op)
		}
		if len(a.SenderMAC()) != 6 || len(a.TargetMAC()) != 6 {
			t.Fatalf("MAC lengths")
		}
		spa, tpa := a.SenderIP(), a.TargetIP()
		a.SetSenderIP(tpa)
		a.SetTargetIP(spa)
		a.SetOp(ARPReply)
		if a.SenderIP() != tpa || a.TargetIP() != spa || a.Validate() != OK {
			t.Fatalf("setters broke the packet")
		}
	})
}

// refValidateIPv4 is a straight transcription of the RFC 1812 §5.2.2 checks,
// written independently of IPv4.Validate.
func refValidateIPv4(b []byte) Status {
	switch {
	case len(b) < 20:
		return TooShort
	case b[0]>>4 != 4:
		return BadVersion
	case b[0]&15 < 5 || int(b[0]&15)*4 > len(b):
		return BadIHL
	case refSum(b[:int(b[0]&15)*4]) != 0xffff:
		return BadChecksum
	case int(b[2])<<8|int(b[3]) < int(b[0]&15)*4 || int(b[2])<<8|int(b[3]) > len(b):
		return BadTotalLen
	}
	return OK
}

func FuzzIPv4(f *testing.F) {
	f.Add(buildIPv4(nil, 0, 0))
	f.Add(buildIPv4(nil, 30, 16))
	f.Add(buildIPv4([]byte{0x94, 4, 0, 0, 1, 1, 1, 0}, 8, 0))
	f.Add(buildIPv4(make([]byte, 40), 0, 0))
	f.Add(buildIPv4(nil, 10, 0)[:25])
	f.Add([]byte{0x46, 0, 0, 20, 0, 0, 0, 0, 64, 6, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8})
	f.Add([]byte{0x45})
	f.Fuzz(func(t *testing.T, b []byte) {
		ip := IPv4(b)
		st := ip.Validate()
		if ref := refValidateIPv4(b); st != ref {
			t.Fatalf("Validate = %v, reference %v", st, ref)
		}
		if len(b) >= IPv4MinLen && ip.HeaderLen() >= IPv4MinLen && ip.HeaderLen() <= len(b) {
			// Checksum computed then verified gives 0.
			c := append([]byte(nil), b...)
			IPv4(c).SetChecksum(IPv4(c).ComputeChecksum())
			if Checksum(c[:IPv4(c).HeaderLen()], 0) != 0 {
				t.Fatalf("computed checksum does not verify")
			}
		}
		if st != OK {
			return
		}
		hl, tl := ip.HeaderLen(), ip.TotalLen()
		if hl < IPv4MinLen || hl > tl || tl > len(b) {
			t.Fatalf("HeaderLen %d TotalLen %d len %d", hl, tl, len(b))
		}
		if ip.Version() != 4 || len(ip.Options()) != hl-IPv4MinLen || len(ip.Payload()) != tl-hl {
			t.Fatalf("version %d options %d payload %d", ip.Version(), len(ip.Options()), len(ip.Payload()))
		}
		_, _, _, _, _, _ = ip.TOS(), ip.ID(), ip.DF(), ip.MF(), ip.Src(), ip.Dst()
		if ip.FragOffset() > 0x1fff {
			t.Fatalf("FragOffset %#x", ip.FragOffset())
		}
		// A valid header's stored checksum may be -0 where recomputation
		// gives +0; both verify (RFC 1624 §3).
		if !sameChecksum(ip.Checksum(), ip.ComputeChecksum()) {
			t.Fatalf("Checksum %#x, ComputeChecksum %#x", ip.Checksum(), ip.ComputeChecksum())
		}
		if ttl := ip.TTL(); ttl > 1 {
			ip.DecTTL()
			if ip.TTL() != ttl-1 || ip.Validate() != OK || !sameChecksum(ip.Checksum(), ip.ComputeChecksum()) {
				t.Fatalf("DecTTL: ttl %d status %v checksum %#x recompute %#x", ip.TTL(), ip.Validate(), ip.Checksum(), ip.ComputeChecksum())
			}
		}
	})
}

func FuzzIPv6(f *testing.F) {
	dest9 := make([]ext, 9)
	for i := range dest9 {
		dest9[i] = ext{ProtoDestOpts, 8}
	}
	f.Add(buildIPv6(nil, ProtoTCP, 20))
	f.Add(buildIPv6([]ext{{ProtoHopByHop, 16}, {ProtoDestOpts, 8}, {ProtoRouting, 24}, {ProtoFragment, 8}, {ProtoAH, 24}, {ProtoDestOpts, 8}}, ProtoUDP, 8))
	f.Add(buildIPv6([]ext{{ProtoFragment, 8}}, ProtoESP, 16))
	f.Add(buildIPv6(dest9, ProtoNoNext, 0))
	f.Add(buildIPv6([]ext{{ProtoRouting, 16}}, ProtoTCP, 0)[:50])
	f.Add(append(buildIPv6(nil, ProtoICMPv6, 8), 0, 0, 0))
	f.Add(make([]byte, 39))
	f.Fuzz(func(t *testing.T, b []byte) {
		ip := IPv6(b)
		st := ip.Validate()
		proto, off, frag, fragOff, tst := ip.Transport()
		if off < 0 || off > len(b) {
			t.Fatalf("Transport off %d, len %d", off, len(b))
		}
		if (st == TooShort) != (len(b) < IPv6Len) || (tst == TooShort) != (len(b) < IPv6Len) {
			t.Fatalf("Validate %v Transport %v for %d bytes", st, tst, len(b))
		}
		if !frag && fragOff != 0 || fragOff > 0x1fff {
			t.Fatalf("frag %v fragOff %#x", frag, fragOff)
		}
		if st != OK {
			return
		}
		if ip.Version() != 6 || IPv6Len+ip.PayloadLen() > len(b) || len(ip.Payload()) != ip.PayloadLen() ||
			len(ip.Src()) != 16 || len(ip.Dst()) != 16 || ip.FlowLabel() > 0xfffff {
			t.Fatalf("accessors inconsistent after OK")
		}
		_, _, _ = ip.TrafficClass(), ip.NextHeader(), ip.HopLimit()
		end := IPv6Len + ip.PayloadLen()
		if off < IPv6Len || off > end {
			t.Fatalf("Transport off %d outside [40, %d]", off, end)
		}
		if tst == OK && fragOff == 0 {
			switch proto {
			case ProtoHopByHop, ProtoRouting, ProtoFragment, ProtoDestOpts, ProtoAH:
				t.Fatalf("Transport OK stopped at extension header %d", proto)
			}
		}
		if off == IPv6Len && tst == OK && proto != ip.NextHeader() {
			t.Fatalf("no extension headers but proto %d != next header %d", proto, ip.NextHeader())
		}
	})
}

func FuzzICMPv4(f *testing.F) {
	f.Add([]byte{ICMPv4Echo, 0, 0, 0, 0x12, 0x34, 0, 7, 'p', 'i', 'n', 'g'})
	f.Add([]byte{ICMPv4TimeExceeded, 0, 0xf4, 0xff, 0, 0, 0, 0})
	f.Add([]byte{ICMPv4DestUnreach, ICMPv4FragNeeded, 0, 0, 0, 0, 5, 0xdc, 0x45})
	f.Add([]byte{3, 3, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		c := ICMPv4(b)
		if st := c.Validate(); st != OK {
			if st != TooShort || len(b) >= ICMPv4Len {
				t.Fatalf("Validate = %v for %d bytes", st, len(b))
			}
			return
		}
		if len(c.Rest()) != 4 || len(c.Payload()) != len(b)-ICMPv4Len {
			t.Fatalf("Rest/Payload lengths")
		}
		_, _, _, _ = c.Code(), c.ID(), c.Seq(), c.Checksum()
		switch c.Type() {
		case 3, 4, 5, 11, 12:
			if !c.IsError() {
				t.Fatalf("type %d not an error", c.Type())
			}
		default:
			if c.IsError() {
				t.Fatalf("type %d is an error", c.Type())
			}
		}
		c.SetChecksum(0)
		c.SetChecksum(Checksum(c, 0))
		if Checksum(c, 0) != 0 {
			t.Fatalf("computed checksum does not verify")
		}
		// Echo -> reply with an incremental update, as the ICMP stage does.
		old := binary.BigEndian.Uint16(c)
		c.SetType(ICMPv4EchoReply)
		c.SetChecksum(Update16(c.Checksum(), old, binary.BigEndian.Uint16(c)))
		if Fold(Sum(c, 0)) != 0 && !allZeroExcept(c, 2) {
			t.Fatalf("updated checksum does not verify")
		}
	})
}

// allZeroExcept reports whether b is zero apart from the 16-bit word at i.
func allZeroExcept(b []byte, i int) bool {
	for j, v := range b {
		if v != 0 && j != i && j != i+1 {
			return false
		}
	}
	return true
}

func FuzzICMPv6(f *testing.F) {
	f.Add([]byte{ICMPv6Echo, 0, 0, 0, 0xab, 0xcd, 0, 1, 'p', 'i', 'n', 'g'}, make([]byte, 32))
	f.Add([]byte{ICMPv6PacketTooBig, 0, 0, 0, 0, 0, 5, 0xdc}, []byte("0123456789abcdef0123456789abcdef"))
	f.Add([]byte{ICMPv6NeighborSolicit, 0, 0}, []byte{})
	f.Fuzz(func(t *testing.T, b, addrs []byte) {
		c := ICMPv6(b)
		if st := c.Validate(); st != OK {
			if st != TooShort || len(b) >= ICMPv6Len {
				t.Fatalf("Validate = %v for %d bytes", st, len(b))
			}
			return
		}
		if len(c.Rest()) != 4 || len(c.Payload()) != len(b)-ICMPv6Len {
			t.Fatalf("Rest/Payload lengths")
		}
		_, _, _, _ = c.Code(), c.ID(), c.Seq(), c.Checksum()
		if c.IsError() != (c.Type() < 128) {
			t.Fatalf("IsError wrong for type %d", c.Type())
		}
		var a [32]byte
		copy(a[:], addrs)
		ps := PseudoSumIPv6(a[:16], a[16:], ProtoICMPv6, uint32(len(c)))
		c.SetChecksum(0)
		c.SetChecksum(Checksum(c, ps))
		if Checksum(c, ps) != 0 {
			t.Fatalf("computed checksum does not verify")
		}
	})
}

func FuzzUDP(f *testing.F) {
	f.Add([]byte{0, 53, 0x10, 0x92, 0, 12, 0xab, 0xcd, 'd', 'a', 't', 'a'}, uint32(0x0a000001), uint32(0x0a000002))
	f.Add([]byte{0, 1, 0, 2, 0, 8, 0, 0}, uint32(0), uint32(0))
	f.Add([]byte{0, 1, 0, 2, 0, 7, 0, 0}, uint32(1), uint32(2))
	f.Add([]byte{0, 1, 0, 2, 0, 9, 0, 0}, uint32(1), uint32(2))
	f.Add([]byte{0, 1, 0}, uint32(1), uint32(2))
	f.Fuzz(func(t *testing.T, b []byte, src, dst uint32) {
		u := UDP(b)
		st := u.Validate()
		switch {
		case len(b) < UDPLen:
			if st != TooShort {
				t.Fatalf("Validate = %v for %d bytes", st, len(b))
			}
			return
		case st == BadLength:
			if l := u.Length(); l >= UDPLen && l <= len(b) {
				t.Fatalf("BadLength with length %d of %d", l, len(b))
			}
			return
		case st != OK:
			t.Fatalf("unexpected status %v", st)
		}
		if u.Length() < UDPLen || u.Length() > len(b) || len(u.Payload()) != u.Length()-UDPLen {
			t.Fatalf("Length %d Payload %d len %d", u.Length(), len(u.Payload()), len(b))
		}
		_, _, _ = u.SrcPort(), u.DstPort(), u.Checksum()
		d := u[:u.Length()]
		ps := PseudoSumIPv4(src, dst, ProtoUDP, uint16(len(d)))
		d.SetChecksum(0)
		d.SetChecksum(UDPChecksum(Checksum(d, ps)))
		if d.Checksum() == 0 || Checksum(d, ps) != 0 {
			t.Fatalf("UDP checksum %#x does not verify", d.Checksum())
		}
		// NAT-style port rewrite with an incremental update stays valid.
		old := d.SrcPort()
		d.SetSrcPort(^old)
		d.SetChecksum(UDPChecksum(Update16(d.Checksum(), old, ^old)))
		if Checksum(d, ps) != 0 {
			t.Fatalf("updated UDP checksum %#x does not verify", d.Checksum())
		}
	})
}

func FuzzTCP(f *testing.F) {
	seg := make([]byte, 32)
	copy(seg, []byte{0x01, 0xbb, 0xc0, 0x00, 0, 0, 0, 1, 0x80, 0, 0, 2, 0x60, 0x12, 0xff, 0xff, 0x12, 0x34, 0, 9, 2, 4, 5, 0xb4})
	f.Add(seg)
	f.Add(seg[:24])
	f.Add(seg[:23])
	f.Add(seg[:19])
	f.Add(append([]byte{0, 1, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0xf0, 0}, make([]byte, 60)...))
	f.Fuzz(func(t *testing.T, b []byte) {
		tc := TCP(b)
		st := tc.Validate()
		switch {
		case len(b) < TCPMinLen:
			if st != TooShort {
				t.Fatalf("Validate = %v for %d bytes", st, len(b))
			}
			return
		case st == BadDataOffset:
			if d := tc.DataOffset(); d >= TCPMinLen && d <= len(b) {
				t.Fatalf("BadDataOffset with offset %d of %d", d, len(b))
			}
			return
		case st != OK:
			t.Fatalf("unexpected status %v", st)
		}
		d := tc.DataOffset()
		if d < TCPMinLen || d > len(b) || d%4 != 0 || len(tc.Options()) != d-TCPMinLen || len(tc.Payload()) != len(b)-d {
			t.Fatalf("DataOffset %d options %d payload %d len %d", d, len(tc.Options()), len(tc.Payload()), len(b))
		}
		_, _, _, _, _, _, _, _ = tc.SrcPort(), tc.DstPort(), tc.Seq(), tc.Ack(), tc.Flags(), tc.Window(), tc.Checksum(), tc.Urgent()
		ps := PseudoSumIPv4(0xc0a80001, 0x08080808, ProtoTCP, uint16(len(b)))
		tc.SetChecksum(0)
		tc.SetChecksum(Checksum(tc, ps))
		if Checksum(tc, ps) != 0 {
			t.Fatalf("TCP checksum does not verify")
		}
		// Sequence number rewrite via Update32 stays valid.
		old := tc.Seq()
		tc.SetSeq(old + 12345)
		tc.SetChecksum(Update32(tc.Checksum(), old, old+12345))
		if Checksum(tc, ps) != 0 {
			t.Fatalf("Update32 TCP checksum does not verify")
		}
	})
}

// FuzzChecksumUpdate checks Sum against the reference and Update16/Update32
// against a full recomputation on arbitrary data.
func FuzzChecksumUpdate(f *testing.F) {
	f.Add(buildIPv4(nil, 0, 0), uint16(4), uint16(0x3285), uint32(0xdeadbeef))
	f.Add([]byte{0x55, 0x55, 0, 0, 0xcd, 0x7a}, uint16(0), uint16(0x3285), uint32(0)) // RFC 1624 §4
	f.Add(make([]byte, 8), uint16(2), uint16(0xffff), uint32(0xffffffff))
	f.Add([]byte{0xff, 0xff, 0, 0, 0, 0}, uint16(0), uint16(0), uint32(0))
	f.Add([]byte{1}, uint16(0), uint16(1), uint32(1))
	f.Fuzz(func(t *testing.T, data []byte, pos, nw uint16, nw32 uint32) {
		if got, want := Sum(data, 0), refSum(data); got != want {
			t.Fatalf("Sum = %#x, reference %#x", got, want)
		}
		// Words: the checksum field is word 1 (bytes 2-3); the changed
		// field is any other word, or a 32-bit pair for Update32.
		n := len(data) &^ 1
		if n < 6 {
			return
		}
		b := append([]byte(nil), data[:n]...)
		c := 2
		w := 2 * (int(pos) % (n / 2))
		if w == c {
			w = 0
		}
		binary.BigEndian.PutUint16(b[c:], 0)
		binary.BigEndian.PutUint16(b[c:], Checksum(b, 0))
		if Checksum(b, 0) != 0 && !allZeroExcept(b, c) {
			t.Fatalf("computed checksum does not verify")
		}
		old := binary.BigEndian.Uint16(b[w:])
		binary.BigEndian.PutUint16(b[w:], nw)
		got := Update16(binary.BigEndian.Uint16(b[c:]), old, nw)
		binary.BigEndian.PutUint16(b[c:], 0)
		want := Checksum(b, 0)
		// Exact, except that all-zero data recomputes to 0xFFFF where the
		// update (never producing +0 inside) gives 0x0000 (RFC 1624 §3).
		if got != want && !(sameChecksum(got, want) && allZeroExcept(b, c)) {
			t.Fatalf("Update16 = %#x, recompute %#x (word %d %#x -> %#x)", got, want, w, old, nw)
		}
		binary.BigEndian.PutUint16(b[c:], want)

		// Update32 on the 32-bit field at w4 (bytes w4..w4+3, clear of c).
		if n < 8 {
			return
		}
		w4 := 4 + 2*(int(pos)%((n-6)/2))
		old32 := binary.BigEndian.Uint32(b[w4:])
		binary.BigEndian.PutUint32(b[w4:], nw32)
		got = Update32(want, old32, nw32)
		binary.BigEndian.PutUint16(b[c:], 0)
		want = Checksum(b, 0)
		if got != want && !(sameChecksum(got, want) && allZeroExcept(b, c)) {
			t.Fatalf("Update32 = %#x, recompute %#x (at %d %#x -> %#x)", got, want, w4, old32, nw32)
		}
	})
}
