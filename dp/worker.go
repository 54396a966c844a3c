package dp

import (
	"cmp"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/softnet/softnet/pkt"
	"github.com/softnet/softnet/port"
	"github.com/softnet/softnet/rss"
)

// RxQueue is one receive queue a worker polls.
type RxQueue struct {
	Iface int // interface (port) index
	Queue int // queue of that port
	// Spread: the port has fewer queues than there are workers, so the
	// worker polling this queue spreads its packets over all workers by
	// their flows' RSS hash (see Spread).
	Spread bool
}

// Worker is one run-to-completion packet loop. Everything in it belongs to
// the goroutine that runs it: its pool, its frames (one input vector per
// stage), its transmit vectors and its counters. It shares only the
// published Config (read-only), its two rings to the control plane and its
// published counters.
type Worker struct {
	ID int

	cfg    *atomic.Pointer[Config]
	pool   *pkt.Pool
	ports  []port.Port
	rxq    []RxQueue
	punt   *Ring // worker -> control plane
	inject *Ring // control plane -> worker

	// Per receive queue, for Livelocks (see livelock).
	ll []rxBacklog

	// Software RSS (see Spread): per receive queue, its spreader or nil;
	// the lanes this worker feeds and the ones it consumes.
	spread   []*spreader
	lanesOut []*lane
	lanesIn  []*lane
	hasher   *rss.Hasher
	scratch  [pkt.BatchSize]uint32

	// frames[s] is stage s's input vector. They are pointers into store
	// so that a stage passing its whole vector to an empty next stage
	// swaps two pointers instead of copying 256 (see pass).
	frames [MaxStages]*pkt.Batch
	store  [MaxStages]pkt.Batch
	tx     []pkt.Batch // per port
	rxIf   uint16      // interface of the batch received (see RxIface)
	up     []bool      // per interface: up in upOf (see syncUp)
	portOf []uint16    // per interface: the port it transmits on, in upOf
	upOf   *Config
	txOut  [pkt.BatchSize]uint16 // scratch for send: each packet's interface
	txLen  [pkt.BatchSize]uint16 // and length

	c   Counters // private, plain increments
	pub Counters // published copy, atomic stores and loads
	// poolFree is the pool's free buffers, stored with the counters
	// (PoolFree).
	poolFree atomic.Int64
	// pubMu guards pub's per-interface slice headers, which the worker
	// replaces when a config brings more interfaces (see grow); never
	// taken per packet or per batch.
	pubMu sync.Mutex

	// state[s] is node s's per-worker state (Node.State; see State).
	state [MaxStages]any

	polls  uint64
	sample bool // time the stages of this poll

	// general turns off the stages' fast loops (etherFast,
	// etherVLANFast, ip4InputFast, lookupFast, rewriteFast, ip6InputFast and
	// ip6-lookup's lookupFast),
	// interface-output's one-interface shortcut and l2-bridge's memory
	// of the last source learned and destination looked up, so every
	// packet takes the general path. Tests only (see export_test.go): the differential
	// test checks both paths give the same frames and counters. Read once
	// per stage call, never per packet.
	general bool

	// Packet trace (see trace.go): the tracer (nil: none attached) and
	// this worker's index in it, the armed session seen by this poll and
	// this worker's records in it, records published (trDone) and
	// claimed by the batch in flight (trN), and whether that batch has
	// traced packets (the stage hooks run only then).
	tr      *Tracer
	trIdx   int
	trSess  *traceSession
	trOut   *traceOut
	trDone  int
	trN     int
	tracing bool

	// Packet capture (see capture.go): the taps of the Config this poll
	// loaded (nil: no capture), and the time stamp of the vector being
	// tapped (0: not taken yet); tapVisits counts the tap entries
	// (tapList) packets were offered to, for tests (TapVisits).
	taps      *Taps
	capNow    int64
	tapVisits uint64

	// Pinning (see Run): asked for in Options, the outcome set by Run
	// before it closes ready.
	pin    bool
	cpu    int
	rtPrio int
	nice   int
	niceBE bool
	niceEr error // Nice refused with NiceBestEffort (NiceErr)
	pinErr error // pinning's, RTPriority's, Nice's or TxQueue's failure
	tid    int   // the kernel's ID of Run's thread
	ready  chan struct{}

	// txq is the transmit queue of each port (Options.TxQueue); txqErr
	// says why one is out of range (Start returns it, Run does not run).
	txq    []int
	txqErr error

	// Idling (see idle.go): the waker producers wake the worker with,
	// the receive queues' ports as Waiters (nil if not one), the poll(2)
	// descriptors (room for all, so sleeping allocates nothing), the
	// eventfd read scratch, whether this idle streak published the
	// counters yet, when napping last published them, the sleeps in
	// poll(2) and their timeout (idleTimeout; tests lengthen it).
	wk      *waker
	waiters []port.Waiter
	pfds    []pollFD
	efdBuf  [8]byte
	quiet   bool
	napPub  time.Time
	nSleeps atomic.Uint64
	idleTO  time.Duration
	// Poll gaps (see gap.go): when the last poll started (ns since
	// gapEpoch, 0: none yet) and the sleep since then not counted.
	gapLast, gapExcused int64
	// The poll mode and the adaptive window (Options.PollMode,
	// PollWindow).
	mode   PollMode
	window time.Duration

	// Feature arcs compiled for the Config last seen (see arc.go).
	arcs arcState

	stop atomic.Bool
	done chan struct{}
}

