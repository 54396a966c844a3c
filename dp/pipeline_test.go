package dp_test

import (
	"bytes"
	"encoding/binary"
	"net/netip"
	"testing"

	"github.com/softnet/softnet/dp"
	arpnode "github.com/softnet/softnet/dp/arp"
	"github.com/softnet/softnet/dp/dptest"
	"github.com/softnet/softnet/dp/ethernet"
	"github.com/softnet/softnet/dp/ip4"
	"github.com/softnet/softnet/hdr"
)

var remoteHost = netip.MustParseAddr("198.18.7.9")

func ipOf(t *testing.T, f []byte) hdr.IPv4 {
	t.Helper()
	if len(f) < hdr.EthernetLen+hdr.IPv4MinLen || binary.BigEndian.Uint16(f[12:]) != hdr.EtherTypeIPv4 {
		t.Fatalf("not an IPv4 frame: % x", f)
	}
	ip := hdr.IPv4(f[hdr.EthernetLen:])
	if st := ip.Validate(); st != hdr.OK {
		t.Fatalf("invalid IPv4 header out: %v", st)
	}
	return ip
}

func one(t *testing.T, frames [][]byte) []byte {
	t.Helper()
	if len(frames) != 1 {
		t.Fatalf("got %d frames, want 1", len(frames))
	}
	return frames[0]
}

func TestForwardRewrite(t *testing.T) {
	l := dptest.New(t, dptest.Options{})
	in := dptest.IPv4Frame(dptest.R0MAC, dptest.HostAMAC, dptest.HostA, remoteHost, hdr.ProtoUDP, 17, false, dptest.UDP(1000, 53, 20))
	in = append(in, make([]byte, 8)...) // Ethernet padding: must be trimmed
	l.Send(0, in)
	if out := l.Out(0); len(out) != 0 {
		t.Fatalf("unexpected frames back on if0: %d", len(out))
	}
	f := one(t, l.Out(1))
	if !bytes.Equal(f[0:6], dptest.HostBMAC[:]) || !bytes.Equal(f[6:12], dptest.R1MAC[:]) {
		t.Errorf("MACs %x %x, want next hop %x from %x", f[0:6], f[6:12], dptest.HostBMAC, dptest.R1MAC)
	}
	ip := ipOf(t, f)
	if ip.TTL() != 16 {
		t.Errorf("TTL %d, want 16", ip.TTL())
	}
	if len(f) != len(in)-8 {
		t.Errorf("frame length %d, want %d (padding trimmed)", len(f), len(in)-8)
	}
	if !bytes.Equal(f[hdr.EthernetLen+20:], in[hdr.EthernetLen+20:len(in)-8]) {
		t.Error("payload changed")
	}
	c := l.Counters()
	if c.TxPackets[1] != 1 || c.RxPackets[0] != 1 || c.TotalDrops() != 0 {
		t.Errorf("counters rx0=%d tx1=%d drops=%d", c.RxPackets[0], c.TxPackets[1], c.TotalDrops())
	}
}

func TestEchoReply(t *testing.T) {
	l := dptest.New(t, dptest.Options{})
	for _, target := range []netip.Addr{dptest.R0, dptest.R1} {
		echo := dptest.Echo(7, 3, 32)
		l.Send(0, dptest.IPv4Frame(dptest.R0MAC, dptest.HostAMAC, dptest.HostA, target, hdr.ProtoICMP, 1, false, echo))
		out := l.Out(0)
		if len(out) != 1 {
			// TTL 1 is fine for a packet addressed to the router: not forwarded.
			t.Fatalf("ping %v: %d replies", target, len(out))
		}
		ip := ipOf(t, out[0])
		if ip.Src() != dptest.U32(target) || ip.Dst() != dptest.U32(dptest.HostA) {
			t.Errorf("reply %08x -> %08x", ip.Src(), ip.Dst())
		}
		p := ip.Payload()
		if p[0] != hdr.ICMPv4EchoReply || hdr.Checksum(p, 0) != 0 || !bytes.Equal(p[4:], echo[4:]) {
			t.Errorf("bad echo reply % x", p)
		}
		if !bytes.Equal(out[0][0:6], dptest.HostAMAC[:]) {
			t.Errorf("reply to MAC %x", out[0][0:6])
		}
	}
}

