package dp_test

import (
	"bytes"
	"encoding/binary"
	"net/netip"
	"testing"

	"github.com/softnet/softnet/control"
	"github.com/softnet/softnet/dp"
	arpnode "github.com/softnet/softnet/dp/arp"
	"github.com/softnet/softnet/dp/dptest"
	"github.com/softnet/softnet/dp/ethernet"
	"github.com/softnet/softnet/dp/ip6"
	"github.com/softnet/softnet/hdr"
)

// Interface indices of the dptest VLAN lab.
const (
	sub100  = 2 // if0.100
	subQinQ = 3 // if0.10.20
	sub200  = 4 // if1.200
)

var (
	host100  = dptest.SubHost[0]
	hostQinQ = dptest.SubHost[1]
	host200  = dptest.SubHost[2]
)

// at returns s[i], or 0 past its end (a worker's per-interface counters
// grow when it first sees a config with more interfaces).
func at(s []uint64, i int) uint64 {
	if i < len(s) {
		return s[i]
	}
	return 0
}

// tagsOf checks that f carries exactly the tags want (TPID, TCI pairs)
// and returns the frame with them removed.
func tagsOf(t *testing.T, f []byte, want ...uint16) []byte {
	t.Helper()
	for i, w := range want {
		if got := binary.BigEndian.Uint16(f[12+2*i:]); got != w {
			t.Fatalf("tag word %d is %#04x, want %#04x: % x", i, got, w, f[:min(len(f), 26)])
		}
	}
	u := dptest.Untag(f, len(want)/2)
	if et := binary.BigEndian.Uint16(u[12:]); et == hdr.EtherTypeVLAN || et == hdr.EtherTypeQinQ {
		t.Fatalf("more tags than %v: % x", want, f[:min(len(f), 26)])
	}
	return u
}

func TestVLANForward(t *testing.T) {
	l := dptest.New(t, dptest.Options{VLANs: true})
	udp := dptest.UDP(1000, 53, 20)
	cases := []struct {
		name    string
		in      int
		frame   []byte
		out     int
		outTags []uint16
		dstMAC  [6]byte
		rxIf    int
		txIf    int
	}{
		{"vlan-to-vlan", 0, dptest.Tag(dptest.IPv4Frame(dptest.R0MAC, dptest.HostAMAC, host100, host200, hdr.ProtoUDP, 9, false, udp), 0x8100, 100),
			1, []uint16{0x8100, 200}, dptest.HostBMAC, sub100, sub200},
		{"qinq-to-vlan", 0, dptest.Tag(dptest.IPv4Frame(dptest.R0MAC, dptest.HostAMAC, hostQinQ, host100, hdr.ProtoUDP, 9, false, udp), 0x88a8, 10, 0x8100, 20),
			0, []uint16{0x8100, 100}, dptest.HostAMAC, subQinQ, sub100},
		{"vlan-to-qinq", 1, dptest.Tag(dptest.IPv4Frame(dptest.R1MAC, dptest.HostBMAC, host200, hostQinQ, hdr.ProtoUDP, 9, false, udp), 0x8100, 200),
			0, []uint16{0x88a8, 10, 0x8100, 20}, dptest.HostAMAC, sub200, subQinQ},
		{"untagged-to-vlan", 0, dptest.IPv4Frame(dptest.R0MAC, dptest.HostAMAC, dptest.HostA, host200, hdr.ProtoUDP, 9, false, udp),
			1, []uint16{0x8100, 200}, dptest.HostBMAC, 0, sub200},
		{"vlan-to-untagged", 1, dptest.Tag(dptest.IPv4Frame(dptest.R1MAC, dptest.HostBMAC, host200, dptest.HostA, hdr.ProtoUDP, 9, false, udp), 0x8100, 200),
			0, nil, dptest.HostAMAC, sub200, 0},
		// A priority tag (VID 0, PCP 5) is untagged, once: the port's own.
		{"priority-tagged", 0, dptest.Tag(dptest.IPv4Frame(dptest.R0MAC, dptest.HostAMAC, dptest.HostA, dptest.HostB, hdr.ProtoUDP, 9, false, udp), 0x8100, 0xa000),
			1, nil, dptest.HostBMAC, 0, 1},
		// PCP and DEI bits do not change the VLAN.
		{"vlan-pcp", 0, dptest.Tag(dptest.IPv4Frame(dptest.R0MAC, dptest.HostAMAC, host100, host200, hdr.ProtoUDP, 9, false, udp), 0x8100, 0xf000|100),
			1, []uint16{0x8100, 200}, dptest.HostBMAC, sub100, sub200},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			before := l.Counters()
			l.Send(c.in, c.frame)
			if o := l.Out(1 - c.out); len(o) != 0 {
				t.Fatalf("%d frames on the wrong port", len(o))
			}
			f := tagsOf(t, one(t, l.Out(c.out)), c.outTags...)
			if !bytes.Equal(f[0:6], c.dstMAC[:]) {
				t.Errorf("dst MAC %x, want %x", f[0:6], c.dstMAC)
			}
			ip := ipOf(t, f)
			if ip.TTL() != 8 {
				t.Errorf("TTL %d, want 8", ip.TTL())
			}
			c2 := l.Counters()
			if d := c2.RxPackets[c.rxIf] - at(before.RxPackets, c.rxIf); d != 1 {
				t.Errorf("rx on interface %d: %d, want 1", c.rxIf, d)
			}
			if d := c2.TxPackets[c.txIf] - at(before.TxPackets, c.txIf); d != 1 {
				t.Errorf("tx on interface %d: %d, want 1", c.txIf, d)
			}
			if d := c2.TxBytes[c.txIf] - at(before.TxBytes, c.txIf); d != uint64(len(f)+2*len(c.outTags)) {
				t.Errorf("tx bytes on interface %d: %d, want %d", c.txIf, d, len(f)+2*len(c.outTags))
			}
			var rx, tx uint64
			for i := range c2.RxPackets {
				rx += c2.RxPackets[i] - at(before.RxPackets, i)
				tx += c2.TxPackets[i] - at(before.TxPackets, i)
			}
			if rx != 1 || tx != 1 || c2.TotalDrops() != before.TotalDrops() {
				t.Errorf("rx %d tx %d (want 1 each), drops %d", rx, tx, c2.TotalDrops()-before.TotalDrops())
			}
		})
	}
}