// Options tune a worker.
type Options struct {
	// Pool is the worker's buffer pool, a slice of an arena the caller
	// made before opening the ports (pkt.NewArena, pkt.NewPoolIn); the
	// worker takes it. Nil: NewWorker makes a pool of PoolSize buffers
	// over an arena of its own (pkt.NewPool; tests and tools).
	Pool     *pkt.Pool
	PoolSize int // buffers in the worker's own pool when Pool is nil (default 4096)
	RingSize int // slots in each control-plane ring (default 256)

	// Pin makes Run pin its thread to CPU (one of AllowedCPUs), so the
	// worker keeps its core's caches and two workers never share a core.
	// The zero value leaves the worker unpinned (Pin false; CPU is then
	// ignored), so the scheduler may move its thread.
	Pin bool
	CPU int

	// RTPriority, 1 to 99, makes Run put its thread in the real-time
	// class (SCHED_FIFO at that priority; it needs CAP_SYS_NICE, i.e.
	// root), so a frame that wakes the idle worker runs it at once instead
	// of waiting for the CPU's other threads' time slices: on a loaded
	// machine the wait is most of the worker's tail latency. A busy worker
	// then holds its CPU against every normal thread there (the kernel's
	// real-time throttling leaves them 5 %): pin it (Pin) to a CPU the
	// control plane does not need. 0 leaves the thread in the normal class.
	RTPriority int

	// Nice, when not 0, makes Run set its thread's nice value to it
	// (-20 to 19; a value below the thread's own needs CAP_SYS_NICE or
	// RLIMIT_NICE): with a negative one the kernel gives the worker its
	// CPU before the process's other threads at nice 0 (linux_cp's reader
	// and applier, the API, the collector), so a burst of control-plane
	// work on the worker's CPU takes what the worker leaves, not half of
	// it. An idle worker sleeps, so it takes nothing from them then.
	// Unlike RTPriority it stays in the normal class: a busy worker does
	// not shut the others out (nice -10 weighs about 9 times nice 0).
	// Start reports a refusal unless NiceBestEffort; see NiceErr.
	Nice int
	// NiceBestEffort lets the worker run at its old nice value when the
	// kernel refuses Nice (not root): NiceErr says why.
	NiceBestEffort bool

	// TxQueue is the transmit queue the worker sends on, per port
	// (indexed like the ports given to NewWorker); nil: queue ID (the
	// worker's ID) on every port, one queue per worker, as softnet run
	// assigns them. Start refuses a queue that is negative or, on a
	// port.TxQueuer, not below its TxQueues: two workers on one queue
	// would race.
	TxQueue []int

	// PollMode is what Run does when a poll finds nothing (see idle.go):
	// PollInterrupt (the zero value) sleeps after a few µs; PollAdaptive
	// polls for PollWindow after the last frame, then sleeps; PollPolling
	// never sleeps and keeps its CPU busy.
	PollMode PollMode
	// PollWindow is how long an adaptive worker polls after its last
	// frame before it sleeps; 0: DefaultPollWindow.
	PollWindow time.Duration
}

