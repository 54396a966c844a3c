package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/softnet/softnet/api"
)

func vlanCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "vlan",
		Short: "Create or delete a VLAN sub-interface in a running router",
		Long: `vlan creates or deletes a VLAN sub-interface (802.1Q, or QinQ with an outer
tag) of the running router through its API; each change is published to the
workers in one snapshot, and nothing is half-applied. A new sub-interface is a
full L3 interface at once: its addresses, connected routes, ARP and counters.
Deleting one removes its addresses, routes and neighbours; it is refused while
configured routes go through one of its neighbours (delete those first) and
for bridge members.

It does not edit the config file: a reload keeps the sub-interfaces added (or
deleted) here as they are. softnet show vlans lists them.`,
		Example: `  softnet vlan add v100 --parent eth0 --vlan 100 --address 10.0.100.1/24
  softnet vlan add c7 --parent eth0 --outer-vlan 20 --vlan 7 --tpid 0x88a8
  softnet vlan del v100`,
	}
	client := apiFlag(cmd, defaultWait)
	var req api.VLANRequest
	add := &cobra.Command{
		Use:   "add NAME --parent IFACE --vlan VID [--outer-vlan VID --tpid 0x88a8] [--address A/N]... [--mtu N] [--down]",
		Short: "Create a VLAN sub-interface",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			req.Name = args[0]
			if req.Parent == "" || req.VLAN == 0 {
				return fmt.Errorf("vlan add %s: give --parent (the port's interface) and --vlan (1..4094)", args[0])
			}
			ctx, cancel := callCtx(cmd)
			defer cancel()
			if err := client().AddVLAN(ctx, req); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "vlan %s added on %s\n", req.Name, req.Parent)
			return nil
		},
	}
	f := add.Flags()
	f.StringVar(&req.Parent, "parent", "", "the port interface the VLAN is on")
	f.IntVar(&req.VLAN, "vlan", 0, "the 802.1Q VLAN ID (the inner one for QinQ), 1..4094")
	f.IntVar(&req.OuterVLAN, "outer-vlan", 0, "QinQ: the outer (service) VLAN ID")
	f.StringVar(&req.TPID, "tpid", "", "QinQ: the outer tag's TPID, 0x88a8 (default), 0x8100 or 0x9100")
	f.StringSliceVar(&req.Addresses, "address", nil, "an IPv4 or IPv6 address with its prefix length, e.g. 10.0.100.1/24 or 2001:db8:100::1/64 (repeat for more)")
	f.IntVar(&req.MTU, "mtu", 0, "IPv4 MTU (default and maximum: the parent's less the tag bytes)")
	f.BoolVar(&req.Down, "down", false, "create it administratively down")
	cmd.AddCommand(add)
	cmd.AddCommand(&cobra.Command{
		Use:     "del NAME",
		Short:   "Delete a VLAN sub-interface",
		Example: "  softnet vlan del v100",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, cancel := callCtx(cmd)
			defer cancel()
			if err := client().DeleteVLAN(ctx, args[0]); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "vlan %s deleted\n", args[0])
			return nil
		},
	})
	return cmd
}