// checkError checks an ICMP error about orig and returns its ICMP message.
func checkError(t *testing.T, f []byte, typ, code uint8, from netip.Addr, orig []byte) []byte {
	t.Helper()
	ip := ipOf(t, f)
	if ip.Src() != dptest.U32(from) || ip.Protocol() != hdr.ProtoICMP {
		t.Fatalf("error from %08x proto %d", ip.Src(), ip.Protocol())
	}
	p := ip.Payload()
	if p[0] != typ || p[1] != code {
		t.Fatalf("ICMP %d/%d, want %d/%d", p[0], p[1], typ, code)
	}
	if hdr.Checksum(p, 0) != 0 {
		t.Error("bad ICMP checksum")
	}
	q := orig[hdr.EthernetLen:]
	n := min(len(q), 576-28)
	if !bytes.Equal(p[8:], q[:n]) {
		t.Errorf("quote differs from the original datagram (%d bytes, want %d)", len(p)-8, n)
	}
	if len(ip) > 576 {
		t.Errorf("error of %d bytes exceeds 576 (RFC 1812 §4.3.2.3)", len(ip))
	}
	return p
}

func TestICMPErrors(t *testing.T) {
	l := dptest.New(t, dptest.Options{MTU1: 576})
	// TTL 1 transit: time exceeded from the receiving interface.
	ttl1 := dptest.IPv4Frame(dptest.R0MAC, dptest.HostAMAC, dptest.HostA, remoteHost, hdr.ProtoUDP, 1, false, dptest.UDP(1, 2, 10))
	l.Send(0, ttl1)
	checkError(t, one(t, l.Out(0)), hdr.ICMPv4TimeExceeded, 0, dptest.R0, ttl1)
	// No route: net unreachable.
	nr := dptest.IPv4Frame(dptest.R0MAC, dptest.HostAMAC, dptest.HostA, netip.MustParseAddr("203.0.113.5"), hdr.ProtoUDP, 9, false, dptest.UDP(1, 2, 10))
	l.Send(0, nr)
	checkError(t, one(t, l.Out(0)), hdr.ICMPv4DestUnreach, hdr.ICMPv4NetUnreach, dptest.R0, nr)
	// DF and bigger than if1's MTU 576: fragmentation needed with MTU 576.
	big := dptest.IPv4Frame(dptest.R0MAC, dptest.HostAMAC, dptest.HostA, remoteHost, hdr.ProtoUDP, 9, true, dptest.UDP(1, 2, 1000))
	l.Send(0, big)
	p := checkError(t, one(t, l.Out(0)), hdr.ICMPv4DestUnreach, hdr.ICMPv4FragNeeded, dptest.R0, big)
	if mtu := binary.BigEndian.Uint16(p[6:8]); mtu != 576 {
		t.Errorf("next-hop MTU %d, want 576 (RFC 1191)", mtu)
	}
	// UDP to the router: port unreachable.
	u := dptest.IPv4Frame(dptest.R0MAC, dptest.HostAMAC, dptest.HostA, dptest.R1, hdr.ProtoUDP, 9, false, dptest.UDP(1, 2, 10))
	l.Send(0, u)
	checkError(t, one(t, l.Out(0)), hdr.ICMPv4DestUnreach, hdr.ICMPv4PortUnreach, dptest.R0, u)
	// Never an error about an ICMP error: a TTL-1 time exceeded in transit.
	te := []byte{hdr.ICMPv4TimeExceeded, 0, 0, 0, 0, 0, 0, 0}
	binary.BigEndian.PutUint16(te[2:], hdr.Checksum(te, 0))
	l.Send(0, dptest.IPv4Frame(dptest.R0MAC, dptest.HostAMAC, dptest.HostA, remoteHost, hdr.ProtoICMP, 1, false, te))
	if out := l.Out(0); len(out) != 0 {
		t.Errorf("ICMP error about an ICMP error sent")
	}
	// Nor about a link-layer broadcast.
	l.Send(0, dptest.IPv4Frame(dptest.Broadcast, dptest.HostAMAC, dptest.HostA, remoteHost, hdr.ProtoUDP, 1, false, dptest.UDP(1, 2, 3)))
	if out := l.Out(0); len(out) != 0 {
		t.Errorf("ICMP error about a broadcast sent")
	}
	c := l.Counters()
	for _, want := range []struct {
		r dp.Reason
		n uint64
	}{{ip4.ICMPAboutICMPError, 1}, {ip4.L2Broadcast, 1}} {
		if c.Drops[want.r] != want.n {
			t.Errorf("%v = %d, want %d", want.r, c.Drops[want.r], want.n)
		}
	}
	if got := c.ICMPErrors[dp.ICMPErrTTLExceeded] + c.ICMPErrors[dp.ICMPErrNetUnreach] + c.ICMPErrors[dp.ICMPErrFragNeeded] + c.ICMPErrors[dp.ICMPErrPortUnreach]; got != 4 {
		t.Errorf("ICMP errors counted %d, want 4", got)
	}
}

