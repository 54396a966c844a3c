package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/softnet/softnet/api"
	"github.com/softnet/softnet/config"
	"github.com/softnet/softnet/control"
	"github.com/softnet/softnet/dp"
	"github.com/softnet/softnet/dp/dptest"
	"github.com/softnet/softnet/dp/ethernet"
	"github.com/softnet/softnet/dp/tracefmt"
	"github.com/softnet/softnet/hdr"
	"github.com/softnet/softnet/internal/testenv"
	"github.com/softnet/softnet/port/mem"
	"github.com/softnet/softnet/run"
)

var (
	lanMAC  = [6]byte{0x02, 0x52, 0, 0, 0, 1}
	hostA   = [6]byte{0x02, 0xaa, 0, 0, 0, 2}
	srcAddr = netip.MustParseAddr("10.0.1.2")
)

// baseConfig is a router of two mem ports; $ROUTES and $NEIGHBORS are
// replaced by the test's lines.
const baseConfig = `workers: 1
interfaces:
  - name: lan0
    backend: mem
    mac: 02:52:00:00:00:01
    addresses: [10.0.1.1/24]
  - name: wan0
    backend: mem
    mac: 02:52:00:00:00:02
    addresses: [10.0.2.1/24]
routes:
  - {prefix: 198.18.0.0/15, via: 10.0.2.2}
$ROUTES
neighbors:
  - {interface: lan0, address: 10.0.1.2, mac: 02:aa:00:00:00:02}
  - {interface: wan0, address: 10.0.2.2, mac: 02:bb:00:00:00:02}
$NEIGHBORS
icmp: {rate: $RATE, burst: 100}
`

func configText(routes, neighbors string, rate int) string {
	s := strings.ReplaceAll(baseConfig, "$ROUTES", routes)
	s = strings.ReplaceAll(s, "$NEIGHBORS", neighbors)
	return strings.ReplaceAll(s, "$RATE", itoa(rate))
}

func itoa(n int) string {
	b := []byte{}
	for {
		b = append([]byte{byte('0' + n%10)}, b...)
		n /= 10
		if n == 0 {
			return string(b)
		}
	}
}

// start writes src to dir/r.yaml, starts its router and an API server on a
// socket in dir, and stops both at the end of the test.
func start(t testing.TB, src string) (*run.Router, *api.Server, *api.Client, string) {
	t.Helper()
	return startDir(t, t.TempDir(), src)
}

