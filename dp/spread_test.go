package dp_test

import (
	"math/rand/v2"
	"net/netip"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/softnet/softnet/bench"
	"github.com/softnet/softnet/control"
	"github.com/softnet/softnet/dp"
	"github.com/softnet/softnet/dp/dptest"
	"github.com/softnet/softnet/dp/ethernet"
	"github.com/softnet/softnet/hdr"
	"github.com/softnet/softnet/pkt"
	"github.com/softnet/softnet/port"
	"github.com/softnet/softnet/port/mem"
)

func TestBufRingBasics(t *testing.T) {
	r := dp.NewBufRing(300)
	if r.Cap() != 512 {
		t.Fatalf("cap %d, want 512 (300 rounded up to a power of two)", r.Cap())
	}
	pool := pkt.NewPool(1024)
	bufs := make([]uint32, 600)
	if pool.GetN(bufs) != 600 {
		t.Fatal("pool short")
	}
	if n := r.Enqueue(bufs); n != 512 {
		t.Fatalf("enqueued %d into an empty 512-slot ring, want 512", n)
	}
	if n := r.Enqueue(bufs[512:]); n != 0 {
		t.Fatalf("enqueued %d into a full ring", n)
	}
	out := make([]uint32, 100)
	// Wrap around several times: order is kept.
	next := 0
	tail := 512
	for round := 0; round < 20; round++ {
		n := r.Dequeue(out)
		for i, b := range out[:n] {
			if b != bufs[(next+i)%600] {
				t.Fatalf("round %d: slot %d out of order", round, i)
			}
		}
		next += n
		var in []uint32
		for i := range n {
			in = append(in, bufs[(tail+i)%600])
		}
		if e := r.Enqueue(in); e != n {
			t.Fatalf("round %d: re-enqueued %d of %d", round, e, n)
		}
		tail += n
		if r.Len() != 512 {
			t.Fatalf("round %d: len %d, want 512", round, r.Len())
		}
	}
	for r.Dequeue(out) > 0 {
	}
	if r.Len() != 0 || r.Dequeue(out) != 0 {
		t.Fatal("ring not empty after draining")
	}
}

// TestBufRingConcurrent moves buffers through a lane's two rings between
// two goroutines, in random bulk sizes, checking order and that the
// consumer sees what the producer wrote into each buffer (run it with
// -race: the rings are the only synchronisation).
func TestBufRingConcurrent(t *testing.T) {
	const total = 300_000
	fwd, ret := dp.NewBufRing(512), dp.NewBufRing(512)
	pool := pkt.NewPool(1024)
	var wg sync.WaitGroup
	wg.Add(1)
	errc := make(chan string, 1)
	var failed atomic.Bool
	go func() { // consumer
		defer wg.Done()
		rng := rand.New(rand.NewPCG(2, 2))
		buf := make([]uint32, 300)
		var seq uint64
		for seq < total {
			n := fwd.Dequeue(buf[:1+rng.IntN(len(buf))])
			for _, x := range buf[:n] {
				b := pkt.At(x)
				if uint64(b.Dst4())|uint64(b.Aux)<<32 != seq {
					errc <- "out of order or torn metadata"
					failed.Store(true)
					return
				}
				seq++
			}
			for e := 0; e < n; {
				e += ret.Enqueue(buf[e:n])
			}
		}
	}()
	rng := rand.New(rand.NewPCG(1, 1))
	out := make([]uint32, 300)
	var seq uint64
	for seq < total && !failed.Load() {
		// Take returns, then send a random burst.
		for {
			n := ret.Dequeue(out)
			if n == 0 {
				break
			}
			pool.PutN(out[:n])
		}
		k := pool.GetN(out[:min(1+rng.IntN(len(out)), int(total-seq))])
		for i, x := range out[:k] {
			b := pkt.At(x)
			s := seq + uint64(i)
			b.SetDst4(uint32(s))
			b.Aux = uint32(s >> 32)
		}
		e := fwd.Enqueue(out[:k])
		pool.PutN(out[e:k])
		seq += uint64(e)
	}
	// Keep taking returns until the consumer is done: it may be waiting
	// for room in the return ring.
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	for finished := false; !finished; {
		select {
		case <-done:
			finished = true
		default:
		}
		for {
			n := ret.Dequeue(out)
			if n == 0 {
				break
			}
			pool.PutN(out[:n])
		}
	}
	select {
	case msg := <-errc:
		t.Fatal(msg)
	default:
	}
	if pool.Free() != pool.Size() {
		t.Fatalf("pool has %d of %d buffers after the run", pool.Free(), pool.Size())
	}
}