// NewWorker builds a worker that polls rxq on ports (indexed by interface)
// and reads its configuration from cfg.
func NewWorker(id int, cfg *atomic.Pointer[Config], ports []port.Port, rxq []RxQueue, o Options) *Worker {
	if o.PoolSize == 0 {
		o.PoolSize = 4096
	}
	if o.Pool == nil {
		o.Pool = pkt.NewPool(o.PoolSize)
	}
	if o.RingSize == 0 {
		o.RingSize = 256
	}
	complete() // the graph is final (see Register)
	w := &Worker{
		ID:     id,
		cfg:    cfg,
		pool:   o.Pool,
		ports:  ports,
		rxq:    rxq,
		punt:   NewRing(o.RingSize),
		inject: NewRing(o.RingSize),
		tx:     make([]pkt.Batch, len(ports)),
		up:     make([]bool, 0, len(ports)),
		c:      newCounters(len(ports)),
		pub:    newCounters(len(ports)),
		pin:    o.Pin,
		cpu:    o.CPU,
		rtPrio: o.RTPriority,
		nice:   o.Nice,
		niceBE: o.NiceBestEffort,
		ready:  make(chan struct{}),
		done:   make(chan struct{}),

		wk:      &waker{fd: newEventFD()},
		waiters: make([]port.Waiter, len(rxq)),
		pfds:    make([]pollFD, 0, len(rxq)+1),
		idleTO:  idleTimeout,
		mode:    o.PollMode,
		window:  cmp.Or(o.PollWindow, DefaultPollWindow),
	}
	w.inject.wk = w.wk
	w.poolFree.Store(int64(o.Pool.Free()))
	w.txq, w.txqErr = txQueues(id, ports, o.TxQueue)
	// A worker that never runs (tests that call Poll) never stops: close
	// its eventfd when it is collected. The cleanup holds the waker, not
	// the worker.
	runtime.AddCleanup(w, func(k *waker) { k.close() }, w.wk)
	for s := range w.frames {
		w.frames[s] = &w.store[s]
	}
	for s, n := range registered {
		if n.State != nil {
			w.state[s] = n.State(w)
		}
	}
	w.ll = make([]rxBacklog, len(rxq))
	for i, q := range rxq {
		if q.Iface < len(ports) {
			w.ll[i].port, _ = ports[q.Iface].(port.Backlogger)
			w.waiters[i], _ = ports[q.Iface].(port.Waiter)
		}
	}
	return w
}

// txQueues is worker id's transmit queue on each port: want, or id on
// every port when want is nil; the error says which is out of range for
// its port and how to fix it (Start returns it; callers name the worker).
func txQueues(id int, ports []port.Port, want []int) ([]int, error) {
	q := make([]int, len(ports))
	if want != nil && len(want) != len(ports) {
		return q, fmt.Errorf("Options.TxQueue has %d queues for %d ports: give one per port", len(want), len(ports))
	}
	for p := range q {
		q[p] = id
		if want != nil {
			q[p] = want[p]
		}
		if ports[p] == nil {
			continue
		}
		if q[p] < 0 {
			return q, fmt.Errorf("transmit queue %d on port %s: a queue number is 0 or more", q[p], ports[p].Name())
		}
		if tq, ok := ports[p].(port.TxQueuer); ok {
			if n := tq.TxQueues(); n == 0 {
				return q, fmt.Errorf("port %s has no transmit queue", ports[p].Name())
			} else if q[p] >= n {
				return q, fmt.Errorf("transmit queue %d on port %s is out of range: the port has %d (0 to %d); run at most %d workers, or give the port more queues", q[p], ports[p].Name(), n, n-1, n)
			}
		}
	}
	return q, nil
}

// PollMode is the worker's poll mode and, adaptive, its window
// (Options.PollMode, PollWindow).
func (w *Worker) PollMode() (PollMode, time.Duration) { return w.mode, w.window }

// TxQueue is the transmit queue the worker sends on to port p.
func (w *Worker) TxQueue(p int) int { return w.txq[p] }

// Punt is the ring the worker fills for the control plane.
func (w *Worker) Punt() *Ring { return w.punt }

// Inject is the ring the control plane fills for the worker.
func (w *Worker) Inject() *Ring { return w.inject }

// Pool is the worker's buffer pool (for tests and in-process tools that
// run on the worker's goroutine).
func (w *Worker) Pool() *pkt.Pool { return w.pool }

// PoolFree returns the free buffers of the worker's pool as last
// published with its counters (every 16 busy polls, and when it goes
// idle), and the pool's size: size - free is the buffers in use (held in
// batches, queues and rings; a buffer that migrated in from another
// worker's pool counts as free here). Safe from any goroutine.
func (w *Worker) PoolFree() (free, size int) {
	return int(w.poolFree.Load()), w.pool.Size()
}

