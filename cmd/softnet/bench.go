package main

import (
	"cmp"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"slices"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/softnet/softnet/bench"
	benchplot "github.com/softnet/softnet/bench/plot"
	"github.com/softnet/softnet/config"
)

func benchCmd() *cobra.Command {
	var (
		scenario   string
		backend    string
		stackDrop  bool
		source     string
		duration   time.Duration
		size       int
		asJSON     bool
		cpuprofile string
		workers    string
		repeat     int
		plotFile   string
		peersFile  string
		apiCost    bool
		rounds     int
		probeRate  float64
		background float64
		rtPrio     int
		proberCPU  int
		pollModes  string
		nlRoutes   int
		nlSplit    bool
		nlPin      bool
		nlRate     float64
		nlNice     int
	)
	cmd := &cobra.Command{
		Use:   "bench",
		Short: "Measure the forwarding pipeline on in-memory ports",
		Long: `bench runs a forwarding scenario on in-memory ports and prints what it measured.

The default scenario, ip4-forward, forwards 64-byte IPv4/UDP frames from a
generator port to a sink port through the full Internet IPv4 table
(901,899 prefixes, embedded), 16 next hops, random destinations drawn from
the table. The figures: packets forwarded, Mpps, ns per packet, heap
allocations per packet (0 is the goal), drops by stage/reason, the time
per stage (sampled on 1 poll in 16), and the garbage collector's share of
the CPU time over the run with the cycles it completed (gc_cpu_share, 0..1,
and gc_cycles in the JSON; from runtime/metrics: the GC time of the
cycles that completed in the run over GOMAXPROCS × its wall time). Every
in-memory scenario's result has them.

--workers 1,2 measures each worker count in turn, in one process on the same
table: with N workers, worker i polls its own generator queue and is pinned
to the i-th CPU the process may use (unpinned, and said so, when N exceeds
them). A single count prints one result as above; a list prints a table with
a row per count (total and per-worker Mpps) and the speedup over the first
count, and with --json one object:

  {"scenario": "ip4-forward", "runs": [<one result object per count>],
   "speedup": {"1": 1, "2": 1.96}}

where speedup maps each count to its Mpps over the first count's.

--scenario rss is ip4-forward through one generator queue (a port with fewer
queues than workers): worker 0 polls it, hashes every frame (symmetric
Toeplitz, as a NIC's RSS) and hands each flow to the worker that owns it over
a lock-free lane; every worker forwards its flows. It measures --workers 1,2
unless told otherwise; spread is the packets handed over, rss_ring_full those
dropped because the owner's lane was full.

--scenario overload measures the one-worker ip4-forward rate (the capacity),
then feeds the same frames, with one ARP request for the router in 1024,
through a 1024-slot receive ring filled at a fixed rate (0.5×, 1× and 2× the
capacity, --duration each). Frames that find the ring full are dropped at its
tail (ifq drops). Per run: offered and forwarded Mpps, ifq drops, livelocks
(full polls while the ring kept filling), ARP requests offered, dropped at the
ring, left in it when a run stopped (never polled), received and answered
(offered = ring-dropped + in ring + answered, exactly), drops by reason, the
GC's share and cycles (as above); and plateau, forwarded at 2×
over forwarded at 1× (1: flat, the goal ≥ 0.95; lower: collapse).

--scenario ip4-forward-vlan is ip4-forward with the frames arriving in VLAN
100 on a sub-interface of in0 and leaving in VLAN 200 on one of out0; vlan-1
the same in VLAN 1; vlan-4094 has 4094 sub-interfaces on in0 with the frames
spread across all of them. --scenario bridge switches the same frames between
two members of a learning bridge (destination MAC learned on out0) instead of
routing them. --scenario ip6-forward is ip4-forward in IPv6: 64-byte
IPv6/UDP frames through the full IPv6 table (static IPv6 neighbours: no
Neighbor Discovery yet). --scenario early-drop floods one worker with frames
whose sources are all in a 6,000,000-host blocklist on in0 (softnet blocklist):
mpps counts the frames early-drop dropped; the JSON adds blocklist_entries and
load_s (the list's parse and build). --scenario filter-setup measures how many
states one worker makes a second: ip4-filter's topology and 1,000 rules, every
frame the first packet of a new UDP flow (65,536 flows a cycle, the worker's
table flushed between cycles, untimed), checked in and out against the rules,
inserted and forwarded; the JSON has states_per_s, ns_per_state, states,
cycles, refused (first packets the table refused: 0) and allocs_per_packet
(0: no allocation per new state). It runs alone. --scenario taps measures vlan-4094's
forwarding with no packet capture (taps-0), one capture on in0.1 (taps-1) and
one on every VLAN sub-interface (taps-4094), each capture with a filter that
matches none of the traffic ("tcp port 22"), as a list does (--rounds,
interleaved), and prints one line (--json: taps_0_mpps, taps_1_mpps,
taps_4094_mpps, ratio = taps-4094 over taps-1, interleaved_ratio,
allocs_per_packet), then the Linux anchor as root: kernel forwarding on the
veth topology of --scenario veth (trafgen's flood) with 1 and 1000 ETH_P_ALL
packet sockets on the ingress veth, each with the same filter attached
(linux_1_mpps, linux_1000_mpps, linux_ratio; linux_error says why it is
missing).
A comma-separated list builds each scenario once,
measures them in turn --rounds times (one worker, --duration each), keeps each
one's best round and prints every round's rate and the ratios that compare
(of the best rounds); then, for noisy machines, it polls one worker per
scenario in turn on one thread for --duration, timing every poll, and prints
the rates from the median poll's ns per packet (a poll that lost the CPU to
another process does not count) and their ratios too (interleaved), e.g.
--scenario ip4-forward,ip4-forward-vlan,vlan-1,vlan-4094 --json:

  {"runs": [...], "mpps": {"ip4-forward": [...], ...},
   "ratios": {"ip4-forward-vlan/ip4-forward": 0.97,
   "vlan-4094/vlan-1": 0.98, "bridge/ip4-forward": 1.2}, "interleaved_mpps": {...},
   "interleaved_ratios": {...}}   (interleaved_mpps: pair -> scenario -> Mpps)

--scenario veth --backend afxdp runs softnet on AF_XDP sockets (port/afxdp,
copy mode on veth) instead of AF_PACKET (the default, --backend afpacket);
the JSON's "backend" says which. --scenario latency takes --backend too.
The veth scenario also measures the generator's limit in the same run:
"generator_limit_mpps" is what the source pushes into the router's ingress
veth while an XDP program there drops every frame (no router can show
more). --source picks the source: trafgen, xdp (softnet's own generator:
BPF_PROG_RUN in live-frames mode redirecting one prebuilt frame into host
A's veth, no socket and no skb on the sender; veth then needs an XDP
program on the router's veth, so an XDP_PASS one is attached there for
Linux and AF_PACKET) or best (the default: both limits are measured,
"generator_limits_mpps" lists them, "generator_per_cpu_mpps" the same per
second of the source's CPU, and the one that pushes more per CPU second
sends every flood). "source_name" and "source" say what sent each flood;
"kernel_tcp_gbps", "softnet_tcp_gbps" and their "_retransmits" are
iperf3 TCP through each router. --stack-drop (with --backend
afpacket) gives softnet's interfaces stack_drop: true, so the router
namespace's stack skips the frames softnet took; "stack_drop" says so.

--scenario veth-overload is overload on real interfaces: host A ─ softnet ─
host B in network namespaces (as the veth scenario), softnet held to a quarter
of a CPU by a cgroup cpu quota so trafgen can offer twice its capacity. It
measures the capacity (trafgen at full rate), then offers 1× and 2× of it
(trafgen --rate), a fresh softnet each time, and reports per load: offered and
forwarded Mpps, ifq drops (AF_PACKET ring drops), livelocks, and ARP requests
host A sent for the router during the flood with the replies it got; plateau
is forwarded at 2× over forwarded at 1×. Needs root.

--scenario latency measures round-trip times through the router on the
same veth topology: host A sends ICMP echo requests to host B (B's kernel
answers) at --probe-rate a second for --duration (3 s unless given), each
timed by the kernel's stamps on host A's veth: from the request's transmit
to the reply's receive (host A's own stack and the prober's scheduling
are left out).
softnet (AF_PACKET, one worker) first: its capacity (a 1 s trafgen flood at
full rate), the probes alone, then the probes during a 64-byte UDP flood
from A to B's link at half that capacity (--background-mpps sets the rate
instead), sent at a steady pace from an AF_PACKET socket on CPU 0 (trafgen
--rate sends each second's frames in one burst); then Linux forwarding,
with the same probes and flood rate. It
prints a row per router and load (p50, p99, min, max, samples, lost) and
softnet's figures over Linux's; with --json one line per router and load:

  {"scenario": "latency", "router": "softnet", "backend": "afpacket",
   "poll_mode": "polling", "softnet_cpu_pct": 97.5, "rate_pps": 200,
   "background_mpps": 0.39, "rtt_p50_us": 41.2, "rtt_p99_us": 120.5,
   "samples": 600, "lost": 0, ...}

where background_mpps is what the flood really offered (0: no flood).
--rt-priority N runs softnet with its worker in SCHED_FIFO (softnet run
--rt-priority; the softnet lines then carry "rt_priority": N): on a busy
machine the idle worker's wait for its CPU is most of its tail latency.
--prober-cpu N sends the probes from a thread pinned to CPU N (the lines
then carry "prober_cpu": N); softnet's worker runs on CPU 1, so
--prober-cpu 1 is a NIC queue's interrupt pinned to its worker's core:
the frame reaches the worker without a wake-up across CPUs. Before the
routers it measures the platform's floor: the round trip of an eventfd
wake-up between two idle threads across CPUs 0 and 1 and on CPU 1
("wake_cross_us", "wake_same_us", p50; "wake_cross_p99_us",
"wake_same_p99_us"), the cost an idle worker woken from another CPU pays
twice per round trip of the figure, once per frame.
--poll-mode interrupt,adaptive,polling runs softnet once per poll mode
listed (the config's poll_mode; default: the default mode, interrupt), each
beside the same Linux runs; every softnet line carries "poll_mode" and
"softnet_cpu_pct", the CPU softnet's process used while the probes ran (in
% of one CPU, from /proc/PID/stat): what each mode costs.
Needs root.

--scenario netlink-full-table measures linux_cp (routes from Linux) on the
veth topology: softnet (one worker, AF_PACKET, the whole process on CPU 1;
with --split-cpus the worker pinned to CPU 1 and the control plane, linux_cp's
reader and applier among it, on CPU 0: softnet run --control-cpus 1) mirrors the
router namespace's main table (protocol bgp); trafgen (CPU 0) floods 64-byte UDP
through it for --duration (mpps_before), then the full table of the embedded
file (IPv4 and IPv6, about 1,062,000 routes, next hops on host B's link) goes
into the router namespace's kernel in one burst, many RTM_NEWROUTE messages to
a sendmsg (not one ip route per route), while the same flood runs until
softnet's FIB equals the kernel's (mpps_during). One JSON line:

  {"scenario": "netlink-full-table", "routes": ..., "routes_v4": ...,
   "routes_v6": ..., "install_s": ..., "converge_s": ..., "lag_s": ...,
   "converged": true,
   "mpps_before": ..., "mpps_during": ..., "during_ratio": ..., ...}

install_s is the burst into the kernel (the kernel's own insertion, which
bounds converge_s from below); lag_s is converge_s less install_s: how long
softnet took after the kernel had the last route. converge_s is from the
burst's first message to softnet's FIB equal to the kernel's: linux_cp's route count and the
FIB's kernel routes both equal to the routes the kernel took, then about 1000
prefixes spread over the table looked up one by one (prefix, next hop,
protocol; sample_mismatch) and the kernel's own count after a dump
(kernel_routes). The targets: converge_s ≤ 10, during_ratio ≥ 0.9. linux_cp
has linux_cp's counters (events, batches, overflows, resyncs); loadavg_start
and loadavg_end the machine's load, which moves every figure. cpu_before and
cpu_during say where the CPU time went in the flood before the burst and from
its first message to the convergence, in CPU seconds (/proc): softnet_worker
(the worker's thread), softnet_other (softnet's other threads: linux_cp's
reader and applier, the collector, the API), trafgen, writer (the bench
process: the kernel's insertion of the routes in its sendmsg calls), softirq
(charged to the threads above, not a party, on a kernel without
CONFIG_IRQ_TIME_ACCOUNTING; with it softirq time is in other instead), other (the rest of the machine)
and idle; worker_nice is the worker thread's nice value (softnet run
--worker-nice), gc_cycles_during and gc_cpu_s_during softnet's collections in
the burst, ifq_drops_before and ifq_drops_during the frames softnet's receive
ring dropped (the worker not keeping up; the rest of the loss is trafgen
offering less). --pin-worker lets softnet use both CPUs, its worker pinned to
CPU 1 above its other threads, which run on either CPU (softnet run
--worker-cpus 1), trafgen on CPU 0. --rate-mpps R floods at a fixed offered
load of R Mpps in both windows instead of trafgen's full rate (rate_mpps in
the JSON; during_ratio is then the share of that load forwarded during the
burst against before), a variant beside the default, not instead of it;
--worker-nice N runs softnet with --worker-nice N. --routes N
installs only N prefixes of the table (IPv4 and IPv6 in its proportion).
softnet bench exits 1 when softnet did not converge, after printing the
result. Needs root.

--repeat N runs each worker count N times in a row; the figures printed are
the median run's, and the JSON adds "repeats_mpps" (every run's Mpps).

--plot FILE.png draws Mpps per scenario and worker count as a bar chart:
the bar at the mean of the runs, whiskers from the lowest to the highest,
the value over each bar, and the date, host and CPU count in the title
(a FILE that cannot be written is refused before anything is measured).
With --plot, --repeat defaults to 3 so the chart has error bars; give
--repeat 1 for one run per bar (no whiskers). --peers FILE.json adds bars
for the peers: the output of bench/peers --json, one object or several
(several runs of the same peer are its repeats).
--api-scrape measures what the control API costs: ip4-forward (one worker
count) alternately without it and with the API served on a Unix socket and
/metrics scraped through it every second, --rounds times each, and prints
both rates and their ratio (the goal: under 2% lost).

--scenario soak runs softnet for --duration (60 s unless given) under churn
on the veth topology (--backend afpacket or afxdp), with a third link rc
and the full Internet table (testdata/bgp-prefixes.txt.gz) on it. An
unchanged flow, 64-byte UDP from host A at 5000 packets a second to a
prefix on rb that nothing touches, is counted on host B; meanwhile a churn
driver (at most 100000 operations, until the duration ends) works through
the control API as an operator would: VLANs on rc, routes and static
neighbours added and deleted, reloads (the same file; a bridge member's
down flag toggled; first and then every 15 s the full table moved to another gateway: a
full-table replace), traces and scrapes; beside it, every 3 s, rc is
flapped (admin, carrier) or deleted and re-created, in turn. Then it
reloads the first config, deletes its VLANs and compares the end with the
start (GET /v1/status?gc=1):

  {"scenario": "soak", "offered_unchanged": 1200000, "forwarded_unchanged": 1200000,
   "lost_unchanged": 0, "heap_start_bytes": ..., "heap_end_bytes": ...,
   "goroutines_start": 12, "goroutines_end": 12, "fds_start": 14, "fds_end": 14,
   "adjacencies_start": 7, "adjacencies_end": 7, "buffers_in_use_start": 0,
   "buffers_in_use_end": 0, "api_p99_ms": 3.1, "errors_logged": 0,
   "churn": {"vlan_add": 120, ...}, "bounds": {...}, "pass": true}

pass needs lost_unchanged 0, no failed churn operation, each end figure
within its bound of the start (bounds: heap +10% +16 MiB, goroutines +8,
fds +4, adjacencies +8, buffers +512), and api_p99_ms at most 1000;
softnet bench exits 1 otherwise, after printing the result. api_p99_ms is
over every churn and scrape call but traces and reloads (timed apart:
reload_p99_ms, reload_max_ms, full_replace_max_ms), and over a prober's
calls beside the churn every 100 ms (status, interfaces, metrics, a route
lookup, a route add and delete), some of which come while a reload
builds; api_max_ms_by_kind has the slowest of each kind. ra_rx_packets and
rb_tx_packets (softnet's counts on the flow's way in and out) say where a
lost packet went; poll_gap_max_ms (the longest time between two polls of a
worker since softnet started, not counting its sleeps waiting for frames:
one longer than ra's ring lasts, 1.6 s on AF_PACKET, drops frames) and
poll_gaps (gaps over 100 ms in the run) say whether a worker stalled, and
gomaxprocs, sched_latency_p99_ms/_max_ms, gc_pause_p99_ms/_max_ms and
gc_cycles and gc_percent (softnet's Go runtime, GET /v1/runtime) why.
Needs root.

The same workload through gVisor's netstack: cd bench/peers && go run . --json`,
		Example: `  softnet bench
  softnet bench --workers 1,2 --json
  softnet bench --api-scrape --duration 5s --rounds 2`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := checkBenchFlags(cmd, scenario, duration, size, rounds, apiCost); err != nil {
				return err
			}
			if err := checkLatencyFlags(cmd, scenario, probeRate, background, rtPrio, proberCPU); err != nil {
				return err
			}
			modes, err := parsePollModes(cmd, pollModes)
			if err != nil {
				return err
			}
			if cpuprofile != "" {
				f, err := os.Create(cpuprofile)
				if err != nil {
					return fmt.Errorf("--cpuprofile: %w", err)
				}
				defer f.Close()
				if err := pprof.StartCPUProfile(f); err != nil {
					return fmt.Errorf("--cpuprofile: %w", err)
				}
				defer pprof.StopCPUProfile()
			}
			var prog io.Writer
			if fi, err := os.Stderr.Stat(); err == nil && fi.Mode()&os.ModeCharDevice != 0 {
				prog = os.Stderr
			}
			counts, err := parseWorkers(workers)
			if err != nil {
				return err
			}
			if scenario == "rss" && !cmd.Flags().Changed("workers") {
				counts = []int{1, 2}
			}
			if plotFile != "" && !cmd.Flags().Changed("repeat") {
				repeat = 3 // error bars need repeated runs
			}
			if repeat < 1 || repeat > bench.MaxRepeat {
				return fmt.Errorf("--repeat %d: give a number of runs from 1 to %d", repeat, bench.MaxRepeat)
			}
			if (plotFile != "" || repeat != 1 || peersFile != "") && (scenario == "veth" || scenario == "overload" || scenario == "veth-overload" || scenario == "latency" || scenario == "soak" || scenario == bench.ScenarioFilterSetup || scenario == bench.ScenarioNetlink) {
				return fmt.Errorf("--plot, --repeat and --peers apply to the ip4-forward and rss scenarios; drop them for --scenario %s", scenario)
			}
			if backend != "afpacket" && backend != "afxdp" {
				return fmt.Errorf("--backend %q: choose afpacket or afxdp", backend)
			}
			if cmd.Flags().Changed("backend") && scenario != "veth" && scenario != "latency" && scenario != "soak" {
				return fmt.Errorf("--backend applies to --scenario veth, latency and soak; drop it for --scenario %s", scenario)
			}
			if cmd.Flags().Changed("source") && scenario != "veth" {
				return fmt.Errorf("--source applies to --scenario veth; drop it for --scenario %s", scenario)
			}
			if source != "best" && source != "trafgen" && source != "xdp" {
				return fmt.Errorf("--source %q: choose trafgen, xdp (softnet's XDP generator) or best (the one that pushes more)", source)
			}
			if stackDrop && (scenario != "veth" || backend != "afpacket") {
				return errors.New("--stack-drop applies to --scenario veth with --backend afpacket; drop it")
			}
			if peersFile != "" && plotFile == "" {
				return errors.New("--peers adds bars to the chart: give --plot FILE.png too")
			}
			if plotFile != "" {
				// Before measuring: a chart that cannot be written failed
				// only after the runs, and their results were not printed.
				if err := checkPlotFile(plotFile); err != nil {
					return err
				}
			}
			var peers []benchplot.Bar
			if peersFile != "" {
				// Read before measuring: a bad file fails in a second, not after the runs.
				if peers, err = benchplot.ReadPeersFile(peersFile); err != nil {
					return fmt.Errorf("--peers: %w", err)
				}
			}
			if apiCost {
				if len(counts) != 1 {
					return fmt.Errorf("--workers %s: --api-scrape measures one worker count", workers)
				}
				sb, err := bench.RunSideBySide(bench.Options{Scenario: scenario, Duration: duration, PacketSize: size, Workers: counts, Progress: prog},
					"control API on a Unix socket, /metrics scraped every 1s", apiScrape, cmp.Or(rounds, 5))
				if err != nil {
					return err
				}
				if asJSON {
					return jsonEncoder(cmd.OutOrStdout()).Encode(sb)
				}
				printSideBySide(cmd.OutOrStdout(), sb)
				return nil
			}
			if scenario == "soak" {
				if cmd.Flags().Changed("size") {
					return errors.New("--size: the soak's unchanged flow is 64-byte frames; drop --size")
				}
				if !cmd.Flags().Changed("duration") {
					duration = time.Minute
				}
				ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
				defer stop()
				rep, err := bench.RunSoak(ctx, bench.SoakOptions{Binary: bench.VethBinary(), Duration: duration, Backend: backend, Progress: prog})
				if err != nil {
					return err
				}
				if asJSON {
					if err := jsonEncoder(cmd.OutOrStdout()).Encode(rep); err != nil {
						return err
					}
				} else {
					rep.Print(cmd.OutOrStdout())
				}
				if !rep.Pass {
					return fmt.Errorf("soak failed: %s", strings.Join(rep.Violations, "; "))
				}
				return nil
			}
			if cmd.Flags().Changed("routes") && scenario != bench.ScenarioNetlink {
				return fmt.Errorf("--routes applies to --scenario %s; drop it", bench.ScenarioNetlink)
			}
			if cmd.Flags().Changed("split-cpus") && scenario != bench.ScenarioNetlink {
				return fmt.Errorf("--split-cpus applies to --scenario %s; drop it", bench.ScenarioNetlink)
			}
			if cmd.Flags().Changed("pin-worker") && scenario != bench.ScenarioNetlink {
				return fmt.Errorf("--pin-worker applies to --scenario %s; drop it", bench.ScenarioNetlink)
			}
			for _, fl := range []string{"rate-mpps", "worker-nice"} {
				if cmd.Flags().Changed(fl) && scenario != bench.ScenarioNetlink {
					return fmt.Errorf("--%s applies to --scenario %s; drop it", fl, bench.ScenarioNetlink)
				}
			}
			if nlRate < 0 {
				return fmt.Errorf("--rate-mpps %g: give a positive offered load in Mpps, or leave it out for trafgen's full rate", nlRate)
			}
			if nlNice < -20 || nlNice > 19 {
				return fmt.Errorf("--worker-nice %d: give a nice value from -20 to 19", nlNice)
			}
			if nlSplit && nlPin {
				return fmt.Errorf("--split-cpus and --pin-worker are two CPU layouts for --scenario %s; give one", bench.ScenarioNetlink)
			}
			if scenario == bench.ScenarioNetlink {
				if size != 64 {
					return fmt.Errorf("--size %d: the %s scenario floods 64-byte frames; drop --size", size, scenario)
				}
				if nlRoutes < 0 {
					return fmt.Errorf("--routes %d: give a positive number of routes, or 0 for the whole table", nlRoutes)
				}
				ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
				defer stop()
				no := bench.NetlinkOptions{Binary: bench.VethBinary(), Duration: duration, Routes: nlRoutes, SplitCPUs: nlSplit, PinWorker: nlPin, RateMpps: nlRate, Progress: prog}
				if cmd.Flags().Changed("worker-nice") {
					no.WorkerNice = &nlNice
				}
				rep, err := bench.RunNetlink(ctx, no)
				if rep != nil && (err == nil || rep.Routes > 0) {
					if asJSON {
						if jerr := jsonEncoder(cmd.OutOrStdout()).Encode(rep); jerr != nil {
							return jerr
						}
					} else {
						rep.Print(cmd.OutOrStdout())
					}
				}
				if err != nil {
					return err
				}
				if !rep.Converged {
					return fmt.Errorf("%s: softnet's FIB is not the kernel's: %s", scenario, rep.Mismatch)
				}
				return nil
			}
			if scenario == "latency" {
				if size != 64 {
					return fmt.Errorf("--size %d: the latency scenario floods 64-byte frames; drop --size", size)
				}
				if !cmd.Flags().Changed("duration") {
					duration = 3 * time.Second
				}
				ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
				defer stop()
				rep, err := bench.RunLatency(ctx, bench.LatencyOptions{Binary: bench.VethBinary(), Duration: duration,
					RatePPS: probeRate, BackgroundMpps: background, RTPriority: rtPrio, Backend: backend,
					PinProber: proberCPU >= 0, ProberCPU: proberCPU, PollModes: modes, Progress: prog})
				if err != nil {
					return err
				}
				if asJSON {
					return rep.WriteJSONLines(cmd.OutOrStdout())
				}
				rep.Print(cmd.OutOrStdout())
				return nil
			}
			if scenario == "veth" || scenario == "veth-overload" {
				ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
				defer stop()
				var rep interface{ Print(io.Writer) }
				var err error
				if scenario == "veth" {
					rep, err = bench.RunVeth(ctx, bench.VethOptions{Binary: bench.VethBinary(), Duration: duration, PacketSize: size, Backend: backend, StackDrop: stackDrop, Source: source, Progress: prog})
				} else {
					rep, err = bench.RunVethOverload(ctx, bench.VethOverloadOptions{Binary: bench.VethBinary(), Duration: duration, Progress: prog})
				}
				if err != nil {
					return err
				}
				if asJSON {
					return jsonEncoder(cmd.OutOrStdout()).Encode(rep)
				}
				rep.Print(cmd.OutOrStdout())
				return nil
			}
			if scenario == "overload" {
				if size != 64 {
					return fmt.Errorf("--size %d: the overload scenario uses 64-byte frames; drop --size", size)
				}
				rep, err := bench.RunOverload(bench.OverloadOptions{Duration: duration, Progress: prog})
				if err != nil {
					return err
				}
				if asJSON {
					return jsonEncoder(cmd.OutOrStdout()).Encode(rep)
				}
				printOverload(cmd.OutOrStdout(), rep)
				return nil
			}
			if scenario == bench.ScenarioTaps {
				r, err := bench.RunTaps(cmd.Context(), cmp.Or(rounds, 3), bench.Options{Duration: duration, PacketSize: size, Progress: prog})
				if err != nil {
					return err
				}
				if asJSON {
					return jsonEncoder(cmd.OutOrStdout()).Encode(r)
				}
				fmt.Fprintf(cmd.OutOrStdout(), "taps (vlan-4094 forwarding, capture filter %q matching nothing): no tap %.3f Mpps, 1 tap %.3f, 4094 taps %.3f; ratio 4094/1 %.3f (interleaved %.3f); allocs per packet %.2f\n",
					r.Filter, r.Taps0Mpps, r.Taps1Mpps, r.Taps4094Mpps, r.Ratio, r.InterleavedRatio, r.AllocsPerPacket)
				if r.Linux1Mpps != nil && r.Linux1000Mpps != nil {
					fmt.Fprintf(cmd.OutOrStdout(), "linux (veth forwarding, packet sockets on the ingress veth with the same filter): 1 socket %.3f Mpps, 1000 sockets %.3f\n", *r.Linux1Mpps, *r.Linux1000Mpps)
				}
				if r.LinuxError != "" {
					fmt.Fprintf(cmd.OutOrStdout(), "linux anchor: %s\n", r.LinuxError)
				}
				return nil
			}
			if scenario == bench.ScenarioFilterSetup {
				r, err := bench.RunFilterSetup(bench.Options{Duration: duration, PacketSize: size, Progress: prog})
				if err != nil {
					return err
				}
				if asJSON {
					return jsonEncoder(cmd.OutOrStdout()).Encode(r)
				}
				fmt.Fprintf(cmd.OutOrStdout(), "filter-setup (one worker, %d rules, %d new flows a cycle, %d cycles): %.0f states/s (%.1f ns per new flow, forwarding included); refused %d; allocs per packet %.2f\n",
					r.FilterRules, r.Flows, r.Cycles, r.StatesPerS, r.NsPerState, r.Refused, r.AllocsPerPacket)
				return nil
			}
			if strings.Contains(scenario, ",") {
				var names []string
				for _, n := range strings.Split(scenario, ",") {
					if n = strings.TrimSpace(n); n == "veth" || n == "overload" || n == "veth-overload" || n == "rss" || n == "latency" || n == "soak" || n == bench.ScenarioFilterSetup || n == bench.ScenarioNetlink {
						return fmt.Errorf("--scenario %s: %s runs alone; list only ip4-forward, ip4-forward-vlan, vlan-1, vlan-4094, bridge, ip6-forward, ip4-filter, early-drop", scenario, n)
					}
					names = append(names, strings.TrimSpace(n))
				}
				m, err := bench.RunScenarios(names, cmp.Or(rounds, 3), bench.Options{Duration: duration, PacketSize: size, Progress: prog})
				if err != nil {
					return err
				}
				out := cmd.OutOrStdout()
				if asJSON {
					return jsonEncoder(out).Encode(m)
				}
				printScenarios(out, m)
				return nil
			}
			rep, err := bench.Run(bench.Options{Scenario: scenario, Duration: duration, PacketSize: size, Workers: counts, Repeat: repeat, Progress: prog})
			if err != nil {
				return err
			}
			if plotFile != "" {
				if err := benchplot.Save(plotFile, benchplot.FromReports([]*bench.Report{rep}, peers, time.Now())); err != nil {
					return fmt.Errorf("--plot %s: %w", plotFile, err)
				}
				defer fmt.Fprintf(cmd.ErrOrStderr(), "chart written to %s\n", plotFile)
			}
			out := cmd.OutOrStdout()
			if asJSON {
				enc := jsonEncoder(out)
				if len(rep.Runs) == 1 {
					return enc.Encode(rep.Runs[0])
				}
				return enc.Encode(rep)
			}
			if len(rep.Runs) == 1 {
				printResult(out, rep.Runs[0])
			} else {
				printScaling(out, rep)
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&scenario, "scenario", "ip4-forward", "scenario to run: ip4-forward (in-memory ports), ip4-forward-vlan, vlan-1, vlan-4094 (VLAN sub-interfaces), bridge (a learning bridge), ip4-filter (ip4-forward through the stateful filter: 1000 rules, 100,000 states; a comma-separated list runs several and prints their ratios), filter-setup (new states a second on one worker, each first packet checked against the 1000 rules), veth (Linux vs softnet between network namespaces; root), rss (one input queue spread over the workers by software RSS), overload (0.5×, 1×, 2× capacity into a fixed-rate ring; 64-byte frames), veth-overload (1× and 2× capacity on veth; root), latency (round-trip times through Linux and softnet on veth, light and under a flood; root), soak (churn and faults for --duration with a flow that must lose nothing, leak checks; root), netlink-full-table (the full table into the kernel in one burst, mirrored by linux_cp: convergence time, forwarding before and during; root)")
	f.BoolVar(&nlPin, "pin-worker", false, "with --scenario netlink-full-table: let softnet use every CPU, its worker pinned to CPU 1 (softnet run --worker-cpus 1) above its other threads (--worker-nice), which run on either CPU; default: the whole softnet process on CPU 1, trafgen on CPU 0")
	f.Float64Var(&nlRate, "rate-mpps", 0, "with --scenario netlink-full-table: flood at this fixed offered load (Mpps, trafgen --rate) before and during the burst instead of trafgen's full rate (a variant: the JSON's rate_mpps says so)")
	f.IntVar(&nlNice, "worker-nice", 0, "with --scenario netlink-full-table: run softnet with --worker-nice N (default: softnet run's own, -10)")
	f.IntVar(&nlRoutes, "routes", 0, "with --scenario netlink-full-table: install only this many prefixes of the table (0: all of it)")
	f.BoolVar(&nlSplit, "split-cpus", false, "with --scenario netlink-full-table: let softnet use every CPU, its worker pinned to CPU 1 and its control plane (linux_cp's reader and applier) kept on CPU 0 with trafgen (softnet run --control-cpus 1); default: the whole softnet process on CPU 1")
	f.DurationVar(&duration, "duration", 5*time.Second, "how long to measure (a positive duration; per run, round or load; 3s for latency, 1m for soak)")
	f.BoolVar(&stackDrop, "stack-drop", false, "with --scenario veth --backend afpacket: softnet's interfaces get stack_drop: true (a tc ingress drop, so the router namespace's stack skips the frames softnet took)")
	f.StringVar(&source, "source", "best", "with --scenario veth: what sends the floods, trafgen, xdp (softnet's XDP generator, BPF_PROG_RUN live frames) or best (measure both generators' limits, use the one that pushes more per CPU second)")
	f.StringVar(&backend, "backend", "afpacket", "with --scenario veth, latency or soak: softnet's backend on the router's veths, afpacket or afxdp (AF_XDP, copy mode on veth)")
	f.IntVar(&size, "size", 64, "frame size in bytes, without FCS (42..1514)")
	f.BoolVar(&asJSON, "json", false, "print one JSON object instead of tables (latency: one line per router and load)")
	f.StringVar(&cpuprofile, "cpuprofile", "", "write a CPU profile of the run to this file")
	f.StringVar(&workers, "workers", "1", "worker counts to measure in turn, comma-separated (e.g. 1,2): ip4-forward, rss, and a single VLAN or bridge scenario; refused by overload, veth, veth-overload, latency and lists of scenarios, which run one worker")
	f.IntVar(&repeat, "repeat", 1, "runs per worker count (the median is printed, every run's Mpps in the JSON); 3 by default with --plot")
	f.StringVar(&plotFile, "plot", "", "draw the results as a PNG bar chart into this file (Mpps per worker count, error bars from the runs)")
	f.StringVar(&peersFile, "peers", "", "with --plot: add the peers' bars from this file (output of: cd bench/peers && go run . --json)")
	f.BoolVar(&apiCost, "api-scrape", false, "measure ip4-forward without and with the control API and a /metrics scrape every second, side by side")
	f.IntVar(&rounds, "rounds", 0, "with --api-scrape: how many off/on pairs to run (default 5); with a list of scenarios: how many times to measure them in turn, keeping each one's best (default 3); 1..100, refused elsewhere")
	f.Float64Var(&probeRate, "probe-rate", 200, "with --scenario latency: ICMP echo requests a second (1.."+strconv.Itoa(bench.MaxProbeRate)+")")
	f.IntVar(&rtPrio, "rt-priority", 0, "with --scenario latency: run softnet with --rt-priority N (its worker in SCHED_FIFO at N, 1-99); 0: normal scheduling")
	f.IntVar(&proberCPU, "prober-cpu", -1, "with --scenario latency: send the probes from a thread pinned to this CPU (1: softnet's worker's, as an interrupt pinned to the worker's core); -1: not pinned")
	f.StringVar(&pollModes, "poll-mode", "", "with --scenario latency: softnet's poll modes to measure, comma-separated, a softnet run each beside Linux's: interrupt, adaptive, polling (config poll_mode); default: the default mode, interrupt")
	f.Float64Var(&background, "background-mpps", 0, "with --scenario latency: the background flood's rate in Mpps (a positive rate; default: half of softnet's capacity, measured first)")
	return cmd
}

// checkLatencyFlags refuses --probe-rate and --background-mpps outside the
// latency scenario and values that are not positive rates.
func checkLatencyFlags(cmd *cobra.Command, scenario string, probeRate, background float64, rtPrio, proberCPU int) error {
	for _, name := range []string{"probe-rate", "background-mpps", "rt-priority", "prober-cpu", "poll-mode"} {
		if cmd.Flags().Changed(name) && scenario != "latency" {
			return fmt.Errorf("--%s applies to --scenario latency; drop it", name)
		}
	}
	if !(probeRate >= 1 && probeRate <= bench.MaxProbeRate) {
		return fmt.Errorf("--probe-rate %v: give a rate from 1 to %d probes a second, such as 200", probeRate, bench.MaxProbeRate)
	}
	if cmd.Flags().Changed("background-mpps") && !(background > 0 && background <= 100) {
		return fmt.Errorf("--background-mpps %v: give a positive rate in Mpps, such as 0.3, or drop it for half of softnet's measured capacity", background)
	}
	if rtPrio < 0 || rtPrio > 99 {
		return fmt.Errorf("--rt-priority %d: give a SCHED_FIFO priority from 1 to 99 (softnet run --rt-priority), or 0 for normal scheduling", rtPrio)
	}
	if proberCPU < -1 || proberCPU >= runtime.NumCPU() {
		return fmt.Errorf("--prober-cpu %d: give a CPU from 0 to %d, or -1 to leave the prober unpinned", proberCPU, runtime.NumCPU()-1)
	}
	return nil
}

// parsePollModes reads --poll-mode: poll modes, comma-separated, each
// once; nil when it was not given.
func parsePollModes(cmd *cobra.Command, list string) ([]string, error) {
	if !cmd.Flags().Changed("poll-mode") {
		return nil, nil
	}
	var modes []string
	for _, m := range strings.Split(list, ",") {
		m = strings.TrimSpace(m)
		switch {
		case !slices.Contains(config.PollModes, m):
			return nil, fmt.Errorf("--poll-mode %q: %q is not a poll mode; give one or more of %s, comma-separated", list, m, strings.Join(config.PollModes, ", "))
		case slices.Contains(modes, m):
			return nil, fmt.Errorf("--poll-mode %q: %s is there twice; give each mode once", list, m)
		}
		modes = append(modes, m)
	}
	return modes, nil
}

// checkBenchFlags refuses flag values that make no sense before anything
// is measured: a duration, size or round count out of range, --rounds
// where nothing takes rounds, --workers for a scenario that runs one
// worker.
func checkBenchFlags(cmd *cobra.Command, scenario string, duration time.Duration, size, rounds int, apiCost bool) error {
	if duration <= 0 {
		return fmt.Errorf("--duration %v: give a positive duration such as 5s", duration)
	}
	if size < 42 || size > 1514 {
		return fmt.Errorf("--size %d: give a frame size from 42 to 1514 bytes (an Ethernet/IPv4/UDP frame without FCS)", size)
	}
	list := strings.Contains(scenario, ",") || scenario == bench.ScenarioTaps
	if cmd.Flags().Changed("rounds") {
		if !apiCost && !list {
			return errors.New("--rounds applies to --api-scrape and to a list of scenarios (--scenario a,b); drop it")
		}
		if rounds < 1 || rounds > bench.MaxRepeat {
			return fmt.Errorf("--rounds %d: give a number of rounds from 1 to %d", rounds, bench.MaxRepeat)
		}
	}
	if cmd.Flags().Changed("workers") {
		one := ""
		switch {
		case list:
			one = "a list of scenarios runs one worker each"
		case scenario == "overload":
			one = "the overload scenario runs one worker"
		case scenario == "veth" || scenario == "veth-overload" || scenario == "latency" || scenario == "soak" || scenario == bench.ScenarioNetlink:
			one = "the " + scenario + " scenario runs one softnet worker"
		case scenario == bench.ScenarioFilterSetup:
			one = "the filter-setup scenario measures one worker"
		}
		if one != "" {
			return fmt.Errorf("--workers: %s; drop --workers", one)
		}
	}
	return nil
}

// printScenarios prints a list of scenarios: each one's best round and
// every round's rate, then the ratios.
func printScenarios(out io.Writer, m *bench.Multi) {
	for _, r := range m.Runs {
		printResult(out, r)
		fmt.Fprintf(out, "\nrounds (Mpps): %s\n\n", floatList(m.Mpps[r.Scenario]))
	}
	ratios := make([]string, 0, len(m.Ratios))
	for k := range m.Ratios {
		ratios = append(ratios, k)
	}
	sort.Strings(ratios)
	for _, k := range ratios {
		fmt.Fprintf(out, "ratio %s: %.3f (best rounds), %.3f (interleaved polls, medians)\n", k, m.Ratios[k], m.InterleavedRatios[k])
	}
}

func printResult(w io.Writer, r *bench.Result) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "scenario\t%s\n", r.Scenario)
	fmt.Fprintf(tw, "workers\t%d\n", r.Workers)
	fmt.Fprintf(tw, "packet size\t%d bytes\n", r.PacketSize)
	fmt.Fprintf(tw, "routes\t%d\n", r.Routes)
	fmt.Fprintf(tw, "duration\t%.2f s\n", r.DurationS)
	fmt.Fprintf(tw, "forwarded\t%d packets\n", r.Packets)
	fmt.Fprintf(tw, "rate\t%.2f Mpps\n", r.Mpps)
	if len(r.RepeatsMpps) > 1 {
		fmt.Fprintf(tw, "runs\t%s Mpps (the median run is shown)\n", floatList(r.RepeatsMpps))
	}
	fmt.Fprintf(tw, "cost\t%.1f ns/packet\n", r.NsPerPacket)
	fmt.Fprintf(tw, "allocations\t%.3g per packet on the data path (%.3g in the whole process)\n", r.AllocsPerPacket, r.ProcessAllocsPerPacket)
	fmt.Fprintf(tw, "pinning\t%s\n", pinning(r))
	fmt.Fprintf(tw, "other load\t%.2f CPUs used by other processes during the run (steal %.2f)\n", r.OtherLoad, r.Steal)
	fmt.Fprintf(tw, "GC\t%s\n", gcText(r))
	tw.Flush()
	fmt.Fprintln(w)
	if len(r.Drops) == 0 {
		fmt.Fprintln(w, "drops: none")
	} else {
		fmt.Fprintln(w, "drops:")
		names := make([]string, 0, len(r.Drops))
		for n := range r.Drops {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, n := range names {
			fmt.Fprintf(w, "  %-40s %d\n", n, r.Drops[n])
		}
	}
	fmt.Fprintln(w)
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "stage\tcalls\tpackets\tpkts/call\tns/pkt\t")
	for _, s := range r.Stages {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%.1f\t%.2f\t\n", s.Name, s.Calls, s.Packets, s.PacketsPerCall, s.NsPerPacket)
	}
	tw.Flush()
}

