package dp_test

import (
	"net/netip"
	"testing"

	"github.com/softnet/softnet/dp"
)

// TestIfaceAddrFamilies: one IfaceAddr holds an IPv4 address (IPv4-mapped,
// its own prefix length) or an IPv6 one, and gives each back unchanged.
func TestIfaceAddrFamilies(t *testing.T) {
	for _, tc := range []struct {
		p    string
		is4  bool
		a4   uint32
		want [16]byte
	}{
		{"10.0.1.1/24", true, 0x0a000101, [16]byte{10: 0xff, 11: 0xff, 12: 10, 13: 0, 14: 1, 15: 1}},
		{"192.0.2.7/32", true, 0xc0000207, [16]byte{10: 0xff, 11: 0xff, 12: 192, 13: 0, 14: 2, 15: 7}},
		{"2001:db8:1::1/64", false, 0, netip.MustParseAddr("2001:db8:1::1").As16()},
		{"fe80::1/10", false, 0, netip.MustParseAddr("fe80::1").As16()},
		{"::a00:101/128", false, 0, netip.MustParseAddr("::a00:101").As16()}, // IPv4-compatible: IPv6, not mapped
	} {
		p := netip.MustParsePrefix(tc.p)
		a := dp.IfaceAddrOf(p)
		if a.Addr != tc.want || int(a.Len) != p.Bits() || a.Is4() != tc.is4 {
			t.Errorf("%s: %+v, want Addr %v Len %d Is4 %v", tc.p, a, tc.want, p.Bits(), tc.is4)
		}
		if tc.is4 && a.Addr4() != tc.a4 {
			t.Errorf("%s: Addr4 %#x, want %#x", tc.p, a.Addr4(), tc.a4)
		}
		if a.Prefix() != p {
			t.Errorf("%s: Prefix %v", tc.p, a.Prefix())
		}
	}
}

// TestSetAddrs: the primary address of each family is the first of that
// family, whatever the order; Addr6 is all zero with no IPv6 address.
func TestSetAddrs(t *testing.T) {
	var ifc dp.Iface
	ps := []netip.Prefix{netip.MustParsePrefix("2001:db8:1::1/64"), netip.MustParsePrefix("10.0.1.1/24"),
		netip.MustParsePrefix("2001:db8:2::1/64"), netip.MustParsePrefix("10.0.2.1/24")}
	ifc.SetAddrs(ps)
	if len(ifc.Addrs) != 4 || ifc.Addr4 != 0x0a000101 || ifc.Addr6 != netip.MustParseAddr("2001:db8:1::1").As16() {
		t.Fatalf("SetAddrs: %+v", ifc)
	}
	for i, a := range ifc.Addrs {
		if a.Prefix() != ps[i] {
			t.Errorf("Addrs[%d] %v, want %v", i, a.Prefix(), ps[i])
		}
	}
	old := ifc.Addrs
	ifc.SetAddrs(ps[3:])
	if len(ifc.Addrs) != 1 || ifc.Addr4 != 0x0a000201 || ifc.Addr6 != [16]byte{} || old[0].Prefix() != ps[0] {
		t.Fatalf("SetAddrs again: %+v (the old slice %v must be left alone)", ifc, old)
	}
	ifc.SetAddrs(nil)
	if ifc.Addrs != nil || ifc.Addr4 != 0 || ifc.Addr6 != [16]byte{} {
		t.Fatalf("SetAddrs(nil): %+v", ifc)
	}
}

// TestAdjAddr: an adjacency's neighbour address is 16 bytes, an IPv4 one
// IPv4-mapped as pkt.Meta.Dst and Msg.Addr hold it.
func TestAdjAddr(t *testing.T) {
	a := dp.Adj{Addr: netip.MustParseAddr("10.0.2.2").As16()}
	if a.Addr != dp.Mapped4(0x0a000202) || a.Addr4() != 0x0a000202 || a.IP() != netip.MustParseAddr("10.0.2.2") {
		t.Errorf("IPv4 adjacency: Addr %v Addr4 %#x IP %v", a.Addr, a.Addr4(), a.IP())
	}
	var m dp.Msg
	m.SetAddr4(0x0a000202)
	if m.Addr != a.Addr {
		t.Errorf("Msg.SetAddr4 %v, Adj.Addr %v: the same address must be the same 16 bytes", m.Addr, a.Addr)
	}
	v6 := netip.MustParseAddr("2001:db8:1::2")
	a = dp.Adj{Addr: v6.As16()}
	if a.IP() != v6 {
		t.Errorf("IPv6 adjacency: IP %v, want %v", a.IP(), v6)
	}
}
