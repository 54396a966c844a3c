package e2e

import (
	"context"
	"encoding/json"
	"net/netip"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/softnet/softnet/api"
	"github.com/softnet/softnet/internal/netns"
	"github.com/softnet/softnet/lab"
)

// eui64 is the link-local address softnet derives for an interface with
// MAC mac and no configured link-local address (RFC 4291 Appendix A).
func eui64(t *testing.T, mac string) netip.Addr {
	t.Helper()
	var m [6]byte
	var n int
	for i, f := range strings.Split(mac, ":") {
		var b byte
		for _, c := range f {
			b = b<<4 | byte(strings.IndexRune("0123456789abcdef", c))
		}
		m[i] = b
		n++
	}
	if n != 6 {
		t.Fatalf("bad MAC %q", mac)
	}
	return netip.AddrFrom16([16]byte{0: 0xfe, 1: 0x80, 8: m[0] ^ 2, 9: m[1], 10: m[2], 11: 0xff, 12: 0xfe, 13: m[3], 14: m[4], 15: m[5]})
}

// TestIPv6 runs real IPv6 tools through the softnet binary: hosts A and B
// in their namespaces, IPv6 addresses only in the router's config file
// and no static IPv6 neighbour anywhere, so everything is resolved by
// Neighbor Discovery (host A finds the router by its global address, host
// B by the link-local one softnet derives from its MAC, softnet finds
// both hosts). ping -6 A to B; ping -6 to the router's global and
// link-local addresses; traceroute -6 shows the router as hop 1 (its
// Time Exceeded) and B as hop 2; iperf3 -6 (TCP) through it. The hosts'
// kernels record the router with the R flag of its advertisements, and
// softnet show neighbors lists both hosts with their MACs. With Router
// Advertisements on rb, host B autoconfigures an address (SLAAC) and a
// default route via the router, and A reaches that address. On each
// backend (subtests afpacket, afxdp).
func TestIPv6(t *testing.T) {
	need(t, "iperf3", "traceroute")
	for _, backend := range backends {
		t.Run(backend, func(t *testing.T) { testIPv6(t, backend) })
	}
}