// gcText is a run's GC figures for text output: "0.02% of the CPU time,
// 0 cycles".
func gcText(r *bench.Result) string {
	return fmt.Sprintf("%.2f%% of the CPU time, %d cycles during the run", 100*r.GCCPUShare, r.GCCycles)
}

// parseWorkers parses --workers: positive worker counts, comma-separated,
// each at most once.
func parseWorkers(s string) ([]int, error) {
	var counts []int
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		n, err := strconv.Atoi(f)
		if err != nil || n < 1 || n > bench.MaxWorkers {
			return nil, fmt.Errorf("--workers %q: %q is not a worker count; give counts from 1 to %d separated by commas, e.g. --workers 1,2", s, f, bench.MaxWorkers)
		}
		if slices.Contains(counts, n) {
			return nil, fmt.Errorf("--workers %q: %d is listed twice; give each count once", s, n)
		}
		counts = append(counts, n)
	}
	return counts, nil
}

// pinning says where a run's workers ran.
func pinning(r *bench.Result) string {
	if len(r.CPUs) == 0 {
		if r.Unpinned != "" {
			return r.Unpinned
		}
		return "workers unpinned"
	}
	if len(r.CPUs) == 1 {
		return fmt.Sprintf("the worker on CPU %d", r.CPUs[0])
	}
	return "worker i on the i-th of CPUs " + intList(r.CPUs, ",")
}

