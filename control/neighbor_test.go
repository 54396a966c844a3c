package control_test

import (
	"bytes"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/softnet/softnet/control"
	"github.com/softnet/softnet/dp"
	"github.com/softnet/softnet/dp/dptest"
	"github.com/softnet/softnet/dp/ip4"
	"github.com/softnet/softnet/hdr"
	"github.com/softnet/softnet/neigh"
)

func TestRouterARPQueueBound(t *testing.T) {
	l := newLab(t, false, false)
	maxPending := neigh.New(neigh.Options{}).Options().MaxPending
	const sent = 10
	var frames [][]byte
	for i := range sent {
		frames = append(frames, udpFrom(dptest.HostB, uint16(100+i)))
	}
	l.Send(0, frames...)
	wantARPRequest(t, one(t, l, 1, "ARP request for 10 packets"), dptest.Broadcast, dptest.HostB)
	none(t, l, "while resolving")

	l.Send(1, replyFromHostB(dptest.HostBMAC))
	out := l.Out(1)
	if len(out) != maxPending {
		t.Fatalf("%d packets left after the reply, want MaxPending %d", len(out), maxPending)
	}
	// The oldest are dropped (as Linux does): the last four remain, in order.
	for i, f := range out {
		wantForwarded(t, f, dptest.HostBMAC, dptest.R1MAC, dptest.HostB, uint16(100+sent-maxPending+i))
	}
	st := l.Router.Stats()
	if st.QueueDrops != sent-uint64(maxPending) {
		t.Errorf("Stats().QueueDrops %d, want %d (packets dropped from the full resolution queue)", st.QueueDrops, sent-maxPending)
	}
	if e := neighbor(l, 1, dptest.HostB); e == nil || e.Dropped != sent-uint64(maxPending) {
		t.Errorf("neighbour Dropped: %+v, want %d", e, sent-maxPending)
	}
}

func TestRouterNeighborAging(t *testing.T) {
	reachable := neigh.New(neigh.Options{}).Options().ReachableTime
	resolve := func(t *testing.T) *dptest.Lab {
		l := newLab(t, false, false)
		learnHostB(t, l)
		if e := neighbor(l, 1, dptest.HostB); e == nil || e.State != neigh.Reachable {
			t.Fatalf("neighbour not learned: %+v", e)
		}
		l.Advance(reachable - 100*time.Millisecond)
		none(t, l, "before ReachableTime")
		l.Advance(100 * time.Millisecond)
		// RFC 4861 §7.3.3: a stale entry is probed with unicast requests.
		wantARPRequest(t, one(t, l, 1, "probe"), dptest.HostBMAC, dptest.HostB)
		none(t, l, "probe")
		if e := neighbor(l, 1, dptest.HostB); e == nil || e.State != neigh.Stale {
			t.Fatalf("neighbour after ReachableTime: %+v, want stale", e)
		}
		// Stale entries are still used.
		l.Send(0, udpFrom(remoteDst, 1))
		wantForwarded(t, one(t, l, 1, "through a stale neighbour"), dptest.HostBMAC, dptest.R1MAC, remoteDst, 1)
		return l
	}
	t.Run("answered", func(t *testing.T) {
		l := resolve(t)
		l.Send(1, replyFromHostB(dptest.HostBMAC))
		if e := neighbor(l, 1, dptest.HostB); e == nil || e.State != neigh.Reachable {
			t.Fatalf("neighbour after answering the probe: %+v, want reachable", e)
		}
		l.Advance(5 * time.Second)
		none(t, l, "after confirmation")
	})
	t.Run("unanswered", func(t *testing.T) {
		l := resolve(t)
		for range 2 {
			l.Advance(time.Second)
			wantARPRequest(t, one(t, l, 1, "further probe"), dptest.HostBMAC, dptest.HostB)
		}
		l.Advance(time.Second)
		none(t, l, "removal")
		if e := neighbor(l, 1, dptest.HostB); e != nil {
			t.Fatalf("unanswered neighbour still there: %+v", e)
		}
		// The gateway route remains; its next packet resolves afresh.
		l.Send(0, udpFrom(remoteDst, 2))
		wantARPRequest(t, one(t, l, 1, "after removal"), dptest.Broadcast, dptest.HostB)
	})
	t.Run("static never ages", func(t *testing.T) {
		l := newLab(t, false, true)
		l.Advance(10 * reachable)
		none(t, l, "static")
		if e := neighbor(l, 1, dptest.HostB); e == nil || e.State != neigh.Static {
			t.Fatalf("static neighbour: %+v", e)
		}
	})
}

