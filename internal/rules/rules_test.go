package rules

import (
	"net/netip"
	"strings"
	"testing"
)

var ifs = []Iface{
	{Name: "lan0", Addrs: []netip.Prefix{netip.MustParsePrefix("10.0.1.1/24")}},
	{Name: "p2p0", Addrs: []netip.Prefix{netip.MustParsePrefix("10.9.0.0/31")}}, // RFC 3021
	{Name: "lo0", Addrs: []netip.Prefix{netip.MustParsePrefix("192.0.2.1/32")}},
}

func TestNextHop(t *testing.T) {
	for _, c := range []struct {
		via   string
		iface int
		want  string
	}{
		{"10.0.1.2", 0, ""},
		{"10.0.1.254", 0, ""},
		{"10.9.0.1", 1, ""}, // a /31's other end: no network or broadcast address
		{"10.0.1.1", -1, "10.0.1.1 is lan0's own address: a next hop must be another host on its subnet"},
		{"10.9.0.0", -1, "10.9.0.0 is p2p0's own address"},
		{"192.0.2.1", -1, "192.0.2.1 is lo0's own address"},
		{"10.0.1.0", -1, "10.0.1.0 is the network address of lan0's subnet 10.0.1.0/24: a next hop must be another host on the subnet"},
		{"10.0.1.255", -1, "10.0.1.255 is the broadcast address of lan0's subnet 10.0.1.0/24"},
		{"192.0.2.2", -1, "192.0.2.2 is on no interface's subnet (lan0 10.0.1.0/24, p2p0 10.9.0.0/31, lo0 192.0.2.1/32): add an address on its subnet"},
		{"2001:db8::1", -1, "2001:db8::1 is on no interface's subnet"},
		{"::ffff:10.0.1.2", -1, "next hop ::ffff:10.0.1.2 is an IPv4-mapped IPv6 address"},
		{"fe80::1", -1, "next hop fe80::1: a link-local address (fe80::/10) is not supported as a static route's next hop: give the neighbour's global address"},
		{"fe80::1%lan0", -1, "next hop fe80::1%lan0: a link-local address (fe80::/10) is not supported"},
		{"::ffff:169.254.1.1", -1, "next hop ::ffff:169.254.1.1 is an IPv4-mapped IPv6 address"},
	} {
		i, err := NextHop(ifs, netip.MustParseAddr(c.via))
		if c.want == "" {
			if err != nil || i != c.iface {
				t.Errorf("%s: %d %v, want interface %d", c.via, i, err, c.iface)
			}
		} else if err == nil || !strings.HasPrefix(err.Error(), c.want) {
			t.Errorf("%s: %v, want %q", c.via, err, c.want)
		}
	}
}

func TestOwn(t *testing.T) {
	o := NewOwn(ifs)
	for _, c := range []struct{ p, want string }{
		{"10.0.1.1/32", "10.0.1.1/32 is lan0's own address (local route): that route belongs to the interface"},
		{"10.0.1.0/24", "10.0.1.0/24 is lan0's connected subnet"},
		{"10.0.1.0/32", "10.0.1.0/32 is the network address of lan0's subnet 10.0.1.0/24"},
		{"10.0.1.255/32", "10.0.1.255/32 is the broadcast address of lan0's subnet 10.0.1.0/24"},
		{"10.9.0.0/31", "10.9.0.0/31 is p2p0's connected subnet"},
		{"10.9.0.0/32", "10.9.0.0/32 is p2p0's own address"},
		{"192.0.2.1/32", "192.0.2.1/32 is lo0's own address"},
		{"10.9.0.1/32", ""}, // the other end of the /31: a neighbour's
		{"10.0.1.16/28", ""},
		{"10.0.1.2/32", ""},
		{"10.0.0.0/16", ""},
		{"0.0.0.0/0", ""},
	} {
		err := o.Check(netip.MustParsePrefix(c.p))
		if c.want == "" && err != nil || c.want != "" && (err == nil || !strings.HasPrefix(err.Error(), c.want)) {
			t.Errorf("%s: %v, want %q", c.p, err, c.want)
		}
	}
}

func TestNeighborAndMAC(t *testing.T) {
	if err := Neighbor(ifs, 0, netip.MustParseAddr("10.0.1.9")); err != nil {
		t.Error(err)
	}
	for _, c := range []struct {
		i       int
		a, want string
	}{
		{0, "10.0.1.1", "10.0.1.1 is lan0's own address: a neighbour must be another host"},
		{0, "10.0.1.255", "10.0.1.255 is the broadcast address of lan0's subnet"},
		{1, "10.0.1.9", "10.0.1.9 is not on a subnet of p2p0 (10.9.0.0/31): fix the address or the interface"},
		{2, "192.0.2.1", "192.0.2.1 is not on a subnet of lo0 (192.0.2.1/32)"},
	} {
		if err := Neighbor(ifs, c.i, netip.MustParseAddr(c.a)); err == nil || !strings.HasPrefix(err.Error(), c.want) {
			t.Errorf("%s on %d: %v, want %q", c.a, c.i, err, c.want)
		}
	}
	for _, m := range [][6]byte{{}, {0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, {1, 0, 0x5e, 0, 0, 1}} {
		if MAC(m) == nil {
			t.Errorf("MAC %x accepted", m)
		}
	}
	if err := MAC([6]byte{2, 0, 0, 0, 0, 1}); err != nil {
		t.Error(err)
	}
}

// TestFamily: IPv4 and IPv6 (the switch that refused IPv6 is gone:
// softnet forwards it, dp/ip6); never an IPv4-mapped address, a zone or
// none.
func TestFamily(t *testing.T) {
	{
		for _, tc := range []struct {
			a    netip.Addr
			want string // "" for accepted
		}{
			{netip.MustParseAddr("10.0.1.2"), ""},
			{netip.MustParseAddr("2001:db8::1"), ""},
			{netip.MustParseAddr("fe80::1"), ""},
			{netip.MustParseAddr("fe80::1%eth0"), "fe80::1%eth0 has a zone: write the address without %eth0 (its interface says where it is)"},
			{netip.MustParseAddr("::ffff:10.0.1.2"), "::ffff:10.0.1.2 is an IPv4-mapped IPv6 address: write the IPv4 address itself (10.0.1.2)"},
			{netip.Addr{}, "no address"},
		} {
			err := Family(tc.a)
			if (tc.want == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tc.want)) {
				t.Errorf("Family(%v) = %v, want %q", tc.a, err, tc.want)
			}
		}
	}
}
