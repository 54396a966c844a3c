package bench

import (
	"bytes"
	"cmp"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"runtime"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/softnet/softnet"
	"github.com/softnet/softnet/api"
	"github.com/softnet/softnet/fib"
	"github.com/softnet/softnet/internal/netns"
	"github.com/softnet/softnet/internal/procstat"
	"github.com/softnet/softnet/lab"
)

// ScenarioNetlink is the netlink-full-table scenario's name.
const ScenarioNetlink = "netlink-full-table"

// Next hops of the netlink scenario's kernel routes: the flood's sink on
// host B's link (lab.Sink, a static neighbour in softnet) and its IPv6
// twin (a static neighbour too).
var (
	nlVia4 = lab.Sink
	nlVia6 = netip.MustParseAddr("fd11:2::99")
)

// NetlinkOptions configure RunNetlink.
type NetlinkOptions struct {
	Binary   string        // the softnet binary (run as `softnet run` in the router namespace)
	Duration time.Duration // the flood before the burst (mpps_before; 5 s when 0)
	// Routes, when positive, installs only that many prefixes of the
	// table (IPv4 and IPv6 in the table's proportion, file order); 0:
	// the whole table.
	Routes int
	// Timeout bounds the wait for softnet's FIB to equal the kernel's
	// after the burst (5 minutes when 0).
	Timeout time.Duration
	// SplitCPUs lets softnet use every CPU, its worker pinned to CPU 1
	// and its other threads (linux_cp's reader and applier, the API, the
	// Go runtime) kept on CPU 0 with trafgen (softnet run --control-cpus
	// 1), as VPP's main core. Otherwise (the default) the whole softnet
	// process runs on CPU 1 (taskset), the worker sharing it with the
	// applier. On a 2-CPU machine the split starves the applier behind
	// trafgen, which never sleeps: a 300,000-route run took 12.7 s after
	// the kernel's insertion (lag_s) against 0.2 s, and forwarded no more.
	SplitCPUs bool
	// PinWorker lets softnet use every CPU, its worker pinned to CPU 1
	// (softnet run --worker-cpus 1) at its nice value (--worker-nice, -10
	// unless the binary says otherwise) and its other threads, linux_cp's
	// reader and applier among them, free to run on either CPU, below the
	// worker on CPU 1. It is a machine where the data plane has a core
	// and the control plane takes what is left anywhere, as the routing
	// daemon does (the route writer is unpinned in every layout).
	PinWorker bool
	// RateMpps, when positive, floods at that fixed offered load in
	// both windows (trafgen --rate) instead of trafgen's full rate: a
	// variant beside the default that shows what share of a load below
	// the machine's capacity softnet keeps forwarding during the burst.
	RateMpps float64
	// WorkerNice, when not nil, is given to softnet run as --worker-nice
	// (nil: the binary's default).
	WorkerNice *int
	Progress   io.Writer
}

