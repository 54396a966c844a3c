package bench

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/softnet/softnet/config"
	"github.com/softnet/softnet/lab"
)

// LatencyOptions configure RunLatency.
type LatencyOptions struct {
	Binary   string        // the softnet binary (run as `softnet run` in the router namespace)
	Duration time.Duration // probing time per router and load (3 s when 0)
	RatePPS  float64       // ICMP echo requests a second (200 when 0)
	// BackgroundMpps is the flood's rate during the loaded runs; 0: half
	// of softnet's capacity, measured first on the same topology with a
	// CapacityDuration flood at trafgen's full rate.
	BackgroundMpps   float64
	CapacityDuration time.Duration // 1 s when 0
	// RTPriority, 1 to 99, runs softnet with --rt-priority (its worker in
	// SCHED_FIFO); 0: normal scheduling.
	RTPriority int
	// Backend is softnet's backend on the router's veths: "afpacket"
	// (also when empty) or "afxdp"; the softnet runs' JSON says which.
	Backend string
	// PinProber sends the probes from a thread pinned to ProberCPU, so
	// the softirq that carries each request into the router runs there:
	// on softnet's CPU (1) as an operator pins a NIC queue's interrupt to
	// its worker's core, the frame reaches the worker without a wake-up
	// across CPUs. false: the prober is not pinned.
	PinProber bool
	ProberCPU int
	// PollModes are softnet's poll modes to measure, one softnet run each
	// (config poll_mode: "interrupt", "adaptive", "polling"), side by side
	// with Linux in the same run; nil: the default mode only
	// (config.DefaultPollMode).
	PollModes []string
	Progress  io.Writer // progress lines, nil for none
}

// LatencyRun is one router under one load: the round-trip times of the
// probes from host A to host B through it.
type LatencyRun struct {
	Scenario string `json:"scenario"` // "latency"
	Router   string `json:"router"`   // "linux" or "softnet"
	Backend  string `json:"backend"`  // "kernel" (Linux forwarding), or softnet's ports: "afpacket" or "afxdp"
	// RTPriority is softnet's --rt-priority (0, left out: normal
	// scheduling).
	RTPriority int `json:"rt_priority,omitempty"`
	// PollMode is softnet's poll mode (config poll_mode; the softnet
	// lines only). SoftnetCPUPct is the CPU softnet's process used while
	// the probes ran, in % of one CPU (utime + stime from /proc/PID/stat;
	// the softnet lines only).
	PollMode      string   `json:"poll_mode,omitempty"`
	SoftnetCPUPct *float64 `json:"softnet_cpu_pct,omitempty"`
	RatePPS       float64  `json:"rate_pps"` // probes a second asked for (sent_pps: reached)
	// BackgroundMpps is what the flood really offered during the probes (0:
	// no flood); BackgroundTargetMpps what it was asked for;
	// BackgroundForwardedMpps what reached B's link.
	BackgroundMpps          float64 `json:"background_mpps"`
	BackgroundTargetMpps    float64 `json:"background_target_mpps"`
	BackgroundForwardedMpps float64 `json:"background_forwarded_mpps"`
	Probes
	// ProberCPU is the CPU the probes were sent from (left out: not
	// pinned).
	ProberCPU *int `json:"prober_cpu,omitempty"`
	// Wake is the platform's wake-up floor, measured once in the same
	// run (the same on every line).
	Wake
	DurationS float64 `json:"duration_s"`
	// CapacityMpps is softnet's forwarding capacity measured on this
	// topology (0 when --background-mpps was given instead).
	CapacityMpps float64 `json:"softnet_capacity_mpps"`
}

// LatencyReport is the latency scenario: each router light and loaded.
type LatencyReport struct {
	Runs         []*LatencyRun     `json:"runs"` // linux light, linux loaded, softnet light, softnet loaded
	CapacityMpps float64           `json:"softnet_capacity_mpps"`
	CPUs         map[string]string `json:"cpus"`
	Wake         Wake              `json:"wake"` // the platform's wake-up floor (see Wake)
}