// Counters returns the worker's published counters, summed on read.
func (w *Worker) Counters() Counters { return Sum([]*Worker{w}) }

// Poll runs one round: messages from the control plane, then one batch
// from each receive queue, each batch run to completion through the graph
// and transmitted. It returns the number of packets received.
func (w *Worker) Poll() int {
	w.polls++
	w.c.Polls++
	w.sample = w.polls&15 == 0
	punts := w.c.Punts
	// Drain the inject ring before loading the config: the control plane
	// publishes a config before it injects packets that need it, and the
	// ring's atomic makes that publication visible here.
	injected := w.drainInject()
	cfg := w.cfg.Load()
	w.taps = nil
	if cfg != nil {
		w.taps = cfg.Taps
	}
	if cfg != w.arcs.of {
		w.syncArcs(cfg)
	}
	if cfg != w.upOf {
		w.syncUp(cfg) // sizes the per-interface counters to cfg
	}
	if injected > 0 {
		w.run(cfg) // injected packets are not traced
	}
	if w.lanesOut != nil {
		w.takeReturns()
	}
	armed := w.tr != nil && w.traceLoad() // the poll's one atomic load for tracing
	total := 0
	for i, q := range w.rxq {
		in := w.frames[stageRx]
		n := w.ports[q.Iface].Recv(q.Queue, in, w.pool)
		if n < pkt.BatchSize {
			w.ll[i].last, w.ll[i].streak = 0, 0
		}
		if n == 0 {
			continue
		}
		total += n
		w.c.Batches++
		if t := w.taps; t != nil && t.rx.at(q.Iface) {
			w.tapRx(t, q.Iface, in, cfg)
		}
		if n == pkt.BatchSize {
			w.c.BusyPolls++
			w.livelock(i, q)
		}
		if w.spread != nil && w.spread[i] != nil {
			if w.spreadBatch(w.spread[i], in); in.N == 0 {
				continue
			}
		}
		w.rxIf = uint16(q.Iface)
		if armed {
			w.traceMark(in)
		}
		if w.arcs.at[stageRx] != ArcNone {
			w.deviceInput()
		}
		w.run(cfg)
		if w.tracing {
			w.traceEnd()
		}
	}
	if w.lanesIn != nil {
		total += w.pollLanes(cfg, armed)
	}
	// Publish every 16 polls while busy, and all of it once per idle
	// streak, on its first poll that received nothing (and again on a
	// sleep's timeout), not on every empty poll: a full publish walks
	// every interface's counters. A poll that only sent what the control
	// plane injected (rare: ARP, resolved packets) publishes too, so the
	// counters are exact whenever Poll returns 0.
	if total > 0 {
		w.quiet = false
		if w.polls&15 == 0 {
			w.c.publish(&w.pub, false)
			w.poolFree.Store(int64(w.pool.Free()))
		}
	} else if !w.quiet || injected > 0 {
		w.quiet = true
		w.c.publish(&w.pub, true)
		w.poolFree.Store(int64(w.pool.Free()))
	}
	if w.c.Punts != punts {
		w.punt.Notify() // once per poll that punted: wake the control plane
	}
	return total
}

// rxBacklog is a receive queue's state for Livelocks: its port as a
// Backlogger (nil if it is not one), the backlog after its last poll if
// that poll was full (else 0), and how many full polls in a row have left
// at least a batch behind without the backlog shrinking.
type rxBacklog struct {
	port   port.Backlogger
	last   int
	streak int
}

// livelockStreak is how many polls in a row must leave the backlog
// undiminished before they count as livelocks. A pause of the worker's
// thread (a preemption, the hypervisor) fills the ring once, and the
// first full poll after it finds the ring fuller than before; a ring
// draining at below capacity then shrinks on every poll, unless another
// pause strikes. Three in a row is sustained input above capacity, not
// bad luck: about 30 µs of it at 256 frames per poll.
const livelockStreak = 3

