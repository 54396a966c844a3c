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
