// Command softnet is the softnet router's one binary: subcommands, flags
// and wiring only; the logic lives in the packages.
package main

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/softnet/softnet/api"
)

func main() {
	root := newRoot()
	// cobra adds its completion command when it executes; made here so
	// that `softnet completion tcsh` fails like any unknown subcommand.
	// (Not in newRoot: the command captures its output writer when made,
	// and tests redirect that after newRoot.)
	root.InitDefaultCompletionCmd()
	for _, c := range root.Commands() {
		if c.Name() == "completion" {
			groupArgs(c)
		}
	}
	if len(os.Args) > 1 && strings.TrimSpace(os.Args[1]) == "" {
		// cobra takes softnet "" for softnet alone (the help, exit 0).
		fmt.Fprintln(os.Stderr, `softnet: unknown command "": softnet --help lists the commands`)
		os.Exit(1)
	}
	if err := root.Execute(); err != nil {
		fmt.Fprintln(os.Stderr, "softnet:", errorText(err))
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
	root.AddCommand(configCmd())
	root.AddCommand(traceCmd())
	root.AddCommand(captureCmd())
	root.AddCommand(vlanCmd())
	root.AddCommand(blocklistCmd())
	root.AddCommand(tableCmd())
	root.AddCommand(statesCmd())
	for _, c := range root.Commands() {
		noEmptyArgs(c)
		groupArgs(c)
	}
	// softnet help NOPE fails (exit 1); cobra's help prints the help and
	// exits 0.
	root.SetHelpCommand(&cobra.Command{
		Use:   "help [command]",
		Short: "Help about any command",
		RunE: func(cmd *cobra.Command, args []string) error {
			c, rest, err := root.Find(args)
			if err != nil || c == nil || len(rest) > 0 {
				return fmt.Errorf("no help topic %q: softnet --help lists the commands", strings.Join(args, " "))
			}
			return c.Help()
		},
	})
	return root
}

// noEmptyArgs makes every command under c refuse an empty argument
// (softnet blocklist load NAME "" would read the current directory,
// softnet vlan del "" ask the API for no VLAN), naming the argument from
// the command's usage. capture's EXPRESSION may be empty, as tcpdump's.
func noEmptyArgs(c *cobra.Command) {
	for _, sub := range c.Commands() {
		noEmptyArgs(sub)
	}
	if !c.Runnable() || c.Name() == "capture" {
		return
	}
	orig := c.Args
	c.Args = func(cmd *cobra.Command, args []string) error {
		for i, a := range args {
			if strings.TrimSpace(a) != "" {
				continue
			}
			what := fmt.Sprintf("argument %d", i+1)
			if f := strings.Fields(cmd.Use); i+1 < len(f) && !strings.HasPrefix(f[i+1], "[") {
				what += " (" + f[i+1] + ")"
			}
			return fmt.Errorf("%s: %s is empty: give it a value (%s --help)", strings.TrimPrefix(cmd.CommandPath(), "softnet "), what, cmd.CommandPath())
		}
		if orig != nil {
			return orig(cmd, args)
		}
		return nil
	}
}

// groupArgs makes every command group under c (a command with
// subcommands and nothing to run itself: show, route, vlan, ...) fail on
// an unknown subcommand, naming the valid ones; cobra would print the
// group's help and exit 0. A group given no argument prints its help.
func groupArgs(c *cobra.Command) {
	for _, sub := range c.Commands() {
		groupArgs(sub)
	}
	if !c.HasSubCommands() || c.Runnable() {
		return
	}
	c.Args = cobra.ArbitraryArgs
	c.RunE = func(cmd *cobra.Command, args []string) error {
		if len(args) == 0 {
			return cmd.Help()
		}
		var names []string
		for _, s := range cmd.Commands() {
			if s.IsAvailableCommand() {
				names = append(names, s.Name())
			}
		}
		return fmt.Errorf("unknown command %q for %q: give one of %s (softnet %s --help lists them)",
			args[0], cmd.CommandPath(), strings.Join(names, ", "), strings.TrimPrefix(cmd.CommandPath(), "softnet "))
	}
}

// errorText is what softnet prints of err: a call that waited its --wait
// for the router says how to wait longer.
func errorText(err error) string {
	var na *api.NoAnswerError
	if errors.As(err, &na) && na.ByWait {
		return err.Error() + "; give --wait (such as --wait 5m, 0: no limit) to wait longer"
	}
	return err.Error()
}
