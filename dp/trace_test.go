package dp_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/softnet/softnet/dp"
	"github.com/softnet/softnet/dp/dptest"
	"github.com/softnet/softnet/dp/tracefmt"
	"github.com/softnet/softnet/hdr"
)

// traceLab is a dptest lab whose worker has a tracer.
func traceLab(t *testing.T, o dptest.Options) (*dptest.Lab, *tracefmt.Tracer) {
	t.Helper()
	l := dptest.New(t, o)
	return l, tracefmt.NewTracer([]*dp.Worker{l.Worker})
}

// traceOne traces the frame f received on interface i.
func traceOne(t *testing.T, o dptest.Options, i int, f []byte) tracefmt.TracePacket {
	t.Helper()
	l, tr := traceLab(t, o)
	if err := tr.Start(1); err != nil {
		t.Fatal(err)
	}
	l.Send(i, f)
	if n := tr.Recorded(); n != 1 {
		t.Fatalf("%d packets recorded, want 1", n)
	}
	pkts := tr.Stop()
	if len(pkts) != 1 {
		t.Fatalf("%d packets traced, want 1", len(pkts))
	}
	return pkts[0]
}

func stages(p tracefmt.TracePacket) string {
	var s []string
	for _, st := range p.Steps {
		s = append(s, st.Stage)
	}
	return strings.Join(s, " ")
}

func udpTo(dst netip.Addr, ttl uint8) []byte {
	return dptest.IPv4Frame(dptest.R0MAC, dptest.HostAMAC, dptest.HostA, dst, hdr.ProtoUDP, ttl, false, dptest.UDP(1001, 9, 18))
}

