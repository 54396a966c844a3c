package control_test

import (
	"net/netip"
	"testing"

	"github.com/softnet/softnet/dp"
	"github.com/softnet/softnet/dp/dptest"
	"github.com/softnet/softnet/hdr"
)

// TestRoutesThroughDownInterface: while if1 is down (link or admin), the
// routes through it (the configured 198.18.0.0/15 via host B, host B's own
// route, if1's connected subnet) answer ICMP destination unreachable to
// the sender instead of being forwarded into the down interface (counted
// as iface-down, no ICMP); when if1 comes back up they forward again.
func TestRoutesThroughDownInterface(t *testing.T) {
	l := dptest.New(t, dptest.Options{})
	dst := [3][4]byte{{198, 18, 0, 1}, {10, 0, 2, 2}, {10, 0, 2, 77}}
	send := func() {
		for _, d := range dst {
			l.Send(0, dptest.IPv4Frame(dptest.R0MAC, dptest.HostAMAC, dptest.HostA, netip.AddrFrom4(d), hdr.ProtoUDP, 64, false, dptest.UDP(1000, 9, 18)))
		}
	}
	for _, link := range []bool{true, false} {
		set := l.Router.SetInterfaceUp
		if link {
			set = l.Router.SetLinkUp
		}
		if err := set(1, false); err != nil {
			t.Fatal(err)
		}
		l.Router.Publish()
		l.Out(0)
		l.Out(1)
		send()
		back, out := l.Out(0), l.Out(1)
		if len(out) != 0 {
			t.Fatalf("link %v: %d frames sent out of the down if1", link, len(out))
		}
		if len(back) != len(dst) {
			t.Fatalf("link %v: %d frames back to host A, want %d ICMP unreachable", link, len(back), len(dst))
		}
		for _, f := range back {
			if f[23] != hdr.ProtoICMP || f[34] != hdr.ICMPv4DestUnreach {
				t.Fatalf("link %v: frame back to host A is not ICMP destination unreachable: % x", link, f[:36])
			}
		}
		if n := l.Counters().Drops[dp.OutIfaceDown]; n != 0 {
			t.Errorf("link %v: %d packets dropped as interface-output/iface-down", link, n)
		}
		if err := set(1, true); err != nil {
			t.Fatal(err)
		}
		l.Router.Publish()
		l.Send(0, dptest.IPv4Frame(dptest.R0MAC, dptest.HostAMAC, dptest.HostA, netip.AddrFrom4(dst[0]), hdr.ProtoUDP, 64, false, dptest.UDP(1000, 9, 18)))
		if out := l.Out(1); len(out) != 1 {
			t.Fatalf("link %v: after if1 came back up, %d frames out of if1, want 1", link, len(out))
		}
	}
}

// TestDownInterfaceFailover: while if1 is down, its routes leave the FIB
// (the control plane keeps them) so that a covering route takes over: the
// default route via if0.100's host then carries 198.18.0.0/15 (configured
// via host B), host B's own /32, if1's connected subnet, and a route added
// through if1 while it is down; Lookup shows the default. When if1 comes
// back, they go through it again. Without the default (the test above)
// what is left answers ICMP destination unreachable.
func TestDownInterfaceFailover(t *testing.T) {
	l := dptest.New(t, dptest.Options{VLANs: true})
	ctl := l.Router
	def := netip.MustParsePrefix("0.0.0.0/0")
	if err := ctl.AddRoute(def, dptest.SubHost[0]); err != nil {
		t.Fatal(err)
	}
	late := netip.MustParsePrefix("203.0.113.0/24")
	dst := []netip.Addr{netip.MustParseAddr("198.18.0.1"), dptest.HostB, netip.MustParseAddr("10.0.2.77"), netip.MustParseAddr("203.0.113.5")}
	send := func() {
		for _, d := range dst {
			l.Send(0, dptest.IPv4Frame(dptest.R0MAC, dptest.HostAMAC, dptest.HostA, d, hdr.ProtoUDP, 64, false, dptest.UDP(1000, 9, 18)))
		}
	}
	for _, link := range []bool{true, false} {
		set := ctl.SetInterfaceUp
		if link {
			set = ctl.SetLinkUp
		}
		if err := set(1, false); err != nil {
			t.Fatal(err)
		}
		if err := ctl.AddRoute(late, dptest.HostB); err != nil { // through the down if1
			t.Fatalf("link %v: adding a route through the down if1: %v", link, err)
		}
		ctl.Publish()
		l.Out(0)
		l.Out(1)
		for _, d := range dst {
			if m, ok := ctl.Lookup(d); !ok || m.Prefix != def {
				t.Errorf("link %v: Lookup(%v) = %+v, %v; want the default route while if1 is down", link, d, m, ok)
			}
		}
		if !ctl.Static(dptest.Remote) || !ctl.Static(late) {
			t.Errorf("link %v: the routes through the down if1 are gone from the control plane", link)
		}
		send()
		back, out := l.Out(0), l.Out(1)
		if len(out) != 0 {
			t.Fatalf("link %v: %d frames sent out of the down if1", link, len(out))
		}
		if len(back) != len(dst) {
			t.Fatalf("link %v: %d frames out of if0, want %d through the default route", link, len(back), len(dst))
		}
		for _, f := range back {
			vid := int(f[14]&0x0f)<<8 | int(f[15])
			if [6]byte(f[:6]) != dptest.HostAMAC || f[12] != 0x81 || f[13] != 0x00 || vid != 100 || f[27] != hdr.ProtoUDP {
				t.Fatalf("link %v: frame out of if0 is not UDP to if0.100's host (VLAN 100): % x", link, f[:34])
			}
		}
		if err := set(1, true); err != nil {
			t.Fatal(err)
		}
		ctl.Publish()
		for _, d := range dst {
			if m, ok := ctl.Lookup(d); !ok || m.Iface != 1 {
				t.Errorf("link %v: after if1 came back up, Lookup(%v) = %+v, %v; want a route through if1", link, d, m, ok)
			}
		}
		// Not 10.0.2.77: on if1's subnet, it waits for ARP.
		for _, d := range []netip.Addr{dst[0], dst[1], dst[3]} {
			l.Send(0, dptest.IPv4Frame(dptest.R0MAC, dptest.HostAMAC, dptest.HostA, d, hdr.ProtoUDP, 64, false, dptest.UDP(1000, 9, 18)))
		}
		if back, out := l.Out(0), l.Out(1); len(out) != 3 || len(back) != 0 {
			t.Fatalf("link %v: after if1 came back up, %d frames out of if1 and %d out of if0, want 3 and 0", link, len(out), len(back))
		}
		if m, ok := ctl.Lookup(dst[0]); !ok || m.Prefix != dptest.Remote || m.Via != dptest.HostB {
			t.Errorf("link %v: after if1 came back up, Lookup(%v) = %+v", link, dst[0], m)
		}
		if err := ctl.DeleteRoute(late); err != nil {
			t.Fatal(err)
		}
	}
}
