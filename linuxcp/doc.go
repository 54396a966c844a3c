// Package linuxcp mirrors the routing tables of a Linux network namespace
// into softnet (as VPP's linux-cp does): routing daemons (FRR, BIRD) and
// ip route keep the control plane in Linux, and softnet forwards along
// their routes. It follows routes (IPv4 and IPv6, multipath with weights)
// the nexthop objects they use (ip nexthop), and the link state of the
// namespace's interfaces through rtnetlink (RTMGRP_LINK,
// RTMGRP_IPV4_ROUTE, RTMGRP_IPV6_ROUTE, RTNLGRP_NEXTHOP), and applies them to
// a control.Router with ApplyKernel: a kernel interface maps to the
// softnet interface of the same name, the mirrored namespace's interfaces
// having softnet's names and addresses.
//
// # Reader, queue, applier
//
// A reader goroutine reads the notification socket (its receive buffer
// set with SO_RCVBUFFORCE, DefaultRcvBuf: 64 MiB) and appends what it
// reads to a queue; it never waits on the router, so a router busy with a
// large batch does not make the kernel drop notifications. An applier
// goroutine takes the whole queue (at most Options.MaxBatch events) and
// applies it as one batch: one ApplyKernel call, one published snapshot,
// however many routes changed. Within a batch only the last state of each
// prefix counts.
//
// # Mark and sweep
//
// At Start, and whenever the socket overflowed (recvmsg returned
// ENOBUFS: notifications were lost), the applier dumps the namespace's
// links, nexthop objects and routes (RTM_GETLINK, RTM_GETNEXTHOP,
// RTM_GETROUTE on a socket of its own),
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
// Not yet: neighbours and addresses (softnet resolves its next hops with
// its own ARP; the addresses are softnet's config) and host interfaces
// (the TAPs through which daemons would speak on softnet's ports).
//
// Hot path: no. Concurrency: a Mirror runs two goroutines of its own;
// Stats is safe to call from any goroutine. Close stops both; the routes
// it installed stay in the router.
package linuxcp