// TestTraceFates checks, for one packet of each kind, the stages it
// visits, its fate and what the trace says about it.
func TestTraceFates(t *testing.T) {
	badSum := udpTo(netip.MustParseAddr("198.18.0.1"), 64)
	badSum[hdr.EthernetLen+10] ^= 0xff
	big := dptest.IPv4Frame(dptest.R0MAC, dptest.HostAMAC, dptest.HostA, dptest.HostB, hdr.ProtoUDP, 64, false, dptest.UDP(1, 9, 1000))
	bigDF := dptest.IPv4Frame(dptest.R0MAC, dptest.HostAMAC, dptest.HostA, dptest.HostB, hdr.ProtoUDP, 64, true, dptest.UDP(1, 9, 1000))
	ping := dptest.IPv4Frame(dptest.R0MAC, dptest.HostAMAC, dptest.HostA, dptest.R0, hdr.ProtoICMP, 64, false, dptest.Echo(7, 1, 16))
	for _, tc := range []struct {
		name    string
		opts    dptest.Options
		frame   []byte
		stages  string
		fate    string
		reason  string
		out     string // OutName
		summary string // in the out summary
		detail  string // in Detail
		note    string // in some step's note
	}{
		{name: "forward", frame: udpTo(netip.MustParseAddr("198.18.0.1"), 64),
			stages: "ethernet-input ip4-input ip4-lookup ip4-rewrite interface-output", fate: tracefmt.FateTx, out: "if1",
			summary: "02:52:00:00:00:02 > 02:bb:00:00:00:02 ipv4 10.0.1.2 > 198.18.0.1 ttl 63", detail: "sent on if1",
			note: "forward via if1"},
		{name: "ttl-1", frame: udpTo(netip.MustParseAddr("198.18.0.1"), 1),
			stages: "ethernet-input ip4-input ip4-lookup icmp4-error ip4-lookup ip4-rewrite interface-output", fate: tracefmt.FateICMPError, out: "if0",
			summary: "ipv4 10.0.1.1 > 10.0.1.2 ttl 64 len 74 icmp time exceeded", detail: "ICMP time exceeded", note: "TTL expires here"},
		{name: "bad-checksum", frame: badSum,
			stages: "ethernet-input ip4-input drop", fate: tracefmt.FateDrop, reason: "ip4-input/bad-checksum", detail: "IPv4 header checksum is wrong",
			note: "dropped: bad-checksum"},
		{name: "arp-request", frame: dptest.ARPFrame(hdr.ARPRequest, dptest.Broadcast, dptest.HostAMAC, dptest.HostA, [6]byte{}, dptest.R0),
			stages: "ethernet-input arp-input interface-output", fate: tracefmt.FateLocal, out: "if0",
			summary: "arp reply 10.0.1.1 is-at 02:52:00:00:00:01", detail: "reply sent on if0", note: "reply built in place"},
		{name: "no-route", frame: udpTo(netip.MustParseAddr("203.0.113.5"), 64),
			stages: "ethernet-input ip4-input ip4-lookup icmp4-error ip4-lookup ip4-rewrite interface-output", fate: tracefmt.FateICMPError, out: "if0",
			summary: "icmp net unreachable", detail: "ICMP net unreachable", note: "route 203.0.113.5: ICMP net unreachable"},
		{name: "echo", frame: ping,
			stages: "ethernet-input ip4-input ip4-lookup ip4-local ip4-lookup ip4-rewrite interface-output", fate: tracefmt.FateLocal, out: "if0",
			summary: "ipv4 10.0.1.1 > 10.0.1.2 ttl 64 len 44 icmp echo reply", detail: "echo reply sent on if0", note: "answered in place with an echo reply to 10.0.1.2"},
		{name: "unresolved", opts: dptest.Options{NoStatic: true}, frame: udpTo(dptest.HostB, 64),
			stages: "ethernet-input ip4-input ip4-lookup ip4-rewrite ip4-arp", fate: tracefmt.FatePunt, out: "if1",
			detail: "resolve 10.0.2.2 on if1", note: "punted: resolve 10.0.2.2 on if1"},
		{name: "fragment", opts: dptest.Options{MTU1: 576}, frame: big,
			stages: "ethernet-input ip4-input ip4-lookup ip4-rewrite ip4-frag", fate: tracefmt.FateFragmented, out: "if1",
			detail: "fragments for MTU 576", note: "larger than MTU 576 of if1: fragment"},
		{name: "too-big-df", opts: dptest.Options{MTU1: 576}, frame: bigDF,
			stages: "ethernet-input ip4-input ip4-lookup ip4-rewrite icmp4-error ip4-lookup ip4-rewrite interface-output", fate: tracefmt.FateICMPError, out: "if0",
			summary: "icmp fragmentation needed", detail: "fragmentation needed", note: "(next-hop MTU 576)"},
		{name: "not-for-us", frame: dptest.IPv4Frame(dptest.HostBMAC, dptest.HostAMAC, dptest.HostA, dptest.HostB, hdr.ProtoUDP, 64, false, nil),
			stages: "ethernet-input drop", fate: tracefmt.FateDrop, reason: "ethernet-input/not-for-us", detail: "destination MAC", note: "dropped: not-for-us"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := traceOne(t, tc.opts, 0, tc.frame)
			if got := stages(p); got != tc.stages {
				t.Errorf("stages\n got %s\nwant %s", got, tc.stages)
			}
			if p.Fate != tc.fate || p.Reason != tc.reason || p.OutName != tc.out {
				t.Errorf("fate %q reason %q out %q, want %q %q %q", p.Fate, p.Reason, p.OutName, tc.fate, tc.reason, tc.out)
			}
			if !strings.Contains(p.OutSummary, tc.summary) || (tc.summary == "" && p.OutSummary != "") {
				t.Errorf("out summary %q, want %q", p.OutSummary, tc.summary)
			}
			if !strings.Contains(p.Detail, tc.detail) {
				t.Errorf("detail %q, want it to contain %q", p.Detail, tc.detail)
			}
			found := false
			for _, s := range p.Steps {
				found = found || strings.Contains(s.Note, tc.note)
			}
			if !found {
				t.Errorf("no step note contains %q: %+v", tc.note, p.Steps)
			}
			// Each step's Next is the following step's stage.
			for i := 0; i+1 < len(p.Steps); i++ {
				if p.Steps[i].Next != p.Steps[i+1].Stage {
					t.Errorf("step %d next %q, then stage %q", i, p.Steps[i].Next, p.Steps[i+1].Stage)
				}
			}
			if p.Seq != 1 || p.Worker != 0 || p.IfaceName != "if0" || p.Len != len(tc.frame) || string(p.Head) != string(tc.frame[:min(len(tc.frame), dp.TraceHeadLen)]) {
				t.Errorf("seq %d worker %d iface %q len %d head %x", p.Seq, p.Worker, p.IfaceName, p.Len, p.Head)
			}
			if !strings.HasPrefix(p.Summary, "02:aa:00:00:00:02 > ") {
				t.Errorf("summary %q", p.Summary)
			}
		})
	}
}