func TestVLANLocal(t *testing.T) {
	l := dptest.New(t, dptest.Options{VLANs: true})
	// ARP for the VLAN 100 address, in VLAN 100: answered in the VLAN.
	l.Send(0, dptest.Tag(dptest.ARPFrame(hdr.ARPRequest, dptest.Broadcast, dptest.HostAMAC, host100, [6]byte{}, dptest.SubAddr[0]), 0x8100, 100))
	f := tagsOf(t, one(t, l.Out(0)), 0x8100, 100)
	a := hdr.ARP(f[hdr.EthernetLen:])
	if a.Op() != hdr.ARPReply || a.SenderIP() != dptest.U32(dptest.SubAddr[0]) || !bytes.Equal(a.SenderMAC(), dptest.R0MAC[:]) || !bytes.Equal(f[0:6], dptest.HostAMAC[:]) {
		t.Errorf("bad ARP reply % x", f)
	}
	// ARP for if0's own address in VLAN 100: not this interface's.
	before := l.Counters()
	l.Send(0, dptest.Tag(dptest.ARPFrame(hdr.ARPRequest, dptest.Broadcast, dptest.HostAMAC, host100, [6]byte{}, dptest.R0), 0x8100, 100))
	if o := l.Out(0); len(o) != 0 {
		t.Errorf("answered an ARP for another interface's address in VLAN 100")
	}
	if c := l.Counters(); c.Drops[arpnode.BadSender]+c.Drops[arpnode.NotForUs] == before.Drops[arpnode.BadSender]+before.Drops[arpnode.NotForUs] {
		t.Errorf("no arp-input drop counted")
	}
	// Ping the QinQ address in QinQ: the reply comes back in QinQ.
	echo := dptest.Echo(7, 1, 16)
	l.Send(0, dptest.Tag(dptest.IPv4Frame(dptest.R0MAC, dptest.HostAMAC, hostQinQ, dptest.SubAddr[1], hdr.ProtoICMP, 64, false, echo), 0x88a8, 10, 0x8100, 20))
	f = tagsOf(t, one(t, l.Out(0)), 0x88a8, 10, 0x8100, 20)
	ip := ipOf(t, f)
	if ip.Src() != dptest.U32(dptest.SubAddr[1]) || ip.Dst() != dptest.U32(hostQinQ) || ip.Payload()[0] != hdr.ICMPv4EchoReply {
		t.Errorf("bad echo reply % x", f)
	}
	// A TTL-expiring packet in VLAN 200: the ICMP error, from the VLAN's
	// address, goes back in VLAN 200.
	l.Send(1, dptest.Tag(dptest.IPv4Frame(dptest.R1MAC, dptest.HostBMAC, host200, host100, hdr.ProtoUDP, 1, false, dptest.UDP(1, 2, 8)), 0x8100, 200))
	f = tagsOf(t, one(t, l.Out(1)), 0x8100, 200)
	ip = ipOf(t, f)
	if ip.Src() != dptest.U32(dptest.SubAddr[2]) || ip.Payload()[0] != hdr.ICMPv4TimeExceeded {
		t.Errorf("bad time exceeded % x", f)
	}
}

