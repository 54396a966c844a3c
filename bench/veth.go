package bench

import (
	"context"
	"errors"
	"fmt"
	"github.com/softnet/softnet/logs"
	"io"
	"os"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/softnet/softnet/lab"
)

// VethOptions configure RunVeth.
type VethOptions struct {
	Binary     string        // the softnet binary (run as `softnet run` in the router namespace)
	Duration   time.Duration // flood measurement window per router (5 s when 0)
	TCPTime    time.Duration // iperf3 TCP run per router (3 s when 0; <0: none)
	PacketSize int           // 64 when 0 (bytes without FCS)
	Workers    int           // softnet workers (1 when 0)
	Backend    string        // softnet's backend on the router veths: "afpacket" (when empty) or "afxdp"
	// StackDrop (afpacket): softnet's interfaces get stack_drop: true, a
	// tc ingress drop after its sockets saw each frame.
	StackDrop bool
	// Source is what sends the floods: "trafgen", "xdp" (lab.XDPGen:
	// BPF_PROG_RUN in live-frames mode redirecting into host A's veth) or
	// "best" (when empty): both generators' limits are measured and the
	// one that pushes more into the router's veth per second of its CPU
	// sends every flood.
	Source string
	// TrafgenCPU is where the source (trafgen or the XDP generator) runs; SoftnetCPU where softnet runs
	// (-1: not pinned). Defaults: 0 and 1.
	TrafgenCPU, SoftnetCPU *int
	Progress               io.Writer // progress lines, nil for none
}

// VethRun is one router's figures in the veth scenario.
type VethRun struct {
	lab.Flood
	Source         string  `json:"source"` // what sent the flood
	TCPGbps        float64 `json:"tcp_gbps"`
	TCPRetransmits int     `json:"tcp_retransmits"`
}

// VethResult is the veth scenario's figures: the same namespaces and
// flood, forwarded once by Linux and once by softnet.
type VethResult struct {
	Scenario    string  `json:"scenario"`   // "veth"
	Backend     string  `json:"backend"`    // softnet's: afpacket or afxdp
	StackDrop   bool    `json:"stack_drop"` // afpacket: the router namespace's stack was cut off (tc ingress drop)
	PacketSize  int     `json:"packet_size"`
	DurationS   float64 `json:"duration_s"`
	KernelMpps  float64 `json:"kernel_mpps"`
	SoftnetMpps float64 `json:"softnet_mpps"`
	Ratio       float64 `json:"ratio"` // softnet_mpps / kernel_mpps
	// GeneratorLimitMpps is what the source pushes into the router's
	// ingress veth (ra rx per second) while an XDP program there drops
	// every frame (lab.DropAtRouter), measured in the same run: no
	// router can show more. Generator is that flood.
	GeneratorLimitMpps float64 `json:"generator_limit_mpps"`
	// GeneratorLimits are each measured source's limit (the same XDP
	// drop on ra), by source name: "trafgen" and "xdp" with --source
	// best, the one chosen otherwise.
	GeneratorLimits map[string]float64 `json:"generator_limits_mpps"`
	// GeneratorPerCPU are the same floods' frames per second of the
	// source's CPU time (Flood.SentPerCPUMpps), by source name: the
	// source that pushes more per CPU second is the one kept, as the
	// rates swing with the other loads of a shared machine.
	GeneratorPerCPU map[string]float64 `json:"generator_per_cpu_mpps"`
	SourceName      string             `json:"source_name"` // "trafgen" or "xdp": what sent kernel_mpps, softnet_mpps and generator_limit_mpps
	Source          string             `json:"source"`      // the flood's source, for all three figures, in words
	KernelTCP       float64            `json:"kernel_tcp_gbps"`
	SoftnetTCP      float64            `json:"softnet_tcp_gbps"`
	// KernelTCPRetr and SoftnetTCPRetr are iperf3's TCP retransmits.
	KernelTCPRetr  int     `json:"kernel_tcp_retransmits"`
	SoftnetTCPRetr int     `json:"softnet_tcp_retransmits"`
	Kernel         VethRun `json:"kernel"`
	Softnet        VethRun `json:"softnet"`
	Generator      VethRun `json:"generator"`
	// Generators are the generator-limit floods by source name.
	Generators map[string]VethRun `json:"generators"`
	// SoftnetDrops are softnet's drops by stage/reason and
	// SoftnetKernelDrops the AF_PACKET ring drops (PACKET_STATISTICS), as
	// softnet reported them when it stopped.
	SoftnetDrops       map[string]uint64 `json:"softnet_drops"`
	SoftnetKernelDrops uint64            `json:"softnet_kernel_drops"`
	SoftnetCounters    *lab.Counters     `json:"softnet_counters,omitempty"` // its final report
	// SoftnetPortLog are softnet's log lines of its ports closing (afxdp:
	// counters and the kernel's drops by cause, rx_ring_full and
	// fill_ring_empty).
	SoftnetPortLog []string          `json:"softnet_port_log,omitempty"`
	CPUs           map[string]string `json:"cpus"` // which CPU did what
	NumCPU         int               `json:"num_cpu"`
	GoVersion      string            `json:"go_version"`
}