// TestTraceGolden traces every packet of the golden mixed and malformed
// inputs and compares the printed trace with testdata/trace/<case>.txt
// (rewritten by -update). The time of day is blanked.
func TestTraceGolden(t *testing.T) {
	for _, c := range []struct {
		name string
		in   func() [2][]frame
	}{{"mixed", mixedInput}, {"malformed", malformedInput}} {
		t.Run(c.name, func(t *testing.T) {
			in := c.in()
			n := len(in[0]) + len(in[1])
			l, tr := traceLab(t, dptest.Options{})
			if err := tr.Start(n); err != nil {
				t.Fatal(err)
			}
			for i := range in {
				for _, f := range in[i] {
					l.Ports[i].Push(f.data)
				}
			}
			l.Run()
			pkts := tr.Stop()
			if len(pkts) != n {
				t.Fatalf("%d packets traced, want %d", len(pkts), n)
			}
			var b strings.Builder
			for i := range pkts {
				p := &pkts[i]
				p.Time = time.Time{}
				if p.Fate == "" || p.Detail == "" || p.Fate == tracefmt.FateUnknown {
					t.Errorf("packet %d: fate %q detail %q", p.Seq, p.Fate, p.Detail)
				}
				if p.Fate == tracefmt.FateDrop && p.Reason == "drop/none" {
					t.Errorf("packet %d dropped without a reason", p.Seq)
				}
			}
			if err := tracefmt.WriteTrace(&b, pkts); err != nil {
				t.Fatal(err)
			}
			name := filepath.Join("testdata", "trace", c.name+".txt")
			if *update {
				if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
					t.Fatal(err)
				}
				writeFile(t, name, b.String())
				return
			}
			want, err := os.ReadFile(name)
			if err != nil {
				t.Fatalf("%v (generate with: go test ./dp -run TestTraceGolden -update)", err)
			}
			diffLines(t, name, string(want), b.String())
		})
	}
}

// TestTraceBudget: a trace of 3 follows exactly the first 3 packets of a
// batch of 5; a second trace cannot start while it runs; Trace returns
// what it has, and says how many, when its context ends.
func TestTraceBudget(t *testing.T) {
	l, tr := traceLab(t, dptest.Options{})
	if err := tr.Start(3); err != nil {
		t.Fatal(err)
	}
	if err := tr.Start(1); !errors.Is(err, dp.ErrTraceBusy) || !strings.Contains(err.Error(), "it follows 3 packets, 0 recorded so far") {
		t.Errorf("second Start: %v, want ErrTraceBusy with the running trace's progress", err)
	}
	if _, err := tr.Trace(context.Background(), 1); !errors.Is(err, dp.ErrTraceBusy) {
		t.Errorf("Trace while running: %v, want ErrTraceBusy", err)
	}
	var frames [][]byte
	for i := range 5 {
		frames = append(frames, udpTo(netip.AddrFrom4([4]byte{198, 18, 0, byte(1 + i)}), 64))
	}
	l.Send(0, frames...)
	l.Send(0, frames...) // the budget is spent: not traced
	if n := tr.Recorded(); n != 3 {
		t.Errorf("recorded %d, want 3", n)
	}
	pkts := tr.Stop()
	if len(pkts) != 3 {
		t.Fatalf("%d traced, want 3", len(pkts))
	}
	for i, p := range pkts {
		if p.Seq != i+1 || string(p.Head) != string(frames[i][:min(len(frames[i]), dp.TraceHeadLen)]) || p.Fate != tracefmt.FateTx {
			t.Errorf("packet %d: seq %d fate %s head %x", i, p.Seq, p.Fate, p.Head)
		}
	}
	if tr.Running() || tr.Stop() != nil {
		t.Error("a trace still runs after Stop")
	}
	if err := tr.Start(0); err == nil {
		t.Error("Start(0) succeeded")
	}
	if err := tr.Start(dp.MaxTrace + 1); err == nil {
		t.Error("Start(MaxTrace+1) succeeded")
	}
	// Nothing arrives: Trace ends with the context and says so.
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	got, err := tr.Trace(ctx, 2)
	if len(got) != 0 || !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "0 of 2 packets") {
		t.Errorf("Trace with no traffic: %d packets, %v", len(got), err)
	}
	if tr.Running() {
		t.Error("Trace left the trace armed")
	}
	if free, size := l.Worker.Pool().Free(), l.Worker.Pool().Size(); free != size {
		t.Errorf("buffer leak: %d of %d", free, size)
	}
}

