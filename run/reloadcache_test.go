package run

import (
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// TestReloadReusesUnchangedRouteFile (issue 16, the soak's slow reloads):
// a reload whose route file did not change does not parse it again: it
// allocates far less than one object per prefix (parsing and checking
// does several per line: a full table's reload took ~2 s of CPU for that
// alone, and an API client waited for it). A file whose content changes,
// even to the same size, is read again, and so is one whose prefixes the
// new interface addresses make the router's own (the reload is refused,
// pointing at the route file).
func TestReloadReusesUnchangedRouteFile(t *testing.T) {
	const n = 40000
	dir := t.TempDir()
	table := filepath.Join(dir, "table.txt")
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, "100.%d.%d.0/24\n", 64+i>>8, i&255)
	}
	if err := os.WriteFile(table, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	src := strings.Replace(fmt.Sprintf(twoPort, 1, "mem", "mem"), "routes:\n  - {prefix: 198.18.0.0/15, via: 10.0.2.2}\n",
		"route_files:\n  - {path: table.txt, via: 10.0.2.2}\n", 1)
	r, err := Start(writeConfig(t, dir, src), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Stop()
	if _, err := r.Reload(""); err != nil { // the first reload reads it
		t.Fatal(err)
	}
	mallocs := uint64(1 << 62)
	for range 2 { // the lower of two: a collection or a timer meanwhile is not the reload's
		var m0, m1 runtime.MemStats
		runtime.ReadMemStats(&m0)
		res, err := r.Reload("")
		runtime.ReadMemStats(&m1)
		if err != nil {
			t.Fatal(err)
		}
		if c := res.Changes; c.RoutesAdded+c.RoutesChanged+c.RoutesRemoved != 0 {
			t.Fatalf("reload of the same config changed routes: %+v", c)
		}
		mallocs = min(mallocs, m1.Mallocs-m0.Mallocs)
	}
	if mallocs > n/4 {
		t.Errorf("a reload with the %d-prefix route file unchanged made %d allocations: it parsed the file again (want under %d)", n, mallocs, n/4)
	}
	if r.Routes() != n {
		t.Errorf("routes %d, want %d", r.Routes(), n)
	}

	// The same size, another prefix: read again.
	s := strings.Replace(b.String(), "100.64.0.0/24\n", "100.99.0.0/24\n", 1)
	if err := os.WriteFile(table, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Reload(""); err != nil {
		t.Fatal(err)
	}
	if m, ok := r.Control().Lookup(netip.MustParseAddr("100.99.0.1")); !ok || m.Prefix != netip.MustParsePrefix("100.99.0.0/24") {
		t.Errorf("after the route file changed (same size): 100.99.0.1 goes %+v %v, want the new 100.99.0.0/24", m, ok)
	}
	if m, ok := r.Control().Lookup(netip.MustParseAddr("100.64.0.1")); ok {
		t.Errorf("after the route file changed (same size): 100.64.0.1 still goes %+v, its prefix left the file", m)
	}

	// The file unchanged, but lan0 now on one of its prefixes: refused,
	// pointing at the route file, as a first read would be.
	src2 := strings.Replace(src, "addresses: [10.0.1.1/24]", "addresses: [10.0.1.1/24, 100.65.0.1/24]", 1)
	if err := os.WriteFile(filepath.Join(dir, "r.yaml"), []byte(src2), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Reload(""); err == nil || !strings.Contains(err.Error(), "table.txt") {
		t.Errorf("reload with lan0 on 100.65.0.0/24, a prefix of the unchanged route file: %v, want an error at the route file", err)
	}
}
