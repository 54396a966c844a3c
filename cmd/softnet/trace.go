package main

import (
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/spf13/cobra"

	"github.com/softnet/softnet/api"
	"github.com/softnet/softnet/dp"
	"github.com/softnet/softnet/dp/tracefmt"
)

func traceCmd() *cobra.Command {
	var (
		timeout time.Duration
		client  func() *api.Client
		asJSON  *bool
	)
	cmd := &cobra.Command{
		Use:   "trace N",
		Short: "Follow the next N packets through a running router's graph",
		Long: `trace asks the running router (over its API socket, --api) to follow the
next N packets its workers receive (1 to 10000) through the packet graph, as
VPP's packet trace does, and prints each one: where it came in, its headers
on the way in and out, every stage it took with what that stage decided, and
its fate — sent on an interface, dropped (stage/reason and why), punted to
the control plane (ARP), answered by the router, replaced by an ICMP error,
or fragmented.

It waits up to --timeout for the packets; if fewer arrive, it prints those
and says so ("trace: 3 of 5 packets seen in 10s (timeout)", exit status 1).
A router that has not answered 5s after --timeout (stopped, or busy loading
a table) fails the trace with a message saying so (exit status 1). Packets the control plane injects back after ARP resolution,
and fragments the router makes, are not traced. One trace runs at a time.
A trace costs the workers nothing until it is armed.`,
		Example: "  softnet trace 5\n  softnet trace 100 --timeout 1m --json",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			n, err := strconv.Atoi(args[0])
			if err != nil || n < 1 || n > dp.MaxTrace {
				return fmt.Errorf("trace %q: give the number of packets to follow, 1 to %d", args[0], dp.MaxTrace)
			}
			if timeout <= 0 {
				return fmt.Errorf("--timeout %v: give a positive duration such as 10s", timeout)
			}
			if timeout > 5*time.Minute {
				return fmt.Errorf("--timeout %v: at most 5m", timeout)
			}
			// The router ends the trace at the timeout and answers: one
			// that has not answered answerGrace after it is stopped or
			// busy, and the CLI says so rather than waiting on.
			c := client()
			c.By = time.Now().Add(timeout + answerGrace)
			res, err := c.Trace(cmd.Context(), n, timeout)
			var na *api.NoAnswerError
			if errors.As(err, &na) {
				return fmt.Errorf("trace: %v", na)
			}
			if err != nil {
				return err
			}
			if *asJSON {
				return printJSON(cmd.OutOrStdout(), res)
			}
			if err := tracefmt.WriteTrace(cmd.OutOrStdout(), res.Packets); err != nil {
				return err
			}
			if !res.Complete {
				// "trace: 3 of 5 packets seen in 10s (timeout)", after the 3.
				return fmt.Errorf("trace: %s", res.Error)
			}
			return nil
		},
	}
	cmd.Flags().DurationVar(&timeout, "timeout", 10*time.Second, "how long to wait for the packets (at most 5m)")
	client = apiFlag(cmd, 0)
	asJSON = jsonFlag(cmd)
	return cmd
}