// TestTraceConcurrent runs Trace on another goroutine while this one
// polls: it returns the n packets once they are recorded.
func TestTraceConcurrent(t *testing.T) {
	l, tr := traceLab(t, dptest.Options{})
	type result struct {
		pkts []tracefmt.TracePacket
		err  error
	}
	done := make(chan result)
	go func() {
		p, err := tr.Trace(context.Background(), 4)
		done <- result{p, err}
	}()
	for !tr.Running() {
		time.Sleep(time.Millisecond)
	}
	for i := 0; ; i++ {
		l.Send(0, udpTo(netip.AddrFrom4([4]byte{198, 18, 1, byte(i)}), 64))
		select {
		case r := <-done:
			if r.err != nil || len(r.pkts) != 4 {
				t.Fatalf("Trace: %d packets, %v", len(r.pkts), r.err)
			}
			if !strings.Contains(r.pkts[0].Summary, "198.18.1.0") {
				t.Errorf("first packet %s", r.pkts[0].Summary)
			}
			return
		case <-time.After(time.Millisecond):
		}
		if i > 10000 {
			t.Fatal("Trace did not return")
		}
	}
}

// TestTraceJSON: a traced packet survives a JSON round trip, its bytes
// as hex.
func TestTraceJSON(t *testing.T) {
	p := traceOne(t, dptest.Options{}, 0, udpTo(netip.MustParseAddr("198.18.0.1"), 64))
	b, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), fmt.Sprintf(`"head":"%x"`, []byte(p.Head))) || !strings.Contains(string(b), `"fate":"tx"`) {
		t.Errorf("JSON %s", b)
	}
	var q tracefmt.TracePacket
	if err := json.Unmarshal(b, &q); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(p, q) {
		t.Errorf("round trip:\n%+v\n%+v", p, q)
	}
}

// TestTraceZeroAlloc: with a tracer attached, neither the unarmed path
// nor the traced path allocates per poll.
func TestTraceZeroAlloc(t *testing.T) {
	w, _, _ := allocWorker(t, mixFrames())
	tr := tracefmt.NewTracer([]*dp.Worker{w})
	for range 4 {
		w.Poll()
	}
	if a := testing.AllocsPerRun(100, func() { w.Poll() }); a != 0 {
		t.Errorf("unarmed: %v allocations per poll, want 0", a)
	}
	const runs = 20
	if err := tr.Start((runs + 2) * 256); err != nil {
		t.Fatal(err)
	}
	w.Poll()
	if a := testing.AllocsPerRun(runs, func() { w.Poll() }); a != 0 {
		t.Errorf("tracing: %v allocations per poll, want 0", a)
	}
	if n := tr.Recorded(); n != (runs+2)*256 {
		t.Errorf("recorded %d, want %d", n, (runs+2)*256)
	}
	pkts := tr.Stop()
	fates := map[string]int{}
	for _, p := range pkts {
		fates[p.Fate]++
	}
	if fates[tracefmt.FateTx] == 0 || fates[tracefmt.FateLocal] == 0 || fates[tracefmt.FateICMPError] == 0 || fates[tracefmt.FateUnknown] != 0 {
		t.Errorf("fates %v", fates)
	}
}

