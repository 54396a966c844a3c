package run

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	_ "github.com/softnet/softnet/dp/nodes" // the whole packet graph
	"github.com/softnet/softnet/linuxcp"
	"log/slog"
	"net"
	"net/netip"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/softnet/softnet/config"
	"github.com/softnet/softnet/control"
	"github.com/softnet/softnet/dp"
	"github.com/softnet/softnet/dp/tracefmt"
	"github.com/softnet/softnet/pkt"
	"github.com/softnet/softnet/port"
)

// Options tune Start.
type Options struct {
	// Queues is the number of queues of each multi-queue port (afpacket,
	// tap): default and minimum one per worker, since every worker
	// transmits on its own queue.
	Queues int
	// PoolSize is each worker's buffer pool (default: dp's, 4096, plus
	// what each afxdp queue the worker serves lends the kernel: see
	// lentBuffers; with Queues above the workers, several a port). The
	// pools are slices of one arena (pkt.Arena), made before the ports
	// are opened.
	PoolSize int
	// Tables are the config's route files, already loaded (as `softnet
	// check` or a caller that reuses them did); nil: Start loads them.
	Tables []config.Table
	// Logger receives start-up warnings (an MTU capped, a default MAC);
	// nil: none.
	Logger *slog.Logger
	// Pin pins worker i to the i-th CPU the process may use (wrapping
	// around), so each worker keeps a core and its caches.
	Pin bool
	// ControlCPUs, when positive, keeps the first ControlCPUs of the CPUs
	// the process may use for the control plane (every thread but the
	// workers': linux_cp's reader and applier, the API, the Go runtime's
	// and the collector's), as VPP's main core, and pins the workers
	// round-robin to the others (Pin implied): a full table's burst then
	// takes no CPU from a worker. It must leave a CPU for the workers. If
	// the threads cannot be kept there, Start fails (nothing left
	// running); Stop gives the threads the process's CPUs back.
	ControlCPUs int
	// WorkerCPUs, when not empty, pins worker i to WorkerCPUs[i mod
	// len] (Pin implied) and leaves every other thread on every CPU the
	// process may use, as VPP's corelist-workers without a main core: the
	// workers keep their cores, and the control plane (linux_cp's reader
	// and applier during a full table's burst) takes what is left on any
	// CPU, below the workers where it shares theirs (WorkerNice). Each
	// must be a CPU the process may use; not with ControlCPUs.
	WorkerCPUs []int
	// SoftwareRSS spreads the packets of ports with fewer queues than
	// workers over all workers by flow (dp.Spread). Off by default: the
	// hand-off costs cache-line transfers between cores that a cheap
	// pipeline does not win back (bench --scenario rss: 2 workers spread
	// from one queue forward less than one worker alone on a 2-vCPU VM).
	SoftwareRSS bool
	// RTPriority, 1 to 99, runs every worker's thread in SCHED_FIFO at
	// that priority (dp.Options.RTPriority; root): an idle worker woken by
	// a frame runs at once instead of after the CPU's other threads, the
	// tail latency on a loaded machine. 0: the normal scheduling class.
	RTPriority int
	// WorkerNice, when not 0, is the nice value of every worker's thread
	// (dp.Options.Nice): negative, the kernel gives a worker its CPU
	// before the control plane's threads (linux_cp's reader and applier
	// during a full table's burst), which take what it leaves. softnet run
	// sets DefaultWorkerNice unless --worker-nice says otherwise. A value
	// below the current nice needs root (CAP_SYS_NICE). The trade-off: a
	// busy worker at -10 leaves the control plane about 10 % of its CPU,
	// so a full table's burst converged about twice as slowly (quiet
	// host: 20.7-24.2 s against 9.0-11.0 s at 0) and the flood lost 0.5-2
	// % during it, not 38-47 % (README, netlink-full-table). When the kernel refuses it (not root, for a
	// value below the process's nice) the workers keep the process's nice value and the Logger is
	// told once (not off Linux, where no nice value can be set), unless
	// WorkerNiceRequired: then Start fails.
	WorkerNice         int
	WorkerNiceRequired bool
}

// DefaultWorkerNice is softnet run's nice value of the workers' threads
// (--worker-nice): nice -10 weighs about 9 times nice 0 in the kernel's
// scheduler, so a busy worker keeps about 90 % of a CPU it shares with
// busy control-plane threads, and they keep the rest.
const DefaultWorkerNice = -10

