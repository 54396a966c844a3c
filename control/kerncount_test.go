package control_test

import (
	"net/netip"
	"reflect"
	"testing"
	"time"

	"github.com/softnet/softnet/control"
	"github.com/softnet/softnet/internal/testenv"
)

// TestKernelRoutesCountsWithoutTheLock: KernelRoutes (the API's GET
// /v1/linuxcp, polled every 50 ms while linux_cp applies a full table)
// answers while the router's lock is held, as during a batch of 65,536
// routes, and its counts follow adds, shadowing, replacing and deletes. It
// walked every kernel route under the lock: with a million routes that
// was a quarter of softnet's CPU during the burst, and the batch waited
// for it.
func TestKernelRoutesCountsWithoutTheLock(t *testing.T) {
	r := kernelRouter(t)
	var set []control.KernelRoute
	for i := range 1000 {
		set = append(set, control.KernelRoute{Prefix: netip.PrefixFrom(netip.AddrFrom4([4]byte{198, 18, byte(i >> 8), byte(i)}), 32), Proto: "bgp",
			NextHops: []control.NextHop{{Iface: 0, Via: kgwA}}})
	}
	set = append(set, control.KernelRoute{Prefix: netip.MustParsePrefix("10.0.2.0/24"), Proto: "kernel", NextHops: []control.NextHop{{Iface: 1}}}) // shadowed
	r.ApplyKernel(set, nil)
	check := func(wantIn, wantSh int) {
		t.Helper()
		unlock := r.LockForTest()
		done := make(chan [2]int, 1)
		go func() { in, sh := r.KernelRoutes(); done <- [2]int{in, sh} }()
		select {
		case got := <-done:
			unlock()
			if got != [2]int{wantIn, wantSh} {
				t.Fatalf("KernelRoutes %d installed, %d shadowed; want %d, %d", got[0], got[1], wantIn, wantSh)
			}
		case <-time.After(10 * time.Second):
			unlock()
			<-done
			t.Fatal("KernelRoutes waited for the router's lock (held by a batch)")
		}
	}
	check(1000, 1)
	// Replaced (changed next hop), then the same again: counted once.
	r.ApplyKernel(set[:10:10], nil)
	r.ApplyKernel([]control.KernelRoute{{Prefix: set[0].Prefix, Proto: "ospf", NextHops: []control.NextHop{{Iface: 1, Via: kgwB}}}}, nil)
	check(1000, 1)
	// A configured route takes a prefix over: shadowed now.
	if err := r.AddRoute(set[1].Prefix, kgwB); err != nil {
		t.Fatal(err)
	}
	r.ApplyKernel(set[1:2], nil)
	check(999, 2)
	r.ApplyKernel(nil, []netip.Prefix{set[1].Prefix, set[2].Prefix, set[len(set)-1].Prefix})
	check(998, 0)
	// A refused route (next hop on no subnet) is not counted.
	r.ApplyKernel([]control.KernelRoute{{Prefix: netip.MustParsePrefix("192.0.2.0/24"), Proto: "bgp", NextHops: []control.NextHop{{Iface: 1, Via: netip.MustParseAddr("10.9.9.9")}}}}, nil)
	check(998, 0)
}

// TestApplyKernelAllocsPerRoute: a batch of new kernel routes through one
// gateway costs a few allocations a route (the FIB's, the map's growth),
// not a copy of the interfaces' addresses for each route's gateway check.
func TestApplyKernelAllocsPerRoute(t *testing.T) {
	r := kernelRouter(t)
	for _, a := range []string{"10.0.3.1/24", "10.0.4.1/24", "10.0.5.1/24", "10.0.6.1/24"} {
		if _, err := r.AddInterface(control.IfaceConfig{Name: "lan" + a[5:6], MAC: [6]byte{2, 0, 0, 0, 1, a[5]}, Addrs: []netip.Prefix{netip.MustParsePrefix(a)}}); err != nil {
			t.Fatal(err)
		}
	}
	const n = 20000
	batch := func(base byte) []control.KernelRoute {
		set := make([]control.KernelRoute, n)
		hops := []control.NextHop{{Iface: 0, Via: kgwA}}
		for i := range set {
			set[i] = control.KernelRoute{Prefix: netip.PrefixFrom(netip.AddrFrom4([4]byte{base, byte(i >> 8), byte(i), 0}), 24), Proto: "bgp", NextHops: hops}
		}
		return set
	}
	sets := [][]control.KernelRoute{batch(100), batch(101), batch(102)}
	k := 0
	a := testing.AllocsPerRun(2, func() {
		if res := r.ApplyKernel(sets[k], nil); res.Added != n {
			t.Fatalf("ApplyKernel: %+v", res)
		}
		k++
	}) / n
	t.Logf("%.2f allocations a route", a)
	if raceEnabled {
		// The race detector's instrumentation adds two a route
		// (measured: 2.03 with -race, 0.02 without): the bound is a
		// normal build's.
		return
	}
	if a > 1 {
		t.Errorf("%.2f allocations a kernel route, want at most 1", a)
	}
}