// BenchmarkTraceArmedCheck measures, in one run, the cost per packet of
// polling a worker without a tracer and one with a tracer attached but
// not armed (its one atomic load per poll), alternating poll by poll
// (and which goes first), and reports both and their ratio: overall, and
// from the median poll of each (robust to the preemptions a shared
// machine inflicts on single polls). It also
// reports the cost per packet of polls in which every packet is traced,
// over one trace of MaxTrace packets.
func BenchmarkTraceArmedCheck(b *testing.B) {
	frames := mixFrames()
	plain, _, _ := allocWorker(b, frames)
	checked, _, _ := allocWorker(b, frames)
	tracefmt.NewTracer([]*dp.Worker{checked})
	traced, _, _ := allocWorker(b, frames)
	ttr := tracefmt.NewTracer([]*dp.Worker{traced})
	for range 4 {
		plain.Poll()
		checked.Poll()
		traced.Poll()
	}
	if err := ttr.Start(dp.MaxTrace); err != nil {
		b.Fatal(err)
	}
	var tPlain, tChecked, tTraced time.Duration
	var nPlain, nChecked, nTraced int
	// Per-poll times (ns per packet) of the last polls, for the medians.
	const keep = 1 << 15
	sPlain, sChecked := make([]float64, keep), make([]float64, keep)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		i++
		var dPlain, dChecked time.Duration
		var np, nc int
		if i&1 == 0 {
			t0 := time.Now()
			np = plain.Poll()
			t1 := time.Now()
			nc = checked.Poll()
			dPlain, dChecked = t1.Sub(t0), time.Since(t1)
		} else {
			t0 := time.Now()
			nc = checked.Poll()
			t1 := time.Now()
			np = plain.Poll()
			dChecked, dPlain = t1.Sub(t0), time.Since(t1)
		}
		tPlain += dPlain
		tChecked += dChecked
		nPlain += np
		nChecked += nc
		sPlain[i%keep] = float64(dPlain.Nanoseconds()) / float64(max(np, 1))
		sChecked[i%keep] = float64(dChecked.Nanoseconds()) / float64(max(nc, 1))
		if nTraced+256 <= dp.MaxTrace {
			t0 := time.Now()
			nTraced += traced.Poll()
			tTraced += time.Since(t0)
		}
	}
	b.StopTimer()
	if got := ttr.Recorded(); got != nTraced {
		b.Errorf("traced polls took %d packets, recorded %d", nTraced, got)
	}
	ttr.Stop()
	pp := float64(tPlain.Nanoseconds()) / float64(max(nPlain, 1))
	pc := float64(tChecked.Nanoseconds()) / float64(max(nChecked, 1))
	b.ReportMetric(pp, "ns/pkt-no-tracer")
	b.ReportMetric(pc, "ns/pkt-unarmed")
	b.ReportMetric(pc/pp, "unarmed/no-tracer")
	n := min(i, keep)
	slices.Sort(sPlain[:n])
	slices.Sort(sChecked[:n])
	mp, mc := sPlain[n/2], sChecked[n/2]
	b.ReportMetric(mp, "median-ns/pkt-no-tracer")
	b.ReportMetric(mc, "median-ns/pkt-unarmed")
	b.ReportMetric(mc/mp, "median-unarmed/no-tracer")
	if nTraced > 0 {
		b.ReportMetric(float64(tTraced.Nanoseconds())/float64(nTraced), "ns/pkt-all-traced")
	}
}

// FuzzSummarize: any frame head decodes to a line without panicking.
func FuzzSummarize(f *testing.F) {
	f.Add(udpTo(netip.MustParseAddr("198.18.0.1"), 64))
	f.Add(dptest.ARPFrame(hdr.ARPRequest, dptest.Broadcast, dptest.HostAMAC, dptest.HostA, [6]byte{}, dptest.R0))
	f.Add(dptest.IPv4Frame(dptest.R0MAC, dptest.HostAMAC, dptest.HostA, dptest.R0, hdr.ProtoICMP, 64, false, dptest.Echo(7, 1, 16)))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		if s := tracefmt.Summarize(b); s == "" || strings.Contains(s, "\n") {
			t.Fatalf("summary %q", s)
		}
	})
}