// queueRec is an output port that keeps what each transmit queue (one per
// worker) sent.
type queueRec struct {
	name string
	mu   sync.Mutex
	q    map[int][][]byte
}

func (p *queueRec) Name() string                        { return p.name }
func (p *queueRec) Recv(int, *pkt.Batch, *pkt.Pool) int { return 0 }
func (p *queueRec) Send(q int, v *pkt.Batch, pool *pkt.Pool) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, x := range v.B[:v.N] {
		b := pkt.At(x)
		p.q[q] = append(p.q[q], append([]byte(nil), b.Bytes()...))
	}
	n := v.N
	pool.PutBatch(v)
	return n
}

// spreadRouter is a router with a single-queue input (the port given) and
// an output whose transmit queues are recorded, 10.1/16 and 10.2/16 both
// routed to the output, and n workers spread over the input.
func spreadRouter(t *testing.T, in port.Port, n int, sink ...port.Port) ([]*dp.Worker, *queueRec, *control.Router) {
	t.Helper()
	r := control.New(control.Options{})
	ii, err := r.AddInterface(control.IfaceConfig{Name: "in0", MAC: bench.InMAC, Addrs: []netip.Prefix{bench.InAddr}})
	if err != nil {
		t.Fatal(err)
	}
	oi, err := r.AddInterface(control.IfaceConfig{Name: "out0", MAC: bench.OutMAC, Addrs: []netip.Prefix{bench.OutAddr}})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.AddNeighbor(oi, bench.Gateway(1), bench.GatewayMAC(1)); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"10.1.0.0/16", "10.2.0.0/16"} {
		if err := r.AddRoute(netip.MustParsePrefix(p), bench.Gateway(1)); err != nil {
			t.Fatal(err)
		}
	}
	r.Publish()
	out := &queueRec{name: "out0", q: map[int][][]byte{}}
	ports := make([]port.Port, 2)
	ports[ii], ports[oi] = in, out
	if len(sink) > 0 {
		ports[oi] = sink[0]
	}
	ws := make([]*dp.Worker, n)
	for i := range ws {
		var rxq []dp.RxQueue
		if i == 0 {
			rxq = []dp.RxQueue{{Iface: ii, Spread: true}}
		}
		ws[i] = dp.NewWorker(i, r.Config(), ports, rxq, dp.Options{PoolSize: 2048})
	}
	if err := dp.Spread(ws, 0); err != nil {
		t.Fatal(err)
	}
	if err := dp.Spread(ws, 0); err == nil {
		t.Fatal("connecting the workers twice was accepted")
	}
	r.AttachWorkers(ws)
	return ws, out, r
}

// flowKey is a flow's addresses and ports in a direction-free order.
func flowKey(f []byte) [12]byte {
	ip := f[hdr.EthernetLen:]
	var a, b [6]byte
	copy(a[:4], ip[12:16])
	copy(a[4:], ip[20:22])
	copy(b[:4], ip[16:20])
	copy(b[4:], ip[22:24])
	if string(a[:]) > string(b[:]) {
		a, b = b, a
	}
	var k [12]byte
	copy(k[:6], a[:])
	copy(k[6:], b[:])
	return k
}

