package linuxcp

import (
	"net/netip"
	"slices"
	"sync"
	"testing"

	"github.com/softnet/softnet/control"
	"github.com/softnet/softnet/neigh"
)

// fakeNSource is fakeSource with neighbours and addresses to dump.
type fakeNSource struct {
	*fakeSource
	nmu    sync.Mutex
	neighs []Neigh
	addrs  []Addr
}

func (f *fakeNSource) DumpNeighbors() ([]Neigh, []Addr, error) {
	f.nmu.Lock()
	defer f.nmu.Unlock()
	return slices.Clone(f.neighs), slices.Clone(f.addrs), nil
}

// fakeNRouter is fakeRouter that takes neighbours and addresses too,
// recording the order of the calls.
type fakeNRouter struct {
	*fakeRouter
	nmu   sync.Mutex
	order []string
	nsets [][]control.KernelNeighbor
	ndels [][]neigh.Key
	addrs []map[int][]netip.Prefix
}

func (r *fakeNRouter) ApplyKernel(set []control.KernelRoute, del []netip.Prefix) control.KernelResult {
	r.nmu.Lock()
	r.order = append(r.order, "routes")
	r.nmu.Unlock()
	return r.fakeRouter.ApplyKernel(set, del)
}

func (r *fakeNRouter) ApplyKernelNeighbors(set []control.KernelNeighbor, del []neigh.Key) control.KernelResult {
	r.nmu.Lock()
	defer r.nmu.Unlock()
	r.order = append(r.order, "neighbors")
	r.nsets, r.ndels = append(r.nsets, slices.Clone(set)), append(r.ndels, slices.Clone(del))
	return control.KernelResult{Added: len(set), Deleted: len(del)}
}

func (r *fakeNRouter) ApplyKernelAddrs(want map[int][]netip.Prefix) control.KernelResult {
	r.nmu.Lock()
	defer r.nmu.Unlock()
	r.order = append(r.order, "addrs")
	c := map[int][]netip.Prefix{}
	for i, ps := range want {
		c[i] = slices.Clone(ps)
	}
	r.addrs = append(r.addrs, c)
	return control.KernelResult{}
}

func (r *fakeNRouter) snapshot() (order []string, nsets [][]control.KernelNeighbor, ndels [][]neigh.Key, addrs []map[int][]netip.Prefix) {
	r.nmu.Lock()
	defer r.nmu.Unlock()
	return slices.Clone(r.order), slices.Clone(r.nsets), slices.Clone(r.ndels), slices.Clone(r.addrs)
}

var (
	macA = [6]byte{2, 0xaa, 0, 0, 0, 2}
	macB = [6]byte{2, 0xbb, 0, 0, 0, 2}
)

