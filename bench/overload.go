package bench

import (
	"encoding/binary"
	"fmt"
	"github.com/softnet/softnet/dp/arp"
	"io"
	"runtime"
	"time"

	"github.com/softnet/softnet/dp"
	"github.com/softnet/softnet/hdr"
	"github.com/softnet/softnet/pkt"
	"github.com/softnet/softnet/port"
	"github.com/softnet/softnet/port/mem"
)

// The overload scenario (design lesson 8: overload must plateau, not
// collapse). It measures the worker's capacity with the plain generator
// (ip4-forward, one worker), then feeds the same frames through a
// mem.RateGen — a 1024-slot receive ring filled at a fixed rate whatever
// the worker does — at fractions and multiples of that capacity. Under
// overload the ring fills and frames drop at its tail (ifq drops), before
// the worker spends anything on them, so the forwarded rate should stay
// at capacity (plateau = forwarded at 2× / forwarded at 1×, ≥ 0.95 is the
// target). One frame in ARPEvery is an ARP request for the router's
// ingress address from a host on the ingress subnet: the data plane
// answers it in arp-input, so the control plane's traffic keeps working
// under load; requests dropped at the ring tail are lost like any frame,
// and those still in the ring when a slice stops are counted apart
// (OverloadRun.ARPRequestsInRing): offered = ifq-dropped + in ring +
// answered, exactly.

// OverloadOptions tune RunOverload.
type OverloadOptions struct {
	Duration time.Duration // per run, the capacity measurement too (default 5 s)
	Loads    []float64     // offered load as multiples of capacity (default 0.5, 1, 2)
	Ring     int           // receive ring slots (default mem.DefaultRing)
	ARPEvery int           // one ARP request every ARPEvery frames (default 1024)
	// CapacityMpps skips the capacity measurement when positive (tests).
	CapacityMpps float64
	Progress     io.Writer // progress line target, nil for none
}

// OverloadRun is one offered load's figures, summed over its slices (see
// RunOverload). Rates are over the slices' wall time (the worker started
// and stopped around each, no warm-up: the ring starts empty and fills
// in tens of microseconds).
type OverloadRun struct {
	Load          float64 `json:"load"` // offered / capacity, as asked
	DurationS     float64 `json:"duration_s"`
	OfferedMpps   float64 `json:"offered_mpps"`
	ForwardedMpps float64 `json:"forwarded_mpps"`
	Offered       uint64  `json:"offered"`   // frames that arrived at the ring
	Received      uint64  `json:"received"`  // frames the worker took from the ring
	Forwarded     uint64  `json:"forwarded"` // frames sent on the egress port
	// IfqDrops are frames dropped at the ring's tail (ring full).
	IfqDrops uint64 `json:"ifq_drops"`
	// InRing are frames still in the ring when each slice stopped (up
	// to a ring's worth per slice): Offered = Received + IfqDrops +
	// InRing.
	InRing    uint64 `json:"in_ring"`
	Polls     uint64 `json:"polls"`
	BusyPolls uint64 `json:"busy_polls"` // polls whose Recv filled a batch
	Livelocks uint64 `json:"livelocks"`  // see dp.Counters.Livelocks
	// ARP: requests offered to the ring, dropped at its tail, still in
	// the ring when a slice stopped (never polled: about one per slice,
	// as one frame in ARPEvery is one), reaching arp-input, and replies
	// sent back on the ingress port. Offered = ifq-dropped + in-ring +
	// received, and received = replies when the data plane answers every
	// ARP it sees. The ratios: replies over requests offered, and over
	// those that got past the ring (1: every ARP it saw answered).
	ARPRequestsOffered    uint64  `json:"arp_requests_offered"`
	ARPRequestsIfqDropped uint64  `json:"arp_requests_ifq_dropped"`
	ARPRequestsInRing     uint64  `json:"arp_requests_in_ring"`
	ARPRequestsReceived   uint64  `json:"arp_requests_received"`
	ARPRepliesSent        uint64  `json:"arp_replies_sent"`
	ARPReplyRatio         float64 `json:"arp_reply_ratio"`
	ARPPastRingReplyRatio float64 `json:"arp_past_ring_reply_ratio"`
	// Punts to the control plane (ARP learning) and punts lost to a
	// full ring.
	Punts    uint64            `json:"punts"`
	PuntFull uint64            `json:"punt_full"`
	Drops    map[string]uint64 `json:"drops"` // data-plane drops by stage/reason
	// OtherLoad and Steal as in Result.
	OtherLoad float64 `json:"other_load"`
	Steal     float64 `json:"steal"`
	// GCCPUShare and GCCycles as in Result (the share weighted by
	// duration over the slices).
	GCCPUShare float64 `json:"gc_cpu_share"`
	GCCycles   uint64  `json:"gc_cycles"`
}