func TestVLANResolveAndFragment(t *testing.T) {
	l := dptest.New(t, dptest.Options{VLANs: true})
	// An unknown host on VLAN 200's subnet: the control plane ARPs for it
	// in VLAN 200.
	unknown := netip.MustParseAddr("10.0.200.77")
	l.Send(0, dptest.IPv4Frame(dptest.R0MAC, dptest.HostAMAC, dptest.HostA, unknown, hdr.ProtoUDP, 9, false, dptest.UDP(1, 2, 8)))
	f := tagsOf(t, one(t, l.Out(1)), 0x8100, 200)
	a := hdr.ARP(f[hdr.EthernetLen:])
	if binary.BigEndian.Uint16(f[12:]) != hdr.EtherTypeARP || a.Op() != hdr.ARPRequest || a.TargetIP() != dptest.U32(unknown) || a.SenderIP() != dptest.U32(dptest.SubAddr[2]) {
		t.Fatalf("bad ARP request % x", f)
	}
	// The reply, in VLAN 200, releases the packet, tagged.
	mac := [6]byte{0x02, 0xcc, 0, 0, 0, 7}
	l.Send(1, dptest.Tag(dptest.ARPFrame(hdr.ARPReply, dptest.R1MAC, mac, unknown, dptest.R1MAC, dptest.SubAddr[2]), 0x8100, 200))
	f = tagsOf(t, one(t, l.Out(1)), 0x8100, 200)
	if !bytes.Equal(f[0:6], mac[:]) || ipOf(t, f).Dst() != dptest.U32(unknown) {
		t.Fatalf("released packet % x", f[:34])
	}
	// VLAN 200's MTU is its parent's minus the tag: a 1500-byte datagram
	// is fragmented, every fragment tagged.
	l.Send(0, dptest.IPv4Frame(dptest.R0MAC, dptest.HostAMAC, dptest.HostA, host200, hdr.ProtoUDP, 9, false, dptest.UDP(1, 2, 1500-28)))
	out := l.Out(1)
	if len(out) != 2 {
		t.Fatalf("%d fragments, want 2", len(out))
	}
	for _, f := range out {
		ip := ipOf(t, tagsOf(t, f, 0x8100, 200))
		if ip.TotalLen() > 1496 {
			t.Errorf("fragment of %d bytes above the VLAN MTU 1496", ip.TotalLen())
		}
	}
}