// TestMirrorNeighborsAndAddrs (issue 15, linux_cp neighbours and
// addresses): the dump at start gives softnet the kernel's usable
// neighbours and its addresses of the mirrored interfaces (not failed
// or incomplete ones, not IPv6 link-local ones, nothing on an interface
// softnet does not have), addresses before routes before neighbours; a
// batch of notifications is one call for each; a neighbour that fails or
// an address deleted goes; a resync after an overflow changes only what
// differs; a link deleted takes its neighbours.
func TestMirrorNeighborsAndAddrs(t *testing.T) {
	f := &fakeNSource{fakeSource: newFake()}
	f.links = []Link{{Index: 2, Name: "wan0", Up: true}, {Index: 3, Name: "wan1", Up: true}, {Index: 9, Name: "mgmt", Up: true}}
	f.set(bgp(pfx(1), Hop{Link: 2, Via: gwA}))
	nA := Neigh{Link: 2, Addr: gwA, MAC: macA, HasMAC: true, State: nudPermanent}
	f.neighs = []Neigh{
		nA,
		{Link: 3, Addr: gwB, MAC: macB, HasMAC: true, State: nudStale},
		{Link: 3, Addr: netip.MustParseAddr("10.0.2.3"), State: nudFailed},
		{Link: 3, Addr: netip.MustParseAddr("10.0.2.4"), State: nudIncomplete},
		{Link: 2, Addr: netip.MustParseAddr("fe80::2"), MAC: macA, HasMAC: true, State: nudReachable},
		{Link: 9, Addr: netip.MustParseAddr("192.168.9.1"), MAC: macB, HasMAC: true, State: nudReachable},
		{Link: 3, Addr: netip.MustParseAddr("10.0.2.255"), MAC: [6]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, HasMAC: true, State: nudNoARP},
		{Link: 3, Addr: netip.MustParseAddr("10.0.2.5"), HasMAC: true, State: nudNoARP},
	}
	k4 := netip.MustParsePrefix("10.0.5.1/24")
	f.addrs = []Addr{
		{Link: 2, Prefix: netip.MustParsePrefix("10.0.1.1/24")},
		{Link: 2, Prefix: k4},
		{Link: 2, Prefix: netip.MustParsePrefix("fe80::1/64")},
		{Link: 9, Prefix: netip.MustParsePrefix("192.168.9.2/24")},
	}
	r := &fakeNRouter{fakeRouter: &fakeRouter{routes: map[netip.Prefix]control.KernelRoute{}}}
	m := New(f, r, Options{})
	if err := m.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })

	order, nsets, ndels, addrs := r.snapshot()
	if !slices.Equal(order, []string{"addrs", "routes", "neighbors"}) {
		t.Fatalf("calls at start %v, want addresses, routes, neighbours", order)
	}
	wantA := control.KernelNeighbor{Iface: 0, Addr: gwA, MAC: macA, State: "permanent"}
	wantB := control.KernelNeighbor{Iface: 1, Addr: gwB, MAC: macB, State: "stale"}
	sortN := func(s []control.KernelNeighbor) []control.KernelNeighbor {
		s = slices.Clone(s)
		slices.SortFunc(s, func(a, b control.KernelNeighbor) int { return a.Addr.Compare(b.Addr) })
		return s
	}
	if got := sortN(nsets[0]); !slices.Equal(got, []control.KernelNeighbor{wantA, wantB}) || len(ndels[0]) != 0 {
		t.Fatalf("neighbours at start %+v (deleted %v), want %+v and %+v only", got, ndels[0], wantA, wantB)
	}
	if len(addrs[0]) != 1 || !slices.Equal(addrs[0][0], []netip.Prefix{netip.MustParsePrefix("10.0.1.1/24"), k4}) {
		t.Fatalf("addresses at start %v, want wan0's two IPv4 ones only", addrs[0])
	}
	if s := m.Stats(); s.Neighbors != 2 || s.Addresses != 2 {
		t.Fatalf("stats %+v, want 2 neighbours and 2 addresses", s)
	}

	// One batch: an IPv6 neighbour, A fails, B unchanged, an address
	// added and one deleted.
	v6 := netip.MustParseAddr("2001:db8:1::2")
	k6 := netip.MustParsePrefix("2001:db8:5::1/64")
	f.ch <- fakeRead{evs: []Event{
		{Kind: NeighSet, Neigh: Neigh{Link: 3, Addr: v6, MAC: macB, HasMAC: true, State: nudReachable}},
		{Kind: NeighSet, Neigh: Neigh{Link: 2, Addr: gwA, MAC: macA, HasMAC: true, State: nudFailed}},
		{Kind: NeighSet, Neigh: Neigh{Link: 3, Addr: gwB, MAC: macB, HasMAC: true, State: nudStale}},
		{Kind: AddrSet, Addr: Addr{Link: 2, Prefix: k6}},
		{Kind: AddrDel, Addr: Addr{Link: 2, Prefix: k4}},
	}}
	waitFor(t, "the batch", func() bool { o, _, _, _ := r.snapshot(); return len(o) >= 5 })
	order, nsets, ndels, addrs = r.snapshot()
	if !slices.Equal(order[3:], []string{"addrs", "neighbors"}) {
		t.Fatalf("calls for the batch %v, want one for addresses, one for neighbours", order[3:])
	}
	if want := (control.KernelNeighbor{Iface: 1, Addr: v6, MAC: macB, State: "reachable"}); !slices.Equal(nsets[1], []control.KernelNeighbor{want}) {
		t.Fatalf("batch set %+v, want only %+v", nsets[1], want)
	}
	if !slices.Equal(ndels[1], []neigh.Key{{Iface: 0, Addr: gwA}}) {
		t.Fatalf("batch deleted %v, want the failed %v", ndels[1], gwA)
	}
	if !slices.Equal(addrs[1][0], []netip.Prefix{netip.MustParsePrefix("10.0.1.1/24"), k6}) {
		t.Fatalf("batch addresses %v", addrs[1])
	}

	// Changes the mirror is never told of, then an overflow: the resync
	// gives softnet every usable neighbour again (B moved, and the
	// unchanged v6, which softnet may have lost meanwhile: softnet
	// neighbor del, or a refusal), and deletes none.
	f.nmu.Lock()
	f.neighs = []Neigh{
		{Link: 3, Addr: gwB, MAC: macA, HasMAC: true, State: nudReachable}, // B moved
		{Link: 3, Addr: v6, MAC: macB, HasMAC: true, State: nudReachable},  // unchanged
	}
	f.nmu.Unlock()
	f.ch <- fakeRead{err: ErrOverflow}
	waitFor(t, "the resync", func() bool { return m.Stats().Resyncs == 2 })
	order, nsets, ndels, addrs = r.snapshot()
	resent := slices.Clone(nsets[len(nsets)-1])
	slices.SortFunc(resent, func(a, b control.KernelNeighbor) int { return a.Addr.Compare(b.Addr) })
	if want := []control.KernelNeighbor{{Iface: 1, Addr: gwB, MAC: macA, State: "reachable"}, {Iface: 1, Addr: v6, MAC: macB, State: "reachable"}}; !slices.Equal(resent, want) || len(ndels[len(ndels)-1]) != 0 {
		t.Fatalf("resync set %+v deleted %v, want %+v", resent, ndels[len(ndels)-1], want)
	}
	if !slices.Equal(addrs[len(addrs)-1][0], []netip.Prefix{netip.MustParsePrefix("10.0.1.1/24"), k4}) {
		t.Fatalf("resync addresses %v, want the dump's", addrs[len(addrs)-1])
	}

	// wan1's link deleted: its neighbours go.
	n := len(order)
	f.ch <- fakeRead{evs: []Event{{Kind: LinkDel, Link: Link{Index: 3, Name: "wan1"}}}}
	waitFor(t, "the link delete", func() bool { o, _, _, _ := r.snapshot(); return len(o) > n && o[len(o)-1] == "neighbors" })
	_, _, ndels, _ = r.snapshot()
	got := slices.Clone(ndels[len(ndels)-1])
	slices.SortFunc(got, func(a, b neigh.Key) int { return a.Addr.Compare(b.Addr) })
	if !slices.Equal(got, []neigh.Key{{Iface: 1, Addr: gwB}, {Iface: 1, Addr: v6}}) {
		t.Fatalf("wan1 deleted: neighbours deleted %v, want both of wan1's", got)
	}
	// The mirror counts its neighbours after ApplyKernelNeighbors returns
	// (the call is recorded first): wait for the count.
	waitFor(t, "no neighbours counted", func() bool { return m.Stats().Neighbors == 0 })
	if s := m.Stats(); s.Neighbors != 0 {
		t.Fatalf("stats %+v, want no neighbours left", s)
	}
}
