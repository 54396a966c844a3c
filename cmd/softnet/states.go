package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/softnet/softnet/api"
)

func statesCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "states",
		Short: "Flush the stateful filter's states of a running router",
		Long: `states flush removes states from every worker's state table: all of them, or
those that match the filter words (an address of either side, a port of either
side, a protocol; each at most once). A flow whose state is gone must pass the rules again: a TCP
connection's next segment (not a SYN) is then dropped under a default block
(ip4-filter/no-state). softnet show states lists them; softnet show rules
counts them.`,
		Example: `  softnet states flush
  softnet states flush 10.0.1.2
  softnet states flush 53 udp`,
	}
	client := apiFlag(cmd, defaultWait)
	cmd.AddCommand(&cobra.Command{
		Use:   "flush [ADDRESS] [PORT] [tcp|udp|icmp|ipv6-icmp]",
		Short: "Remove states (all, or those matching the words)",
		Args:  cobra.MaximumNArgs(3),
		RunE: func(cmd *cobra.Command, args []string) error {
			q, err := api.ParseStateQuery(args)
			if err != nil {
				return err
			}
			ctx, cancel := callCtx(cmd)
			defer cancel()
			r, err := client().FlushStates(ctx, q)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "flushed %d states\n", r.Flushed)
			return nil
		},
	})
	return cmd
}
