package run

import (
	"net/netip"
	"os"
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
