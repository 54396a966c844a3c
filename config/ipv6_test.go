package config

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"testing"
)

// TestIPv6Parsed: with the one refusal lifted (rules.IPv6), an IPv6
// interface address and an IPv6 neighbour parse and check as IPv4 ones
// do (subnets must not overlap, a neighbour is on a subnet of its
// interface), and IPv4's network and broadcast rules do not apply to them.
func TestIPv6Parsed(t *testing.T) {
	src := edit(t, "[10.0.1.1/24]", "[10.0.1.1/24, 2001:db8:1::1/64, 2400::1/16]") +
		"  - {interface: lan0, address: 2001:db8:1::2, mac: 02:aa:00:00:00:02}\n"
	c, err := Parse("t.yaml", []byte(src))
	if err != nil {
		t.Fatalf("%v\n%s", err, src)
	}
	want := []netip.Prefix{netip.MustParsePrefix("10.0.1.1/24"), netip.MustParsePrefix("2001:db8:1::1/64"), netip.MustParsePrefix("2400::1/16")}
	if !slices.Equal(c.Interfaces[0].Addresses, want) {
		t.Errorf("lan0 addresses %v, want %v", c.Interfaces[0].Addresses, want)
	}
	if len(c.Neighbors) != 2 || c.Neighbors[1].Address != netip.MustParseAddr("2001:db8:1::2") {
		t.Errorf("neighbours %+v", c.Neighbors)
	}
	base6 := edit(t, "[10.0.1.1/24]", "[10.0.1.1/24, 2001:db8:1::1/64]")
	for _, tc := range []struct{ old, new, want string }{
		{"[10.0.2.1/24]", "[10.0.2.1/24, 2001:db8:1::9/48]", `interfaces[1].addresses[1]: 2001:db8:1::9/48 overlaps 2001:db8:1::1/64 of lan0 (line 5): each interface needs its own subnet`},
		{"wan0, address: 10.0.2.2,", "wan0, address: 2001:db8:1::2,", `neighbors[0].address: 2001:db8:1::2 is not on a subnet of wan0 (10.0.2.0/24)`},
		{"wan0, address: 10.0.2.2,", "lan0, address: 2001:db8:1::1,", `neighbors[0].address: 2001:db8:1::1 is lan0's own address`},
		{"2001:db8:1::1/64", "'::ffff:10.0.9.1/120'", `interfaces[0].addresses[1]: "::ffff:10.0.9.1/120" is not an IPv4 prefix`},
	} {
		if strings.Count(base6, tc.old) != 1 {
			t.Fatalf("%q is not in the config once", tc.old)
		}
		s := strings.Replace(base6, tc.old, tc.new, 1)
		_, err := Parse("t.yaml", []byte(s))
		var es Errors
		if !errors.As(err, &es) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: got %v, want %q", tc.new, err, tc.want)
		}
	}
}

// TestIPv6Routes: an IPv6 route (via an IPv6 next hop on a connected
// IPv6 subnet, or a blackhole) parses from the config file; the mistakes
// are reported at their file:line with what to write instead.
func TestIPv6Routes(t *testing.T) {
	base := edit(t, "[10.0.1.1/24]", "[10.0.1.1/24, 2001:db8:1::1/64]")
	routes := "routes:\n  - {prefix: 2001:db8:100::/40, via: 2001:db8:1::2}\n  - {prefix: 2001:db8:200::/48, blackhole: true}\n"
	src := strings.Replace(base, "routes:\n", routes, 1)
	if src == base {
		t.Fatalf("no routes section in the base config:\n%s", base)
	}
	c, err := Parse("t.yaml", []byte(src))
	if err != nil {
		t.Fatalf("%v\n%s", err, src)
	}
	want := []Route{
		{Prefix: netip.MustParsePrefix("2001:db8:100::/40"), Via: netip.MustParseAddr("2001:db8:1::2")},
		{Prefix: netip.MustParsePrefix("2001:db8:200::/48"), Blackhole: true},
	}
	for i, w := range want {
		if r := c.Routes[i]; r.Prefix != w.Prefix || r.Via != w.Via || r.Blackhole != w.Blackhole {
			t.Errorf("routes[%d] = %+v, want %+v", i, r, w)
		}
	}
	line := strings.Count(src[:strings.Index(src, "2001:db8:100::/40")], "\n") + 1
	for _, tc := range []struct{ old, new, want string }{
		{"2001:db8:100::/40, via: 2001:db8:1::2", "2001:db8:100::/40, via: 10.0.1.2", fmt.Sprintf("t.yaml:%d:", line)},
		{"2001:db8:100::/40, via: 2001:db8:1::2", "2001:db8:100::/40, via: 10.0.1.2", "routes[0].via: 10.0.1.2 is of the other address family than 2001:db8:100::/40"},
		{"2001:db8:100::/40, via: 2001:db8:1::2", "10.9.0.0/16, via: 2001:db8:1::2", "routes[0].via: 2001:db8:1::2 is of the other address family than 10.9.0.0/16"},
		{"2001:db8:100::/40", "2001:db8:100::1/40", `routes[0].prefix: "2001:db8:100::1/40" has host bits set: write 2001:db8:100::/40`},
		{"via: 2001:db8:1::2", "via: 2001:db8:9::2", "routes[0].via: 2001:db8:9::2"},
		{"2001:db8:100::/40", "2001:db8:1::/64", "routes[0].prefix: 2001:db8:1::/64"},
	} {
		s := strings.Replace(src, tc.old, tc.new, 1)
		_, err := Parse("t.yaml", []byte(s))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: got %v, want %q", tc.new, err, tc.want)
		}
	}
}

// TestRouterAdvertisementsConfig: router_advertisements parses (off by
// default) and needs an IPv6 address on the interface.
func TestRouterAdvertisementsConfig(t *testing.T) {
	src := edit(t, "[10.0.1.1/24]", "[10.0.1.1/24, 2001:db8:1::1/64]\n    router_advertisements: true")
	c, err := Parse("t.yaml", []byte(src))
	if err != nil {
		t.Fatalf("%v\n%s", err, src)
	}
	if !c.Interfaces[0].RouterAdvertisements || c.Interfaces[1].RouterAdvertisements {
		t.Errorf("router_advertisements: %v %v, want true on lan0 only", c.Interfaces[0].RouterAdvertisements, c.Interfaces[1].RouterAdvertisements)
	}
	src = edit(t, "[10.0.1.1/24]", "[10.0.1.1/24]\n    router_advertisements: true")
	_, err = Parse("t.yaml", []byte(src))
	if err == nil || !strings.Contains(err.Error(), "interfaces[0].router_advertisements: true, but lan0 has no IPv6 address") {
		t.Errorf("router_advertisements without an IPv6 address: %v", err)
	}
}
