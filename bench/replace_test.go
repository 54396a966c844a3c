package bench_test

import (
	"cmp"
	"encoding/binary"
	"math/rand/v2"
	"net/netip"
	"runtime/debug"
	"slices"
	"testing"
	"time"

	"github.com/softnet/softnet/bench"
	"github.com/softnet/softnet/control"
	"github.com/softnet/softnet/dp"
	"github.com/softnet/softnet/fib"
	"github.com/softnet/softnet/pkt"
	"github.com/softnet/softnet/port"
	"github.com/softnet/softnet/port/mem"
)

// The full-table replace tests: a worker forwards at full rate, on its own
// goroutine, traffic to prefixes that a series of full-table replaces never
// changes, while the test goroutine replaces the table again and again
// with churn in every other prefix. Nothing may be lost, and every batch
// must see one table, old or new.

// countGen wraps a generator port and counts the frames it hands out, so
// the test does not depend on the generator's own counters.
type countGen struct {
	port.Port
	n uint64
}

func (g *countGen) Recv(q int, v *pkt.Batch, pool *pkt.Pool) int {
	n := g.Port.Recv(q, v, pool)
	g.n += uint64(n)
	return n
}

// macSink counts what it is sent per destination MAC: frames to gateway i
// (bench.GatewayMAC(i), 1..bench.NextHops) in byMAC[i], to anything else in
// byMAC[0]. A worker loads one config per batch and sends a batch's
// frames in one call, so mixed counts the calls whose frames went to more
// than one MAC, and switches the calls whose MAC differs from the previous
// call's. It is written by the worker's goroutine only; read it after Stop.
type macSink struct {
	byMAC    [bench.NextHops + 1]uint64
	sent     uint64
	last     int
	mixed    uint64
	switches uint64
}

func (s *macSink) Name() string                        { return "out0" }
func (s *macSink) Recv(int, *pkt.Batch, *pkt.Pool) int { return 0 }

func (s *macSink) Send(_ int, v *pkt.Batch, pool *pkt.Pool) int {
	n := v.N
	first := -1
	for _, x := range v.B[:n] {
		b := pkt.At(x)
		i := gatewayIndex([6]byte(b.Bytes()[0:6]))
		s.byMAC[i]++
		switch {
		case first == -1:
			first = i
		case first >= 0 && i != first:
			s.mixed++
			first = -2 // count the call once
		}
	}
	if first > 0 {
		if s.last > 0 && first != s.last {
			s.switches++
		}
		s.last = first
	}
	s.sent += uint64(n)
	pool.PutBatch(v)
	return n
}

// gatewayIndex returns i if mac is bench.GatewayMAC(i), else 0.
func gatewayIndex(mac [6]byte) int {
	i := int(mac[5]) - int(bench.GatewayMAC(0)[5])
	if i < 1 || i > bench.NextHops || mac != bench.GatewayMAC(i) {
		return 0
	}
	return i
}

// leaves returns the prefixes of ps (deduplicated) that hold no other
// prefix of ps. Every address in a leaf has the leaf as its longest match
// whatever happens to the other prefixes, so traffic to leaves is what a
// replace of the others must not disturb. Sorted by address then length,
// a prefix holds another exactly when it holds its successor.
func leaves(ps []netip.Prefix) []netip.Prefix {
	s := slices.Clone(ps)
	slices.SortFunc(s, func(a, b netip.Prefix) int {
		return cmp.Or(a.Addr().Compare(b.Addr()), cmp.Compare(a.Bits(), b.Bits()))
	})
	s = slices.Compact(s)
	var out []netip.Prefix
	for i, p := range s {
		if i+1 == len(s) || !p.Contains(s[i+1].Addr()) {
			out = append(out, p)
		}
	}
	return out
}

// replaceLab is the ip4-forward topology of bench.NewForward (built here
// with counting ports of its own) and the plan of a replace series.
type replaceLab struct {
	r      *control.Router
	w      *dp.Worker
	gen    *countGen
	sink   *macSink
	ps     []netip.Prefix // every prefix: stable ones first
	stable int            // ps[:stable] stay (or, in the flip variant, flip together)
	gw     []int          // gateway index of ps[i], 1..bench.NextHops
}

