package lab

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/softnet/softnet/internal/netns"
	"github.com/softnet/softnet/internal/testenv"
)

// TestXDPGenSendsCount: the XDP generator sends exactly the count it is
// asked for, and says so: the router's ingress veth receives that many
// (XDP_PASS there), a0 counts that many sent, and Linux forwards them to
// B's link.
func TestXDPGenSendsCount(t *testing.T) {
	testenv.Root(t)
	testenv.Tools(t, "ip", "ping")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if _, err := CleanStale(ctx); err != nil {
		t.Fatal(err)
	}
	topo, err := NewOffloadsOff(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer topo.Close()
	if err := topo.KernelForwarding(ctx, true); err != nil {
		t.Fatal(err)
	}
	if p, _ := RunPing(ctx, topo.A, AddrB.Addr().String(), 3, 50*time.Millisecond); p.Received == 0 {
		t.Fatalf("Linux does not forward: %s", p.Output)
	}
	router, err := topo.RouterMAC(ctx)
	if err != nil {
		t.Fatal(err)
	}
	frame, err := FloodFrame(router, 64)
	if err != nil {
		t.Fatal(err)
	}
	g, err := NewXDPGen(topo.A, DevA, frame)
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	detach, err := topo.PassAtRouter()
	if err != nil {
		t.Fatal(err)
	}
	defer detach()
	stats := func(ns, dev string) netns.Stats {
		s, err := netns.LinkStats(ctx, ns, dev)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	// Few enough that Linux forwards them all (its backlog holds 1000),
	// then many for the generator's own count.
	for _, n := range []uint64{500, 300000} {
		a0, ra, b0 := stats(topo.A, DevA), stats(topo.R, DevRA), stats(topo.B, DevB)
		sent, err := g.Send(ctx, n, 0)
		if err != nil {
			t.Fatal(err)
		}
		if sent != n {
			t.Errorf("asked for %d frames, the generator says it sent %d", n, sent)
		}
		// a0 counts what it handed to ra (tx) and what ra's full ring
		// refused (tx_dropped), ra the same as rx and rx_dropped; host
		// A's own few frames meanwhile (ARP) count too.
		var gotA, gotRA, gotB uint64
		for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
			a, r := stats(topo.A, DevA).Sub(a0), stats(topo.R, DevRA).Sub(ra)
			gotA, gotRA, gotB = a.TxPackets+a.TxDropped, r.RxPackets+r.RxDropped, stats(topo.B, DevB).Sub(b0).RxPackets
			if gotA >= n && gotRA >= n && (n > 1000 || gotB >= n) {
				break
			}
		}
		const slack = 3
		if gotA < n || gotA > n+slack || gotRA < n || gotRA > n+slack {
			t.Errorf("sent %d: %s counted %d sent (with tx drops), %s %d received (with rx drops); want both %d (+%d for host A's own frames)", n, DevA, gotA, DevRA, gotRA, n, slack)
		}
		if n <= 1000 && (gotB < n || gotB > n+slack) {
			t.Errorf("sent %d: B's link received %d through Linux, want %d", n, gotB, n)
		}
		if g.CPUTime() <= 0 {
			t.Errorf("sent %d: the generator reports no CPU time (%v)", n, g.CPUTime())
		}
		t.Logf("sent %d: a0 tx+drops %d, ra rx+drops %d, b0 rx %d", n, gotA, gotRA, gotB)
	}
}

// TestXDPGenRefuses: frames the generator cannot send are refused with
// what was wrong.
func TestXDPGenRefuses(t *testing.T) {
	for _, c := range []struct {
		router string
		size   int
		want   string
	}{
		{MACRA, 41, "flood frame of 41 bytes: use 42..1514"},
		{MACRA, 1515, "flood frame of 1515 bytes: use 42..1514"},
		{"nonsense", 64, `router MAC "nonsense": want an Ethernet address`},
	} {
		if _, err := FloodFrame(c.router, c.size); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("FloodFrame(%q, %d): %v, want %q", c.router, c.size, err, c.want)
		}
	}
	if _, err := NewXDPGen("any", DevA, make([]byte, 13)); err == nil || !strings.Contains(err.Error(), "a 13-byte frame has no Ethernet header") {
		t.Errorf("NewXDPGen with a 13-byte frame: %v", err)
	}
}