// NetlinkResult is the netlink-full-table scenario's one JSON line.
type NetlinkResult struct {
	Scenario string `json:"scenario"` // "netlink-full-table"
	// Routes are the routes of the burst the kernel took (IPv4 + IPv6):
	// what softnet's FIB must hold.
	Routes   int `json:"routes"`
	RoutesV4 int `json:"routes_v4"`
	RoutesV6 int `json:"routes_v6"`
	// KernelRefused are the burst's routes the kernel refused
	// (KernelError: the first one's error).
	KernelRefused int    `json:"kernel_refused"`
	KernelError   string `json:"kernel_error,omitempty"`
	// KernelRoutes is the count of the burst's routes in a dump of the
	// router namespace's kernel after the run (must be Routes).
	KernelRoutes int `json:"kernel_routes"`
	// InstallS is the burst itself: from the first netlink message sent
	// to the kernel having taken the last (sendmsg on NETLINK_ROUTE
	// returns once the kernel has applied what it carried).
	InstallS float64 `json:"install_s"`
	// ConvergeS is from the first netlink message to softnet's FIB equal
	// to the kernel's: linux_cp's route count and the FIB's kernel route
	// count both Routes, then SampleChecked prefixes compared one by one
	// (prefix, next hop, protocol) with SampleMismatch wrong.
	ConvergeS float64 `json:"converge_s"`
	// LagS is ConvergeS less InstallS: how long softnet took after the
	// kernel had the last route (the kernel's own insertion, InstallS,
	// bounds ConvergeS from below).
	LagS           float64 `json:"lag_s"`
	Converged      bool    `json:"converged"`
	SampleChecked  int     `json:"sample_checked"`
	SampleMismatch int     `json:"sample_mismatch"`
	Mismatch       string  `json:"mismatch,omitempty"` // the first one
	// RateMpps is the fixed offered load of both floods
	// (NetlinkOptions.RateMpps); 0: trafgen's full rate, the default.
	RateMpps float64 `json:"rate_mpps,omitempty"`
	// MppsBefore is softnet's forwarding (64-byte UDP, trafgen, veth
	// topology, as --scenario veth) for Duration before the burst;
	// MppsDuring the same flood from the burst's first message to the
	// convergence. DuringRatio is MppsDuring / MppsBefore (target ≥ 0.9).
	MppsBefore     float64 `json:"mpps_before"`
	MppsDuring     float64 `json:"mpps_during"`
	DuringRatio    float64 `json:"during_ratio"`
	SentMppsBefore float64 `json:"sent_mpps_before"` // what trafgen offered
	SentMppsDuring float64 `json:"sent_mpps_during"`
	LossPctBefore  float64 `json:"loss_pct_before"`
	LossPctDuring  float64 `json:"loss_pct_during"`
	// CPUBefore and CPUDuring are where the CPU time went during the
	// flood before the burst and from the burst's first message to the
	// convergence (see NetlinkCPU): the worker, softnet's other threads,
	// trafgen, the route writer (the kernel's insertion), the softirqs,
	// the rest of the machine.
	CPUBefore NetlinkCPU `json:"cpu_before"`
	CPUDuring NetlinkCPU `json:"cpu_during"`
	// WorkerNice is the nice value of softnet's worker thread (softnet
	// run --worker-nice).
	WorkerNice int `json:"worker_nice"`
	// GCCyclesDuring and GCCPUSDuring are softnet's garbage collections
	// and the collector's CPU seconds in the same window (GET
	// /v1/runtime's gc_cycles and gc_cpu_s); 0 when either reading failed.
	GCCyclesDuring uint64  `json:"gc_cycles_during"`
	GCCPUSDuring   float64 `json:"gc_cpu_s_during"`
	// IfqDropsBefore and IfqDropsDuring are the frames softnet's
	// receive ring on host A's side dropped (the worker not keeping up)
	// in the two windows: the rest of the loss is upstream (trafgen
	// offering less) or downstream. 0 when either reading of the API
	// failed.
	IfqDropsBefore uint64 `json:"ifq_drops_before"`
	IfqDropsDuring uint64 `json:"ifq_drops_during"`
	// LinuxCP is softnet's mirror at the end: events read, batches
	// (one snapshot each), overflows (ENOBUFS) and resyncs.
	LinuxCP api.LinuxCP `json:"linux_cp"`
	// LoadAvg is /proc/loadavg's 1-minute figure at the start and the
	// end: the other load on a shared machine, which moves every figure.
	LoadAvgStart float64           `json:"loadavg_start"`
	LoadAvgEnd   float64           `json:"loadavg_end"`
	CPUs         map[string]string `json:"cpus"`
	NumCPU       int               `json:"num_cpu"`
	GoVersion    string            `json:"go_version"`
}

