package main

import (
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/softnet/softnet/lab"
)

func labCmd() *cobra.Command {
	var (
		duration time.Duration
		keep     bool
		kernel   bool
		offOff   bool
		workers  int
		udpRate  string
		asJSON   bool
		backend  string
	)
	cmd := &cobra.Command{
		Use:   "lab",
		Short: "Forward real traffic through softnet between two network namespaces (root)",
		Long: `lab builds three network namespaces joined by veth pairs,

  host A (a0 10.11.1.2/24) ── ra [softnet] rb ── (b0 10.11.2.2/24) host B

starts this binary as "softnet run" in the middle one on two interfaces
(backend afxdp when the kernel allows, else afpacket; --backend picks one,
and the run says which it used), and proves that real traffic crosses it: ping A → B and B → A,
a TTL-1 probe that softnet must answer with ICMP Time Exceeded, iperf3 TCP
and UDP from A to B, and a trafgen 64-byte UDP flood from A counted on B.
On afpacket the veths keep the kernel's default offloads, as hosts do (TSO,
GSO and tx-checksumming on: softnet splits the hosts' TCP super-packets and
finishes their partial checksums, like Linux); --offloads-off turns them off
on all four veths, so every frame is MTU-sized with its checksums complete.
On afxdp they are always off: an AF_XDP frame carries no checksum-offload or
GSO metadata. --backend afxdp fails, with softnet's reason, where softnet
cannot attach AF_XDP; with no --backend the lab falls back to afpacket.
It prints a summary and removes everything it made, also on Ctrl-C or
failure (--keep leaves the namespaces for debugging).

Needs root and iproute2, iputils-ping, iperf3, netsniff-ng (trafgen),
ethtool (scripts/deps.sh installs them).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			bin, err := os.Executable()
			if err != nil {
				return err
			}
			o := lab.Options{Binary: bin, Duration: duration, Workers: workers, Kernel: kernel, Keep: keep, UDPRate: udpRate, OffloadsOff: offOff, Backend: backend, Log: os.Stderr}
			s, err := lab.Run(ctx, o)
			if err != nil {
				if ctx.Err() != nil {
					return fmt.Errorf("interrupted; the lab was removed")
				}
				return err
			}
			out := cmd.OutOrStdout()
			if asJSON {
				return jsonEncoder(out).Encode(s)
			}
			fmt.Fprintln(out)
			s.Print(out)
			return nil
		},
	}
	f := cmd.Flags()
	f.DurationVar(&duration, "duration", 3*time.Second, "length of each iperf3 run and of the flood")
	f.BoolVar(&keep, "keep", false, "leave the namespaces in place at the end (for debugging)")
	f.BoolVar(&kernel, "kernel", false, "let Linux forward in the router namespace instead of softnet")
	f.IntVar(&workers, "workers", 1, "softnet workers")
	f.BoolVar(&offOff, "offloads-off", false, "turn TSO, GSO, GRO, LRO and checksum offloads off on the veths (default: the kernel's, on)")
	f.StringVar(&udpRate, "udp-rate", "500M", "iperf3 UDP target rate (bit/s, with K/M/G)")
	f.BoolVar(&asJSON, "json", false, "print the summary as one JSON object")
	f.StringVar(&backend, "backend", "", "softnet's backend on the router's veths: afxdp or afpacket (default: afxdp when the kernel allows, else afpacket)")
	return cmd
}
