package main

import (
	"encoding/binary"
	"net/netip"
	"testing"

	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/stack"
)

// routeKey drops the list links so routes can be compared.
type routeKey struct {
	dst, gw string
	nic     tcpip.NICID
}

func table(s *stack.Stack) []routeKey {
	var out []routeKey
	for _, r := range s.GetRouteTable() {
		out = append(out, routeKey{r.Destination.String(), r.Gateway.String(), r.NIC})
	}
	return out
}

// The direct list build used for large tables must give the same list as the
// public SetRouteTable.
func TestFastLoadMatchesSetRouteTable(t *testing.T) {
	prefixes, err := readTable(5000)
	if err != nil {
		t.Fatal(err)
	}
	routes := buildRoutes(prefixes)
	a, err := newBench(nil)
	if err != nil {
		t.Fatal(err)
	}
	b, err := newBench(nil)
	if err != nil {
		t.Fatal(err)
	}
	loadRoutesWith(a.s, append([]tcpip.Route(nil), routes...), false)
	loadRoutesWith(b.s, routes, true)
	ta, tb := table(a.s), table(b.s)
	if len(ta) != len(routes) || len(tb) != len(routes) {
		t.Fatalf("lengths: public %d, direct %d, want %d", len(ta), len(tb), len(routes))
	}
	for i := range ta {
		if ta[i] != tb[i] {
			t.Fatalf("route %d: public %v, direct %v", i, ta[i], tb[i])
		}
	}
	// And the direct-loaded stack forwards correctly.
	frames := makeFrames(prefixes, 64)
	if err := b.selfCheck(prefixes, frames); err != nil {
		t.Fatal(err)
	}
}

func TestForwardSmallTable(t *testing.T) {
	prefixes, err := readTable(100)
	if err != nil {
		t.Fatal(err)
	}
	b, err := newBench(buildRoutes(prefixes))
	if err != nil {
		t.Fatal(err)
	}
	frames := makeFrames(prefixes, numFrames)
	for i, f := range frames[:16] {
		if len(f) != packetSize || csum(0, f[14:34]) != 0xffff {
			t.Fatalf("frame %d: bad length or IPv4 checksum", i)
		}
	}
	if err := b.selfCheck(prefixes, frames); err != nil {
		t.Fatal(err)
	}
	in, out, _ := run(b, frames, 0, 0)
	if in == 0 || in != out {
		t.Fatalf("injected %d, forwarded %d", in, out)
	}
}

// A frame with no route must show up in drops as fwd_no_route.
func TestDropsNoRoute(t *testing.T) {
	prefixes, err := readTable(1)
	if err != nil {
		t.Fatal(err)
	}
	b, err := newBench(buildRoutes(prefixes))
	if err != nil {
		t.Fatal(err)
	}
	f := append([]byte(nil), makeFrames(prefixes, 1)[0]...)
	dst := netip.MustParseAddr("203.0.113.7")
	if _, ok := lpm(prefixes, dst); ok {
		t.Skip("first table prefix covers the test address")
	}
	a4 := dst.As4()
	copy(f[30:34], a4[:])
	f[24], f[25] = 0, 0
	binary.BigEndian.PutUint16(f[24:26], ^csum(0, f[14:34]))
	before := dropStats(b.s.Stats())
	b.inject(f)
	if n := b.drain(); n != 0 {
		t.Fatalf("forwarded %d frames without a route", n)
	}
	if d := diffDrops(before, dropStats(b.s.Stats())); d["fwd_no_route"] != 1 {
		t.Fatalf("drops %v, want fwd_no_route 1", d)
	}
}
