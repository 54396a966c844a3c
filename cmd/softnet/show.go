package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/softnet/softnet/api"
	"github.com/softnet/softnet/config"
)

// How long a command waits for the router (--wait; api.Client.Wait: for
// its answer to begin, then for each part of it). A stopped router (kill
// -STOP, a debugger) accepts the connection and never answers; a busy one
// answers late: the soaks (docs/faults.md) measured single answers of up
// to 15 s on a starved machine while a reload held the control plane's
// lock. The bound is twice that, so such answers still come, and a
// stopped router is reported in half a minute instead of hanging.
const defaultWait = 30 * time.Second

// longWait is --wait's default for the commands that load tables
// (reload, blocklist, table, config save): a reload of a full table took
// 9-15 s there, and a blocklist or filter table file may hold 1 GiB of
// text (millions of entries at a few million a second, far slower on a
// loaded machine). They are still bounded: a stopped router is reported.
const longWait = 10 * time.Minute

// answerGrace is how long trace and capture --timeout wait for the
// router's answer after their timeout: the router ends them at the
// timeout and answers at once.
const answerGrace = 5 * time.Second

// apiFlag adds --api to cmd and, with wait > 0, --wait (default wait),
// and returns a function that makes the client. With wait 0 (trace,
// capture) the command bounds its calls itself.
func apiFlag(cmd *cobra.Command, wait time.Duration) func() *api.Client {
	def := config.DefaultSocket
	if s := os.Getenv("SOFTNET_API"); s != "" {
		def = s
	}
	path := cmd.PersistentFlags().String("api", def, "the running router's API socket (or set SOFTNET_API)")
	w := new(time.Duration)
	if wait > 0 {
		w = cmd.PersistentFlags().Duration("wait", wait, "how long to wait for the router's answer, such as 1m (0: no limit)")
	}
	return func() *api.Client {
		c := api.NewClient(*path)
		c.Wait = max(*w, 0)
		return c
	}
}

// jsonFlag adds --json to cmd.
func jsonFlag(cmd *cobra.Command) *bool {
	return cmd.PersistentFlags().Bool("json", false, "print JSON (stable field names, docs/api.md) instead of a table")
}

