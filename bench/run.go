package bench

import (
	"bytes"
	"cmp"
	"fmt"
	"github.com/softnet/softnet/dp/edrop"
	_ "github.com/softnet/softnet/dp/nodes" // the whole packet graph
	"io"
	"net/netip"
	"runtime"
	"slices"
	"strconv"
	"time"

	"github.com/softnet/softnet"
	"github.com/softnet/softnet/control"
	"github.com/softnet/softnet/dp"
	"github.com/softnet/softnet/dp/ethernet"
	"github.com/softnet/softnet/fib"
	"github.com/softnet/softnet/pkt"
	"github.com/softnet/softnet/port"
	"github.com/softnet/softnet/port/mem"
)

// Templates is the number of distinct frames the generator cycles through
// (4 MiB of 64-byte frames: more than the caches, so destinations are not
// replayed from L1).
const Templates = 65536

// FullTableIPv4 returns the IPv4 prefixes of the embedded full table, in
// file order.
func FullTableIPv4() ([]netip.Prefix, error) {
	all, err := fib.ReadPrefixes(bytes.NewReader(softnet.FullTableGz))
	if err != nil {
		return nil, err
	}
	v4 := all[:0]
	for _, p := range all {
		if p.Addr().Is4() {
			v4 = append(v4, p)
		}
	}
	return v4, nil
}

// Forward is the ip4-forward setup: a router with an ingress interface fed
// by a generator and an egress interface into a sink, and its workers:
// worker i polls the generator's queue i and sends on the sink's queue i
// (its ID), so the workers share no written cache line.
type Forward struct {
	Router  *control.Router
	Worker  *dp.Worker   // Workers[0]
	Workers []*dp.Worker // not running: Start them (see Run)
	Gen     *mem.Gen
	Sink    *mem.Sink
	Routes  int
	// Arena is the layout of the workers' buffer arena (Frames is set
	// by the setup: PoolSize per worker); the zero value is pkt's
	// default, 9408-byte chunks. See WithArena.
	Arena pkt.ArenaOptions

	frames  [][]byte
	in, out int                // port interface indexes
	txIf    int                // the interface the packets leave by (out, or a VLAN of it)
	prepare func(w *dp.Worker) // run on each new worker before it starts (bridge: learn)
	// early-drop: count the frames it dropped; the blocklist's size
	// and load time.
	drops     bool
	blEntries int
	// ip4-filter: the states in the table when it was built.
	filterStates int
	blLoadS      float64
}

// NewForward builds the ip4-forward topology with routes to prefixes (each
// through next hop fib.NextHopOf(p, NextHops)), a generator cycling
// through frames and workers unpinned workers (at least 1).
func NewForward(prefixes []netip.Prefix, frames [][]byte, workers int) (*Forward, error) {
	r := control.New(control.Options{})
	in, err := r.AddInterface(control.IfaceConfig{Name: "in0", MAC: InMAC, Addrs: []netip.Prefix{InAddr}})
	if err != nil {
		return nil, err
	}
	out, err := r.AddInterface(control.IfaceConfig{Name: "out0", MAC: OutMAC, Addrs: []netip.Prefix{OutAddr}})
	if err != nil {
		return nil, err
	}
	if err := routeThrough(r, out, prefixes); err != nil {
		return nil, err
	}
	f := &Forward{Router: r, Routes: r.Routes(), frames: frames, in: in, out: out, txIf: out}
	f.attach(workers, nil, false)
	return f, nil
}

// routeThrough gives r the NextHops gateways as static neighbours on
// interface egress and routes each of prefixes through one of them
// (fib.NextHopOf), then publishes.
func routeThrough(r *control.Router, egress int, prefixes []netip.Prefix) error {
	for i := 1; i <= NextHops; i++ {
		if err := r.AddNeighbor(egress, Gateway(i), GatewayMAC(i)); err != nil {
			return err
		}
	}
	if err := r.AddRoutes(prefixes, func(i int) netip.Addr {
		return Gateway(int(fib.NextHopOf(prefixes[i], NextHops)))
	}); err != nil {
		return err
	}
	r.Publish()
	return nil
}