func TestRouterAddNeighbor(t *testing.T) {
	tests := []struct {
		name    string
		iface   int
		addr    string
		wantErr string
	}{
		{"on the subnet", 1, "10.0.2.7", ""},
		{"off every subnet", 1, "10.0.3.5", "10.0.3.5 is not on a subnet of if1 (10.0.2.0/24)"},
		{"another interface's subnet", 1, "10.0.1.5", "10.0.1.5 is not on a subnet of if1 (10.0.2.0/24)"},
		{"the router's own address", 1, "10.0.2.1", "10.0.2.1 is if1's own address: a neighbour must be another host"},
		{"the subnet's broadcast address", 1, "10.0.2.255", "10.0.2.255 is the broadcast address of if1's subnet 10.0.2.0/24"},
		{"the subnet's network address", 1, "10.0.2.0", "10.0.2.0 is the network address of if1's subnet 10.0.2.0/24"},
		{"no such interface", 5, "10.0.2.7", "no interface 5"},
		{"negative interface", -1, "10.0.2.7", "no interface -1"},
		{"IPv6 off the subnets", 1, "2001:db8::1", "not on a subnet of if1"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			l := newLab(t, false, false)
			a := netip.MustParseAddr(tc.addr)
			err := l.Router.AddNeighbor(tc.iface, a, macNew)
			if tc.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				if e := neighbor(l, tc.iface, a); e == nil || e.State != neigh.Static || e.MAC != macNew {
					t.Fatalf("static neighbour: %+v", e)
				}
				return
			}
			if err == nil {
				t.Fatalf("AddNeighbor(%d, %v) accepted", tc.iface, a)
			}
			if !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("error %q, want it to say %q", err, tc.wantErr)
			}
			if n := len(l.Router.Neighbors()); n != 0 {
				t.Fatalf("rejected neighbour added (%d neighbours)", n)
			}
		})
	}
}

// TestAddNeighborFlushesQueue: configuring a static entry for a neighbour
// being resolved sends its held packets.
func TestRouterAddNeighborFlushesQueue(t *testing.T) {
	l := newLab(t, false, false)
	l.Send(0, udpFrom(remoteDst, 1))
	wantARPRequest(t, one(t, l, 1, "request"), dptest.Broadcast, dptest.HostB)
	if err := l.Router.AddNeighbor(1, dptest.HostB, dptest.HostBMAC); err != nil {
		t.Fatal(err)
	}
	l.Run()
	wantForwarded(t, one(t, l, 1, "held packet"), dptest.HostBMAC, dptest.R1MAC, remoteDst, 1)
}

// TestRouterAdjacencyLimit: neighbours beyond the adjacency space are
// refused with an error, and the fixed adjacencies (no route, local) are
// never overwritten (index wrap-around).
func TestRouterAdjacencyLimit(t *testing.T) {
	r := control.New(control.Options{Neigh: neigh.Options{MaxEntries: 1 << 20}})
	if _, err := r.AddInterface(control.IfaceConfig{Name: "big", MAC: dptest.R0MAC, Addrs: []netip.Prefix{netip.MustParsePrefix("10.0.0.1/8")}}); err != nil {
		t.Fatal(err)
	}
	var err error
	n := 0
	for i := 2; i < 40000 && err == nil; i++ {
		a := netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)})
		if err = r.AddNeighbor(0, a, [6]byte{2, 0, 0, byte(i >> 16), byte(i >> 8), byte(i)}); err == nil {
			n++
		}
	}
	if err == nil || !strings.Contains(err.Error(), "adjacency table full") {
		t.Fatalf("after %d neighbours: err %v, want adjacency table full", n, err)
	}
	r.Publish()
	cfg := r.Config().Load()
	if cfg.Adj[0].Kind != dp.AdjNone {
		t.Fatalf("adjacency 0 is %v, want none", cfg.Adj[0].Kind)
	}
	local := 0
	for _, a := range cfg.Adj {
		if a.Kind == dp.AdjLocal {
			local++
		}
	}
	if local != 1 {
		t.Fatalf("%d local adjacencies, want 1", local)
	}
	if got := len(r.Neighbors()); got != n {
		t.Fatalf("%d neighbours kept, want %d (the refused one removed)", got, n)
	}
}