// Router is a running router: its control plane, ports and workers.
type Router struct {
	cfg     *config.Config
	ctl     *control.Router
	ifaces  []*iface
	ports   []port.Port
	arena   *pkt.Arena // every worker's buffers; unmapped after the ports close
	workers []*dp.Worker
	tracer  *tracefmt.Tracer
	routes  int             // static routes plus route-file prefixes installed
	mirror  *linuxcp.Mirror // linux_cp: the kernel routes' mirror, or nil

	hostifs *linuxcp.HostIfs // linux_cp's host interfaces (TAPs), or nil
	hostIdx []int            // their softnet interface indices

	stop     chan struct{}
	cpDone   chan struct{}
	wg2      sync.WaitGroup // link watcher
	stopOnce sync.Once
	stopErr  error
	keptCPUs bool // ControlCPUs: dp.KeepOnCPUs in force, released by Stop

	// mu guards cfg and each iface's cfg and mtu, which Reload replaces;
	// reloadMu serialises reloads.
	mu       sync.Mutex
	reloadMu sync.Mutex
	// tables are the route files the last reload read (under reloadMu):
	// an unchanged one is not parsed again.
	tables config.TableCache
}

type iface struct {
	cfg *config.Interface
	mac [6]byte
	mtu int
	*opened
}

// defaultPoolSize is a worker's buffers when Options.PoolSize is 0.
const defaultPoolSize = 4096

// Start builds and starts the router cfg describes. See the package doc.
// Errors about the config (a missing device, an unreadable file, a next
// hop the control plane rejects) are config.Errors pointing at its lines.
func Start(cfg *config.Config, o Options) (*Router, error) {
	return StartContext(context.Background(), cfg, o)
}

// CheckOptions refuses options that cannot work whatever the config:
// WorkerCPUs with ControlCPUs, a worker CPU the process may not use,
// ControlCPUs that leave no CPU for the workers, a WorkerNice out of
// -20..19. StartContext checks them before any work; softnet run calls
// it before it reads the config, so that a mistaken flag is refused at
// once, not after a full table has loaded.
func CheckOptions(o Options) error {
	_, _, err := placement(o)
	return err
}

// placement returns the CPUs the workers take in turn (when pinned) and
// the control plane's (ControlCPUs), or why o cannot be placed.
func placement(o Options) (cpus, ctlCPUs []int, err error) {
	if o.WorkerNice < -20 || o.WorkerNice > 19 {
		return nil, nil, fmt.Errorf("worker nice %d: give -20 to 19 (negative: before the control plane), or 0 to leave it", o.WorkerNice)
	}
	cpus = dp.AllowedCPUs()
	if len(o.WorkerCPUs) > 0 {
		if o.ControlCPUs > 0 {
			return nil, nil, fmt.Errorf("worker CPUs %v and %d control CPUs: two ways to place the workers; give one", o.WorkerCPUs, o.ControlCPUs)
		}
		for _, c := range o.WorkerCPUs {
			if !slices.Contains(cpus, c) {
				return nil, nil, fmt.Errorf("worker CPU %d: not a CPU this process may use (%v); pick among those (see taskset)", c, cpus)
			}
		}
		cpus = o.WorkerCPUs
	}
	if o.ControlCPUs > 0 {
		if o.ControlCPUs >= len(cpus) {
			return nil, nil, fmt.Errorf("control CPUs %d: the process may use %d CPUs (%v), which leaves none for the workers; give fewer, or let softnet use more CPUs (taskset)", o.ControlCPUs, len(cpus), cpus)
		}
		ctlCPUs, cpus = cpus[:o.ControlCPUs], cpus[o.ControlCPUs:]
	}
	return cpus, ctlCPUs, nil
}

// routeChunk is how many route-file prefixes StartContext installs between
// two looks at its context: about 20 ms' worth.
const routeChunk = 1 << 14