// printJSON prints v as indented JSON (--json of show and trace).
func printJSON(w io.Writer, v any) error {
	enc := jsonEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// jsonEncoder is the encoder of every --json output: <, > and & are
// written as they are, not as \u003c and the like (no browser reads it).
func jsonEncoder(w io.Writer) *json.Encoder {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	return enc
}

// callCtx is the context of one CLI call. It has no deadline: the
// client's Wait (--wait) bounds how long the call waits for the router,
// and fails with a message that says so (api.NoAnswerError).
func callCtx(cmd *cobra.Command) (context.Context, context.CancelFunc) {
	return context.WithCancel(cmd.Context())
}

func table(w io.Writer) *tabwriter.Writer { return tabwriter.NewWriter(w, 0, 0, 2, ' ', 0) }

func showCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "show",
		Short: "Show a running router's interfaces, routes, neighbours, runtime, errors or captures",
		Long: `show asks the router that softnet run started (over its API socket, --api)
and prints what it sees now as a table, or JSON with --json.`,
		Example: `  softnet show interfaces
  softnet show routes 198.18.0.1
  softnet show runtime --json
  softnet show errors --api /tmp/softnet.sock`,
	}
	client := apiFlag(cmd, defaultWait)
	asJSON := jsonFlag(cmd)
	aliases := map[string][]string{"neighbors": {"neighbours"}, "interfaces": {"interface"}}
	sub := func(use, short, long, example string, args cobra.PositionalArgs, fn func(ctx context.Context, c *api.Client, w io.Writer, args []string) (any, func(), error)) {
		name, _, _ := strings.Cut(use, " ")
		cmd.AddCommand(&cobra.Command{
			Use: use, Aliases: aliases[name], Short: short, Long: long, Example: example, Args: args,
			RunE: func(cmd *cobra.Command, args []string) error {
				ctx, cancel := callCtx(cmd)
				defer cancel()
				v, human, err := fn(ctx, client(), cmd.OutOrStdout(), args)
				if err != nil {
					return err
				}
				if *asJSON {
					return printJSON(cmd.OutOrStdout(), v)
				}
				human()
				return nil
			},
		})
	}
	sub("interfaces", "Interfaces: state, MAC, MTU, addresses, packets, bytes, drops",
		`For each interface: admin and link state, MAC, MTU, addresses, packets and
bytes received and sent (counted by the workers), drops (what the port
itself dropped or failed to send) and ifq drops (what the kernel or the
receive ring dropped before softnet saw it). Below the table, per interface:
its port drops by kind, its port counters (work done on frames it passed on,
not drops: rx-csum-finished, rx-gso-split) and its last error.`,
		"  softnet show interfaces\n  softnet show interfaces --json", cobra.NoArgs,
		func(ctx context.Context, c *api.Client, w io.Writer, _ []string) (any, func(), error) {
			ifs, err := c.Interfaces(ctx)
			return ifs, func() {
				tw := table(w)
				fmt.Fprintln(tw, "NAME\tADMIN\tLINK\tMAC\tMTU\tADDRESSES\tRX PACKETS\tRX BYTES\tTX PACKETS\tTX BYTES\tDROPS\tIFQ DROPS")
				for _, i := range ifs {
					fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%s\t%d\t%d\t%d\t%d\t%d\t%d\n", i.Name, i.Admin, i.Link, i.MAC, i.MTU,
						orDash(strings.Join(i.Addresses, ",")), i.RxPackets, i.RxBytes, i.TxPackets, i.TxBytes, i.Drops, i.IfqDrops)
				}
				tw.Flush()
				for _, i := range ifs {
					if len(i.PortDrops) > 0 {
						var b strings.Builder
						for _, k := range slices.Sorted(maps.Keys(i.PortDrops)) {
							fmt.Fprintf(&b, " %s %d", k, i.PortDrops[k])
						}
						fmt.Fprintf(w, "%s drops:%s\n", i.Name, b.String())
					}
					if len(i.PortCounters) > 0 {
						var b strings.Builder
						for _, k := range slices.Sorted(maps.Keys(i.PortCounters)) {
							fmt.Fprintf(&b, " %s %d", k, i.PortCounters[k])
						}
						fmt.Fprintf(w, "%s port counters:%s\n", i.Name, b.String())
					}
					if i.LastError != "" {
						fmt.Fprintf(w, "%s last error: %s\n", i.Name, i.LastError)
					}
				}
			}, err
		})
	sub("routes [PREFIX|ADDRESS]", "Route counts by prefix length, or the longest match of an address",
		`Without an argument: how many routes the FIB holds, by prefix length (a full
table has ~900,000: they are not listed). With an address: the longest
prefix that holds it; with a prefix: that route, or the longest one that
holds all of it. Then its kind (forward, incomplete, connected, local,
broadcast, blackhole, unreachable, ecmp), the next hop and the interface, and
its origin: static (configured), local, connected, neighbor, or for a route
mirrored from Linux (linux_cp) its protocol (bgp, ospf, kernel, boot,
kernel-static...). An ecmp route lists its next hops with their weights and
whether each carries traffic (live).`,
		"  softnet show routes\n  softnet show routes 198.18.0.1\n  softnet show routes 8.8.8.0/24 --json", cobra.MaximumNArgs(1),
		func(ctx context.Context, c *api.Client, w io.Writer, args []string) (any, func(), error) {
			if len(args) == 1 {
				m, err := c.Route(ctx, args[0])
				return m, func() {
					if !m.Found {
						fmt.Fprintf(w, "%s: no route\n", m.Query)
						return
					}
					tw := table(w)
					fmt.Fprintln(tw, "PREFIX\tKIND\tVIA\tINTERFACE\tCONFIGURED\tORIGIN")
					fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", m.Prefix, m.Kind, orDash(m.Via), orDash(m.Interface), yesNo(m.Static), orDash(m.Origin))
					for _, h := range m.NextHops {
						live := "live"
						if !h.Live {
							live = "down"
						}
						fmt.Fprintf(tw, "  next hop\t%s\t%s\t%s\tweight %d\t\n", live, orDash(h.Via), h.Interface, h.Weight)
					}
					tw.Flush()
				}, err
			}
			s, err := c.RouteSummary(ctx)
			return s, func() {
				tw := table(w)
				fmt.Fprintln(tw, "LENGTH\tROUTES")
				for _, l := range s.ByLength {
					fmt.Fprintf(tw, "/%d\t%d\n", l.Length, l.Routes)
				}
				fmt.Fprintf(tw, "total\t%d\n", s.Total)
				if s.Total6 > 0 {
					for _, l := range s.ByLength6 {
						fmt.Fprintf(tw, "/%d (IPv6)\t%d\n", l.Length, l.Routes)
					}
					fmt.Fprintf(tw, "total IPv6\t%d\n", s.Total6)
				}
				tw.Flush()
				fmt.Fprintf(w, "%d configured (config, route files, route add); the rest are the router's own (local, connected, broadcast, neighbours)\n", s.Static)
			}, err
		})
	sub("linuxcp", "The linux_cp mirror of a Linux namespace's routes: routes, batches, resyncs",
		`The counters of the mirror of a Linux network namespace's routing tables
(the config's linux_cp): the routes mirrored now, the kernel routes the FIB
holds (installed) and those it does not (shadowed: the kernel's routes to
softnet's own prefixes, such as its connected subnets, or to a configured
route's), netlink notifications read, batches applied (one snapshot each),
ENOBUFS overflows and the full resyncs they caused, route changes applied
and refused (routes, neighbours, addresses), the kernel's neighbours and
addresses mirrored now, and the last error; then each host interface (linux_cp's
host_interfaces: the TAP through which the namespace's kernel speaks on
softnet's port) with its carrier (softnet's interface up), the frames
written to it (punted), the frames the kernel sent out of the port, and
the frames lost.`,
		"  softnet show linuxcp\n  softnet show linuxcp --json", cobra.NoArgs,
		func(ctx context.Context, c *api.Client, w io.Writer, _ []string) (any, func(), error) {
			s, err := c.LinuxCP(ctx)
			return s, func() {
				tw := table(w)
				fmt.Fprintf(tw, "synced\t%s\n", yesNo(s.Synced))
				fmt.Fprintf(tw, "routes mirrored\t%d\n", s.Routes)
				fmt.Fprintf(tw, "in the FIB\t%d\n", s.Installed)
				fmt.Fprintf(tw, "shadowed\t%d\n", s.Shadowed)
				fmt.Fprintf(tw, "notifications\t%d\n", s.Events)
				fmt.Fprintf(tw, "batches\t%d\n", s.Batches)
				fmt.Fprintf(tw, "overflows (ENOBUFS)\t%d\n", s.Overflows)
				fmt.Fprintf(tw, "resyncs\t%d\n", s.Resyncs)
				fmt.Fprintf(tw, "added/changed/deleted\t%d/%d/%d\n", s.Added, s.Changed, s.Deleted)
				fmt.Fprintf(tw, "kernel neighbours\t%d\n", s.Neighbors)
				fmt.Fprintf(tw, "kernel addresses (config's included)\t%d\n", s.Addresses)
				fmt.Fprintf(tw, "refused\t%d\n", s.Refused)
				if s.LastError != "" {
					fmt.Fprintf(tw, "last error\t%s\n", s.LastError)
				}
				for _, h := range s.HostInterfaces {
					fmt.Fprintf(tw, "host interface %s\tcarrier %s, to kernel %d, to port %d, dropped %d", h.Name, yesNo(h.Up), h.ToKernel, h.ToPort, h.Dropped)
					if h.LastError != "" {
						fmt.Fprintf(tw, " (%s)", h.LastError)
					}
					fmt.Fprintln(tw)
				}
				tw.Flush()
			}, err
		})
	sub("vlans", "VLAN sub-interfaces: parent, tags, MTU, state, addresses, packets, bytes",
		`For each VLAN sub-interface: its parent port, its 802.1Q VLAN (and for QinQ
the outer VLAN and TPID), MTU, state, addresses, and packets and bytes
received and sent on it (counted by the workers; a port's own counters in
show interfaces do not include its VLANs').`,
		"  softnet show vlans\n  softnet show vlans --json", cobra.NoArgs,
		func(ctx context.Context, c *api.Client, w io.Writer, _ []string) (any, func(), error) {
			vs, err := c.VLANs(ctx)
			return vs, func() {
				tw := table(w)
				fmt.Fprintln(tw, "NAME\tPARENT\tVLAN\tOUTER\tTPID\tSTATE\tMTU\tADDRESSES\tRX PACKETS\tRX BYTES\tTX PACKETS\tTX BYTES")
				for _, v := range vs {
					outer := "-"
					if v.OuterVLAN != 0 {
						outer = fmt.Sprint(v.OuterVLAN)
					}
					fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\t%s\t%d\t%s\t%d\t%d\t%d\t%d\n", v.Name, v.Parent, v.VLAN, outer, orDash(v.TPID), v.State, v.MTU,
						orDash(strings.Join(v.Addresses, ",")), v.RxPackets, v.RxBytes, v.TxPackets, v.TxBytes)
				}
				tw.Flush()
			}, err
		})
	sub("captures", "Always-on captures of the config: file, packets written, ring drops",
		`For each capture of the config's captures section (softnet run writes them to
rotating files, like a flight recorder): its interface (- for every one), its
capture point, its filter, the file it writes now, the files it has opened
since it started, the packets written, and the ring drops (packets its
filter took that found the workers' capture ring full: the writer fell
behind; the router never waits for it). A write error is shown below the
table, and so is a capture that ended because its interface, a VLAN
sub-interface, was deleted (softnet vlan del). softnet capture is the
one-off capture.`,
		"  softnet show captures\n  softnet show captures --json", cobra.NoArgs,
		func(ctx context.Context, c *api.Client, w io.Writer, _ []string) (any, func(), error) {
			cs, err := c.Captures(ctx)
			return cs, func() {
				tw := table(w)
				fmt.Fprintln(tw, "NAME	INTERFACE	POINT	FILTER	FILE	FILES	PACKETS WRITTEN	RING DROPS")
				for _, c := range cs {
					fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%d\t%d\t%d\n", c.Name, orDash(c.Interface), c.Point, orDash(c.Filter), c.File, c.Files, c.Packets, c.RingDrops)
				}
				tw.Flush()
				for _, c := range cs {
					if c.Error != "" {
						fmt.Fprintf(w, "%s last error: %s\n", c.Name, c.Error)
					}
					if c.Ended != "" {
						fmt.Fprintf(w, "%s ended: %s\n", c.Name, c.Ended)
					}
				}
			}, err
		})
	sub("bridge [NAME]", "Bridges: members, routed interface and the learned MACs",
		`For each bridge (or the one named): its members, its routed interface (BVI)
with its MTU (capped to the smallest of the members' MTUs, which it names)
and the MAC table: each learned MAC, the member it was learned on and the
worker that learned it (each worker keeps its own table; every worker looks
destinations up in all of them). MACs not seen within the bridge's ageing
time, or learned on a member that went down since, are not listed.`,
		"  softnet show bridge\n  softnet show bridge br0 --json", cobra.MaximumNArgs(1),
		func(ctx context.Context, c *api.Client, w io.Writer, args []string) (any, func(), error) {
			name := ""
			if len(args) == 1 {
				name = args[0]
			}
			bs, err := c.Bridges(ctx, name)
			return bs, func() {
				for _, b := range bs {
					bvi := orDash(b.BVI)
					if b.BVI != "" {
						// The routed interface's MTU and what caps it.
						bvi = fmt.Sprintf("%s (MTU %d, at most the members' smallest: %s %d)", b.BVI, b.BVIMTU, b.MemberMTUOf, b.MemberMTU)
					}
					fmt.Fprintf(w, "bridge %s: members %s, routed interface %s, %d MACs\n", b.Name, strings.Join(b.Members, ","), bvi, len(b.MACs))
					tw := table(w)
					fmt.Fprintln(tw, "MAC\tMEMBER\tWORKER")
					for _, m := range b.MACs {
						fmt.Fprintf(tw, "%s\t%s\t%d\n", m.MAC, m.Member, m.Worker)
					}
					tw.Flush()
				}
			}, err
		})
	sub("neighbors", "The neighbour (ARP) table", `Every neighbour entry: interface, address, MAC, state, age and source:
where it came from, learned (ARP, Neighbor Discovery), static (the config's
neighbors, softnet neighbor add) or kernel (mirrored by linux_cp from the
namespace's neighbour table, ip neigh: its state is the kernel's, such as
permanent or reachable). A static entry wins over the kernel's, the
kernel's over a learned one.`,
		"  softnet show neighbors", cobra.NoArgs,
		func(ctx context.Context, c *api.Client, w io.Writer, _ []string) (any, func(), error) {
			ns, err := c.Neighbors(ctx)
			return ns, func() {
				tw := table(w)
				fmt.Fprintln(tw, "INTERFACE\tADDRESS\tMAC\tSTATE\tAGE\tSOURCE")
				for _, n := range ns {
					fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", n.Interface, n.Address, orDash(n.MAC), n.State, time.Duration(n.AgeS*float64(time.Second)).Round(time.Second), n.Source)
				}
				tw.Flush()
			}, err
		})
	sub("runtime", "Per stage: calls, packets, packets per call, ns per packet; per worker: polls",
		`Like VPP's show runtime: for each stage of the graph, the calls (batches),
the packets, packets per call, and the time per packet measured on every
16th poll; then each worker's polls, busy polls (receives that filled a
whole batch: at the budget), batches (receives that got packets), livelocks
(busy polls while the ring kept filling), punts to the control plane, the
longest gap between two polls (not counting sleeps waiting for frames: a
gap longer than the receive ring lasts loses frames) and the gaps over
100 ms; then the workers' poll mode (config poll_mode: adaptive with its
window, interrupt or polling); last the Go runtime's GOMAXPROCS, the p99
and maximum latency of a goroutine from runnable to running, of the
collector's stop-the-world pauses, its cycles and its target (GOGC: 400
unless GOGC is set). Counts are since the router started.`,
		"  softnet show runtime", cobra.NoArgs,
		func(ctx context.Context, c *api.Client, w io.Writer, _ []string) (any, func(), error) {
			rt, err := c.Runtime(ctx)
			return rt, func() {
				tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
				fmt.Fprintln(tw, "STAGE\tCALLS\tPACKETS\tPACKETS/CALL\tNS/PACKET\t")
				for _, s := range rt.Stages {
					fmt.Fprintf(tw, "%s\t%d\t%d\t%.1f\t%.1f\t\n", s.Name, s.Calls, s.Packets, s.PacketsPerCall, s.NsPerPacket)
				}
				tw.Flush()
				fmt.Fprintln(w)
				tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
				fmt.Fprintln(tw, "WORKER\tPOLLS\tBUSY POLLS\tBATCHES\tLIVELOCKS\tPUNTS\tPUNT FULL\tSPREAD\tMAX GAP\tGAPS>100ms\t")
				for _, x := range rt.Workers {
					fmt.Fprintf(tw, "%d\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%v\t%d\t\n", x.ID, x.Polls, x.BusyPolls, x.Batches, x.Livelocks, x.Punts, x.PuntFull, x.Spread,
						time.Duration(x.PollGapMaxNs).Round(time.Microsecond), x.PollGaps)
				}
				tw.Flush()
				fmt.Fprintf(w, "\npoll mode: %s", rt.PollMode)
				if rt.PollWindowUs > 0 {
					fmt.Fprintf(w, " (window %v)", time.Duration(rt.PollWindowUs*float64(time.Microsecond)))
				}
				fmt.Fprintln(w)
				g := rt.Go
				fmt.Fprintf(w, "go: gomaxprocs %d, runnable-to-running p99 %.3g ms max %.3g ms, GC pauses p99 %.3g ms max %.3g ms, %d GC cycles, GOGC %d, memory limit %s\n",
					g.GOMAXPROCS, g.SchedLatencyP99Ms, g.SchedLatencyMaxMs, g.GCPauseP99Ms, g.GCPauseMaxMs, g.GCCycles, g.GCPercent, memLimitText(g.MemoryLimitBytes))
			}, err
		})
	var all bool
	sub("errors", "Every drop reason with its count and description, and ICMP errors sent",
		`Every drop reason (stage/reason), its count since the router started and
what it means: the graph's stages, the control plane's ARP queue
(arp-queue/...: packets that waited for ARP in vain) and each port's own
(port/rx-oversize (lan0), ...: frames the port dropped before the workers
saw them; port/tx-... are part of interface-output/tx-full and not counted
again). Then the total, the packets waiting for ARP, the accounting
(received + generated = sent + dropped + consumed + held, exact when the
router is idle) and the ICMP errors the router sent. The table lists the
reasons that counted (--all: every one); --json lists every one.`,
		"  softnet show errors\n  softnet show errors --all", cobra.NoArgs,
		func(ctx context.Context, c *api.Client, w io.Writer, _ []string) (any, func(), error) {
			e, err := c.Errors(ctx)
			return e, func() {
				tw := table(w)
				fmt.Fprintln(tw, "COUNT\tSTAGE/REASON\tDESCRIPTION")
				for _, d := range e.Drops {
					if d.Count > 0 || all {
						name, desc := d.Stage+"/"+d.Reason, d.Description
						if d.Interface != "" {
							name += " (" + d.Interface + ")"
						}
						if d.Of != "" {
							desc += " (part of " + d.Of + ")"
						}
						fmt.Fprintf(tw, "%d\t%s\t%s\n", d.Count, name, desc)
					}
				}
				tw.Flush()
				fmt.Fprintf(w, "total drops: %d\n", e.Total)
				if e.Accounting.Held > 0 || e.Unreachable > 0 {
					fmt.Fprintf(w, "waiting for ARP: %d held, %d sent back for host unreachable\n", e.Accounting.Held, e.Unreachable)
				}
				a := e.Accounting
				fmt.Fprintf(w, "accounting: received %d + generated %d = sent %d + dropped %d + consumed %d + held %d\n",
					a.Received, a.Generated, a.Sent, a.Dropped, a.Consumed, a.Held)
				var icmp []string
				for _, k := range e.ICMPErrors {
					if k.Count > 0 {
						icmp = append(icmp, fmt.Sprintf("%s %d", k.Kind, k.Count))
					}
				}
				fmt.Fprintf(w, "icmp errors sent: %s; echo replies: %d\n", orNone(strings.Join(icmp, ", ")), e.ICMPEchoReplies)
			}, err
		})
	for _, c := range cmd.Commands() {
		if c.Name() == "errors" {
			c.Flags().BoolVar(&all, "all", false, "list every drop reason, also those at zero")
		}
	}
	sub("rules", "The stateful filter's rules with their counters",
		`The filter's rules in force (the config's filter section, in order: the last
rule that matches the first packet of a flow decides, or the first quick one;
the default policy when none does), each with the first packets of flows it
decided and the states it made, summed over the workers (softnet reload keeps
the counters of the rules it leaves unchanged, matched by their text, not
their number; a new or changed rule starts at 0); and the state
tables: states now (all workers), the limit per worker, states made, expired
or flushed, and new flows refused at the limit.`,
		"  softnet show rules\n  softnet show rules --json", cobra.NoArgs,
		func(ctx context.Context, c *api.Client, w io.Writer, _ []string) (any, func(), error) {
			fr, err := c.FilterRules(ctx)
			return fr, func() {
				st := fr.Stats
				fmt.Fprintf(w, "states %d (limit %d per worker), made %d, expired %d, flushed %d, refused at the limit %d\n",
					st.States, st.Limit, st.Inserts, st.Expired, st.Flushed, st.Refused)
				tw := table(w)
				fmt.Fprintln(tw, "#\tPACKETS\tSTATES\tRULE")
				for _, r := range fr.Rules {
					n := strconv.Itoa(r.Number)
					if r.Number == 0 {
						n = "-"
					}
					fmt.Fprintf(tw, "%s\t%d\t%d\t%s\n", n, r.Packets, r.States, r.Rule)
				}
				tw.Flush()
			}, err
		})
	sub("states [ADDRESS] [PORT] [tcp|udp|icmp|ipv6-icmp]", "The stateful filter's states, optionally filtered",
		`The filter's states, from every worker's table: protocol, the side that opened
the flow and the other (address:port), the peers' states (TCP: pf's states of
each side; UDP, ICMP: SINGLE when one side sent, MULTIPLE when both), the
rule that made it, the interface its first packet came in on, its age and the
seconds until it expires, and the packets from each side. Words filter:
an address (either side), a port (either side), a protocol.`,
		"  softnet show states\n  softnet show states 10.0.1.2 tcp\n  softnet show states 53 udp --json", cobra.MaximumNArgs(3),
		func(ctx context.Context, c *api.Client, w io.Writer, args []string) (any, func(), error) {
			q, err := api.ParseStateQuery(args)
			if err != nil {
				return nil, nil, err
			}
			ss, err := c.FilterStates(ctx, q, 0)
			return ss, func() {
				tw := table(w)
				fmt.Fprintln(tw, "PROTO\tSRC\tDST\tSTATE\tRULE\tIFACE\tAGE\tEXPIRES\tPACKETS")
				for _, s := range ss {
					fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%s\t%ds\t%ds\t%d:%d\n", s.Proto, s.Src, s.Dst, s.State, s.Rule, s.Iface, s.AgeS, s.ExpiresS, s.Packets[0], s.Packets[1])
				}
				tw.Flush()
				fmt.Fprintf(w, "%d states\n", len(ss))
			}, err
		})
	return cmd
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

func routeCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "route",
		Short: "Add or delete a route in a running router",
		Long: `route changes the running router's routes through its API; the change is
published to the workers in one snapshot. It does not edit the config file:
softnet reload puts the routes back to what the file says. The router's own
routes (an interface address, a connected subnet, a subnet's network or
broadcast address) belong to its interfaces: they can be neither replaced nor
deleted. A route inside a connected subnet, or to a neighbour's address (it
wins over the neighbour's host route until deleted), is fine. IPv6 routes go
into the IPv6 FIB; their gateway is IPv6, resolved by Neighbor Discovery
(or a static neighbour: softnet neighbor add). A reload puts the IPv6
routes back to what the file says too.`,
		Example: `  softnet route add 198.51.100.0/24 via 10.0.2.2
  softnet route add 203.0.113.0/24 blackhole
  softnet route add 2001:db8::/32 via 2001:db8:2::2
  softnet route del 198.51.100.0/24`,
	}
	client := apiFlag(cmd, defaultWait)
	cmd.AddCommand(&cobra.Command{
		Use:     "add PREFIX via GATEWAY | add PREFIX blackhole",
		Short:   "Add or replace the route to PREFIX",
		Example: "  softnet route add 198.51.100.0/24 via 10.0.2.2\n  softnet route add 203.0.113.0/24 blackhole\n  softnet route add 2001:db8::/32 via 2001:db8:2::2",
		Args: func(_ *cobra.Command, args []string) error {
			if (len(args) == 3 && args[1] == "via") || (len(args) == 2 && args[1] == "blackhole") {
				return nil
			}
			return errors.New("usage: softnet route add PREFIX via GATEWAY, or softnet route add PREFIX blackhole")
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, cancel := callCtx(cmd)
			defer cancel()
			req := api.RouteRequest{Prefix: args[0], Blackhole: args[1] == "blackhole"}
			if len(args) == 3 {
				req.Via = args[2]
			}
			if err := client().AddRoute(ctx, req); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "route %s added\n", args[0])
			return nil
		},
	})
	cmd.AddCommand(&cobra.Command{
		Use:     "del PREFIX",
		Short:   "Delete the route to PREFIX",
		Example: "  softnet route del 198.51.100.0/24",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, cancel := callCtx(cmd)
			defer cancel()
			if err := client().DeleteRoute(ctx, args[0]); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "route %s deleted\n", args[0])
			return nil
		},
	})
	return cmd
}

func neighborCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:     "neighbor",
		Aliases: []string{"neighbour"},
		Short:   "Add or delete a static neighbour (ARP entry) in a running router",
		Long: `neighbor changes the running router's neighbour table through its API. It
does not edit the config file: softnet reload puts the static neighbours
back to what the file says.`,
		Example: `  softnet neighbor add 10.0.2.3 02:bb:00:00:00:03 dev wan0
  softnet neighbor del 10.0.2.3 dev wan0`,
	}
	client := apiFlag(cmd, defaultWait)
	cmd.AddCommand(&cobra.Command{
		Use:     "add ADDRESS MAC dev INTERFACE",
		Short:   "Add or replace a static neighbour",
		Example: "  softnet neighbor add 10.0.2.3 02:bb:00:00:00:03 dev wan0",
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) == 4 && args[2] == "dev" {
				return nil
			}
			return errors.New("usage: softnet neighbor add ADDRESS MAC dev INTERFACE")
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, cancel := callCtx(cmd)
			defer cancel()
			if err := client().AddNeighbor(ctx, api.NeighborRequest{Address: args[0], MAC: args[1], Interface: args[3]}); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "neighbor %s on %s added\n", args[0], args[3])
			return nil
		},
	})
	cmd.AddCommand(&cobra.Command{
		Use:     "del ADDRESS dev INTERFACE",
		Short:   "Delete a neighbour",
		Example: "  softnet neighbor del 10.0.2.3 dev wan0",
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) == 3 && args[1] == "dev" {
				return nil
			}
			return errors.New("usage: softnet neighbor del ADDRESS dev INTERFACE")
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, cancel := callCtx(cmd)
			defer cancel()
			if err := client().DeleteNeighbor(ctx, args[2], args[0]); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "neighbor %s on %s deleted\n", args[0], args[2])
			return nil
		},
	})
	return cmd
}

