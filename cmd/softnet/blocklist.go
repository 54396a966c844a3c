package main

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/softnet/softnet/api"
	"github.com/softnet/softnet/dp/edrop/blocklist"
)

func blocklistCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "blocklist",
		Short: "Load, change or show the early-drop blocklists of a running router",
		Long: `blocklist loads, changes and shows the blocklists of the early-drop stage: the
first node a received frame reaches on the interfaces with a list, which drops
it if its IPv4 or IPv6 source (--match src, the default) or destination
(--match dst) address is in the list, before any other parsing (VLAN tags are
skipped). A list holds millions of addresses and prefixes (a list file has one
a line, '#' comments, plain or gzip; lines of at most 4096 bytes and at most
1 GiB of text once decompressed, else the load is refused and nothing
changes); a load, add or del builds a new table
and swaps it in atomically: the workers never wait and no packet of another
flow is lost. Each list counts its drops (softnet blocklist show; show errors
counts them all under early-drop/blocklisted).

A prefix with host bits set (10.1.2.3/8) is taken masked (10.0.0.0/8) from
a file, whose load then says how many lines were and quotes the first
(FILE:LINE); typed with add or del it is refused with the masked form to
write, as route add refuses it.

A list applies to the ports named with --interface (repeat it), or to every
port when none is named. The file is read by the router, on its host. A
list's NAME is 1..32 letters, digits, '-', '_' and '.', as in the config.`,
		Example: `  softnet blocklist load attackers /etc/softnet/attackers.txt.gz --interface eth0
  softnet blocklist load bogons-dst bogons.txt --match dst
  softnet blocklist add attackers 192.0.2.7 2001:db8:bad::/48
  softnet blocklist del attackers 192.0.2.7
  softnet blocklist show
  softnet blocklist show attackers --entries 20`,
	}
	client := apiFlag(cmd, longWait)
	var req api.BlocklistLoad
	load := &cobra.Command{
		Use:   "load NAME FILE [--match src|dst] [--interface PORT]...",
		Short: "Load (or reload) a blocklist from a file",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			req.Name = args[0]
			file, err := filepath.Abs(args[1])
			if err != nil {
				return err
			}
			req.File = file
			ctx, cancel := callCtx(cmd)
			defer cancel()
			b, err := client().LoadBlocklist(ctx, req)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "blocklist %s: %d entries (%d IPv4, %d IPv6) loaded in %.2fs\n", b.Name, b.Entries, b.IPv4, b.IPv6, b.LoadS)
			if b.Masked > 0 {
				// The words of check, run and reload (blocklist.Entries.MaskedNote).
				note := blocklist.Entries{Masked: b.Masked, FirstMasked: b.FirstMasked}.MaskedNote()
				fmt.Fprintf(cmd.OutOrStdout(), "blocklist %s: %s\n", b.Name, note)
			}
			return nil
		},
	}
	load.Flags().StringVar(&req.Match, "match", "", "match the source (src, default) or destination (dst) address")
	load.Flags().StringSliceVar(&req.Interfaces, "interface", nil, "a port the list applies to (repeat; default every port)")
	cmd.AddCommand(load)
	cmd.AddCommand(listEditCmds("blocklist", func(ctx context.Context, op, name string, entries []string) (string, error) {
		b, err := client().EditBlocklist(ctx, api.BlocklistEdit{Name: name, Op: op, Entries: entries})
		if err != nil {
			return "", err
		}
		return fmt.Sprintf("blocklist %s: %d entries", b.Name, b.Entries), nil
	})...)
	var entries int
	show := &cobra.Command{
		Use:   "show [NAME] [--entries N]",
		Short: "Show the blocklists, their sizes and drops (with NAME and --entries, its entries)",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			name, n, err := listShowArgs(cmd, args, entries, "list", "softnet blocklist show NAME")
			if err != nil {
				return err
			}
			ctx, cancel := callCtx(cmd)
			defer cancel()
			bs, err := client().Blocklists(ctx, name, n)
			if err != nil {
				return err
			}
			w := cmd.OutOrStdout()
			if len(bs) == 0 {
				fmt.Fprintln(w, "no blocklists")
				return nil
			}
			fmt.Fprintf(w, "%-16s %-5s %10s %9s %9s %8s %12s  %s\n", "NAME", "MATCH", "ENTRIES", "IPV4", "IPV6", "MIB", "DROPS", "INTERFACES")
			for _, b := range bs {
				ifs := "all ports"
				if len(b.Interfaces) > 0 {
					ifs = strings.Join(b.Interfaces, ",")
				}
				fmt.Fprintf(w, "%-16s %-5s %10d %9d %9d %8d %12d  %s\n", b.Name, b.Match, b.Entries, b.IPv4, b.IPv6, b.Bytes>>20, b.Drops, ifs)
				for _, e := range b.List {
					fmt.Fprintf(w, "  %s\n", e)
				}
			}
			return nil
		},
	}
	show.Flags().IntVar(&entries, "entries", 0, "list the entries of NAME, at most N (0: all)")
	cmd.AddCommand(show)
	return cmd
}
