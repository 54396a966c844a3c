package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/softnet/softnet/config"
	"github.com/softnet/softnet/dp"
	"github.com/softnet/softnet/run"
)

// statusEvery is how often run reads the ports' state to log links going
// down or up: often enough for a person watching, and never on the data
// path (it reads the ports' own counters from the control side).
const statusEvery = 500 * time.Millisecond

func runCmd() *cobra.Command {
	var (
		file     string
		duration time.Duration
		pin      bool
	)
	cmd := &cobra.Command{
		Use:   "run -c FILE",
		Short: "Run the router a config describes",
		Long: `run starts the router described by a config file: it opens a port per
interface (afpacket, tap, pcap or mem), installs the addresses, routes,
route files and static neighbours, and forwards with the configured number
of workers until SIGINT or SIGTERM (or --duration). It logs to stderr (a
start-up summary, then interfaces going down or up and I/O errors, never
per packet) and prints the final counters to stdout: packets and bytes per
interface and drops by stage/reason.

A config with errors is not run: run prints the errors softnet check -c FILE
would and exits 1. Formats and examples: examples/*.yaml.`,
		Example: `  softnet run -c examples/two-port-mem.yaml --duration 2s
  sudo softnet run -c examples/veth-router.yaml`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, cancel := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer cancel()
			log := slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), nil))
			return runRouter(ctx, log, cmd.OutOrStdout(), cmd.ErrOrStderr(), file, duration, run.Options{Pin: pin})
		},
	}
	f := cmd.Flags()
	f.StringVarP(&file, "config", "c", "", "the config file (YAML)")
	f.DurationVar(&duration, "duration", 0, "stop by itself after this long (e.g. 10s); 0 = until SIGINT/SIGTERM")
	f.BoolVar(&pin, "pin", false, "pin worker i to the i-th CPU softnet may use (see taskset)")
	_ = cmd.MarkFlagRequired("config")
	return cmd
}

// runRouter runs the router of file until ctx is done (or, if d > 0, for d
// after it started), then stops it and prints its counters to out.
func runRouter(ctx context.Context, log *slog.Logger, out, errw io.Writer, file string, d time.Duration, o run.Options) error {
	if ctx.Err() != nil {
		return nil
	}
	t0 := time.Now()
	// The same checks as softnet check, route files loaded once.
	cfg, tables, err := config.Check(file)
	if err != nil {
		return reportConfig(errw, file, err)
	}
	o.Logger, o.Tables = log, tables
	r, err := run.Start(cfg, o)
	if err != nil {
		return reportConfig(errw, file, err)
	}
	log.Info("softnet started", "config", file, "interfaces", len(cfg.Interfaces),
		"routes", r.Routes(), "fib", r.Control().Routes(), "workers", r.Workers(),
		"setup", time.Since(t0).Round(time.Millisecond))
	prev := r.Status()
	for i, st := range prev {
		ic := cfg.Interfaces[cfg.Interface(st.Name)] // Status lists the ports only
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
			"addresses", fmt.Sprint(ic.Addresses), "queues", st.Queues, "up", st.Up)
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
		attrs = append(attrs, "mtu", v.MTU, "addresses", fmt.Sprint(cfg.Interfaces[cfg.Interface(v.Name)].Addresses), "up", v.Up)
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
		case <-tick.C:
			cur := r.Status()
			logChanges(log, prev, cur)
			prev = cur
		}
	}
	log.Info("stopping", "reason", why)
	// Kernel drops are read before the ports close (a closed socket has
	// no statistics); the workers' counters are final after Stop.
	before := r.Status()
	stopErr := r.Stop()
	final := r.Status()
	for i := range final {
		final[i].KernelDrops = max(final[i].KernelDrops, before[i].KernelDrops)
	}
	printCounters(out, final, r.Counters())
	if stopErr != nil {
		return fmt.Errorf("stopping: %w", stopErr)
	}
	return nil
}

// logChanges logs what changed between two readings of the interfaces:
// link down or up, a new I/O error, a pcap replay that ended.
func logChanges(log *slog.Logger, prev, cur []run.IfaceStatus) {
	for i, c := range cur {
		p := prev[i]
		switch {
		case p.Up && !c.Up:
			log.Warn("interface down", "name", c.Name, "device", c.Device, "last_error", c.LastError, "kernel_drops", c.KernelDrops)
		case !p.Up && c.Up:
			log.Info("interface up", "name", c.Name, "device", c.Device, "kernel_drops", c.KernelDrops)
		case c.LastError != "" && c.LastError != p.LastError:
			log.Warn("interface error", "name", c.Name, "error", c.LastError)
		}
		if grown(p.PortDrops, c.PortDrops) {
			log.Warn("port drops", "name", c.Name, "counts", c.PortDrops)
		}
		if c.KernelDrops > p.KernelDrops {
			log.Warn("kernel drops", "name", c.Name, "new", c.KernelDrops-p.KernelDrops, "total", c.KernelDrops)
		}
		if c.Done && !p.Done && c.Backend == config.PCAP {
			log.Info("pcap replay done", "name", c.Name, "rx_packets", c.RxPackets)
		}
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

// printCounters prints the final counters: per interface, then drops by
// stage/reason.
func printCounters(w io.Writer, st []run.IfaceStatus, c dp.Counters) {
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
	if c.TotalDrops() == 0 {
		fmt.Fprintln(w, "drops: none")
	} else {
		fmt.Fprintln(w, "drops:")
		for r := dp.Reason(0); r < dp.NumReasons; r++ {
			if n := c.Drops[r]; n > 0 {
				fmt.Fprintf(w, "  %-40s %d\n", r.String(), n)
			}
		}
	}
	var icmp []string
	for k, n := range c.ICMPErrors {
		if n > 0 {
			icmp = append(icmp, fmt.Sprintf("%s %d", dp.ICMPErrorNames[k], n))
		}
	}
	if len(icmp) > 0 {
		fmt.Fprintf(w, "icmp errors sent: %v\n", icmp)
	}
	if c.ICMPEchoReplies > 0 {
		fmt.Fprintf(w, "icmp echo replies: %d\n", c.ICMPEchoReplies)
	}
	fmt.Fprintf(w, "polls: %d busy %d livelocks %d spread %d\n", c.Polls, c.BusyPolls, c.Livelocks, c.Spread)
}
