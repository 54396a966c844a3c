package bench

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/netip"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"

	"github.com/softnet/softnet/api"
	"github.com/softnet/softnet/config"
	"github.com/softnet/softnet/internal/netns"
	"github.com/softnet/softnet/lab"
)

// The soak's third link, the one the churn flaps, deletes and re-creates:
// the router's rc (softnet interface rc, 10.11.3.1/24) to c0 in host B's
// namespace (no address there: nothing answers on it). Two gateways on
// it, static neighbours in the config, carry the full table and the
// routes the churn adds. The unchanged flow (host A to lab.FloodNet via
// lab.Sink on rb) never touches rc.
const (
	soakDev          = "rc"
	soakPeer         = "c0"
	soakMACVeth      = "02:53:4e:03:00:01"
	soakMACPeer      = "02:53:4e:03:00:02"
	soakMACRC        = "02:53:4e:03:01:01" // softnet's MAC on rc
	soakGW1, soakGW2 = "10.11.3.2", "10.11.3.3"
	soakGWMAC1       = "02:53:4e:03:00:12"
	soakGWMAC2       = "02:53:4e:03:00:13"
	soakAddrRC       = "10.11.3.1/24"
	soakMember       = "rc.301" // the bridge member whose down flag reloads toggle
	soakFullWait     = 60 * time.Second
	// soakLinkEvery is the link faults' period. A reload rebuilds its
	// full table when an interface changes meanwhile (control,
	// Reconfigure), so faults more often than a full-table build takes
	// hold reloads up: once a second, a reload took 19 s on the shared
	// development machine.
	soakLinkEvery = 3 * time.Second
	// soakProbeEvery is the prober's period: an API call beside the
	// churn, so that some come while a reload builds.
	soakProbeEvery = 100 * time.Millisecond
	soakProbeRoute = "198.51.100.240/28" // the prober's route (the churn's are below .128)
)

// SoakOptions configure RunSoak.
type SoakOptions struct {
	Binary   string        // the softnet binary
	Duration time.Duration // the churn and the unchanged flow run this long (60 s when 0)
	Backend  string        // "afpacket" (when empty) or "afxdp"
	RatePPS  float64       // the unchanged flow's rate (5000 when 0)
	MaxOps   int           // churn operations at most (100000 when 0)
	// FullTable is the route file a full-table replace swaps between two
	// gateways: config.EmbeddedFullTable (testdata/bgp-prefixes.txt.gz)
	// when "".
	FullTable string
	Progress  io.Writer
}

// SoakBounds are the growth the soak allows from start to end; each end
// figure is checked against its start figure plus the bound.
type SoakBounds struct {
	HeapBytes   uint64  `json:"heap_bytes"` // heap_end ≤ heap_start × (1 + heap_frac) + heap_bytes
	HeapFrac    float64 `json:"heap_frac"`
	Goroutines  int     `json:"goroutines"`  // goroutines_end ≤ goroutines_start + this
	FDs         int     `json:"fds"`         // fds_end ≤ fds_start + this
	Adjacencies int     `json:"adjacencies"` // adjacencies_end ≤ adjacencies_start + this
	Buffers     int     `json:"buffers"`     // buffers_end ≤ buffers_start + this (in use)
	APIP99Ms    float64 `json:"api_p99_ms"`  // api_p99_ms ≤ this
}

// DefaultSoakBounds are the bounds RunSoak checks: the live heap (after a
// collection) may grow by 10% and 16 MiB (the runtime's own caches, a
// route or two in a map bucket), a few goroutines and descriptors (a
// connection being closed as the last status is read), a few adjacencies
// (neighbours learned by ARP meanwhile, such as host A's), and two
// batches of buffers. An API answer other than a reload's waits for a
// full-table build at most one replace chunk (control's replaceChunk
// routes, a few milliseconds) at a time: api_p99_ms at most 1 s leaves
// room for a loaded machine, not for waiting out a build (seconds).
// minP99Calls: api_p99_ms is judged against its bound only over at least
// this many answers (the 10 s soak of e2e's TestSoakScenario makes about
// 160: its "p99" is its second slowest answer).
const minP99Calls = 500

var DefaultSoakBounds = SoakBounds{HeapBytes: 16 << 20, HeapFrac: 0.10, Goroutines: 8, FDs: 4, Adjacencies: 8, Buffers: 512, APIP99Ms: 1000}

