package main

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/softnet/softnet/api"
	"github.com/softnet/softnet/config"
)

func configCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "config",
		Short: "Write a running router's state back to a config file",
	}
	var client func() *api.Client
	save := &cobra.Command{
		Use:   "save FILE|-",
		Short: "Save the running state (routes, neighbours, interfaces, VLANs, bridges, blocklists) as a config file",
		Long: `config save asks the running router (over its API socket, --api) for its
running state as a config file and writes it to FILE (replacing it at once:
a temporary file renamed over it), or to stdout with "-". It is the config
the router runs with the changes made at run time: routes and static
neighbours added or deleted with softnet route and softnet neighbor, VLAN
sub-interfaces added or deleted with softnet vlan, blocklists loaded with
softnet blocklist load (file, match and interfaces; entries added or
deleted at run time are not written: the file is), and the interfaces'
addresses and admin state as they are now. softnet check accepts it, and
softnet run -c FILE starts the same router; softnet reload -c FILE keeps
the run-time routes and neighbours (unless VLANs were added or deleted at
run time: that needs a restart with the saved file).

Route files stay route files, written with absolute paths (as are pcap
rx and tx). A route of a route file that was deleted or given another next
hop at run time cannot be said that way: it is printed as a warning on
stderr. IPv6 routes are written in routes like IPv4 ones. If FILE cannot be written
in full, it is left as it was.`,
		Example: "  softnet config save /etc/softnet/router.yaml\n  softnet config save - > running.yaml",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, cancel := callCtx(cmd)
			defer cancel()
			res, err := client().RunningConfig(ctx)
			if err != nil {
				return err
			}
			for _, w := range res.Warnings {
				fmt.Fprintf(cmd.ErrOrStderr(), "warning: %s\n", w)
			}
			if args[0] == "-" {
				_, err := fmt.Fprint(cmd.OutOrStdout(), res.YAML)
				return err
			}
			file := args[0]
			// Parse it as softnet check does before replacing anything.
			cfg, err := config.Parse(file, []byte(res.YAML))
			if err != nil {
				return fmt.Errorf("the router's running config does not parse (a bug: please report it); %s not written: %w", file, err)
			}
			if err := writeAtomic(file, []byte(res.YAML)); err != nil {
				return fmt.Errorf("cannot save the running config: %w", err)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s: saved (%d interfaces, %d routes, %d route files, %d neighbors)\n",
				file, len(cfg.Interfaces), len(cfg.Routes), len(cfg.RouteFiles), len(cfg.Neighbors))
			return nil
		},
	}
	client = apiFlag(save, longWait)
	cmd.AddCommand(save)
	return cmd
}

// writeAtomic replaces file with data: a temporary file in its directory,
// synced and renamed over it, so that a reader (or a crash) never sees half
// a config. If writing or syncing fails, file is left as it was.
func writeAtomic(file string, data []byte) error {
	f, err := createTemp(filepath.Dir(file), "."+filepath.Base(file)+".*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name()) // after the rename: nothing
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(f.Name(), 0o644)
	}
	if err != nil {
		return fmt.Errorf("writing %s (left as it was): %w", file, err)
	}
	return os.Rename(f.Name(), file)
}

// tempFile is what writeAtomic needs of its temporary file.
type tempFile interface {
	Name() string
	Write([]byte) (int, error)
	Sync() error
	Close() error
}

// createTemp creates writeAtomic's temporary file (a test replaces it to
// make writes fail).
var createTemp = func(dir, pattern string) (tempFile, error) { return os.CreateTemp(dir, pattern) }