// TestRouterHostRouteRestored: a resolved neighbour whose host route was
// deleted by hand is routed again (the route is put back) instead of
// circling between the worker and the control plane.
func TestRouterHostRouteRestored(t *testing.T) {
	l := newLab(t, false, true)
	// DeleteRoute refuses a neighbour's host route (not a configured
	// route): drop it behind the router's back.
	if err := l.Router.DeleteRoute(netip.PrefixFrom(dptest.HostB, 32)); err == nil || !strings.Contains(err.Error(), "host route of neighbour 10.0.2.2") {
		t.Fatalf("DeleteRoute of a host route: %v", err)
	}
	l.Router.DropFIBEntryForTest(netip.PrefixFrom(dptest.HostB, 32))
	l.Router.Publish()
	l.Send(0, udpFrom(dptest.HostB, 7))
	wantForwarded(t, one(t, l, 1, "after the host route was deleted"), dptest.HostBMAC, dptest.R1MAC, dptest.HostB, 7)
	if st := l.Router.Stats(); st.Publishes > 20 {
		t.Fatalf("%d publishes: the packet looped", st.Publishes)
	}
	if d := l.Counters().Drops[ip4.ResolveLoop]; d != 0 {
		t.Fatalf("resolve-loop drops %d, want 0", d)
	}
}

// TestRouterARPQueueDropReasons (issue 17, defect 5): packets waiting for
// ARP are held, and dropped under a reason: the queue overflowing, the
// neighbour deleted while they wait; none vanishes uncounted.
func TestRouterARPQueueDropReasons(t *testing.T) {
	l := newLab(t, false, false)
	maxPending := uint64(neigh.New(neigh.Options{}).Options().MaxPending)
	const sent = 10
	for i := range sent {
		l.Send(0, udpFrom(dptest.HostB, uint16(100+i)))
	}
	st := l.Router.Stats()
	if st.Held != maxPending || st.Drops[control.DropQueueFull] != sent-maxPending || st.QueueDrops != sent-maxPending {
		t.Fatalf("stats %+v: want %d held, %d queue-full", st, maxPending, sent-maxPending)
	}
	if err := l.Router.DeleteNeighbor(1, dptest.HostB); err != nil {
		t.Fatal(err)
	}
	st = l.Router.Stats()
	if st.Held != 0 || st.Drops[control.DropNeighborGone] != maxPending || st.QueueDrops != sent {
		t.Fatalf("stats after the delete %+v: want 0 held, %d neighbor-deleted, %d in all", st, maxPending, sent)
	}
	if c := l.Counters(); c.Resolves != sent {
		t.Errorf("data plane handed %d packets to wait for ARP, want %d", c.Resolves, sent)
	}
	for d := control.Drop(0); d < control.NumDrops; d++ {
		if d.Name() == "" || d.Desc() == "" || !strings.HasPrefix(d.String(), "arp-queue/") {
			t.Errorf("drop %d: name %q desc %q", d, d.Name(), d.Desc())
		}
	}
}

// TestRouterFlushNeighbors: when a port's device goes away, its learned
// neighbours are forgotten (their routes re-resolve, with a broadcast
// request, on the next packet), its static ones stay, and other
// interfaces' neighbours are untouched.
func TestRouterFlushNeighbors(t *testing.T) {
	static := netip.MustParseAddr("10.0.2.7")
	l := newLab(t, true, false)
	if err := l.Router.AddNeighbor(1, static, macNew); err != nil {
		t.Fatal(err)
	}
	learnHostB(t, l)
	l.Send(0, udpFrom(remoteDst, 1))
	wantForwarded(t, one(t, l, 1, "before the flush"), dptest.HostBMAC, dptest.R1MAC, remoteDst, 1)

	if n := l.Router.FlushNeighbors(0); n != 0 {
		t.Fatalf("FlushNeighbors(0) removed %d, want 0: if0 has only a static neighbour", n)
	}
	if n := l.Router.FlushNeighbors(1); n != 1 {
		t.Fatalf("FlushNeighbors(1) removed %d, want 1 (host B)", n)
	}
	l.Router.Publish()
	if e := neighbor(l, 1, dptest.HostB); e != nil {
		t.Fatalf("host B still known after the flush: %+v", e)
	}
	if e := neighbor(l, 1, static); e == nil || e.State != neigh.Static {
		t.Fatalf("static neighbour after the flush: %+v", e)
	}
	if e := neighbor(l, 0, dptest.HostA); e == nil || e.State != neigh.Static {
		t.Fatalf("if0's neighbour after flushing if1: %+v", e)
	}
	// The gateway route stays and resolves afresh: a broadcast request,
	// and the packet waits for the (new) answer.
	l.Send(0, udpFrom(remoteDst, 2))
	wantARPRequest(t, one(t, l, 1, "after the flush"), dptest.Broadcast, dptest.HostB)
	l.Send(1, replyFromHostB(macNew))
	wantForwarded(t, one(t, l, 1, "held packet"), macNew, dptest.R1MAC, remoteDst, 2)
	// And a packet to host B itself (its host route went with the entry).
	l.Send(0, udpFrom(dptest.HostB, 3))
	wantForwarded(t, one(t, l, 1, "to host B"), macNew, dptest.R1MAC, dptest.HostB, 3)
}

