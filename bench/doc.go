// Package bench runs softnet's benchmark scenarios on in-memory ports and
// reports figures a person and a script can read: the packets forwarded,
// Mpps, ns per packet, allocations per packet, drops by reason, the
// per-stage runtime (VPP's "show runtime"), and the garbage collector's
// share of the CPU time during the run and its cycles (Result.GCCPUShare,
// GCCycles: runtime/metrics read after a collection forced before the
// timed run and at its end; the runtime updates its CPU classes when a
// cycle ends, so they count the cycles that completed in the run).
//
// Scenarios:
//
//   - ip4-forward: 64-byte IPv4/UDP frames from a generator port to a sink
//     port through the full IPv4 table (901,899 prefixes, 16 next hops on
//     the egress subnet, static neighbours); destinations drawn at random
//     from the table, random UDP source ports. The same workload runs
//     through gVisor's netstack in the separate module bench/peers.
//   - ip6-forward: the same with 64-byte IPv6/UDP frames through the full
//     IPv6 table of the same file, 16 static IPv6 neighbours (no Neighbor
//     Discovery yet); compared with ip4-forward (ip6-forward/ip4-forward).
//     Options.Workers measures several worker counts in one run on the
//     same table: worker i polls generator queue i (its own cursor and
//     template offset) and sends on sink queue i, pinned to the i-th
//     allowed CPU, so the workers share no written cache line; the
//     Report gives each count's figures and its speedup over the first.
//   - veth (root): host A ─ router ─ host B in network namespaces, run
//     twice in one invocation, Linux forwarding then softnet on AF_PACKET
//     or AF_XDP, with a source flooding 64-byte UDP from A (pinned to CPU
//     0; softnet on CPU 1) to a sink next hop on B's link; reports both
//     rates, their ratio, loss, softnet's counters and an iperf3 TCP
//     figure (Gbit/s, retransmits) for each. First it measures each
//     source's limit (generator_limits_mpps: the flood dropped by an XDP
//     program on the router's ingress veth, what the source alone pushes
//     in): trafgen and softnet's XDP generator (lab.XDPGen, BPF_PROG_RUN
//     in live-frames mode redirecting a prebuilt frame into A's veth), and
//     the one that pushes more per second of its CPU sends every flood
//     after (VethOptions.Source; source_name and source say which).
//   - latency (root, RunLatency): the same topology; from host A, ICMP
//     echo requests to host B on a raw socket (icmpProbe, ~200 a second),
//     timed by the kernel's TX and RX stamps on host A's veth, through
//     softnet and then Linux, alone and during a steady
//     64-byte flood (pacedFlood) at half of softnet's capacity measured
//     first with trafgen; p50, p99, samples and losses per router and
//     load, one JSON line each. Before the routers it measures the
//     platform's floor (measureWake: an eventfd wake-up round trip between
//     two idle threads across CPUs and on softnet's CPU, in every line);
//     LatencyOptions.PinProber sends the probes from a thread pinned to a
//     CPU (softnet bench --prober-cpu), as an interrupt pinned to the
//     worker's core would deliver them.
//   - soak (root, RunSoak): the same topology with a third link (rc) and
//     the full table on it; a flow through a route and a link nothing
//     touches, counted on host B, while a churn driver works the control
//     API (VLANs, routes, neighbours, link flaps, a link deleted and
//     re-created, reloads, full-table replaces, traces, scrapes); then
//     the router's heap, goroutines, descriptors, adjacencies and buffers
//     at the end against the start, each within a stated bound
//     (DefaultSoakBounds). docs/faults.md has what each fault may cost.
//   - netlink-full-table (root, RunNetlink): the same topology, softnet
//     with linux_cp mirroring the router namespace's main table; the
//     embedded table (IPv4 and IPv6) goes into that namespace's kernel in
//     one burst of RTM_NEWROUTE messages, many to a sendmsg, while a flood
//     runs (lab.Topology.RunFloodWhile), until softnet's FIB equals the
//     kernel's (counts, a sample compared prefix by prefix, the kernel's
//     dump): converge_s, and the forwarding rate before and during;
//     install_s, the kernel's own insertion, and lag_s, converge_s less
//     install_s. The whole softnet process runs on CPU 1 (taskset);
//     NetlinkOptions.SplitCPUs (--split-cpus) gives it every CPU, its
//     worker pinned to CPU 1 and its control plane kept on CPU 0 with
//     trafgen (softnet run --control-cpus 1), which on a 2-CPU machine
//     starves the applier (300,000 routes: lag_s 12.7 s against 0.2 s);
//     NetlinkOptions.PinWorker (--pin-worker) pins the worker to CPU 1
//     above softnet's other threads, which may run on either CPU
//     (softnet run --worker-cpus 1). The result's cpus says where each
//     thing ran, and its cpu_before and cpu_during (NetlinkCPU) where the
//     CPU time went: the worker, softnet's other threads, trafgen, the
//     route writer (the kernel's insertion), the rest of the machine.
//
// Options.Repeat runs each worker count several times; the Result is the
// median run's, with every run's Mpps in RepeatsMpps. Package bench/plot
// draws a Report (and peer results) as a PNG bar chart for softnet bench
// --plot.
//
// Hot path: the scenario's worker is; the harness around it is not.
package bench