// WithWorkers returns the same setup on f's router (the table is built
// once) with a fresh generator and sink of n queues and n new workers,
// worker i pinned to cpus[i] when cpus is not nil. f's workers must not
// be running.
func (f *Forward) WithWorkers(n int, cpus []int) *Forward {
	g := *f
	g.attach(n, cpus, false)
	return &g
}

// WithSpread is WithWorkers with a single-queue generator: worker 0 polls
// it and spreads the flows over the n workers by software RSS (dp.Spread),
// as for a port with fewer queues than workers.
func (f *Forward) WithSpread(n int, cpus []int) *Forward {
	g := *f
	g.attach(n, cpus, true)
	return &g
}

// WithArena is WithWorkers with the workers' buffers in an arena of
// layout o (chunk size, stagger).
func (f *Forward) WithArena(o pkt.ArenaOptions, n int, cpus []int) *Forward {
	g := *f
	g.Arena = o
	g.attach(n, cpus, false)
	return &g
}

// PoolSize is the buffers of each worker's pool.
const PoolSize = 4096

// newArena maps an arena of f's layout for n workers' pools, before the
// ports that use it are made. Its buffers live as long as the process
// (a setup's workers may outlive the setup that made them).
func (f *Forward) newArena(n int) *pkt.Arena {
	o := f.Arena
	o.Frames = n * PoolSize
	a, err := pkt.NewArena(o)
	if err != nil {
		panic(err) // the layout is the caller's code: a programming error
	}
	return a
}

func (f *Forward) attach(n int, cpus []int, spread bool) {
	n = max(n, 1)
	arena := f.newArena(n)
	// n queues either way: worker i transmits on queue i of each port
	// (dp.Options.TxQueue); with spread only queue 0 is polled, which
	// cycles through every frame as a one-queue generator would.
	f.Gen = mem.NewGenQueues("in0", f.frames, n)
	f.Sink = mem.NewSinkQueues("out0", n)
	ports := make([]port.Port, 2)
	ports[f.in], ports[f.out] = f.Gen, f.Sink
	f.Workers = make([]*dp.Worker, n)
	for i := range f.Workers {
		o := dp.Options{Pool: pkt.NewPoolIn(arena, i*PoolSize, PoolSize)}
		if cpus != nil {
			o.Pin, o.CPU = true, cpus[i]
		}
		var rxq []dp.RxQueue
		switch {
		case !spread:
			rxq = []dp.RxQueue{{Iface: f.in, Queue: i}}
		case i == 0:
			rxq = []dp.RxQueue{{Iface: f.in, Spread: true}}
		}
		f.Workers[i] = dp.NewWorker(i, f.Router.Config(), ports, rxq, o)
	}
	if spread {
		_ = dp.Spread(f.Workers, 0) // fresh workers, fewer than a table's 128: cannot fail
	}
	if f.prepare != nil {
		for _, w := range f.Workers {
			f.prepare(w)
		}
	}
	f.Worker = f.Workers[0]
	f.Router.AttachWorkers(f.Workers)
}