// livelock is called after queue i's Recv filled a whole batch. It asks
// the port for its backlog (one interface call per full poll, none per
// packet) and counts a livelock when this is at least the
// livelockStreak-th full poll in a row that left at least a batch behind
// and no fewer frames than the one before (see Counters.Livelocks).
func (w *Worker) livelock(i int, q RxQueue) {
	s := &w.ll[i]
	if s.port == nil {
		return
	}
	n := s.port.Backlog(q.Queue)
	switch {
	case n < pkt.BatchSize:
		s.streak = 0
	case n >= s.last:
		s.streak++
	default:
		s.streak = 1
	}
	s.last = n
	if s.streak >= livelockStreak {
		w.c.Livelocks++
	}
}

// Process runs v, received on interface iface, through the graph on the
// calling goroutine and takes ownership of its buffers. It is Poll without
// a port, for tests and tools; it must not run concurrently with Poll or Run.
func (w *Worker) Process(iface int, v *pkt.Batch) {
	w.drainInject()
	cfg := w.cfg.Load()
	w.taps = nil
	if cfg != nil {
		w.taps = cfg.Taps
	}
	if cfg != w.arcs.of {
		w.syncArcs(cfg)
	}
	if cfg != w.upOf {
		w.syncUp(cfg) // sizes the per-interface counters to cfg
	}
	w.run(cfg)
	in := w.frames[stageRx]
	in.N = copy(in.B[:], v.B[:v.N])
	clear(v.B[:v.N])
	v.N = 0
	w.rxIf = uint16(iface)
	if t := w.taps; t != nil && t.rx.at(iface) {
		w.tapRx(t, iface, in, cfg)
	}
	if w.tr != nil && w.traceLoad() {
		w.traceMark(in)
	}
	if w.arcs.at[stageRx] != ArcNone {
		w.deviceInput()
	}
	w.run(cfg)
	if w.tracing {
		w.traceEnd()
	}
	w.c.publish(&w.pub, true)
}

// NiceErr is why the kernel refused Options.Nice when NiceBestEffort
// let the worker run at its old nice value (after Start; nil if it was
// set or not asked for).
func (w *Worker) NiceErr() error { return w.niceEr }

// ThreadID is the kernel's ID of the worker's thread (after Start; 0
// before, and off Linux).
func (w *Worker) ThreadID() int { return w.tid }

// Start runs Run on a new goroutine and returns once its thread is
// locked and, if Options.Pin and RTPriority asked for it, pinned and
// real-time. If either failed (a CPU the process may not use, no
// CAP_SYS_NICE) or a transmit queue is out of range for its port
// (Options.TxQueue) it returns why, and the worker does not run (Stop
// still works).
func (w *Worker) Start() error {
	go w.Run()
	<-w.ready
	return w.pinErr
}

// Run polls until Stop, on a locked OS thread, pinned to Options.CPU when
// Options.Pin is set and in SCHED_FIFO when Options.RTPriority is; it
// returns at once if either fails (Start reports why). When there is
// nothing to do it follows its poll mode (Options.PollMode; see idle.go):
// it keeps polling (polling, or adaptive within its window), or blocks in
// poll(2) on its queues' descriptors and its eventfd, or naps. Call Run
// (or Start) once.
//
// On return it puts the thread's old CPU mask and scheduling class back
// before unlocking it, so the runtime does not reuse a pinned or real-time
// thread for other goroutines; if the kernel refused that, the thread
// stays locked and ends with the goroutine.
func (w *Worker) Run() {
	runtime.LockOSThread()
	w.tid = threadID()
	restore := func() bool { return true }
	switch {
	case w.txqErr != nil:
		w.pinErr = w.txqErr // Start returns it; the worker does not run
	case w.pin:
		if unpin, err := pinThread(w.cpu); err != nil {
			w.pinErr = err
		} else {
			restore = unpin
		}
	}
	if w.pinErr == nil && w.nice != 0 {
		if unNice, err := setNice(w.nice); err != nil {
			if w.niceBE {
				w.niceEr = err
			} else {
				w.pinErr = err
			}
		} else {
			unpin := restore
			restore = func() bool { return unNice() && unpin() }
		}
	}
	if w.pinErr == nil && w.rtPrio != 0 {
		if unRT, err := realTime(w.rtPrio); err != nil {
			w.pinErr = err
		} else {
			unpin := restore
			restore = func() bool { return unRT() && unpin() }
		}
	}
	close(w.ready)
	defer close(w.done) // last: Stop returns with the thread restored
	defer func() {
		if restore() {
			runtime.UnlockOSThread()
		}
	}()
	if w.pinErr != nil {
		return
	}
	if old := setTimerSlack(1000); old > 0 { // precise naps (see idleNap)
		defer setTimerSlack(old)
	}
	idle, sleepy := 0, false
	var idleSince time.Time
	for !w.stop.Load() {
		w.pollGap(gapNow())
		if w.Poll() > 0 {
			idle, sleepy = 0, false
			continue
		}
		idle++
		switch {
		case sleepy:
			w.sleep()
		case w.mode == PollInterrupt:
			sleepy = idle >= idleSpins
		case idle%idleYieldEvery != 0:
			// spin: the next poll at once
		case w.mode == PollAdaptive && idle == idleYieldEvery:
			idleSince = time.Now() // the window starts
		case w.mode == PollAdaptive && time.Since(idleSince) >= w.window:
			sleepy = true
		default:
			osYield()
		}
	}
	w.c.publish(&w.pub, true)
}