func reloadCmd() *cobra.Command {
	var file string
	var client func() *api.Client
	cmd := &cobra.Command{
		Use:   "reload [-c FILE]",
		Short: "Make a running router re-read its config and apply the difference",
		Long: `reload asks the running router to read its config file again (or FILE),
check it exactly as softnet check does, and apply only what changed: routes,
route files, static neighbours, interface addresses, MTU, down, and the ICMP
rate limit, all published to the workers in one snapshot. Routes that did
not change keep forwarding throughout.

A config with errors is rejected with the same file:line:col messages as
softnet check, and the running config stays as it was. Changes that need a
restart (interfaces added, removed or renamed, a backend, device, MAC or
pcap setting, workers, the api section) are rejected and say so.`,
		Example: "  softnet reload\n  softnet reload -c /etc/softnet/router.yaml",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, cancel := callCtx(cmd)
			defer cancel()
			if file != "" {
				// The router resolves paths from its own directory.
				abs, err := filepath.Abs(file)
				if err != nil {
					return err
				}
				file = abs
			}
			res, err := client().Reload(ctx, file)
			if err != nil {
				var ae *api.APIError
				if errors.As(err, &ae) && len(ae.Details) > 0 {
					for _, d := range ae.Details {
						fmt.Fprintln(cmd.ErrOrStderr(), d)
					}
					return fmt.Errorf("reload rejected: %s", ae.ErrorBody.Error)
				}
				return err
			}
			ch := res.Changes
			fmt.Fprintf(cmd.OutOrStdout(), "%s: reloaded (%s)\n", res.File, res.Summary)
			fmt.Fprintf(cmd.OutOrStdout(), "routes: %d added, %d changed, %d removed; neighbors: %d added, %d removed; interfaces changed: %d; icmp changed: %s\n",
				ch.RoutesAdded, ch.RoutesChanged, ch.RoutesRemoved, ch.NeighborsAdded, ch.NeighborsGone, ch.Interfaces, yesNo(ch.ICMP))
			for _, b := range res.Blocklists {
				fmt.Fprintln(cmd.OutOrStdout(), b)
			}
			for _, w := range res.Warnings {
				fmt.Fprintf(cmd.ErrOrStderr(), "warning: %s\n", w)
			}
			return nil
		},
	}
	cmd.Flags().StringVarP(&file, "config", "c", "", "the config file to apply (default: the one the router runs)")
	client = apiFlag(cmd, longWait)
	return cmd
}