// StartContext is Start, given up when ctx ends before the router runs
// (loading a full table takes seconds): it then closes what it opened and
// returns an error wrapping ctx.Err(), within a chunk of routes' time
// (routeChunk; 69 ms at most over the full table's start-up, 8 of 10
// under 25). The blocklists' and filter tables' files are parsed whole:
// ctx is looked at before the blocklists and before the filter, not
// within a file. Once the workers start, ctx no longer matters: stop the
// router with Stop.
func StartContext(ctx context.Context, cfg *config.Config, o Options) (_ *Router, err error) {
	interrupted := func() error {
		if ctx.Err() != nil {
			return fmt.Errorf("start-up interrupted: %w", ctx.Err())
		}
		return nil
	}
	if err := interrupted(); err != nil {
		return nil, err
	}
	// The options first: a mistaken flag costs no table load.
	cpus, ctlCPUs, err := placement(o)
	if err != nil {
		return nil, err
	}
	if err := cfg.CheckSystem(); err != nil {
		return nil, err
	}
	tables := o.Tables
	if tables == nil {
		if tables, err = cfg.LoadRouteFiles(); err != nil {
			return nil, err
		}
	}
	if len(tables) != len(cfg.RouteFiles) {
		return nil, fmt.Errorf("run: %d route tables given for %d route files", len(tables), len(cfg.RouteFiles))
	}
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	workers := max(cfg.Workers, 1)
	queues := max(o.Queues, workers)

	r := &Router{cfg: cfg, stop: make(chan struct{}), cpDone: make(chan struct{})}
	// The buffers come first: ports that register memory with the kernel
	// (an AF_XDP UMEM) need the arena when they open.
	poolSize := o.PoolSize
	if poolSize == 0 {
		poolSize = defaultPoolSize + lentBuffers(cfg, queues, workers)
	}
	if r.arena, err = pkt.NewArena(arenaOptions(cfg, workers*poolSize)); err != nil {
		return nil, fmt.Errorf("run: buffers for %d workers of %d: %w", workers, poolSize, err)
	}
	// Nothing half-applied: on any error below, close what was opened.
	defer func() {
		if err != nil {
			r.closePorts()
			r.arena.Close()
		}
	}()
	for i := range cfg.Interfaces {
		ic := &cfg.Interfaces[i]
		if ic.IsVLAN() || ic.Bridge != "" {
			continue // added after the ports: see below
		}
		if err := interrupted(); err != nil {
			return nil, err
		}
		op, err := open(cfg, ic, queues, openEnv{arena: r.arena, log: log})
		if err != nil {
			return nil, config.Errors{cfg.Errorf(ic.Field, "interface %s: cannot open %s: %v", ic.Name, describe(ic), err)}
		}
		r.ifaces = append(r.ifaces, &iface{cfg: ic, opened: op})
		r.ports = append(r.ports, op.port)
	}
	warnForeignSockets(log, r.ifaces)

	r.ctl = control.New(control.Options{ICMPRate: cfg.ICMP.Rate, ICMPBurst: cfg.ICMP.Burst})
	for _, ifc := range r.ifaces {
		ic := ifc.cfg
		switch {
		case ic.MAC != [6]byte{}:
			ifc.mac = ic.MAC
		case ifc.opened.mac != [6]byte{}:
			ifc.mac = ifc.opened.mac
		default:
			ifc.mac = DefaultMAC(ic.Name)
		}
		m, cerr := ifaceMTU(cfg, ic, ifc.opened.mtu, log.Warn)
		if cerr != nil {
			return nil, config.Errors{cerr}
		}
		ifc.mtu = m
		if _, err := r.ctl.AddInterface(control.IfaceConfig{Name: ic.Name, MAC: ifc.mac, MTU: ifc.mtu, Addrs: ic.Addresses, Down: ic.Down, RA: ic.RouterAdvertisements}); err != nil {
			return nil, config.Errors{cfg.Errorf(ic.Field, "%v", err)}
		}
	}
	// VLAN sub-interfaces come after every port interface (a port
	// interface's index is its port's), in config order.
	for i := range cfg.Interfaces {
		ic := &cfg.Interfaces[i]
		if !ic.IsVLAN() {
			continue
		}
		vc := control.IfaceConfig{Name: ic.Name, MTU: ic.MTU, Addrs: ic.Addresses, Down: ic.Down, RA: ic.RouterAdvertisements,
			Parent: ic.Parent, VLAN: ic.VLAN, OuterVLAN: ic.OuterVLAN, TPID: ic.TPID}
		if _, err := r.ctl.AddInterface(vc); err != nil {
			field := ic.Field
			if ic.MTU != 0 && strings.Contains(err.Error(), "MTU") {
				field += ".mtu"
			}
			return nil, config.Errors{cfg.Errorf(field, "%v", err)}
		}
	}
	// Bridges, each with its routed interface (BVI) if the config has one.
	for _, b := range cfg.Bridges {
		bc := control.BridgeConfig{Name: b.Name, Members: b.Members, MaxMACs: b.MaxMACs,
			Ageing: time.Duration(b.Ageing) * time.Second, FloodRate: b.FloodRate, FloodBurst: b.FloodBurst}
		field := b.Field
		for i := range cfg.Interfaces {
			if ic := &cfg.Interfaces[i]; ic.Bridge == b.Name {
				mac := ic.MAC
				if mac == [6]byte{} {
					mac = DefaultMAC(ic.Name)
				}
				bc.BVI = control.IfaceConfig{Name: ic.Name, MAC: mac, MTU: ic.MTU, Addrs: ic.Addresses, Down: ic.Down, RA: ic.RouterAdvertisements}
				field = ic.Field
			}
		}
		if _, err := r.ctl.AddBridge(bc); err != nil {
			return nil, config.Errors{cfg.Errorf(field, "%v", err)}
		}
	}
	for _, rt := range cfg.Routes {
		if err := r.ctl.AddRoute(rt.Prefix, rt.Via); err != nil {
			return nil, config.Errors{cfg.Errorf(rt.Field, "%v", err)}
		}
		r.routes++
	}
	for i, rf := range cfg.RouteFiles {
		// In chunks, to stop soon on a signal (ctx).
		ps := tables[i].Prefixes
		for c := range slices.Chunk(ps, routeChunk) {
			if err := interrupted(); err != nil {
				return nil, err
			}
			if err := r.ctl.AddRoutes(c, func(int) netip.Addr { return rf.Via }); err != nil {
				return nil, config.Errors{cfg.Errorf(rf.Field, "%v", err)}
			}
		}
		r.routes += len(ps)
		ps6 := tables[i].Prefixes6
		for c := range slices.Chunk(ps6, routeChunk) {
			if err := interrupted(); err != nil {
				return nil, err
			}
			if err := r.ctl.AddRoutes(c, func(int) netip.Addr { return rf.Via6 }); err != nil {
				return nil, config.Errors{cfg.Errorf(rf.Field, "via6: %v", err)}
			}
		}
		r.routes += len(ps6)
	}
	for _, nb := range cfg.Neighbors {
		if err := r.ctl.AddNeighbor(r.ctl.InterfaceIndex(nb.Interface), nb.Address, nb.MAC); err != nil {
			return nil, config.Errors{cfg.Errorf(nb.Field, "%v", err)}
		}
	}
	// The list files are parsed whole: a stop is seen between the route
	// files and the blocklists, and between the blocklists and the filter's
	// tables, not within one file.
	if err := interrupted(); err != nil {
		return nil, err
	}
	if len(cfg.Blocklists) > 0 {
		lists, errs := configBlocklists(cfg, r.ctl)
		if len(errs) > 0 {
			return nil, errs
		}
		if _, err := r.ctl.SetConfigBlocklists(lists); err != nil {
			return nil, config.Errors{cfg.Errorf("blocklists", "%v", err)}
		}
	}
	if err := interrupted(); err != nil {
		return nil, err
	}
	if err := r.applyFilter(cfg, false); err != nil {
		return nil, err
	}
	if err := interrupted(); err != nil {
		return nil, err
	}
	r.ctl.MarkConfigured() // routes added later are the API's (reload warns of them)
	r.ctl.Publish()
	if err := interrupted(); err != nil {
		return nil, err
	}

	// Queue q of a port goes to worker q mod workers: one queue per worker
	// for multi-queue ports. With Options.SoftwareRSS, a port with fewer
	// queues than workers (pcap, mem) is spread in software: the worker
	// that polls a queue hands each flow's packets to the worker that owns
	// the flow (dp.Spread), as a NIC's RSS would.
	// With a filter, both directions of a flow must reach one worker (its
	// state table's): see filterSpread.
	spreadAll := filterSpread(cfg, r.ifaces, workers)
	rxq := make([][]dp.RxQueue, workers)
	for j, ifc := range r.ifaces {
		for q := 0; q < ifc.queues; q++ {
			rxq[q%workers] = append(rxq[q%workers], dp.RxQueue{Iface: j, Queue: q, Spread: o.SoftwareRSS && ifc.queues < workers || spreadAll})
		}
	}
	// Worker w transmits on queue w of every port: each worker a queue of
	// its own, checked here against the port's transmit queues (and again
	// by the worker's Start) so that two workers never share one.
	for _, ifc := range r.ifaces {
		if tq, ok := ifc.opened.port.(port.TxQueuer); ok && tq.TxQueues() < workers {
			return nil, config.Errors{cfg.Errorf(ifc.cfg.Field, "interface %s: %s has %d transmit queues for %d workers (one each): set workers to at most %d",
				ifc.cfg.Name, describe(ifc.cfg), tq.TxQueues(), workers, tq.TxQueues())}
		}
	}
	if len(o.WorkerCPUs) > 0 || o.ControlCPUs > 0 {
		o.Pin = true
	}
	mode, err := dp.ParsePollMode(cmp.Or(cfg.PollMode, config.DefaultPollMode))
	if err != nil {
		return nil, config.Errors{cfg.Errorf("poll_mode", "%v", err)}
	}
	for w := range workers {
		do := dp.Options{Pool: pkt.NewPoolIn(r.arena, w*poolSize, poolSize), RTPriority: o.RTPriority, TxQueue: make([]int, len(r.ports)),
			Nice: o.WorkerNice, NiceBestEffort: !o.WorkerNiceRequired,
			PollMode: mode, PollWindow: cfg.PollWindow}
		for j := range do.TxQueue {
			do.TxQueue[j] = w
		}
		if o.Pin && len(cpus) > 0 {
			do.Pin, do.CPU = true, cpus[w%len(cpus)]
		}
		r.workers = append(r.workers, dp.NewWorker(w, r.ctl.Config(), r.ports, rxq[w], do))
	}
	if err := dp.Spread(r.workers, 0); err != nil {
		return nil, err
	}
	r.ctl.AttachWorkers(r.workers)
	// The always-on captures (captures:) are installed before the first
	// packet: their files hold the router's traffic from the start.
	if err := applyCaptures(r.ctl, cfg); err != nil {
		return nil, err
	}
	r.tracer = tracefmt.NewTracer(r.workers)
	if lc := cfg.LinuxCP; lc != nil && len(lc.HostInterfaces) > 0 {
		if err := r.openHostIfs(cfg, lc); err != nil {
			return nil, err
		}
		defer func() {
			if err != nil {
				r.hostifs.Close()
			}
		}()
	}
	workerProcs(len(r.workers))
	if lc := cfg.LinuxCP; lc != nil {
		if r.mirror, err = startMirror(r.ctl, lc, o.Logger); err != nil {
			return nil, config.Errors{cfg.Errorf("linux_cp", "%v", err)}
		}
	}
	go func() {
		defer close(r.cpDone)
		r.ctl.Run(r.stop)
	}()
	r.wg2.Add(1)
	go r.watchLinks()
	// Nothing half-started: halt stops the workers already running, the
	// mirror and the control plane; the deferred rollback closes the ports.
	halt := func(started []*dp.Worker) {
		for _, s := range started {
			s.Stop()
		}
		if r.mirror != nil {
			r.mirror.Close()
		}
		r.ctl.Flight().Stop()
		close(r.stop)
		<-r.cpDone
		r.wg2.Wait()
	}
	var niceErr *dp.NiceError // the first worker's refused nice, NiceBestEffort
	refused := 0
	for i, w := range r.workers {
		if err := w.Start(); err != nil {
			halt(r.workers[:i])
			var ne *dp.NiceError
			if errors.As(err, &ne) {
				return nil, fmt.Errorf("worker %d: %w; run as root, or without --worker-nice (or with --worker-nice 0) to leave the workers at nice %d", i, err, ne.Have)
			}
			return nil, fmt.Errorf("worker %d: %w", i, err)
		}
		if errors.As(w.NiceErr(), &niceErr) {
			refused++
		}
	}
	// One line for all workers, and none off Linux where the nice value
	// was not asked for (the default) and cannot be set anyway.
	if niceErr != nil && o.Logger != nil && !errors.Is(niceErr, errors.ErrUnsupported) {
		o.Logger.Warn(fmt.Sprintf("the workers run at nice %d, the process's, level with the control plane: run as root for nice %d, or pass --worker-nice 0 to leave them there without this warning", niceErr.Have, niceErr.Want),
			"workers", refused, "err", niceErr)
	}
	if len(ctlCPUs) > 0 {
		// The workers are pinned: every other thread, and those the
		// runtime starts later, to the control plane's CPUs, until Stop.
		var keep []int
		for _, w := range r.workers {
			keep = append(keep, w.ThreadID())
		}
		r.keptCPUs = true
		if _, err := keepOnCPUs(ctlCPUs, keep); err != nil {
			// Asked for and not in force: an error, not a warning a
			// caller without a Logger never sees.
			halt(r.workers)
			_ = dp.ReleaseCPUs()
			return nil, fmt.Errorf("control CPUs %v: %w; run without --control-cpus, or find what starts threads without end", ctlCPUs, err)
		}
	}
	return r, nil
}

