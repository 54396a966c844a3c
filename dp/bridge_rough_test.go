package dp_test

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/softnet/softnet/control"
	"github.com/softnet/softnet/dp"
	"github.com/softnet/softnet/dp/dptest"
	l2node "github.com/softnet/softnet/dp/l2"
	"github.com/softnet/softnet/hdr"
	"github.com/softnet/softnet/port"
	"github.com/softnet/softnet/port/mem"
)

// twoWorkers replaces l's worker by two on the same ports: worker 0
// receives p0, p2 and p3, worker 1 receives p1 (l.send polls both).
func (l *bridgeLab) twoWorkers() [2]*dp.Worker {
	var ports []port.Port
	for _, p := range l.ports {
		ports = append(ports, p)
	}
	ws := [2]*dp.Worker{
		dp.NewWorker(0, l.r.Config(), ports, []dp.RxQueue{{Iface: 0}, {Iface: 2}, {Iface: 3}}, dp.Options{PoolSize: bridgeLabPool}),
		dp.NewWorker(1, l.r.Config(), ports, []dp.RxQueue{{Iface: 1}}, dp.Options{PoolSize: bridgeLabPool}),
	}
	for _, w := range ws {
		l2node.SetClock(w, func() int64 { return l.now })
	}
	l.r.AttachWorkers(ws[:])
	l.w, l.w1 = ws[0], ws[1]
	return ws
}

// TestBridgeLearningSharedAcrossWorkers: a MAC one worker learned is
// known to the other, which sends to it instead of flooding.
func TestBridgeLearningSharedAcrossWorkers(t *testing.T) {
	l := newBridgeLab(t, control.BridgeConfig{})
	ws := l.twoWorkers()
	// A on p0 (worker 0) to unknown B: flooded; worker 0 learns A.
	l.send(0, l2(bmacB, bmacA, 1))
	l.expect([4]int{0, 1, 1, 0})
	// B on p1 (worker 1) answers A: worker 1 never saw A, but worker 0
	// learned it, so it goes to p0 only.
	l.send(1, l2(bmacA, bmacB, 2))
	l.expect([4]int{1, 0, 0, 0})
	// And back: worker 0 knows B from worker 1's table.
	l.send(0, l2(bmacB, bmacA, 3))
	l.expect([4]int{0, 1, 0, 0})
	if f0, f1 := ws[0].Counters().BridgeFloods, ws[1].Counters().BridgeFloods; f0 != 1 || f1 != 0 {
		t.Errorf("floods: worker 0 %d, worker 1 %d; want 1 and 0", f0, f1)
	}
	// A moves to p1 (seen by worker 1, later than worker 0 saw it on
	// p0): the newest entry wins on both workers.
	l.now += 10
	l.send(1, l2(bmacB, bmacA, 4)) // same member as B: filtered
	l.expect([4]int{0, 0, 0, 0})
	l.send(2, l2(bmacA, bmacC, 5)) // untagged p2 is no member: dropped
	l.send(0, l2(bmacA, bmacC, 6)) // C on p0 (worker 0) to A: now on p1
	l.expect([4]int{0, 1, 0, 0})
	// The MAC listing still says which worker learned what.
	for _, m := range l.r.Bridges()[0].MACs {
		if m.MAC == bmacB && (m.Worker != 1 || m.Member != "p1") {
			t.Errorf("B: %+v, want worker 1 on p1", m)
		}
	}
}

// TestBridgeMemberDownFlushesMACs: a MAC learned on a member that goes
// down is not sent to (its frames flood to the members up), and is
// forgotten: when the member comes back, frames to it flood until it is
// learned again. With two workers, the other worker's view follows too.
func TestBridgeMemberDownFlushesMACs(t *testing.T) {
	l := newBridgeLab(t, control.BridgeConfig{})
	l.twoWorkers()
	l.send(0, l2(bmacB, bmacA, 1)) // flood; A on p0 (worker 0)
	l.send(1, l2(bmacA, bmacB, 2)) // to p0; B on p1 (worker 1)
	l.expect([4]int{1, 1, 1, 0})
	l.send(0, l2(bmacB, bmacA, 3))
	l.expect([4]int{0, 1, 0, 0})
	if err := l.r.SetLinkUp(1, false); err != nil {
		t.Fatal(err)
	}
	l.r.Publish()
	// B's member p1 is down: A to B floods to p2.100 instead of going to
	// a member that drops it.
	l.send(0, l2(bmacB, bmacA, 4))
	l.expect([4]int{0, 0, 1, 0})
	if err := l.r.SetLinkUp(1, true); err != nil {
		t.Fatal(err)
	}
	l.r.Publish()
	// p1 is back, B was flushed: flooded until B speaks again.
	l.send(0, l2(bmacB, bmacA, 5))
	l.expect([4]int{0, 1, 1, 0})
	for _, m := range l.r.Bridges()[0].MACs {
		if m.MAC == bmacB {
			t.Errorf("B still listed after its member went down: %+v", m)
		}
	}
	l.send(1, l2(bmacA, bmacB, 6))
	l.expect([4]int{1, 0, 0, 0})
	l.send(0, l2(bmacB, bmacA, 7))
	l.expect([4]int{0, 1, 0, 0})
}

