package lab

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"sort"
	"strings"
	"text/tabwriter"
	"time"
)

// Options for Run.
type Options struct {
	Binary   string        // the softnet binary to start as the router
	Duration time.Duration // length of each iperf3 run and of the flood (3 s when 0)
	Workers  int           // softnet workers (1 when 0)
	Kernel   bool          // Linux forwards instead of softnet (for comparison)
	Keep     bool          // leave the topology in place at the end
	UDPRate  string        // iperf3 UDP target rate ("500M" when "")
	// OffloadsOff builds the topology with the veths' offloads off
	// (NewOffloadsOff); by default they keep the kernel's (New).
	OffloadsOff bool
	// Backend is softnet's backend on the router's two interfaces:
	// "afxdp", "afpacket", or "" for AF_XDP when the kernel allows (softnet
	// starts on afxdp, and on afpacket if that fails). Summary.Backend says
	// which ran. On afxdp the four veths' offloads are turned off (an
	// AF_XDP frame carries no partial-checksum or GSO metadata); they stay
	// off after a fallback to afpacket.
	Backend string
	Log     io.Writer // progress lines, nil for none
}

// Summary is what Run measured.
type Summary struct {
	Router     string    `json:"router"`            // "softnet" or "linux"
	Backend    string    `json:"backend,omitempty"` // softnet's: "afxdp" or "afpacket"
	PingAB     Ping      `json:"ping_ab"`
	PingBA     Ping      `json:"ping_ba"`
	TTLProbe   string    `json:"ttl_probe"` // the "From ... Time to live exceeded" line
	TCP        Iperf     `json:"tcp"`
	UDP        Iperf     `json:"udp"`
	Flood      Flood     `json:"flood"`
	Softnet    *Counters `json:"softnet,omitempty"` // its final counters
	SoftnetLog string    `json:"softnet_log,omitempty"`
	Topology   *Topology `json:"-"`
}

func (o *Options) logf(format string, a ...any) {
	if o.Log != nil {
		fmt.Fprintf(o.Log, format+"\n", a...)
	}
}