func describe(ic *config.Interface) string {
	switch ic.Backend {
	case config.AFPacket, config.TAP:
		return fmt.Sprintf("%s device %s", ic.Backend, ic.Device)
	case config.PCAP:
		var s []string
		if ic.RX != "" {
			s = append(s, "rx "+ic.RX)
		}
		if ic.TX != "" {
			s = append(s, "tx "+ic.TX)
		}
		return fmt.Sprintf("pcap %v", s)
	}
	return string(ic.Backend) + " port"
}

// linkPoll is how often the watcher reads the ports' link state.
const linkPoll = 100 * time.Millisecond

// watchLinks feeds each port's link state (a device down, without carrier
// or deleted, and back) into the control plane, so the data plane counts
// traffic to and from a dead interface as iface-down rather than as
// transmit failures. When a link goes down, or comes back from a reopen
// the watcher did not see as down, the interface's learned neighbours are
// flushed (control.FlushNeighbors): a re-created device or a new host
// behind it is resolved afresh instead of being sent to an old MAC.
// Once a second it also follows each device's MTU, so packets larger than
// a lowered MTU are fragmented or answered with "fragmentation needed"
// instead of vanishing in the kernel. It reads port statistics and the
// device list only, never touches a ring.
func (r *Router) watchLinks() {
	defer r.wg2.Done()
	t := time.NewTicker(linkPoll)
	defer t.Stop()
	known := make([]bool, len(r.ifaces))
	reopens := make([]uint64, len(r.ifaces))
	for i, ifc := range r.ifaces {
		known[i] = true
		reopens[i] = ifc.stats().Reopens
	}
	for tick := 1; ; tick++ {
		select {
		case <-r.stop:
			return
		case <-t.C:
		}
		changed := false
		for i, ifc := range r.ifaces {
			st := ifc.stats()
			if (!st.Up && known[i]) || st.Reopens != reopens[i] {
				if n := r.ctl.FlushNeighbors(i); n > 0 {
					changed = true
				}
			}
			reopens[i] = st.Reopens
			if st.Up != known[i] {
				known[i] = st.Up
				_ = r.ctl.SetLinkUp(i, st.Up)
				changed = true
			}
			r.mu.Lock()
			ic := *ifc.cfg
			r.mu.Unlock()
			if tick%10 == 0 && ifc.opened.mtu != 0 && ic.Device != "" {
				// Compared with the control plane's MTU, which a reload
				// may have set too.
				if m := deviceMTU(&ic); m != 0 && m != r.ctl.InterfaceMTU(i) && r.ctl.SetInterfaceMTU(i, m) == nil {
					changed = true
				}
			}
		}
		if changed {
			r.ctl.Publish()
		}
		r.syncHostIfs()
	}
}