// TestBridgeFloodsToManyMembers: a bridge of 70 members is accepted and
// floods to all 69 others (it used to be refused above 64, and flooding
// stopped at 64 targets).
func TestBridgeFloodsToManyMembers(t *testing.T) {
	const n = 70
	r := control.New(control.Options{})
	var names []string
	var ports []port.Port
	var qs []*mem.Queue
	for i := range n {
		name := fmt.Sprintf("m%d", i)
		if _, err := r.AddInterface(control.IfaceConfig{Name: name, MAC: [6]byte{0x02, 0x42, 0, 0, 1, byte(i)}}); err != nil {
			t.Fatal(err)
		}
		names = append(names, name)
		q := mem.NewQueue(name)
		qs, ports = append(qs, q), append(ports, q)
	}
	if _, err := r.AddBridge(control.BridgeConfig{Name: "big", Members: names}); err != nil {
		t.Fatalf("a bridge of %d members: %v", n, err)
	}
	r.Publish()
	w := dp.NewWorker(0, r.Config(), ports, []dp.RxQueue{{Iface: 0}}, dp.Options{PoolSize: 512})
	r.AttachWorkers([]*dp.Worker{w})
	qs[0].Push(l2(dptest.Broadcast, bmacA, 1), l2(bmacB, bmacA, 2))
	for range 10 {
		w.Poll()
	}
	for i := 1; i < n; i++ {
		if got := len(qs[i].Take()); got != 2 {
			t.Errorf("member m%d sent %d frames, want 2 (a broadcast and an unknown unicast)", i, got)
		}
	}
	if got := len(qs[0].Take()); got != 0 {
		t.Errorf("the receiving member sent %d, want 0", got)
	}
	if free, size := w.Pool().Free(), w.Pool().Size(); free != size {
		t.Fatalf("buffer leak: %d of %d", free, size)
	}
}

// TestBridgeBVIMTUCapped: the routed interface's MTU is capped to the
// smallest member MTU (p2.100's, 1496 under p2's 1500), follows a member
// lowered later, and cannot be set above it; the data plane's snapshot
// and show bridge say so.
func TestBridgeBVIMTUCapped(t *testing.T) {
	l := newBridgeLab(t, control.BridgeConfig{})
	const bvi = bsub100 + 1
	check := func(want, members int, of string) {
		t.Helper()
		if got := l.r.InterfaceMTU(bvi); got != want {
			t.Errorf("bvi0 MTU %d, want %d", got, want)
		}
		l.r.Publish()
		if got := l.r.Config().Load().Ifaces[bvi].MTU; got != want {
			t.Errorf("snapshot: bvi0 MTU %d, want %d", got, want)
		}
		if b := l.r.Bridges()[0]; b.BVIMTU != want || b.MemberMTU != members || b.MemberMTUOf != of {
			t.Errorf("Bridges(): BVI MTU %d, members' %d of %s; want %d, %d of %s", b.BVIMTU, b.MemberMTU, b.MemberMTUOf, want, members, of)
		}
	}
	check(1496, 1496, "p2.100")
	if err := l.r.SetInterfaceMTU(1, 1400); err != nil {
		t.Fatal(err)
	}
	check(1400, 1400, "p1")
	err := l.r.SetInterfaceMTU(bvi, 1450)
	if err == nil || !strings.Contains(err.Error(), "above bridge br0's smallest member MTU (p1's, 1400)") {
		t.Errorf("bvi0 MTU 1450 over p1's 1400: %v", err)
	}
	if err := l.r.SetInterfaceMTU(bvi, 1300); err != nil {
		t.Fatal(err)
	}
	check(1300, 1400, "p1")
	// A routed packet into the bridge over the capped MTU with DF set is
	// answered with "fragmentation needed" (MTU 1300), not sent to a
	// member.
	l.send(0, l2(bmacC, bmacA, 1)) // A on p0
	l.expect([4]int{0, 1, 1, 0})
	if err := l.r.AddNeighbor(bvi, bhostA, bmacA); err != nil {
		t.Fatal(err)
	}
	l.r.Publish()
	big := dptest.IPv4Frame(p3MAC, bmacC, p3Host, bhostA, hdr.ProtoUDP, 64, true, dptest.UDP(2, 1, 1400))
	l.send(3, big)
	f := l.expect([4]int{0, 0, 0, 1})
	ip := hdr.IPv4(f[3][0][hdr.EthernetLen:])
	if icmp := ip.Payload(); ip.Protocol() != hdr.ProtoICMP || icmp[0] != 3 || icmp[1] != 4 || binary.BigEndian.Uint16(icmp[6:8]) != 1300 {
		t.Fatalf("want ICMP fragmentation needed, MTU 1300: % x", f[3][0][:40])
	}
}