// SoakResult is what softnet bench --scenario soak prints.
type SoakResult struct {
	Scenario  string  `json:"scenario"` // "soak"
	Backend   string  `json:"backend"`
	DurationS float64 `json:"duration_s"`
	RatePPS   float64 `json:"rate_pps"` // the unchanged flow's offered rate asked for
	// The unchanged flow: host A to lab.FloodDst through rb, a route and
	// a link the churn never touches. Offered is what host A's socket
	// sent, Forwarded what a counting socket on host B's b0 saw of it
	// (a BPF filter on the destination address); LostUnchanged is the
	// difference, and must be 0.
	OfferedUnchanged   uint64 `json:"offered_unchanged"`
	ForwardedUnchanged uint64 `json:"forwarded_unchanged"`
	LostUnchanged      int64  `json:"lost_unchanged"`
	// Where a lost packet went: softnet's receive count on ra and its
	// transmit count on rb from the flow's start to its end (the flow,
	// and a few ARP frames). Offered above ra_rx: lost before softnet
	// read it (its ring: softnet_kernel_drops, ring_drops_during; or the
	// generator's veth); ra_rx above rb_tx: dropped in softnet
	// (softnet_drops); rb_tx above forwarded: lost after it.
	RARxPackets     uint64 `json:"ra_rx_packets"`
	RBTxPackets     uint64 `json:"rb_tx_packets"`
	StaticRoutes    int    `json:"static_routes_start"` // the full table and the config's routes
	HeapStart       uint64 `json:"heap_start_bytes"`    // live heap after a collection (GET /v1/status?gc=1)
	HeapEnd         uint64 `json:"heap_end_bytes"`
	GoroutinesStart int    `json:"goroutines_start"`
	GoroutinesEnd   int    `json:"goroutines_end"`
	FDsStart        int    `json:"fds_start"`
	FDsEnd          int    `json:"fds_end"`
	AdjStart        int    `json:"adjacencies_start"`
	AdjEnd          int    `json:"adjacencies_end"`
	AdjMax          int    `json:"adjacencies_max"`
	BuffersStart    int    `json:"buffers_in_use_start"`
	BuffersEnd      int    `json:"buffers_in_use_end"`
	Buffers         int    `json:"buffers"` // in all the pools
	// Control-plane answers: every churn and scrape call but traces (which
	// wait for packets) and reloads (each applies the full table: timed
	// apart), and the prober's: status, interfaces, metrics, a route
	// lookup and a route add and delete every soakProbeEvery beside the
	// churn, so that answers while a reload builds are in it.
	APICalls   int     `json:"api_calls"`
	APIP50Ms   float64 `json:"api_p50_ms"`
	APIP99Ms   float64 `json:"api_p99_ms"`
	APIMaxMs   float64 `json:"api_max_ms"`
	ProbeCalls int     `json:"probe_calls"` // the prober's, in api_calls
	// APIMaxByKind is the slowest answer of each kind (churn and probe
	// kinds, reloads too): which calls were slow.
	APIMaxByKind  map[string]float64 `json:"api_max_ms_by_kind"`
	ReloadP99Ms   float64            `json:"reload_p99_ms"`       // reloads of the same table (reload, bridge_member_toggle)
	ReloadMaxMs   float64            `json:"reload_max_ms"`       // the slowest of them
	FullReplaceMs float64            `json:"full_replace_max_ms"` // the slowest full-table replace (a reload)
	// softnet's final counters: drops by stage/reason and the kernel's
	// ring drops (where a lost packet went).
	SoftnetDrops       map[string]uint64 `json:"softnet_drops"`
	SoftnetKernelDrops uint64            `json:"softnet_kernel_drops"`
	// RingDropsDuring is ra's kernel ring drops (where the unchanged
	// flow comes in) that grew while an API churn operation ran, by its
	// kind: which churn the losses, if any, came with (the link faults,
	// every 3 s beside it, are not told apart).
	RingDropsDuring map[string]uint64 `json:"ring_drops_during"`
	// The workers' poll gaps (GET /v1/runtime): the longest time between
	// two polls of a worker since softnet started (the warm-up
	// included), not counting its sleeps waiting for frames, and the gaps
	// over 100 ms during the run. A gap longer than ra's ring lasts (1.6
	// s at 5000 a second on AF_PACKET) drops frames at the ring.
	PollGapMaxMs float64 `json:"poll_gap_max_ms"`
	PollGaps     uint64  `json:"poll_gaps"`
	// softnet's Go runtime at the end (GET /v1/runtime's go, since
	// start): GOMAXPROCS, the runnable-to-running latency's p99 and
	// maximum, the collector's stop-the-world pauses' p99 and maximum,
	// its cycles during the run, and its target (GOGC).
	GOMAXPROCS        int      `json:"gomaxprocs"`
	GCPercent         int      `json:"gc_percent"`
	SchedLatencyP99Ms float64  `json:"sched_latency_p99_ms"`
	SchedLatencyMaxMs float64  `json:"sched_latency_max_ms"`
	GCPauseP99Ms      float64  `json:"gc_pause_p99_ms"`
	GCPauseMaxMs      float64  `json:"gc_pause_max_ms"`
	GCCycles          uint64   `json:"gc_cycles"`
	ErrorsLogged      int      `json:"errors_logged"` // level=ERROR lines in softnet's log
	ErrorLines        []string `json:"error_lines,omitempty"`
	// Churn counts the operations done, by kind; ChurnFailures those that
	// failed (each is a defect: the soak asks only what must succeed),
	// with the first few in Failures.
	Churn         map[string]int `json:"churn"`
	ChurnOps      int            `json:"churn_ops"`
	ChurnFailures int            `json:"churn_failures"`
	Failures      []string       `json:"failures,omitempty"`
	Bounds        SoakBounds     `json:"bounds"`
	// Pass: lost_unchanged is 0, no churn operation failed, softnet
	// stayed up, and every end figure is within its bound; Violations
	// says what did not hold.
	Pass       bool     `json:"pass"`
	Violations []string `json:"violations,omitempty"`
}