// OverloadReport is softnet bench --scenario overload's JSON.
type OverloadReport struct {
	Scenario     string         `json:"scenario"` // "overload"
	CapacityMpps float64        `json:"capacity_mpps"`
	Capacity     *Result        `json:"capacity,omitempty"` // the ip4-forward run that measured it
	Ring         int            `json:"ring"`
	ARPEvery     int            `json:"arp_every"`
	Routes       int            `json:"routes"`
	PacketSize   int            `json:"packet_size"`
	CPU          int            `json:"cpu"` // the worker's CPU, -1 when unpinned
	Runs         []*OverloadRun `json:"runs"`
	// Plateau is forwarded_mpps at 2× over forwarded_mpps at 1× (0 when
	// either load was not run): 1 is a flat plateau, < 1 a collapse.
	Plateau float64 `json:"plateau"`
	SetupS  float64 `json:"setup_s"`
}

// Run returns the run at load, nil if there is none.
func (r *OverloadReport) Run(load float64) *OverloadRun {
	for _, x := range r.Runs {
		if x.Load == load {
			return x
		}
	}
	return nil
}

// ARPRequestFrame returns a 64-byte ARP request (RFC 826) from the
// sending host (PeerMAC, SrcAddr) for the router's ingress address,
// broadcast, zero-padded to the same length as the benchmark's frames.
func ARPRequestFrame() []byte {
	f := make([]byte, 64)
	for i := range 6 {
		f[i] = 0xff
	}
	copy(f[6:12], PeerMAC[:])
	binary.BigEndian.PutUint16(f[12:], hdr.EtherTypeARP)
	a := hdr.ARP(f[hdr.EthernetLen:])
	a.SetEthIPv4(hdr.ARPRequest)
	copy(a.SenderMAC(), PeerMAC[:])
	src, dst := SrcAddr.As4(), InAddr.Addr().As4()
	a.SetSenderIP(binary.BigEndian.Uint32(src[:]))
	a.SetTargetIP(binary.BigEndian.Uint32(dst[:]))
	return f
}

// ARPMix returns frames with every every-th one (from the first) replaced
// by an ARP request (ARPRequestFrame); frames is not modified.
func ARPMix(frames [][]byte, every int) [][]byte {
	mix := make([][]byte, len(frames))
	copy(mix, frames)
	arp := ARPRequestFrame()
	for i := 0; every > 0 && i < len(mix); i += every {
		mix[i] = arp
	}
	return mix
}

