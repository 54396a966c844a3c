package dp

import (
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Idling.
//
// What a worker does when a poll finds nothing is its poll mode
// (Options.PollMode), as VPP's rx-mode: PollInterrupt, PollAdaptive or
// PollPolling.
//
//   - interrupt (the default): after idleSpins empty polls in a row (a few
//     µs) it goes to sleep (see Worker.sleep): if every receive queue it
//     polls is a port.Waiter that gives a descriptor, it blocks in poll(2)
//     on those descriptors and on its own eventfd (the waker), for at most
//     idleTimeout; otherwise (a pcap replay, a generator) it naps for
//     idleNap per empty poll. Least CPU; a frame that finds the worker
//     asleep waits for a thread wake-up.
//   - adaptive: it polls for Options.PollWindow after the last frame
//     (DefaultPollWindow unless given), then sleeps as interrupt does. A
//     frame that follows another within the window (a reply that takes
//     longer than the spins, a moderate rate) finds the worker awake.
//   - polling: it never sleeps and polls without pause, like a VPP or
//     DPDK worker: it uses its CPU all the time, and no frame waits for a
//     wake-up, provided the worker has its CPU (see below).
//
// Between empty polls a worker that stays awake (polling, or adaptive in
// its window) calls sched_yield(2) every idleYieldEvery polls (osYield),
// not runtime.Gosched, which on a locked thread hands its P to another
// thread and parks this one on a futex until it comes back: two thread
// wake-ups, 5-20 µs each on the 2-vCPU development machine (the old idle
// loop's Gosched phase made its nominal 200 µs of polling last
// milliseconds, at 75-90 % of a CPU at 200 frames a second).
//
// Measured (bench --scenario latency --poll-mode interrupt,adaptive,polling,
// 200 probes a second, no flood; the 2-vCPU VM shared with other
// engineers' runs, load 14-26; the README's "Poll mode" has every run):
// interrupt p50 73-197 µs at 3-5 % of a CPU; adaptive (500 µs) 151-172 µs
// at 12-14 %; polling 117-210 µs at 40-75 %: a polling thread that shares
// its CPU with others is preempted, and a frame waits for its next time
// slice, while a thread that sleeps is favoured by the scheduler when it
// wakes. With the worker in SCHED_FIFO (--rt-priority 10): interrupt
// 97/146 µs, adaptive 92/172, polling 23/33 µs p50 (the target's 50 µs
// met) but p99 12-25 ms: the kernel's real-time throttling
// (sched_rt_runtime_us, 950 ms a second) stops a thread that never sleeps
// for 50 ms every second. So polling needs a CPU of its own at normal
// priority (isolcpus, nothing else pinned there), as DPDK and VPP
// workers have. Adaptive bought nothing over interrupt on this topology:
// host B answers inside the worker's own send (the reply is in the ring
// when sendmmsg returns), so the request's wake-up is the only one either
// way. In these runs Gosched instead of sched_yield gave a polling
// worker more of a contended CPU (72-99 %, p50 65-73 µs), by waking
// threads the scheduler favours, and less under SCHED_FIFO (p50 37-83
// µs), where the hand-off runs through the runtime's normal threads;
// sched_yield is kept: a polling worker is meant to have its CPU.

// Work that reaches a worker other than through a port (the control
// plane's inject ring, software RSS lanes and their buffer returns, Stop)
// wakes it through its waker without a lost wake-up, and without a system
// call per message while the worker is awake:
//
//	worker (sleep)                      producer (Ring.Commit, lanes, Stop)
//	state = sleeping                    commit the message (atomic store)
//	re-check rings, lanes, stop         if state == sleeping:
//	poll(2) on ports + eventfd              state = woken; write eventfd
//	state = awake
//
// Both sides store, then load the other side's variable, with Go's
// sequentially consistent atomics, so in their single total order either
// the producer's load of state comes after the worker's store (it sees
// sleeping and writes the eventfd, which makes poll(2) return, or return
// at once if it has not started yet), or it comes before, and then the
// producer's commit, earlier still, precedes the worker's re-check, which
// finds the message and does not sleep. The one producer that moves state
// from sleeping to woken writes; the others see woken or awake and make
// no system call. A producer that loads sleeping just before the worker
// wakes for another reason writes anyway: a spurious wake-up, the
// eventfd being drained whenever poll(2) reports it readable.

// PollMode is what a worker does when it finds nothing to do (see
// above).
type PollMode uint8

const (
	// PollInterrupt sleeps after a few µs of nothing. The default.
	PollInterrupt PollMode = iota
	// PollAdaptive polls for the poll window after the last frame, then
	// sleeps as PollInterrupt.
	PollAdaptive
	// PollPolling never sleeps: it busy-polls its queues, a whole CPU.
	PollPolling
)

// PollModes are the poll modes' names, as String gives them (config key
// poll_mode, softnet show runtime).
var PollModes = []string{PollInterrupt: "interrupt", PollAdaptive: "adaptive", PollPolling: "polling"}

func (m PollMode) String() string {
	if int(m) < len(PollModes) {
		return PollModes[m]
	}
	return fmt.Sprintf("PollMode(%d)", m)
}

// ParsePollMode is the poll mode named s (one of PollModes).
func ParsePollMode(s string) (PollMode, error) {
	for m, n := range PollModes {
		if s == n {
			return PollMode(m), nil
		}
	}
	return 0, fmt.Errorf("poll mode %q: choose %s", s, strings.Join(PollModes, ", "))
}

const (
	// DefaultPollWindow is how long an adaptive worker polls after its
	// last frame when Options.PollWindow is 0.
	DefaultPollWindow = 500 * time.Microsecond

	// idleSpins is how many empty polls in a row an interrupt worker
	// makes before it sleeps: a few µs, which a burst's next batch
	// usually beats.
	idleSpins = 64

	// idleYieldEvery: an awake idle worker calls sched_yield(2) once
	// every idleYieldEvery empty polls, and reads the clock (adaptive).
	idleYieldEvery = 16

	// idleTimeout bounds one sleep in poll(2): a safety net, and the
	// period at which an idle worker publishes its counters again.
	idleTimeout = 100 * time.Millisecond

	// idleNap is the sleep per empty poll of an idle worker that has a
	// queue it cannot wait on. It is a nanosleep on the worker's locked
	// thread with its timer slack cut to 1 µs, not time.Sleep, which on a
	// locked thread rounds up to about 1 ms (measured here: 1.1 ms for
	// time.Sleep(50µs)). Measured on the 2-core development machine under
	// load: 20 µs asked, 46 µs slept on average (93 µs with the default
	// 50 µs timer slack).
	idleNap = 20 * time.Microsecond
)

// Waker states.
const (
	awake    = 0 // the worker polls; producers make no system call
	sleeping = 1 // the worker is in (or about to enter) poll(2)
	woken    = 2 // a producer took the wake-up and writes the eventfd
)

// waker is how producers wake a sleeping worker: its state (written by
// the worker on going to sleep and waking, read by producers after each
// commit) on a line of its own, and its eventfd (-1: none, or closed).
// mu orders a producer's write with the worker's close of fd at Stop, so
// a late producer never writes to a descriptor number the process has
// reused; it is taken only on a wake-up, never per message.
type waker struct {
	_     [64]byte
	state atomic.Uint32
	_     [60]byte
	mu    sync.Mutex
	fd    int
	buf   [8]byte // the eventfd increment, under mu
}

// wake wakes the worker if it sleeps. One atomic load when it does not.
func (k *waker) wake() {
	if k == nil || k.state.Load() != sleeping || !k.state.CompareAndSwap(sleeping, woken) {
		return
	}
	k.mu.Lock()
	if k.fd >= 0 {
		signalFD(k.fd, &k.buf)
	}
	k.mu.Unlock()
}

// close closes the eventfd; later wake-ups write nothing.
func (k *waker) close() {
	k.mu.Lock()
	if k.fd >= 0 {
		closeFD(k.fd)
		k.fd = -1
	}
	k.mu.Unlock()
}

// pending reports whether the worker has work that came without a port:
// injected messages, lane batches or buffer returns, or Stop. Called by
// the worker after it published sleeping (see the ordering above).
func (w *Worker) pending() bool {
	if w.stop.Load() || w.inject.Len() > 0 {
		return true
	}
	for _, l := range w.lanesIn {
		if l.fwd.Len() > 0 {
			return true
		}
	}
	for _, l := range w.lanesOut {
		if l.ret.Len() > 0 {
			return true
		}
	}
	return false
}

// nap sleeps idleNap (see idleNap), publishing the counters every
// idleTimeout of napping, as a sleep in poll(2) does on its timeout.
func (w *Worker) nap() {
	t0 := gapNow()
	nanosleep(idleNap)
	w.excuse(time.Duration(gapNow()-t0), idleNap)
	if now := time.Now(); now.Sub(w.napPub) >= idleTimeout {
		w.napPub = now
		w.c.publish(&w.pub, true)
	}
}

// sleeps is how many times the worker went to sleep in poll(2) (for
// tests and diagnostics).
func (w *Worker) sleeps() uint64 { return w.nSleeps.Load() }