// floatList is rates for text output: "0.82 / 0.69 / 0.88".
func floatList(xs []float64) string {
	s := make([]string, len(xs))
	for i, x := range xs {
		s[i] = strconv.FormatFloat(x, 'f', 2, 64)
	}
	return strings.Join(s, " / ")
}

func intList(xs []int, sep string) string {
	s := make([]string, len(xs))
	for i, x := range xs {
		s[i] = strconv.Itoa(x)
	}
	return strings.Join(s, sep)
}

// printScaling prints a run over several worker counts: the setup once,
// then a row per count and the speedup over the first.
func printScaling(w io.Writer, rep *bench.Report) {
	r0 := rep.Runs[0]
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "scenario\t%s\n", rep.Scenario)
	fmt.Fprintf(tw, "packet size\t%d bytes\n", r0.PacketSize)
	fmt.Fprintf(tw, "routes\t%d\n", r0.Routes)
	fmt.Fprintf(tw, "duration\t%.2f s per count\n", r0.DurationS)
	fmt.Fprintf(tw, "gomaxprocs\t%d\n", r0.GOMAXPROCS)
	tw.Flush()
	fmt.Fprintln(w)
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "workers\tCPUs\tMpps\tper worker\tns/pkt\tallocs/pkt\tdrops\tother load\tGC %\tGC cycles\tspeedup\t")
	for _, r := range rep.Runs {
		cpus := "unpinned"
		if len(r.CPUs) > 0 {
			cpus = intList(r.CPUs, ",")
		}
		per := make([]string, len(r.WorkerMpps))
		for i, m := range r.WorkerMpps {
			per[i] = strconv.FormatFloat(m, 'f', 2, 64)
		}
		var drops uint64
		for _, d := range r.Drops {
			drops += d
		}
		fmt.Fprintf(tw, "%d\t%s\t%.2f\t%s\t%.1f\t%.3g\t%d\t%.2f\t%.2f\t%d\t%.2f×\t\n", r.Workers, cpus, r.Mpps,
			strings.Join(per, " "), r.NsPerPacket, r.AllocsPerPacket, drops, r.OtherLoad, 100*r.GCCPUShare, r.GCCycles, rep.Speedup[strconv.Itoa(r.Workers)])
	}
	tw.Flush()
	fmt.Fprintln(w, "\nother load: CPUs' worth of time other processes took during the run (a busy neighbour lowers the figures)")
	fmt.Fprintln(w, "GC %: the garbage collector's share of the CPU time GOMAXPROCS gave the process during the run; GC cycles: collections in it")
	for _, r := range rep.Runs {
		if len(r.RepeatsMpps) > 1 {
			fmt.Fprintf(w, "%d workers: runs %s Mpps (the median run is shown)\n", r.Workers, floatList(r.RepeatsMpps))
		}
	}
	for _, r := range rep.Runs {
		if r.Unpinned != "" {
			fmt.Fprintf(w, "\n%d workers: %s\n", r.Workers, r.Unpinned)
		}
	}
}