// TestKernelRouteEqualNoAllocs: comparing two routes of one next hop (a
// resync compares every route of a full table) copies nothing; routes
// with several compare in any order.
func TestKernelRouteEqualNoAllocs(t *testing.T) {
	p := netip.MustParsePrefix("198.51.100.0/24")
	a := control.KernelRoute{Prefix: p, Proto: "bgp", NextHops: []control.NextHop{{Iface: 1, Via: kgwB}}}
	b := control.KernelRoute{Prefix: p, Proto: "bgp", NextHops: []control.NextHop{{Iface: 1, Via: kgwB, Weight: 1}}}
	if !a.Equal(b) || a.Equal(control.KernelRoute{Prefix: p, Proto: "bgp", NextHops: []control.NextHop{{Iface: 1, Via: kgwA}}}) ||
		a.Equal(control.KernelRoute{Prefix: p, Proto: "bgp", NextHops: []control.NextHop{{Iface: 1, Via: kgwB, Weight: 2}}}) ||
		a.Equal(control.KernelRoute{Prefix: p, Proto: "bgp"}) || !(control.KernelRoute{Prefix: p}).Equal(control.KernelRoute{Prefix: p}) {
		t.Fatal("Equal: wrong answer for one next hop")
	}
	m1 := control.KernelRoute{Prefix: p, NextHops: []control.NextHop{{Iface: 0, Via: kgwA}, {Iface: 1, Via: kgwB, Weight: 3}}}
	m2 := control.KernelRoute{Prefix: p, NextHops: []control.NextHop{{Iface: 1, Via: kgwB, Weight: 3}, {Iface: 0, Via: kgwA}}}
	if !m1.Equal(m2) {
		t.Fatal("Equal: multipath in another order differs")
	}
	if n := testing.AllocsPerRun(100, func() { a.Equal(b) }); n != 0 {
		t.Errorf("%v allocations to compare routes of one next hop, want 0", n)
	}
}

// TestKernelRoutesPointerFree: the router's table of kernel routes (a
// million entries with a full table) holds no pointer, so the garbage
// collector never scans it, in small slots: a compact key, the protocol
// an index. It was keyed by netip.Prefix with the protocol's string in
// each entry, 56-byte slots the collector scanned, grown a million times
// over in a full table's burst.
func TestKernelRoutesPointerFree(t *testing.T) {
	f, ok := reflect.TypeFor[control.Router]().FieldByName("kern")
	if !ok || f.Type.Kind() != reflect.Struct {
		t.Fatalf("control.Router has no table kern (%v)", f.Type)
	}
	sl, ok := f.Type.FieldByName("slots")
	if !ok || sl.Type.Kind() != reflect.Slice {
		t.Fatalf("Router.kern is %v, not a fib.PrefixMap with its slots", f.Type)
	}
	if testenv.HasPointers(sl.Type.Elem()) {
		t.Errorf("Router.kern's slots are %v: they hold pointers, which the GC scans", sl.Type.Elem())
	}
	if s := sl.Type.Elem().Size(); s > 24 {
		t.Errorf("Router.kern's slots are %v: %d bytes a key and value, want at most 24", sl.Type.Elem(), s)
	}
	// What show routes says of them is still their protocol's name.
	r := kernelRouter(t)
	p4, p6 := netip.MustParsePrefix("198.18.0.0/24"), netip.MustParsePrefix("2001:db8:99::/48")
	r.ApplyKernel([]control.KernelRoute{{Prefix: p4, Proto: "bgp", NextHops: []control.NextHop{{Iface: 0, Via: kgwA}}},
		{Prefix: p6, Proto: "ospf"}}, nil)
	for p, want := range map[netip.Prefix]string{p4: "bgp", p6: "ospf"} {
		if m, ok := r.Lookup(p.Addr().Next()); !ok || m.Origin != want {
			t.Errorf("route %v: origin %q (found %v), want %q", p, m.Origin, ok, want)
		}
	}
}
