package e2e

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/softnet/softnet/api"
	"github.com/softnet/softnet/internal/netns"
	"github.com/softnet/softnet/lab"
)

// TestNoCarrierFailover (issue 16 d): with a default route through host A
// (added over the API), host B's veth going down (rb without carrier)
// takes the routes through rb out of the FIB, so B's subnet fails over to
// the default: show routes names it, A's pings to B are forwarded out of
// ra (back to A, which drops them) instead of answered with ICMP
// unreachable or dropped as iface-down. When B's veth is up again the
// routes through rb are back and B answers. (TestNoCarrier: without a
// covering route, unreachable.)
func TestNoCarrierFailover(t *testing.T) {
	need(t)
	topo, sn := router(t)
	ctx := context.Background()
	c := api.NewClient(sn.API)
	b := lab.AddrB.Addr().String()
	if err := c.AddRoute(ctx, api.RouteRequest{Prefix: "0.0.0.0/0", Via: lab.AddrA.Addr().String()}); err != nil {
		t.Fatal(err)
	}
	if p := ping(t, topo.A, b, 3); p.Received == 0 {
		t.Fatalf("no reply from B before the test:\n%s", p.Output)
	}
	if m, err := c.Route(ctx, b); err != nil || m.Interface != lab.DevRB {
		t.Fatalf("show routes %s before: %+v (%v), want a route through rb", b, m, err)
	}
	if _, err := netns.IP(ctx, "-n", topo.B, "link", "set", lab.DevB, "down"); err != nil {
		t.Fatal(err)
	}
	waitLink(t, c, lab.DevRB, "down")
	if m, err := c.Route(ctx, b); err != nil || m.Prefix != "0.0.0.0/0" || m.Interface != lab.DevRA {
		t.Errorf("show routes %s with rb down: %+v (%v), want the default through ra", b, m, err)
	}
	before, txBefore := drops(t, c), iface(t, c, lab.DevRA).TxPackets
	p := ping(t, topo.A, b, 5)
	if p.Received != 0 || strings.Contains(p.Output, "Unreachable") {
		t.Errorf("ping B with rb down and a default through A: want no answer and no ICMP unreachable:\n%s", p.Output)
	}
	if tx := iface(t, c, lab.DevRA).TxPackets; tx < txBefore+5 {
		t.Errorf("ra sent %d packets during 5 pings to B with rb down: want them forwarded through the default", tx-txBefore)
	}
	for k, v := range drops(t, c) {
		if strings.HasSuffix(k, "/iface-down") && v != before[k] {
			t.Errorf("%s grew by %d: the routes through rb (link down) are still in the FIB", k, v-before[k])
		}
	}

	if _, err := netns.IP(ctx, "-n", topo.B, "link", "set", lab.DevB, "up"); err != nil {
		t.Fatal(err)
	}
	if _, err := netns.IP(ctx, "-n", topo.B, "route", "replace", lab.AddrA.Masked().String(), "via", lab.AddrRB.Addr().String()); err != nil {
		t.Fatal(err)
	}
	waitLink(t, c, lab.DevRB, "up")
	if m, err := c.Route(ctx, b); err != nil || m.Interface != lab.DevRB {
		t.Errorf("show routes %s with rb up again: %+v (%v), want a route through rb", b, m, err)
	}
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); {
		if p = ping(t, topo.A, b, 2); p.Received > 0 {
			break
		}
	}
	if p.Received == 0 {
		t.Fatalf("no reply from B after its veth came back up:\n%s", p.Output)
	}
}