// RunOverload measures capacity, then forwarding at each offered load.
func RunOverload(o OverloadOptions) (*OverloadReport, error) {
	if o.Duration <= 0 {
		o.Duration = 5 * time.Second
	}
	if len(o.Loads) == 0 {
		o.Loads = []float64{0.5, 1, 2}
	}
	if o.Ring <= 0 {
		o.Ring = mem.DefaultRing
	}
	if o.ARPEvery <= 0 {
		o.ARPEvery = 1024
	}
	for _, l := range o.Loads {
		if !(l > 0 && l <= 100) {
			return nil, fmt.Errorf("load %g: give multiples of capacity above 0 and at most 100", l)
		}
	}
	const size = 64
	t0 := time.Now()
	prefixes, err := FullTableIPv4()
	if err != nil {
		return nil, err
	}
	frames := Frames(prefixes, Templates, size)
	base, err := NewForward(prefixes, frames, 1)
	if err != nil {
		return nil, err
	}
	rep := &OverloadReport{
		Scenario: "overload", Ring: o.Ring, ARPEvery: o.ARPEvery, Routes: base.Routes,
		PacketSize: size, CPU: -1, SetupS: time.Since(t0).Seconds(),
	}
	var cpus []int
	if allowed := dp.AllowedCPUs(); len(allowed) > 0 {
		cpus = allowed[:1]
		rep.CPU = cpus[0]
	}
	rep.CapacityMpps = o.CapacityMpps
	if rep.CapacityMpps <= 0 {
		res, err := measure(base.WithWorkers(1, cpus), Options{Scenario: "ip4-forward", Duration: o.Duration, Progress: o.Progress})
		if err != nil {
			return nil, err
		}
		res.PacketSize, res.SetupS, res.CPUs = size, rep.SetupS, cpus
		rep.Capacity, rep.CapacityMpps = res, res.Mpps
	}
	if rep.CapacityMpps <= 0 {
		return nil, fmt.Errorf("capacity measured as 0 Mpps: nothing to overload")
	}
	// The loads take turns in slices (0.5×, 1×, 2×, 0.5×, …), so a
	// neighbour's burst or the machine's drift over the run weighs on
	// every load alike instead of on whichever ran last: on a shared
	// machine, back-to-back runs of a few seconds differ by ±20 %.
	mix := ARPMix(frames, o.ARPEvery)
	slices := max(1, min(overloadSlices, int(o.Duration/(100*time.Millisecond))))
	slice := o.Duration / time.Duration(slices)
	rep.Runs = make([]*OverloadRun, len(o.Loads))
	for range slices {
		for i, l := range o.Loads {
			run, err := overload(base, mix, l, rep.CapacityMpps, cpus, slice, o.Ring, o.Progress)
			if err != nil {
				return nil, err
			}
			rep.Runs[i] = rep.Runs[i].add(run)
		}
	}
	for _, r := range rep.Runs {
		r.rates()
	}
	if r1, r2 := rep.Run(1), rep.Run(2); r1 != nil && r2 != nil && r1.ForwardedMpps > 0 {
		rep.Plateau = r2.ForwardedMpps / r1.ForwardedMpps
	}
	return rep, nil
}

// overloadSlices is how many turns each load takes (see RunOverload).
const overloadSlices = 5