// RunNetlink runs the netlink-full-table scenario: the veth topology
// (host A ─ softnet ─ host B, as --scenario veth), softnet with linux_cp
// mirroring the router namespace's main table (protocol bgp); a flood
// measures its forwarding for o.Duration, then the whole table (IPv4 and
// IPv6, via next hops on B's link) goes into the router namespace's
// kernel in one burst of batched RTM_NEWROUTE messages (many to a
// sendmsg, no acknowledgement asked), while the same flood runs, until
// softnet's FIB equals the kernel's. Needs root and the lab's tools.
func RunNetlink(ctx context.Context, o NetlinkOptions) (res *NetlinkResult, err error) {
	if o.Duration <= 0 {
		o.Duration = 5 * time.Second
	}
	if o.Timeout <= 0 {
		o.Timeout = 5 * time.Minute
	}
	if o.Binary == "" {
		return nil, errors.New("netlink-full-table scenario: no softnet binary")
	}
	logf := func(format string, a ...any) {
		if o.Progress != nil {
			fmt.Fprintf(o.Progress, format+"\n", a...)
		}
	}
	v4, v6, err := nlTable(o.Routes)
	if err != nil {
		return nil, err
	}
	tcpu, scpu := 0, 1
	var snArgs []string
	res = &NetlinkResult{Scenario: ScenarioNetlink, NumCPU: runtime.NumCPU(), GoVersion: runtime.Version(), LoadAvgStart: loadAvg(),
		CPUs: map[string]string{
			"source": fmt.Sprintf("cpu %d: trafgen (64-byte UDP from host A)", tcpu),
			"burst":  "not pinned: the bench process writing the routes, the kernel inserting them in its sendmsg calls",
		}}
	switch {
	case runtime.NumCPU() < 2:
		scpu = -1
		res.CPUs["softnet"] = "not pinned (one CPU)"
	case o.SplitCPUs && o.PinWorker:
		return nil, errors.New("netlink-full-table: SplitCPUs and PinWorker are two layouts; choose one")
	case o.PinWorker:
		// The worker on a CPU of its own, above the control plane there;
		// the control plane free to take what is left on either CPU.
		scpu = -1
		snArgs = []string{"--worker-cpus", "1"}
		res.CPUs["softnet"] = "every CPU (not taskset)"
		res.CPUs["softnet_worker"] = "cpu 1 (pinned, softnet run --worker-cpus 1), at its nice value (worker_nice) above the rest"
		res.CPUs["softnet_control"] = "any CPU: linux_cp's reader and applier, the API, the Go runtime's threads"
	case !o.SplitCPUs:
		res.CPUs["softnet"] = fmt.Sprintf("cpu %d: the softnet process, its worker and linux_cp's reader and applier", scpu)
	default:
		// VPP's layout: the worker on a CPU of its own, the control plane
		// (linux_cp's reader and applier, the API, the Go runtime) on
		// the first, which trafgen has too.
		snArgs = []string{"--control-cpus", "1"}
		res.CPUs["softnet"] = "every CPU (not taskset)"
		res.CPUs["softnet_worker"] = "cpu 1 (pinned, softnet run --control-cpus 1)"
		res.CPUs["softnet_control"] = "cpu 0: linux_cp's reader and applier, the API, the Go runtime's threads (--control-cpus 1)"
		scpu = -1
	}
	if o.WorkerNice != nil {
		snArgs = append(snArgs, "--worker-nice", strconv.Itoa(*o.WorkerNice))
	}
	res.RateMpps = o.RateMpps
	t, err := freshLab(ctx)
	if err != nil {
		return nil, err
	}
	defer func() {
		if cerr := t.Close(); cerr != nil && err == nil {
			err = cerr
		}
	}()
	// The router namespace's kernel gets no address (softnet answers for
	// them): its next hops are reached by scope-link host routes, and IPv6
	// is turned on on rb only, without a link-local address, so that it
	// takes IPv6 routes and answers no Neighbor Discovery.
	for _, kv := range [][2]string{{"net.ipv6.conf." + lab.DevRB + ".addr_gen_mode", "1"}, {"net.ipv6.conf." + lab.DevRB + ".disable_ipv6", "0"}} {
		if err := netns.Sysctl(ctx, t.R, kv[0], kv[1]); err != nil {
			return res, err
		}
	}
	for _, c := range [][]string{
		{"route", "add", nlVia4.String() + "/32", "dev", lab.DevRB, "proto", "static"},
		{"-6", "route", "add", nlVia6.String() + "/128", "dev", lab.DevRB, "proto", "static"},
	} {
		if out, err := netns.IP(ctx, append([]string{"-n", t.R}, c...)...); err != nil {
			return res, fmt.Errorf("ip %s: %v %s", strings.Join(c, " "), err, out)
		}
	}
	t.Extra = lab.Extra{IPv6: true, Neighbors: []string{fmt.Sprintf("{interface: %s, address: %s, mac: \"%s\"}", lab.DevRB, nlVia6, lab.SinkMAC)}}
	t.ExtraTop = fmt.Sprintf("linux_cp:\n  interfaces: [%s, %s]\n  protocols: [bgp]\n", lab.DevRA, lab.DevRB)
	sn, err := t.StartSoftnet(ctx, o.Binary, 1, scpu, snArgs...)
	if err != nil {
		return res, err
	}
	defer func() {
		out, serr := sn.Stop()
		if serr != nil && err == nil {
			err = fmt.Errorf("softnet: %w; its output:\n%s", serr, out)
		}
	}()
	c := api.NewClient(sn.API)
	if p, err := lab.RunPing(ctx, t.A, lab.AddrB.Addr().String(), 3, 100*time.Millisecond); err != nil || p.Received == 0 {
		return res, fmt.Errorf("netlink-full-table: softnet does not forward between the namespaces (%v): %s", err, p.Output)
	}

	logf("%s: softnet forwarding before the burst, trafgen on cpu %d, %v", ScenarioNetlink, tcpu, o.Duration)
	ifq := func() (uint64, bool) { return ifqDrops(ctx, c, lab.DevRA) } // softnet's ring drops on host A's side
	var worker int
	before, err := t.RunFloodAtWhile(ctx, 64, tcpu, o.RateMpps*1e6, func() error {
		s0 := takeCPUSnap(sn.Pid())
		q0, q0ok := ifq()
		select {
		case <-time.After(o.Duration):
		case <-ctx.Done():
			return ctx.Err()
		}
		s1 := takeCPUSnap(sn.Pid())
		worker = busiest(s0, s1)
		q1, q1ok := ifq()
		res.CPUBefore, res.IfqDropsBefore = cpuBetween(s0, s1, worker), grew(q0, q0ok, q1, q1ok)
		return nil
	})
	if err != nil {
		return res, err
	}
	res.MppsBefore, res.SentMppsBefore, res.LossPctBefore = before.Mpps, before.SentMpps, before.LossPct

	w, err := newRouteWriter(t.R)
	if err != nil {
		return res, err
	}
	defer w.close()
	msgs := buildRouteMsgs(v4, v6)
	want := len(v4) + len(v6)
	logf("%s: %d routes (%d IPv4, %d IPv6) into the kernel of %s in one burst, softnet mirroring, the flood running", ScenarioNetlink, want, len(v4), len(v6), t.R)
	var t0 time.Time
	during, err := t.RunFloodAtWhile(ctx, 64, tcpu, o.RateMpps*1e6, func() error {
		rt0, rt0err := c.Runtime(ctx)
		q0, q0ok := ifq()
		s0 := takeCPUSnap(sn.Pid())
		t0 = time.Now()
		defer func() { // the window's CPU, collections and ring drops
			s1 := takeCPUSnap(sn.Pid())
			q1, q1ok := ifq()
			res.CPUDuring, res.IfqDropsDuring = cpuBetween(s0, s1, worker), grew(q0, q0ok, q1, q1ok)
			// Both readings or none: with rt0 missing the difference would be
			// softnet's collections since its start.
			if rt1, err := c.Runtime(ctx); err == nil && rt0err == nil {
				res.GCCyclesDuring, res.GCCPUSDuring = rt1.Go.GCCycles-rt0.Go.GCCycles, rt1.Go.GCCPUSeconds-rt0.Go.GCCPUSeconds
			}
		}()
		if err := w.send(msgs); err != nil {
			return err
		}
		res.InstallS = time.Since(t0).Seconds()
		res.KernelRefused, res.KernelError = len(w.refused), w.firstErr
		want -= len(w.refused)
		res.Routes = want
		logf("%s: the kernel took %d routes in %.2f s; waiting for softnet", ScenarioNetlink, want, res.InstallS)
		deadline := t0.Add(o.Timeout)
		for {
			st, err := c.LinuxCP(ctx)
			if err == nil && st.Routes == want && st.Installed+st.Shadowed == want {
				res.ConvergeS = time.Since(t0).Seconds()
				res.LagS = res.ConvergeS - res.InstallS
				res.Converged = true
				return nil
			}
			if ctx.Err() != nil {
				return ctx.Err()
			}
			if time.Now().After(deadline) {
				res.ConvergeS = time.Since(t0).Seconds()
				res.LinuxCP = st
				return fmt.Errorf("netlink-full-table: softnet's FIB not the kernel's %v after the burst's first message (linux_cp %+v, %v; want %d routes)", o.Timeout, st, err, want)
			}
			time.Sleep(50 * time.Millisecond)
		}
	})
	if err != nil {
		return res, err
	}
	res.MppsDuring, res.SentMppsDuring, res.LossPctDuring = during.Mpps, during.SentMpps, during.LossPct
	if res.MppsBefore > 0 {
		res.DuringRatio = res.MppsDuring / res.MppsBefore
	}
	res.Routes = want
	for _, p := range v4 {
		if !w.refusedPrefix[p] {
			res.RoutesV4++
		}
	}
	res.RoutesV6 = want - res.RoutesV4

	// The sample: prefixes spread over the table, each looked up exactly.
	logf("%s: converged in %.2f s; comparing a sample and the kernel's count", ScenarioNetlink, res.ConvergeS)
	all := append(append([]netip.Prefix(nil), v4...), v6...)
	step := max(len(all)/1000, 1)
	for i := 0; i < len(all); i += step {
		p := all[i]
		if w.refusedPrefix[p] {
			continue
		}
		res.SampleChecked++
		via := nlVia4
		if p.Addr().Is6() {
			via = nlVia6
		}
		m, err := c.Route(ctx, p.String())
		if err != nil || !m.Found || m.Prefix != p.String() || m.Via != via.String() || m.Origin != "bgp" {
			res.SampleMismatch++
			if res.Mismatch == "" {
				res.Mismatch = fmt.Sprintf("%s: softnet has %+v (%v), the kernel via %s proto bgp", p, m, err, via)
			}
		}
	}
	res.Converged = res.Converged && res.SampleMismatch == 0
	if res.KernelRoutes, err = countKernelRoutes(t.R); err != nil {
		return res, err
	}
	if res.KernelRoutes != want {
		res.Converged = false
		if res.Mismatch == "" {
			res.Mismatch = fmt.Sprintf("the kernel has %d of the burst's routes, not %d", res.KernelRoutes, want)
		}
	}
	if res.LinuxCP, err = c.LinuxCP(ctx); err != nil {
		return res, err
	}
	res.WorkerNice = threadNice(sn.Pid(), worker)
	res.LoadAvgEnd = loadAvg()
	return res, nil
}