// Run builds the lab, starts the router, proves that traffic crosses it
// (ping both ways, a TTL-1 probe answered with Time Exceeded by the
// router, iperf3 TCP and UDP, a 64-byte trafgen flood) and tears it all
// down unless o.Keep, also when ctx is cancelled or a step fails.
func Run(ctx context.Context, o Options) (s *Summary, err error) {
	if o.Duration <= 0 {
		o.Duration = 3 * time.Second
	}
	if o.UDPRate == "" {
		o.UDPRate = "500M"
	}
	switch {
	case o.Backend != "" && o.Backend != "afxdp" && o.Backend != "afpacket":
		return nil, fmt.Errorf("backend %q: want afxdp or afpacket (or none: AF_XDP when the kernel allows, else AF_PACKET)", o.Backend)
	case o.Backend != "" && o.Kernel:
		return nil, fmt.Errorf("backend %s: with kernel forwarding there is no softnet to pick a backend for; drop one of them", o.Backend)
	}
	if err := CheckRoot(); err != nil {
		return nil, err
	}
	if err := CheckTools(); err != nil {
		return nil, err
	}
	if gone, err := CleanStale(ctx); err != nil {
		return nil, fmt.Errorf("removing a crashed run's namespaces: %w", err)
	} else if len(gone) > 0 {
		o.logf("removed stale namespaces: %s", strings.Join(gone, " "))
	}
	newTopo := New
	if o.OffloadsOff {
		newTopo = NewOffloadsOff
	}
	t, err := newTopo(ctx, 0)
	if err != nil {
		return nil, fmt.Errorf("building the topology: %w", err)
	}
	s = &Summary{Router: "softnet", Topology: t}
	if o.Kernel {
		s.Router = "linux"
	}
	o.logf("topology: %s (A, %s) ─ %s (router) ─ %s (B, %s)", t.A, AddrA, t.R, t.B, AddrB)
	var sn *Softnet
	defer func() {
		if sn != nil {
			out, serr := sn.Stop()
			s.SoftnetLog = out
			c := sn.Counters()
			s.Softnet = &c
			if serr != nil && err == nil {
				err = fmt.Errorf("softnet: %w; its output:\n%s", serr, out)
			}
		}
		if o.Keep {
			o.logf("--keep: the namespaces are left in place (softnet was stopped).\n  a shell on host A:   ip netns exec %s bash\n  softnet again:       ip netns exec %s %s run -c %s\n  remove:              ip netns del %s; ip netns del %s; ip netns del %s; rm -r %s\n  (the next lab run removes them too)",
				t.A, t.R, o.Binary, filepath.Join(t.Dir, "router.yaml"), t.A, t.R, t.B, t.Dir)
			return
		}
		if cerr := t.Close(); cerr != nil && err == nil {
			err = cerr
		}
	}()
	if o.Kernel {
		if err := t.KernelForwarding(ctx, true); err != nil {
			return s, err
		}
	} else {
		if sn, err = startBackend(ctx, t, &o, s); err != nil {
			return s, err
		}
	}
	o.logf("ping A → B and B → A")
	if s.PingAB, err = RunPing(ctx, t.A, AddrB.Addr().String(), 10, 100*time.Millisecond); err != nil {
		return s, err
	}
	if s.PingAB.Received == 0 {
		return s, fmt.Errorf("no ping reply from B to A through the router:\n%s", s.PingAB.Output)
	}
	if s.PingBA, err = RunPing(ctx, t.B, AddrA.Addr().String(), 10, 100*time.Millisecond); err != nil {
		return s, err
	}
	if s.PingBA.Received == 0 {
		return s, fmt.Errorf("no ping reply from A to B through the router:\n%s", s.PingBA.Output)
	}
	o.logf("TTL 1 probe A → B")
	if s.TTLProbe, err = TTLProbe(ctx, t); err != nil {
		return s, err
	}
	o.logf("iperf3 TCP A → B, %v", o.Duration)
	if s.TCP, err = RunIperf(ctx, t.A, t.B, AddrB.Addr().String(), o.Duration, ""); err != nil {
		return s, err
	}
	o.logf("iperf3 UDP A → B at %sbit/s, %v", o.UDPRate, o.Duration)
	if s.UDP, err = RunIperf(ctx, t.A, t.B, AddrB.Addr().String(), o.Duration, o.UDPRate); err != nil {
		return s, err
	}
	o.logf("trafgen 64-byte UDP flood A → B's link (sink next hop %v), %v", Sink, o.Duration)
	if s.Flood, err = t.RunFlood(ctx, o.Duration, 64, 0); err != nil {
		return s, err
	}
	if sn != nil && !sn.Alive() {
		return s, fmt.Errorf("softnet died during the run; its output:\n%s", sn.Output())
	}
	return s, nil
}

// startBackend starts softnet on o.Backend, or when that is "" on afxdp
// and, if softnet cannot run on it here (no AF_XDP in the kernel, no XDP
// on the veths), on afpacket; it logs which it used and sets s.Backend.
func startBackend(ctx context.Context, t *Topology, o *Options, s *Summary) (*Softnet, error) {
	try := []string{o.Backend}
	if o.Backend == "" {
		try = []string{"afxdp", "afpacket"}
	}
	for i, b := range try {
		t.Backend = b
		if b == "afxdp" && !t.OffloadsOff {
			// An AF_XDP frame carries no checksum-offload or GSO
			// metadata: a host's partial checksum (tx-checksumming) or
			// TCP super-packet could not be finished or split.
			o.logf("afxdp: offloads off on the four veths (AF_XDP frames carry no partial-checksum or GSO metadata)")
			if err := t.DisableAllOffloads(ctx); err != nil {
				return nil, err
			}
		}
		o.logf("starting %s run in %s on %s", o.Binary, t.R, b)
		sn, err := t.StartSoftnet(ctx, o.Binary, o.Workers, -1)
		if err == nil {
			s.Backend = b
			o.logf("backend: %s", b)
			return sn, nil
		}
		if ctx.Err() != nil {
			return nil, err
		}
		if o.Backend == "afxdp" {
			return nil, fmt.Errorf("--backend afxdp: softnet could not forward on AF_XDP here (the kernel needs XDP sockets and XDP on veth, and softnet needs root): %w; use --backend afpacket, or no --backend to fall back to it", err)
		}
		if i+1 < len(try) {
			first, _, _ := strings.Cut(err.Error(), "\n")
			o.logf("AF_XDP not available (%s); falling back to afpacket", first)
			continue
		}
		return nil, err
	}
	return nil, fmt.Errorf("no backend to start softnet on")
}

