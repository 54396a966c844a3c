package linuxcp

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/softnet/softnet/control"
	"github.com/softnet/softnet/dp"
	"github.com/softnet/softnet/internal/netns"
	"github.com/softnet/softnet/internal/testenv"
)

// kernelNS makes a namespace with links wan0 (10.0.1.1/24,
// 2001:db8:1::1/64) and wan1 (10.0.2.1/24), up (veths whose peers are
// in the namespace too, up, so their links are running).
func kernelNS(t *testing.T) string {
	t.Helper()
	testenv.Root(t)
	testenv.Tools(t, "ip")
	ctx := context.Background()
	ns := fmt.Sprintf("sn-lcp-%d-%d", os.Getpid(), time.Now().UnixNano()%100000)
	if err := netns.Add(ctx, ns); err != nil {
		testenv.Need(t, false, "ip netns add: "+err.Error())
	}
	t.Cleanup(func() { netns.Delete(context.Background(), ns) })
	for _, c := range [][]string{
		{"link", "add", "wan0", "type", "veth", "peer", "name", "wan0p"}, {"link", "add", "wan1", "type", "veth", "peer", "name", "wan1p"},
		{"link", "set", "wan0p", "up"}, {"link", "set", "wan1p", "up"},
		{"addr", "add", "10.0.1.1/24", "dev", "wan0"}, {"addr", "add", "10.0.2.1/24", "dev", "wan1"},
		{"addr", "add", "2001:db8:1::1/64", "dev", "wan0", "nodad"},
		{"link", "set", "wan0", "up"}, {"link", "set", "wan1", "up"},
	} {
		ipns(t, ns, c...)
	}
	return ns
}

// kernelRouter is a router with kernelNS's two interfaces, wan0
// (10.0.1.1/24 and more, if given) and wan1 (10.0.2.1/24), for a mirror
// of that namespace.
func kernelRouter(t *testing.T, more0 ...netip.Prefix) *control.Router {
	t.Helper()
	r := control.New(control.Options{})
	for _, c := range []control.IfaceConfig{
		{Name: "wan0", MAC: [6]byte{2, 0, 0, 0, 0, 1}, Addrs: append([]netip.Prefix{netip.MustParsePrefix("10.0.1.1/24")}, more0...)},
		{Name: "wan1", MAC: [6]byte{2, 0, 0, 0, 0, 2}, Addrs: []netip.Prefix{netip.MustParsePrefix("10.0.2.1/24")}},
	} {
		if _, err := r.AddInterface(c); err != nil {
			t.Fatal(err)
		}
	}
	return r
}

func ipns(t *testing.T, ns string, args ...string) {
	t.Helper()
	if out, err := netns.IP(context.Background(), append([]string{"-n", ns}, args...)...); err != nil {
		t.Fatalf("ip %s: %v %s", strings.Join(args, " "), err, out)
	}
}