func testIPv6(t *testing.T, backend string) {
	ctx := context.Background()
	topo, err := lab.New(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := topo.Close(); err != nil {
			t.Error(err)
		}
	})
	topo.Backend = backend
	if backend == "afxdp" {
		if err := topo.DisableAllOffloads(ctx); err != nil {
			t.Fatal(err)
		}
	}
	llA, llB := eui64(t, lab.MACSoftnetA), eui64(t, lab.MACSoftnetB)
	if err := topo.EnableIPv6(ctx, llB); err != nil {
		t.Fatal(err)
	}
	topo.Extra.IPv6, topo.Extra.RA = true, true
	sn, err := topo.StartSoftnet(ctx, binary, 1, -1)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		out, err := sn.Stop()
		if err != nil {
			t.Errorf("softnet: %v", err)
		}
		if t.Failed() || testing.Verbose() {
			t.Logf("softnet output:\n%s", out)
		}
	})
	if cfg, err := os.ReadFile(sn.Config); err != nil || strings.Contains(string(cfg), "fd11:2::2") {
		t.Fatalf("the router's config names host B: the test wants Neighbor Discovery to find it")
	}
	a6, b6 := lab.AddrA6.Addr().String(), lab.AddrB6.Addr().String()

	// A to B, both ways resolved by ND; the router holds the first
	// packet while it solicits B, so none is lost.
	if p := ping(t, topo.A, b6, 5, "-6"); p.Received != 5 {
		t.Fatalf("ping -6 %s from A: %d of %d replies\n%s", b6, p.Received, p.Sent, p.Output)
	}
	for _, dst := range []string{lab.AddrRA6.Addr().String(), llA.String() + "%" + lab.DevA} {
		if p := ping(t, topo.A, dst, 3, "-6"); p.Received != 3 {
			t.Errorf("ping -6 %s (the router) from A: %d of %d replies\n%s", dst, p.Received, p.Sent, p.Output)
		}
	}
	if p := ping(t, topo.B, llB.String()+"%"+lab.DevB, 3, "-6"); p.Received != 3 {
		t.Errorf("ping -6 %s (the router's link-local) from B: %d of %d replies\n%s", llB, p.Received, p.Sent, p.Output)
	}

	// The hosts' kernels learnt the router by ND, with the R flag.
	for _, h := range []struct {
		ns, dev, addr, mac string
	}{
		{topo.A, lab.DevA, lab.AddrRA6.Addr().String(), lab.MACSoftnetA},
		{topo.B, lab.DevB, llB.String(), lab.MACSoftnetB},
	} {
		out, err := netns.IP(ctx, "-n", h.ns, "-6", "neigh", "show", h.addr, "dev", h.dev)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(out, "lladdr "+h.mac) || !strings.Contains(out, "router") {
			t.Errorf("%s's neighbour entry for the router %s: %q, want lladdr %s with the router flag", h.dev, h.addr, out, h.mac)
		}
	}

	// softnet learnt both hosts (no static IPv6 neighbour).
	res := softnet(t, topo.Dir, sn.API, 30*time.Second, "show", "neighbors", "--json")
	var ns []api.Neighbor
	if res.Code != 0 || json.Unmarshal([]byte(res.Out), &ns) != nil {
		t.Fatalf("show neighbors: %s", res)
	}
	want := map[string]string{a6: lab.MACA, b6: lab.MACB}
	for _, n := range ns {
		if mac, ok := want[n.Address]; ok && n.MAC == mac && n.State != "static" && n.State != "incomplete" && n.State != "failed" {
			delete(want, n.Address)
		}
	}
	if len(want) != 0 {
		t.Errorf("show neighbors: no resolved entries for %v: %+v", want, ns)
	}
	text := softnet(t, topo.Dir, sn.API, 30*time.Second, "show", "neighbors")
	if !strings.Contains(text.Out, b6) || !strings.Contains(text.Out, lab.Sink.String()) {
		t.Errorf("show neighbors does not list both families (%s and %s):\n%s", b6, lab.Sink, text.Out)
	}

	m := metrics(t, sn.API)
	for _, name := range []string{"softnet_control_nd_solicitations_total", "softnet_control_nd_advertisements_total", "softnet_control_router_advertisements_total"} {
		if v, ok := metric(m, name); !ok || v < 1 {
			t.Errorf("metric %s = %v (present %v), want >= 1", name, v, ok)
		}
	}

	// traceroute -6: hop 1 the router (Time Exceeded from ra's
	// address), hop 2 host B.
	tctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	out, err := netns.Output(tctx, topo.A, "traceroute", "-6", "-n", "-q", "1", "-w", "2", "-m", "5", b6)
	if err != nil {
		t.Fatalf("traceroute -6: %v\n%s", err, out)
	}
	hop1 := regexp.MustCompile(`(?m)^\s*1\s+` + regexp.QuoteMeta(lab.AddrRA6.Addr().String()) + `\s`)
	hop2 := regexp.MustCompile(`(?m)^\s*2\s+` + regexp.QuoteMeta(b6) + `\s`)
	if !hop1.MatchString(out) || !hop2.MatchString(out) {
		t.Errorf("traceroute -6 %s: want hop 1 %s and hop 2 %s:\n%s", b6, lab.AddrRA6.Addr(), b6, out)
	}

	// iperf3 over IPv6 (TCP) through softnet.
	ictx, icancel := context.WithTimeout(ctx, 60*time.Second)
	defer icancel()
	ip, err := lab.RunIperf(ictx, topo.A, topo.B, b6, 3*time.Second, "")
	if err != nil {
		t.Fatalf("iperf3 -6: %v", err)
	}
	if ip.Gbps <= 0.01 {
		t.Errorf("iperf3 -6 through softnet: %.3f Gbit/s", ip.Gbps)
	}
	t.Logf("iperf3 -6: %.2f Gbit/s, %d retransmits", ip.Gbps, ip.Retransmits)

	// Router Advertisements on rb: host B autoconfigured an address from
	// fd11:2::/64 (its EUI-64: SLAAC, RFC 4862) and a default route via
	// the router's link-local address, and A reaches that address.
	auto := eui64(t, lab.MACB).As16()
	copy(auto[:8], lab.AddrB6.Masked().Addr().AsSlice()[:8])
	slaac := netip.AddrFrom16(auto).String()
	deadline := time.Now().Add(30 * time.Second)
	for {
		addrs, _ := netns.IP(ctx, "-n", topo.B, "-6", "addr", "show", "dev", lab.DevB)
		routes, _ := netns.IP(ctx, "-n", topo.B, "-6", "route", "show", "default")
		if strings.Contains(addrs, slaac+"/64") && strings.Contains(routes, "via "+llB.String()) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("host B did not autoconfigure %s/64 and a default route via %s from softnet's RA in 30 s:\n%s\n%s", slaac, llB, addrs, routes)
		}
		time.Sleep(200 * time.Millisecond)
	}
	if p := ping(t, topo.A, slaac, 3, "-6"); p.Received != 3 {
		t.Errorf("ping -6 %s (B's autoconfigured address) from A: %d of %d replies\n%s", slaac, p.Received, p.Sent, p.Output)
	}
}