// deviceMTU is the MTU softnet should use on ic's device now: the device's,
// no more than the config asks for or a buffer holds; 0 if the device
// cannot be read (it is gone: the link watcher handles that).
func deviceMTU(ic *config.Interface) int {
	d, err := net.InterfaceByName(ic.Device)
	if err != nil || d.MTU < config.MinMTU {
		return 0
	}
	m := min(d.MTU, config.MaxMTU)
	if ic.MTU != 0 {
		m = min(m, ic.MTU)
	}
	return m
}

// Stop stops the workers, then the control plane, then flushes and closes
// every port. It returns the ports' flush and close errors. Calling it
// again returns the same result.
func (r *Router) Stop() error {
	r.stopOnce.Do(func() {
		if r.mirror != nil {
			r.mirror.Close()
		}
		for _, w := range r.workers {
			w.Stop()
		}
		// The workers add nothing more: the captures write what their
		// rings hold and close their files, complete.
		r.ctl.Flight().Stop()
		close(r.stop)
		<-r.cpDone
		r.wg2.Wait()
		if r.hostifs != nil {
			r.hostifs.Close()
		}
		r.stopErr = r.closePorts()
		if err := r.arena.Close(); r.stopErr == nil {
			r.stopErr = err
		}
		if r.keptCPUs {
			// The process's threads get their CPUs back: a router started
			// again in this process finds them all.
			if err := dp.ReleaseCPUs(); r.stopErr == nil {
				r.stopErr = err
			}
		}
	})
	return r.stopErr
}