// Result is one scenario's figures. The JSON names are stable: scripts and
// bench/peers use them.
type Result struct {
	Scenario    string  `json:"scenario"`
	Impl        string  `json:"impl"`
	Workers     int     `json:"workers"`
	PacketSize  int     `json:"packet_size"`
	Routes      int     `json:"routes"`
	DurationS   float64 `json:"duration_s"`
	Packets     uint64  `json:"packets"`
	Received    uint64  `json:"received"`
	Mpps        float64 `json:"mpps"`
	NsPerPacket float64 `json:"ns_per_packet"`
	// AllocsPerPacket is the data path's heap allocations per packet,
	// measured like testing.AllocsPerRun: the worker polled on this
	// goroutine with nothing else running. ProcessAllocsPerPacket counts
	// every allocation in the process during the timed run (the runtime's
	// and the harness's too).
	AllocsPerPacket        float64           `json:"allocs_per_packet"`
	ProcessAllocsPerPacket float64           `json:"process_allocs_per_packet"`
	Drops                  map[string]uint64 `json:"drops"`
	Stages                 []StageStat       `json:"stages"`
	SetupS                 float64           `json:"setup_s"`
	GoVersion              string            `json:"go_version"`
	GOMAXPROCS             int               `json:"gomaxprocs"`
	// WorkerMpps is each worker's forwarding rate; CPUs the CPU each
	// worker was pinned to, absent when they ran unpinned, and Unpinned
	// then says why.
	WorkerMpps []float64 `json:"worker_mpps"`
	CPUs       []int     `json:"cpus,omitempty"`
	Unpinned   string    `json:"unpinned,omitempty"`
	// OtherLoad is the CPU time other processes used during the timed run,
	// in CPUs (1.0: one CPU busy elsewhere), and Steal the time the
	// hypervisor gave other guests; either explains a low figure on a
	// shared machine. Linux only.
	OtherLoad float64 `json:"other_load"`
	Steal     float64 `json:"steal"`
	// Spread is the packets worker 0 handed to other workers by software
	// RSS (scenario rss), and RingFull those it dropped because the
	// owner's lane was full.
	Spread   uint64 `json:"spread,omitempty"`
	RingFull uint64 `json:"rss_ring_full,omitempty"`
	// RepeatsMpps is the Mpps of every run when Options.Repeat asked for
	// more than one (absent otherwise); the other figures of the Result
	// are then those of the median run (the lower middle one of an even
	// count).
	RepeatsMpps []float64 `json:"repeats_mpps,omitempty"`
	// SelfCPUs is the CPU time this process used during the timed run,
	// in CPUs; MppsPerCPU is Mpps over it: the rate per CPU softnet had,
	// which other processes' load moves much less than Mpps. Linux only.
	SelfCPUs   float64 `json:"self_cpus"`
	MppsPerCPU float64 `json:"mpps_per_cpu"`
	// GCCPUShare is the garbage collector's share of the CPU time the
	// process had over the timed run (0..1), from runtime/metrics: the
	// growth of /cpu/classes/gc/total from a collection forced just before
	// the run to the run's end, over GOMAXPROCS × the run's wall time
	// (what /cpu/classes/total counts); the runtime updates those only when a
	// cycle ends, so this counts the cycles that completed during the run
	// (GCCycles), not one still running at its end (see runGC). A run
	// that allocates nothing has 0 cycles and a share of 0.
	GCCPUShare float64 `json:"gc_cpu_share"`
	GCCycles   uint64  `json:"gc_cycles"`
	// Scenario early-drop: the entries of the blocklist every source is
	// in, and the seconds loading it took (parse and build). Packets and
	// Mpps count the frames early-drop dropped (all of them).
	BlocklistEntries int     `json:"blocklist_entries,omitempty"`
	LoadS            float64 `json:"load_s,omitempty"`
	// Scenario ip4-filter: the filter's rules and the states in the
	// worker's table (one per flow: every measured packet hits one).
	FilterRules  int `json:"filter_rules,omitempty"`
	FilterStates int `json:"filter_states,omitempty"`
}

// StageStat is one stage's runtime during the measurement.
type StageStat struct {
	Name           string  `json:"name"`
	Calls          uint64  `json:"calls"`
	Packets        uint64  `json:"packets"`
	PacketsPerCall float64 `json:"packets_per_call"`
	NsPerPacket    float64 `json:"ns_per_packet"` // from a 1-in-16 sample of polls
}

// Report is a run over several worker counts: one Result per count in the
// order asked, and each count's Mpps over the first count's, keyed by the
// count ("2": 1.95). It is the JSON softnet bench --workers 1,2 prints.
type Report struct {
	Scenario string             `json:"scenario"`
	Runs     []*Result          `json:"runs"`
	Speedup  map[string]float64 `json:"speedup"`
}

