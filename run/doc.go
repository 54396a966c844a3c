// Package run wires a softnet router from a config: it builds the control
// plane (interfaces, addresses, routes, route files, static neighbours,
// the early-drop blocklists),
// opens one port per interface with its backend (afpacket, afxdp, tap,
// pcap, mem), starts the workers and the control plane's service loop, and
// stops them all. It is what `softnet run` does, as a library, so tests
// and the lab can run a router in-process.
//
// One router per device: Start takes a lock per afpacket, afxdp or tap device
// (internal/devlock, /run/softnet/lock/<netns inode>-<device>) and holds
// it until the port is closed, so a second softnet on the same device is
// refused with the pid of the first instead of doubling every reply. A
// program that is not softnet (or an older softnet) holding an afpacket
// device with its own AF_PACKET socket cannot be told from tcpdump, so
// Start only warns about it (Options.Logger).
//
// The link watcher polls each port's state every 100 ms: a device that is
// down, has no carrier (NO-CARRIER) or is gone makes its interface's link
// down in the control plane (iface-down drops, `link: down`), and its
// learned neighbours are flushed, so a re-created device or a new host
// behind it is resolved afresh rather than sent to an old MAC.
//
// Start is all or nothing: if a port fails to open or the control plane
// rejects part of the config, everything opened so far is closed and the
// error names the interface (and the config line). Stop stops the
// workers, then the control loop, then flushes and closes the ports; no
// goroutine of the router outlives it.
//
// Reload re-reads the config (or another file), checks it as softnet
// check does and applies the difference through control.Reconfigure: one
// published snapshot, or nothing at all if the config has errors or asks
// for what only a restart can do (interfaces, backends, devices, MACs,
// workers, the api section). A route file whose content (and the
// interface addresses its prefixes are checked against) did not change
// since the last reload is not parsed again (config.TableCache): a reload
// that changes a route or a neighbour next to the full table costs the
// table's comparison, not its ~2 s parse. The config and its route files
// are read and checked on a thread of its own at nice reloadNice (10):
// the workers' threads get the CPU first, so a parse's seconds of CPU do
// not stall them. The rest, which holds the control plane's lock in
// chunks, runs at the caller's priority, so that API calls do not wait
// behind a low-priority thread. The blocklists come after: every list file
// is read and hashed, and only the lists whose file bytes, match or
// interfaces changed are parsed (before anything is applied) and swapped
// in (control.SetConfigBlocklists).
//
// Buffers: the router's arena (pkt.Arena) is made before the ports, with
// 4096-byte chunks when an interface uses afxdp (its sockets register the
// whole arena as their UMEM, so frames move between afxdp ports without a
// copy; such interfaces have an MTU of at most config.AFXDPMaxMTU), else
// with the default chunk (any jumbo frame).
//
// Queues and workers: a multi-queue backend (afpacket, afxdp, tap) is opened with
// Options.Queues receive queues (default: one per worker) and queue q is
// polled by worker q mod workers. A single-queue backend (pcap, mem) is
// polled by worker 0 alone; RSS across workers for those is a later step.
// Every worker transmits on its own queue of each port, assigned at Start
// (worker i, queue i: dp.Options.TxQueue); a port with fewer transmit
// queues than workers (port.TxQueuer; afpacket and tap are opened with one
// per worker, pcap has 64) is refused against its interface's line, with
// the largest workers value that fits.
//
// Trace follows the next N packets through the running workers' graph
// (tracefmt.Tracer over dp.Tracer), one trace at a time.
//
// Hot path: no. Start, Stop, Counters, Status and Trace are for the control side;
// Counters sums the workers' published counters and Status reads the
// ports' own (atomic) statistics: both are safe from any goroutine while
// the router runs. Start and Stop are not safe to call concurrently with
// each other; Stop may be called more than once.
package run
