package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net"
	"net/netip"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/softnet/softnet/api"
	"github.com/softnet/softnet/config"
	"github.com/softnet/softnet/control"
	"github.com/softnet/softnet/dp"
	"github.com/softnet/softnet/logs"
	"github.com/softnet/softnet/run"
)

// statusEvery is how often run reads the ports' state to log links going
// down or up: often enough for a person watching, and never on the data
// path (it reads the ports' own counters from the control side).
const statusEvery = 500 * time.Millisecond

func runCmd() *cobra.Command {
	var (
		file      string
		duration  time.Duration
		pin       bool
		ctlCPUs   int
		swRSS     bool
		rtPrio    int
		wNice     int
		wCPUs     []int
		so        serveOpts
		logLevel  string
		logFormat string
	)
	cmd := &cobra.Command{
		Use:   "run -c FILE",
		Short: "Run the router a config describes",
		Long: `run starts the router described by a config file: it opens a port per
interface (afpacket, afxdp, tap, pcap or mem), installs the addresses, routes,
route files and static neighbours, and forwards with the configured number
of workers until SIGINT or SIGTERM (or --duration; one during start-up,
while a full table loads, stops it at once, exit 0); SIGHUP reloads the
config file as softnet reload does (the outcome is logged; a file with
errors changes nothing). It logs to stderr (a
start-up summary, then interfaces going down or up and I/O errors, never
per packet) and prints the final counters to stdout: packets and bytes per
interface, every drop by stage/reason (the ARP queue's and the ports' too)
with the total, and where every packet went (received + generated = sent +
dropped + consumed + held).

While it runs it serves the control API (JSON over HTTP, docs/api.md) on a
Unix socket: --api PATH, else the config's api.socket, else
/run/softnet/softnet.sock; --api "" (or api: {socket: off}) serves none.
softnet show, route, neighbor and reload talk to it. Prometheus metrics are
at /metrics on the socket, and on a TCP address with --metrics ADDR (or
api: {metrics: ADDR}).

A config with errors is not run: run prints the errors softnet check -c FILE
would and exits 1. Neither is a second router on a device (afpacket, afxdp, tap)
that another softnet process already uses: both would answer every packet
(ping shows DUP!); the error names the device and the other process's pid
(lock files under /run/softnet/lock, released when that process exits).
Other programs with AF_PACKET sockets on a device (tcpdump, or a router
that is not softnet) get a warning in the log.
Formats and examples: examples/*.yaml.`,
		Example: `  softnet run -c examples/two-port-mem.yaml --duration 2s
  sudo softnet run -c examples/veth-router.yaml
  sudo softnet run -c router.yaml --api /tmp/softnet.sock --metrics 127.0.0.1:9977 --log-format json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if duration < 0 {
				return fmt.Errorf("--duration %v: must be positive (e.g. 10s), or 0 to run until SIGINT/SIGTERM", duration)
			}
			if rtPrio < 0 || rtPrio > 99 {
				return fmt.Errorf("--rt-priority %d: give a SCHED_FIFO priority from 1 to 99, or 0 (the default) for normal scheduling", rtPrio)
			}
			if wNice < -20 || wNice > 19 {
				return fmt.Errorf("--worker-nice %d: give a nice value from -20 to 19 (negative: the workers before the control plane), or 0 to leave the workers at the control plane's priority", wNice)
			}
			ctx, cancel := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer cancel()
			// SIGHUP reloads the config, as routing daemons do; taken
			// from here on so that one during start-up does not kill the
			// process (it is handled once the router runs).
			hup := make(chan os.Signal, 1)
			signal.Notify(hup, syscall.SIGHUP)
			defer signal.Stop(hup)
			so.hup = hup
			log, err := logs.New(cmd.ErrOrStderr(), logLevel, logFormat)
			if err != nil {
				return err
			}
			so.socketSet = cmd.Flags().Changed("api")
			so.metricsSet = cmd.Flags().Changed("metrics")
			return runRouter(ctx, log, cmd.OutOrStdout(), cmd.ErrOrStderr(), file, duration, run.Options{Pin: pin, ControlCPUs: ctlCPUs, SoftwareRSS: swRSS, RTPriority: rtPrio,
				WorkerNice: wNice, WorkerCPUs: wCPUs, WorkerNiceRequired: cmd.Flags().Changed("worker-nice")}, so)
		},
	}
	f := cmd.Flags()
	f.StringVarP(&file, "config", "c", "", "the config file (YAML)")
	f.DurationVar(&duration, "duration", 0, "stop by itself after this long (e.g. 10s); 0 = until SIGINT/SIGTERM")
	f.BoolVar(&pin, "pin", false, "pin worker i to the i-th CPU softnet may use (see taskset)")
	f.IntVar(&ctlCPUs, "control-cpus", 0, "keep the first N CPUs softnet may use for its control plane (linux_cp's reader and applier, the API, the Go runtime: every thread but the workers'), as VPP's main core, and pin the workers to the others (implies --pin); must leave a CPU for the workers; 0 = off")
	f.IntSliceVar(&wCPUs, "worker-cpus", nil, "pin worker i to the i-th of these CPUs (e.g. 1 or 2,3; implies --pin) and leave every other thread (linux_cp's reader and applier, the API, the Go runtime) free on every CPU softnet may use, below the workers on theirs (--worker-nice): the workers keep their cores, the control plane takes what is left anywhere; not with --control-cpus")
	f.IntVar(&rtPrio, "rt-priority", 0, "run the workers' threads in SCHED_FIFO at this priority (1-99; root): a frame that wakes an idle worker runs it at once, not after the CPU's other threads (tail latency on a loaded machine); a busy worker then holds its CPU against normal threads, so combine with --pin and keep other work off those CPUs; 0 = normal scheduling")
	f.IntVar(&wNice, "worker-nice", run.DefaultWorkerNice, "the nice value of the workers' threads (-20 to 19): negative, the kernel gives a worker its CPU before softnet's other threads (linux_cp's reader and applier, the API, the collector), which take what it leaves, so a full table's burst does not halve forwarding; an idle worker sleeps and takes nothing; 0 = leave the workers at the process's nice, the control plane's. The trade-off, measured with a full table's burst beside a flood on 2 CPUs: at -10 the burst converged about twice as slowly (quiet host: 20.7-24.2 s against 9.0-11.0 s at 0; the control plane gets about 10 % of a busy worker's CPU) and the flood lost 0.5-2 % during it, not 38-47 %. A value below the current nice needs root (CAP_SYS_NICE): without it the default gives way with one warning, such a value given here is an error")
	f.BoolVar(&swRSS, "software-rss", false, "spread single-queue ports (pcap, mem) over all workers by flow (symmetric Toeplitz hash, lock-free hand-off); off: such a port is polled by worker 0 alone")
	f.StringVar(&so.socket, "api", "", `control API socket, "" or off for none (default: the config's api.socket, else `+config.DefaultSocket+")")
	f.StringVar(&so.metrics, "metrics", "", "also serve Prometheus /metrics on this TCP address, e.g. 127.0.0.1:9977 (default: the config's api.metrics)")
	f.StringVar(&logLevel, "log-level", "info", "log level: debug, info, warn or error")
	f.StringVar(&logFormat, "log-format", "text", "log format: text or json")
	_ = cmd.MarkFlagRequired("config")
	return cmd
}

// serveOpts say where run serves its API (the flags' values if set, else
// the config's) and on what it reloads.
type serveOpts struct {
	socketSet, metricsSet bool
	socket, metrics       string
	// hup delivers SIGHUP: each one reloads the config file as softnet
	// reload does. nil: never.
	hup <-chan os.Signal
}

// resolve returns the socket ("" for none) and metrics address of cfg
// under the flags.
func (so serveOpts) resolve(cfg *config.Config) (socket, metrics string) {
	socket, metrics = cfg.API.Socket, cfg.API.Metrics
	if so.socketSet {
		socket = so.socket
	} else if socket == "" {
		socket = config.DefaultSocket
	}
	if socket == "off" {
		socket = ""
	}
	if so.metricsSet {
		metrics = so.metrics
	}
	return socket, metrics
}

// runRouter runs the router of file until ctx is done (or, if d > 0, for d
// after it started), serving its API as so says, then stops it and prints
// its counters to out.
func runRouter(ctx context.Context, log *slog.Logger, out, errw io.Writer, file string, d time.Duration, o run.Options, so serveOpts) error {
	t0 := time.Now()
	// A signal during start-up (a full table takes seconds to load) stops
	// it within a fraction of a second: what was opened is closed, nothing is
	// served, and run exits 0 as after a signal once running.
	interrupted := func() error {
		log.Info("start-up interrupted: stopped before the router ran", "reason", "signal", "after", time.Since(t0).Round(time.Millisecond))
		return nil
	}
	if ctx.Err() != nil {
		return interrupted()
	}
	// The flags first: a mistaken one is refused at once, not after the
	// config's tables load (run.StartContext checks them again).
	if err := run.CheckOptions(o); err != nil {
		return err
	}
	log.Info("starting", "config", file)
	tuneGC()
	// The same checks as softnet check, route files loaded once.
	cfg, tables, err := config.CheckContext(ctx, file)
	if ctx.Err() != nil {
		return interrupted()
	}
	if err != nil {
		return reportConfig(errw, file, err)
	}
	log.Debug("config checked: installing", "config", file, "after", time.Since(t0).Round(time.Millisecond))
	for _, n := range cfg.Notes() { // as softnet check prints them
		log.Warn("list file", "config", file, "note", n)
	}
	o.Logger, o.Tables = log, tables
	r, err := run.StartContext(ctx, cfg, o)
	if err != nil && ctx.Err() != nil {
		return interrupted()
	}
	if err != nil {
		return reportConfig(errw, file, err)
	}
	socket, metrics := so.resolve(cfg)
	srv, err := api.Listen(r, api.Options{Socket: socket, Group: cfg.API.Group, Metrics: metrics, Logger: log})
	if err != nil {
		_ = r.Stop()
		return err
	}
	defer srv.Close()
	attrs := []any{"config", file, "interfaces", len(cfg.Interfaces),
		"routes", r.Routes(), "fib", r.Control().Routes(), "workers", r.Workers(),
		"setup", time.Since(t0).Round(time.Millisecond)}
	if socket != "" {
		attrs = append(attrs, "api", socket)
	}
	if a := srv.MetricsAddr(); a != nil {
		attrs = append(attrs, "metrics", "http://"+a.String()+"/metrics")
	}
	log.Info("softnet started", attrs...)
	ev := logs.NewSampler(log, 5)
	var prevCtl control.Stats
	var prevPuntFull uint64
	prev := r.Status()
	for i, st := range prev {
		if st.Backend == "vlan" || st.Backend == "bvi" {
			continue // logged below, with their tags
		}
		ic := cfg.Interfaces[cfg.Interface(st.Name)]
		attrs := []any{"name", st.Name, "backend", st.Backend}
		if st.Device != "" {
			attrs = append(attrs, "device", st.Device)
		}
		if ic.RX != "" {
			attrs = append(attrs, "rx", ic.RX)
		}
		if ic.TX != "" {
			attrs = append(attrs, "tx", ic.TX)
		}
		attrs = append(attrs, "mac", net.HardwareAddr(st.MAC[:]).String(), "mtu", st.MTU,
			"addresses", prefixList(ic.Addresses), "queues", st.Queues, "up", st.Up)
		if ic.Down {
			attrs = append(attrs, "admin", "down")
		}
		log.Info("interface", attrs...)
		prev[i].Done = false // a short replay may be over already: log it on the first tick
	}
	for _, v := range r.Control().VLANs() {
		attrs := []any{"name", v.Name, "parent", v.Parent, "vlan", v.VLAN}
		if v.OuterVLAN != 0 {
			attrs = append(attrs, "outer_vlan", v.OuterVLAN, "tpid", fmt.Sprintf("%#04x", v.TPID))
		}
		attrs = append(attrs, "mtu", v.MTU, "addresses", prefixList(cfg.Interfaces[cfg.Interface(v.Name)].Addresses), "up", v.Up)
		log.Info("vlan", attrs...)
	}

	if d > 0 {
		// Counted from here: loading a full table takes a second.
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, d)
		defer cancel()
	}
	tick := time.NewTicker(statusEvery)
	defer tick.Stop()
	why := "stopped"
loop:
	for {
		select {
		case <-ctx.Done():
			why = "signal"
			if errors.Is(ctx.Err(), context.DeadlineExceeded) {
				why = "duration elapsed"
			}
			break loop
		case <-so.hup:
			reloadOnSignal(log, r)
		case <-tick.C:
			cur := r.Status()
			logChanges(ev, prev, cur)
			prev = cur
			st := r.Control().Stats()
			logControl(ev, prevCtl, st)
			prevCtl = st
			if pf := r.Counters().PuntFull; pf > prevPuntFull {
				ev.Event(slog.LevelWarn, "punt-full", "punt ring full: packets to the control plane dropped", "new", pf-prevPuntFull, "total", pf)
				prevPuntFull = pf
			}
		}
	}
	log.Info("stopping", "reason", why)
	srv.Close() // no API requests while the router stops
	// Kernel drops are read before the ports close (a closed socket has
	// no statistics); the workers' counters are final after Stop.
	before := r.Status()
	stopErr := r.Stop()
	final := r.Status()
	kd := make(map[string]uint64, len(before))
	for _, b := range before {
		kd[b.Name] = b.KernelDrops
	}
	for i := range final {
		final[i].KernelDrops = max(final[i].KernelDrops, kd[final[i].Name])
	}
	printCounters(out, final, r.Counters(), r.Control().Stats())
	if stopErr != nil {
		return fmt.Errorf("stopping: %w", stopErr)
	}
	return nil
}

// reloadOnSignal reloads r's config file on SIGHUP and logs the outcome:
// what changed, or every error (the router keeps running unchanged, as
// softnet reload leaves it).
func reloadOnSignal(log *slog.Logger, r *run.Router) {
	res, err := r.Reload("")
	if err != nil {
		var ce config.Errors
		if errors.As(err, &ce) {
			for _, e := range ce {
				log.Error("SIGHUP: reload rejected, nothing changed", "error", e.Error())
			}
			return
		}
		log.Error("SIGHUP: reload rejected, nothing changed", "error", err.Error())
		return
	}
	c := res.Changes
	log.Info("SIGHUP: config reloaded", "file", res.File, "summary", res.Summary,
		"routes_added", c.RoutesAdded, "routes_changed", c.RoutesChanged, "routes_removed", c.RoutesRemoved,
		"neighbors_added", c.NeighborsAdded, "neighbors_removed", c.NeighborsGone,
		"interfaces_changed", c.Interfaces, "icmp_changed", c.ICMP)
	for _, b := range res.Blocklists {
		log.Info("SIGHUP: "+b, "file", res.File)
	}
	for _, w := range res.Warnings {
		log.Warn("SIGHUP: reload removed a run-time change", "warning", w)
	}
}

// logChanges logs what changed between two readings of the interfaces:
// link down or up, a new I/O error, a pcap replay that ended, interfaces
// added or deleted at run time (VLANs). Readings are matched by interface
// name, never by position: the list grows when a VLAN is added and shifts
// when one is deleted. Errors and drops, which can come in storms, go
// through the sampler.
func logChanges(ev *logs.Sampler, prev, cur []run.IfaceStatus) {
	log := ev.Log
	old := make(map[string]*run.IfaceStatus, len(prev))
	for i := range prev {
		old[prev[i].Name] = &prev[i]
	}
	for _, c := range cur {
		p, ok := old[c.Name]
		if !ok {
			log.Info("interface added", "name", c.Name, "backend", c.Backend, "up", c.Up)
			continue
		}
		delete(old, c.Name)
		switch {
		case p.Up && !c.Up:
			log.Warn("interface down", "name", c.Name, "device", c.Device, "last_error", c.LastError, "kernel_drops", c.KernelDrops)
		case !p.Up && c.Up:
			log.Info("interface up", "name", c.Name, "device", c.Device, "kernel_drops", c.KernelDrops)
		case c.LastError != "" && c.LastError != p.LastError:
			ev.Event(slog.LevelWarn, "port-error", "interface error", "name", c.Name, "error", c.LastError)
		}
		if grown(p.PortDrops, c.PortDrops) {
			ev.Event(slog.LevelWarn, "port-drops", "port drops", "name", c.Name, "counts", logs.Counts(c.PortDrops))
		}
		if c.KernelDrops > p.KernelDrops {
			ev.Event(slog.LevelWarn, "kernel-drops", "kernel drops", "name", c.Name, "new", c.KernelDrops-p.KernelDrops, "total", c.KernelDrops)
		}
		if c.Done && !p.Done && c.Backend == config.PCAP {
			log.Info("pcap replay done", "name", c.Name, "rx_packets", c.RxPackets)
		}
	}
	for _, p := range prev {
		if _, gone := old[p.Name]; gone {
			log.Info("interface deleted", "name", p.Name, "backend", p.Backend)
		}
	}
}

// logControl logs the control plane's troubles since the last reading:
// neighbours that did not answer ARP, packets it had to drop, messages to
// workers lost, neighbours it could not install. Sampled: an ARP storm
// costs a few lines a second.
func logControl(ev *logs.Sampler, prev, cur control.Stats) {
	if n := cur.Unreachable - prev.Unreachable; n > 0 {
		ev.Event(slog.LevelWarn, "arp-failed", "ARP resolution failed: held packets answered with host unreachable", "new", n, "total", cur.Unreachable)
	}
	if n := cur.QueueDrops - prev.QueueDrops; n > 0 {
		ev.Event(slog.LevelWarn, "resolve-drops", "packets waiting for ARP dropped (softnet show errors: arp-queue/...)", "new", n, "total", cur.QueueDrops)
	}
	if n := cur.InjectFull - prev.InjectFull; n > 0 {
		ev.Event(slog.LevelWarn, "inject-full", "messages to workers lost: inject ring full", "new", n, "total", cur.InjectFull)
	}
	if n := cur.NeighborErrors - prev.NeighborErrors; n > 0 {
		ev.Event(slog.LevelWarn, "neighbor-error", "neighbour not installed", "new", n, "error", cur.LastError)
	}
}

// grown reports whether any port count in cur is above prev's.
func grown(prev, cur map[string]uint64) bool {
	for k, n := range cur {
		if n > prev[k] {
			return true
		}
	}
	return false
}

// printCounters prints the final counters: per interface, then every
// drop by stage/reason (the data plane's, the control plane's, the
// ports'), the total, and where every packet went (run.Accounting).
func printCounters(w io.Writer, st []run.IfaceStatus, c dp.Counters, cs control.Stats) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "interface\trx packets\trx bytes\ttx packets\ttx bytes\tkernel drops\t")
	for _, s := range st {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t%d\t\n", s.Name, s.RxPackets, s.RxBytes, s.TxPackets, s.TxBytes, s.KernelDrops)
	}
	tw.Flush()
	// What the ports themselves dropped or failed to send (oversize
	// frames, a full transmit ring, ...), only where there is any.
	for _, s := range st {
		if len(s.PortDrops) == 0 {
			continue
		}
		names := slices.Sorted(maps.Keys(s.PortDrops))
		var b strings.Builder
		for _, n := range names {
			fmt.Fprintf(&b, " %s %d", n, s.PortDrops[n])
		}
		fmt.Fprintf(w, "port %s:%s\n", s.Name, b.String())
	}
	fmt.Fprintln(w)
	ds := run.Drops(st, &c, cs)
	if total := run.TotalDrops(ds); total == 0 {
		fmt.Fprintln(w, "drops: none")
	} else {
		fmt.Fprintln(w, "drops:")
		for _, d := range ds {
			if d.Count > 0 {
				fmt.Fprintf(w, "  %-40s %d%s\n", dropName(d), d.Count, dropOf(d))
			}
		}
		fmt.Fprintf(w, "total drops: %d\n", total)
	}
	if cs.Held > 0 || cs.Unreachable > 0 {
		fmt.Fprintf(w, "waiting for ARP: %d held, %d sent back for host unreachable\n", cs.Held, cs.Unreachable)
	}
	fmt.Fprintf(w, "accounting: %v\n", run.Account(st, &c, cs))
	var icmp []string
	for k, n := range c.ICMPErrors {
		if n > 0 {
			icmp = append(icmp, fmt.Sprintf("%s %d", dp.ICMPErrorNames[k], n))
		}
	}
	if len(icmp) > 0 {
		fmt.Fprintf(w, "icmp errors sent: %s\n", strings.Join(icmp, ", "))
	}
	if c.ICMPEchoReplies > 0 {
		fmt.Fprintf(w, "icmp echo replies: %d\n", c.ICMPEchoReplies)
	}
	fmt.Fprintf(w, "polls: %d busy %d livelocks %d spread %d\n", c.Polls, c.BusyPolls, c.Livelocks, c.Spread)
}

// dropName is a drop's stage/reason, with its interface for a port's.
func dropName(d run.Drop) string {
	if d.Interface != "" {
		return d.Stage + "/" + d.Reason + " (" + d.Interface + ")"
	}
	return d.Stage + "/" + d.Reason
}

// dropOf says what a drop count is part of, if anything.
func dropOf(d run.Drop) string {
	if d.Of != "" {
		return " (part of " + d.Of + ")"
	}
	return ""
}

// prefixList is an interface's addresses for the log: "10.0.1.1/24,10.0.9.1/24",
// or "none".
func prefixList(ps []netip.Prefix) string {
	if len(ps) == 0 {
		return "none"
	}
	s := make([]string, len(ps))
	for i, p := range ps {
		s[i] = p.String()
	}
	return strings.Join(s, ",")
}