// TestSpreadFlowAffinity sends both directions of 2000 UDP flows into one
// queue of a 2-worker router and checks that software RSS kept every flow,
// both directions, on one worker (one transmit queue), spread the flows
// over both, lost nothing and left both pools whole.
func TestSpreadFlowAffinity(t *testing.T) {
	in := mem.NewQueue("in0")
	ws, out, _ := spreadRouter(t, in, 2)
	rng := rand.New(rand.NewPCG(7, 7))
	var frames [][]byte
	for range 2000 {
		a := netip.AddrFrom4([4]byte{10, 1, byte(rng.IntN(256)), byte(rng.IntN(256))})
		b := netip.AddrFrom4([4]byte{10, 2, byte(rng.IntN(256)), byte(rng.IntN(256))})
		sp, dport := uint16(1024+rng.IntN(60000)), uint16(1+rng.IntN(65535))
		fwd := dptest.IPv4Frame(bench.InMAC, bench.PeerMAC, a, b, hdr.ProtoUDP, 64, false, dptest.UDP(sp, dport, 18))
		rev := dptest.IPv4Frame(bench.InMAC, bench.PeerMAC, b, a, hdr.ProtoUDP, 64, false, dptest.UDP(dport, sp, 18))
		frames = append(frames, fwd, rev)
	}
	rng.Shuffle(len(frames), func(i, j int) { frames[i], frames[j] = frames[j], frames[i] })
	in.Push(frames...)
	for range 100 {
		for _, w := range ws {
			w.Poll()
		}
		if in.Pending() == 0 && len(out.q[0])+len(out.q[1]) == len(frames) {
			break
		}
	}
	for _, w := range ws { // settle the buffer returns
		w.Poll()
	}
	if got := len(out.q[0]) + len(out.q[1]); got != len(frames) {
		t.Fatalf("forwarded %d of %d frames", got, len(frames))
	}
	owner := map[[12]byte]int{}
	for q, fs := range out.q {
		for _, f := range fs {
			k := flowKey(f)
			if o, ok := owner[k]; ok && o != q {
				t.Fatalf("a flow was forwarded by both workers")
			}
			owner[k] = q
		}
	}
	if len(owner) != 2000 {
		t.Fatalf("%d flows seen, want 2000", len(owner))
	}
	n0, n1 := len(out.q[0]), len(out.q[1])
	t.Logf("worker 0 forwarded %d, worker 1 %d", n0, n1)
	if n0 < len(frames)/3 || n1 < len(frames)/3 {
		t.Fatalf("flows not spread: %d / %d", n0, n1)
	}
	c := dp.Sum(ws)
	if c.Spread != uint64(n1) {
		t.Fatalf("Spread counter %d, want %d (worker 1's packets)", c.Spread, n1)
	}
	if c.RxPackets[0] != uint64(len(frames)) || c.TotalDrops() != 0 {
		t.Fatalf("rx %d (want %d), drops %d", c.RxPackets[0], len(frames), c.TotalDrops())
	}
	for _, w := range ws {
		if w.Pool().Free() != w.Pool().Size() {
			t.Fatalf("worker %d pool %d of %d after the run", w.ID, w.Pool().Free(), w.Pool().Size())
		}
	}
}

// TestSpreadRingFull stops the consumer: the spreading worker keeps
// forwarding its own flows and counts the others as rss-ring-full once
// the lane is full, and its pool never runs dry.
func TestSpreadRingFull(t *testing.T) {
	prefixes := []netip.Prefix{netip.MustParsePrefix("10.1.0.0/16"), netip.MustParsePrefix("10.2.0.0/16")}
	g := mem.NewGen("in0", bench.Frames(prefixes, 1024, 64))
	ws, out, _ := spreadRouter(t, g, 2)
	for range 40 {
		ws[0].Poll() // worker 1 never polls
	}
	ws[0].Process(0, new(pkt.Batch)) // publish
	c := ws[0].Counters()
	if c.Drops[ethernet.RSSRingFull] == 0 {
		t.Fatal("no rss-ring-full drops with a stalled consumer")
	}
	if c.Spread != uint64(dp.DefaultLaneSize) {
		t.Fatalf("spread %d packets into a lane of %d", c.Spread, dp.DefaultLaneSize)
	}
	if len(out.q[0]) == 0 || c.TxPackets[1] != uint64(len(out.q[0])) {
		t.Fatalf("worker 0 forwarded %d (counter %d)", len(out.q[0]), c.TxPackets[1])
	}
	t.Logf("rx %d, spread %d, ring-full %d, forwarded %d", c.RxPackets[0], c.Spread, c.Drops[ethernet.RSSRingFull], c.TxPackets[1])
	// Worker 1 catches up and pays back: both pools whole again.
	g.SetLimit(g.Generated())
	for range 10 {
		ws[1].Poll()
		ws[0].Poll()
	}
	for _, w := range ws {
		if w.Pool().Free() != w.Pool().Size() {
			t.Fatalf("worker %d pool %d of %d", w.ID, w.Pool().Free(), w.Pool().Size())
		}
	}
}