// Stop asks Run to return, waking it if it sleeps, waits for it and
// closes the worker's eventfd.
func (w *Worker) Stop() {
	w.stop.Store(true)
	w.wk.wake() // after the store: see the ordering in idle.go
	<-w.done
	w.wk.close()
}

// run moves every pending packet through the graph until all frames are
// empty. Nodes are served in dispatch order (see dispatchOrder), each
// called once per pass with its whole input vector through the node
// table: one indirect call per vector, none per packet.
func (w *Worker) run(cfg *Config) {
	order := graph.order
	for pass := 0; pass < 8; pass++ {
		busy := false
		for _, s := range order {
			f := w.frames[s]
			if f.N == 0 {
				continue
			}
			busy = true
			if w.tracing {
				w.traceStage(s, cfg, f)
			}
			n := uint64(f.N)
			w.c.Calls[s]++
			w.c.Packets[s] += n
			if w.sample {
				t0 := time.Now()
				graph.run[s](w, cfg, f)
				w.c.SampledNanos[s] += uint64(time.Since(t0))
				w.c.SampledPkts[s] += n
			} else {
				graph.run[s](w, cfg, f)
			}
		}
		if !busy {
			return
		}
	}
	// Unreachable with the current graph (the longest path, a packet
	// too big with DF set: rewrite, icmp4-error, lookup, rewrite, output,
	// takes two passes); free anything left rather than carry it over.
	for s := range w.frames {
		f := w.frames[s]
		for _, x := range f.B[:f.N] {
			b := pkt.At(x)
			w.c.Drops[ReasonNone]++
			w.pool.Put(b)
		}
		f.N = 0
	}
}

// to appends b to stage s's input. A frame cannot overflow: a poll has at
// most one batch in flight and stages never add packets, except ip4-frag,
// which flushes interface-output itself, and whose drops can outgrow the
// drop vector, which is then emptied on the spot. The last check keeps a
// bug from becoming a crash.
func (w *Worker) to(s Stage, b *pkt.Buf) {
	f := w.frames[s]
	if f.N == pkt.BatchSize && s == StageDrop {
		if w.tracing {
			w.traceStage(StageDrop, nil, f)
		}
		w.dropStage(f)
	}
	if f.N == pkt.BatchSize {
		w.c.Drops[ReasonNone]++
		w.pool.Put(b)
		return
	}
	f.B[f.N] = b.Index()
	f.N++
}

// pass hands the first k packets of stage s's input vector (which the
// stage compacted in place) to stage next. When next's vector is empty, as
// it is for a batch flowing down the graph, the two vectors swap: no
// packet pointer is copied. Otherwise the packets are appended.
//
// When next ends a feature arc that some interface has features on (and
// s is not one of that arc's features), the packets go to their
// interface's first feature instead (see arcSplit).
func (w *Worker) pass(s, next Stage, k int) {
	if a := w.arcs.at[next]; a != ArcNone && graph.arc[s] != a {
		w.arcSplit(a, s, k)
		return
	}
	w.move(s, next, k)
}

// move is pass once the node is known: next takes s's vector (a swap
// when its own is empty) or has the packets appended.
func (w *Worker) move(s, next Stage, k int) {
	in, nx := w.frames[s], w.frames[next]
	if nx.N == 0 {
		in.N = k
		w.frames[s], w.frames[next] = nx, in
		return
	}
	for _, x := range in.B[:k] {
		b := pkt.At(x)
		if nx.N == pkt.BatchSize {
			w.c.Drops[ReasonNone]++ // unreachable: see to
			w.pool.Put(b)
			continue
		}
		nx.B[nx.N] = x
		nx.N++
	}
	in.N = 0
}

