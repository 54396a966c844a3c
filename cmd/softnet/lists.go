package main

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"
)

// listEditCmds returns the add and del subcommands of named address lists
// (softnet blocklist, softnet table): each sends NAME and its addresses
// or prefixes to do with op "add" or "del", and prints what says of the
// list after it: kind, e.g. "blocklist", names the lists in the help.
func listEditCmds(kind string, do func(ctx context.Context, op, name string, entries []string) (say string, err error)) []*cobra.Command {
	edit := func(op, short string) *cobra.Command {
		return &cobra.Command{
			Use:   op + " NAME ADDRESS|PREFIX...",
			Short: short,
			Args:  cobra.MinimumNArgs(2),
			RunE: func(cmd *cobra.Command, args []string) error {
				ctx, cancel := callCtx(cmd)
				defer cancel()
				say, err := do(ctx, op, args[0], args[1:])
				if err != nil {
					return err
				}
				fmt.Fprintln(cmd.OutOrStdout(), say)
				return nil
			},
		}
	}
	return []*cobra.Command{
		edit("add", "Add addresses or prefixes to a "+kind),
		edit("del", "Delete addresses or prefixes from a "+kind),
	}
}

// listShowArgs reads show's [NAME] and --entries N (its value entries):
// the name ("" for all) and how many entries to list (-1: none, 0: all).
// --entries needs a NAME (of a what); example is the command to suggest,
// with NAME.
func listShowArgs(cmd *cobra.Command, args []string, entries int, what, example string) (name string, n int, err error) {
	if len(args) == 1 {
		name = args[0]
	}
	n = -1
	if cmd.Flags().Changed("entries") {
		if name == "" {
			return "", 0, fmt.Errorf("--entries needs a %s NAME: %s --entries %d", what, example, entries)
		}
		if entries < 0 {
			return "", 0, fmt.Errorf("--entries %d: give how many entries to list, at most (0: all)", entries)
		}
		n = entries
	}
	return name, n, nil
}
