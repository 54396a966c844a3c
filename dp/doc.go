// Package dp is softnet's data-plane engine: the worker loop, the node
// registry and graph assembly, feature arcs, vectors, software RSS,
// idling, pinning, per-worker counters, the trace hooks, and the two
// nodes every graph ends in (interface-output, drop). The protocol nodes
// live in their own packages, which register with this one and which it
// names nowhere: dp/ethernet (ethernet-input, VLAN demux), dp/arp
// (arp-input), dp/ip4 (ip4-*, icmp4-error), dp/l2 (l2-bridge).
// dp/nodes imports them all: the router's whole graph.
//
// Hot path: yes, all of it. Per packet there is no allocation, no lock, no
// syscall, no interface call and no channel operation; nodes are plain
// functions called once per vector through the node table.
//
// # Worker
//
// A Worker owns a buffer pool, one input vector per stage, a transmit
// vector per interface and its counters. Poll drains the control plane's
// inject ring, loads the published Config once, then for each receive
// queue takes up to 256 frames and runs them to completion through the
// stages and out of the ports. Run polls on a locked OS thread with an
// idle back-off, pinned to one CPU when Options.Pin asks (Start reports a
// CPU the process may not use; AllowedCPUs lists those it may).
// KeepOnCPUs confines every other thread of the process (and those the Go
// runtime starts later) to other CPUs, the workers' threads (ThreadID)
// keeping theirs: package run's ControlCPUs, softnet run --control-cpus.
// Options.Nice sets the worker thread's nice value (softnet run
// --worker-nice, -10 by default): the kernel then gives the worker its
// CPU before the process's threads at nice 0, the control plane's burst
// of work (a full table from linux_cp) taking what it leaves.
//
// # Idling
//
// What a worker with nothing to do does is its poll mode (Options.PollMode,
// the config's poll_mode; idle.go), as VPP's rx-mode: interrupt (the
// default) sleeps after a few µs of nothing; adaptive keeps polling for a
// window after its last frame (500 µs unless Options.PollWindow says),
// calling sched_yield(2) every 16 empty polls, then sleeps; polling never
// sleeps. To sleep: when every
// receive queue it polls is a port.Waiter with a descriptor, it blocks in
// poll(2) on those descriptors and on its own eventfd, for at most 100 ms,
// and wakes within microseconds of a frame; a Waiter queue that is down
// (no descriptor) is left out and the timeout cut to 10 ms, so its Recv
// still runs to reopen it. Otherwise (a pcap replay, a generator) it naps 20 µs per empty poll with nanosleep and a 1 µs timer
// slack (time.Sleep would round up to about 1 ms on a locked thread).
// Work that comes without a port wakes it through the eventfd, without a
// lost wake-up and without a system call while it is awake: the inject
// ring (Ring.Commit), software RSS lanes and their buffer returns, Stop.
// The worker publishes sleeping, re-checks its rings, lanes and stop
// flag, then polls; a producer commits, then writes the eventfd only if
// it sees sleeping. Under load the gaps between batches stay below the
// adaptive window, so a busy adaptive worker makes no system call to
// idle. The other way, a poll
// that punted rings the control plane's Bell (Ring.Notify, set by
// control's AttachWorkers) once, not per packet: one atomic load while
// the control plane is awake, a channel send when it sleeps.
//
// # Nodes and the graph
//
// Each node registers itself from its own package (node.go, Register)
// in a package-level var: its name, its per-vector function, its next
// nodes, its drop reasons with descriptions, the arc it may be enabled on
// if it is a feature, its trace formatter (NodeTrace), and optionally a
// constructor of its per-worker state (Node.State: tables, scratch,
// buckets) and the control-plane messages it takes (Node.Inject).
// Register sets the node's Stage and its Reason values through pointers;
// a node names a successor of another package by Ref (a Stage variable
// set at assembly) and another node's reason by RefReason, so it never
// imports its successors. The engine API a node uses, all of it inlined
// into the caller: w.To(s, b) (one packet to node s), w.Drop(b, r),
// w.Pass(s, next, k) (the first k packets of its vector, compacted in
// place, by swapping vectors), w.Next(s, b) (a feature's next node on its
// arc), w.State(s) (once per vector), w.Stats() (the private counters),
// w.Pool(), w.Punt(), w.Output/OutputRoom/CanSend (interface-output),
// w.RxIface, w.General.
//
// The graph is assembled as packages register, and completed at the
// first NewWorker: names unique, every next node and Ref registered (a
// missing one panics naming it and the dp/nodes import), and the dispatch
// order derived from the Next edges (each node before those it hands to;
// Back edges, which close a cycle, wait for the next pass). A worker runs
// the pending vectors in that order through the node table: one call per
// vector, no switch. The router's graph, with each node's package and
// next nodes (Back edges marked <-):
//
//	ethernet-input   (dp/ethernet) -> l2-bridge, arp-input, ip4-input, drop
//	l2-bridge        (dp/l2)       -> interface-output, arp-input, ip4-input, ip6-input (BVI), drop
//	arp-input        (dp/arp)      -> interface-output (replies), drop (learning punted)
//	ip4-input        (dp/ip4)      -> ip4-lookup, host-punt, drop
//	ip4-lookup       (dp/ip4)      -> ip4-local, ip4-rewrite, icmp4-error, drop
//	ip4-local        (dp/ip4)      -> icmp4-error, host-punt, drop; <- ip4-lookup (echo replies)
//	ip4-rewrite      (dp/ip4)      -> interface-output, ip4-arp, ip4-frag, icmp4-error, drop
//	ip4-arp          (dp/ip4)      -> (control plane), drop
//	ip4-frag         (dp/ip4)      -> interface-output, drop
//	host-punt        (dp/hostpunt) -> (control plane: linux_cp's host interfaces), drop
//	interface-output (dp)          -> (port), drop; <- l2-bridge (BVI); pads frames to MinFrame (60)
//	icmp4-error      (dp/ip4)      -> drop; <- ip4-lookup
//	drop             (dp)          -> (pool)
//
// Each node is called once per pass with its whole input vector and
// sorts packets to next nodes: the common next node gets the vector
// compacted in place and handed on (Pass); others get single packets
// (To, Drop). A node has a doc block in its file: what it does, the RFCs
// it follows, its next nodes; each protocol package's doc.go lists its
// nodes, edges and reasons. show runtime, show errors, the metrics and
// traces list whatever is registered (Stages, Reasons); dp/nodes'
// TestGraph pins that list.
//
// # Feature arcs
//
// An arc (arc.go) is a fixed point of the graph where optional nodes may
// run for some interfaces: the engine's device-input (received batches,
// before ethernet-input, by receiving port) and interface-output (the
// vectors ip4-rewrite and l2-bridge hand to interface-output, by egress
// interface), and those protocol packages define (DefineArc): dp/ip4's
// ip4-unicast (what ip4-input accepts, before ip4-lookup, by receiving
// interface) and dp/ip6's ip6-unicast (the same before ip6-lookup), where
// dp/filter's ip4-filter and ip6-filter run. A feature node names its arc in
// its registration; Iface.Features in the published Config lists, per
// interface and in order, the features it runs, so enabling one on one
// interface is one snapshot publish (control.Router.SetFeatures). A worker
// compiles the lists when it first sees a Config; with no feature on an
// arc, crossing it costs one byte load per vector; with features, each
// packet picks its next node by a table index from its interface
// (Worker.Next), no indirect call.
//
// Adding a node: a folder (package) with its Register call and its Run
// function, and its import in dp/nodes (see README "Adding a node"); for
// a feature, Arc places it on an arc; for a node of the fixed graph, its
// name in the Next list of the nodes that hand it packets. Nothing else
// in dp, control, api or cmd changes.
//
// The common cases run in fast loops without calls (etherFast,
// etherVLANFast, ip4InputFast, lookupFast, rewriteFast, ip6InputFast and
// ip6-lookup's lookupFast) that stop at the
// first packet needing the general path; they must behave exactly as the
// general path does, which the differential test checks (fastpath_test.go:
// the same frames through a worker with and without them give the same
// frames and counters).
//
// # VLANs
//
// A VLAN sub-interface (802.1Q, or 802.1ad QinQ) is an ordinary interface
// of Config.Ifaces that receives and transmits on its parent's port. In
// ethernet-input a tagged frame's interface is a direct index into its
// port's VLANTable (no list scan, no map); ip4-rewrite writes the tags
// as part of the adjacency's ready-made Ethernet header (Adj.L2), one
// fixed-size store whether tagged or not (see vlan.go here for the
// tables, dp/ethernet for the demux). Bad tags drop with their
// own reasons (vlan-unknown, vlan-reserved, vlan-stacked-priority,
// vlan-too-deep, vlan-truncated). Per-interface counters grow when a
// config brings more interfaces; with many interfaces they are published
// less often (see ifPublishEvery), and completely once per idle streak.
//
// # Addresses
//
// The metadata and the published Config carry IPv4 and IPv6 alike, so
// IPv6 is a new folder of nodes, not a change to these types: pkt.Meta.Dst,
// Msg.Addr, Adj.Addr and IfaceAddr.Addr are 16 bytes, an IPv4 address
// IPv4-mapped (::ffff:a.b.c.d; Mapped4, Msg.SetAddr4, Meta.SetDst4), and
// an adjacency's rewrite ends with its own EtherType (0x0800 or 0x86DD).
// The ip4 nodes read what they need as a uint32 without a conversion per
// packet: Iface.Addr4 (the ICMP error source), IfaceAddr.Addr4 and
// Adj.Addr4; Iface.Addr6 is the usual ICMPv6 error source of the ip6
// nodes (dp/ip6, which picks another as RFC 4443 §2.2 asks: see its
// doc), which look up Config.FIB6, the IPv6 FIB.
//
// # Ownership
//
// Vectors hold buffer indices (pkt.Batch); a stage turns a slot into its
// record with pkt.At or Batch.Buf and compacts the indices it passes on
// in place. A buffer index is in exactly one place: a stage's vector, a
// transmit vector, a port (after Send), a software RSS lane ring
// (BufRing: the forward ring to the owning worker, or the return ring
// carrying free buffers back), or a pool (after drop or transmit). Stages
// take ownership of their input vector's buffers and must leave it empty.
// The worker's pool is a slice of an arena the caller made before opening
// the ports (Options.Pool; NewWorker makes its own when nil); indices are
// global, so buffers handed over by software RSS go back to whichever pool
// frees them, and each lane's return ring keeps both pools' sizes.
// Packets crossing to the control plane are copied into ring slots (Msg)
// and their buffers freed: only lanes move buffers between goroutines.
//
// # Concurrency
//
// A Worker is used by one goroutine. It shares with others only: the
// published *Config (read-only, loaded atomically once per batch), its
// two single-producer single-consumer rings with the control plane, and
// its published counters (atomic stores every 16 polls and, all of them,
// once per idle streak: on the first poll that receives nothing and on
// each 100 ms timeout of a sleep; atomic loads by readers; see Counters),
// and its waker (see Idling).
//
// Ports are shared, their queues are not: a worker receives on the queues
// its RxQueue list names and transmits on one queue per port, assigned
// when it is built (Options.TxQueue; by default its ID on every port).
// Start checks each against the port's transmit queues (port.TxQueuer)
// and refuses one out of range with an error naming the queue, the port
// and the fix, instead of letting the port wrap it onto another worker's
// queue. Whoever builds the workers gives each a queue of its own per
// port (softnet run: worker i, queue i).
//
// # Packet trace
//
// A Tracer (trace.go: the hot-path hooks; dp/tracefmt turns its records
// into words with each node's NodeTrace.Note) follows the next N packets the workers receive
// through the graph, as VPP's `trace add` and `show trace` do: each
// traced packet's first bytes, every stage it visited, and its fate (sent
// on an interface, dropped with a reason, punted to the control plane,
// answered by the router, replaced by an ICMP error, fragmented). It costs
// a worker one atomic load per poll while no trace is armed and nothing
// per packet; armed, one atomic add per received batch, and records are
// written into arrays allocated when the trace was armed. Packets the
// control plane injects are not traced.
//
// # Packet capture
//
// Captures (capture.go; `softnet capture`) tap three points: rx (what a
// port received, before any node), tx (what interface-output gives the
// port) and drop (the drop node, with the reason). The running captures
// are indexed in the published Config (Config.Taps, built by BuildTaps
// on each publish while one runs): rx and tx by interface, a VLAN
// sub-interface's rx found through its port's VLANTable, drop by reason.
// With no capture a worker tests one pointer per vector at each point;
// on a port with taps a packet pays its filter class and one bit of the
// port's classes that some filter there may accept (pcapfilter's
// Program.Never: "tcp port 22" on UDP stops there), else its
// interface's bit in the class's row, whether one interface or 4,094
// have a tap; only then the filter of each capture at its interface
// (pcapfilter.Program.Run) and, on a match, one copy of up to
// the snap length into the capture's single-producer ring for this
// worker (CapRing), which the control plane drains (Capture.Drain). A
// full ring drops the record and counts it: forwarding never waits.
// Nothing allocates or locks (TestCaptureZeroAlloc).
//
// # Drops
//
// Drop reasons (Reason) are small numbers with a node, a stable name and
// a description, all from the node's registration; the drop node counts
// every packet under its reason. They are data, not errors.
//
// # Counters
//
// Counters hold per-reason drops, per-node calls and packets, ICMP errors,
// per-interface packets and bytes, and the scalar counters (Scalars: one
// struct of uint64 fields, iterated as an array indexed by Scalar, each
// named by its json tag): publish, Sum and the metrics iterate it, so a
// new scalar needs only its field.
//
// Every packet is accounted for: each received one is sent (forwarded, or
// answered in place: ARP and echo replies, ICMP errors), dropped under a
// reason, consumed (ARPConsumed), or handed to the control plane to wait
// for ARP (Resolves), which drops it under its own reasons or gives it
// back (Injected - InjectedTx). Packets the graph makes are counted where
// made: flood copies (FloodCopies), fragments (Fragments, replacing
// Fragmented packets), control plane frames (InjectedTx). run.Account
// puts these together.
package dp