// TestNetlinkDumpParses: the dump of a real kernel reads single,
// weighted multipath, IPv6 and blackhole routes with their protocol.
func TestNetlinkDumpParses(t *testing.T) {
	ns := kernelNS(t)
	ipns(t, ns, "route", "add", "198.18.1.0/24", "via", "10.0.1.2", "proto", "bgp")
	ipns(t, ns, "route", "add", "198.18.2.0/24", "proto", "ospf", "nexthop", "via", "10.0.1.2", "weight", "1", "nexthop", "via", "10.0.2.2", "weight", "3")
	ipns(t, ns, "route", "add", "2001:db8:9::/48", "via", "2001:db8:1::2")
	ipns(t, ns, "route", "add", "blackhole", "198.18.3.0/24")
	src, err := Open(ns, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	links, routes, err := src.Dump()
	if err != nil {
		t.Fatal(err)
	}
	idx := map[string]int{}
	for _, l := range links {
		idx[l.Name] = l.Index
		if (l.Name == "wan0" || l.Name == "wan1") && !l.Up {
			t.Errorf("link %+v: want up", l)
		}
	}
	got := map[netip.Prefix]Route{}
	for _, r := range routes {
		if r.Table == 254 {
			got[r.Prefix] = r
		}
	}
	r1 := got[netip.MustParsePrefix("198.18.1.0/24")]
	if r1.Proto != 186 || len(r1.Hops) != 1 || r1.Hops[0].Link != idx["wan0"] || r1.Hops[0].Via != netip.MustParseAddr("10.0.1.2") {
		t.Errorf("single route: %+v", r1)
	}
	r2 := got[netip.MustParsePrefix("198.18.2.0/24")]
	if r2.Proto != 188 || len(r2.Hops) != 2 || r2.Hops[1].Link != idx["wan1"] || r2.Hops[1].Weight != 3 || r2.Hops[1].Via != netip.MustParseAddr("10.0.2.2") {
		t.Errorf("multipath route: %+v", r2)
	}
	r6 := got[netip.MustParsePrefix("2001:db8:9::/48")]
	if len(r6.Hops) != 1 || r6.Hops[0].Via != netip.MustParseAddr("2001:db8:1::2") || r6.Proto != 3 {
		t.Errorf("IPv6 route: %+v", r6)
	}
	if r := got[netip.MustParsePrefix("198.18.3.0/24")]; !r.Blackhole {
		t.Errorf("blackhole route: %+v", r)
	}
}

// TestNetlinkOverflow: a tiny receive buffer and a burst of route
// changes that nobody reads end in ErrOverflow (ENOBUFS) on the next Read.
func TestNetlinkOverflow(t *testing.T) {
	ns := kernelNS(t)
	src, err := Open(ns, 4096)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	var b strings.Builder
	for i := range 2000 {
		fmt.Fprintf(&b, "route add 198.19.%d.%d/32 via 10.0.1.2\n", i/256, i%256)
	}
	f, err := os.CreateTemp(t.TempDir(), "batch")
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString(b.String())
	f.Close()
	ipns(t, ns, "-batch", f.Name())
	for i := 0; ; i++ {
		_, err := src.Read()
		if errors.Is(err, ErrOverflow) {
			return
		}
		if err != nil || i > 100000 {
			t.Fatalf("read %d: %v, want ErrOverflow", i, err)
		}
	}
}

// TestMirrorRealKernel: a mirror of a real namespace into a real
// router: routes added with ip route (single and multipath) appear with
// their protocol, a delete removes them, and an overflow (tiny buffer,
// burst of ip -batch changes) ends in a router equal to the kernel.
func TestMirrorRealKernel(t *testing.T) {
	ns := kernelNS(t)
	r := kernelRouter(t)
	src, err := Open(ns, 8192)
	if err != nil {
		t.Fatal(err)
	}
	g := &gated{Source: src}
	m := New(g, r, Options{})
	if err := m.Start(); err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	lookup := func(a string) control.Match {
		mt, _ := r.Lookup(netip.MustParseAddr(a))
		return mt
	}
	ipns(t, ns, "route", "add", "198.18.1.0/24", "via", "10.0.1.2", "proto", "bgp")
	ipns(t, ns, "route", "add", "198.18.2.0/24", "nexthop", "via", "10.0.1.2", "nexthop", "via", "10.0.2.2")
	waitFor(t, "the routes", func() bool {
		return lookup("198.18.1.1").Origin == "bgp" && lookup("198.18.2.1").Kind == dp.AdjGroup
	})
	if mt := lookup("198.18.1.1"); mt.Via != netip.MustParseAddr("10.0.1.2") || mt.Iface != 0 {
		t.Fatalf("198.18.1.1: %+v", mt)
	}
	if mt := lookup("198.18.2.1"); len(mt.NextHops) != 2 || mt.Origin != "boot" {
		t.Fatalf("198.18.2.1: %+v", mt)
	}
	ipns(t, ns, "route", "del", "198.18.1.0/24")
	waitFor(t, "the delete", func() bool { _, ok := r.Lookup(netip.MustParseAddr("198.18.1.1")); return !ok })

	// The burst: 3000 adds, then 1000 of them deleted and 500 changed.
	var b strings.Builder
	for i := range 3000 {
		fmt.Fprintf(&b, "route add 198.19.%d.%d/32 via 10.0.1.2 proto bgp\n", i/256, i%256)
	}
	for i := range 1000 {
		fmt.Fprintf(&b, "route del 198.19.%d.%d/32\n", i/256, i%256)
	}
	for i := 1000; i < 1500; i++ {
		fmt.Fprintf(&b, "route replace 198.19.%d.%d/32 via 10.0.2.2 proto bgp\n", i/256, i%256)
	}
	f, err := os.CreateTemp(t.TempDir(), "batch")
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString(b.String())
	f.Close()
	// The burst comes while the reader does not read (as while softnet
	// is descheduled): the 8 KiB buffer overflows for sure, and the next
	// read is ENOBUFS.
	g.hold()
	ipns(t, ns, "-batch", f.Name())
	g.release()
	want := func(i int) (bool, netip.Addr) {
		switch {
		case i < 1000:
			return false, netip.Addr{}
		case i < 1500:
			return true, netip.MustParseAddr("10.0.2.2")
		}
		return true, netip.MustParseAddr("10.0.1.2")
	}
	equal := func() bool {
		for i := range 3000 {
			mt, ok := r.LookupPrefix(netip.MustParsePrefix(fmt.Sprintf("198.19.%d.%d/32", i/256, i%256)))
			in, via := want(i)
			if ok && mt.Prefix.Bits() != 32 {
				ok = false
			}
			if ok != in || (in && mt.Via != via) {
				return false
			}
		}
		return true
	}
	waitFor(t, "the overflow and its resync", func() bool { s := m.Stats(); return s.Overflows > 0 && s.Resyncs >= 2 })
	// Polled: on a loaded machine the reader can still be reading when
	// the burst starts, and what it reads after the resync comes later.
	for end := time.Now().Add(10 * time.Second); !equal(); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(end) {
			t.Fatalf("after the resync the router is not the kernel: stats %+v", m.Stats())
		}
	}
}

// gated is a Source whose Read can be held: while held, the reader does
// not read the socket (a descheduled reader, made certain).
type gated struct {
	Source
	mu   sync.Mutex
	gate chan struct{}
}

func (g *gated) hold() {
	g.mu.Lock()
	g.gate = make(chan struct{})
	g.mu.Unlock()
	time.Sleep(300 * time.Millisecond) // a Read under way returns (200 ms timeout) and waits
}

func (g *gated) release() {
	g.mu.Lock()
	close(g.gate)
	g.gate = nil
	g.mu.Unlock()
}

func (g *gated) Read() ([]Event, error) {
	g.mu.Lock()
	gate := g.gate
	g.mu.Unlock()
	if gate != nil {
		<-gate
	}
	return g.Source.Read()
}
