package run

import (
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
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