// RunSoak runs the soak: host A ─ softnet ─ host B as the veth scenario,
// with a third link (rc) and the full table on it, the unchanged flow
// paced at o.RatePPS from host A for o.Duration while a churn driver,
// bounded by o.Duration and o.MaxOps, works through the control API as an
// operator would: VLANs, routes and static neighbours added and deleted,
// reloads (the same file, a bridge member's down flag toggled, and the
// full table moved from one gateway to the other), traces and scrapes;
// beside it, every 3 s, the link rc is flapped (admin, carrier) or
// deleted and re-created, in turn. Then it puts the router back as it
// started, and compares. The result says whether it passed; err is for a
// soak that could not run.
func RunSoak(ctx context.Context, o SoakOptions) (res *SoakResult, err error) {
	if o.Duration == 0 {
		o.Duration = 60 * time.Second
	}
	if o.Duration <= 0 {
		return nil, fmt.Errorf("soak duration %v: give a positive duration", o.Duration)
	}
	if o.RatePPS == 0 {
		o.RatePPS = 5000
	}
	if o.MaxOps == 0 {
		o.MaxOps = 100000
	}
	if o.FullTable == "" {
		o.FullTable = config.EmbeddedFullTable
	}
	if o.Backend == "" {
		o.Backend = "afpacket"
	}
	if o.Binary == "" {
		return nil, errors.New("soak scenario: no softnet binary")
	}
	logf := func(format string, a ...any) {
		if o.Progress != nil {
			fmt.Fprintf(o.Progress, format+"\n", a...)
		}
	}
	t, err := freshLab(ctx)
	if err != nil {
		return nil, err
	}
	defer func() {
		if cerr := t.Close(); cerr != nil && err == nil {
			err = cerr
		}
	}()
	t.Backend = o.Backend
	if err := addSoakLink(ctx, t); err != nil {
		return nil, err
	}
	t.Extra = lab.Extra{
		Interfaces: []string{
			fmt.Sprintf("{name: %s, backend: %s, device: %s, mac: %q, mtu: %d, addresses: [%s]}", soakDev, o.Backend, soakDev, soakMACRC, t.MTU, soakAddrRC),
			"{name: rc.300, parent: rc, vlan: 300}",
			"{name: rc.301, parent: rc, vlan: 301}",
		},
		Neighbors: []string{
			fmt.Sprintf("{interface: %s, address: %s, mac: %q}", soakDev, soakGW1, soakGWMAC1),
			fmt.Sprintf("{interface: %s, address: %s, mac: %q}", soakDev, soakGW2, soakGWMAC2),
		},
	}
	t.ExtraTop = fmt.Sprintf("bridges:\n  - {name: br0, members: [rc.300, %s]}\nroute_files:\n  - {path: %q, via: %s}\n", soakMember, o.FullTable, soakGW1)

	res = &SoakResult{Scenario: "soak", Backend: o.Backend, DurationS: o.Duration.Seconds(), RatePPS: o.RatePPS,
		Churn: map[string]int{}, RingDropsDuring: map[string]uint64{}, APIMaxByKind: map[string]float64{}, Bounds: DefaultSoakBounds}
	logf("soak: starting softnet (%s) with the full table on %s", o.Backend, soakDev)
	// Not pinned: the control plane's reloads get a CPU of their own
	// (GOMAXPROCS is the CPUs the process may use), as on a router.
	sn, err := t.StartSoftnet(ctx, o.Binary, 1, -1)
	if err != nil {
		return nil, err
	}
	stopped := false
	defer func() {
		if !stopped {
			sn.Stop()
		}
	}()
	c := api.NewClient(sn.API)
	base, err := os.ReadFile(sn.Config)
	if err != nil {
		return nil, err
	}
	// The configs reloads switch between: the full table via either
	// gateway, the bridge member down or not. base is the one it started
	// with and ends with.
	variant := func(gw string, memberDown bool) (string, error) {
		s := strings.Replace(string(base), fmt.Sprintf("via: %s}\n", soakGW1), fmt.Sprintf("via: %s}\n", gw), 1)
		if memberDown {
			s = strings.Replace(s, "{name: rc.301, parent: rc, vlan: 301}", "{name: rc.301, parent: rc, vlan: 301, down: true}", 1)
		}
		name := fmt.Sprintf("%s/router-%s-%v.yaml", t.Dir, gw, memberDown)
		return name, os.WriteFile(name, []byte(s), 0o644)
	}

	// The warm-up has a deadline of its own: at load average 20 its two
	// full-table reloads and the flap took long enough that the soak's
	// last call (the status at the end) ran out of a deadline shared with
	// it, and a 90 s soak reported nothing.
	wctx, wcancel := context.WithTimeout(ctx, 3*soakFullWait)
	defer wcancel()
	// Warm up: one full-table replace and back, so the start figures are
	// those of a router that has reloaded: what the first reloads leave
	// allocated for good counts as the start, not as growth.
	logf("soak: warm-up: a full-table replace and back")
	if warm, err := variant(soakGW2, false); err != nil {
		return res, err
	} else if _, err := c.Reload(wctx, warm); err != nil {
		return res, fmt.Errorf("soak: warm-up reload of %s: %w", warm, err)
	}
	if _, err := c.Reload(wctx, sn.Config); err != nil {
		return res, fmt.Errorf("soak: warm-up reload of %s: %w", sn.Config, err)
	}
	// And a flap of rc: parking the full table and putting it back leaves
	// the parked-route map at its size (a Go map does not shrink) and
	// moves FIB chunks between the heap and the FIB's arena, for good.
	logf("soak: warm-up: a flap of %s", soakDev)
	if err := warmFlap(wctx, t, c); err != nil {
		return res, err
	}
	cctx, cancel := context.WithTimeout(ctx, o.Duration+soakFullWait+30*time.Second)
	defer cancel()
	st, err := c.StatusGC(cctx)
	if err != nil {
		return res, fmt.Errorf("soak: status at start: %w", err)
	}
	res.StaticRoutes = st.Static
	res.HeapStart, res.GoroutinesStart, res.FDsStart = st.HeapLiveBytes, st.Goroutines, st.OpenFDs
	res.AdjStart, res.AdjMax, res.BuffersStart, res.Buffers = st.Adjacencies, st.AdjacenciesMax, st.BuffersInUse, st.Buffers
	rt0, err := c.Runtime(cctx)
	if err != nil {
		return res, fmt.Errorf("soak: runtime at start: %w", err)
	}
	if m, err := c.Route(cctx, lab.FloodDst.String()); err != nil || m.Via != lab.Sink.String() {
		return res, fmt.Errorf("soak: the unchanged flow's route %s is %+v (%v), want via %s", lab.FloodDst, m, err, lab.Sink)
	}

	cnt, err := newFlowCounter(t.B, lab.DevB, lab.FloodDst)
	if err != nil {
		return res, err
	}
	defer cnt.close()
	if _, err := cnt.read(); err != nil { // zero it
		return res, err
	}
	ra0, rb0, err := flowCounts(cctx, c)
	if err != nil {
		return res, err
	}
	type flood struct {
		f   PacedFlood
		err error
	}
	fc := make(chan flood, 1)
	go func() {
		f, err := pacedFlood(cctx, t, o.RatePPS, o.Duration, -1)
		fc <- flood{f, err}
	}()

	logf("soak: churn for %v (at most %d operations), unchanged flow at %.0f pps", o.Duration, o.MaxOps, o.RatePPS)
	d := &churner{c: c, t: t, res: res, rng: rand.New(rand.NewPCG(16, 2)), vlans: map[int]bool{}, routes: map[int]bool{}, neighs: map[int]bool{}, variant: variant, devMu: new(sync.Mutex)}
	// The link faults run beside the API churn, one every soakLinkEvery, so that a
	// slow reload does not hold them up (and they hit the router while it
	// reloads, too).
	type linkLog struct {
		counts map[string]int
		fails  []string
	}
	linkStop, linkDone := make(chan struct{}), make(chan linkLog, 1)
	go func() {
		lg := linkLog{counts: map[string]int{}}
		tick := time.NewTicker(soakLinkEvery)
		defer tick.Stop()
		for n := 1; ; n++ {
			select {
			case <-linkStop:
				linkDone <- lg
				return
			case <-tick.C:
			}
			kind, err := linkFault(cctx, t, n, d.devMu)
			lg.counts[kind]++
			if err != nil {
				lg.fails = append(lg.fails, kind+": "+err.Error())
			}
		}
	}()
	probeStop, probeDone := make(chan struct{}), make(chan probeLog, 1)
	go func() { probeDone <- d.probe(cctx, probeStop) }()
	var fl flood
	done := false
	start := time.Now()
	nextFull := time.Duration(0) // the first operation: every run has one, however slow the rest
	for !done {
		select {
		case fl = <-fc:
			done = true
			continue
		default:
		}
		if res.ChurnOps >= o.MaxOps {
			fl = <-fc
			break
		}
		el := time.Since(start)
		before, bok := d.ringDrops(cctx)
		kind := ""
		switch {
		case el >= nextFull:
			kind = d.fullReplace(cctx)
			nextFull = el + 15*time.Second
		default:
			kind = d.random(cctx)
		}
		after, aok := d.ringDrops(cctx)
		if n := grew(before, bok, after, aok); n > 0 {
			res.RingDropsDuring[kind] += n
		}
		res.ChurnOps++
		time.Sleep(10 * time.Millisecond)
	}
	close(linkStop)
	lg := <-linkDone
	close(probeStop)
	pl := <-probeDone
	d.lat = append(d.lat, pl.lat...)
	res.ProbeCalls = len(pl.lat)
	for k, n := range pl.counts {
		res.Churn[k] += n
	}
	for k, ms := range pl.max {
		res.APIMaxByKind[k] = ms
	}
	for _, f := range pl.fails {
		d.fail("", errors.New(f))
	}
	for k, n := range lg.counts {
		res.Churn[k] += n
		res.ChurnOps += n
	}
	for _, f := range lg.fails {
		d.fail("", errors.New(f))
	}
	if fl.err != nil {
		return res, fmt.Errorf("soak: the unchanged flow: %w", fl.err)
	}
	logf("soak: %d operations %v; putting the router back as it started", res.ChurnOps, res.Churn)

	// Back to the start: the first config (which drops the run-time
	// routes and neighbours), no run-time VLAN, rc up.
	if _, err := c.Reload(cctx, sn.Config); err != nil {
		d.fail("final reload", err)
	}
	for j, on := range d.vlans {
		if !on {
			continue
		}
		if err := c.DeleteVLAN(cctx, soakVLAN(j)); err != nil {
			d.fail("final vlan del", err)
		}
	}
	if err := waitLinkUp(cctx, c, soakDev, 15*time.Second); err != nil {
		d.fail("rc after the churn", err)
	}
	time.Sleep(500 * time.Millisecond) // the flood's last frames: counted below
	res.OfferedUnchanged = fl.f.Sent
	n, err := cnt.read()
	if err != nil {
		return res, err
	}
	res.ForwardedUnchanged = n
	res.LostUnchanged = int64(res.OfferedUnchanged) - int64(res.ForwardedUnchanged)
	if ra1, rb1, err := flowCounts(cctx, c); err == nil {
		res.RARxPackets, res.RBTxPackets = ra1-ra0, rb1-rb0
	}
	if m, err := c.Route(cctx, lab.FloodDst.String()); err != nil || m.Via != lab.Sink.String() {
		d.fail("the unchanged route at the end", fmt.Errorf("%+v (%v), want via %s", m, err, lab.Sink))
	}
	if st, err = c.StatusGC(cctx); err != nil {
		return res, fmt.Errorf("soak: status at the end: %w", err)
	}
	res.HeapEnd, res.GoroutinesEnd, res.FDsEnd = st.HeapLiveBytes, st.Goroutines, st.OpenFDs
	res.AdjEnd, res.BuffersEnd = st.Adjacencies, st.BuffersInUse
	if rt1, err := c.Runtime(cctx); err != nil {
		return res, fmt.Errorf("soak: runtime at the end: %w", err)
	} else {
		res.soakRuntime(rt0, rt1)
	}
	res.APICalls = len(d.lat)
	slices.Sort(d.lat)
	if len(d.lat) > 0 {
		res.APIP50Ms, res.APIP99Ms, res.APIMaxMs = percentile(d.lat, 50), percentile(d.lat, 99), d.lat[len(d.lat)-1]
	}
	slices.Sort(d.reloadLat)
	if len(d.reloadLat) > 0 {
		res.ReloadP99Ms, res.ReloadMaxMs = percentile(d.reloadLat, 99), d.reloadLat[len(d.reloadLat)-1]
	}

	alive := sn.Alive()
	out, serr := sn.Stop()
	stopped = true
	res.ErrorsLogged, res.ErrorLines = countErrors(sn.Log)
	fin := sn.Counters()
	res.SoftnetDrops, res.SoftnetKernelDrops = fin.Drops, fin.KernelDrops
	if !alive {
		return res, fmt.Errorf("softnet died during the soak; its output:\n%s", out)
	}
	if serr != nil {
		res.Violations = append(res.Violations, fmt.Sprintf("softnet did not stop cleanly: %v", serr))
	}
	res.check()
	return res, nil
}

