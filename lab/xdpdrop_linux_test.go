package lab

import (
	"context"
	"testing"
	"time"

	"github.com/softnet/softnet/internal/netns"
	"github.com/softnet/softnet/internal/testenv"
)

// TestDropAtRouter: with the XDP drop program on ra, Linux forwarding
// forwards nothing, yet ra counts every frame A sent (what the veth
// scenario's generator_limit_mpps reads); detached, forwarding works again.
func TestDropAtRouter(t *testing.T) {
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
	ping := func() Ping {
		p, _ := RunPing(ctx, topo.A, AddrB.Addr().String(), 5, 50*time.Millisecond)
		return p
	}
	if p := ping(); p.Received == 0 {
		t.Fatalf("Linux does not forward before the drop: %s", p.Output)
	}
	before, err := netns.LinkStats(ctx, topo.R, DevRA)
	if err != nil {
		t.Fatal(err)
	}
	detach, err := topo.DropAtRouter()
	if err != nil {
		t.Fatal(err)
	}
	if p := ping(); p.Received != 0 {
		t.Errorf("%d echo replies through the XDP drop: %s", p.Received, p.Output)
	}
	after, err := netns.LinkStats(ctx, topo.R, DevRA)
	if err != nil {
		t.Fatal(err)
	}
	if got := after.Sub(before).RxPackets; got < 5 {
		t.Errorf("ra counted %d frames under the drop, want at least the 5 echo requests", got)
	}
	if err := detach(); err != nil {
		t.Fatal(err)
	}
	if p := ping(); p.Received == 0 {
		t.Errorf("Linux does not forward after the drop is detached: %s", p.Output)
	}
}