// threadNice is the nice value of thread tid of process pid (field 19
// of its stat; 0 if unreadable).
func threadNice(pid, tid int) int {
	st, err := procstat.Thread(pid, tid)
	if err != nil {
		return 0
	}
	return st.Nice
}

// nlTable is the table of the burst: the embedded full table's IPv4 and
// IPv6 prefixes (n of them in proportion when n > 0), distinct, without
// those softnet's lab owns or does not mirror (link-local, multicast).
func nlTable(n int) (v4, v6 []netip.Prefix, err error) {
	all, err := fib.ReadPrefixes(bytes.NewReader(softnet.FullTableGz))
	if err != nil {
		return nil, nil, err
	}
	own := []netip.Prefix{netip.MustParsePrefix("10.11.0.0/16"), netip.MustParsePrefix("fd11::/16")}
	seen := make(map[netip.Prefix]bool, len(all))
	for _, p := range all {
		a := p.Addr()
		if seen[p] || a.IsLinkLocalUnicast() || a.IsMulticast() || own[0].Overlaps(p) || own[1].Overlaps(p) {
			continue
		}
		seen[p] = true
		if a.Is4() {
			v4 = append(v4, p)
		} else {
			v6 = append(v6, p)
		}
	}
	if n > 0 && n < len(v4)+len(v6) {
		k := max(int(int64(n)*int64(len(v4))/int64(len(v4)+len(v6))), 1)
		v4, v6 = v4[:min(k, len(v4))], v6[:max(min(n-k, len(v6)), 0)]
	}
	return v4, v6, nil
}