// newReplaceLab loads n prefixes of the full table (all if n is 0 or too
// big), picks half of the leaves as the stable prefixes, and builds the
// router with every prefix routed and a generator sending to the stable
// ones only. flip starts the stable prefixes on gateway 1 and keeps every
// other prefix off gateways 1 and 2.
func newReplaceLab(t testing.TB, n int, flip bool) *replaceLab {
	t.Helper()
	all, err := bench.FullTableIPv4()
	if err != nil {
		t.Fatal(err)
	}
	if n > 0 && n < len(all) {
		all = all[:n]
	}
	rng := rand.New(rand.NewPCG(7, 8))
	lv := leaves(all)
	isStable := make(map[netip.Prefix]bool, len(lv)/2)
	for _, p := range lv {
		if rng.IntN(2) == 0 {
			isStable[p] = true
		}
	}
	l := &replaceLab{}
	seen := make(map[netip.Prefix]bool, len(all))
	var churn []netip.Prefix
	for _, p := range all {
		if seen[p] {
			continue
		}
		seen[p] = true
		if isStable[p] {
			l.ps = append(l.ps, p)
		} else {
			churn = append(churn, p)
		}
	}
	l.stable = len(l.ps)
	l.ps = append(l.ps, churn...)
	l.gw = make([]int, len(l.ps))
	for i, p := range l.ps {
		l.gw[i] = int(fib.NextHopOf(p, bench.NextHops))
		if flip {
			if i < l.stable {
				l.gw[i] = 1
			} else {
				l.gw[i] = 3 + int(fib.NextHopOf(p, bench.NextHops-2)) - 1
			}
		}
	}

	r := control.New(control.Options{})
	in, err := r.AddInterface(control.IfaceConfig{Name: "in0", MAC: bench.InMAC, Addrs: []netip.Prefix{bench.InAddr}})
	if err != nil {
		t.Fatal(err)
	}
	out, err := r.AddInterface(control.IfaceConfig{Name: "out0", MAC: bench.OutMAC, Addrs: []netip.Prefix{bench.OutAddr}})
	if err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= bench.NextHops; i++ {
		if err := r.AddNeighbor(out, bench.Gateway(i), bench.GatewayMAC(i)); err != nil {
			t.Fatal(err)
		}
	}
	if err := r.AddRoutes(l.ps, l.gateway); err != nil {
		t.Fatal(err)
	}
	r.Publish()
	l.r = r
	l.gen = &countGen{Port: mem.NewGen("in0", bench.Frames(l.ps[:l.stable], bench.Templates, 64))}
	l.sink = &macSink{}
	ports := make([]port.Port, 2)
	ports[in], ports[out] = l.gen, l.sink
	l.w = dp.NewWorker(0, r.Config(), ports, []dp.RxQueue{{Iface: in}}, dp.Options{})
	r.AttachWorkers([]*dp.Worker{l.w})
	return l
}

func (l *replaceLab) gateway(i int) netip.Addr { return bench.Gateway(l.gw[i]) }

// tableSize is the number of full-table prefixes the replace tests load:
// all of them (0), but the first 200,000 for the flip variant (which
// changes half the table every time), under -short, and under the race
// detector (which makes a replace some ten times slower). Either way the
// test takes some 15 s.
func tableSize(flip bool) int {
	if flip || testing.Short() || raceEnabled() {
		return 200_000
	}
	return 0
}

// raceEnabled reports whether the test binary was built with -race, from
// the build settings the binary records.
func raceEnabled() bool {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return false
	}
	for _, s := range bi.Settings {
		if s.Key == "-race" {
			return s.Value == "true"
		}
	}
	return false
}

func TestReplaceFullTableUnderLoad(t *testing.T) { testReplaceUnderLoad(t, false) }

// TestReplaceFullTableAtomic is the variant that shows each batch seeing
// one table: every replace also moves all the stable prefixes from one
// gateway to the other, so a batch that saw part of a replace would leave
// to two MACs.
func TestReplaceFullTableAtomic(t *testing.T) { testReplaceUnderLoad(t, true) }

