package linuxcp

import (
	"net/netip"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/softnet/softnet/control"
)

// fakeSource is a kernel in memory: Dump returns its links and routes,
// Read hands out what the test pushes, or an overflow.
type fakeSource struct {
	mu     sync.Mutex
	links  []Link
	routes map[key]Route
	dumps  int
	ch     chan fakeRead
	closed chan struct{}
	once   sync.Once
}

type fakeRead struct {
	evs []Event
	err error
}

func newFake() *fakeSource {
	return &fakeSource{routes: map[key]Route{}, ch: make(chan fakeRead, 100), closed: make(chan struct{})}
}

func (f *fakeSource) Dump() ([]Link, []Route, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.dumps++
	var rs []Route
	for _, r := range f.routes {
		rs = append(rs, r)
	}
	return slices.Clone(f.links), rs, nil
}

func (f *fakeSource) Read() ([]Event, error) {
	select {
	case r := <-f.ch:
		return r.evs, r.err
	case <-f.closed:
		return nil, ErrClosed
	}
}

func (f *fakeSource) Close() error { f.once.Do(func() { close(f.closed) }); return nil }

// set changes the fake kernel's route without telling (as a lost
// notification would).
func (f *fakeSource) set(r Route) {
	f.mu.Lock()
	f.routes[key{r.Prefix, r.Table, r.Metric}] = r
	f.mu.Unlock()
}

func (f *fakeSource) del(p netip.Prefix) {
	f.mu.Lock()
	delete(f.routes, key{p, 254, 0})
	f.mu.Unlock()
}

// fakeRouter records every ApplyKernel call.
type fakeRouter struct {
	mu     sync.Mutex
	calls  []call
	routes map[netip.Prefix]control.KernelRoute
}

type call struct {
	set []control.KernelRoute
	del []netip.Prefix
}

func (r *fakeRouter) ApplyKernel(set []control.KernelRoute, del []netip.Prefix) control.KernelResult {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls = append(r.calls, call{slices.Clone(set), slices.Clone(del)})
	for _, p := range del {
		delete(r.routes, p)
	}
	for _, k := range set {
		r.routes[k.Prefix] = k
	}
	return control.KernelResult{Added: len(set), Deleted: len(del)}
}

func (r *fakeRouter) InterfaceIndex(name string) int {
	switch name {
	case "wan0":
		return 0
	case "wan1":
		return 1
	}
	return -1
}

func (r *fakeRouter) ncalls() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.calls)
}

func (r *fakeRouter) last() call {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.calls[len(r.calls)-1]
}

func (r *fakeRouter) get(p netip.Prefix) (control.KernelRoute, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	k, ok := r.routes[p]
	return k, ok
}

var (
	gwA = netip.MustParseAddr("10.0.1.2")
	gwB = netip.MustParseAddr("10.0.2.2")
)

func pfx(i int) netip.Prefix {
	return netip.PrefixFrom(netip.AddrFrom4([4]byte{198, 18, byte(i >> 8), byte(i)}), 32)
}

func bgp(p netip.Prefix, hops ...Hop) Route {
	return Route{Prefix: p, Table: 254, Proto: 186, Hops: hops}
}

func start(t *testing.T, f *fakeSource) (*Mirror, *fakeRouter) {
	t.Helper()
	f.links = []Link{{Index: 2, Name: "wan0", Up: true}, {Index: 3, Name: "wan1", Up: true}, {Index: 9, Name: "mgmt", Up: true}}
	r := &fakeRouter{routes: map[netip.Prefix]control.KernelRoute{}}
	m := New(f, r, Options{})
	if err := m.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	return m, r
}

// waitFor polls cond with a generous deadline.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for end := time.Now().Add(10 * time.Second); time.Now().Before(end); time.Sleep(2 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatalf("timed out waiting for %s", what)
}