// printSideBySide prints the --api-scrape measurement.
func printSideBySide(w io.Writer, sb *bench.SideBySide) {
	r0 := sb.Off[0]
	fmt.Fprintf(w, "scenario %s, %d worker(s), %d routes, %d-byte frames, %.1f s per run\n", sb.Scenario, r0.Workers, r0.Routes, r0.PacketSize, r0.DurationS)
	fmt.Fprintf(w, "on: %s\n\n", sb.Side)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "round\toff Mpps\ton Mpps\ton/off\toff Mpps/CPU\ton Mpps/CPU\ton/off\tother load off/on\t")
	for i := range sb.Off {
		off, on := sb.Off[i], sb.On[i]
		fmt.Fprintf(tw, "%d\t%.3f\t%.3f\t%.4f\t%.3f\t%.3f\t%.4f\t%.2f / %.2f\t\n", i+1, off.Mpps, on.Mpps, on.Mpps/off.Mpps,
			off.MppsPerCPU, on.MppsPerCPU, on.MppsPerCPU/max(off.MppsPerCPU, 1e-9), off.OtherLoad, on.OtherLoad)
	}
	fmt.Fprintf(tw, "median\t\t\t%.4f\t\t\t%.4f\t\t\n", sb.MedianRatio, sb.PerCPURatio)
	tw.Flush()
	fmt.Fprintln(w)
	for i, n := range sb.OnNotes {
		fmt.Fprintf(w, "round %d scrapes: %s\n", i+1, n)
	}
	fmt.Fprintf(w, "\nAPI cost: %.2f%% of forwarded Mpps, %.2f%% of Mpps per CPU-second of softnet (medians of the rounds' on/off ratios; goal: < 2%%)\n", sb.CostPercent, sb.PerCPUCost)
	fmt.Fprintln(w, "other load: CPUs' worth of time other processes took during the run; they move Mpps, much less Mpps per CPU")
}

