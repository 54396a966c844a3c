// Package dp is softnet's data plane: the worker loop, the graph of stages
// a batch runs through, drop reasons and per-worker counters.
//
// Hot path: yes, all of it. Per packet there is no allocation, no lock, no
// syscall, no interface call and no channel operation; stages are plain
// methods dispatched once per vector by a switch.
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
//
// # Idling
//
// A worker with nothing to do spins for a few polls, then yields its
// thread, and after 200 µs of nothing it sleeps (idle.go). When every
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
// it sees sleeping. Under load the gaps between batches stay below 200 µs,
// so a busy worker makes no system call to idle.
//
// # Stages
//
// Each stage (see Stage for the graph) is called once per pass with its
// whole input vector and sorts packets to next stages: the common next
// stage gets the vector compacted in place and handed on by swapping
// vectors (pass); others get single packets (to, drop, icmp). A stage has
// a doc block in its file: what it does, the RFCs it follows, its next
// stages.
//
// # VLANs
//
// A VLAN sub-interface (802.1Q, or 802.1ad QinQ) is an ordinary interface
// of Config.Ifaces that receives and transmits on its parent's port. In
// ethernet-input a tagged frame's interface is a direct index into its
// port's VLANTable (no list scan, no map); ip4-rewrite writes the tags
// with the Ethernet header from the adjacency, in the same fixed-size
// stores as an untagged header (see vlan.go). Bad tags drop with their
// own reasons (vlan-unknown, vlan-reserved, vlan-stacked-priority,
// vlan-too-deep, vlan-truncated). Per-interface counters grow when a
// config brings more interfaces; with many interfaces they are published
// less often (see ifPublishEvery), and completely once per idle streak.
//
// # Ownership
//
// A buffer is in exactly one place: a stage's vector, a transmit vector,
// a port (after Send), or the pool (after drop). Stages take ownership of
// their input vector's buffers and must leave it empty. Packets crossing
// to the control plane are copied into ring slots (Msg) and their buffers
// freed, so no buffer ever crosses goroutines.
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
// # Packet trace
//
// A Tracer (trace.go) follows the next N packets the workers receive
// through the graph, as VPP's `trace add` and `show trace` do: each
// traced packet's first bytes, every stage it visited, and its fate (sent
// on an interface, dropped with a reason, punted to the control plane,
// answered by the router, replaced by an ICMP error, fragmented). It costs
// a worker one atomic load per poll while no trace is armed and nothing
// per packet; armed, one atomic add per received batch, and records are
// written into arrays allocated when the trace was armed. Packets the
// control plane injects are not traced.
//
// # Drops
//
// Drop reasons (Reason) are a small enum with a stage, a stable name and a
// description; the drop stage counts every packet under its reason. They
// are data, not errors.
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
