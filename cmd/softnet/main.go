// Command softnet is the softnet router's one binary: subcommands, flags
// and wiring only; the logic lives in the packages.
package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"
)

func main() {
	if err := newRoot().Execute(); err != nil {
		fmt.Fprintln(os.Stderr, "softnet:", err)
		os.Exit(1)
	}
}

// newRoot returns the softnet command with every subcommand.
func newRoot() *cobra.Command {
	root := &cobra.Command{
		Use:           "softnet",
		Short:         "softnet: a multi-core software router in Go",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.AddCommand(benchCmd())
	root.AddCommand(labCmd())
	root.AddCommand(runCmd())
	root.AddCommand(checkCmd())
	root.AddCommand(showCmd())
	root.AddCommand(routeCmd())
	root.AddCommand(neighborCmd())
	root.AddCommand(reloadCmd())
	root.AddCommand(traceCmd())
	root.AddCommand(vlanCmd())
	return root
}