// TestMirrorStartDumpsOnce: the first dump installs every mirrored route
// of the main table in one ApplyKernel, leaving out other tables, link
// local prefixes and next hops on interfaces softnet does not have.
func TestMirrorStartDumpsOnce(t *testing.T) {
	f := newFake()
	f.set(bgp(pfx(1), Hop{Link: 2, Via: gwA, Weight: 1}))
	f.set(bgp(pfx(2), Hop{Link: 2, Via: gwA, Weight: 1}, Hop{Link: 3, Via: gwB, Weight: 2}))
	f.set(bgp(pfx(3), Hop{Link: 9, Via: netip.MustParseAddr("192.168.9.1")})) // mgmt: not softnet's
	f.set(Route{Prefix: pfx(4), Table: 100, Hops: []Hop{{Link: 2, Via: gwA}}})
	f.set(Route{Prefix: netip.MustParsePrefix("fe80::/64"), Table: 254, Proto: 2, Hops: []Hop{{Link: 2}}})
	f.set(Route{Prefix: pfx(5), Table: 254, Proto: 3, Blackhole: true})
	m, r := start(t, f)
	if r.ncalls() != 1 {
		t.Fatalf("%d ApplyKernel calls at start, want 1", r.ncalls())
	}
	c := r.last()
	if len(c.set) != 3 || len(c.del) != 0 {
		t.Fatalf("start applied %+v, want 3 routes set", c)
	}
	k, _ := r.get(pfx(2))
	if k.Proto != "bgp" || len(k.NextHops) != 2 || k.NextHops[1] != (control.NextHop{Iface: 1, Via: gwB, Weight: 2}) {
		t.Fatalf("multipath route %+v", k)
	}
	if k, ok := r.get(pfx(5)); !ok || len(k.NextHops) != 0 || k.Proto != "boot" {
		t.Fatalf("blackhole route %+v %v", k, ok)
	}
	if s := m.Stats(); !s.Synced || s.Resyncs != 1 || s.Routes != 3 {
		t.Fatalf("stats %+v", s)
	}
}

// TestMirrorBatches: notifications read while the applier is busy are
// applied together, one ApplyKernel per batch, and only the last state of
// a prefix counts.
func TestMirrorBatches(t *testing.T) {
	f := newFake()
	_, r := start(t, f)
	var evs []Event
	for i := range 1000 {
		evs = append(evs, Event{Kind: RouteAdd, Route: bgp(pfx(i), Hop{Link: 2, Via: gwA})})
	}
	evs = append(evs, Event{Kind: RouteDel, Route: bgp(pfx(7), Hop{Link: 2, Via: gwA})})
	evs = append(evs, Event{Kind: RouteAdd, Route: bgp(pfx(8), Hop{Link: 3, Via: gwB})})
	f.ch <- fakeRead{evs: evs}
	waitFor(t, "the batch", func() bool { return r.ncalls() >= 1 })
	time.Sleep(50 * time.Millisecond) // a second call would come now
	if n := r.ncalls(); n != 1 {
		t.Fatalf("%d ApplyKernel calls, want 1 (the empty dump applies nothing, then one batch)", n)
	}
	c := r.last()
	if len(c.set) != 999 || len(c.del) != 0 {
		t.Fatalf("batch set %d deleted %d, want 999 and 0", len(c.set), len(c.del))
	}
	if k, _ := r.get(pfx(8)); k.NextHops[0].Iface != 1 {
		t.Fatalf("prefix 8: %+v, want its last state (via wan1)", k)
	}
	if _, ok := r.get(pfx(7)); ok {
		t.Fatal("prefix 7 was deleted in the batch, yet installed")
	}
}

// TestMirrorResyncMarkAndSweep: after an overflow the mirror dumps the
// kernel and changes only what differs: a route the kernel lost is
// deleted, a changed one set, a new one added, and the unchanged ones are
// not in the call at all.
func TestMirrorResyncMarkAndSweep(t *testing.T) {
	f := newFake()
	for i := range 100 {
		f.set(bgp(pfx(i), Hop{Link: 2, Via: gwA}))
	}
	m, r := start(t, f)
	// Changes the mirror is never told of.
	f.del(pfx(10))
	f.set(bgp(pfx(20), Hop{Link: 2, Via: gwA}, Hop{Link: 3, Via: gwB}))
	f.set(bgp(pfx(500), Hop{Link: 3, Via: gwB}))
	f.ch <- fakeRead{err: ErrOverflow}
	waitFor(t, "the resync", func() bool { return r.ncalls() >= 2 })
	// The resync is counted after its ApplyKernel returns (the call is
	// recorded first): wait for the count before reading the stats.
	waitFor(t, "the resync counted", func() bool { return m.Stats().Resyncs == 2 })
	c := r.last()
	if !slices.Equal(c.del, []netip.Prefix{pfx(10)}) {
		t.Fatalf("resync deleted %v, want only %v", c.del, pfx(10))
	}
	var set []netip.Prefix
	for _, k := range c.set {
		set = append(set, k.Prefix)
	}
	slices.SortFunc(set, func(a, b netip.Prefix) int { return a.Addr().Compare(b.Addr()) })
	if !slices.Equal(set, []netip.Prefix{pfx(20), pfx(500)}) {
		t.Fatalf("resync set %v, want only %v and %v: unchanged routes must not be touched", set, pfx(20), pfx(500))
	}
	if s := m.Stats(); s.Overflows != 1 || s.Resyncs != 2 || s.Routes != 100 {
		t.Fatalf("stats %+v", s)
	}
	// A resync with nothing changed applies nothing.
	f.ch <- fakeRead{err: ErrOverflow}
	waitFor(t, "the second resync", func() bool { return m.Stats().Resyncs == 3 })
	if n := r.ncalls(); n != 2 {
		t.Fatalf("%d ApplyKernel calls after a resync that found nothing changed, want 2", n)
	}
}