// TestVLANBadTags sends each kind of bad tag and checks it drops under its
// own reason, and nowhere else.
func TestVLANBadTags(t *testing.T) {
	l := dptest.New(t, dptest.Options{VLANs: true})
	plain := dptest.New(t, dptest.Options{})
	ip := dptest.IPv4Frame(dptest.R0MAC, dptest.HostAMAC, host100, host200, hdr.ProtoUDP, 9, false, dptest.UDP(1, 2, 20))
	cases := []struct {
		name  string
		lab   *dptest.Lab
		frame []byte
		want  dp.Reason
	}{
		{"vid-4095", l, dptest.Tag(ip, 0x8100, 4095), ethernet.VLANReserved},
		{"inner-vid-4095", l, dptest.Tag(ip, 0x88a8, 10, 0x8100, 4095), ethernet.VLANReserved},
		{"unknown-vid", l, dptest.Tag(ip, 0x8100, 300), ethernet.VLANUnknown},
		{"unknown-outer", l, dptest.Tag(ip, 0x88a8, 11, 0x8100, 20), ethernet.VLANUnknown},
		{"unknown-inner", l, dptest.Tag(ip, 0x88a8, 10, 0x8100, 21), ethernet.VLANUnknown},
		{"outer-wrong-tpid", l, dptest.Tag(ip, 0x9100, 10, 0x8100, 20), ethernet.VLANUnknown},
		{"outer-only", l, dptest.Tag(ip, 0x88a8, 10), ethernet.VLANUnknown},
		{"vid-100-as-88a8", l, dptest.Tag(ip, 0x88a8, 100), ethernet.VLANUnknown},
		{"stacked-priority", l, dptest.Tag(ip, 0x8100, 0, 0x8100, 100), ethernet.VLANStackedPriority},
		{"inner-priority", l, dptest.Tag(ip, 0x88a8, 10, 0x8100, 0), ethernet.VLANStackedPriority},
		{"too-deep", l, dptest.Tag(ip, 0x8100, 100, 0x8100, 5), ethernet.VLANTooDeep},
		{"too-deep-qinq", l, dptest.Tag(ip, 0x88a8, 10, 0x8100, 20, 0x8100, 5), ethernet.VLANTooDeep},
		{"truncated", l, dptest.Tag(ip, 0x8100, 100)[:16], ethernet.VLANTruncated},
		{"truncated-inner", l, dptest.Tag(ip, 0x88a8, 10, 0x8100, 20)[:19], ethernet.VLANTruncated},
		{"no-vlans", plain, dptest.Tag(ip, 0x8100, 100), ethernet.VLANTagged},
		{"priority-no-vlans-ok-then-ipv6", plain, dptest.Tag(append(append([]byte(nil), ip[:12]...), 0x86, 0xdd, 0x60, 0, 0, 0), 0x8100, 0), ip6.TooShort}, // to ip6-input past the priority tag: 4 bytes of IPv6 header
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			before := c.lab.Counters()
			c.lab.Send(0, c.frame)
			if o := append(c.lab.Out(0), c.lab.Out(1)...); len(o) != 0 {
				t.Fatalf("%d frames sent", len(o))
			}
			after := c.lab.Counters()
			for r := dp.Reason(0); r < dp.NumReasons; r++ {
				d := after.Drops[r] - before.Drops[r]
				if r == c.want && d != 1 || r != c.want && d != 0 {
					t.Errorf("%v: %d drops", r, d)
				}
			}
			if d := after.RxPackets[0] - at(before.RxPackets, 0); d != 1 {
				t.Errorf("port rx %d, want 1 (a bad frame is the port's)", d)
			}
		})
	}
}

func TestVLANDown(t *testing.T) {
	l := dptest.New(t, dptest.Options{VLANs: true})
	if err := l.Router.SetInterfaceUp(sub100, false); err != nil {
		t.Fatal(err)
	}
	l.Router.Publish()
	before := l.Counters()
	l.Send(0, dptest.Tag(dptest.IPv4Frame(dptest.R0MAC, dptest.HostAMAC, host100, host200, hdr.ProtoUDP, 9, false, dptest.UDP(1, 2, 8)), 0x8100, 100))
	l.Send(1, dptest.Tag(dptest.IPv4Frame(dptest.R1MAC, dptest.HostBMAC, host200, host100, hdr.ProtoUDP, 9, false, dptest.UDP(1, 2, 8)), 0x8100, 200))
	// The route to host100 goes through the down VLAN: it is withdrawn
	// (control.Router.withdrawDown), so the sender gets ICMP host
	// unreachable back on VLAN 200 and nothing goes out on VLAN 100.
	if o := l.Out(0); len(o) != 0 {
		t.Fatalf("%d frames sent through a down VLAN", len(o))
	}
	if o := l.Out(1); len(o) != 1 || o[0][4+23] != hdr.ProtoICMP || o[0][4+34] != hdr.ICMPv4DestUnreach {
		t.Fatalf("back to host200: %d frames, want 1 ICMP destination unreachable", len(o))
	}
	c := l.Counters()
	if d := c.Drops[ethernet.IfaceDown] - before.Drops[ethernet.IfaceDown]; d != 1 {
		t.Errorf("ethernet-input iface-down %d, want 1", d)
	}
	if d := c.Drops[dp.OutIfaceDown] - before.Drops[dp.OutIfaceDown]; d != 0 {
		t.Errorf("interface-output iface-down %d, want 0 (the route is withdrawn)", d)
	}
	// Up again: it forwards.
	if err := l.Router.SetInterfaceUp(sub100, true); err != nil {
		t.Fatal(err)
	}
	l.Router.Publish()
	l.Send(0, dptest.Tag(dptest.IPv4Frame(dptest.R0MAC, dptest.HostAMAC, host100, host200, hdr.ProtoUDP, 9, false, dptest.UDP(1, 2, 8)), 0x8100, 100))
	tagsOf(t, one(t, l.Out(1)), 0x8100, 200)
}