// check fills Violations and Pass.
func (r *SoakResult) check() {
	b := r.Bounds
	v := &r.Violations
	if r.LostUnchanged != 0 {
		*v = append(*v, fmt.Sprintf("lost_unchanged %d: %d offered, %d forwarded on a route and link the churn never touched", r.LostUnchanged, r.OfferedUnchanged, r.ForwardedUnchanged))
	}
	if r.OfferedUnchanged == 0 {
		*v = append(*v, "offered_unchanged 0: the unchanged flow sent nothing")
	}
	if r.ChurnFailures > 0 {
		*v = append(*v, fmt.Sprintf("%d churn operations failed (failures)", r.ChurnFailures))
	}
	if lim := r.HeapStart + uint64(float64(r.HeapStart)*b.HeapFrac) + b.HeapBytes; r.HeapEnd > lim {
		*v = append(*v, fmt.Sprintf("heap grew from %d to %d bytes, bound %d", r.HeapStart, r.HeapEnd, lim))
	}
	for _, x := range []struct {
		name            string
		start, end, lim int
	}{
		{"goroutines", r.GoroutinesStart, r.GoroutinesEnd, b.Goroutines},
		{"fds", r.FDsStart, r.FDsEnd, b.FDs},
		{"adjacencies", r.AdjStart, r.AdjEnd, b.Adjacencies},
		{"buffers_in_use", r.BuffersStart, r.BuffersEnd, b.Buffers},
	} {
		if x.end > x.start+x.lim {
			*v = append(*v, fmt.Sprintf("%s grew from %d to %d, bound +%d", x.name, x.start, x.end, x.lim))
		}
	}
	// A p99 of a few hundred answers is one of its two or three slowest
	// (one reload's wait): judged from minP99Calls answers on (CI's 60 s
	// soak makes about 950), reported always.
	if b.APIP99Ms > 0 && r.APICalls >= minP99Calls && r.APIP99Ms > b.APIP99Ms {
		*v = append(*v, fmt.Sprintf("api_p99_ms %.1f above the bound %.0f: API answers waited for reloads", r.APIP99Ms, b.APIP99Ms))
	}
	if r.FDsStart < 0 || r.FDsEnd < 0 {
		*v = append(*v, "fds: softnet could not count its descriptors (/proc/self/fd)")
	}
	r.Pass = len(r.Violations) == 0
}

