package lab

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/softnet/softnet/internal/netns"
)

// Packages maps each tool the lab runs to the Debian package that has it.
var Packages = map[string]string{
	"ip":      "iproute2",
	"ping":    "iputils-ping",
	"iperf3":  "iperf3",
	"trafgen": "netsniff-ng",
	"tcpdump": "tcpdump",
	"ethtool": "ethtool",
	"taskset": "util-linux",
	// traceroute -6 (e2e's TestIPv6): the modern traceroute, not
	// inetutils'.
	"traceroute": "traceroute",
}

// CheckTools returns an error naming the Debian packages to install when
// any of tools is not on PATH (nil tools: all of Packages but tcpdump).
func CheckTools(tools ...string) error {
	if len(tools) == 0 {
		tools = []string{"ip", "ping", "iperf3", "trafgen", "taskset"}
	}
	var missing, pkgs []string
	for _, t := range tools {
		if _, err := exec.LookPath(t); err != nil {
			missing = append(missing, t)
			pkgs = append(pkgs, Packages[t])
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("missing %s: install the Debian package(s) with `apt-get install -y %s` (or run scripts/deps.sh)",
			strings.Join(missing, ", "), strings.Join(pkgs, " "))
	}
	return nil
}

// CheckRoot returns an error when the process cannot create namespaces.
func CheckRoot() error {
	if os.Geteuid() != 0 {
		return errors.New("the lab needs root (network namespaces, veth, AF_PACKET): run it with sudo")
	}
	return nil
}

// Ping is one ping run's result.
type Ping struct {
	Sent     int     `json:"sent"`
	Received int     `json:"received"`
	LossPct  float64 `json:"loss_pct"`
	Min      float64 `json:"rtt_min_ms"` // round-trip times in ms; 0 when none came back
	Avg      float64 `json:"rtt_avg_ms"`
	Max      float64 `json:"rtt_max_ms"`
	Output   string  `json:"-"`
	ExitCode int     `json:"-"`
}

var (
	pingCountRE = regexp.MustCompile(`(\d+) packets transmitted, (\d+) received.*?([\d.]+)% packet loss`)
	pingRTTRE   = regexp.MustCompile(`= ([\d.]+)/([\d.]+)/([\d.]+)/`)
)

// RunPing pings dst from namespace ns count times, interval apart, with
// extra ping flags (e.g. "-t", "1"). A ping that gets no reply is not an
// error (see Received, ExitCode and Output); failing to run it is.
func RunPing(ctx context.Context, ns, dst string, count int, interval time.Duration, extra ...string) (Ping, error) {
	args := []string{"-n", "-c", strconv.Itoa(count), "-i", fmt.Sprintf("%.3f", interval.Seconds()), "-W", "1"}
	args = append(append(args, extra...), dst)
	cmd := netns.Command(ctx, ns, "ping", args...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	p := Ping{Output: out.String()}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		p.ExitCode = ee.ExitCode()
	} else if err != nil {
		return p, fmt.Errorf("ping %s in %s: %w", dst, ns, err)
	}
	m := pingCountRE.FindStringSubmatch(p.Output)
	if m == nil {
		return p, fmt.Errorf("ping %s in %s: no summary in %q", dst, ns, p.Output)
	}
	p.Sent, _ = strconv.Atoi(m[1])
	p.Received, _ = strconv.Atoi(m[2])
	p.LossPct, _ = strconv.ParseFloat(m[3], 64)
	if m := pingRTTRE.FindStringSubmatch(p.Output); m != nil {
		p.Min, _ = strconv.ParseFloat(m[1], 64)
		p.Avg, _ = strconv.ParseFloat(m[2], 64)
		p.Max, _ = strconv.ParseFloat(m[3], 64)
	}
	return p, nil
}

// Iperf is one iperf3 run's result, as the receiver saw it.
type Iperf struct {
	UDP         bool    `json:"udp"`
	Gbps        float64 `json:"gbps"`
	Retransmits int     `json:"retransmits,omitempty"` // TCP
	Packets     int     `json:"packets,omitempty"`     // UDP
	Lost        int     `json:"lost,omitempty"`        // UDP
	LossPct     float64 `json:"loss_pct,omitempty"`    // UDP
	JitterMs    float64 `json:"jitter_ms,omitempty"`   // UDP
	Seconds     float64 `json:"seconds"`
}

// RunIperf runs an iperf3 server in serverNS on server and a client in
// clientNS for dur: TCP, or UDP at udpRate (e.g. "500M") with 1400-byte
// datagrams when udpRate is not "".
func RunIperf(ctx context.Context, clientNS, serverNS, server string, dur time.Duration, udpRate string) (Iperf, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	srv := netns.Command(ctx, serverNS, "iperf3", "-s", "-1", "--forceflush", "-B", server, "-p", "5201")
	srvOut := &watch{want: []byte("Server listening"), seen: make(chan struct{})}
	srv.Stdout, srv.Stderr = srvOut, srvOut
	if err := srv.Start(); err != nil {
		return Iperf{}, fmt.Errorf("iperf3 server: %w", err)
	}
	srvDone := make(chan error, 1)
	go func() { srvDone <- srv.Wait() }()
	defer func() { cancel(); <-srvDone }()
	select {
	case <-srvOut.seen:
	case err := <-srvDone:
		srvDone <- err
		return Iperf{}, fmt.Errorf("iperf3 server in %s exited (%v): %s", serverNS, err, srvOut.String())
	case <-time.After(10 * time.Second):
		return Iperf{}, fmt.Errorf("iperf3 server in %s not listening after 10 s: %s", serverNS, srvOut.String())
	case <-ctx.Done():
		return Iperf{}, ctx.Err()
	}
	args := []string{"-c", server, "-p", "5201", "-J", "-t", fmt.Sprintf("%.0f", max(1, dur.Seconds())), "--connect-timeout", "3000"}
	if udpRate != "" {
		args = append(args, "-u", "-b", udpRate, "-l", "1400")
	}
	out, err := netns.Command(ctx, clientNS, "iperf3", args...).Output()
	var r struct {
		Error string `json:"error"`
		End   struct {
			SumSent struct {
				Seconds     float64 `json:"seconds"`
				Retransmits int     `json:"retransmits"`
			} `json:"sum_sent"`
			SumReceived struct {
				Seconds       float64 `json:"seconds"`
				BitsPerSecond float64 `json:"bits_per_second"`
			} `json:"sum_received"`
			Sum struct {
				Seconds       float64 `json:"seconds"`
				BitsPerSecond float64 `json:"bits_per_second"`
				Packets       int     `json:"packets"`
				Lost          int     `json:"lost_packets"`
				LostPercent   float64 `json:"lost_percent"`
				JitterMs      float64 `json:"jitter_ms"`
			} `json:"sum"`
		} `json:"end"`
	}
	if jerr := json.Unmarshal(out, &r); jerr != nil {
		return Iperf{}, fmt.Errorf("iperf3 client in %s: %v (output %q)", clientNS, err, out)
	}
	if r.Error != "" || err != nil {
		return Iperf{}, fmt.Errorf("iperf3 client in %s to %s: %s (%v); server: %s", clientNS, server, r.Error, err, srvOut.String())
	}
	if udpRate != "" {
		s := r.End.Sum
		return Iperf{UDP: true, Gbps: s.BitsPerSecond / 1e9, Packets: s.Packets, Lost: s.Lost, LossPct: s.LostPercent, JitterMs: s.JitterMs, Seconds: s.Seconds}, nil
	}
	return Iperf{Gbps: r.End.SumReceived.BitsPerSecond / 1e9, Retransmits: r.End.SumSent.Retransmits, Seconds: r.End.SumReceived.Seconds}, nil
}

// Flood is a trafgen run's result: what host A sent and host B received.
type Flood struct {
	CPU         int     `json:"cpu"` // where trafgen ran
	FrameSize   int     `json:"frame_size"`
	DurationS   float64 `json:"duration_s"` // the measurement window
	Sent        uint64  `json:"sent"`       // frames trafgen put on a0 (a0 tx + tx drops)
	Received    uint64  `json:"received"`   // frames b0 received
	Lost        uint64  `json:"lost"`
	LossPct     float64 `json:"loss_pct"`
	SentMpps    float64 `json:"sent_mpps"`
	Mpps        float64 `json:"mpps"`              // received per second
	RouterRx    uint64  `json:"router_rx"`         // ra rx packets (the kernel saw)
	RouterRxDrp uint64  `json:"router_rx_dropped"` // ra rx drops
	RouterTx    uint64  `json:"router_tx"`         // rb tx packets
	// RouterRxMpps is ra's rx packets per second over the window: what
	// reached the router's ingress veth (with DropAtRouter, the
	// generator's limit).
	RouterRxMpps float64 `json:"router_rx_mpps"`
	// SenderCPUS is the CPU time (user and system) the source used over
	// the whole run, the softirq work run in its context included as the
	// kernel charges it (tick-based, without CONFIG_IRQ_TIME_ACCOUNTING,
	// as on this machine's kernel), and
	// SentPerCPUMpps is Sent over it: what the source pushes per second
	// of its CPU, a figure the other loads of a shared machine move far
	// less than the rates (0 when unknown).
	SenderCPUS     float64 `json:"sender_cpu_s"`
	SentPerCPUMpps float64 `json:"sent_per_cpu_mpps"`
}

// RouterMAC returns the MAC host A has for the router's address (ping the
// router first).
func (t *Topology) RouterMAC(ctx context.Context) (string, error) {
	out, err := netns.IP(ctx, "-n", t.A, "neigh", "show", AddrRA.Addr().String(), "dev", DevA)
	if err != nil {
		return "", err
	}
	f := strings.Fields(out)
	for i := 0; i+1 < len(f); i++ {
		if f[i] == "lladdr" {
			return f[i+1], nil
		}
	}
	return "", fmt.Errorf("host A has no neighbour entry for the router %v (%q): ping it first", AddrRA.Addr(), strings.TrimSpace(out))
}

// RunFlood sends size-byte (without FCS) UDP frames from host A through
// the router onto B's link (to FloodDst, see FloodNet) at full rate for dur
// with trafgen pinned to cpu, and counts them on the veths.
func (t *Topology) RunFlood(ctx context.Context, dur time.Duration, size, cpu int) (Flood, error) {
	return t.RunFloodAt(ctx, dur, size, cpu, 0)
}

// RunFloodAt is RunFlood at pps frames per second (trafgen --rate; 0:
// full rate). trafgen paces with gaps it calibrates, so the rate it
// reaches is approximate: Flood.SentMpps is what it really offered.
func (t *Topology) RunFloodAt(ctx context.Context, dur time.Duration, size, cpu int, pps float64) (Flood, error) {
	return t.runTrafgen(ctx, dur, size, cpu, pps, nil)
}

// RunFloodWhile is RunFlood measured while f runs instead of for a fixed
// time: the window starts once trafgen sends (half a second after its
// start, and once host A's veth has sent a frame), f runs, and the window
// ends when f returns. An error from f
// stops the flood and is returned.
func (t *Topology) RunFloodWhile(ctx context.Context, size, cpu int, f func() error) (Flood, error) {
	return t.runTrafgen(ctx, 0, size, cpu, 0, f)
}

// RunFloodAtWhile is RunFloodWhile at pps frames per second (trafgen
// --rate, approximate as RunFloodAt's; 0: full rate).
func (t *Topology) RunFloodAtWhile(ctx context.Context, size, cpu int, pps float64, f func() error) (Flood, error) {
	return t.runTrafgen(ctx, 0, size, cpu, pps, f)
}

// runTrafgen is RunFloodAt, the window being f's run when f is not nil.
func (t *Topology) runTrafgen(ctx context.Context, dur time.Duration, size, cpu int, pps float64, while func() error) (Flood, error) {
	if size < 42 {
		size = 42
	}
	// The router's MAC as host A resolved it: the veth's for Linux,
	// softnet's own for softnet.
	router, err := t.RouterMAC(ctx)
	if err != nil {
		return Flood{}, err
	}
	conf := fmt.Sprintf("{ eth(da=%s, sa=%s, type=0x0800), ipv4(sa=%s, da=%s, ttl=64), udp(sp=4000, dp=9), fill(0, %d) }\n",
		router, MACA, AddrA.Addr(), FloodDst, size-42)
	path := filepath.Join(t.Dir, "flood.trafgen")
	if err := os.WriteFile(path, []byte(conf), 0o644); err != nil {
		return Flood{}, err
	}
	// --no-sock-mem and --notouch-irq: trafgen must not retune the host's
	// socket buffers or IRQ affinities. --cpus 1 with taskset: one sender
	// on one known CPU.
	tctx, cancel := context.WithCancel(ctx)
	defer cancel()
	args := []string{"-c", strconv.Itoa(cpu), "trafgen", "--no-sock-mem", "--notouch-irq", "--cpus", "1", "--dev", DevA, "--conf", path}
	if pps > 0 {
		args = append(args, "--rate", strconv.FormatUint(uint64(pps), 10)+"pps")
	}
	var out bytes.Buffer
	cmd := netns.Command(tctx, t.A, "taskset", args...)
	f, err := t.floodWindow(ctx, dur, size, cpu, while, func() (<-chan error, error) {
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Start(); err != nil {
			return nil, fmt.Errorf("trafgen: %w", err)
		}
		exited := make(chan error, 1)
		go func() { exited <- cmd.Wait() }()
		return exited, nil
	}, cancel, func(err error) error {
		return fmt.Errorf("trafgen exited early (%v): %s", err, out.String())
	})
	if err == nil && cmd.ProcessState != nil {
		if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
			f.setSenderCPU(time.Duration(ru.Utime.Nano() + ru.Stime.Nano()))
		}
	}
	return f, err
}