// TestMirrorLinkDownDropsNextHop: a link going down takes its next hops
// out of their routes at once (a route left with none is deleted), and
// back when it is up, though the kernel sent no route notification.
func TestMirrorLinkDownDropsNextHop(t *testing.T) {
	f := newFake()
	f.set(bgp(pfx(1), Hop{Link: 2, Via: gwA}, Hop{Link: 3, Via: gwB}))
	f.set(bgp(pfx(2), Hop{Link: 3, Via: gwB}))
	_, r := start(t, f)
	f.ch <- fakeRead{evs: []Event{{Kind: LinkSet, Link: Link{Index: 3, Name: "wan1", Up: false}}}}
	waitFor(t, "the link change", func() bool { return r.ncalls() >= 2 })
	c := r.last()
	if len(c.set) != 1 || len(c.set[0].NextHops) != 1 || c.set[0].NextHops[0].Iface != 0 || !slices.Equal(c.del, []netip.Prefix{pfx(2)}) {
		t.Fatalf("wan1 down: applied %+v, want %v via wan0 only and %v deleted", c, pfx(1), pfx(2))
	}
	f.ch <- fakeRead{evs: []Event{{Kind: LinkSet, Link: Link{Index: 3, Name: "wan1", Up: true}}}}
	waitFor(t, "the link back", func() bool { return r.ncalls() >= 3 })
	if k, _ := r.get(pfx(1)); len(k.NextHops) != 2 {
		t.Fatalf("wan1 up: %v has %+v, want both next hops back", pfx(1), k)
	}
	if _, ok := r.get(pfx(2)); !ok {
		t.Fatalf("wan1 up: %v not back", pfx(2))
	}
}

// recycleFake is a fakeSource that takes back what it read (Recycler).
type recycleFake struct {
	*fakeSource
	back chan []Event
}

func (f recycleFake) Recycle(evs []Event) { f.back <- evs }

// TestMirrorRecyclesReads: the applier applies the slices the source
// read as they are (not copied into one batch), a batch cut at MaxBatch
// inside a slice, the last state of a prefix winning across slices; and
// gives every slice back to a Recycler once applied, to be read into
// again. It copied every event (296 bytes) into a batch, and the reader
// allocated a new slice for each read: a million events in a full
// table's burst, written, copied and collected.
func TestMirrorRecyclesReads(t *testing.T) {
	f := recycleFake{newFake(), make(chan []Event, 10)}
	f.links = []Link{{Index: 2, Name: "wan0", Up: true}, {Index: 3, Name: "wan1", Up: true}}
	r := &fakeRouter{routes: map[netip.Prefix]control.KernelRoute{}}
	m := New(f, r, Options{MaxBatch: 7})
	if err := m.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	var reads [][]Event
	for j := range 3 {
		var evs []Event
		for i := range 10 {
			evs = append(evs, Event{Kind: RouteAdd, Route: bgp(pfx(j*10+i), Hop{Link: 2, Via: gwA})})
		}
		if j == 2 { // prefix 3 again, through wan1 now; prefix 4 deleted
			evs = append(evs, Event{Kind: RouteAdd, Route: bgp(pfx(3), Hop{Link: 3, Via: gwB})},
				Event{Kind: RouteDel, Route: bgp(pfx(4), Hop{Link: 2, Via: gwA})})
		}
		reads = append(reads, evs)
		f.ch <- fakeRead{evs: evs}
	}
	for range reads {
		select {
		case evs := <-f.back:
			if !slices.ContainsFunc(reads, func(x []Event) bool { return &x[0] == &evs[:1][0] }) {
				t.Fatalf("recycled a slice (%d events) that was not read", len(evs))
			}
		case <-time.After(10 * time.Second):
			t.Fatal("the applier did not give the reads back")
		}
	}
	waitFor(t, "the routes", func() bool { return m.Stats().Routes == 29 })
	if k, _ := r.get(pfx(3)); len(k.NextHops) != 1 || k.NextHops[0].Iface != 1 {
		t.Fatalf("prefix 3: %+v, want its last state (via wan1)", k)
	}
	if _, ok := r.get(pfx(4)); ok {
		t.Fatal("prefix 4 was deleted, yet installed")
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for i, c := range r.calls {
		if len(c.set)+len(c.del) > 7 {
			t.Errorf("ApplyKernel call %d: %d routes, want at most MaxBatch (7)", i, len(c.set)+len(c.del))
		}
	}
}