func TestICMPRateLimit(t *testing.T) {
	l := dptest.New(t, dptest.Options{ICMPRate: 1, Burst: 5})
	var frames [][]byte
	for i := range 20 {
		frames = append(frames, dptest.IPv4Frame(dptest.R0MAC, dptest.HostAMAC, dptest.HostA, remoteHost, hdr.ProtoUDP, 1, false, dptest.UDP(uint16(i), 2, 10)))
	}
	l.Send(0, frames...)
	if n := len(l.Out(0)); n != 5 {
		t.Errorf("%d ICMP errors for 20 TTL-expired packets with a burst of 5", n)
	}
	if d := l.Counters().Drops[ip4.ICMPRateLimited]; d != 15 {
		t.Errorf("rate-limited %d, want 15", d)
	}
}

func TestFragmentation(t *testing.T) {
	l := dptest.New(t, dptest.Options{MTU1: 576})
	payload := dptest.UDP(5, 6, 1372) // 1400-byte datagram with 20-byte header
	in := dptest.IPv4Frame(dptest.R0MAC, dptest.HostAMAC, dptest.HostA, remoteHost, hdr.ProtoUDP, 30, false, payload)
	l.Send(0, in)
	out := l.Out(1)
	if len(out) != 3 {
		t.Fatalf("%d fragments, want 3", len(out))
	}
	var got []byte
	for i, f := range out {
		ip := ipOf(t, f)
		if len(ip) > 576 {
			t.Errorf("fragment %d is %d bytes > MTU", i, len(ip))
		}
		if ip.TTL() != 29 || ip.ID() != 0x1234 {
			t.Errorf("fragment %d TTL %d ID %x", i, ip.TTL(), ip.ID())
		}
		if int(ip.FragOffset())*8 != len(got) {
			t.Errorf("fragment %d offset %d, want %d", i, int(ip.FragOffset())*8, len(got))
		}
		if ip.MF() != (i < 2) {
			t.Errorf("fragment %d MF %v", i, ip.MF())
		}
		if i < 2 && len(ip.Payload())%8 != 0 {
			t.Errorf("fragment %d payload %d not a multiple of 8", i, len(ip.Payload()))
		}
		got = append(got, ip.Payload()...)
	}
	if !bytes.Equal(got, payload) {
		t.Error("reassembled payload differs")
	}
	if c := l.Counters(); c.Fragments != 3 || c.TotalDrops() != 0 {
		t.Errorf("fragments %d drops %d", c.Fragments, c.TotalDrops())
	}
}

