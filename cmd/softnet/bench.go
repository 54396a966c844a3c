package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/pprof"
	"sort"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/softnet/softnet/bench"
)

func benchCmd() *cobra.Command {
	var (
		scenario   string
		duration   time.Duration
		size       int
		asJSON     bool
		cpuprofile string
	)
	cmd := &cobra.Command{
		Use:   "bench",
		Short: "Measure the forwarding pipeline on in-memory ports",
		Long: `bench runs a forwarding scenario on in-memory ports and prints what it measured.

The default scenario, ip4-forward, forwards 64-byte IPv4/UDP frames from a
generator port to a sink port through the full Internet IPv4 table
(901,899 prefixes, embedded), 16 next hops, random destinations drawn from
the table, one worker. The figures: packets forwarded, Mpps, ns per packet,
heap allocations per packet (0 is the goal), drops by stage/reason, and the
time per stage (sampled on 1 poll in 16).

The same workload through gVisor's netstack: cd bench/peers && go run . --json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if cpuprofile != "" {
				f, err := os.Create(cpuprofile)
				if err != nil {
					return fmt.Errorf("--cpuprofile: %w", err)
				}
				defer f.Close()
				if err := pprof.StartCPUProfile(f); err != nil {
					return fmt.Errorf("--cpuprofile: %w", err)
				}
				defer pprof.StopCPUProfile()
			}
			var prog io.Writer
			if fi, err := os.Stderr.Stat(); err == nil && fi.Mode()&os.ModeCharDevice != 0 {
				prog = os.Stderr
			}
			if scenario == "veth" {
				ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
				defer stop()
				vr, err := bench.RunVeth(ctx, bench.VethOptions{Binary: bench.VethBinary(), Duration: duration, PacketSize: size, Progress: prog})
				if err != nil {
					return err
				}
				if asJSON {
					return json.NewEncoder(cmd.OutOrStdout()).Encode(vr)
				}
				vr.Print(cmd.OutOrStdout())
				return nil
			}
			res, err := bench.Run(bench.Options{Scenario: scenario, Duration: duration, PacketSize: size, Progress: prog})
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			if asJSON {
				enc := json.NewEncoder(out)
				return enc.Encode(res)
			}
			printResult(out, res)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&scenario, "scenario", "ip4-forward", "scenario to run: ip4-forward (in-memory ports), veth (Linux vs softnet between network namespaces; root)")
	f.DurationVar(&duration, "duration", 5*time.Second, "how long to measure")
	f.IntVar(&size, "size", 64, "frame size in bytes, without FCS (42..1514)")
	f.BoolVar(&asJSON, "json", false, "print one JSON object instead of tables")
	f.StringVar(&cpuprofile, "cpuprofile", "", "write a CPU profile of the run to this file")
	return cmd
}

func printResult(w io.Writer, r *bench.Result) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "scenario\t%s\n", r.Scenario)
	fmt.Fprintf(tw, "workers\t%d\n", r.Workers)
	fmt.Fprintf(tw, "packet size\t%d bytes\n", r.PacketSize)
	fmt.Fprintf(tw, "routes\t%d\n", r.Routes)
	fmt.Fprintf(tw, "duration\t%.2f s\n", r.DurationS)
	fmt.Fprintf(tw, "forwarded\t%d packets\n", r.Packets)
	fmt.Fprintf(tw, "rate\t%.2f Mpps\n", r.Mpps)
	fmt.Fprintf(tw, "cost\t%.1f ns/packet\n", r.NsPerPacket)
	fmt.Fprintf(tw, "allocations\t%.3g per packet on the data path (%.3g in the whole process)\n", r.AllocsPerPacket, r.ProcessAllocsPerPacket)
	tw.Flush()
	fmt.Fprintln(w)
	if len(r.Drops) == 0 {
		fmt.Fprintln(w, "drops: none")
	} else {
		fmt.Fprintln(w, "drops:")
		names := make([]string, 0, len(r.Drops))
		for n := range r.Drops {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, n := range names {
			fmt.Fprintf(w, "  %-40s %d\n", n, r.Drops[n])
		}
	}
	fmt.Fprintln(w)
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "stage\tcalls\tpackets\tpkts/call\tns/pkt\t")
	for _, s := range r.Stages {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%.1f\t%.2f\t\n", s.Name, s.Calls, s.Packets, s.PacketsPerCall, s.NsPerPacket)
	}
	tw.Flush()
}