// loadAvg is /proc/loadavg's 1-minute figure (0 if unreadable).
func loadAvg() float64 {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return 0
	}
	v, _ := strconv.ParseFloat(f[0], 64)
	return v
}

// Print writes the result as a few lines.
func (r *NetlinkResult) Print(w io.Writer) {
	fmt.Fprintf(w, "scenario     %s (veth topology, trafgen on cpu 0; softnet: %s)\n", r.Scenario, cmp.Or(r.CPUs["softnet_worker"], r.CPUs["softnet"]))
	fmt.Fprintf(w, "routes       %d (%d IPv4, %d IPv6); the kernel refused %d %s\n", r.Routes, r.RoutesV4, r.RoutesV6, r.KernelRefused, r.KernelError)
	fmt.Fprintf(w, "burst        %.2f s into the kernel (batched RTM_NEWROUTE)\n", r.InstallS)
	fmt.Fprintf(w, "converge     %.2f s from the first message to softnet's FIB equal to the kernel's, %.2f s after the kernel had them all (converged %v; sample %d, %d wrong; kernel %d routes)\n",
		r.ConvergeS, r.LagS, r.Converged, r.SampleChecked, r.SampleMismatch, r.KernelRoutes)
	if r.Mismatch != "" {
		fmt.Fprintf(w, "mismatch     %s\n", r.Mismatch)
	}
	fmt.Fprintf(w, "forwarding   before %.3f Mpps (offered %.3f), during %.3f Mpps (offered %.3f): %.2fx\n", r.MppsBefore, r.SentMppsBefore, r.MppsDuring, r.SentMppsDuring, r.DuringRatio)
	for _, x := range []struct {
		name string
		c    NetlinkCPU
	}{{"cpu before", r.CPUBefore}, {"cpu during", r.CPUDuring}} {
		fmt.Fprintf(w, "%-12s %.2f s: softnet worker %.2f, softnet other %.2f, trafgen %.2f, writer %.2f, softirq %.2f, other %.2f, idle %.2f (CPU seconds)\n",
			x.name, x.c.WallS, x.c.SoftnetWorker, x.c.SoftnetOther, x.c.Trafgen, x.c.Writer, x.c.Softirq, x.c.Other, x.c.Idle)
	}
	fmt.Fprintf(w, "softnet      worker nice %d; during the burst %d GC cycles, %.2f s GC CPU; ring drops %d before, %d during\n", r.WorkerNice, r.GCCyclesDuring, r.GCCPUSDuring, r.IfqDropsBefore, r.IfqDropsDuring)
	fmt.Fprintf(w, "linux_cp     %d events, %d batches, %d overflows (ENOBUFS), %d resyncs\n", r.LinuxCP.Events, r.LinuxCP.Batches, r.LinuxCP.Overflows, r.LinuxCP.Resyncs)
	fmt.Fprintf(w, "load         %.1f at the start, %.1f at the end (1-minute load average, %d CPUs)\n", r.LoadAvgStart, r.LoadAvgEnd, r.NumCPU)
}