// closePorts flushes and closes every opened port, in reverse order.
func (r *Router) closePorts() error {
	var errs []error
	for i := len(r.ifaces) - 1; i >= 0; i-- {
		ifc := r.ifaces[i]
		if ifc.flush != nil {
			if err := ifc.flush(); err != nil {
				errs = append(errs, fmt.Errorf("interface %s: %w", ifc.cfg.Name, err))
			}
		}
		if err := ifc.close(); err != nil {
			errs = append(errs, fmt.Errorf("interface %s: %w", ifc.cfg.Name, err))
		}
	}
	return errors.Join(errs...)
}

// Counters returns the sum of the workers' published counters. Per
// interface slices are indexed like Config().Interfaces.
func (r *Router) Counters() dp.Counters {
	c := dp.Sum(r.workers)
	for len(c.RxPackets) < len(r.ifaces) {
		c.RxPackets = append(c.RxPackets, 0)
		c.RxBytes = append(c.RxBytes, 0)
		c.TxPackets = append(c.TxPackets, 0)
		c.TxBytes = append(c.TxBytes, 0)
	}
	return c
}

// Buffers returns the packet buffers in use and the total over the
// workers' pools (dp.Worker.PoolFree: as last published with their
// counters). Safe from any goroutine.
func (r *Router) Buffers() (inUse, total int) {
	for _, w := range r.workers {
		free, size := w.PoolFree()
		inUse += size - free
		total += size
	}
	return inUse, total
}

// Trace follows the next n packets (1..dp.MaxTrace) the workers receive
// through the graph, VPP's packet trace: it arms the trace, waits until n
// packets are recorded or ctx ends, disarms it and returns the packets in
// arrival order, each with the stages it visited and its fate (see
// tracefmt.TracePacket; interface names are the config's). If ctx ends first,
// or the router stops, it returns the packets recorded so far and an
// error saying how many (wrapping context.Cause(ctx)). Only one trace
// runs at a time: a concurrent call gets an error wrapping
// dp.ErrTraceBusy. Safe from any goroutine while the router runs; the
// workers pay one atomic load per poll for it when no trace is armed.
func (r *Router) Trace(ctx context.Context, n int) ([]tracefmt.TracePacket, error) {
	select {
	case <-r.stop:
		return nil, errRouterStopped
	default:
	}
	// A router stopping under a trace ends it: its workers record no more.
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	go func() {
		select {
		case <-r.stop:
			cancel(errRouterStopped)
		case <-ctx.Done():
		}
	}()
	return r.tracer.Trace(ctx, n)
}