// To appends b to node s's input vector: how a node hands one packet to
// its next node (see to). It inlines.
func (w *Worker) To(s Stage, b *pkt.Buf) { w.to(s, b) }

// ToAll appends the packets xs (buffer indices) to node s's input
// vector, as To does for each: one copy for the lot.
func (w *Worker) ToAll(s Stage, xs []uint32) {
	f := w.frames[s]
	if f.N+len(xs) > pkt.BatchSize {
		for _, x := range xs {
			w.to(s, pkt.At(x))
		}
		return
	}
	f.N += copy(f.B[f.N:], xs)
}

// Pass hands the first k packets of node s's input vector, compacted in
// place, to node next (see pass): a swap of two vectors when next's is
// empty, as for a batch flowing down the graph.
func (w *Worker) Pass(s, next Stage, k int) { w.pass(s, next, k) }

// Config is the snapshot the worker reads (for a node's Inject, which
// is not handed one).
func (w *Worker) Config() *Config { return w.cfg.Load() }

// RxIface is the interface (port) the batch being received came from:
// the receive node (ethernet-input) reads it once per vector.
func (w *Worker) RxIface() uint16 { return w.rxIf }

// State is node s's per-worker state, as its Node.State made it for
// this worker (nil if it has none): a node reaches it once per vector
// (w.State(StageX).(*xState)), never per packet. Readers on other
// goroutines may use it for what the state guards itself.
func (w *Worker) State(s Stage) any { return w.state[s] }

// General reports whether the worker's nodes must skip their fast loops
// (tests of the general path; see SetGeneralPath). Read it once per
// vector.
func (w *Worker) General() bool { return w.general }

// Stats is the worker's private counters, for its nodes: plain
// increments on the worker's goroutine, published every few polls.
func (w *Worker) Stats() *Counters { return &w.c }

// drop sends b to the drop stage with reason r.
func (w *Worker) drop(b *pkt.Buf, r Reason) {
	b.Reason = uint16(r)
	w.to(StageDrop, b)
}

// drop: the end of the graph; its registration (see Register).
var StageDrop Stage

var _ = Register(Node{
	Name:  "drop",
	Stage: &StageDrop,
	Run:   func(w *Worker, _ *Config, in *pkt.Batch) { w.dropStage(in) },
	Trace: traceDrop,
})

// dropStage counts each packet under its reason and frees it.
//
// drop: the end of the graph for packets that are not sent. Counts per
// reason (see Reason), returns buffers to the pool. Next: none.
func (w *Worker) dropStage(in *pkt.Batch) {
	if w.taps != nil {
		w.tapDrop(w.taps, in)
	}
	for _, x := range in.B[:in.N] {
		b := pkt.At(x)
		r := b.Reason
		if r >= uint16(NumReasons) {
			r = uint16(ReasonNone)
		}
		w.c.Drops[r]++
		w.pool.Put(b)
	}
	in.N = 0
}

// drainInject takes the control plane's messages: frames to send as they
// are, and packets to route again. It returns how many it took.
func (w *Worker) drainInject() int {
	n := 0
	for n < pkt.BatchSize {
		m := w.inject.Peek()
		if m == nil {
			break
		}
		b := w.pool.Get()
		if b == nil {
			break
		}
		if m.Len < 14 || int(m.Len) > w.pool.MaxFrame() { // m.Iface is checked by the stages against the config
			w.pool.Put(b)
			w.inject.Release()
			continue
		}
		copy(b.Reset(int(m.Len)), m.Frame())
		b.InPort, b.OutPort, b.L3 = m.Iface, m.Iface, 14
		switch f := graph.inject[m.Kind]; {
		case m.Kind != InjectTx && f != nil:
			f(w, m, b) // a node's (Node.Inject): ip4-lookup's InjectLookup
		default:
			w.c.InjectedTx++
			w.to(StageInterfaceOutput, b)
		}
		w.inject.Release()
		w.c.Injected++
		n++
	}
	return n
}

// Trace: the drop node records the reason (A).
var traceDrop = NodeTrace{
	Record: func(_ *Worker, _ *Config, b *pkt.Buf, st *RawStep) { st.A = b.Reason },
	Note: func(_ *Config, st, _ *RawStep, _ bool) string {
		r := Reason(st.A)
		if r >= NumReasons {
			r = ReasonNone
		}
		return r.String() + ": " + r.Desc()
	},
}