func testReplaceUnderLoad(t *testing.T, flip bool) {
	const rounds = 20
	t0 := time.Now()
	l := newReplaceLab(t, tableSize(flip), flip)
	setup := time.Since(t0)
	r, w := l.r, l.w
	churn := len(l.ps) - l.stable
	t.Logf("%d prefixes: %d stable (traffic), %d churned; setup %v", len(l.ps), l.stable, churn, setup.Round(time.Millisecond))

	stop := make(chan struct{})
	cpDone := make(chan struct{})
	go func() { r.Run(stop); close(cpDone) }()
	go w.Run()
	stopped := false
	defer func() {
		if !stopped {
			w.Stop()
			close(stop)
			<-cpDone
		}
	}()
	tx := func() uint64 { return w.Counters().TxPackets[1] }
	// waitTx waits until the worker has sent n more packets. Counters are
	// published every 16 polls, so n well above 16 batches of 256 also
	// means that the worker has loaded the latest config since.
	waitTx := func(n uint64) {
		t.Helper()
		start, deadline := tx(), time.Now().Add(10*time.Second)
		for tx()-start < n {
			if time.Now().After(deadline) {
				t.Fatalf("the worker forwarded %d packets in 10 s, want %d", tx()-start, n)
			}
			time.Sleep(100 * time.Microsecond)
		}
	}
	waitTx(20_000)
	pub0 := r.Stats().Publishes

	rng := rand.New(rand.NewPCG(3, 4))
	removed := make([]bool, len(l.ps)) // removed in the last replace
	ps := make([]netip.Prefix, 0, len(l.ps))
	idx := make([]int, 0, len(l.ps)) // ps[j] is l.ps[idx[j]]
	var during, elapsed time.Duration
	var duringPkts uint64
	for round := range rounds {
		// Churn: 10% of the other prefixes to another gateway, 5% removed,
		// last round's removed ones back.
		nowRemoved := make([]bool, len(l.ps))
		wantChanged, wantAdded, wantRemoved := 0, 0, 0
		for k := 0; k < churn/20; {
			i := l.stable + rng.IntN(churn)
			if !removed[i] && !nowRemoved[i] {
				nowRemoved[i] = true
				wantRemoved++
				k++
			}
		}
		changedNow := make([]bool, len(l.ps))
		for k := 0; k < churn/10; {
			i := l.stable + rng.IntN(churn)
			if changedNow[i] {
				continue
			}
			changedNow[i] = true
			k++
			g := l.gw[i]
			for g == l.gw[i] {
				if flip {
					g = 3 + rng.IntN(bench.NextHops-2)
				} else {
					g = 1 + rng.IntN(bench.NextHops)
				}
			}
			l.gw[i] = g
			if !removed[i] && !nowRemoved[i] {
				wantChanged++
			}
		}
		if flip {
			for i := range l.stable {
				l.gw[i] = 3 - l.gw[i] // 1 ↔ 2
			}
			wantChanged += l.stable
		}
		ps, idx = ps[:0], idx[:0]
		for i, p := range l.ps {
			if removed[i] && !nowRemoved[i] {
				wantAdded++
			}
			if !nowRemoved[i] {
				ps = append(ps, p)
				idx = append(idx, i)
			}
		}
		removed = nowRemoved

		c0, s := tx(), time.Now()
		added, changed, gone, err := r.ReplaceRoutes(ps, func(j int) netip.Addr { return l.gateway(idx[j]) })
		d := time.Since(s)
		duringPkts += tx() - c0
		during += d
		elapsed += d
		if err != nil {
			t.Fatalf("replace %d: %v", round, err)
		}
		if added != wantAdded || changed != wantChanged || gone != wantRemoved {
			t.Fatalf("replace %d: added, changed, removed = %d, %d, %d; want %d, %d, %d",
				round, added, changed, gone, wantAdded, wantChanged, wantRemoved)
		}
		waitTx(20_000)
	}

	w.Stop()
	close(stop)
	<-cpDone
	stopped = true

	c := w.Counters()
	s := l.sink
	t.Logf("%d replaces of %d routes: %v each on average; %d packets forwarded during the replaces, %d in all",
		rounds, len(l.ps), (elapsed / rounds).Round(time.Millisecond), duringPkts, c.TxPackets[1])
	if got := r.Stats().Publishes - pub0; got != rounds {
		t.Errorf("%d publishes for %d replaces, want one each", got, rounds)
	}
	for rs := dp.Reason(1); rs < dp.NumReasons; rs++ {
		if c.Drops[rs] != 0 {
			t.Errorf("%d packets dropped as %v", c.Drops[rs], rs)
		}
	}
	for k, n := range c.ICMPErrors {
		if n != 0 {
			t.Errorf("%d ICMP %s errors sent", n, dp.ICMPErrorNames[k])
		}
	}
	if c.Punts != 0 || c.PuntFull != 0 {
		t.Errorf("%d packets punted (%d lost to a full ring), want none", c.Punts, c.PuntFull)
	}
	if c.RxPackets[0] != l.gen.n || c.TxPackets[1] != l.gen.n || s.sent != l.gen.n {
		t.Errorf("generated %d, received %d, transmitted %d, sink got %d: want all equal",
			l.gen.n, c.RxPackets[0], c.TxPackets[1], s.sent)
	}
	if l.gen.n < rounds*20_000 {
		t.Errorf("only %d packets generated", l.gen.n)
	}
	if duringPkts == 0 {
		t.Error("no packet was forwarded while a replace ran: the test proves nothing")
	}
	if s.byMAC[0] != 0 {
		t.Errorf("%d packets to a MAC that is no gateway's", s.byMAC[0])
	}
	if !flip {
		return
	}
	t.Logf("to gateway 1: %d, gateway 2: %d; %d switches between them", s.byMAC[1], s.byMAC[2], s.switches)
	if s.byMAC[1] == 0 || s.byMAC[2] == 0 || s.byMAC[1]+s.byMAC[2] != s.sent {
		t.Errorf("per gateway MAC %v: want every packet to gateway 1 or 2, and both used", s.byMAC)
	}
	if s.mixed != 0 {
		t.Errorf("%d batches left to both gateways: they saw part of a replace", s.mixed)
	}
	// The worker saw every replace (the test waits for traffic after each)
	// as one switch, and never went back to an older table.
	if s.switches != rounds {
		t.Errorf("%d switches between the gateways for %d replaces", s.switches, rounds)
	}
}