// churner is the soak's churn driver: what it added and not deleted, the
// control-plane answer times, the counts.
type churner struct {
	c         *api.Client
	t         *lab.Topology
	res       *SoakResult
	rng       *rand.Rand
	vlans     map[int]bool
	routes    map[int]bool
	neighs    map[int]bool
	lat       []float64 // ms
	reloadLat []float64 // ms: reload, bridge_member_toggle
	// reloads counts reloads begun and ended (two per reload): the
	// prober's route delete may rightly find its route gone if it changed.
	reloads atomic.Int64
	gw2     bool   // the full table is via soakGW2
	down    bool   // the bridge member is down (by reload)
	last    string // the kind of the last call
	variant func(gw string, memberDown bool) (string, error)
	// devMu is held by the link faults while rc is deleted and not yet
	// re-created, and by reloads: a reload checks that every configured
	// device exists, so one sent in that window is refused ("no network
	// device"), rightly, by the churn's own doing, not softnet's.
	devMu *sync.Mutex
}

func soakVLAN(j int) string { return fmt.Sprintf("rc.%d", 1000+j) }

// call times f as a control-plane answer and counts it as kind; the
// churner's last operation is kind.
func (d *churner) call(kind string, f func() error) {
	d.last = kind
	t0 := time.Now()
	err := f()
	ms := float64(time.Since(t0).Microseconds()) / 1000
	d.lat = append(d.lat, ms)
	d.res.APIMaxByKind[kind] = max(d.res.APIMaxByKind[kind], ms)
	d.res.Churn[kind]++
	if err != nil {
		d.fail(kind, err)
	}
}

func (d *churner) fail(what string, err error) {
	d.res.ChurnFailures++
	if len(d.res.Failures) < 10 {
		if what != "" {
			what += ": "
		}
		d.res.Failures = append(d.res.Failures, what+err.Error())
	}
}

// gw is the gateway of the full table now.
func (d *churner) gw() string {
	if d.gw2 {
		return soakGW2
	}
	return soakGW1
}

// reload reloads the config variant for the current gateway and member
// state; a reload drops the run-time routes and neighbours.
func (d *churner) reload(ctx context.Context, kind string) {
	f, err := d.variant(d.gw(), d.down)
	if err != nil {
		d.fail(kind, err)
		return
	}
	d.devMu.Lock()
	d.reloads.Add(1)
	t0 := time.Now()
	_, err = d.c.Reload(ctx, f)
	ms := float64(time.Since(t0).Microseconds()) / 1000
	d.reloadLat = append(d.reloadLat, ms)
	d.res.APIMaxByKind[kind] = max(d.res.APIMaxByKind[kind], ms)
	d.reloads.Add(1)
	d.devMu.Unlock()
	d.res.Churn[kind]++
	if err != nil {
		d.fail(kind, err)
	}
	d.last = kind
	clear(d.routes)
	clear(d.neighs)
}

// fullReplace moves the full table to the other gateway: every prefix
// of it changes next hop in one reload.
func (d *churner) fullReplace(ctx context.Context) string {
	d.gw2 = !d.gw2
	f, err := d.variant(d.gw(), d.down)
	if err != nil {
		d.fail("full_table_replace", err)
		return "full_table_replace"
	}
	d.devMu.Lock() // not while the link fault has rc deleted (see churner)
	d.reloads.Add(1)
	t0 := time.Now()
	_, err = d.c.Reload(ctx, f)
	d.reloads.Add(1)
	d.devMu.Unlock()
	d.res.FullReplaceMs = max(d.res.FullReplaceMs, float64(time.Since(t0).Microseconds())/1000)
	d.res.APIMaxByKind["full_table_replace"] = d.res.FullReplaceMs
	d.res.Churn["full_table_replace"]++
	if err != nil {
		d.fail("full_table_replace", err)
	}
	clear(d.routes)
	clear(d.neighs)
	return "full_table_replace"
}