// RunLatency runs the latency scenario: host A ─ router ─ host B in
// network namespaces (as the veth scenario), and from A a prober sending
// ICMP echo requests to B at o.RatePPS for o.Duration, B's kernel
// answering (icmpProbe). softnet (AF_PACKET, one worker, CPU 1) is
// measured first: its capacity (a short trafgen flood at full rate, unless
// o.BackgroundMpps is given), then the probes alone, then the probes
// during a 64-byte UDP flood from A to B's link at half that capacity
// (pacedFlood, a steady rate, on CPU 0). Then Linux forwards on the same
// topology, with the same probes and the same flood rate. Before the
// routers it measures the platform's floor (measureWake): the wake-up
// round trip of two threads across the prober's and softnet's CPUs and
// on softnet's CPU. Needs root and the lab's tools.
func RunLatency(ctx context.Context, o LatencyOptions) (rep *LatencyReport, err error) {
	if o.Duration == 0 {
		o.Duration = 3 * time.Second
	}
	if o.RatePPS == 0 {
		o.RatePPS = 200
	}
	if o.CapacityDuration == 0 {
		o.CapacityDuration = time.Second
	}
	switch {
	case o.Duration < 0:
		return nil, fmt.Errorf("latency scenario: duration %v: give a positive duration", o.Duration)
	case o.RatePPS < 0 || o.RatePPS > MaxProbeRate:
		return nil, fmt.Errorf("latency scenario: probe rate %v: give 1 to %d probes a second", o.RatePPS, MaxProbeRate)
	case o.BackgroundMpps < 0:
		return nil, fmt.Errorf("latency scenario: background %v Mpps: give a positive rate, or 0 for half the measured capacity", o.BackgroundMpps)
	case o.CapacityDuration < 0:
		return nil, fmt.Errorf("latency scenario: capacity flood %v: give a positive duration", o.CapacityDuration)
	case o.RTPriority < 0 || o.RTPriority > 99:
		return nil, fmt.Errorf("latency scenario: real-time priority %d: give 1 to 99, or 0 for normal scheduling", o.RTPriority)
	case o.Binary == "":
		return nil, errors.New("latency scenario: no softnet binary")
	case o.Backend != "" && o.Backend != "afpacket" && o.Backend != "afxdp":
		return nil, fmt.Errorf("latency scenario: backend %q: choose afpacket or afxdp", o.Backend)
	case o.PinProber && (o.ProberCPU < 0 || o.ProberCPU >= runtime.NumCPU()):
		return nil, fmt.Errorf("latency scenario: prober cpu %d: give a CPU from 0 to %d, or leave the prober unpinned", o.ProberCPU, runtime.NumCPU()-1)
	}
	for _, m := range o.PollModes {
		if !slices.Contains(config.PollModes, m) {
			return nil, fmt.Errorf("latency scenario: poll mode %q: choose %s", m, strings.Join(config.PollModes, ", "))
		}
	}
	modes := o.PollModes
	if len(modes) == 0 {
		modes = []string{config.DefaultPollMode}
	}
	if o.Backend == "" {
		o.Backend = "afpacket"
	}
	if n := o.RatePPS * o.Duration.Seconds(); n < 1 {
		return nil, fmt.Errorf("latency scenario: %v probes a second for %v is no probe at all: probe longer or faster", o.RatePPS, o.Duration)
	}
	logf := func(format string, a ...any) {
		if o.Progress != nil {
			fmt.Fprintf(o.Progress, format+"\n", a...)
		}
	}
	tcpu, scpu := 0, 1
	if runtime.NumCPU() < 2 {
		scpu = -1
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
	softnetCPU := "not pinned"
	if scpu >= 0 {
		softnetCPU = "cpu " + strconv.Itoa(scpu)
	}
	pcpu := -1
	prober := "not pinned"
	var proberCPU *int
	if o.PinProber {
		pcpu, proberCPU = o.ProberCPU, &o.ProberCPU
		prober = fmt.Sprintf("cpu %d (the requests' softirq runs there)", pcpu)
	}
	rep = &LatencyReport{CPUs: map[string]string{
		"flood":   fmt.Sprintf("cpu %d (trafgen for the capacity, the paced sender for the background)", tcpu),
		"softnet": softnetCPU,
		"prober":  prober + " (RTT from the kernel's TX stamp on host A's veth to its RX stamp of the reply)",
	}}
	target := o.BackgroundMpps
	dst := lab.AddrB.Addr()

	// The platform's floor: the cross-CPU pair is the prober's CPU (cpu
	// 0 when not pinned, or when pinned to softnet's) and softnet's.
	wa := tcpu
	if pcpu >= 0 && pcpu != scpu {
		wa = pcpu
	}
	logf("latency: thread wake-up round trips, cpu %d-%d and on cpu %d", wa, scpu, scpu)
	rep.Wake, err = measureWake(ctx, wa, scpu, wakeSamples, min(time.Duration(float64(time.Second)/o.RatePPS), wakeGapMax))
	if err != nil {
		return rep, err
	}

	// measure probes through the current router, alone (pps 0) or
	// during a flood at pps.
	// pid is softnet's process, whose CPU time each softnet run measures
	// (0: Linux's runs).
	measure := func(router, backend string, pps float64, pid int) (*LatencyRun, error) {
		r := &LatencyRun{Scenario: "latency", Router: router, Backend: backend, RatePPS: o.RatePPS, DurationS: o.Duration.Seconds(), ProberCPU: proberCPU, Wake: rep.Wake}
		cpu := cpuMeter(pid, &r.SoftnetCPUPct)
		if pps == 0 {
			logf("latency: %s, %v probes/s for %v, no background", router, o.RatePPS, o.Duration)
			p, err := icmpProbe(ctx, t.A, dst, o.RatePPS, o.Duration, pcpu)
			if err != nil {
				return nil, err
			}
			cpu()
			r.Probes = p
			return r, nil
		}
		logf("latency: %s, %v probes/s for %v, background flood at %.3f Mpps (paced, on cpu %d)", router, o.RatePPS, o.Duration, pps/1e6, tcpu)
		type flood struct {
			f   PacedFlood
			err error
		}
		fc := make(chan flood, 1)
		fctx, cancel := context.WithCancel(ctx)
		defer cancel()
		go func() {
			// The probes start 100 ms into the flood and send for
			// o.Duration: inside it.
			f, err := pacedFlood(fctx, t, pps, o.Duration+300*time.Millisecond, tcpu)
			fc <- flood{f, err}
		}()
		select {
		case f := <-fc:
			return nil, fmt.Errorf("background flood: %v", f.err)
		case <-ctx.Done():
			<-fc
			return nil, ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
		cpu = cpuMeter(pid, &r.SoftnetCPUPct) // the probes' time, not the flood's lead
		p, perr := icmpProbe(ctx, t.A, dst, o.RatePPS, o.Duration, pcpu)
		cpu()
		f := <-fc
		if perr != nil {
			return nil, perr
		}
		if f.err != nil {
			return nil, fmt.Errorf("background flood: %w", f.err)
		}
		r.Probes = p
		r.BackgroundMpps, r.BackgroundTargetMpps, r.BackgroundForwardedMpps = f.f.SentMpps, pps/1e6, f.f.ForwardMpps
		return r, nil
	}
	reachable := func(router string) error {
		p, err := lab.RunPing(ctx, t.A, dst.String(), 3, 100*time.Millisecond)
		if err != nil || p.Received == 0 {
			return fmt.Errorf("latency: %s does not forward between the namespaces (%v): %s", router, err, p.Output)
		}
		return nil
	}

	// softnet first, once per poll mode: the background rate is half
	// its capacity, measured on the first.
	var snRuns []*LatencyRun
	var extra []string
	if o.RTPriority > 0 {
		extra = []string{"--rt-priority", strconv.Itoa(o.RTPriority)}
		softnetCPU += fmt.Sprintf(", worker SCHED_FIFO %d", o.RTPriority)
		rep.CPUs["softnet"] = softnetCPU
	}
	t.Backend = o.Backend
	for _, mode := range modes {
		logf("latency: starting softnet on %s (%s), poll mode %s", o.Backend, softnetCPU, mode)
		t.ExtraTop = "poll_mode: " + mode + "\n"
		sn, err := t.StartSoftnet(ctx, o.Binary, 1, scpu, extra...)
		if err != nil {
			return rep, err
		}
		merr := func() error {
			if err := reachable("softnet"); err != nil {
				return err
			}
			if target == 0 {
				logf("latency: softnet's capacity, trafgen at full rate for %v", o.CapacityDuration)
				f, err := t.RunFlood(ctx, o.CapacityDuration, 64, tcpu)
				if err != nil {
					return fmt.Errorf("measuring softnet's capacity: %w", err)
				}
				if f.Mpps <= 0 {
					return fmt.Errorf("measuring softnet's capacity: nothing forwarded at full rate (sent %d, received %d)", f.Sent, f.Received)
				}
				rep.CapacityMpps = f.Mpps
				target = f.Mpps / 2
				logf("latency: capacity %.3f Mpps, background at half: %.3f Mpps", f.Mpps, target)
			}
			for _, pps := range []float64{0, target * 1e6} {
				r, err := measure("softnet", o.Backend, pps, sn.Pid())
				if err != nil {
					return err
				}
				r.RTPriority, r.PollMode = o.RTPriority, mode
				snRuns = append(snRuns, r)
			}
			return nil
		}()
		alive := sn.Alive()
		out, serr := sn.Stop()
		if merr != nil {
			return rep, merr
		}
		if !alive {
			return rep, fmt.Errorf("softnet (poll mode %s) died during the run (%v); its output:\n%s", mode, serr, out)
		}
		if serr != nil {
			return rep, fmt.Errorf("softnet (poll mode %s): %w; its output:\n%s", mode, serr, out)
		}
	}

	logf("latency: Linux forwarding")
	if err := t.KernelForwarding(ctx, true); err != nil {
		return rep, err
	}
	if err := reachable("Linux"); err != nil {
		return rep, err
	}
	for _, pps := range []float64{0, target * 1e6} {
		r, err := measure("linux", "kernel", pps, 0)
		if err != nil {
			return rep, err
		}
		rep.Runs = append(rep.Runs, r)
	}
	rep.Runs = append(rep.Runs, snRuns...)
	for _, r := range rep.Runs {
		r.CapacityMpps = rep.CapacityMpps
	}
	return rep, nil
}

// WriteJSONLines writes one JSON object a line, a line per run (router
// and load), in the order of Runs.
func (rep *LatencyReport) WriteJSONLines(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	for _, r := range rep.Runs {
		if err := enc.Encode(r); err != nil {
			return err
		}
	}
	return nil
}

// MaxProbeRate is the highest probe rate the latency scenario takes.
const MaxProbeRate = 100000

// Print writes the report as a table, then softnet's figures over Linux's.
func (rep *LatencyReport) Print(w io.Writer) {
	fmt.Fprintln(w, "scenario     latency (ICMP echo host A → B through the router, B's kernel answering; RTT between the kernel's stamps on host A's veth)")
	if rep.CapacityMpps > 0 {
		fmt.Fprintf(w, "capacity     softnet %.3f Mpps (64-byte flood at trafgen's full rate); background at half of it\n", rep.CapacityMpps)
	}
	fmt.Fprintf(w, "cpus         flood %s; softnet %s; prober %s\n", rep.CPUs["flood"], rep.CPUs["softnet"], rep.CPUs["prober"])
	wk := rep.Wake
	fmt.Fprintf(w, "wake floor   eventfd round trip between two idle threads (two wake-ups):")
	if wk.CrossCPUs != "" {
		fmt.Fprintf(w, " cpus %s p50 %.1f µs p99 %.1f µs;", wk.CrossCPUs, wk.CrossUs, wk.CrossP99Us)
	}
	fmt.Fprintf(w, " on cpu %s p50 %.1f µs p99 %.1f µs\n\n", wk.SameCPU, wk.SameUs, wk.SameP99Us)
	fmt.Fprintf(w, "%-8s %-9s %-9s %9s %12s %11s %11s %11s %11s %8s %6s %8s\n", "router", "backend", "poll", "probes/s", "background", "p50 µs", "p99 µs", "min µs", "max µs", "samples", "lost", "cpu %")
	for _, r := range rep.Runs {
		bg := "none"
		if r.BackgroundTargetMpps > 0 {
			bg = fmt.Sprintf("%.3f Mpps", r.BackgroundMpps)
		}
		cpu := "-"
		if r.SoftnetCPUPct != nil {
			cpu = fmt.Sprintf("%.1f", *r.SoftnetCPUPct)
		}
		fmt.Fprintf(w, "%-8s %-9s %-9s %9.0f %12s %11.1f %11.1f %11.1f %11.1f %8d %6d %8s\n", r.Router, r.Backend, cmp.Or(r.PollMode, "-"), r.PPS, bg, r.P50us, r.P99us, r.MinUs, r.MaxUs, r.Samples, r.Lost, cpu)
	}
	fmt.Fprintln(w, "(cpu %: softnet's process while the probes ran, in % of one CPU)")
	fmt.Fprintln(w)
	for _, loaded := range []bool{false, true} {
		var l *LatencyRun
		for _, r := range rep.Runs {
			if (r.BackgroundTargetMpps > 0) == loaded && r.Router == "linux" {
				l = r
			}
		}
		if l == nil || l.P50us <= 0 || l.P99us <= 0 {
			continue
		}
		name := "light     "
		if loaded {
			name = "background"
		}
		for _, s := range rep.Runs {
			if (s.BackgroundTargetMpps > 0) == loaded && s.Router == "softnet" {
				fmt.Fprintf(w, "ratio %s softnet (%s)/linux: p50 %.1fx, p99 %.1fx\n", name, s.PollMode, s.P50us/l.P50us, s.P99us/l.P99us)
			}
		}
	}
	fmt.Fprintln(w, "target       softnet p50 ≤ 50 µs at the light rate, p99 ≤ 200 µs")
}

// cpuMeter starts measuring the CPU time of process pid (utime + stime,
// every thread) and returns the function that stops and stores it in *pct
// as a share of one CPU over the wall time between the two, in %. pid 0:
// nothing is measured, *pct stays nil; so it does if /proc/PID/stat
// cannot be read.
func cpuMeter(pid int, pct **float64) func() {
	if pid == 0 {
		return func() {}
	}
	t0 := time.Now()
	c0, ok0 := cpuSeconds(pid)
	return func() {
		c1, ok1 := cpuSeconds(pid)
		if !ok0 || !ok1 {
			return
		}
		v := 100 * (c1 - c0) / time.Since(t0).Seconds()
		*pct = &v
	}
}