// TestShortFramesPadded: a frame shorter than 60 bytes leaves padded to
// 60 with zeros, even in a buffer that held a longer frame before (the
// bytes past the frame are not leaked), tagged or not; the ARP reply the
// router makes (42 bytes) too. Counters count the padded length.
func TestShortFramesPadded(t *testing.T) {
	l := newBridgeLab(t, control.BridgeConfig{})
	long := l2(bmacB, bmacA, 1)
	long = append(long, bytes.Repeat([]byte{0xee}, 1000)...)
	for i := 15; i < len(long); i++ {
		long[i] = 0xee
	}
	l.send(0, long) // flooded: its buffers (and their copies') held 0xee
	l.expect([4]int{0, 1, 1, 0})
	short := l2(bmacB, bmacA, 2)[:50]
	l.send(0, short)
	f := l.expect([4]int{0, 1, 1, 0})
	want := append(append([]byte(nil), short...), make([]byte, 10)...)
	if !bytes.Equal(f[1][0], want) {
		t.Errorf("p1 got %d bytes % x, want 60: the 50 and zeros", len(f[1][0]), f[1][0])
	}
	tagged := dptest.Tag(short, 0x8100, 100)
	want = append(append([]byte(nil), tagged...), make([]byte, 60-len(tagged))...)
	if !bytes.Equal(f[2][0], want) {
		t.Errorf("p2 got %d bytes % x, want 60: the tagged 54 and zeros", len(f[2][0]), f[2][0])
	}
	// The router's own ARP reply (from the BVI, into the bridge to p0).
	l.send(0, dptest.ARPFrame(hdr.ARPRequest, dptest.Broadcast, bmacA, bhostA, [6]byte{}, bviIP))
	f = l.expect([4]int{1, 1, 1, 0})
	if r := f[0][0]; len(r) != 60 || !bytes.Equal(r[42:], make([]byte, 18)) {
		t.Errorf("ARP reply %d bytes % x, want 60 with zero padding", len(r), r)
	}
	if c := l.w.Counters(); c.TxBytes[1] != uint64(len(long))+60+60 {
		t.Errorf("p1 tx bytes %d, want %d (padded)", c.TxBytes[1], len(long)+120)
	}
}

// TestBridgeSharedLearningConcurrent: two workers learning and looking up
// in each other's tables at the same time (run with -race: the tables are
// read with atomic loads only), with MACs moving between their members;
// every frame is switched or flooded, none lost to a torn entry.
func TestBridgeSharedLearningConcurrent(t *testing.T) {
	l := newBridgeLab(t, control.BridgeConfig{MaxMACs: 64})
	ws := l.twoWorkers()
	const rounds = 300
	var wg sync.WaitGroup
	for i, w := range ws {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for r := range rounds {
				// MACs 0..31 seen on both members in turn: moves.
				src := [6]byte{0x02, 0xd0, 0, 0, 0, byte(r % 32)}
				dst := [6]byte{0x02, 0xd0, 0, 0, 0, byte((r + 7) % 32)}
				l.ports[i].Push(l2(dst, src, r))
				w.Poll()
			}
			for range 10 {
				w.Poll()
			}
		}()
	}
	wg.Wait()
	var out int
	for i := range l.ports {
		out += len(l.ports[i].Take())
	}
	c0, c1 := ws[0].Counters(), ws[1].Counters()
	// Each frame either went to one member or was flooded (to the other
	// member of p0/p1 and p2.100); same-member drops are possible when a
	// MAC was last seen on the receiving member.
	if got := c0.RxPackets[0] + c1.RxPackets[1]; got != 2*rounds {
		t.Fatalf("received %d frames, want %d", got, 2*rounds)
	}
	if out == 0 {
		t.Fatal("nothing switched")
	}
	if free, size := ws[0].Pool().Free(), ws[0].Pool().Size(); free != size {
		t.Errorf("worker 0 pool %d of %d", free, size)
	}
}