var errRouterStopped = errors.New("trace: the router is stopped")

// Config is the config the router runs: the one it was started with, or
// the last one Reload applied.
func (r *Router) Config() *config.Config {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.cfg
}

// Control is the router's control plane.
func (r *Router) Control() *control.Router { return r.ctl }

// Workers is the number of workers.
func (r *Router) Workers() int { return len(r.workers) }

// Routes is the number of routes installed from the config: static routes
// and route-file prefixes (the FIB also holds connected and local ones,
// see Control().Routes()).
func (r *Router) Routes() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.routes
}

// Port returns the port of interface name, or nil. Tests use it to feed
// and drain mem ports.
func (r *Router) Port(name string) port.Port {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, ifc := range r.ifaces {
		if ifc.cfg.Name == name {
			return ifc.port
		}
	}
	return nil
}

// ReplayDone reports whether every pcap interface with an rx file has
// replayed it (a looping replay never has).
func (r *Router) ReplayDone() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, ifc := range r.ifaces {
		if ifc.done != nil && ifc.cfg.RX != "" && !ifc.done() {
			return false
		}
	}
	return true
}

// IfaceStatus is one interface's state, for the log and tests.
type IfaceStatus struct {
	Name    string
	Backend config.Backend
	Device  string // afpacket, afxdp, tap
	MAC     [6]byte
	MTU     int
	Queues  int
	PortStats
	AdminUp                                bool           // administratively up (the config's down: false)
	Addresses                              []netip.Prefix // addresses (IPv4, IPv6) with their subnet lengths
	RxPackets, RxBytes, TxPackets, TxBytes uint64         // counted by the workers
	Done                                   bool           // pcap: the replay is over
}

// Status returns every interface's state: the ports in config order, then the
// VLAN sub-interfaces and bridge routed interfaces in the router's order.
func (r *Router) Status() []IfaceStatus {
	c := r.Counters()
	cp := r.ctl.Interfaces()
	out := make([]IfaceStatus, len(r.ifaces))
	r.mu.Lock()
	defer r.mu.Unlock()
	for i, ifc := range r.ifaces {
		out[i] = IfaceStatus{
			Name: ifc.cfg.Name, Backend: ifc.cfg.Backend, Device: ifc.cfg.Device,
			MAC: ifc.mac, MTU: ifc.mtu, Queues: ifc.queues,
			PortStats: ifc.stats(),
			AdminUp:   r.ctl.AdminUp(i),
			RxPackets: c.RxPackets[i], RxBytes: c.RxBytes[i],
			TxPackets: c.TxPackets[i], TxBytes: c.TxBytes[i],
		}
		// The link state the data plane acts on, which the link watcher
		// sets from the port's within linkPoll: "down" means its packets
		// are dropped as iface-down, "up" that they are sent (a port that
		// just lost its carrier counts what it could not send as
		// tx-no-carrier until then).
		out[i].Up = r.ctl.LinkUp(i)
		if i < len(cp) {
			out[i].MTU = cp[i].MTU // the device's, if it changed since
			for _, a := range cp[i].Addrs {
				out[i].Addresses = append(out[i].Addresses, a.Prefix())
			}
		}
		if ifc.done != nil {
			out[i].Done = ifc.done()
		}
	}
	// Then the VLAN sub-interfaces (backend "vlan") and the bridges'
	// routed interfaces ("bvi"), in the router's order: no port of their
	// own, their packets counted on them alone.
	for i := len(r.ifaces); i < len(cp); i++ {
		ifc := &cp[i]
		if ifc.Deleted {
			continue // a VLAN deleted at run time
		}
		b := config.Backend("vlan")
		if ifc.TagLen == 0 {
			b = "bvi"
		}
		st := IfaceStatus{Name: ifc.Name, Backend: b, MAC: ifc.MAC, MTU: ifc.MTU, PortStats: PortStats{Up: ifc.Up},
			AdminUp: r.ctl.AdminUp(i)}
		if i < len(c.RxPackets) {
			st.RxPackets, st.RxBytes, st.TxPackets, st.TxBytes = c.RxPackets[i], c.RxBytes[i], c.TxPackets[i], c.TxBytes[i]
		}
		for _, a := range ifc.Addrs {
			st.Addresses = append(st.Addresses, a.Prefix())
		}
		out = append(out, st)
	}
	return out
}

// keepOnCPUs is dp.KeepOnCPUs; tests make it fail.
var keepOnCPUs = dp.KeepOnCPUs

