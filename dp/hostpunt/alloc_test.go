package hostpunt_test

import (
	"net/netip"
	"testing"

	"github.com/softnet/softnet/bench"
	"github.com/softnet/softnet/control"
	"github.com/softnet/softnet/dp"
	"github.com/softnet/softnet/dp/dptest"
	"github.com/softnet/softnet/hdr"
	"github.com/softnet/softnet/port"
	"github.com/softnet/softnet/port/mem"
)

// TestHostPuntZeroAlloc: a poll of 256 frames that host-punt copies to
// the punt ring (TCP to the router's address, on an interface with a host
// interface) allocates nothing; the ring is drained between polls as the
// control plane would.
func TestHostPuntZeroAlloc(t *testing.T) {
	r := control.New(control.Options{})
	in, err := r.AddInterface(control.IfaceConfig{Name: "in0", MAC: bench.InMAC, Addrs: []netip.Prefix{bench.InAddr}})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.SetHostInterface(in, true); err != nil {
		t.Fatal(err)
	}
	r.SetHostPunt(1<<30, 1<<30)
	r.Publish()
	var frames [][]byte
	for i := range 512 {
		f := make([]byte, 64)
		bench.UDPFrame(f, bench.InMAC, bench.PeerMAC, dptest.U32(bench.SrcAddr), dptest.U32(bench.InAddr.Addr()), uint16(1024+i), 179, 64)
		ip := hdr.IPv4(f[hdr.EthernetLen:])
		ip.SetProtocol(hdr.ProtoTCP)
		ip.SetChecksum(0)
		ip.SetChecksum(ip.ComputeChecksum())
		frames = append(frames, f)
	}
	g := mem.NewGen("in0", frames)
	w := dp.NewWorker(0, r.Config(), []port.Port{g}, []dp.RxQueue{{Iface: in}}, dp.Options{})
	drain := func() {
		for m := w.Punt().Peek(); m != nil; m = w.Punt().Peek() {
			w.Punt().Release()
		}
	}
	for range 4 {
		w.Poll()
		drain()
	}
	if a := testing.AllocsPerRun(100, func() { w.Poll(); drain() }); a != 0 {
		t.Fatalf("%v allocations per poll of 256 host punts, want 0", a)
	}
	g.SetLimit(g.Generated())
	w.Poll()
	if c := w.Counters(); c.HostPuntTCP == 0 || c.TotalDrops() != 0 {
		t.Fatalf("host punts %d, drops %d: want every frame punted", c.HostPuntTCP, c.TotalDrops())
	}
}