// Options for a run.
type Options struct {
	Scenario   string
	Duration   time.Duration
	PacketSize int
	// Workers lists the worker counts to measure, one after the other in
	// this process on the same table (default [1]). With N workers, worker
	// i polls generator queue i and is pinned to the i-th allowed CPU when
	// N is at most the number of allowed CPUs; otherwise all run unpinned.
	Workers []int
	// Repeat runs each worker count this many times in a row (default
	// 1), for the spread between runs (Result.RepeatsMpps).
	Repeat   int
	Progress io.Writer // progress line target, nil for none

	// start, if set, runs once the workers are up, before the warm-up
	// (RunSideBySide's side).
	start func() error
}

// Run runs one scenario once per worker count and returns the figures.
func Run(o Options) (*Report, error) {
	if o.Scenario == "" {
		o.Scenario = "ip4-forward"
	}
	if o.Duration <= 0 {
		o.Duration = 5 * time.Second
	}
	if o.PacketSize == 0 {
		o.PacketSize = 64
	}
	if o.PacketSize < 42 || o.PacketSize > 1514 {
		return nil, fmt.Errorf("packet size %d: use 42..1514 bytes (an Ethernet/IPv4/UDP frame without FCS)", o.PacketSize)
	}
	if len(o.Workers) == 0 {
		o.Workers = []int{1}
	}
	for _, n := range o.Workers {
		if n < 1 || n > MaxWorkers {
			return nil, fmt.Errorf("worker count %d: use 1..%d", n, MaxWorkers)
		}
	}
	if o.Repeat == 0 {
		o.Repeat = 1
	}
	if o.Repeat < 1 || o.Repeat > MaxRepeat {
		return nil, fmt.Errorf("repeat %d: run each count 1..%d times", o.Repeat, MaxRepeat)
	}
	if err := knownScenario(o.Scenario); err != nil {
		return nil, err
	}
	t0 := time.Now()
	prefixes, err := FullTableIPv4()
	if err != nil {
		return nil, err
	}
	base, err := newScenario(o.Scenario, prefixes, o.PacketSize)
	if err != nil {
		return nil, err
	}
	setup := time.Since(t0)
	rep := &Report{Scenario: o.Scenario, Speedup: map[string]float64{}}
	allowed := dp.AllowedCPUs()
	for _, n := range o.Workers {
		var cpus []int
		unpinned := ""
		if n <= len(allowed) {
			cpus = allowed[:n]
		} else {
			unpinned = fmt.Sprintf("unpinned: more workers than the %d CPUs the process may use", len(allowed))
		}
		var runs []*Result
		for i := range o.Repeat {
			ro := o
			if o.Repeat > 1 {
				ro.Scenario = o.Scenario + " run " + strconv.Itoa(i+1) + "/" + strconv.Itoa(o.Repeat)
			}
			f := base.WithWorkers(n, cpus)
			if o.Scenario == "rss" {
				f = base.WithSpread(n, cpus)
			}
			r, err := measure(f, ro)
			if err != nil {
				return nil, err
			}
			r.Scenario = o.Scenario
			runs = append(runs, r)
		}
		res := median(runs)
		if len(runs) > 1 {
			for _, r := range runs {
				res.RepeatsMpps = append(res.RepeatsMpps, r.Mpps)
			}
		}
		res.PacketSize, res.SetupS, res.CPUs, res.Unpinned = o.PacketSize, setup.Seconds(), cpus, unpinned
		rep.Runs = append(rep.Runs, res)
		if first := rep.Runs[0].Mpps; first > 0 {
			rep.Speedup[strconv.Itoa(n)] = res.Mpps / first
		}
	}
	return rep, nil
}

// MaxWorkers bounds a worker count (each worker has a 8 MB buffer pool).
const MaxWorkers = 256

// MaxRepeat bounds Options.Repeat.
const MaxRepeat = 100

// median returns the run with the median Mpps (the lower middle one of
// an even count).
func median(runs []*Result) *Result {
	s := slices.Clone(runs)
	slices.SortStableFunc(s, func(a, b *Result) int { return cmp.Compare(a.Mpps, b.Mpps) })
	return s[(len(s)-1)/2]
}