func TestMartiansAndMalformed(t *testing.T) {
	l := dptest.New(t, dptest.Options{})
	udp := dptest.UDP(1, 2, 4)
	cases := []struct {
		name  string
		frame []byte
		want  dp.Reason
	}{
		{"src 127/8", dptest.IPv4Frame(dptest.R0MAC, dptest.HostAMAC, netip.MustParseAddr("127.0.0.1"), remoteHost, hdr.ProtoUDP, 9, false, udp), ip4.MartianSource},
		{"src multicast", dptest.IPv4Frame(dptest.R0MAC, dptest.HostAMAC, netip.MustParseAddr("224.0.0.5"), remoteHost, hdr.ProtoUDP, 9, false, udp), ip4.MartianSource},
		{"dst 0/8", dptest.IPv4Frame(dptest.R0MAC, dptest.HostAMAC, dptest.HostA, netip.MustParseAddr("0.1.2.3"), hdr.ProtoUDP, 9, false, udp), ip4.MartianDest},
		{"dst class E", dptest.IPv4Frame(dptest.R0MAC, dptest.HostAMAC, dptest.HostA, netip.MustParseAddr("250.1.2.3"), hdr.ProtoUDP, 9, false, udp), ip4.MartianDest},
		{"limited broadcast", dptest.IPv4Frame(dptest.R0MAC, dptest.HostAMAC, dptest.HostA, netip.MustParseAddr("255.255.255.255"), hdr.ProtoUDP, 9, false, udp), ip4.Broadcast},
		{"directed broadcast", dptest.IPv4Frame(dptest.R0MAC, dptest.HostAMAC, dptest.HostA, netip.MustParseAddr("10.0.2.255"), hdr.ProtoUDP, 9, false, udp), ip4.DirectedBroadcast},
		{"multicast", dptest.IPv4Frame(dptest.R0MAC, dptest.HostAMAC, dptest.HostA, netip.MustParseAddr("239.1.1.1"), hdr.ProtoUDP, 9, false, udp), ip4.Multicast},
		{"runt", []byte{1, 2, 3}, ethernet.Runt},
		{"other MAC", dptest.IPv4Frame([6]byte{2, 9, 9, 9, 9, 9}, dptest.HostAMAC, dptest.HostA, remoteHost, hdr.ProtoUDP, 9, false, udp), ethernet.NotForUs},
	}
	bad := func(mut func(f []byte)) []byte {
		f := dptest.IPv4Frame(dptest.R0MAC, dptest.HostAMAC, dptest.HostA, remoteHost, hdr.ProtoUDP, 9, false, udp)
		mut(f)
		return f
	}
	cases = append(cases,
		struct {
			name  string
			frame []byte
			want  dp.Reason
		}{"bad checksum", bad(func(f []byte) { f[24] ^= 0xff }), ip4.BadChecksum},
		struct {
			name  string
			frame []byte
			want  dp.Reason
		}{"bad version", bad(func(f []byte) { f[14] = 0x65 }), ip4.BadVersion},
		struct {
			name  string
			frame []byte
			want  dp.Reason
		}{"truncated", bad(func(f []byte) {})[:30], ip4.TooShort},
	)
	for _, c := range cases {
		before := l.Counters().Drops[c.want]
		l.Send(0, c.frame)
		if out := append(l.Out(0), l.Out(1)...); len(out) != 0 {
			t.Errorf("%s: %d frames sent", c.name, len(out))
		}
		if after := l.Counters().Drops[c.want]; after != before+1 {
			t.Errorf("%s: %v went %d -> %d", c.name, c.want, before, after)
		}
	}
}

// TestReasonsNamed checks every drop reason has a stage, a unique name
// within it and a description: show errors and the metrics depend on it.
func TestReasonsNamed(t *testing.T) {
	seen := map[string]bool{}
	for r := dp.Reason(0); r < dp.NumReasons; r++ {
		if r.Name() == "" || r.Desc() == "" {
			t.Errorf("reason %d has no name or description", r)
		}
		if seen[r.String()] {
			t.Errorf("reason %v named twice", r)
		}
		seen[r.String()] = true
	}
}

func TestARPSenderChecks(t *testing.T) {
	var zero [6]byte
	l := dptest.New(t, dptest.Options{NoStatic: true})
	// RFC 1812 §3.3.2: a broadcast, multicast or zero sender MAC is never
	// learned (or answered).
	for _, mac := range [][6]byte{dptest.Broadcast, {0x01, 0, 0x5e, 0, 0, 1}, zero, dptest.R0MAC} {
		// From a unicast Ethernet source: a group or own source MAC
		// drops in ethernet-input before ARP sees it (TestSourceMACHygiene).
		f := dptest.ARPFrame(hdr.ARPRequest, dptest.Broadcast, mac, dptest.HostA, zero, dptest.R0)
		copy(f[6:12], dptest.HostAMAC[:])
		l.Send(0, f)
		if out := l.Out(0); len(out) != 0 {
			t.Errorf("sender MAC %x answered", mac)
		}
	}
	if n := len(l.Router.Neighbors()); n != 0 {
		t.Errorf("%d neighbours learned from bad sender MACs", n)
	}
	if d := l.Counters().Drops[arpnode.BadSender]; d != 4 {
		t.Errorf("bad-sender drops %d, want 4", d)
	}
	// RFC 5227 probe (sender IP 0) for our address: answered, not learned.
	l.Send(0, dptest.ARPFrame(hdr.ARPRequest, dptest.Broadcast, dptest.HostAMAC, netip.IPv4Unspecified(), zero, dptest.R0))
	f := one(t, l.Out(0))
	a := hdr.ARP(f[hdr.EthernetLen:])
	if a.Op() != hdr.ARPReply || a.SenderIP() != dptest.U32(dptest.R0) || !bytes.Equal(a.SenderMAC(), dptest.R0MAC[:]) || !bytes.Equal(f[0:6], dptest.HostAMAC[:]) {
		t.Errorf("probe answer % x", f)
	}
	if n := len(l.Router.Neighbors()); n != 0 {
		t.Errorf("a probe taught %d neighbours", n)
	}
}