func TestSpreadZeroAlloc(t *testing.T) {
	g := mem.NewGen("in0", bench.Frames([]netip.Prefix{netip.MustParsePrefix("10.1.0.0/16")}, 1024, 64))
	ws, _, _ := spreadRouter(t, g, 2, mem.NewSinkQueues("out0", 2))
	for range 20 {
		ws[0].Poll()
		ws[1].Poll()
	}
	allocs := testing.AllocsPerRun(200, func() {
		ws[0].Poll()
		ws[1].Poll()
	})
	if allocs != 0 {
		t.Fatalf("%.2f allocations per poll pair with software RSS", allocs)
	}
}

// TestSpreadSoak runs a spreading worker and a consumer on their own
// threads at full rate (1 s; SOFTNET_SOAK=10m for longer), then checks the
// books: every frame generated was received once and forwarded or counted
// as an rss-ring-full drop, and every buffer came home.
func TestSpreadSoak(t *testing.T) {
	d := time.Second
	if s := os.Getenv("SOFTNET_SOAK"); s != "" {
		var err error
		if d, err = time.ParseDuration(s); err != nil {
			t.Fatal(err)
		}
	}
	prefixes := []netip.Prefix{netip.MustParsePrefix("10.1.0.0/16"), netip.MustParsePrefix("10.2.0.0/16")}
	// Two queues, one polled: worker 1 transmits on queue 1 of every
	// port (its own), which a one-queue generator does not have.
	g := mem.NewGenQueues("in0", bench.Frames(prefixes, 4096, 64), 2)
	r := control.New(control.Options{})
	ii, _ := r.AddInterface(control.IfaceConfig{Name: "in0", MAC: bench.InMAC, Addrs: []netip.Prefix{bench.InAddr}})
	oi, _ := r.AddInterface(control.IfaceConfig{Name: "out0", MAC: bench.OutMAC, Addrs: []netip.Prefix{bench.OutAddr}})
	if err := r.AddNeighbor(oi, bench.Gateway(1), bench.GatewayMAC(1)); err != nil {
		t.Fatal(err)
	}
	for _, p := range prefixes {
		if err := r.AddRoute(p, bench.Gateway(1)); err != nil {
			t.Fatal(err)
		}
	}
	r.Publish()
	sink := mem.NewSinkQueues("out0", 2)
	ports := make([]port.Port, 2)
	ports[ii], ports[oi] = g, sink
	ws := []*dp.Worker{
		dp.NewWorker(0, r.Config(), ports, []dp.RxQueue{{Iface: ii, Spread: true}}, dp.Options{}),
		dp.NewWorker(1, r.Config(), ports, nil, dp.Options{}),
	}
	if err := dp.Spread(ws, 0); err != nil {
		t.Fatal(err)
	}
	r.AttachWorkers(ws)
	for _, w := range ws {
		if err := w.Start(); err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(d)
	for _, w := range ws {
		w.Stop()
	}
	g.SetLimit(g.Generated())
	for range 20 { // drain the lanes and the returns
		ws[1].Poll()
		ws[0].Poll()
	}
	c := dp.Sum(ws)
	gen := g.Generated()
	t.Logf("%v: generated %d, spread %d, forwarded %d by worker 0 and %d by worker 1, rss-ring-full %d",
		d, gen, c.Spread, sink.QueueSent(0), sink.QueueSent(1), c.Drops[ethernet.RSSRingFull])
	if c.RxPackets[ii]+c.Drops[ethernet.RSSRingFull] != gen {
		t.Fatalf("received %d + ring-full %d != generated %d", c.RxPackets[ii], c.Drops[ethernet.RSSRingFull], gen)
	}
	if c.TxPackets[oi] != c.RxPackets[ii] || sink.Sent() != c.TxPackets[oi] || c.TotalDrops() != c.Drops[ethernet.RSSRingFull] {
		t.Fatalf("received %d, forwarded %d (sink %d), drops %v", c.RxPackets[ii], c.TxPackets[oi], sink.Sent(), c.TotalDrops())
	}
	if sink.QueueSent(1) == 0 || c.Spread != sink.QueueSent(1) {
		t.Fatalf("worker 1 forwarded %d, spread %d", sink.QueueSent(1), c.Spread)
	}
	for _, w := range ws {
		if w.Pool().Free() != w.Pool().Size() {
			t.Fatalf("worker %d pool %d of %d", w.ID, w.Pool().Free(), w.Pool().Size())
		}
	}
}