// workerProcs makes room in the Go runtime for the control plane beside
// the workers: GOMAXPROCS at least workers + 1. Each worker is a locked
// thread that holds a P while it forwards; a softnet pinned to one CPU
// (taskset) gets GOMAXPROCS 1, and then a worker that wakes from poll(2)
// waits for the one P while control-plane work holds it (up to the
// runtime's 10 ms time slice, then again), and that work runs in slices
// between the workers' batches. With linux_cp's applier in a full table's
// burst softnet lost 22% of what it was offered (1.3% with a P of its
// own); every config has such work: a reload building a full table (its
// thread's lower nice value does nothing for a P), a route replace, a
// blocklist load of millions of lines, ARP and the API, captures'
// draining. With a P each, the kernel shares the CPUs between their
// threads as it sees them runnable. It never lowers GOMAXPROCS, and the
// value outlives the router (a higher one costs nothing when idle).
func workerProcs(workers int) {
	if n := workers + 1; runtime.GOMAXPROCS(0) < n {
		runtime.GOMAXPROCS(n)
	}
}

// startMirror starts linux_cp's mirror of a namespace's kernel routes.
func startMirror(ctl *control.Router, lc *config.LinuxCP, log *slog.Logger) (*linuxcp.Mirror, error) {
	src, err := linuxcp.Open(lc.Namespace, lc.RcvBuf)
	if err != nil {
		return nil, err
	}
	o := linuxcp.Options{Interfaces: lc.Interfaces, Tables: lc.Tables, Protocols: lc.Protocols}
	for _, h := range lc.HostInterfaces {
		if h.Name != "" && h.Name != h.Interface {
			if o.Names == nil {
				o.Names = map[string]string{}
			}
			o.Names[h.Name] = h.Interface
		}
	}
	if log != nil {
		o.Log = func(format string, args ...any) { log.Warn(fmt.Sprintf(format, args...)) }
	}
	m := linuxcp.New(src, ctl, o)
	if err := m.Start(); err != nil {
		return nil, fmt.Errorf("linux_cp: %w", err)
	}
	return m, nil
}

// openHostIfs creates linux_cp's host interfaces: for each, a TAP in the
// namespace with its interface's MAC, MTU and addresses; the control
// plane punts to it (and the data plane, dp.Iface.Host), and sends what
// it reads out of the interface. Carrier follows the interface
// (watchLinks, syncHostIfs).
func (r *Router) openHostIfs(cfg *config.Config, lc *config.LinuxCP) error {
	var hs []linuxcp.HostIf
	for _, h := range lc.HostInterfaces {
		i := r.ctl.InterfaceIndex(h.Interface)
		ci := cfg.Interface(h.Interface)
		if i < 0 || ci < 0 {
			return config.Errors{cfg.Errorf(h.Field, "no interface %q for a host interface", h.Interface)}
		}
		ic := &cfg.Interfaces[ci]
		port := ic
		if ic.IsVLAN() {
			if pi := cfg.Interface(ic.Parent); pi >= 0 {
				port = &cfg.Interfaces[pi]
			}
		}
		var mac [6]byte
		for _, ifc := range r.ifaces {
			if ifc.cfg.Name == port.Name {
				mac = ifc.mac
			}
		}
		hs = append(hs, linuxcp.HostIf{Name: h.HostName(), Iface: i, MAC: mac, MTU: r.ctl.InterfaceMTU(i), Addrs: ic.Addresses})
		r.hostIdx = append(r.hostIdx, i)
	}
	h, err := linuxcp.OpenHostIfs(lc.Namespace, hs, r.ctl.SendHostFrame)
	if err != nil {
		return config.Errors{cfg.Errorf("linux_cp.host_interfaces", "%v", err)}
	}
	r.hostifs = h
	r.ctl.SetHostPunt(lc.PuntRate, lc.PuntBurst)
	r.ctl.SetHostNeighbors(lc.ArpND == "linux")
	r.ctl.SetHostSink(h.Write)
	for _, i := range r.hostIdx {
		if err := r.ctl.SetHostInterface(i, true); err != nil {
			h.Close()
			return err
		}
	}
	r.ctl.Publish()
	r.syncHostIfs()
	return nil
}

// syncHostIfs gives each host interface carrier while its softnet
// interface is up (link and administrative state, a VLAN's parent's
// included), as the published config says.
func (r *Router) syncHostIfs() {
	if r.hostifs == nil {
		return
	}
	c := r.ctl.Config().Load()
	for _, i := range r.hostIdx {
		r.hostifs.SetUp(i, i < len(c.Ifaces) && c.Ifaces[i].Up)
	}
}

// HostInterfaces returns linux_cp's host interfaces' counters (nil: none).
func (r *Router) HostInterfaces() []linuxcp.HostIfStats {
	if r.hostifs == nil {
		return nil
	}
	return r.hostifs.Stats()
}

// LinuxCP returns the linux_cp mirror's counters; ok is false when the
// config has no linux_cp.
func (r *Router) LinuxCP() (s linuxcp.Stats, ok bool) {
	if r.mirror == nil {
		return s, false
	}
	return r.mirror.Stats(), true
}