// measure runs f's workers (and the control plane, mostly idle) for a
// warm-up and then o.Duration, and returns what they did.
func measure(f *Forward, o Options) (*Result, error) {
	res := &Result{
		Scenario: o.Scenario, Impl: "softnet", Workers: len(f.Workers), Routes: f.Routes,
		GoVersion: runtime.Version(), GOMAXPROCS: runtime.GOMAXPROCS(0),
	}
	runtime.GC() // start the measurement with a clean heap

	stop := make(chan struct{})
	cpDone := make(chan struct{})
	go func() { f.Router.Run(stop); close(cpDone) }()
	var startErr error
	for _, w := range f.Workers {
		if err := w.Start(); err != nil && startErr == nil {
			startErr = fmt.Errorf("worker %d: %w", w.ID, err)
		}
	}
	stopAll := func() {
		for _, w := range f.Workers {
			w.Stop()
		}
		close(stop)
		<-cpDone
	}
	if startErr == nil && o.start != nil {
		startErr = o.start()
	}
	if startErr != nil {
		stopAll()
		return nil, startErr
	}

	out := f.txIf
	time.Sleep(200 * time.Millisecond) // warm-up: caches, TLB, branch predictors
	// A collection now brings the runtime's CPU classes up to date (it
	// updates them only at the end of a cycle): the GC figures start with
	// the timed run (see Result.GCCPUShare).
	runtime.GC()
	g0 := readGC()
	w0 := f.perWorker(out)
	c0 := dp.Sum(f.Workers)
	var m0, m1 runtime.MemStats
	runtime.ReadMemStats(&m0)
	t0 := readCPUTimes()
	start := time.Now()
	name := o.Scenario
	if len(f.Workers) > 1 {
		name += " ×" + strconv.Itoa(len(f.Workers))
	}
	progress(o.Progress, name, start, o.Duration, func() uint64 { c := dp.Sum(f.Workers); return c.TxPackets[out] })
	elapsed := time.Since(start)
	t1 := readCPUTimes()
	runtime.ReadMemStats(&m1)
	c1 := dp.Sum(f.Workers)
	g1 := readGC()
	res.OtherLoad, res.Steal = otherLoad(t0, t1, elapsed)
	res.GCCPUShare, res.GCCycles = runGC(g0, g1, elapsed, runtime.GOMAXPROCS(0))
	if t0.ok && t1.ok {
		res.SelfCPUs = (t1.self - t0.self).Seconds() / elapsed.Seconds()
	}
	w1 := f.perWorker(out)
	stopAll()
	res.ProcessAllocsPerPacket = float64(m1.Mallocs-m0.Mallocs) / float64(max(1, c1.TxPackets[out]-c0.TxPackets[out]))
	res.AllocsPerPacket = dataPathAllocs(f)

	res.DurationS = elapsed.Seconds()
	res.Packets = c1.TxPackets[out] - c0.TxPackets[out]
	for i := range c1.RxPackets {
		res.Received += c1.RxPackets[i] - at(c0.RxPackets, i) // the port's and its VLANs'
	}
	if f.drops { // early-drop: the packets dropped are the work done
		res.Packets = c1.Drops[edrop.Blocked] - c0.Drops[edrop.Blocked]
		res.BlocklistEntries, res.LoadS = f.blEntries, f.blLoadS
	}
	if f.filterStates > 0 {
		res.FilterRules, res.FilterStates = FilterRules, f.filterStates
	}
	res.Mpps = float64(res.Packets) / elapsed.Seconds() / 1e6
	if res.SelfCPUs > 0 {
		res.MppsPerCPU = res.Mpps / res.SelfCPUs
	}
	for i := range w1 {
		res.WorkerMpps = append(res.WorkerMpps, float64(w1[i]-w0[i])/elapsed.Seconds()/1e6)
	}
	if res.Packets > 0 {
		res.NsPerPacket = float64(elapsed.Nanoseconds()) * float64(res.Workers) / float64(res.Packets)
	}
	res.Spread = c1.Spread - c0.Spread
	res.RingFull = c1.Drops[ethernet.RSSRingFull] - c0.Drops[ethernet.RSSRingFull]
	res.Drops = map[string]uint64{}
	for _, r := range dp.Reasons() {
		if d := c1.Drops[r] - c0.Drops[r]; d > 0 {
			res.Drops[r.String()] = d
		}
	}
	for _, s := range dp.Stages() {
		calls := c1.Calls[s] - c0.Calls[s]
		if calls == 0 {
			continue
		}
		st := StageStat{Name: s.String(), Calls: calls, Packets: c1.Packets[s] - c0.Packets[s]}
		st.PacketsPerCall = float64(st.Packets) / float64(calls)
		if sp := c1.SampledPkts[s] - c0.SampledPkts[s]; sp > 0 {
			st.NsPerPacket = float64(c1.SampledNanos[s]-c0.SampledNanos[s]) / float64(sp)
		}
		res.Stages = append(res.Stages, st)
	}
	return res, nil
}

