package control

import (
	"net/netip"
	"testing"
)

// TestIfaceForFamilies: ifaceFor finds the interface of an IPv4 address
// on one of its subnets (not on a /32), and an IPv6 address is on no
// IPv4 subnet: it answers false rather than treat it as IPv4 (it used to
// panic converting it to a uint32).
func TestIfaceForFamilies(t *testing.T) {
	r := New(Options{})
	for _, c := range []IfaceConfig{
		{Name: "if0", MAC: [6]byte{2, 0, 0, 0, 0, 1}, Addrs: []netip.Prefix{netip.MustParsePrefix("10.0.1.1/24")}},
		{Name: "if1", MAC: [6]byte{2, 0, 0, 0, 0, 2}, Addrs: []netip.Prefix{netip.MustParsePrefix("10.0.2.1/24"), netip.MustParsePrefix("192.0.2.7/32")}},
	} {
		if _, err := r.AddInterface(c); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range []struct {
		a     string
		iface int
		on    bool
	}{
		{"10.0.1.9", 0, true},
		{"10.0.2.200", 1, true},
		{"10.0.3.1", 0, false},
		{"192.0.2.7", 0, false}, // a /32 is no subnet
		{"2001:db8::1", 0, false},
		{"::a00:109", 0, false}, // 10.0.1.9's bits, but IPv6
	} {
		i, on := r.ifaceFor(netip.MustParseAddr(c.a))
		if on != c.on || (on && i != c.iface) {
			t.Errorf("ifaceFor(%s) = %d, %v; want %d, %v", c.a, i, on, c.iface, c.on)
		}
	}
}
