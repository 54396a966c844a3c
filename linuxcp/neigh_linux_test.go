package linuxcp

import (
	"net/netip"
	"slices"
	"testing"

	"github.com/softnet/softnet/neigh"
)

// TestMirrorRealKernelNeighborsAndAddrs: a mirror of a real namespace
// into a real router follows ip neigh (IPv4 and IPv6, permanent, and
// deleted) and ip addr (added: local and connected in softnet; deleted:
// gone; the router's configured address stays when the kernel deletes
// it). The namespace's own IPv6 address, not in the router's config,
// is mirrored from the dump at start.
func TestMirrorRealKernelNeighborsAndAddrs(t *testing.T) {
	ns := kernelNS(t)
	r := kernelRouter(t)
	src, err := Open(ns, 0)
	if err != nil {
		t.Fatal(err)
	}
	m := New(src, r, Options{})
	if err := m.Start(); err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	entry := func(iface int, a string) *neigh.Entry {
		for _, e := range r.Neighbors() {
			if e.Iface == iface && e.Addr == netip.MustParseAddr(a) {
				return &e
			}
		}
		return nil
	}
	local := func(a string) bool {
		mt, ok := r.Lookup(netip.MustParseAddr(a))
		return ok && mt.Origin == "local"
	}
	// The dump: wan0's 2001:db8:1::1/64 is the kernel's.
	waitFor(t, "2001:db8:1::1 from the dump", func() bool { return local("2001:db8:1::1") })

	ipns(t, ns, "neigh", "add", "10.0.1.9", "lladdr", "02:00:00:00:00:09", "dev", "wan0", "nud", "permanent")
	ipns(t, ns, "neigh", "add", "2001:db8:1::9", "lladdr", "02:00:00:00:00:19", "dev", "wan0", "nud", "reachable")
	waitFor(t, "the kernel's neighbours", func() bool {
		a, b := entry(0, "10.0.1.9"), entry(0, "2001:db8:1::9")
		return a != nil && b != nil && a.State == neigh.Kernel && b.State == neigh.Kernel
	})
	if e := entry(0, "10.0.1.9"); e.MAC != [6]byte{2, 0, 0, 0, 0, 9} || e.KernelState != "permanent" || e.Source() != "kernel" {
		t.Fatalf("10.0.1.9: %+v", e)
	}
	ipns(t, ns, "neigh", "del", "10.0.1.9", "dev", "wan0")
	waitFor(t, "the neighbour's delete", func() bool { return entry(0, "10.0.1.9") == nil })

	ipns(t, ns, "addr", "add", "10.0.7.1/24", "dev", "wan1")
	waitFor(t, "10.0.7.1 local", func() bool { return local("10.0.7.1") })
	if mt, ok := r.Lookup(netip.MustParseAddr("10.0.7.9")); !ok || mt.Origin != "connected" || mt.Iface != 1 {
		t.Fatalf("10.0.7.9: %+v, want wan1's connected subnet", mt)
	}
	ipns(t, ns, "addr", "del", "10.0.7.1/24", "dev", "wan1")
	waitFor(t, "10.0.7.1 gone", func() bool { _, ok := r.Lookup(netip.MustParseAddr("10.0.7.1")); return !ok })
	// The kernel deletes the configured address: softnet keeps it.
	ipns(t, ns, "addr", "del", "10.0.2.1/24", "dev", "wan1")
	ipns(t, ns, "addr", "add", "10.0.8.1/24", "dev", "wan1") // a change after it, to wait for
	waitFor(t, "10.0.8.1 local", func() bool { return local("10.0.8.1") })
	var got []netip.Prefix
	for _, a := range r.Interfaces()[1].Addrs {
		got = append(got, a.Prefix())
	}
	if !slices.Equal(got, []netip.Prefix{netip.MustParsePrefix("10.0.2.1/24"), netip.MustParsePrefix("10.0.8.1/24")}) {
		t.Fatalf("wan1's addresses %v, want the configured one kept and the kernel's", got)
	}
	// The router publishes the addresses before the mirror counts them
	// (the count waits for the router's answer): wait for the count.
	waitFor(t, "3 kernel addresses counted", func() bool { return m.Stats().Addresses == 3 })
	if s := m.Stats(); s.Refused != 0 || s.Addresses != 3 {
		t.Fatalf("stats %+v, want 3 kernel addresses (10.0.1.1, 2001:db8:1::1, 10.0.8.1) and nothing refused", s)
	}
	if ka := r.KernelAddrs(); len(ka) != 2 || !slices.Equal(ka[1], []netip.Prefix{netip.MustParsePrefix("10.0.8.1/24")}) {
		t.Fatalf("the router's kernel addresses %v, want 2001:db8:1::1/64 on wan0 and 10.0.8.1/24 on wan1", ka)
	}
}
