package dp_test

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

var (
	ecmpPrefix = netip.MustParsePrefix("203.0.113.0/24")
	hostC      = netip.MustParseAddr("10.0.2.3")
	hostCMAC   = [6]byte{0x02, 0xcc, 0, 0, 0, 0x02}
)

// ecmpFlow is a UDP packet from host A to 203.0.113.(1+i%200), source
// port 1000+i: flow i.
func ecmpFlow(i int) []byte {
	dst := netip.AddrFrom4([4]byte{203, 0, 113, byte(1 + i%200)})
	f := dptest.IPv4Frame(dptest.R0MAC, dptest.HostAMAC, dptest.HostA, dst, hdr.ProtoUDP, 64, false, dptest.UDP(uint16(1000+i), 53, 18))
	return f
}

// dstMAC returns the destination MAC of an output frame.
func dstMAC(f []byte) [6]byte { return [6]byte(f[:6]) }

// TestECMPSpreadsFlowsAndKeepsEach: a kernel route with two next hops
// (weights 1 and 3) spreads 2000 flows over both in about that
// proportion, every packet of a flow takes the same next hop, and a next
// hop whose interface goes down is out of the group at the next
// snapshot: all flows then take the other.
func TestECMPSpreadsFlowsAndKeepsEach(t *testing.T) {
	l := dptest.New(t, dptest.Options{})
	if err := l.Router.AddNeighbor(1, hostC, hostCMAC); err != nil {
		t.Fatal(err)
	}
	res := l.Router.ApplyKernel([]control.KernelRoute{{Prefix: ecmpPrefix, Proto: "bgp", NextHops: []control.NextHop{
		{Iface: 1, Via: dptest.HostB, Weight: 1}, {Iface: 1, Via: hostC, Weight: 3},
	}}}, nil)
	if res.Added != 1 || len(res.Errors) != 0 {
		t.Fatalf("ApplyKernel: %+v", res)
	}
	const flows = 2000
	first := make([][6]byte, flows)
	count := map[[6]byte]int{}
	for round := range 2 {
		for i := range flows {
			l.Ports[0].Push(ecmpFlow(i))
			if i%200 == 199 {
				l.Run()
			}
		}
		l.Run()
		out := l.Out(1)
		if len(out) != flows {
			t.Fatalf("round %d: %d frames out of if1, want %d", round, len(out), flows)
		}
		for i, f := range out { // the queue port keeps the order
			m := dstMAC(f)
			if round == 0 {
				first[i] = m
				count[m]++
			} else if m != first[i] {
				t.Fatalf("flow %d went to %x, then to %x: a flow must keep its next hop", i, first[i], m)
			}
		}
	}
	b, c := count[dptest.HostBMAC], count[hostCMAC]
	if b+c != flows || b < flows/4-150 || b > flows/4+150 {
		t.Fatalf("flows to B (weight 1) %d, to C (weight 3) %d: want about %d and %d", b, c, flows/4, 3*flows/4)
	}

	// Members on two interfaces; if1's link goes down: every flow goes
	// out of if0 to host A, at once.
	res = l.Router.ApplyKernel([]control.KernelRoute{{Prefix: ecmpPrefix, Proto: "bgp", NextHops: []control.NextHop{
		{Iface: 0, Via: dptest.HostA}, {Iface: 1, Via: dptest.HostB},
	}}}, nil)
	if res.Changed != 1 || len(res.Errors) != 0 {
		t.Fatalf("ApplyKernel: %+v", res)
	}
	for i := range 200 {
		l.Ports[0].Push(ecmpFlow(i))
	}
	l.Run()
	if a, b := len(l.Out(0)), len(l.Out(1)); a == 0 || b == 0 {
		t.Fatalf("both up: %d flows out of if0, %d out of if1, want both used", a, b)
	}
	if err := l.Router.SetLinkUp(1, false); err != nil {
		t.Fatal(err)
	}
	l.Router.Publish()
	for i := range 200 {
		l.Ports[0].Push(ecmpFlow(i))
	}
	l.Run()
	if a, b := len(l.Out(0)), len(l.Out(1)); a != 200 || b != 0 {
		t.Fatalf("if1 down: %d flows out of if0, %d out of if1, want 200 and 0", a, b)
	}
	m, ok := l.Router.Lookup(netip.MustParseAddr("203.0.113.7"))
	if !ok || m.Kind != dp.AdjGroup || m.Origin != "bgp" || len(m.NextHops) != 2 {
		t.Fatalf("Lookup: %+v, want an ecmp route from bgp with 2 next hops", m)
	}
	for _, h := range m.NextHops {
		if h.Live != (h.Iface == 0) {
			t.Fatalf("next hop %+v: live must be false only for if1's", h)
		}
	}
}

// TestECMPZeroAlloc: forwarding through an ECMP group allocates nothing.
func TestECMPZeroAlloc(t *testing.T) {
	r := control.New(control.Options{})
	in, err := r.AddInterface(control.IfaceConfig{Name: "in0", MAC: bench.InMAC, Addrs: []netip.Prefix{bench.InAddr}})
	if err != nil {
		t.Fatal(err)
	}
	out, err := r.AddInterface(control.IfaceConfig{Name: "out0", MAC: bench.OutMAC, Addrs: []netip.Prefix{bench.OutAddr}})
	if err != nil {
		t.Fatal(err)
	}
	var hops []control.NextHop
	for i := 1; i <= 4; i++ {
		if err := r.AddNeighbor(out, bench.Gateway(i), bench.GatewayMAC(i)); err != nil {
			t.Fatal(err)
		}
		hops = append(hops, control.NextHop{Iface: out, Via: bench.Gateway(i), Weight: i})
	}
	if res := r.ApplyKernel([]control.KernelRoute{{Prefix: ecmpPrefix, NextHops: hops}}, nil); res.Added != 1 {
		t.Fatalf("ApplyKernel: %+v", res)
	}
	g, s := mem.NewGen("in0", bench.Frames([]netip.Prefix{ecmpPrefix}, 1024, 64)), mem.NewSink("out0")
	ports := make([]port.Port, 2)
	ports[in], ports[out] = g, s
	w := dp.NewWorker(0, r.Config(), ports, []dp.RxQueue{{Iface: in}}, dp.Options{})
	for range 4 {
		w.Poll()
	}
	if a := testing.AllocsPerRun(200, func() { w.Poll() }); a != 0 {
		t.Fatalf("%v allocations per poll through an ECMP group, want 0", a)
	}
	if s.Sent() == 0 {
		t.Fatal("nothing forwarded through the ECMP group")
	}
}