// overload runs one worker on f's router fed by a RateGen offering
// load × capacity Mpps of frames for d. It returns the counts; rates()
// fills in the rates.
func overload(f *Forward, frames [][]byte, load, capMpps float64, cpus []int, d time.Duration, ring int, prog io.Writer) (*OverloadRun, error) {
	arena := f.newArena(1)
	gen := mem.NewRateGen("in0", frames, load*capMpps*1e6, ring)
	sink := mem.NewSink("out0")
	ports := make([]port.Port, 2)
	ports[f.in], ports[f.out] = gen, sink
	opt := dp.Options{Pool: pkt.NewPoolIn(arena, 0, PoolSize)}
	if cpus != nil {
		opt.Pin, opt.CPU = true, cpus[0]
	}
	w := dp.NewWorker(0, f.Router.Config(), ports, []dp.RxQueue{{Iface: f.in, Queue: 0}}, opt)
	f.Router.AttachWorkers([]*dp.Worker{w})
	runtime.GC()
	g0 := readGC()

	stop := make(chan struct{})
	cpDone := make(chan struct{})
	go func() { f.Router.Run(stop); close(cpDone) }()
	t0 := readCPUTimes()
	start := time.Now()
	if err := w.Start(); err != nil {
		w.Stop()
		close(stop)
		<-cpDone
		return nil, fmt.Errorf("worker: %w", err)
	}
	name := fmt.Sprintf("overload %g×", load)
	progress(prog, name, start, d, func() uint64 { return w.Counters().TxPackets[f.out] })
	w.Stop()
	elapsed := time.Since(start)
	t1 := readCPUTimes()
	g1 := readGC()
	close(stop)
	<-cpDone

	c := w.Counters()
	s := gen.Stats()
	r := &OverloadRun{
		Load: load, DurationS: elapsed.Seconds(),
		Offered: s.Offered, Received: s.Delivered, Forwarded: c.TxPackets[f.out],
		IfqDrops: s.IfqDrops, InRing: s.Pending, Polls: c.Polls, BusyPolls: c.BusyPolls, Livelocks: c.Livelocks,
		ARPRequestsOffered: s.ARPOffered, ARPRequestsIfqDropped: s.ARPDropped, ARPRequestsInRing: s.ARPPending,
		ARPRequestsReceived: c.Packets[arp.StageInput], ARPRepliesSent: s.ARPSent,
		Punts: c.Punts, PuntFull: c.PuntFull, Drops: map[string]uint64{},
	}
	r.OtherLoad, r.Steal = otherLoad(t0, t1, elapsed)
	r.GCCPUShare, r.GCCycles = runGC(g0, g1, elapsed, runtime.GOMAXPROCS(0))
	for _, d := range dp.Reasons() {
		if c.Drops[d] > 0 {
			r.Drops[d.String()] = c.Drops[d]
		}
	}
	return r, nil
}

// add returns r plus x's counts (x if r is nil); other load and steal are
// weighted by duration.
func (r *OverloadRun) add(x *OverloadRun) *OverloadRun {
	if r == nil {
		return x
	}
	t := r.DurationS + x.DurationS
	if t > 0 {
		r.OtherLoad = (r.OtherLoad*r.DurationS + x.OtherLoad*x.DurationS) / t
		r.Steal = (r.Steal*r.DurationS + x.Steal*x.DurationS) / t
		r.GCCPUShare = (r.GCCPUShare*r.DurationS + x.GCCPUShare*x.DurationS) / t
	}
	r.GCCycles += x.GCCycles
	r.DurationS = t
	r.Offered += x.Offered
	r.Received += x.Received
	r.Forwarded += x.Forwarded
	r.IfqDrops += x.IfqDrops
	r.InRing += x.InRing
	r.Polls += x.Polls
	r.BusyPolls += x.BusyPolls
	r.Livelocks += x.Livelocks
	r.ARPRequestsOffered += x.ARPRequestsOffered
	r.ARPRequestsIfqDropped += x.ARPRequestsIfqDropped
	r.ARPRequestsInRing += x.ARPRequestsInRing
	r.ARPRequestsReceived += x.ARPRequestsReceived
	r.ARPRepliesSent += x.ARPRepliesSent
	r.Punts += x.Punts
	r.PuntFull += x.PuntFull
	for k, v := range x.Drops {
		r.Drops[k] += v
	}
	return r
}

// rates fills in the rates and ratios from the counts.
func (r *OverloadRun) rates() {
	if r.DurationS > 0 {
		r.OfferedMpps = float64(r.Offered) / r.DurationS / 1e6
		r.ForwardedMpps = float64(r.Forwarded) / r.DurationS / 1e6
	}
	if r.ARPRequestsOffered > 0 {
		r.ARPReplyRatio = float64(r.ARPRepliesSent) / float64(r.ARPRequestsOffered)
	}
	if r.ARPRequestsReceived > 0 {
		r.ARPPastRingReplyRatio = float64(r.ARPRepliesSent) / float64(r.ARPRequestsReceived)
	}
}
