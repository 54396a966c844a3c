package bench

import (
	"bytes"
	"fmt"
	"io"
	"net/netip"
	"runtime"
	"strconv"
	"time"

	"github.com/softnet/softnet"
	"github.com/softnet/softnet/control"
	"github.com/softnet/softnet/dp"
	"github.com/softnet/softnet/fib"
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
// by a generator and an egress interface into a sink.
type Forward struct {
	Router *control.Router
	Worker *dp.Worker
	Gen    *mem.Gen
	Sink   *mem.Sink
	Routes int
}

// NewForward builds the ip4-forward topology with routes to prefixes (each
// through next hop fib.NextHopOf(p, NextHops)) and a generator cycling
// through frames.
func NewForward(prefixes []netip.Prefix, frames [][]byte) (*Forward, error) {
	r := control.New(control.Options{})
	in, err := r.AddInterface(control.IfaceConfig{Name: "in0", MAC: InMAC, Addrs: []netip.Prefix{InAddr}})
	if err != nil {
		return nil, err
	}
	out, err := r.AddInterface(control.IfaceConfig{Name: "out0", MAC: OutMAC, Addrs: []netip.Prefix{OutAddr}})
	if err != nil {
		return nil, err
	}
	for i := 1; i <= NextHops; i++ {
		if err := r.AddNeighbor(out, Gateway(i), GatewayMAC(i)); err != nil {
			return nil, err
		}
	}
	if err := r.AddRoutes(prefixes, func(i int) netip.Addr {
		return Gateway(int(fib.NextHopOf(prefixes[i], NextHops)))
	}); err != nil {
		return nil, err
	}
	r.Publish()
	g := mem.NewGen("in0", frames)
	s := mem.NewSink("out0")
	ports := make([]port.Port, 2)
	ports[in], ports[out] = g, s
	w := dp.NewWorker(0, r.Config(), ports, []dp.RxQueue{{Iface: in}}, dp.Options{})
	r.AttachWorkers([]*dp.Worker{w})
	return &Forward{Router: r, Worker: w, Gen: g, Sink: s, Routes: r.Routes()}, nil
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
}

// StageStat is one stage's runtime during the measurement.
type StageStat struct {
	Name           string  `json:"name"`
	Calls          uint64  `json:"calls"`
	Packets        uint64  `json:"packets"`
	PacketsPerCall float64 `json:"packets_per_call"`
	NsPerPacket    float64 `json:"ns_per_packet"` // from a 1-in-16 sample of polls
}

// Options for a run.
type Options struct {
	Scenario   string
	Duration   time.Duration
	PacketSize int
	Progress   io.Writer // progress line target, nil for none
}

// Run runs one scenario and returns its figures.
func Run(o Options) (*Result, error) {
	if o.Scenario == "" {
		o.Scenario = "ip4-forward"
	}
	if o.Scenario != "ip4-forward" {
		return nil, fmt.Errorf("unknown scenario %q: choose ip4-forward or veth (softnet bench --help)", o.Scenario)
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
	t0 := time.Now()
	prefixes, err := FullTableIPv4()
	if err != nil {
		return nil, err
	}
	f, err := NewForward(prefixes, Frames(prefixes, Templates, o.PacketSize))
	if err != nil {
		return nil, err
	}
	setup := time.Since(t0)
	res := &Result{
		Scenario: o.Scenario, Impl: "softnet", Workers: 1, PacketSize: o.PacketSize,
		Routes: f.Routes, SetupS: setup.Seconds(), GoVersion: runtime.Version(),
		GOMAXPROCS: runtime.GOMAXPROCS(0),
	}
	runtime.GC() // start the measurement with a clean heap

	stop := make(chan struct{})
	cpDone := make(chan struct{})
	go func() { f.Router.Run(stop); close(cpDone) }()
	go f.Worker.Run()

	time.Sleep(200 * time.Millisecond) // warm-up: caches, TLB, branch predictors
	c0 := f.Worker.Counters()
	var m0, m1 runtime.MemStats
	runtime.ReadMemStats(&m0)
	start := time.Now()
	progress(o.Progress, o.Scenario, start, o.Duration, func() uint64 { return f.Worker.Counters().TxPackets[1] })
	elapsed := time.Since(start)
	runtime.ReadMemStats(&m1)
	c1 := f.Worker.Counters()
	f.Worker.Stop()
	close(stop)
	<-cpDone
	res.ProcessAllocsPerPacket = float64(m1.Mallocs-m0.Mallocs) / float64(max(1, c1.TxPackets[1]-c0.TxPackets[1]))
	res.AllocsPerPacket = dataPathAllocs(f)

	const out = 1
	res.DurationS = elapsed.Seconds()
	res.Packets = c1.TxPackets[out] - c0.TxPackets[out]
	res.Received = c1.RxPackets[0] - c0.RxPackets[0]
	res.Mpps = float64(res.Packets) / elapsed.Seconds() / 1e6
	if res.Packets > 0 {
		res.NsPerPacket = float64(elapsed.Nanoseconds()) * float64(res.Workers) / float64(res.Packets)
	}
	res.Drops = map[string]uint64{}
	for r := dp.Reason(1); r < dp.NumReasons; r++ {
		if d := c1.Drops[r] - c0.Drops[r]; d > 0 {
			res.Drops[r.String()] = d
		}
	}
	for s := dp.Stage(0); s < dp.NumStages; s++ {
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

// dataPathAllocs polls the stopped worker on this goroutine and returns
// heap allocations per packet, as testing.AllocsPerRun measures them.
func dataPathAllocs(f *Forward) float64 {
	const polls = 2000
	for range 10 {
		f.Worker.Poll() // warm up
	}
	runtime.GC()
	var m0, m1 runtime.MemStats
	runtime.ReadMemStats(&m0)
	var pkts int
	for range polls {
		pkts += f.Worker.Poll()
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