func at(s []uint64, i int) uint64 {
	if i < len(s) {
		return s[i]
	}
	return 0
}

// perWorker returns each worker's packets sent on interface out, or
// dropped by early-drop when f's scenario drops what it measures (early-drop).
func (f *Forward) perWorker(out int) []uint64 {
	if f.drops {
		n := make([]uint64, len(f.Workers))
		for i, w := range f.Workers {
			n[i] = w.Counters().Drops[edrop.Blocked]
		}
		return n
	}
	return perWorker(f.Workers, out)
}

// perWorker returns each worker's packets sent on interface out.
func perWorker(ws []*dp.Worker, out int) []uint64 {
	n := make([]uint64, len(ws))
	for i, w := range ws {
		n[i] = w.Counters().TxPackets[out]
	}
	return n
}

// dataPathAllocs polls the stopped workers in turn on this goroutine and
// returns heap allocations per packet, as testing.AllocsPerRun measures
// them: with GOMAXPROCS 1, so that the runtime's own allocations (an M for
// a thread it starts, which pinned workers' hand-offs make likelier) do
// not land in the count.
func dataPathAllocs(f *Forward) float64 {
	const polls = 2000
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	for _, w := range f.Workers {
		for range 10 {
			w.Poll() // warm up
		}
	}
	runtime.GC()
	var m0, m1 runtime.MemStats
	runtime.ReadMemStats(&m0)
	var pkts int
	for i := range polls {
		pkts += f.Workers[i%len(f.Workers)].Poll()
	}
	runtime.ReadMemStats(&m1)
	if pkts == 0 {
		return 0
	}
	return float64(m1.Mallocs-m0.Mallocs) / float64(pkts)
}

// progress waits d, writing a progress line to w (if not nil) twice a
// second. Its formatting allocates nothing; the counter read allocates a
// little twice a second, which process_allocs_per_packet includes.
func progress(w io.Writer, name string, start time.Time, d time.Duration, count func() uint64) {
	if w == nil {
		time.Sleep(d)
		return
	}
	var line [128]byte
	var last uint64 = count()
	lastT := start
	for {
		left := d - time.Since(start)
		if left <= 0 {
			break
		}
		time.Sleep(min(left, 500*time.Millisecond))
		now, n := time.Now(), count()
		rate := float64(n-last) / now.Sub(lastT).Seconds() / 1e6
		last, lastT = n, now
		b := append(line[:0], "\r  "...)
		b = append(b, name...)
		b = append(b, "  "...)
		b = strconv.AppendFloat(b, now.Sub(start).Seconds(), 'f', 1, 64)
		b = append(b, "s  "...)
		b = strconv.AppendFloat(b, rate, 'f', 2, 64)
		b = append(b, " Mpps   "...)
		_, _ = w.Write(b)
	}
	_, _ = w.Write([]byte("\r\033[K"))
}