// printOverload prints the overload scenario: the capacity, a row per
// offered load, and the plateau.
func printOverload(w io.Writer, rep *bench.OverloadReport) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "scenario\t%s\n", rep.Scenario)
	fmt.Fprintf(tw, "capacity\t%.2f Mpps (ip4-forward, 1 worker)\n", rep.CapacityMpps)
	fmt.Fprintf(tw, "ring\t%d slots, one ARP request in %d frames\n", rep.Ring, rep.ARPEvery)
	fmt.Fprintf(tw, "routes\t%d\n", rep.Routes)
	tw.Flush()
	fmt.Fprintln(w)
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "load\toffered Mpps\tforwarded Mpps\tifq drops\tlivelocks\tbusy polls\tARP offered\tring-dropped\tin ring\tanswered\tdrops\tother load\tGC %\tGC cycles\t")
	for _, r := range rep.Runs {
		var drops uint64
		for _, d := range r.Drops {
			drops += d
		}
		fmt.Fprintf(tw, "%g×\t%.2f\t%.2f\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%.2f\t%.2f\t%d\t\n", r.Load, r.OfferedMpps, r.ForwardedMpps,
			r.IfqDrops, r.Livelocks, r.BusyPolls, r.ARPRequestsOffered, r.ARPRequestsIfqDropped, r.ARPRequestsInRing, r.ARPRepliesSent, drops, r.OtherLoad, 100*r.GCCPUShare, r.GCCycles)
	}
	tw.Flush()
	fmt.Fprintln(w, "\nARP offered = ring-dropped + in ring (left in the ring when a slice stopped, never polled) + answered")
	if rep.Plateau > 0 {
		fmt.Fprintf(w, "\nplateau %.3f (forwarded at 2× / at 1×; ≥ 0.95 is flat)\n", rep.Plateau)
	}
}

// checkPlotFile says whether --plot FILE can be written: not a directory,
// in a directory where a file can be created (what benchplot.Save does).
func checkPlotFile(name string) error {
	if st, err := os.Stat(name); err == nil && st.IsDir() {
		return fmt.Errorf("--plot %s: is a directory: give a file name such as %s", name, filepath.Join(name, "bench.png"))
	}
	f, err := os.CreateTemp(filepath.Dir(name), ".plot-*.png")
	if err != nil {
		return fmt.Errorf("--plot %s: cannot write there (%v): create the directory or choose another file", name, err)
	}
	f.Close()
	os.Remove(f.Name())
	return nil
}
