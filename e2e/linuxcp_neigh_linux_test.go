package e2e

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/softnet/softnet/api"
	"github.com/softnet/softnet/internal/netns"
)

// linkMAC returns the MAC of device dev in namespace ns.
func linkMAC(t *testing.T, ns, dev string) string {
	t.Helper()
	out, err := netns.IP(context.Background(), "-n", ns, "-o", "link", "show", dev)
	if err != nil {
		t.Fatalf("ip -n %s link show %s: %v %s", ns, dev, err, out)
	}
	f := strings.Fields(out)
	if i := slices.Index(f, "link/ether"); i >= 0 && i+1 < len(f) {
		return f[i+1]
	}
	t.Fatalf("no MAC for %s in %s: %s", dev, ns, out)
	return ""
}

// kernelNeighbor returns softnet's entry for address a on iface, if any.
func kernelNeighbor(c *api.Client, iface, a string) (api.Neighbor, bool, string) {
	ns, err := c.Neighbors(context.Background())
	if err != nil {
		return api.Neighbor{}, false, err.Error()
	}
	for _, n := range ns {
		if n.Interface == iface && n.Address == a {
			return n, true, fmt.Sprintf("%+v", n)
		}
	}
	return api.Neighbor{}, false, fmt.Sprintf("%+v", ns)
}

// TestLinuxCPNeighborsAddrs (issue 15, linux_cp neighbours and
// addresses): softnet on AF_XDP in R with host interfaces in H follows
// H's neighbour table and addresses. A permanent neighbour added with ip
// neigh in H for an address nobody answers ARP for, with B's MAC, and a
// route through it: softnet show neighbors lists it as the kernel's, and
// A's pings to an address of B along the route get through (softnet
// sends to that MAC without ARP); ip neigh del takes it away and the
// pings fail (softnet's own ARP gets no answer). An address added with
// ip addr on H's wan0: softnet answers A's ARP and pings for it (H's
// kernel sees none of A's frames: softnet on AF_XDP); ip addr del: no
// longer.
func TestLinuxCPNeighborsAddrs(t *testing.T) {
	need(t)
	tp := newHostIfTopo(t)
	r, c := startHostIfRouter(t, tp, "")

	// The neighbour: 10.0.2.9 at B's MAC, which only the kernel knows.
	bmac := linkMAC(t, tp.B, "b0")
	lcpIP(t, tp.B, "addr", "add", "198.18.5.1/32", "dev", "lo")
	// B's ARP for its gateway from its address on b0, not from 198.18.5.1
	// (off every subnet of softnet's: refused, arp-input/bad-sender).
	if err := netns.Sysctl(context.Background(), tp.B, "net.ipv4.conf.all.arp_announce", "2"); err != nil {
		t.Fatal(err)
	}
	lcpIP(t, tp.H, "neigh", "add", "10.0.2.9", "lladdr", bmac, "dev", "host-wan1", "nud", "permanent")
	lcpIP(t, tp.H, "route", "add", "198.18.5.0/24", "via", "10.0.2.9", "dev", "host-wan1")
	poll(t, 20*time.Second, "softnet show neighbors to list the kernel's 10.0.2.9", func() (bool, string) {
		n, ok, why := kernelNeighbor(c, "wan1", "10.0.2.9")
		return ok && n.Source == "kernel" && n.State == "permanent" && n.MAC == bmac, why
	})
	if out := r.ok(t, "show", "neighbors"); !strings.Contains(grepLines(out, "10.0.2.9"), "kernel") || !strings.Contains(out, "SOURCE") {
		t.Errorf("show neighbors does not say 10.0.2.9 is the kernel's:\n%s", out)
	}
	waitRoute(t, c, "198.18.5.1", "the route via 10.0.2.9", func(m api.RouteMatch) bool {
		return m.Found && m.Via == "10.0.2.9" && m.Interface == "wan1"
	})
	if p := ping(t, tp.A, "198.18.5.1", 3); p.Received == 0 {
		t.Fatalf("A cannot ping 198.18.5.1 through the kernel's neighbour 10.0.2.9 (B's MAC):\n%s\n%s", p.Output, r.ok(t, "show", "neighbors"))
	}
	lcpIP(t, tp.H, "neigh", "del", "10.0.2.9", "dev", "host-wan1")
	poll(t, 20*time.Second, "the kernel's 10.0.2.9 gone from softnet", func() (bool, string) {
		n, ok, why := kernelNeighbor(c, "wan1", "10.0.2.9")
		return !ok || n.Source != "kernel", why
	})
	if p := ping(t, tp.A, "198.18.5.1", 2); p.Received != 0 {
		t.Errorf("A still pings 198.18.5.1 after ip neigh del of its next hop (nobody answers ARP for 10.0.2.9):\n%s", p.Output)
	}

	// The address: 10.0.5.1/24 on wan0, A on its subnet too.
	lcpIP(t, tp.A, "addr", "add", "10.0.5.2/24", "dev", "a0")
	if p := ping(t, tp.A, "10.0.5.1", 1); p.Received != 0 {
		t.Fatalf("10.0.5.1 answers before it is added:\n%s", p.Output)
	}
	lcpIP(t, tp.H, "addr", "add", "10.0.5.1/24", "dev", "wan0")
	poll(t, 20*time.Second, "softnet to answer A's ping to 10.0.5.1", func() (bool, string) {
		p := ping(t, tp.A, "10.0.5.1", 1)
		return p.Received == 1, p.Output
	})
	if a := r.ifaces(t)["wan0"].Addresses; !slices.Contains(a, "10.0.5.1/24") {
		t.Errorf("show interfaces: wan0's addresses %v, want 10.0.5.1/24 among them", a)
	}
	lcpIP(t, tp.H, "addr", "del", "10.0.5.1/24", "dev", "wan0")
	poll(t, 20*time.Second, "softnet to stop answering 10.0.5.1", func() (bool, string) {
		p := ping(t, tp.A, "10.0.5.1", 1)
		return p.Received == 0, p.Output
	})
	if a := r.ifaces(t)["wan0"].Addresses; !slices.Equal(a, []string{"10.0.1.1/24"}) {
		t.Errorf("show interfaces: wan0's addresses %v after ip addr del, want the configured 10.0.1.1/24 only", a)
	}
	if p := ping(t, tp.A, "10.0.1.1", 1); p.Received != 1 {
		t.Errorf("the configured 10.0.1.1 no longer answers:\n%s", p.Output)
	}
	var st api.LinuxCP
	if r.json(t, &st, "show", "linuxcp") && st.Refused != 0 {
		t.Errorf("show linuxcp: %+v: nothing should be refused", st.Stats)
	}
}