// routeWriter writes routes into a namespace's kernel over one
// NETLINK_ROUTE socket.
type routeWriter struct {
	fd            int
	refused       map[uint32]bool // sequence numbers the kernel refused
	refusedPrefix map[netip.Prefix]bool
	firstErr      string
	msgs          *routeMsgs
}

func newRouteWriter(ns string) (*routeWriter, error) {
	w := &routeWriter{fd: -1, refused: map[uint32]bool{}, refusedPrefix: map[netip.Prefix]bool{}}
	err := netns.Do(ns, func() error {
		fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.NETLINK_ROUTE)
		if err != nil {
			return fmt.Errorf("netlink socket: %w", err)
		}
		w.fd = fd
		// Room for the kernel's error answers (none asked for success).
		unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, 32<<20)
		unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_SNDBUFFORCE, 4<<20)
		return unix.Bind(fd, &unix.SockaddrNetlink{Family: unix.AF_NETLINK})
	})
	if err != nil {
		if w.fd >= 0 {
			unix.Close(w.fd)
		}
		return nil, fmt.Errorf("netlink-full-table: %w", err)
	}
	return w, nil
}

func (w *routeWriter) close() { unix.Close(w.fd) }

// nlChunk is the most bytes of messages one sendmsg carries.
const nlChunk = 256 << 10

// routeMsgs are the burst's RTM_NEWROUTE messages, built before it, in
// chunks of whole messages; prefix[seq] is each message's route.
type routeMsgs struct {
	chunks [][]byte
	prefix []netip.Prefix
}