// TestRouterFlushCountsHeld: packets waiting for ARP when their
// neighbour is flushed (its link went down) are dropped under
// arp-queue/neighbor-deleted, not lost from the accounting.
func TestRouterFlushCountsHeld(t *testing.T) {
	l := newLab(t, false, false)
	maxPending := uint64(neigh.New(neigh.Options{}).Options().MaxPending)
	const sent = 10
	for i := range sent {
		l.Send(0, udpFrom(dptest.HostB, uint16(100+i)))
	}
	if st := l.Router.Stats(); st.Held != maxPending {
		t.Fatalf("stats %+v: want %d held", st, maxPending)
	}
	if n := l.Router.FlushNeighbors(1); n != 1 {
		t.Fatalf("FlushNeighbors(1) removed %d, want 1 (host B, incomplete)", n)
	}
	if st := l.Router.Stats(); st.Held != 0 || st.Drops[control.DropNeighborGone] != maxPending || st.QueueDrops != sent {
		t.Fatalf("stats after the flush %+v: want 0 held, %d neighbor-deleted, %d in all", st, maxPending, sent)
	}
}

// TestRouterRewriteCarriesEtherType: a resolved neighbour's adjacency
// holds the whole 14-byte Ethernet header ip4-rewrite copies: the
// neighbour's MAC, the interface's, and the EtherType (IPv4) — for a
// static neighbour, a VLAN sub-interface's (the tags are apart) and one
// learnt from ARP; an unresolved one has no rewrite yet.
func TestRouterRewriteCarriesEtherType(t *testing.T) {
	l := dptest.New(t, dptest.Options{VLANs: true})
	// rewrite is the Ethernet header an adjacency should hold: dst, src,
	// tags, IPv4.
	rewrite := func(dst, src [6]byte, tags ...byte) []byte {
		return append(append(append(dst[:], src[:]...), tags...), 0x08, 0x00)
	}
	adjOf := func(a netip.Addr) dp.Adj {
		cfg := l.Router.Config().Load()
		return cfg.Adj[cfg.FIB.Lookup(u32(a))]
	}
	for _, c := range []struct {
		host     netip.Addr
		dst, src [6]byte
		tags     []byte
	}{
		{dptest.HostB, dptest.HostBMAC, dptest.R1MAC, nil},
		{dptest.HostA, dptest.HostAMAC, dptest.R0MAC, nil},
		{dptest.SubHost[0], dptest.HostAMAC, dptest.R0MAC, []byte{0x81, 0x00, 0x00, 100}},
		{dptest.SubHost[1], dptest.HostAMAC, dptest.R0MAC, []byte{0x88, 0xa8, 0x00, 10, 0x81, 0x00, 0x00, 20}},
	} {
		a := adjOf(c.host)
		want := rewrite(c.dst, c.src, c.tags...)
		// The header is right-aligned in L2, zeros in front of it.
		var l2 [dp.MaxL2]byte
		copy(l2[dp.MaxL2-len(want):], want)
		if a.Kind != dp.AdjForward || a.L2 != l2 || int(a.TagLen) != len(c.tags) || !bytes.Equal(a.Header(), want) {
			t.Errorf("adjacency of %v: kind %d L2 % x tags %d; want forward, % x, %d", c.host, a.Kind, a.L2, a.TagLen, l2, len(c.tags))
		}
	}

	l = newLab(t, false, false)
	l.Send(1, dptest.ARPFrame(hdr.ARPRequest, dptest.Broadcast, dptest.HostBMAC, dptest.HostB, zeroMAC, dptest.R1))
	l.Run()
	if a := adjOf(dptest.HostB); a.Kind != dp.AdjForward || !bytes.Equal(a.Header(), rewrite(dptest.HostBMAC, dptest.R1MAC)) {
		t.Fatalf("adjacency of host B learnt from ARP: kind %d header % x", a.Kind, a.Header())
	}
	if err := l.Router.AddRoute(netip.MustParsePrefix("203.0.113.0/24"), netip.MustParseAddr("10.0.2.9")); err != nil {
		t.Fatal(err)
	}
	l.Router.Publish()
	if a := adjOf(netip.MustParseAddr("203.0.113.1")); a.Kind != dp.AdjIncomplete || a.L2 != ([dp.MaxL2]byte{}) {
		t.Fatalf("adjacency of an unresolved gateway: kind %d L2 % x, want incomplete and none", a.Kind, a.L2)
	}
}