// linkFault is the n-th link fault: rc flapped (admin down and up on the
// router's side), its carrier flapped (the peer down and up), or rc
// deleted and re-created, in turn, the last holding devMu (see churner).
// It returns the fault's kind.
func linkFault(ctx context.Context, t *lab.Topology, n int, devMu *sync.Mutex) (kind string, err error) {
	switch n % 3 {
	case 1:
		kind = "link_flap_admin"
		if _, err = netns.IP(ctx, "-n", t.R, "link", "set", soakDev, "down"); err == nil {
			time.Sleep(200 * time.Millisecond)
			_, err = netns.IP(ctx, "-n", t.R, "link", "set", soakDev, "up")
		}
	case 2:
		kind = "link_flap_carrier"
		if _, err = netns.IP(ctx, "-n", t.B, "link", "set", soakPeer, "down"); err == nil {
			time.Sleep(200 * time.Millisecond)
			_, err = netns.IP(ctx, "-n", t.B, "link", "set", soakPeer, "up")
		}
	default:
		kind = "link_delete_recreate"
		devMu.Lock()
		defer devMu.Unlock()
		if _, err = netns.IP(ctx, "-n", t.R, "link", "del", soakDev); err == nil {
			time.Sleep(300 * time.Millisecond)
			err = addSoakLink(ctx, t)
		}
	}
	return kind, err
}