// buildRouteMsgs builds RTM_NEWROUTE (create or replace) for each
// prefix: main table, protocol bgp, via nlVia4 or nlVia6 on rb (its
// index is set by send).
func buildRouteMsgs(v4, v6 []netip.Prefix) *routeMsgs {
	m := &routeMsgs{}
	var cur []byte
	add := func(p netip.Prefix, via netip.Addr) {
		seq := uint32(len(m.prefix))
		m.prefix = append(m.prefix, p)
		alen := 4
		fam := unix.AF_INET
		if p.Addr().Is6() {
			alen, fam = 16, unix.AF_INET6
		}
		attr := func(typ uint16, v []byte) []byte {
			a := make([]byte, 4+len(v)+(4-len(v)%4)%4)
			binary.NativeEndian.PutUint16(a, uint16(4+len(v)))
			binary.NativeEndian.PutUint16(a[2:], typ)
			copy(a[4:], v)
			return a
		}
		body := []byte{byte(fam), byte(p.Bits()), 0, 0, unix.RT_TABLE_MAIN, unix.RTPROT_BGP, unix.RT_SCOPE_UNIVERSE, unix.RTN_UNICAST, 0, 0, 0, 0}
		body = append(body, attr(unix.RTA_DST, p.Addr().AsSlice()[:alen])...)
		body = append(body, attr(unix.RTA_GATEWAY, via.AsSlice())...)
		body = append(body, attr(unix.RTA_OIF, []byte{0, 0, 0, 0})...) // set by send
		h := make([]byte, unix.NLMSG_HDRLEN, unix.NLMSG_HDRLEN+len(body))
		binary.NativeEndian.PutUint32(h, uint32(unix.NLMSG_HDRLEN+len(body)))
		binary.NativeEndian.PutUint16(h[4:], unix.RTM_NEWROUTE)
		binary.NativeEndian.PutUint16(h[6:], unix.NLM_F_REQUEST|unix.NLM_F_CREATE|unix.NLM_F_REPLACE)
		binary.NativeEndian.PutUint32(h[8:], seq)
		msg := append(h, body...)
		if len(cur)+len(msg) > nlChunk {
			m.chunks = append(m.chunks, cur)
			cur = nil
		}
		cur = append(cur, msg...)
	}
	for _, p := range v4 {
		add(p, nlVia4)
	}
	for _, p := range v6 {
		add(p, nlVia6)
	}
	if len(cur) > 0 {
		m.chunks = append(m.chunks, cur)
	}
	return m
}

// send writes the messages (their RTA_OIF set to rb's index in the
// writer's namespace) and collects the kernel's refusals: NETLINK_ROUTE
// applies what a sendmsg carries before the call returns, and answers
// only errors (no NLM_F_ACK), so when send returns the kernel has the
// routes it took.
func (w *routeWriter) send(m *routeMsgs) error {
	w.msgs = m
	idx, err := w.linkIndex(lab.DevRB)
	if err != nil {
		return err
	}
	for _, c := range m.chunks {
		for off := 0; off+unix.NLMSG_HDRLEN <= len(c); {
			l := int(binary.NativeEndian.Uint32(c[off:]))
			binary.NativeEndian.PutUint32(c[off+l-4:], uint32(idx)) // RTA_OIF is last
			off += l
		}
	}
	sa := &unix.SockaddrNetlink{Family: unix.AF_NETLINK}
	for _, c := range m.chunks {
		if err := unix.Sendto(w.fd, c, 0, sa); err != nil {
			return fmt.Errorf("netlink-full-table: sending routes: %w", err)
		}
		w.readErrors()
	}
	w.readErrors()
	return nil
}

// readErrors reads the kernel's answers queued on the socket (errors
// only) without waiting.
func (w *routeWriter) readErrors() {
	buf := make([]byte, 1<<16)
	for {
		n, _, err := unix.Recvfrom(w.fd, buf, unix.MSG_DONTWAIT)
		if err != nil {
			if errors.Is(err, unix.ENOBUFS) {
				if w.firstErr == "" {
					w.firstErr = "error answers lost (ENOBUFS)"
				}
				continue
			}
			return
		}
		for b := buf[:n]; len(b) >= unix.NLMSG_HDRLEN+4; {
			l := int(binary.NativeEndian.Uint32(b))
			if l < unix.NLMSG_HDRLEN || l > len(b) {
				break
			}
			if binary.NativeEndian.Uint16(b[4:]) == unix.NLMSG_ERROR && l >= unix.NLMSG_HDRLEN+4+unix.NLMSG_HDRLEN {
				if e := int32(binary.NativeEndian.Uint32(b[unix.NLMSG_HDRLEN:])); e != 0 {
					seq := binary.NativeEndian.Uint32(b[unix.NLMSG_HDRLEN+4+8:]) // the request's header
					w.refused[seq] = true
					if int(seq) < len(w.msgs.prefix) {
						w.refusedPrefix[w.msgs.prefix[seq]] = true
					}
					if w.firstErr == "" {
						w.firstErr = fmt.Sprintf("route %v: %v", w.msgs.prefix[min(int(seq), len(w.msgs.prefix)-1)], unix.Errno(-e))
					}
				}
			}
			b = b[(l+3)&^3:]
		}
	}
}