// RunVeth runs the veth scenario: host A ─ router ─ host B in three
// network namespaces; a source floods 64-byte UDP from A at full rate,
// pinned to one CPU, and B's veth counts what arrives. First each
// candidate source (trafgen, softnet's XDP generator; o.Source) floods
// the router's ingress veth where XDP drops everything (the generator's
// limit) and the one that pushes more is kept for the rest; then Linux
// forwards its flood (ip_forward=1 in the router namespace), then softnet
// forwards (AF_PACKET or AF_XDP on both router veths, pinned
// to another CPU). iperf3 gives a TCP figure for Linux and softnet. Needs
// root and the lab's tools.
func RunVeth(ctx context.Context, o VethOptions) (res *VethResult, err error) {
	if o.Duration <= 0 {
		o.Duration = 5 * time.Second
	}
	if o.TCPTime == 0 {
		o.TCPTime = 3 * time.Second
	}
	if o.PacketSize == 0 {
		o.PacketSize = 64
	}
	if o.PacketSize < 60 || o.PacketSize > 1514 {
		return nil, fmt.Errorf("packet size %d: the veth scenario uses 60..1514 bytes", o.PacketSize)
	}
	tcpu, scpu := 0, 1
	if o.TrafgenCPU != nil {
		tcpu = *o.TrafgenCPU
	}
	if o.SoftnetCPU != nil {
		scpu = *o.SoftnetCPU
	}
	if runtime.NumCPU() < 2 {
		scpu = -1
	}
	if o.Binary == "" {
		return nil, errors.New("veth scenario: no softnet binary")
	}
	logf := func(format string, a ...any) {
		if o.Progress != nil {
			fmt.Fprintf(o.Progress, format+"\n", a...)
		}
	}
	switch o.Source {
	case "":
		o.Source = "best"
	case "best", "trafgen", "xdp":
	default:
		return nil, fmt.Errorf("source %q: choose trafgen, xdp (softnet's XDP generator) or best (the one that pushes more)", o.Source)
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
	if o.Backend == "" {
		o.Backend = "afpacket"
	}
	if o.StackDrop && o.Backend != "afpacket" {
		return nil, fmt.Errorf("stack drop: only the afpacket backend has it (backend %s): drop it", o.Backend)
	}
	t.Backend, t.StackDrop = o.Backend, o.StackDrop
	res = &VethResult{Scenario: "veth", Backend: o.Backend, StackDrop: o.StackDrop, PacketSize: o.PacketSize, DurationS: o.Duration.Seconds(),
		NumCPU: runtime.NumCPU(), GoVersion: runtime.Version()}
	softnetCPU := "not pinned"
	if scpu >= 0 {
		softnetCPU = "cpu " + strconv.Itoa(scpu)
	}
	res.CPUs = map[string]string{
		"kernel_forwarding": fmt.Sprintf("cpu %d: Linux forwards in the softirq of the source's veth transmit (ra's backlog is processed on the sending CPU), and delivers to B there too", tcpu),
		"softnet":           softnetCPU + ": the softnet process (" + o.Backend + " rings, forwarding, transmit), and B's receive in the softirq of its sends",
		"generator":         fmt.Sprintf("cpu %d: the source, the a0→ra hand-off and an XDP_DROP on ra (native XDP), nothing forwarded", tcpu),
	}
	sources := map[string]string{
		"trafgen": fmt.Sprintf("trafgen, one thread pinned to cpu %d (--cpus 1), its TX_RING on a0 bypassing the qdisc", tcpu),
		"xdp": fmt.Sprintf("softnet's XDP generator on cpu %d: BPF_PROG_RUN in live-frames mode, one prebuilt frame redirected into a0 (batches of %d, no socket, no skb on the sender; "+
			"an XDP_PASS program on ra for Linux and AF_PACKET, as veth needs one to take redirected frames)", tcpu, lab.XDPGenBatch),
	}
	// flood runs one flood from the source named src. The XDP generator's
	// frames reach ra only if it has an XDP program: softnet's on AF_XDP,
	// the drop program for the generator's limit, else an XDP_PASS one.
	flood := func(src string, needPass bool) (lab.Flood, error) {
		if src == "trafgen" {
			return t.RunFlood(ctx, o.Duration, o.PacketSize, tcpu)
		}
		if needPass {
			detach, err := t.PassAtRouter()
			if err != nil {
				return lab.Flood{}, err
			}
			defer detach()
		}
		return t.RunXDPFlood(ctx, o.Duration, o.PacketSize, tcpu)
	}
	var src string
	measure := func(r *VethRun, needPass bool) error {
		r.Source = res.Source
		if r.Flood, err = flood(src, needPass); err != nil {
			return err
		}
		if o.TCPTime > 0 {
			tcp, err := lab.RunIperf(ctx, t.A, t.B, lab.AddrB.Addr().String(), o.TCPTime, "")
			if err != nil {
				return err
			}
			r.TCPGbps, r.TCPRetransmits = tcp.Gbps, tcp.Retransmits
		}
		return nil
	}

	if err := t.KernelForwarding(ctx, true); err != nil {
		return res, err
	}
	if p, err := lab.RunPing(ctx, t.A, lab.AddrB.Addr().String(), 3, 100*time.Millisecond); err != nil || p.Received == 0 {
		return res, fmt.Errorf("veth: Linux does not forward between the namespaces (%v): %s", err, p.Output)
	}
	// The generators' limits first: each source's flood into ra, dropped
	// there by XDP (host A has the router's MAC from the ping; forwarding
	// is on, but nothing gets past the XDP program). The best one sends
	// every flood after.
	cands := []string{o.Source}
	if o.Source == "best" {
		cands = []string{"trafgen", "xdp"}
	}
	res.GeneratorLimits, res.GeneratorPerCPU, res.Generators = map[string]float64{}, map[string]float64{}, map[string]VethRun{}
	for _, c := range cands {
		logf("veth: generator limit of %s (XDP_DROP on %s), on cpu %d, %v", c, lab.DevRA, tcpu, o.Duration)
		detach, err := t.DropAtRouter()
		if err != nil {
			return res, err
		}
		g := VethRun{Source: sources[c]}
		g.Flood, err = flood(c, false)
		if derr := detach(); err == nil && derr != nil {
			err = fmt.Errorf("detaching the XDP drop program from %s: %w", lab.DevRA, derr)
		}
		if err != nil {
			return res, fmt.Errorf("generator limit of %s: %w", c, err)
		}
		res.Generators[c], res.GeneratorLimits[c], res.GeneratorPerCPU[c] = g, g.RouterRxMpps, g.SentPerCPUMpps
		if src == "" || g.SentPerCPUMpps > res.Generator.SentPerCPUMpps {
			src, res.GeneratorLimitMpps, res.Generator = c, g.RouterRxMpps, g
		}
	}
	res.SourceName, res.Source = src, sources[src]
	res.CPUs["source"] = fmt.Sprintf("cpu %d: %s (and the a0→ra veth hand-off, which runs in the sender's softirq)", tcpu, src)

	logf("veth: Linux forwarding, %s on cpu %d, %v", src, tcpu, o.Duration)
	if err := measure(&res.Kernel, true); err != nil {
		return res, err
	}

	if err := t.KernelForwarding(ctx, false); err != nil {
		return res, err
	}

	logf("veth: softnet forwarding (%s), %s on cpu %d, %v", softnetCPU, src, tcpu, o.Duration)
	sn, err := t.StartSoftnet(ctx, o.Binary, o.Workers, scpu)
	if err != nil {
		return res, err
	}
	// Resolve host B before the flood, as the Linux run did: the flood
	// measures forwarding, not ARP under load.
	var merr error
	if p, err := lab.RunPing(ctx, t.A, lab.AddrB.Addr().String(), 3, 100*time.Millisecond); err != nil || p.Received == 0 {
		merr = fmt.Errorf("veth: softnet does not forward between the namespaces (%v): %s", err, p.Output)
	} else {
		merr = measure(&res.Softnet, o.Backend != "afxdp")
	}
	alive := sn.Alive()
	out, serr := sn.Stop()
	c := sn.Counters()
	res.SoftnetCounters = &c
	res.SoftnetDrops, res.SoftnetKernelDrops = c.Drops, c.KernelDrops
	for _, l := range strings.Split(out, "\n") {
		if strings.Contains(l, "port closed") {
			res.SoftnetPortLog = append(res.SoftnetPortLog, l)
		}
	}
	if merr != nil {
		return res, merr
	}
	if !alive {
		return res, fmt.Errorf("softnet died during the run; its output:\n%s", out)
	}
	if serr != nil {
		return res, fmt.Errorf("softnet: %w; its output:\n%s", serr, out)
	}
	res.KernelMpps, res.SoftnetMpps = res.Kernel.Mpps, res.Softnet.Mpps
	res.KernelTCP, res.SoftnetTCP = res.Kernel.TCPGbps, res.Softnet.TCPGbps
	res.KernelTCPRetr, res.SoftnetTCPRetr = res.Kernel.TCPRetransmits, res.Softnet.TCPRetransmits
	if res.KernelMpps > 0 {
		res.Ratio = res.SoftnetMpps / res.KernelMpps
	}
	return res, nil
}

// freshLab checks for root and the lab's tools, removes namespaces a
// killed run left behind and builds the three-namespace topology. The
// caller closes it.
func freshLab(ctx context.Context) (*lab.Topology, error) {
	if err := lab.CheckRoot(); err != nil {
		return nil, err
	}
	if err := lab.CheckTools(); err != nil {
		return nil, err
	}
	if _, err := lab.CleanStale(ctx); err != nil {
		return nil, err
	}
	return lab.NewOffloadsOff(ctx, 0)
}

// VethBinary is the softnet binary the veth scenario starts by default:
// this executable.
func VethBinary() string {
	b, err := os.Executable()
	if err != nil {
		return ""
	}
	return b
}

// Print writes the result as a short table.
func (r *VethResult) Print(w io.Writer) {
	fmt.Fprintf(w, "scenario     veth (host A ─ router ─ host B in network namespaces, %d-byte UDP from %s, %.1f s)\n", r.PacketSize, r.SourceName, r.DurationS)
	for _, x := range []struct {
		name string
		r    VethRun
	}{{"linux", r.Kernel}, {"softnet", r.Softnet}} {
		fmt.Fprintf(w, "%-12s %.3f Mpps received (sent %.3f Mpps; %d sent, %d received, %.1f%% lost), TCP %.2f Gbit/s (%d retransmits)\n",
			x.name, x.r.Mpps, x.r.SentMpps, x.r.Sent, x.r.Received, x.r.LossPct, x.r.TCPGbps, x.r.TCPRetransmits)
	}
	fmt.Fprintf(w, "ratio        %.2f (softnet/linux)\n", r.Ratio)
	fmt.Fprintf(w, "generator    %.3f Mpps into the router's veth with XDP_DROP there (no router can show more)\n", r.GeneratorLimitMpps)
	for _, k := range []string{"trafgen", "xdp"} {
		if v, ok := r.GeneratorLimits[k]; ok {
			fmt.Fprintf(w, "generator    %s: %.3f Mpps (%.3f Mpps per second of its CPU)\n", k, v, r.GeneratorPerCPU[k])
		}
	}
	fmt.Fprintf(w, "source       %s\n", r.Source)
	fmt.Fprintf(w, "softnet      drops %s, AF_PACKET ring drops %d\n", countList(r.SoftnetDrops), r.SoftnetKernelDrops)
	for _, k := range []string{"source", "kernel_forwarding", "softnet", "generator"} {
		fmt.Fprintf(w, "cpu          %s: %s\n", k, r.CPUs[k])
	}
}

// countList is counts by name for text output: "a 1, b 2" (sorted by
// name), or "none".
func countList(m map[string]uint64) string {
	if len(m) == 0 {
		return "none"
	}
	return logs.Counts(m)
}
