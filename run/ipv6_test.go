package run

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/softnet/softnet/dp/tracefmt"
	"github.com/softnet/softnet/port/mem"
)

// TestIPv6RoutesFromConfig: a config file's IPv6 routes are installed at
// start, and a reload makes them the new file's: a route whose next hop
// changed is changed, a new one added, one left out removed (also one
// added at run time, with a warning), the IPv4 routes untouched.
func TestIPv6RoutesFromConfig(t *testing.T) {
	dir := t.TempDir()
	src := strings.Replace(vlanConfig, "addresses: [10.0.2.1/24]", "addresses: [10.0.2.1/24, 2001:db8:2::1/64]", 1)
	src = strings.Replace(src, "routes:\n", "routes:\n  - {prefix: 2001:db8:100::/48, via: 2001:db8:2::2}\n  - {prefix: 2001:db8:200::/48, blackhole: true}\n", 1)
	file := writeConfig(t, dir, src)
	r, err := Start(file, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Stop()
	routes := func() map[netip.Prefix]netip.Addr {
		st := r.Control().RunningState()
		m := map[netip.Prefix]netip.Addr{}
		for i, p := range st.Routes6 {
			m[p] = st.Via6[i]
		}
		return m
	}
	p100, p200, p300, p400 := netip.MustParsePrefix("2001:db8:100::/48"), netip.MustParsePrefix("2001:db8:200::/48"), netip.MustParsePrefix("2001:db8:300::/48"), netip.MustParsePrefix("2001:db8:400::/48")
	gw2, gw3 := netip.MustParseAddr("2001:db8:2::2"), netip.MustParseAddr("2001:db8:2::3")
	if got := routes(); len(got) != 2 || got[p100] != gw2 || got[p200].IsValid() {
		t.Fatalf("IPv6 routes at start %v, want %v via %v and %v blackhole", got, p100, gw2, p200)
	}
	if err := r.Control().AddRoute(p400, gw2); err != nil {
		t.Fatal(err)
	}
	src = strings.Replace(src, "{prefix: 2001:db8:100::/48, via: 2001:db8:2::2}", "{prefix: 2001:db8:100::/48, via: 2001:db8:2::3}", 1)
	src = strings.Replace(src, "{prefix: 2001:db8:200::/48, blackhole: true}", "{prefix: 2001:db8:300::/48, via: 2001:db8:2::2}", 1)
	if err := os.WriteFile(file.File, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	res, err := r.Reload("")
	if err != nil {
		t.Fatalf("reload: %v", err)
	}
	if got := routes(); len(got) != 2 || got[p100] != gw3 || got[p300] != gw2 {
		t.Errorf("IPv6 routes after reload %v, want %v via %v and %v via %v", got, p100, gw3, p300, gw2)
	}
	c := res.Changes
	if c.RoutesAdded != 1 || c.RoutesChanged != 1 || c.RoutesRemoved != 2 {
		t.Errorf("changes %+v, want 1 added, 1 changed, 2 removed (IPv6; the IPv4 route is the same)", c)
	}
	if w := strings.Join(res.Warnings, "\n"); !strings.Contains(w, "route 2001:db8:400::/48 removed: it was added at run time") || strings.Contains(w, "2001:db8:200::") {
		t.Errorf("warnings %q, want one for the run-time route %v only", res.Warnings, p400)
	}
	if !r.Control().Static(netip.MustParsePrefix("198.18.0.0/15")) {
		t.Errorf("the IPv4 route is gone after the reload")
	}
}

// TestRouteFileBothFamilies: a route file with via6 routes its IPv6
// prefixes through that next hop, at start and on reload (a prefix
// added to the file and one taken out), with no warning about run-time
// routes; config save keeps them in the route file rather than writing
// them as routes.
func TestRouteFileBothFamilies(t *testing.T) {
	dir := t.TempDir()
	table := filepath.Join(dir, "table.txt")
	if err := os.WriteFile(table, []byte("198.18.0.0/24\n2001:db8:100::/48\n203.0.113.0/24\n2001:db8:200::/40\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	src := strings.Replace(fmt.Sprintf(twoPort, 1, "mem", "mem"), "routes:\n  - {prefix: 198.18.0.0/15, via: 10.0.2.2}\n",
		"route_files:\n  - {path: table.txt, via: 10.0.2.2, via6: 2001:db8:2::2}\n", 1)
	src = strings.Replace(src, "addresses: [10.0.2.1/24]", "addresses: [10.0.2.1/24, 2001:db8:2::1/64]", 1)
	r, err := Start(writeConfig(t, dir, src), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Stop()
	gw := netip.MustParseAddr("2001:db8:2::2")
	routes6 := func() map[netip.Prefix]netip.Addr {
		st := r.Control().RunningState()
		m := map[netip.Prefix]netip.Addr{}
		for i, p := range st.Routes6 {
			m[p] = st.Via6[i]
		}
		return m
	}
	p100, p200, p300 := netip.MustParsePrefix("2001:db8:100::/48"), netip.MustParsePrefix("2001:db8:200::/40"), netip.MustParsePrefix("2001:db8:300::/48")
	if got := routes6(); len(got) != 2 || got[p100] != gw || got[p200] != gw {
		t.Fatalf("IPv6 routes of the route file at start: %v, want %v and %v via %v", got, p100, p200, gw)
	}
	if r.Routes() != 4 {
		t.Errorf("routes %d, want 4 (2 IPv4, 2 IPv6)", r.Routes())
	}
	if m, ok := r.Control().Lookup(netip.MustParseAddr("2001:db8:100::1")); !ok || m.Prefix != p100 || m.Via != gw {
		t.Errorf("Lookup 2001:db8:100::1: %+v %v", m, ok)
	}
	if err := os.WriteFile(table, []byte("198.18.0.0/24\n2001:db8:100::/48\n203.0.113.0/24\n2001:db8:300::/48\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	res, err := r.Reload("")
	if err != nil {
		t.Fatalf("reload: %v", err)
	}
	if got := routes6(); len(got) != 2 || got[p100] != gw || got[p300] != gw {
		t.Errorf("IPv6 routes after reload: %v, want %v and %v via %v", got, p100, p300, gw)
	}
	if c := res.Changes; c.RoutesAdded != 1 || c.RoutesRemoved != 1 || c.RoutesChanged != 0 {
		t.Errorf("reload changes %+v, want 1 added, 1 removed", c)
	}
	if len(res.Warnings) != 0 {
		t.Errorf("reload warnings %q, want none", res.Warnings)
	}
	saved, err := r.RunningConfig()
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(saved.YAML, "2001:db8:100::") || !strings.Contains(saved.YAML, "via6: 2001:db8:2::2") {
		t.Errorf("config save wrote the route file's IPv6 routes or lost its via6:\n%s", saved.YAML)
	}
}

// TestRouteFileVia6Reload: via6 added to a route file by a reload routes
// its IPv6 prefixes, although the file did not change (the reload's
// route-file cache must not hand back the table read without them), and
// taking it away again removes them.
func TestRouteFileVia6Reload(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "table.txt"), []byte("198.18.0.0/24\n2001:db8:100::/48\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	src := strings.Replace(fmt.Sprintf(twoPort, 1, "mem", "mem"), "routes:\n  - {prefix: 198.18.0.0/15, via: 10.0.2.2}\n",
		"route_files:\n  - {path: table.txt, via: 10.0.2.2}\n", 1)
	src = strings.Replace(src, "addresses: [10.0.2.1/24]", "addresses: [10.0.2.1/24, 2001:db8:2::1/64]", 1)
	file := writeConfig(t, dir, src)
	r, err := Start(file, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Stop()
	for i, want := range []int{1, 0} {
		s := src
		if want == 1 {
			s = strings.Replace(src, "via: 10.0.2.2}", "via: 10.0.2.2, via6: 2001:db8:2::2}", 1)
		}
		if err := os.WriteFile(file.File, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := r.Reload(""); err != nil {
			t.Fatalf("reload %d: %v", i, err)
		}
		if n := len(r.Control().RunningState().Routes6); n != want {
			t.Errorf("reload %d: %d IPv6 routes, want %d", i, n, want)
		}
	}
}

// TestIPv6DropsAndTrace: an IPv6 packet ip6-input drops is counted
// under its own reason in Drops (softnet show errors, and the metrics'
// drops_total, which list the same reasons), and a trace of it shows its
// IPv6 addresses and the reason.
func TestIPv6DropsAndTrace(t *testing.T) {
	src := strings.Replace(fmt.Sprintf(twoPort, 1, "mem", "mem"), "addresses: [10.0.1.1/24]", "addresses: [10.0.1.1/24, 2001:db8:1::1/64]", 1)
	r, err := Start(writeConfig(t, t.TempDir(), src), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Stop()
	f := make([]byte, 14+40+8)
	copy(f, []byte{0x02, 0x52, 0, 0, 0, 0x01, 0x02, 0xaa, 0, 0, 0, 0x02, 0x86, 0xdd})
	ip := f[14:]
	ip[0] = 0x40 // version 4 in an IPv6 frame: ip6-input/bad-version
	ip[5], ip[6], ip[7] = 8, 17, 64
	a, b := netip.MustParseAddr("2001:db8:1::2").As16(), netip.MustParseAddr("2001:db8:100::5").As16()
	copy(ip[8:], a[:])
	copy(ip[24:], b[:])
	type result struct {
		pkts []tracefmt.TracePacket
		err  error
	}
	done := make(chan result, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		p, err := r.Trace(ctx, 1)
		done <- result{p, err}
	}()
	waitFor(t, "the trace to arm", r.tracer.Running)
	r.Port("lan0").(*mem.Queue).Push(f)
	res := <-done
	if res.err != nil || len(res.pkts) != 1 {
		t.Fatalf("trace: %d packets, %v", len(res.pkts), res.err)
	}
	if p := res.pkts[0]; !strings.Contains(p.Summary, "ipv6 2001:db8:1::2 > 2001:db8:100::5") || p.Reason != "ip6-input/bad-version" {
		t.Errorf("traced: summary %q reason %q", p.Summary, p.Reason)
	}
	var n uint64
	waitFor(t, "the drop counted", func() bool {
		for _, d := range r.Drops() {
			if d.Stage == "ip6-input" && d.Reason == "bad-version" {
				n = d.Count
			}
		}
		return n == 1
	})
}