// setSenderCPU sets SenderCPUS and SentPerCPUMpps from the source's CPU
// time.
func (f *Flood) setSenderCPU(d time.Duration) {
	f.SenderCPUS = d.Seconds()
	if d > 0 {
		f.SentPerCPUMpps = float64(f.Sent) / d.Seconds() / 1e6
	}
}

// floodWindow measures a flood from the sender start starts (its end
// reported on the channel it returns): the totals from before the start
// until 300 ms after stop, the rates over a window of dur from half a
// second after the start. early turns an end before stop into the error
// to return. A while that is not nil is the window instead of dur: it
// runs from the window's start, which ends when it returns (its error
// stops the flood and is returned).
func (t *Topology) floodWindow(ctx context.Context, dur time.Duration, size, cpu int, while func() error, start func() (<-chan error, error), stop func(), early func(error) error) (Flood, error) {
	type snap struct{ a, ra, rb, b netns.Stats }
	read := func() (s snap, err error) {
		for _, x := range []struct {
			ns, dev string
			to      *netns.Stats
		}{{t.A, DevA, &s.a}, {t.R, DevRA, &s.ra}, {t.R, DevRB, &s.rb}, {t.B, DevB, &s.b}} {
			if *x.to, err = netns.LinkStats(ctx, x.ns, x.dev); err != nil {
				return s, err
			}
		}
		return s, nil
	}
	before, err := read()
	if err != nil {
		return Flood{}, err
	}
	exited, err := start()
	if err != nil {
		return Flood{}, err
	}
	// The rate is measured over a window of dur that starts once the
	// sender has set up (trafgen its ring) and is sending; the totals
	// cover the whole run.
	var w0, w1 snap
	var el time.Duration
	wait := func(d time.Duration) error {
		select {
		case err := <-exited:
			return early(err)
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(d):
			return nil
		}
	}
	if err := wait(500 * time.Millisecond); err != nil {
		return Flood{}, err
	}
	// With while, the window waits for the sender to send (a loaded
	// machine can take seconds to start it), up to 10 s.
	for i := 0; while != nil && i < 100; i++ {
		s, err := netns.LinkStats(ctx, t.A, DevA)
		if err != nil {
			return Flood{}, err
		}
		if s.TxPackets+s.TxDropped > before.a.TxPackets+before.a.TxDropped {
			break
		}
		if err := wait(100 * time.Millisecond); err != nil {
			return Flood{}, err
		}
	}
	// Each reading takes a few ms (four ip(8) runs): time it at its middle.
	stamp := func(to *snap) (time.Time, error) {
		t0 := time.Now()
		s, err := read()
		*to = s
		return t0.Add(time.Since(t0) / 2), err
	}
	t0, err := stamp(&w0)
	if err != nil {
		return Flood{}, err
	}
	if while != nil {
		if err := while(); err != nil {
			stop()
			<-exited
			return Flood{}, err
		}
	} else if err := wait(dur); err != nil {
		return Flood{}, err
	}
	t1, err := stamp(&w1)
	el = t1.Sub(t0)
	stop()
	<-exited
	if err != nil {
		return Flood{}, err
	}
	// Let what is in flight (rings, backlogs) arrive.
	time.Sleep(300 * time.Millisecond)
	after, err := read()
	if err != nil {
		return Flood{}, err
	}
	a, ra, rb, b := after.a.Sub(before.a), after.ra.Sub(before.ra), after.rb.Sub(before.rb), after.b.Sub(before.b)
	wa, wra, wb := w1.a.Sub(w0.a), w1.ra.Sub(w0.ra), w1.b.Sub(w0.b)
	f := Flood{CPU: cpu, FrameSize: size, DurationS: el.Seconds(), Sent: a.TxPackets + a.TxDropped, Received: b.RxPackets,
		RouterRx: ra.RxPackets, RouterRxDrp: ra.RxDropped, RouterTx: rb.TxPackets}
	if f.Sent > f.Received {
		f.Lost = f.Sent - f.Received
	}
	if f.Sent > 0 {
		f.LossPct = 100 * float64(f.Lost) / float64(f.Sent)
	}
	f.SentMpps = float64(wa.TxPackets+wa.TxDropped) / el.Seconds() / 1e6
	f.Mpps = float64(wb.RxPackets) / el.Seconds() / 1e6
	f.RouterRxMpps = float64(wra.RxPackets) / el.Seconds() / 1e6
	return f, nil
}

// watch is an io.Writer that keeps what is written and closes seen once
// want has appeared.
type watch struct {
	mu   sync.Mutex
	buf  bytes.Buffer
	want []byte
	seen chan struct{}
	done bool
}

func (w *watch) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf.Write(p)
	if !w.done && bytes.Contains(w.buf.Bytes(), w.want) {
		w.done = true
		close(w.seen)
	}
	return len(p), nil
}

func (w *watch) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return strings.TrimSpace(w.buf.String())
}