// linkIndex is a link's index in the writer's namespace.
func (w *routeWriter) linkIndex(name string) (int, error) {
	var idx int
	links, err := dumpAll(w.fd, unix.RTM_GETLINK, unix.AF_UNSPEC, func(typ uint16, b []byte) bool {
		if typ != unix.RTM_NEWLINK || len(b) < unix.SizeofIfInfomsg {
			return false
		}
		i := int(int32(binary.NativeEndian.Uint32(b[4:])))
		for a := b[unix.SizeofIfInfomsg:]; len(a) >= 4; {
			al := int(binary.NativeEndian.Uint16(a))
			if al < 4 || al > len(a) {
				break
			}
			if binary.NativeEndian.Uint16(a[2:]) == unix.IFLA_IFNAME && strings.TrimRight(string(a[4:al]), "\x00") == name {
				idx = i
				return true
			}
			a = a[min((al+3)&^3, len(a)):]
		}
		return false
	})
	if err != nil {
		return 0, err
	}
	if links == 0 {
		return 0, fmt.Errorf("netlink-full-table: no link %s in the router namespace", name)
	}
	return idx, nil
}

// countKernelRoutes counts the routes of main table, protocol bgp, in
// namespace ns (IPv4 and IPv6).
func countKernelRoutes(ns string) (int, error) {
	total := 0
	err := netns.Do(ns, func() error {
		fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.NETLINK_ROUTE)
		if err != nil {
			return err
		}
		defer unix.Close(fd)
		if err := unix.Bind(fd, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
			return err
		}
		for _, fam := range []int{unix.AF_INET, unix.AF_INET6} {
			n, err := dumpAll(fd, unix.RTM_GETROUTE, fam, func(typ uint16, b []byte) bool {
				return typ == unix.RTM_NEWROUTE && len(b) >= unix.SizeofRtMsg && b[4] == unix.RT_TABLE_MAIN && b[5] == unix.RTPROT_BGP && b[7] == unix.RTN_UNICAST
			})
			if err != nil {
				return err
			}
			total += n
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("netlink-full-table: the kernel's route dump: %w", err)
	}
	return total, nil
}

// dumpAll sends a dump request (typ, family) on fd and counts the answers
// match accepts (given each message's type and payload).
func dumpAll(fd int, typ uint16, family int, match func(typ uint16, b []byte) bool) (int, error) {
	req := make([]byte, unix.NLMSG_HDRLEN+unix.SizeofRtMsg)
	binary.NativeEndian.PutUint32(req, uint32(len(req)))
	binary.NativeEndian.PutUint16(req[4:], typ)
	binary.NativeEndian.PutUint16(req[6:], unix.NLM_F_REQUEST|unix.NLM_F_DUMP)
	binary.NativeEndian.PutUint32(req[8:], 0x7fffffff)
	req[unix.NLMSG_HDRLEN] = byte(family)
	if err := unix.Sendto(fd, req, 0, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		return 0, err
	}
	buf := make([]byte, 1<<20)
	n := 0
	for {
		k, _, err := unix.Recvfrom(fd, buf, 0)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			return n, err
		}
		for b := buf[:k]; len(b) >= unix.NLMSG_HDRLEN; {
			l := int(binary.NativeEndian.Uint32(b))
			if l < unix.NLMSG_HDRLEN || l > len(b) {
				break
			}
			t := binary.NativeEndian.Uint16(b[4:])
			seq := binary.NativeEndian.Uint32(b[8:])
			if seq == 0x7fffffff {
				switch t {
				case unix.NLMSG_DONE:
					return n, nil
				case unix.NLMSG_ERROR:
					if e := int32(binary.NativeEndian.Uint32(b[unix.NLMSG_HDRLEN:])); e != 0 {
						return n, unix.Errno(-e)
					}
				default:
					if match(t, b[unix.NLMSG_HDRLEN:l]) {
						n++
					}
				}
			}
			b = b[min((l+3)&^3, len(b)):]
		}
	}
}
