// Package linuxcp mirrors the routing tables of a Linux network namespace
// into softnet (as VPP's linux-cp does): routing daemons (FRR, BIRD) and
// ip route keep the control plane in Linux, and softnet forwards along
// their routes. It follows routes (IPv4 and IPv6, multipath with weights)
// the nexthop objects they use (ip nexthop), the link state of the
// namespace's interfaces, and their neighbours and addresses through
// rtnetlink (RTMGRP_LINK, RTMGRP_IPV4_ROUTE, RTMGRP_IPV6_ROUTE,
// RTNLGRP_NEXTHOP, RTNLGRP_NEIGH, RTNLGRP_IPV4_IFADDR,
// RTNLGRP_IPV6_IFADDR), and applies them to a control.Router with
// ApplyKernel (ApplyKernelNeighbors, ApplyKernelAddrs): a kernel interface maps to the
// softnet interface of the same name, the mirrored namespace's interfaces
// having softnet's names and addresses.
//
// # Reader, queue, applier
//
// A reader goroutine reads the notification socket (its receive buffer
// set with SO_RCVBUFFORCE, DefaultRcvBuf: 256 MiB) and appends what it
// reads to a queue; it never waits on the router, so a router busy with a
// large batch does not make the kernel drop notifications. Each
// notification is a datagram of its own: the reader takes up to 256 with
// one recvmmsg and parses route messages in place (no allocation but a
// route's next hops); dumps are parsed as they are read, not gathered
// into one buffer first; routes through the same next hop share one Hops
// list (no allocation a route). An applier
// goroutine takes the whole queue (at most Options.MaxBatch events) and
// applies it as one batch: one ApplyKernel call, one published snapshot,
// however many routes changed. Within a batch only the last state of each
// prefix counts. The batch is the slices the reader queued, not a copy,
// and they go back to the reader once applied (Recycler), to be read into
// again.
//
// The applier's view of a prefix (the kernel's routes to it, what softnet
// was given) is one entry of a chunked slab, found through one map from a
// compact 18-byte key that holds no pointer (view.go); a batch's prefixes
// are a list of entries. Measured (BenchmarkApplyFullTable: the whole
// table, 1,062,046 routes, applied in batches of 65,536 to a
// control.Router, GOGC 400 as softnet runs; CPU time of the process, the
// collector's included, on the shared 2-core VM at load 7.5-8): 3.0 µs a
// route all in (the mirror, ApplyKernel, the FIBs, the snapshots), the
// mirror alone 0.61 µs, against 8.5 µs and 4.4 µs with the mirror's three
// maps keyed by netip.Prefix (the kernel's routes, what softnet was given,
// the batch's prefixes; 1,233 bytes allocated a route, 412 now) and the
// router's kernel routes keyed by netip.Prefix with their protocol's
// string (control's kkey now). What is left is mostly ApplyKernel's and
// the FIBs' map and trie accesses, DRAM misses for a million random
// prefixes. In softnet bench --scenario netlink-full-table (same hour,
// load 7.7-8.4) softnet's lag behind the kernel's insertion went from
// 8.6 s to 1.2 s (converge_s 25.3 s to 12.5 s; the kernel's own insertion
// took 16.7 s and 11.3 s of it).
// Then the view's index and control's kernel routes went into
// fib.PrefixMap (one probe to insert a route, slots prefetched 16 routes
// ahead, on huge pages once large). Against the code before, alternated
// in one session (December 7 15:47-15:52, load 2.8-4.7, GOGC 400, three
// processes each, two runs a process): batches of 65,536 took 2,653-3,108
// cpu-ns a route in a process's first run, 1,516-1,652 in its second, now
// 1,832-2,154 and 1,096-1,117; batches of 4,096 1,635-2,133, now
// 1,119-1,345; the mirror alone 578-740, now 357-434; 606 MB allocated,
// now 398. A process's first run pays a page fault for each page of fresh
// memory (several µs each on this VM), as softnet does on its first full
// table. netlink-full-table, two runs each alternated (15:43-15:46, load
// 4-6): lag_s 1.59 and 2.26 s, now 0.47 and 0.53; converge_s 11.71 and
// 11.25, now 9.65 and 10.56 (the kernel's insertion 10.12, 8.99, 9.18,
// 10.02 s of them).
//
// # Mark and sweep
//
// At Start, and whenever the socket overflowed (recvmsg returned
// ENOBUFS: notifications were lost) or a notification was longer than the
// reader's 32 KiB buffer (MSG_TRUNC: what it said was lost), the applier
// dumps the namespace's
// links, nexthop objects, routes, neighbours and addresses (RTM_GETLINK,
// RTM_GETNEXTHOP, RTM_GETROUTE, RTM_GETNEIGH, RTM_GETADDR on a socket of
// its own),
// replaces its view of the kernel with the dump, and compares every
// prefix the kernel has (mark) and every prefix softnet was given
// (sweep): a route that is the same in both is not touched, one that
// differs is set, one the kernel no longer has is deleted, all in one
// batch. Traffic to routes that did not change is never disturbed.
// On ENOBUFS the reader first discards what the socket still holds (the
// notifications from before the loss, which the dump supersedes and which
// would otherwise be applied after it, stale), so what it reads afterwards
// is a run of notifications with no gap, newer than the discarded: they
// are applied after the dump, the last one for a prefix winning.
//
// # What is mirrored
//
// Unicast routes of the tables in Options.Tables (default main, 254), of
// the protocols in Options.Protocols (default all), through the
// interfaces in Options.Interfaces (default every kernel interface softnet
// has: a next hop through another is left out, and a route with no next
// hop left is not mirrored). Blackhole, unreachable and prohibit routes
// become softnet blackholes. Local, broadcast, multicast and cloned
// routes, and IPv6 link-local and multicast prefixes, are not mirrored;
// the kernel's connected routes of the mirrored interfaces are the
// router's own routes in softnet too (control reports them as shadowed).
// When a prefix is in several tables or with several metrics, the lowest
// metric (then the lowest table) wins, as the kernel's lookup would.
//
// A next hop whose kernel link is down (IFF_UP and IFF_RUNNING not both
// set), or that the kernel marks dead or linkdown, is left out of its
// route at once: the mirror recomputes every route through a link when
// the link's state changes, whether or not the kernel sends route
// notifications (for IPv4 multipath it does not). A route with several
// next hops is an ECMP group in softnet (control.NextHop weights:
// rtnh_hops + 1).
//
// # Nexthop objects
//
// A route with RTA_NH_ID (FRR 8+'s default, ip route ... nhid N) takes
// its next hops from nexthop object N (RTM_NEWNEXTHOP, dumped with
// RTM_GETNEXTHOP before the routes at each resync): one next hop, a
// blackhole, or a group of objects with weights. The mirror keeps the
// objects and does not rely on the kernel's expansion of them in route
// messages (net.ipv4.nexthop_compat_mode, which a daemon may turn off):
// a replaced object moves every route on it and every group holding it;
// a deleted one leaves its groups (a group left empty goes too) and takes
// its routes; and a link that goes down takes its objects and their
// routes, as the kernel does without a notification (they do not come
// back with the link: a daemon adds them again).
//
// # Host interfaces
//
// As VPP's "lcp create": for each softnet interface of linux_cp's
// host_interfaces (VLAN sub-interfaces included), OpenHostIfs makes a TAP
// in the namespace (the interface's name, or the one the config gives:
// Options.Names maps it back for the mirror) with the interface's MAC,
// MTU and addresses (IPv4 and IPv6, the latter without duplicate address
// detection), administratively up, with carrier (TUNSETCARRIER) only
// while softnet's interface is up (HostIfs.SetUp, from run's link
// watcher), so the daemons see the link as softnet's port is. The routing
// daemons bind to these: BIRD's or FRR's BGP, OSPF and BFD speak through
// softnet's ports even on AF_XDP, where the namespace's kernel sees none
// of the port's frames.
//
// What reaches the TAP: what the data plane does not answer itself, for
// the router's addresses, received on an interface with a host interface
// (package dp/hostpunt: TCP, UDP, ICMP other than echo, other protocols
// such as OSPF, fragments, link-scoped multicast such as 224.0.0.5 and
// ff02::5; IPv6 to the link-local address too, which the TAP shares since
// it has the same MAC), rate-limited per worker and class and counted;
// and copies of the ARP replies and Neighbor Advertisements addressed to
// the router, so that the kernel resolves its own neighbours (softnet
// keeps answering ARP and Neighbor Solicitations itself, unless linux_cp's
// arp_nd is linux: then those for the host interfaces' addresses go to
// the TAP instead, and the kernel answers; control's SetHostNeighbors,
// dp.Iface.HostNeigh). The control
// plane writes them to the TAP (HostIfs.Write: one non-blocking write,
// on its service loop, off the workers). A reader goroutine per TAP
// hands each frame the kernel sends on it to control's SendHostFrame,
// which sends it out of softnet's interface as it is (a VLAN
// sub-interface's tags added) through a worker's inject ring.
//
// Measured (shared 2-core VM, softnet on AF_XDP, one worker; e2e
// TestHostIfBGP and TestHostIfTCP): the punt path is no bottleneck for
// a BGP session of 100,000 prefixes. BIRD in the host interfaces'
// namespace took 100,000 two-path prefixes from two GoBGP peers through
// the TAPs into softnet's FIB 81.8 s and 107.8 s (two runs) after the
// injection began, against 114.7 s with BIRD on the router namespace's
// kernel interfaces (AF_PACKET ports sharing them): GoBGP's mrt inject
// is most of it (79.1 s and 105.2 s). A BIRD restart, the sessions again
// through the TAPs, was back to a FIB equal to the kernel's in 20.8 s
// and 44.5 s. GoBGP sends a table as ~38,000 frames a session (76,655
// to host-wan1 for the table twice): during the restart ~1,800 a second
// a session, 3,700 for both, under the punt rate limit. Bulk TCP to a
// host interface's address (iperf3 from a neighbour to H, every segment
// punted) runs at 0.12-0.13 Gbit/s: that is the per-class punt rate
// limit (dp.DefaultHostRate, 10,000 packets a second per worker, ~10,700
// TCP segments a second were punted); with
// the limit lifted (punt_rate: 10000000) 0.36-0.45 Gbit/s, 30,000-40,000
// frames a second through the control plane's lock, one copy each and
// the TAP. So the frames keep the lock and the copy: the rate limit
// comes first. It is shared by every session on a worker: a peer that
// sends a full table (~900,000 prefixes, ~350,000 frames at GoBGP's
// packing) at line rate needs 35 s at the default; raise punt_rate for
// that.
//
// # Neighbours and addresses
//
// The neighbours (IPv4 ARP and IPv6 ND entries, RTM_NEWNEIGH and
// RTM_DELNEIGH) and addresses (RTM_NEWADDR, RTM_DELADDR) of the mirrored
// interfaces (those a route may go through: Options.Interfaces, Names)
// are followed in the same batches as the routes: each batch gives
// softnet its address changes first (ApplyKernelAddrs: a connected route
// of a new address is then the router's own, the kernel's copy of it
// shadowed), then its routes, then its neighbour changes
// (ApplyKernelNeighbors: a neighbour must be on a subnet of its
// interface); one snapshot each, none per notification. A resync
// compares them as it does the routes: only what differs is changed.
// Link-local (IPv6 fe80::/10: softnet has its own link-local address;
// IPv4 169.254.0.0/16) and multicast neighbours and addresses are not
// mirrored (mirroredAddr).
//
// A neighbour with a MAC in a usable state (permanent, noarp, reachable,
// stale, delay, probe) is a control.KernelNeighbor: softnet's entry for
// the address (neigh.Kernel, show neighbors' source kernel) through
// which it forwards without resolving the next hop; failed, incomplete or
// deleted, it is taken away, and softnet resolves the address itself
// again (whatever arp_nd: with linux, Linux answers for the router's
// addresses, softnet still resolves its own next hops). A static
// neighbour (config, softnet neighbor add) wins over the kernel's, the
// kernel's over a learned one (control's doc, kmirror.go).
//
// An address of a mirrored interface is the softnet interface's, beside
// its configured ones (local delivery, connected route, ARP and ND
// answers); deleted in the kernel, it goes. Configured addresses are
// never removed by the kernel: a host interface is created with them, and
// an ip addr del of one changes nothing in softnet. There is no feedback
// loop with the host interfaces: they copy softnet's configured addresses
// once, when they are created (which the mirror then sees as addresses
// softnet has), and nothing copies an address from softnet to the kernel
// afterwards.
//
// Hot path: no. Concurrency: a Mirror runs two goroutines of its own
// (package run gives the Go runtime a P for them beside the workers');
// Stats is safe to call from any goroutine. Close stops both; the routes
// it installed stay in the router. HostIfs runs a reader goroutine per
// TAP; Write, SetUp and Stats are safe from any goroutine; Close deletes
// the TAPs and stops the readers.
package linuxcp