// TestVLANAddAtRunTime adds a sub-interface to a running lab: the next
// snapshot carries it, and the worker's counters grow to it.
func TestVLANAddAtRunTime(t *testing.T) {
	l := dptest.New(t, dptest.Options{})
	l.Send(0, dptest.IPv4Frame(dptest.R0MAC, dptest.HostAMAC, dptest.HostA, dptest.HostB, hdr.ProtoUDP, 9, false, dptest.UDP(1, 2, 8)))
	l.Out(1)
	idx, err := l.Router.AddInterface(control.IfaceConfig{Name: "if1.7", Parent: "if1", VLAN: 7, Addrs: []netip.Prefix{netip.MustParsePrefix("10.7.0.1/24")}})
	if err != nil {
		t.Fatal(err)
	}
	h := netip.MustParseAddr("10.7.0.2")
	if err := l.Router.AddNeighbor(idx, h, dptest.HostBMAC); err != nil {
		t.Fatal(err)
	}
	l.Run() // the service loop publishes
	l.Send(0, dptest.IPv4Frame(dptest.R0MAC, dptest.HostAMAC, dptest.HostA, h, hdr.ProtoUDP, 9, false, dptest.UDP(1, 2, 8)))
	tagsOf(t, one(t, l.Out(1)), 0x8100, 7)
	c := l.Counters()
	if len(c.TxPackets) <= idx || c.TxPackets[idx] != 1 {
		t.Fatalf("tx counters %v, want 1 at %d", c.TxPackets, idx)
	}
	vs := l.Router.VLANs()
	if len(vs) != 1 || vs[0].Name != "if1.7" || vs[0].Parent != "if1" || vs[0].VLAN != 7 || vs[0].MTU != 1496 || vs[0].TxPackets != 1 || !vs[0].Up {
		t.Fatalf("VLANs() = %+v", vs)
	}
}

func TestVLANConfigErrors(t *testing.T) {
	l := dptest.New(t, dptest.Options{VLANs: true})
	cases := []control.IfaceConfig{
		{Name: "x", Parent: "nope", VLAN: 5},
		{Name: "x", Parent: "if0.100", VLAN: 5},
		{Name: "x", Parent: "if0", VLAN: 0},
		{Name: "x", Parent: "if0", VLAN: 4095},
		{Name: "x", Parent: "if0", VLAN: 100},
		{Name: "x", Parent: "if0", VLAN: 20, OuterVLAN: 10},
		{Name: "x", Parent: "if0", VLAN: 21, OuterVLAN: 10, TPID: 0x8100},
		{Name: "x", Parent: "if0", VLAN: 5, OuterVLAN: 100, TPID: 0x8100},
		{Name: "x", Parent: "if0", VLAN: 5, TPID: 0x88a8},
		{Name: "x", Parent: "if0", VLAN: 5, OuterVLAN: 7, TPID: 0x1234},
		{Name: "x", Parent: "if0", VLAN: 5, MTU: 1497},
		{Name: "x", Parent: "if0", VLAN: 5, OuterVLAN: 7, MTU: 1493},
		{Name: "x", Parent: "if0", VLAN: 5, MAC: [6]byte{2, 0, 0, 0, 0, 9}},
		{Name: "if0.100", Parent: "if0", VLAN: 5},
	}
	n := len(l.Router.Interfaces())
	for _, c := range cases {
		if _, err := l.Router.AddInterface(c); err == nil {
			t.Errorf("%+v: accepted", c)
		} else {
			t.Logf("%v", err)
		}
	}
	if m := len(l.Router.Interfaces()); m != n {
		t.Errorf("%d interfaces after failed adds, want %d", m, n)
	}
	if _, err := l.Router.AddInterface(control.IfaceConfig{Name: "x", Parent: "if0", VLAN: 5, OuterVLAN: 7, TPID: 0x9100, MTU: 1492}); err != nil {
		t.Errorf("valid QinQ 0x9100: %v", err)
	}
}
