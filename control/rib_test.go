package control_test

import (
	"errors"
	"net/netip"
	"strings"
	"testing"

	"github.com/softnet/softnet/control"
	"github.com/softnet/softnet/dp"
	"github.com/softnet/softnet/dp/dptest"
	"github.com/softnet/softnet/dp/ip4"
	"github.com/softnet/softnet/hdr"
)

func TestRouterAddRouteErrors(t *testing.T) {
	l := newLab(t, false, true)
	before := l.Router.Routes()
	tests := []struct {
		name    string
		p       netip.Prefix
		gw      netip.Addr
		wantErr []string
	}{
		{"gateway off-link", netip.MustParsePrefix("203.0.113.0/24"), netip.MustParseAddr("192.0.2.1"), []string{"192.0.2.1", "is on no interface's subnet", "203.0.113.0/24"}},
		{"gateway next to a subnet", netip.MustParsePrefix("203.0.113.0/24"), netip.MustParseAddr("10.0.3.1"), []string{"10.0.3.1"}},
		{"IPv6 gateway", netip.MustParsePrefix("203.0.113.0/24"), netip.MustParseAddr("2001:db8::1"), []string{"2001:db8::1", "other address family"}},
		{"IPv6 prefix", netip.MustParsePrefix("2001:db8::/32"), dptest.HostB, []string{"2001:db8::/32"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := l.Router.AddRoute(tc.p, tc.gw)
			if err == nil {
				t.Fatalf("AddRoute(%v, %v) accepted", tc.p, tc.gw)
			}
			for _, s := range tc.wantErr {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q does not contain %q", err, s)
				}
			}
			if l.Router.Routes() != before {
				t.Errorf("a rejected route changed the table: %d routes, want %d", l.Router.Routes(), before)
			}
		})
	}
	if err := l.Router.DeleteRoute(netip.MustParsePrefix("203.0.113.0/24")); !errors.Is(err, control.ErrNoRoute) {
		t.Fatalf("DeleteRoute of a missing route: %v, want ErrNoRoute", err)
	}
}

// TestRouteChanges adds, replaces and deletes routes and checks where a
// packet to 198.18.1.1 goes after each change.
func TestRouterRouteChanges(t *testing.T) {
	l := newLab(t, true, true)
	r := l.Router
	routes := r.Routes()

	type step struct {
		name   string
		change func() error
		// where the packet must go: if1 to host B, if0 to host A (routed
		// back out), or an ICMP net unreachable back on if0.
		want string
	}
	steps := []step{
		{"initial route via host B", func() error { return nil }, "hostB"},
		{"replace with host A", func() error { return r.AddRoute(dptest.Remote, dptest.HostA) }, "hostA"},
		{"more specific via host B", func() error { return r.AddRoute(netip.MustParsePrefix("198.18.1.0/24"), dptest.HostB) }, "hostB"},
		{"unmasked prefix deletes the /24", func() error { return r.DeleteRoute(netip.MustParsePrefix("198.18.1.77/24")) }, "hostA"},
		{"replace back with host B", func() error { return r.AddRoute(dptest.Remote, dptest.HostB) }, "hostB"},
		{"delete", func() error { return r.DeleteRoute(dptest.Remote) }, "unreachable"},
		{"add again", func() error { return r.AddRoute(dptest.Remote, dptest.HostB) }, "hostB"},
		{"blackhole", func() error { return r.AddRoute(dptest.Remote, netip.Addr{}) }, "dropped"},
		{"un-blackhole", func() error { return r.AddRoute(dptest.Remote, dptest.HostB) }, "hostB"},
	}
	for i, s := range steps {
		if err := s.change(); err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		r.Publish()
		sport := uint16(1000 + i)
		l.Send(0, udpFrom(remoteDst, sport))
		switch s.want {
		case "hostB":
			wantForwarded(t, one(t, l, 1, s.name), dptest.HostBMAC, dptest.R1MAC, remoteDst, sport)
			none(t, l, s.name)
		case "hostA":
			wantForwarded(t, one(t, l, 0, s.name), dptest.HostAMAC, dptest.R0MAC, remoteDst, sport)
			none(t, l, s.name)
		case "unreachable":
			wantICMP(t, one(t, l, 0, s.name), hdr.ICMPv4DestUnreach, hdr.ICMPv4NetUnreach, remoteDst)
			none(t, l, s.name)
		case "dropped":
			none(t, l, s.name)
		}
	}
	if r.Routes() != routes {
		t.Fatalf("%d routes at the end, want %d as at the start", r.Routes(), routes)
	}
	c := l.Counters()
	if c.ICMPErrors[dp.ICMPErrNetUnreach] != 1 || c.Drops[ip4.Blackhole] != 1 {
		t.Fatalf("net unreachable %d, blackhole drops %d; want 1 1", c.ICMPErrors[dp.ICMPErrNetUnreach], c.Drops[ip4.Blackhole])
	}
}