// startDir is start with the config written into dir (where the test put
// the files it names).
func startDir(t testing.TB, dir, src string) (*run.Router, *api.Server, *api.Client, string) {
	t.Helper()
	file := filepath.Join(dir, "r.yaml")
	if err := os.WriteFile(file, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(file)
	if err != nil {
		t.Fatal(err)
	}
	r, err := run.Start(cfg, run.Options{})
	if err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(dir, "api.sock")
	srv, err := api.Listen(r, api.Options{Socket: sock})
	if err != nil {
		r.Stop()
		t.Fatal(err)
	}
	t.Cleanup(func() {
		srv.Close()
		r.Stop()
	})
	return r, srv, api.NewClient(sock), file
}

// udpTo returns a UDP frame from host A to dst through the router.
func udpTo(dst netip.Addr) []byte {
	return dptest.IPv4Frame(lanMAC, hostA, srcAddr, dst, hdr.ProtoUDP, 64, false, dptest.UDP(1000, 9, 18))
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// afterChange returns once r's worker handles what lan0 receives with the
// snapshot published before the call: a worker loads its snapshot once a
// poll, before it receives, so a frame pushed just after a change may be
// handled by a poll that began before it (under load, a worker preempted
// between the two). A probe both snapshots forward is pushed and waited
// for out of wan0: the poll that received it is over, and the next began
// after the change. It takes what wan0 sent.
func afterChange(t *testing.T, r *run.Router) {
	t.Helper()
	lan, wan := r.Port("lan0").(*mem.Queue), r.Port("wan0").(*mem.Queue)
	lan.Push(udpTo(netip.MustParseAddr("198.19.255.254")))
	waitFor(t, "the probe after a change forwarded", func() bool { return len(wan.Take()) > 0 })
}

func TestEndpoints(t *testing.T) {
	r, _, c, _ := start(t, configText("  - {prefix: 203.0.113.0/24, blackhole: true}", "", 1000))
	ctx := context.Background()
	lan, wan := r.Port("lan0").(*mem.Queue), r.Port("wan0").(*mem.Queue)
	for i := 1; i <= 5; i++ {
		lan.Push(udpTo(netip.AddrFrom4([4]byte{198, 18, 0, byte(i)})))
	}
	lan.Push(udpTo(netip.MustParseAddr("203.0.113.9"))) // blackhole: one drop
	var out int
	waitFor(t, "5 frames out", func() bool { out += len(wan.Take()); return out == 5 })
	waitFor(t, "counters published", func() bool { c := r.Counters(); return c.TxPackets[1] == 5 && c.TotalDrops() == 1 })

	ifs, err := c.Interfaces(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(ifs) != 2 || ifs[0].Name != "lan0" || ifs[0].RxPackets != 6 || ifs[1].TxPackets != 5 ||
		ifs[1].MAC != "02:52:00:00:00:02" || ifs[1].MTU != 1500 || ifs[0].Admin != "up" || ifs[0].Link != "up" ||
		len(ifs[1].Addresses) != 1 || ifs[1].Addresses[0] != "10.0.2.1/24" {
		t.Errorf("interfaces: %+v", ifs)
	}

	sum, err := c.RouteSummary(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// 2 configured; own: 2 local /32, 2 subnets /24, 4 broadcast /32, 2 neighbour /32.
	if sum.Total != 12 || sum.Static != 2 {
		t.Errorf("route summary %+v, want total 12, static 2", sum)
	}
	m, err := c.Route(ctx, "198.19.255.1")
	if err != nil {
		t.Fatal(err)
	}
	if want := (api.RouteMatch{Query: "198.19.255.1", Found: true, Prefix: "198.18.0.0/15", Kind: "forward", Interface: "wan0", Via: "10.0.2.2", Static: true, Origin: "static"}); !reflect.DeepEqual(m, want) {
		t.Errorf("match %+v, want %+v", m, want)
	}
	if m, _ := c.Route(ctx, "10.0.2.77"); m.Kind != "connected" || m.Prefix != "10.0.2.0/24" || m.Interface != "wan0" {
		t.Errorf("connected match %+v", m)
	}
	// A prefix: itself if it is a route, else the longest that holds all
	// of it (not the /32 of its network address).
	if m, _ := c.Route(ctx, "10.0.2.0/24"); m.Prefix != "10.0.2.0/24" || m.Kind != "connected" || m.Via != "" {
		t.Errorf("10.0.2.0/24: %+v", m)
	}
	if m, _ := c.Route(ctx, "198.18.4.0/22"); m.Prefix != "198.18.0.0/15" {
		t.Errorf("198.18.4.0/22: %+v", m)
	}
	if m, _ := c.Route(ctx, "198.0.0.0/8"); m.Found {
		t.Errorf("198.0.0.0/8 matched %+v", m)
	}
	if m, _ := c.Route(ctx, "8.8.8.8"); m.Found {
		t.Errorf("8.8.8.8 matched %+v", m)
	}
	if _, err := c.Route(ctx, "not-an-address"); err == nil || !strings.Contains(err.Error(), "not an IPv4 or IPv6 address or prefix") {
		t.Errorf("bad match: %v", err)
	}

	// Route add, seen by the data plane; del; errors.
	if err := c.AddRoute(ctx, api.RouteRequest{Prefix: "192.0.2.0/24", Via: "10.0.2.2"}); err != nil {
		t.Fatal(err)
	}
	afterChange(t, r) // the 7th frame
	lan.Push(udpTo(netip.MustParseAddr("192.0.2.5")))
	waitFor(t, "the frame to the new route", func() bool { return len(wan.Take()) == 1 })
	// The worker publishes its counters after it sends, on its next empty
	// poll: the runtime's stage count below needs that publish (wan0's tx
	// count is stored after the stages' counts).
	waitFor(t, "the frame to the new route counted", func() bool { return r.Counters().TxPackets[1] == 7 })
	if m, _ := c.Route(ctx, "192.0.2.5"); m.Prefix != "192.0.2.0/24" {
		t.Errorf("after add: %+v", m)
	}
	if err := c.DeleteRoute(ctx, "192.0.2.0/24"); err != nil {
		t.Fatal(err)
	}
	if m, _ := c.Route(ctx, "192.0.2.5"); m.Found {
		t.Errorf("after del: %+v", m)
	}
	var ae *api.APIError
	if err := c.DeleteRoute(ctx, "192.0.2.0/24"); !errors.As(err, &ae) || ae.Status != 404 {
		t.Errorf("deleting a missing route: %v", err)
	}
	if err := c.AddRoute(ctx, api.RouteRequest{Prefix: "192.0.2.0/24", Via: "9.9.9.9"}); err == nil || !strings.Contains(err.Error(), "via 9.9.9.9 is on no interface's subnet") {
		t.Errorf("off-subnet gateway: %v", err)
	}
	if err := c.AddRoute(ctx, api.RouteRequest{Prefix: "192.0.2.1/24", Via: "10.0.2.2"}); err == nil || !strings.Contains(err.Error(), "host bits") {
		t.Errorf("host bits: %v", err)
	}

	// Neighbours.
	if err := c.AddNeighbor(ctx, api.NeighborRequest{Interface: "wan0", Address: "10.0.2.3", MAC: "02:bb:00:00:00:03"}); err != nil {
		t.Fatal(err)
	}
	ns, err := c.Neighbors(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(ns) != 3 || ns[2].Address != "10.0.2.3" || ns[2].State != "static" || ns[2].MAC != "02:bb:00:00:00:03" || ns[2].Interface != "wan0" {
		t.Errorf("neighbors %+v", ns)
	}
	if err := c.DeleteNeighbor(ctx, "wan0", "10.0.2.3"); err != nil {
		t.Fatal(err)
	}
	if ns, _ := c.Neighbors(ctx); len(ns) != 2 {
		t.Errorf("after del: %+v", ns)
	}
	if err := c.DeleteNeighbor(ctx, "wan9", "10.0.2.3"); err == nil || !strings.Contains(err.Error(), `no interface "wan9"`) {
		t.Errorf("unknown interface: %v", err)
	}

	rt, err := c.Runtime(ctx)
	if err != nil {
		t.Fatal(err)
	}
	eth := slices.IndexFunc(rt.Stages, func(s api.StageRuntime) bool { return s.Name == "ethernet-input" }) // after early-drop, a device-input feature
	if len(rt.Stages) != int(dp.NumStages) || eth < 0 || rt.Stages[eth].Packets != 8 || len(rt.Workers) != 1 || rt.Workers[0].Polls == 0 {
		t.Errorf("runtime %+v", rt)
	}
	if rt.PollMode != "interrupt" || rt.PollWindowUs != 0 {
		t.Errorf("runtime poll mode %q window %v µs, want the default: interrupt, 0", rt.PollMode, rt.PollWindowUs)
	}
	es, err := c.Errors(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(es.Drops) != int(dp.NumReasons)-1+int(control.NumDrops) || es.Total != 1 {
		t.Errorf("errors: %d reasons, total %d", len(es.Drops), es.Total)
	}
	for _, d := range es.Drops {
		if d.Description == "" {
			t.Errorf("%s/%s has no description", d.Stage, d.Reason)
		}
		if want := uint64(0); d.Stage == "ip4-lookup" && d.Reason == "blackhole" {
			want = 1
			if d.Count != want {
				t.Errorf("blackhole drops %d, want 1", d.Count)
			}
		}
	}

	st, err := c.Status(ctx)
	if err != nil || st.Workers != 1 || st.Interfaces != 2 || st.FIBRoutes != 12 {
		t.Errorf("status %+v %v", st, err)
	}
	if err := c.Do(ctx, "GET", "/v1/nothing", nil, nil); !errors.As(err, &ae) || ae.Status != 404 {
		t.Errorf("unknown endpoint: %v", err)
	}
}

// TestMetrics parses the Prometheus exposition and checks values the
// test caused.
func TestMetrics(t *testing.T) {
	r, _, c, _ := start(t, configText("", "", 1000))
	lan, wan := r.Port("lan0").(*mem.Queue), r.Port("wan0").(*mem.Queue)
	for i := 1; i <= 4; i++ {
		lan.Push(udpTo(netip.AddrFrom4([4]byte{198, 18, 1, byte(i)})))
	}
	lan.Push(udpTo(netip.MustParseAddr("127.0.0.1"))) // martian destination
	var out int
	waitFor(t, "4 frames out", func() bool { out += len(wan.Take()); return out == 4 })
	// Tx bytes too: a worker stores them last when it publishes, after
	// the tx packets this waits for.
	waitFor(t, "counters published", func() bool {
		c := r.Counters()
		return c.TotalDrops() == 1 && c.TxPackets[1] == 4 && c.TxBytes[1] == 4*60
	})
	body, err := c.Metrics(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(bytes.NewReader(body))
	if err != nil {
		t.Fatalf("parse: %v\n%s", err, body)
	}
	value := func(name string, labels map[string]string) float64 {
		t.Helper()
		f := fams[name]
		if f == nil {
			t.Fatalf("no metric %s", name)
		}
	next:
		for _, m := range f.Metric {
			for _, l := range m.Label {
				if v, ok := labels[l.GetName()]; ok && v != l.GetValue() {
					continue next
				}
			}
			if m.Counter != nil {
				return m.Counter.GetValue()
			}
			return m.Gauge.GetValue()
		}
		t.Fatalf("no %s%v", name, labels)
		return 0
	}
	checks := []struct {
		name   string
		labels map[string]string
		want   float64
	}{
		{"softnet_interface_rx_packets_total", map[string]string{"interface": "lan0"}, 5},
		{"softnet_interface_tx_packets_total", map[string]string{"interface": "wan0"}, 4},
		{"softnet_interface_tx_bytes_total", map[string]string{"interface": "wan0"}, 4 * 60},
		{"softnet_interface_up", map[string]string{"interface": "wan0"}, 1},
		{"softnet_stage_packets_total", map[string]string{"stage": "ip4-rewrite"}, 4},
		{"softnet_drops_total", map[string]string{"stage": "ip4-input", "reason": "martian-destination"}, 1},
		{"softnet_drops_total", map[string]string{"stage": "ip4-lookup", "reason": "blackhole"}, 0},
		{"softnet_icmp_errors_sent_total", map[string]string{"kind": "ttl-exceeded"}, 0},
		{"softnet_fib_routes", nil, 11},
		{"softnet_neighbors", map[string]string{"state": "static"}, 2},
	}
	for _, ch := range checks {
		if got := value(ch.name, ch.labels); got != ch.want {
			t.Errorf("%s%v = %v, want %v", ch.name, ch.labels, got, ch.want)
		}
	}
	if n := len(fams["softnet_drops_total"].Metric); n != int(dp.NumReasons)-1+int(control.NumDrops) {
		t.Errorf("%d drop reasons exported, want %d", n, int(dp.NumReasons)-1+int(control.NumDrops))
	}
	if value("softnet_worker_polls_total", map[string]string{"worker": "0"}) == 0 {
		t.Error("worker 0 has no polls")
	}
}

// TestSocket: the socket is private, a second router cannot take it, it
// is removed on Close, a stale one is replaced, and a client with nobody
// listening gets the help message.
func TestSocket(t *testing.T) {
	r, srv, c, _ := start(t, configText("", "", 1000))
	sock := srv.Socket()
	fi, err := os.Stat(sock)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 || fi.Mode()&os.ModeSocket == 0 {
		t.Errorf("socket mode %v, want a socket with 0600", fi.Mode())
	}
	if _, err := api.Listen(r, api.Options{Socket: sock}); err == nil || !strings.Contains(err.Error(), "another softnet router is already listening on "+sock) {
		t.Errorf("second listener: %v", err)
	}
	if _, err := c.Status(context.Background()); err != nil {
		t.Errorf("the first server stopped answering: %v", err)
	}
	srv.Close()
	if _, err := os.Stat(sock); !os.IsNotExist(err) {
		t.Errorf("socket left after Close: %v", err)
	}
	_, err = c.Status(context.Background())
	if want := "no softnet router listening on " + sock + ": start one with softnet run -c FILE, or pass --api"; err == nil || err.Error() != want {
		t.Errorf("no router: %v, want %q", err, want)
	}

	// A stale socket file (its router gone) is replaced.
	stale := filepath.Join(t.TempDir(), "stale.sock")
	s1, err := api.Listen(r, api.Options{Socket: stale})
	if err != nil {
		t.Fatal(err)
	}
	s1.Close()
	if err := os.WriteFile(stale+".x", nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := api.Listen(r, api.Options{Socket: stale + ".x"}); err == nil || !strings.Contains(err.Error(), "is not a socket") {
		t.Errorf("a regular file at the path: %v", err)
	}
	s2, err := api.Listen(r, api.Options{Socket: stale, Metrics: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	// The TCP listener serves /metrics, and nothing of the API.
	base := "http://" + s2.MetricsAddr().String()
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(body), "softnet_fib_routes ") {
		t.Errorf("TCP /metrics: %s\n%.300s", resp.Status, body)
	}
	resp, err = http.Get(base + "/v1/interfaces")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 404 {
		t.Errorf("the API on the metrics port: %s", resp.Status)
	}

}

// TestSocketGroup: with a group the socket is 0660 and owned by it (only
// root may give a file to any group, hence testenv.Root: it skips without
// root and fails under CI=true), and an unknown group is refused by name.
func TestSocketGroup(t *testing.T) {
	testenv.Root(t)
	r, _, _, _ := start(t, configText("", "", 1000))
	grp := filepath.Join(t.TempDir(), "grp.sock")
	s3, err := api.Listen(r, api.Options{Socket: grp, Group: "root"})
	if err != nil {
		t.Fatal(err)
	}
	defer s3.Close()
	fi, err := os.Stat(grp)
	if err != nil {
		t.Fatal(err)
	}
	if st := fi.Sys().(*syscall.Stat_t); fi.Mode().Perm() != 0o660 || st.Gid != 0 {
		t.Errorf("group socket: mode %v gid %d, want 0660 and gid 0", fi.Mode().Perm(), st.Gid)
	}
	if _, err := api.Listen(r, api.Options{Socket: filepath.Join(t.TempDir(), "x.sock"), Group: "no-such-group-softnet"}); err == nil || !strings.Contains(err.Error(), `group "no-such-group-softnet"`) {
		t.Errorf("unknown group: %v", err)
	}
}

// fingerprint is what a reload may change, read through the API.
func fingerprint(t *testing.T, c *api.Client, probes []string) string {
	t.Helper()
	ctx := context.Background()
	var b strings.Builder
	sum, err := c.RouteSummary(ctx)
	if err != nil {
		t.Fatal(err)
	}
	b.WriteString(strings.ReplaceAll(strings.TrimSpace(jsonString(t, sum)), "\n", " "))
	for _, p := range probes {
		m, err := c.Route(ctx, p)
		if err != nil {
			t.Fatal(err)
		}
		b.WriteString("\n" + jsonString(t, m))
	}
	ns, err := c.Neighbors(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range ns {
		n.AgeS = 0
		b.WriteString("\n" + jsonString(t, n))
	}
	ifs, err := c.Interfaces(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, i := range ifs {
		b.WriteString("\n" + i.Name + " " + i.Admin + " " + itoa(i.MTU) + " " + strings.Join(i.Addresses, ","))
	}
	return b.String()
}

// TestBadReload: a config with errors, or one that needs a restart, is
// rejected with the reasons, and nothing changes: same routes, neighbours
// and interfaces, and no snapshot published.
func TestBadReload(t *testing.T) {
	r, _, c, file := start(t, configText("  - {prefix: 192.0.2.0/24, via: 10.0.2.2}", "", 1000))
	probes := []string{"198.18.0.1", "192.0.2.1", "10.0.2.2", "10.0.1.1", "8.8.8.8"}
	before := fingerprint(t, c, probes)
	pub := r.Control().Stats().Publishes
	dir := filepath.Dir(file)

	bad := filepath.Join(dir, "bad.yaml")
	src := configText("  - {prefix: 192.0.2.0/24, via: 10.9.9.9}\n  - {prefix: 198.51.100.0/24, via: 10.0.2.2}", "", 1000)
	os.WriteFile(bad, []byte(src), 0o644)
	_, err := c.Reload(context.Background(), bad)
	var ae *api.APIError
	if !errors.As(err, &ae) || ae.Status != 422 || len(ae.Details) != 1 ||
		!strings.HasPrefix(ae.Details[0], bad+":13:33: routes[1].via: 10.9.9.9 is on no interface's subnet") {
		t.Errorf("bad reload: %v", err)
	}

	restart := filepath.Join(dir, "restart.yaml")
	src = strings.Replace(configText("", "", 1000), "workers: 1", "workers: 2", 1)
	src = strings.Replace(src, "backend: mem\n    mac: 02:52:00:00:00:02", "backend: pcap\n    tx: out.pcap\n    mac: 02:52:00:00:00:02", 1)
	os.WriteFile(restart, []byte(src), 0o644)
	_, err = c.Reload(context.Background(), restart)
	if !errors.As(err, &ae) || len(ae.Details) != 2 || !strings.Contains(ae.Details[0], "workers: changed from 1 to 2: needs a restart") ||
		!strings.Contains(ae.Details[1], "interface wan0: backend changed from mem to pcap: needs a restart") {
		t.Errorf("restart-needing reload: %v", err)
	}
	// One interface more (a VLAN sub-interface, as softnet config save
	// writes one added with softnet vlan add): the message counts the
	// config the router started from, not the interfaces it runs.
	more := filepath.Join(dir, "more.yaml")
	src = strings.Replace(configText("", "", 1000), "    addresses: [10.0.2.1/24]\n", "    addresses: [10.0.2.1/24]\n  - {name: wan0.7, parent: wan0, vlan: 7, addresses: [10.7.0.1/24]}\n", 1)
	os.WriteFile(more, []byte(src), 0o644)
	_, err = c.Reload(context.Background(), more)
	if !errors.As(err, &ae) || len(ae.Details) != 1 || !strings.Contains(ae.Details[0], "interfaces: 3 interfaces, the config the router started from has 2 (VLAN sub-interfaces added with softnet vlan add are not in it, and a reload keeps them)") {
		t.Errorf("a reload with one interface more: %v", err)
	}
	if _, err := c.Reload(context.Background(), filepath.Join(dir, "missing.yaml")); err == nil || !strings.Contains(err.Error(), "cannot read the config") {
		t.Errorf("missing file: %v", err)
	}
	if after := fingerprint(t, c, probes); after != before {
		t.Errorf("a rejected reload changed the router:\nbefore:\n%s\nafter:\n%s", before, after)
	}
	if p := r.Control().Stats().Publishes; p != pub {
		t.Errorf("%d snapshots published by rejected reloads", p-pub)
	}
	if r.Config().File != file {
		t.Errorf("running config is now %s", r.Config().File)
	}
}

// TestReloadUnderLoad reloads a changed config again and again while the
// worker forwards as fast as it can to the routes that did not change:
// every packet to them is delivered, none dropped, and each reload's
// changes (a route removed, one added through a new neighbour, an address
// added, the MTU and ICMP rate changed) are in place after it.
func TestReloadUnderLoad(t *testing.T) {
	a := configText("  - {prefix: 192.0.2.0/24, via: 10.0.2.2}", "", 1000)
	b := configText("  - {prefix: 198.51.100.0/24, via: 10.0.2.3}", "  - {interface: wan0, address: 10.0.2.3, mac: 02:bb:00:00:00:03}", 500)
	b = strings.Replace(b, "addresses: [10.0.2.1/24]", "addresses: [10.0.2.1/24, 10.0.3.1/24]\n    mtu: 1400", 1)
	r, _, c, file := start(t, a)
	lan, wan := r.Port("lan0").(*mem.Queue), r.Port("wan0").(*mem.Queue)

	// Traffic to 64 destinations in the unchanged 198.18.0.0/15, closed
	// loop: a batch more whenever fewer than 1024 are in flight, so the
	// worker never waits and the mem port never discards.
	const dests = 64
	frames := make([][]byte, dests)
	for i := range frames {
		frames[i] = udpTo(netip.AddrFrom4([4]byte{198, 18, byte(i), 1}))
	}
	var stop atomic.Bool
	var pushed, delivered [dests]uint64
	done := make(chan error)
	go func() {
		var inFlight uint64
		count := func() {
			for _, f := range wan.Take() {
				ip := hdr.IPv4(f[hdr.EthernetLen:])
				d := ip.Dst()
				delivered[byte(d>>8)]++ // 198.18.i.1
				inFlight--
			}
		}
		next := 0
		for !stop.Load() {
			count()
			if inFlight < 1024 {
				batch := make([][]byte, 256)
				for i := range batch {
					batch[i] = frames[next%dests]
					pushed[next%dests]++
					next++
				}
				lan.Push(batch...)
				inFlight += 256
			} else {
				time.Sleep(20 * time.Microsecond)
			}
		}
		deadline := time.Now().Add(10 * time.Second)
		for inFlight > 0 && time.Now().Before(deadline) {
			count()
			time.Sleep(time.Millisecond)
		}
		if inFlight > 0 {
			done <- errors.New(itoa(int(inFlight)) + " frames never came out")
			return
		}
		done <- nil
	}()

	ctx := context.Background()
	for i := range 6 {
		src, want := b, "10.0.2.3"
		if i%2 == 1 {
			src, want = a, ""
		}
		if err := os.WriteFile(file, []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
		res, err := c.Reload(ctx, "")
		if err != nil {
			t.Fatalf("reload %d: %v", i, err)
		}
		if res.Changes.RoutesAdded != 1 || res.Changes.RoutesRemoved != 1 || res.Changes.Interfaces != 1 || !res.Changes.ICMP {
			t.Errorf("reload %d changes %+v", i, res.Changes)
		}
		m, _ := c.Route(ctx, "198.51.100.1")
		if m.Via != want {
			t.Errorf("reload %d: 198.51.100.1 via %q, want %q", i, m.Via, want)
		}
		m, _ = c.Route(ctx, "10.0.3.9")
		if (m.Kind == "connected") != (i%2 == 0) {
			t.Errorf("reload %d: 10.0.3.9 is %+v", i, m)
		}
		time.Sleep(50 * time.Millisecond)
	}
	ifs, _ := c.Interfaces(ctx)
	if ifs[1].MTU != 1500 || len(ifs[1].Addresses) != 1 {
		t.Errorf("after reloading config a: %+v", ifs[1])
	}
	stop.Store(true)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	var total uint64
	for i := range dests {
		total += pushed[i]
		if delivered[i] != pushed[i] {
			t.Errorf("198.18.%d.1: %d sent, %d delivered", i, pushed[i], delivered[i])
		}
	}
	// Tx too: a worker publishes its counters field by field, tx after rx.
	waitFor(t, "counters published", func() bool { c := r.Counters(); return c.RxPackets[0] == total && c.TxPackets[1] == total })
	if cnt := r.Counters(); cnt.TotalDrops() != 0 || cnt.TxPackets[1] != total {
		t.Errorf("%d sent, %d out, drops %v", total, cnt.TxPackets[1], cnt.Drops)
	}
	t.Logf("%d packets forwarded across 6 reloads", total)
}

func jsonString(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestTrace follows packets through GET /v1/trace while frames arrive: a
// forwarded one and a blackholed one, each with its stages and fate; of
// two traces at once, one is refused; a trace nobody feeds ends at its
// timeout with what it has.
func TestTrace(t *testing.T) {
	r, _, c, _ := start(t, configText("  - {prefix: 203.0.113.0/24, blackhole: true}", "", 1000))
	ctx := context.Background()
	lan := r.Port("lan0").(*mem.Queue)
	type result struct {
		res api.TraceResult
		err error
	}
	done := make(chan result, 1)
	go func() {
		res, err := c.Trace(ctx, 2, 10*time.Second)
		done <- result{res, err}
	}()
	// Feed pairs (forwarded, blackholed), received together, until the
	// trace has its two packets: the first pair after it is armed.
	var got result
feed:
	for {
		lan.Push(udpTo(netip.MustParseAddr("198.18.0.7")), udpTo(netip.MustParseAddr("203.0.113.9")))
		select {
		case got = <-done:
			break feed
		case <-time.After(20 * time.Millisecond):
		}
	}
	if got.err != nil {
		t.Fatal(got.err)
	}
	res := got.res
	if !res.Complete || res.Requested != 2 || len(res.Packets) != 2 {
		t.Fatalf("trace: %+v", res)
	}
	var text strings.Builder
	if err := tracefmt.WriteTrace(&text, res.Packets); err != nil {
		t.Fatal(err)
	}
	t.Logf("trace:\n%s", text.String())
	fwd, bh := res.Packets[0], res.Packets[1]
	if fwd.Fate != "tx" || len(fwd.Steps) < 5 || fwd.Steps[0].Stage != "ethernet-input" || fwd.Steps[len(fwd.Steps)-1].Stage != "interface-output" {
		t.Errorf("forwarded packet: fate %q, steps %+v", fwd.Fate, fwd.Steps)
	}
	if bh.Fate != "drop" || !strings.Contains(bh.Reason, "blackhole") {
		t.Errorf("blackholed packet: fate %q reason %q", bh.Fate, bh.Reason)
	}
	// Two traces at once with nothing more sent: one is refused (409), the
	// other ends at its timeout, reported, not an error. (On a loaded
	// machine the feed above may still have packets on their way when
	// they start, so the one that times out may have seen some.)
	two := make(chan result, 2)
	for range 2 {
		go func() {
			res, err := c.Trace(ctx, 3, time.Second)
			two <- result{res, err}
		}()
	}
	busy, idle := 0, 0
	for range 2 {
		x := <-two
		var ae *api.APIError
		switch {
		case errors.As(x.err, &ae) && ae.Status == http.StatusConflict:
			busy++
		case x.err == nil && !x.res.Complete && len(x.res.Packets) < 3 && x.res.Error == fmt.Sprintf("%d of 3 packets seen in 1s (timeout)", len(x.res.Packets)):
			idle++
		default:
			t.Errorf("concurrent trace: %+v, %v", x.res, x.err)
		}
	}
	if busy != 1 || idle != 1 {
		t.Errorf("two traces at once: %d refused, %d timed out; want 1 and 1", busy, idle)
	}
	// Bad requests say what to give.
	var ae *api.APIError
	if err := c.Do(ctx, "GET", "/v1/trace?n=0", nil, nil); !errors.As(err, &ae) || ae.Status != http.StatusBadRequest {
		t.Errorf("n=0: %v", err)
	}
}

// TestVLANAddDelete creates a VLAN sub-interface through the API while the
// router runs, gets a tagged ARP request on it answered with a tagged
// reply, deletes it, and then sees the same request dropped as an unknown
// VLAN.
func TestVLANAddDelete(t *testing.T) {
	r, _, c, _ := start(t, configText("", "", 1000))
	ctx := context.Background()
	lan := r.Port("lan0").(*mem.Queue)
	if err := c.AddVLAN(ctx, api.VLANRequest{Name: "v100", Parent: "lan0", VLAN: 100, Addresses: []string{"10.0.100.1/24"}}); err != nil {
		t.Fatal(err)
	}
	var ae *api.APIError
	if err := c.AddVLAN(ctx, api.VLANRequest{Name: "v100b", Parent: "lan0", VLAN: 100}); !errors.As(err, &ae) || ae.Status != http.StatusUnprocessableEntity {
		t.Errorf("a second sub-interface on VLAN 100: %v", err)
	}
	if err := c.AddVLAN(ctx, api.VLANRequest{Name: "bad", Parent: "lan0", VLAN: 101, Addresses: []string{"10.0.300.1/24"}}); !errors.As(err, &ae) || ae.Status != http.StatusBadRequest {
		t.Errorf("a bad address: %v", err)
	}
	afterChange(t, r)
	// A tagged ARP request for 10.0.100.1 from 10.0.100.2.
	arp := dptest.ARPFrame(1, [6]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, hostA, netip.MustParseAddr("10.0.100.2"), [6]byte{}, netip.MustParseAddr("10.0.100.1"))
	tagged := append(append(append([]byte{}, arp[:12]...), 0x81, 0x00, 0x00, 100), arp[12:]...)
	lan.Push(tagged)
	var out [][]byte
	waitFor(t, "the tagged ARP reply", func() bool { out = append(out, lan.Take()...); return len(out) > 0 })
	f := out[0]
	if len(f) < 18 || f[12] != 0x81 || f[13] != 0x00 || int(f[14]&0x0f)<<8|int(f[15]) != 100 || f[16] != 0x08 || f[17] != 0x06 {
		t.Fatalf("reply %x: want an ARP reply tagged VLAN 100", f)
	}
	vs, err := c.VLANs(ctx)
	if err != nil || len(vs) != 1 || vs[0].Name != "v100" || vs[0].VLAN != 100 || len(vs[0].Addresses) != 1 {
		t.Fatalf("vlans: %+v, %v", vs, err)
	}
	if err := c.DeleteVLAN(ctx, "v100"); err != nil {
		t.Fatal(err)
	}
	if vs, _ := c.VLANs(ctx); len(vs) != 0 {
		t.Errorf("vlans after delete: %+v", vs)
	}
	if err := c.DeleteVLAN(ctx, "v100"); !errors.As(err, &ae) || ae.Status != http.StatusUnprocessableEntity {
		t.Errorf("deleting twice: %v", err)
	}
	afterChange(t, r)
	before := r.Counters().Drops[ethernet.VLANUnknown]
	lan.Push(tagged)
	waitFor(t, "the request dropped as vlan-unknown", func() bool { return r.Counters().Drops[ethernet.VLANUnknown] == before+1 })
	if out := lan.Take(); len(out) != 0 {
		t.Errorf("answered on a deleted VLAN: %x", out)
	}
}

// rawDo sends one request over the client's socket (or to base over TCP
// when base starts with http://) and returns the status, the Allow header
// and the body.
func rawDo(t *testing.T, sock, base, method, path string, body io.Reader) (int, string, string) {
	t.Helper()
	hc := http.DefaultClient
	if base == "" {
		base = "http://softnet"
		hc = &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", sock)
		}}}
	}
	req, err := http.NewRequest(method, base+path, body)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header.Get("Allow"), string(b)
}

// TestRequestChecks: a body over the limit is 413 "too large" (not
// "unexpected EOF"), trailing data after the JSON object and a repeated
// query parameter are 400, and a wrong method is 405 with an Allow header
// on the socket and on the TCP metrics listener alike; JSON answers do not
// escape <, > and &.
func TestRequestChecks(t *testing.T) {
	r, srv, _, _ := start(t, configText("", "", 1000))
	sock := srv.Socket()

	big := `{"prefix": "192.0.2.0/24", "via": "10.0.2.2", "x": "` + strings.Repeat("a", 2<<20) + `"}`
	code, _, body := rawDo(t, sock, "", "POST", "/v1/routes", strings.NewReader(big))
	if code != http.StatusRequestEntityTooLarge || !strings.Contains(body, "request body too large (limit 1048576 bytes)") {
		t.Errorf("2 MiB body: %d %s", code, body)
	}
	code, _, body = rawDo(t, sock, "", "POST", "/v1/routes", strings.NewReader(`{"prefix": "192.0.2.0/24", "via": "10.0.2.2"} {"prefix": "x"}`))
	if code != http.StatusBadRequest || !strings.Contains(body, "after the JSON object") {
		t.Errorf("trailing data: %d %s", code, body)
	}
	if m, _ := api.NewClient(sock).Route(context.Background(), "192.0.2.1"); m.Found {
		t.Errorf("the route of a rejected request was added: %+v", m)
	}
	code, _, body = rawDo(t, sock, "", "POST", "/v1/routes", strings.NewReader(`{"prefix": "192.0.2.0/24", "via": "10.0.2.2"}`+"\n\t "))
	if code != http.StatusOK {
		t.Errorf("trailing white space: %d %s", code, body)
	}
	code, _, body = rawDo(t, sock, "", "GET", "/v1/routes?match=10.0.2.1&match=8.8.8.8", nil)
	if code != http.StatusBadRequest || !strings.Contains(body, `query parameter \"match\" given 2 times`) && !strings.Contains(body, `query parameter "match" given 2 times`) {
		t.Errorf("repeated query parameter: %d %s", code, body)
	}
	code, _, body = rawDo(t, sock, "", "GET", "/v1/routes?match=", nil)
	if code != http.StatusBadRequest || !strings.Contains(body, "match: empty: give an address or prefix") {
		t.Errorf("an empty match: %d %s", code, body)
	}
	if _, err := api.NewClient(sock).Route(context.Background(), ""); err == nil || !strings.Contains(err.Error(), "match: empty") {
		t.Errorf("Route(\"\"): %v, want the empty match refused", err)
	}
	code, _, body = rawDo(t, sock, "", "DELETE", "/v1/routes?prefix=192.0.2.0/24&prefix=198.18.0.0/15", nil)
	if code != http.StatusBadRequest {
		t.Errorf("repeated prefix on DELETE: %d %s", code, body)
	}
	for _, tc := range []struct{ method, path, allow string }{
		{"PUT", "/v1/status", "GET, HEAD"},
		{"POST", "/v1/interfaces", "GET, HEAD"},
		{"PUT", "/v1/routes", "DELETE, GET, HEAD, POST"},
		{"POST", "/metrics", "GET, HEAD"},
	} {
		code, allow, body := rawDo(t, sock, "", tc.method, tc.path, nil)
		if code != http.StatusMethodNotAllowed || allow != tc.allow || !strings.Contains(body, `"error"`) {
			t.Errorf("socket %s %s: %d Allow %q %s", tc.method, tc.path, code, allow, body)
		}
	}
	if code, _, _ := rawDo(t, sock, "", "GET", "/v1/nothing", nil); code != http.StatusNotFound {
		t.Errorf("unknown path: %d", code)
	}

	m, err := api.Listen(r, api.Options{Metrics: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	base := "http://" + m.MetricsAddr().String()
	code, allow, body := rawDo(t, "", base, "POST", "/metrics", nil)
	if code != http.StatusMethodNotAllowed || allow != "GET, HEAD" || !strings.Contains(body, `"error"`) {
		t.Errorf("TCP POST /metrics: %d Allow %q %s", code, allow, body)
	}
	if code, _, body := rawDo(t, "", base, "GET", "/v1/interfaces", nil); code != http.StatusNotFound || !strings.Contains(body, `"error"`) {
		t.Errorf("TCP GET /v1/interfaces: %d %s", code, body)
	}

	// <, > and & are written as they are.
	var b bytes.Buffer
	rec := &recorder{h: http.Header{}, b: &b}
	api.JSON(rec, 200, map[string]string{"e": "a <b> & c"})
	if !strings.Contains(b.String(), `"a <b> & c"`) {
		t.Errorf("JSON escaped: %s", b.String())
	}
}

type recorder struct {
	h http.Header
	b *bytes.Buffer
}

func (r *recorder) Header() http.Header         { return r.h }
func (r *recorder) Write(p []byte) (int, error) { return r.b.Write(p) }
func (r *recorder) WriteHeader(int)             {}
