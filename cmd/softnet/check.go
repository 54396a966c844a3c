package main

import (
	"errors"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/softnet/softnet/config"
)

func checkCmd() *cobra.Command {
	var file string
	cmd := &cobra.Command{
		Use:   "check -c FILE",
		Short: "Validate a router config without running it",
		Long: `check reads a config as softnet run would and reports every problem it finds:
YAML syntax, unknown or duplicate fields, bad addresses, prefixes and MACs,
next hops that are not another host on a connected subnet, routes (also in
route files) to the router's own prefixes or with host bits set, neighbours
on unknown interfaces or off their subnets, and what the host must provide
(afpacket devices with an MTU at least the config's, pcap files to replay
(their file headers),
route files, which it also reads, the api group). These are the checks
softnet run, reload and the control API apply. Each error names the file,
line and column and the field, and says what to do:

  bad.yaml:15:9: interfaces[1].addresses[0]: "10.0.2.300/24" is not an IPv4 prefix (write it as A.B.C.D/N, e.g. 192.0.2.1/24)

On success it prints "FILE: ok (...)" with what the config holds and exits 0;
otherwise it prints every error (up to 20) on stderr and exits 1.
The format is in examples/*.yaml and go doc github.com/softnet/softnet/config.`,
		Example: "  softnet check -c examples/veth-router.yaml",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, tables, err := config.Check(file)
			if err != nil {
				return reportConfig(cmd.ErrOrStderr(), file, err)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s: ok (%s)\n", file, cfg.Summary(tables))
			for _, n := range cfg.Notes() {
				fmt.Fprintf(cmd.OutOrStdout(), "%s: note: %s\n", file, n)
			}
			return nil
		},
	}
	cmd.Flags().StringVarP(&file, "config", "c", "", "the config file (YAML)")
	_ = cmd.MarkFlagRequired("config")
	return cmd
}

// reportConfig prints each config error on its own line and returns a
// one-line error for main to print last (and exit 1).
func reportConfig(w io.Writer, file string, err error) error {
	var es config.Errors
	if !errors.As(err, &es) {
		return err
	}
	for _, e := range es {
		fmt.Fprintln(w, e)
	}
	if len(es) == 1 {
		return fmt.Errorf("%s: 1 error", file)
	}
	return fmt.Errorf("%s: %d errors", file, len(es))
}