// TTLProbe sends one ping with TTL 1 from host A to host B and returns
// the router's answer line; it is an error unless that is an ICMP Time
// Exceeded from the router's address on A's side (RFC 1812 5.3.1).
func TTLProbe(ctx context.Context, t *Topology) (string, error) {
	p, err := RunPing(ctx, t.A, AddrB.Addr().String(), 1, 200*time.Millisecond, "-t", "1")
	if err != nil {
		return "", err
	}
	want := "From " + AddrRA.Addr().String()
	for _, l := range strings.Split(p.Output, "\n") {
		if strings.Contains(l, want) && strings.Contains(l, "Time to live exceeded") {
			return strings.TrimSpace(l), nil
		}
	}
	return "", fmt.Errorf("ping -t 1 from A to B: want %q with \"Time to live exceeded\", got:\n%s", want, p.Output)
}

// Print writes the summary as a table.
func (s *Summary) Print(w io.Writer) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "router\t%s (between %s and %s)\n", s.Router, AddrA, AddrB)
	if s.Backend != "" {
		fmt.Fprintf(tw, "backend\t%s\n", s.Backend)
	}
	pr := func(name string, p Ping) {
		fmt.Fprintf(tw, "%s\t%d/%d replies, %.0f%% loss, rtt min/avg/max %.3f/%.3f/%.3f ms\n", name, p.Received, p.Sent, p.LossPct, p.Min, p.Avg, p.Max)
	}
	pr("ping A → B", s.PingAB)
	pr("ping B → A", s.PingBA)
	fmt.Fprintf(tw, "TTL 1 probe\t%s\n", s.TTLProbe)
	fmt.Fprintf(tw, "TCP A → B\t%.2f Gbit/s over %.1f s, %d retransmits\n", s.TCP.Gbps, s.TCP.Seconds, s.TCP.Retransmits)
	fmt.Fprintf(tw, "UDP A → B\t%.3f Gbit/s received, %d/%d lost (%.2f%%), jitter %.3f ms\n", s.UDP.Gbps, s.UDP.Lost, s.UDP.Packets, s.UDP.LossPct, s.UDP.JitterMs)
	f := s.Flood
	fmt.Fprintf(tw, "64-byte flood\tsent %d (%.3f Mpps, trafgen on CPU %d), received %d on B's link (%.3f Mpps), lost %d (%.1f%%) in %.2f s\n",
		f.Sent, f.SentMpps, f.CPU, f.Received, f.Mpps, f.Lost, f.LossPct, f.DurationS)
	fmt.Fprintf(tw, "router veths\tra rx %d (kernel drops %d), rb tx %d\n", f.RouterRx, f.RouterRxDrp, f.RouterTx)
	if c := s.Softnet; c != nil {
		for _, i := range c.Interfaces {
			fmt.Fprintf(tw, "softnet %s\trx %d, tx %d packets, %s drops %d\n", i.Name, i.RxPackets, i.TxPackets, kernelDropsName(s.Backend), i.KernelDrops)
		}
		fmt.Fprintf(tw, "softnet drops\t%s\n", kv(c.Drops))
		fmt.Fprintf(tw, "softnet ICMP\terrors sent %s, echo replies %d\n", kv(c.ICMPErrors), c.EchoReplies)
	}
	tw.Flush()
}

// kv formats counters as "name n, name n" in name order, or "none".
func kv(m map[string]uint64) string {
	if len(m) == 0 {
		return "none"
	}
	names := make([]string, 0, len(m))
	for n := range m {
		names = append(names, n)
	}
	sort.Strings(names)
	var b strings.Builder
	for i, n := range names {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%s %d", n, m[n])
	}
	return b.String()
}

// kernelDropsName names where an interface's kernel drops happen.
func kernelDropsName(backend string) string {
	if backend == "afxdp" {
		return "XDP socket"
	}
	return "AF_PACKET ring"
}