// BenchmarkReplaceFullTable replaces the full table with 10% of the next
// hops changed each time. chunks/op and groups/op count the tbl24 chunks
// (128 KiB each) and tbl8 groups (512 B) that the changed routes touch:
// what the new snapshot copies, the bulk of B/op.
func BenchmarkReplaceFullTable(b *testing.B) {
	l := newReplaceLab(b, 0, false)
	r := l.r
	rng := rand.New(rand.NewPCG(5, 6))
	var chunks, groups, changedRoutes int
	gw := func(i int) netip.Addr { return l.gateway(i) }
	b.ReportAllocs()
	for b.Loop() {
		b.StopTimer()
		touchedChunks := map[uint32]bool{}
		touchedGroups := map[uint32]bool{}
		for range len(l.ps) / 10 {
			i := rng.IntN(len(l.ps))
			l.gw[i] = 1 + (l.gw[i]+rng.IntN(bench.NextHops-1))%bench.NextHops
			p := l.ps[i]
			a := binary.BigEndian.Uint32(p.Addr().AsSlice())
			if p.Bits() > 24 {
				touchedGroups[a>>8] = true
			} else {
				for c := a >> 24; c <= (a|^uint32(0)>>p.Bits())>>24; c++ {
					touchedChunks[c] = true
				}
			}
		}
		b.StartTimer()
		_, c, _, err := r.ReplaceRoutes(l.ps, gw)
		if err != nil {
			b.Fatal(err)
		}
		chunks += len(touchedChunks)
		groups += len(touchedGroups)
		changedRoutes += c
	}
	b.ReportMetric(float64(chunks)/float64(b.N), "chunks/op")
	b.ReportMetric(float64(groups)/float64(b.N), "groups/op")
	b.ReportMetric(float64(changedRoutes)/float64(b.N), "changed/op")
	b.ReportMetric(float64(len(l.ps)), "routes")
}
