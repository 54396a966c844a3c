package linuxcp

import (
	"net/netip"
	"runtime"
	"testing"

	"github.com/softnet/softnet/control"
)

// nopRouter takes every route and keeps nothing.
type nopRouter struct{}

func (nopRouter) ApplyKernel(set []control.KernelRoute, del []netip.Prefix) control.KernelResult {
	return control.KernelResult{Added: len(set), Deleted: len(del)}
}
func (nopRouter) InterfaceIndex(string) int { return 0 }

// TestApplyAllocsPerRoute: a batch of new routes through one gateway
// costs the mirror next to no allocation a route: not a key list per
// prefix beside the route map, nor a new touched map and new set and
// delete lists grown from nothing every batch, nor a next hop list for
// each route (routes through the same next hop share one).
func TestApplyAllocsPerRoute(t *testing.T) {
	f := newFake()
	f.links = []Link{{Index: 2, Name: "wan0", Up: true}}
	m := New(f, nopRouter{}, Options{})
	if err := m.resync(); err != nil {
		t.Fatal(err)
	}
	const n = 20000
	hops := []Hop{{Link: 2, Via: netip.MustParseAddr("10.0.1.2"), Weight: 1}}
	batches := make([][]Event, 3)
	for b := range batches {
		for i := range n {
			p := netip.PrefixFrom(netip.AddrFrom4([4]byte{byte(100 + b), byte(i >> 8), byte(i), 0}), 24)
			batches[b] = append(batches[b], Event{Kind: RouteAdd, Route: Route{Prefix: p, Table: 254, Proto: 186, Hops: hops}})
		}
	}
	// The first batch grows the maps; the next two are measured.
	m.apply(batches[0])
	k := 1
	a := testing.AllocsPerRun(1, func() {
		m.apply(batches[k])
		k++
	}) / n
	if got := m.v.given; got != 3*n {
		t.Fatalf("%d routes given to softnet, want %d", got, 3*n)
	}
	t.Logf("%.2f allocations a route", a)
	if a > 0.3 {
		t.Errorf("%.2f allocations a new route, want at most 0.3", a)
	}
}

// TestApplyBytesPerRoute: mirroring a burst of new routes from nothing
// costs the mirror some 400 bytes of memory a route, its view of
// a prefix one entry in a slab and one 24-byte slot in a map holding no
// pointers (view.go). It was three maps keyed by netip.Prefix (the
// kernel's routes, what softnet was given, the batch's prefixes), 150-
// and 100-byte slots moved each time a map grew: 1,233 bytes a
// route, that the applier wrote, the garbage collector scanned, and the
// DRAM served a million times in a full table's burst.
func TestApplyBytesPerRoute(t *testing.T) {
	f := newFake()
	f.links = []Link{{Index: 2, Name: "wan0", Up: true}}
	m := New(f, nopRouter{}, Options{})
	if err := m.resync(); err != nil {
		t.Fatal(err)
	}
	const n = 1 << 18
	hops := []Hop{{Link: 2, Via: netip.MustParseAddr("10.0.1.2"), Weight: 1}}
	evs := make([]Event, n)
	for i := range evs {
		p := netip.PrefixFrom(netip.AddrFrom4([4]byte{byte(1 + i>>16), byte(i >> 8), byte(i), 0}), 24)
		evs[i] = Event{Kind: RouteAdd, Route: Route{Prefix: p, Table: 254, Proto: 186, Hops: hops}}
	}
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for i := 0; i < n; i += m.o.MaxBatch {
		m.apply(evs[i:min(i+m.o.MaxBatch, n)])
	}
	runtime.ReadMemStats(&after)
	if st := m.Stats(); st.Routes != n {
		t.Fatalf("%d routes mirrored, want %d", st.Routes, n)
	}
	b := float64(after.TotalAlloc-before.TotalAlloc) / n
	t.Logf("%.0f bytes allocated a route", b)
	if b > 600 {
		t.Errorf("%.0f bytes allocated a new route, want at most 600", b)
	}
}
