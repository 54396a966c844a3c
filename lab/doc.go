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
// Namespaces are named "sn-lab-<pid>-<n>-{a,r,b}": unique per process and
// topology, so parallel runs do not clash, and a crashed run's leftovers
// (whose pid is gone) are removed by CleanStale. Every veth is created
// directly inside the lab's namespaces, so the host's interfaces and
// routes are never touched, and traffic never leaves the lab.
//
// Hot path: no. A Topology is used from one goroutine at a time; the
// commands it runs are subprocesses in their own process groups, stopped
// (SIGINT, then SIGKILL) when their context is cancelled. Needs root.
package lab