// warmFlap takes rc down (admin, on the router's side) until softnet sees
// it down, then up until softnet sees it up.
func warmFlap(ctx context.Context, t *lab.Topology, c *api.Client) error {
	for _, st := range []string{"down", "up"} {
		if _, err := netns.IP(ctx, "-n", t.R, "link", "set", soakDev, st); err != nil {
			return fmt.Errorf("soak: warm-up: %s %s: %w", soakDev, st, err)
		}
		deadline := time.Now().Add(soakFullWait)
		for {
			ifs, err := c.Interfaces(ctx)
			if err != nil {
				return fmt.Errorf("soak: warm-up: interfaces: %w", err)
			}
			if i := slices.IndexFunc(ifs, func(i api.Interface) bool { return i.Name == soakDev }); i >= 0 && ifs[i].Link == st {
				break
			}
			if time.Now().After(deadline) {
				return fmt.Errorf("soak: warm-up: softnet does not see %s %s after %v", soakDev, st, soakFullWait)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	return nil
}

// flowCounts is softnet's receive count on ra and transmit count on rb.
func flowCounts(ctx context.Context, c *api.Client) (raRx, rbTx uint64, err error) {
	ifs, err := c.Interfaces(ctx)
	if err != nil {
		return 0, 0, fmt.Errorf("soak: interfaces: %w", err)
	}
	for _, i := range ifs {
		switch i.Name {
		case lab.DevRA:
			raRx = i.RxPackets
		case lab.DevRB:
			rbTx = i.TxPackets
		}
	}
	return raRx, rbTx, nil
}

// probeLog is what the prober did: its answer times (ms), its calls by
// kind, its failures.
type probeLog struct {
	lat    []float64
	max    map[string]float64 // by kind
	counts map[string]int
	fails  []string
}

// probe calls the control API every soakProbeEvery until stop, beside the
// churn (which waits for each reload to answer, so its own calls never
// overlap one): status, interfaces, metrics, the unchanged flow's route,
// and its own route added and deleted, in turn. A delete that finds the
// route gone is a failure only if no reload began or ended since the add
// (a reload removes run-time routes).
func (d *churner) probe(ctx context.Context, stop <-chan struct{}) probeLog {
	pl := probeLog{counts: map[string]int{}, max: map[string]float64{}}
	tick := time.NewTicker(soakProbeEvery)
	defer tick.Stop()
	c := d.c
	var gen int64
	for n := 0; ; n++ {
		select {
		case <-stop:
			if n%6 == 5 { // its route is in: take it out
				_ = c.DeleteRoute(ctx, soakProbeRoute)
			}
			return pl
		case <-tick.C:
		}
		kind, f := "", func() error { return nil }
		switch n % 6 {
		case 0:
			kind, f = "probe_status", func() error { _, err := c.Status(ctx); return err }
		case 1:
			kind, f = "probe_interfaces", func() error { _, err := c.Interfaces(ctx); return err }
		case 2:
			kind, f = "probe_metrics", func() error { _, err := c.Metrics(ctx); return err }
		case 3:
			kind, f = "probe_route", func() error {
				m, err := c.Route(ctx, lab.FloodDst.String())
				if err == nil && m.Via != lab.Sink.String() {
					err = fmt.Errorf("the unchanged route is %+v, want via %s", m, lab.Sink)
				}
				return err
			}
		case 4:
			gen = d.reloads.Load()
			kind, f = "probe_route_add", func() error { return c.AddRoute(ctx, api.RouteRequest{Prefix: soakProbeRoute, Via: soakGW1}) }
		default:
			kind, f = "probe_route_del", func() error {
				err := c.DeleteRoute(ctx, soakProbeRoute)
				if err != nil && d.reloads.Load() != gen {
					err = nil // a reload took it out
				}
				return err
			}
		}
		t0 := time.Now()
		err := f()
		ms := float64(time.Since(t0).Microseconds()) / 1000
		pl.lat = append(pl.lat, ms)
		pl.max[kind] = max(pl.max[kind], ms)
		pl.counts[kind]++
		if err != nil && len(pl.fails) < 10 {
			pl.fails = append(pl.fails, kind+": "+err.Error())
		}
	}
}

// ringDrops is ra's kernel ring drops as the API reports them; ok is
// false when it cannot tell (ifqDrops).
func (d *churner) ringDrops(ctx context.Context) (uint64, bool) {
	return ifqDrops(ctx, d.c, lab.DevRA)
}

// ifqDrops is the kernel ring drops of softnet's interface name as its
// API (c) reports them; ok is false when the API did not answer or has
// no such interface: a caller then leaves its figure 0, rather than
// subtract from or a 0 that is no reading (a uint64 wraps to ~1.8e19).
func ifqDrops(ctx context.Context, c *api.Client, name string) (n uint64, ok bool) {
	ifs, err := c.Interfaces(ctx)
	if err != nil {
		return 0, false
	}
	for _, i := range ifs {
		if i.Name == name {
			return i.IfqDrops, true
		}
	}
	return 0, false
}

// grew is b-a of two readings of a counter, 0 unless both were read
// (aok, bok) and it did not go back (a restart).
func grew(a uint64, aok bool, b uint64, bok bool) uint64 {
	if !aok || !bok || b < a {
		return 0
	}
	return b - a
}

// random does one of the light operations.
func (d *churner) random(ctx context.Context) (kind string) {
	c := d.c
	j := d.rng.IntN(8)
	switch op := d.rng.IntN(20); {
	case op < 4:
		if d.vlans[j] {
			d.call("vlan_del", func() error { return c.DeleteVLAN(ctx, soakVLAN(j)) })
		} else {
			d.call("vlan_add", func() error {
				return c.AddVLAN(ctx, api.VLANRequest{Name: soakVLAN(j), Parent: soakDev, VLAN: 1000 + j, Addresses: []string{fmt.Sprintf("10.12.%d.1/24", j)}})
			})
		}
		d.vlans[j] = !d.vlans[j]
	case op < 8:
		p := fmt.Sprintf("198.51.100.%d/28", 16*j)
		if d.routes[j] {
			d.call("route_del", func() error { return c.DeleteRoute(ctx, p) })
		} else {
			gw := soakGW1
			if j%2 == 1 {
				gw = soakGW2
			}
			d.call("route_add", func() error { return c.AddRoute(ctx, api.RouteRequest{Prefix: p, Via: gw}) })
		}
		d.routes[j] = !d.routes[j]
	case op < 11:
		a := fmt.Sprintf("10.11.3.%d", 20+j)
		if d.neighs[j] {
			d.call("neighbor_del", func() error { return c.DeleteNeighbor(ctx, soakDev, a) })
		} else {
			d.call("neighbor_add", func() error {
				return c.AddNeighbor(ctx, api.NeighborRequest{Interface: soakDev, Address: a, MAC: fmt.Sprintf("02:53:4e:03:02:%02x", 20+j)})
			})
		}
		d.neighs[j] = !d.neighs[j]
	case op < 12:
		d.reload(ctx, "reload")
	case op < 13:
		d.down = !d.down
		d.reload(ctx, "bridge_member_toggle")
	case op < 14:
		// Waits for packets: not a control-plane answer time.
		d.res.Churn["trace"]++
		d.last = "trace"
		if _, err := c.Trace(ctx, 3, 2*time.Second); err != nil {
			d.fail("trace", err)
		}
	default:
		switch d.rng.IntN(6) {
		case 0:
			d.call("scrape_metrics", func() error { _, err := c.Metrics(ctx); return err })
		case 1:
			d.call("scrape_status", func() error { _, err := c.Status(ctx); return err })
		case 2:
			d.call("scrape_interfaces", func() error { _, err := c.Interfaces(ctx); return err })
		case 3:
			d.call("scrape_errors", func() error { _, err := c.Errors(ctx); return err })
		case 4:
			d.call("scrape_bridges", func() error { _, err := c.Bridges(ctx, ""); return err })
		default:
			d.call("scrape_route", func() error { _, err := c.Route(ctx, "8.8.8.8"); return err })
		}
	}
	return d.last
}

// addSoakLink creates the rc ─ c0 veth (router namespace to host B's),
// offloads off as on the lab's other veths.
func addSoakLink(ctx context.Context, t *lab.Topology) error {
	if err := netns.AddVeth(ctx, netns.End{NS: t.R, Name: soakDev, MAC: soakMACVeth}, netns.End{NS: t.B, Name: soakPeer, MAC: soakMACPeer}, t.MTU); err != nil {
		return err
	}
	if err := lab.DisableOffloads(ctx, t.R, soakDev); err != nil {
		return err
	}
	return lab.DisableOffloads(ctx, t.B, soakPeer)
}

// waitLinkUp polls GET /v1/interfaces until name's link is up.
func waitLinkUp(ctx context.Context, c *api.Client, name string, within time.Duration) error {
	deadline := time.Now().Add(within)
	last := "not listed"
	for {
		ifs, err := c.Interfaces(ctx)
		if err != nil {
			return err
		}
		for _, i := range ifs {
			if i.Name == name {
				if i.Admin == "up" && i.Link == "up" {
					return nil
				}
				last = fmt.Sprintf("admin %s, link %s, last error %q", i.Admin, i.Link, i.LastError)
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("interface %s not up %v after the churn: %s", name, within, last)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// countErrors counts the error-level lines of softnet's log (text or
// JSON format) and returns the first few.
func countErrors(path string) (int, []string) {
	f, err := os.Open(path)
	if err != nil {
		return 0, nil
	}
	defer f.Close()
	n := 0
	var first []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		l := sc.Text()
		if strings.Contains(l, "level=ERROR") || strings.Contains(l, `"level":"ERROR"`) {
			n++
			if len(first) < 10 {
				first = append(first, l)
			}
		}
	}
	return n, first
}

// flowCounter counts the frames to one IPv4 destination arriving on a
// device: an AF_PACKET socket with a BPF filter (IPv4, that destination)
// that is never read; the kernel's PACKET_STATISTICS count every frame
// that passed the filter, those dropped for a full receive buffer
// included.
type flowCounter struct {
	fd    int
	total uint64
}

func newFlowCounter(ns, dev string, dst netip.Addr) (*flowCounter, error) {
	d := dst.As4()
	k := uint32(d[0])<<24 | uint32(d[1])<<16 | uint32(d[2])<<8 | uint32(d[3])
	prog := []unix.SockFilter{
		{Code: unix.BPF_LD | unix.BPF_H | unix.BPF_ABS, K: 12},
		{Code: unix.BPF_JMP | unix.BPF_JEQ | unix.BPF_K, Jt: 0, Jf: 3, K: 0x0800},
		{Code: unix.BPF_LD | unix.BPF_W | unix.BPF_ABS, K: 30},
		{Code: unix.BPF_JMP | unix.BPF_JEQ | unix.BPF_K, Jt: 0, Jf: 1, K: k},
		{Code: unix.BPF_RET | unix.BPF_K, K: 0xffff},
		{Code: unix.BPF_RET | unix.BPF_K, K: 0},
	}
	fc := &flowCounter{fd: -1}
	err := netns.Do(ns, func() error {
		ifc, err := net.InterfaceByName(dev)
		if err != nil {
			return err
		}
		idx := ifc.Index
		// Protocol 0 until the filter is on: nothing is counted unfiltered.
		if fc.fd, err = unix.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, 0); err != nil {
			return err
		}
		fp := unix.SockFprog{Len: uint16(len(prog)), Filter: &prog[0]}
		if err := unix.SetsockoptSockFprog(fc.fd, unix.SOL_SOCKET, unix.SO_ATTACH_FILTER, &fp); err != nil {
			return err
		}
		unix.SetsockoptInt(fc.fd, unix.SOL_SOCKET, unix.SO_RCVBUF, 4096)
		return unix.Bind(fc.fd, &unix.SockaddrLinklayer{Protocol: htons(unix.ETH_P_ALL), Ifindex: idx})
	})
	if err != nil {
		fc.close()
		return nil, fmt.Errorf("flow counter on %s in %s: %w", dev, ns, err)
	}
	return fc, nil
}

// read returns the frames counted since the counter was made (the
// kernel's statistics reset on each read; they are summed here).
func (f *flowCounter) read() (uint64, error) {
	st, err := unix.GetsockoptTpacketStats(f.fd, unix.SOL_PACKET, unix.PACKET_STATISTICS)
	if err != nil {
		return 0, err
	}
	// tp_packets already includes tp_drops (the kernel adds them).
	f.total += uint64(st.Packets)
	return f.total, nil
}

func (f *flowCounter) close() {
	if f.fd >= 0 {
		unix.Close(f.fd)
		f.fd = -1
	}
}

func htons(v uint16) uint16 { return v<<8 | v>>8 }

// soakRuntime fills the poll gaps and the Go runtime's figures from GET
// /v1/runtime at the start (rt0) and the end (rt1).
func (r *SoakResult) soakRuntime(rt0, rt1 api.Runtime) {
	for i, w := range rt1.Workers {
		r.PollGapMaxMs = max(r.PollGapMaxMs, float64(w.PollGapMaxNs)/1e6)
		r.PollGaps += w.PollGaps
		if i < len(rt0.Workers) {
			r.PollGaps -= rt0.Workers[i].PollGaps
		}
	}
	g := rt1.Go
	r.GOMAXPROCS, r.SchedLatencyP99Ms, r.SchedLatencyMaxMs = g.GOMAXPROCS, g.SchedLatencyP99Ms, g.SchedLatencyMaxMs
	r.GCPauseP99Ms, r.GCPauseMaxMs, r.GCCycles = g.GCPauseP99Ms, g.GCPauseMaxMs, g.GCCycles-rt0.Go.GCCycles
	r.GCPercent = g.GCPercent
}

// Print writes the soak's result as a short table.
func (r *SoakResult) Print(w io.Writer) {
	verdict := "PASS"
	if !r.Pass {
		verdict = "FAIL"
	}
	fmt.Fprintf(w, "scenario        soak (%s, %.0f s, unchanged flow at %.0f pps): %s\n", r.Backend, r.DurationS, r.RatePPS, verdict)
	fmt.Fprintf(w, "unchanged flow  %d offered, %d forwarded, %d lost (softnet received %d on ra, sent %d on rb; ring drops %d)\n", r.OfferedUnchanged, r.ForwardedUnchanged, r.LostUnchanged, r.RARxPackets, r.RBTxPackets, r.SoftnetKernelDrops)
	b := r.Bounds
	fmt.Fprintf(w, "heap            %d -> %d bytes (bound +%.0f%% +%d)\n", r.HeapStart, r.HeapEnd, 100*b.HeapFrac, b.HeapBytes)
	fmt.Fprintf(w, "goroutines      %d -> %d (bound +%d)\n", r.GoroutinesStart, r.GoroutinesEnd, b.Goroutines)
	fmt.Fprintf(w, "fds             %d -> %d (bound +%d)\n", r.FDsStart, r.FDsEnd, b.FDs)
	fmt.Fprintf(w, "adjacencies     %d -> %d of %d (bound +%d)\n", r.AdjStart, r.AdjEnd, r.AdjMax, b.Adjacencies)
	fmt.Fprintf(w, "buffers in use  %d -> %d of %d (bound +%d)\n", r.BuffersStart, r.BuffersEnd, r.Buffers, b.Buffers)
	fmt.Fprintf(w, "control API     %d answers (%d by the prober), p50 %.2f ms, p99 %.2f ms (bound %.0f), max %.2f ms\n", r.APICalls, r.ProbeCalls, r.APIP50Ms, r.APIP99Ms, b.APIP99Ms, r.APIMaxMs)
	fmt.Fprintf(w, "reloads         p99 %.0f ms, max %.0f ms; slowest full-table replace %.0f ms\n", r.ReloadP99Ms, r.ReloadMaxMs, r.FullReplaceMs)
	fmt.Fprintf(w, "poll gaps       max %.0f ms, %d over 100 ms\n", r.PollGapMaxMs, r.PollGaps)
	fmt.Fprintf(w, "go runtime      gomaxprocs %d, runnable-to-running p99 %.3g ms max %.3g ms, GC pauses p99 %.3g ms max %.3g ms, %d GC cycles, GOGC %d\n",
		r.GOMAXPROCS, r.SchedLatencyP99Ms, r.SchedLatencyMaxMs, r.GCPauseP99Ms, r.GCPauseMaxMs, r.GCCycles, r.GCPercent)
	fmt.Fprintf(w, "errors logged   %d\n", r.ErrorsLogged)
	keys := make([]string, 0, len(r.Churn))
	for k := range r.Churn {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var parts []string
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s %d", k, r.Churn[k]))
	}
	fmt.Fprintf(w, "churn           %d operations, %d failed: %s\n", r.ChurnOps, r.ChurnFailures, strings.Join(parts, ", "))
	for _, f := range r.Failures {
		fmt.Fprintf(w, "  failed: %s\n", f)
	}
	for _, v := range r.Violations {
		fmt.Fprintf(w, "violation       %s\n", v)
	}
}
