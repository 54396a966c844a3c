package e2e

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/softnet/softnet/api"
	"github.com/softnet/softnet/internal/netns"
	"github.com/softnet/softnet/lab"
)

// TestAPI drives the lab's router through its control API and the CLI
// while real traffic crosses it: the counters and the ARP-learned
// neighbour show, a route added through the API carries pings to a new
// address on host B and deleting it stops them, and a bad reload changes
// nothing.
func TestAPI(t *testing.T) {
	need(t)
	topo, sn := router(t)
	ctx := context.Background()
	c := api.NewClient(sn.API)
	b := lab.AddrB.Addr().String()
	if p := ping(t, topo.A, b, 5); p.Received != 5 {
		t.Fatalf("ping A → B: %d/5\n%s", p.Received, p.Output)
	}

	ifs, err := c.Interfaces(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(ifs) != 2 || ifs[0].Name != lab.DevRA || ifs[0].Device != lab.DevRA || ifs[0].Link != "up" || ifs[0].MAC != lab.MACSoftnetA ||
		ifs[0].RxPackets < 5 || ifs[1].TxPackets < 5 || ifs[0].Addresses[0] != lab.AddrRA.String() {
		t.Errorf("interfaces: %+v", ifs)
	}
	ns, err := c.Neighbors(ctx)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, n := range ns {
		if n.Address == b && n.Interface == lab.DevRB && n.MAC == lab.MACB && (n.State == "reachable" || n.State == "stale") {
			found = true
		}
	}
	if !found {
		t.Errorf("host B not learned by ARP: %+v", ns)
	}

	// The CLI against the same router.
	out, err := exec.Command(binary, "show", "interfaces", "--api", sn.API).CombinedOutput()
	if err != nil || !strings.Contains(string(out), lab.MACSoftnetB) || !strings.HasPrefix(string(out), "NAME") {
		t.Errorf("softnet show interfaces: %v\n%s", err, out)
	}
	out, err = exec.Command(binary, "show", "routes", b, "--api", sn.API).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "forward") {
		t.Errorf("softnet show routes %s: %v\n%s", b, err, out)
	}

	// A new address on B, reachable only through a route added by the CLI.
	const extra = "198.51.100.1"
	if _, err := netns.IP(ctx, "-n", topo.B, "addr", "add", extra+"/32", "dev", lab.DevB); err != nil {
		t.Fatal(err)
	}
	if _, err := netns.IP(ctx, "-n", topo.A, "route", "add", "198.51.100.0/24", "via", lab.AddrRA.Addr().String()); err != nil {
		t.Fatal(err)
	}
	if p := ping(t, topo.A, extra, 2); p.Received != 0 {
		t.Fatalf("%s answered before the route was added:\n%s", extra, p.Output)
	}
	if out, err := exec.Command(binary, "route", "add", "198.51.100.0/24", "via", b, "--api", sn.API).CombinedOutput(); err != nil {
		t.Fatalf("route add: %v\n%s", err, out)
	}
	if p := ping(t, topo.A, extra, 3); p.Received != 3 {
		t.Errorf("ping %s through the added route: %d/3\n%s", extra, p.Received, p.Output)
	}

	// A bad reload: rejected, the route added stays, pings go on.
	bad := filepath.Join(topo.Dir, "bad.yaml")
	os.WriteFile(bad, []byte(strings.Replace(lab.RouterConfig(1), "routes:\n", "routes:\n  - {prefix: 192.0.2.0/24, via: 172.16.0.1}\n", 1)), 0o644)
	out, err = exec.Command(binary, "reload", "-c", bad, "--api", sn.API).CombinedOutput()
	if err == nil || !strings.Contains(string(out), "172.16.0.1 is on no interface's subnet") || !strings.Contains(string(out), "reload rejected") {
		t.Errorf("bad reload: %v\n%s", err, out)
	}
	if p := ping(t, topo.A, extra, 2); p.Received != 2 {
		t.Errorf("after the rejected reload: %d/2\n%s", p.Received, p.Output)
	}

	// A good reload (the file the router runs) removes the added route.
	res, err := c.Reload(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	if res.Changes.RoutesRemoved != 1 {
		t.Errorf("reload: %+v", res)
	}
	if p := ping(t, topo.A, extra, 2); p.Received != 0 {
		t.Errorf("%s still reachable after the reload removed its route:\n%s", extra, p.Output)
	}
	if p := ping(t, topo.A, b, 2); p.Received != 2 {
		t.Errorf("B after the reload: %d/2", p.Received)
	}

	m, err := c.Metrics(ctx)
	if err != nil || !strings.Contains(string(m), `softnet_interface_rx_packets_total{interface="ra"}`) {
		t.Errorf("metrics: %v\n%.500s", err, m)
	}
	es, err := c.Errors(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range es.ICMPErrors {
		if k.Kind == "net-unreachable" && k.Count == 0 {
			t.Errorf("no net unreachable sent for the pings without a route: %+v", es.ICMPErrors)
		}
	}
}
