// Package lab builds softnet's network lab and proves that real traffic
// crosses a softnet router: three network namespaces joined by two veth
// pairs,
//
//	host A (a0 10.11.1.2/24) ── ra [router] rb ── (b0 10.11.2.2/24) host B
//	                          10.11.1.1    10.11.2.1
//
// with softnet started as a subprocess in the router namespace on two
// AF_XDP interfaces when the kernel allows, else AF_PACKET (Options.Backend;
// or Linux forwarding there instead, for
// comparison), and the real tools run against it: ping, iperf3 (TCP and
// UDP) and a trafgen 64-byte UDP flood counted on B's interface.
//
// For benchmarks the same flood has a cheaper source, XDPGen
// (RunXDPFlood): an XDP program run by BPF_PROG_RUN in live-frames mode
// redirects one prebuilt frame into a0, with no socket and no skb on the
// sender, and counts exactly what it redirected. Veth takes redirected
// frames only when the receiving end has an XDP program: softnet's own on
// AF_XDP, DropAtRouter's, or PassAtRouter's XDP_PASS for Linux and
// AF_PACKET. The kernel recycles the frames' pages without copying the
// frame in again, so the program writes the headers back on every run
// (Linux forwarding rewrites them in place).
//
// Namespaces are named "sn-lab-<pid>-<n>-{a,r,b}": unique per process and
// topology, so parallel runs do not clash, and a crashed run's leftovers
// (whose pid is gone) are removed by CleanStale. Every veth is created
// directly inside the lab's namespaces, so the host's interfaces and
// routes are never touched, and traffic never leaves the lab.
//
// IPv6 is off in every namespace unless a test turns it on in the hosts
// (Topology.EnableIPv6: fd11:1::/64 and fd11:2::/64, with Extra.IPv6
// giving the router its addresses on both); the router namespace's
// kernel keeps it off, so only softnet answers Neighbor Discovery.
//
// Hot path: no. A Topology is used from one goroutine at a time; the
// commands it runs are subprocesses in their own process groups, stopped
// (SIGINT, then SIGKILL) when their context is cancelled. Needs root.
package lab
