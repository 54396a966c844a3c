package main

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/softnet/softnet/api"
)

func tableCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "table",
		Short: "Change or show the stateful filter's named tables on a running router",
		Long: `table changes and shows the named tables of the stateful filter: the <NAME>s its
rules match addresses against, defined under filter.tables in the config
(addresses, prefixes, files). An add or del builds a new table, compiles the
rules over it and swaps them in atomically: the workers never wait, the states
and the rules' counters stay, and flows already passed keep passing (their
state decides, not the rules). Like pfctl -t NAME -T add, a change lasts until
softnet reload, which loads the tables from the config again. A prefix with
host bits set (10.1.2.3/8) is refused with the masked form to write (a table's
file takes such lines masked: softnet check and reload say how many).`,
		Example: `  softnet table add lan 10.0.3.0/24 2001:db8:3::/48
  softnet table del lan 10.0.3.0/24
  softnet table show
  softnet table show lan --entries 20`,
	}
	client := apiFlag(cmd, longWait)
	cmd.AddCommand(listEditCmds("filter table", func(ctx context.Context, op, name string, entries []string) (string, error) {
		t, err := client().EditFilterTable(ctx, api.FilterTableEdit{Name: name, Op: op, Entries: entries})
		if err != nil {
			return "", err
		}
		return fmt.Sprintf("table <%s>: %d entries", t.Name, t.Entries), nil
	})...)
	var entries int
	show := &cobra.Command{
		Use:   "show [NAME] [--entries N]",
		Short: "Show the filter's tables and their sizes (with NAME and --entries, its entries)",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			name, n, err := listShowArgs(cmd, args, entries, "table", "softnet table show NAME")
			if err != nil {
				return err
			}
			ctx, cancel := callCtx(cmd)
			defer cancel()
			ts, err := client().FilterTables(ctx, name, n)
			if err != nil {
				return err
			}
			w := cmd.OutOrStdout()
			if len(ts) == 0 {
				fmt.Fprintln(w, "no filter tables (define them under filter.tables in the config)")
				return nil
			}
			fmt.Fprintf(w, "%-16s %10s %9s %9s %10s  %s\n", "NAME", "ENTRIES", "IPV4", "IPV6", "BYTES", "FILE")
			for _, t := range ts {
				fmt.Fprintf(w, "%-16s %10d %9d %9d %10d  %s\n", t.Name, t.Entries, t.IPv4, t.IPv6, t.Bytes, t.File)
				for _, e := range t.List {
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
