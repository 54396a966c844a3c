package main

import (
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
softnet reload, which loads the tables from the config again.`,
		Example: `  softnet table add lan 10.0.3.0/24 2001:db8:3::/48
  softnet table del lan 10.0.3.0/24
  softnet table show
  softnet table show lan --entries 20`,
	}
	client := apiFlag(cmd)
	edit := func(op, short string) *cobra.Command {
		return &cobra.Command{
			Use:   op + " NAME ADDRESS|PREFIX...",
			Short: short,
			Args:  cobra.MinimumNArgs(2),
			RunE: func(cmd *cobra.Command, args []string) error {
				ctx, cancel := callCtx(cmd)
				defer cancel()
				t, err := client().EditFilterTable(ctx, api.FilterTableEdit{Name: args[0], Op: op, Entries: args[1:]})
				if err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "table <%s>: %d entries\n", t.Name, t.Entries)
				return nil
			},
		}
	}
	cmd.AddCommand(edit("add", "Add addresses or prefixes to a filter table"))
	cmd.AddCommand(edit("del", "Delete addresses or prefixes from a filter table"))
	var entries int
	show := &cobra.Command{
		Use:   "show [NAME] [--entries N]",
		Short: "Show the filter's tables and their sizes (with NAME and --entries, its entries)",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			name := ""
			if len(args) == 1 {
				name = args[0]
			}
			n := -1
			if cmd.Flags().Changed("entries") {
				if name == "" {
					return fmt.Errorf("--entries needs a table NAME: softnet table show NAME --entries %d", entries)
				}
				n = entries
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
