package dp

import (
	"sync"
	"sync/atomic"
	"time"
)

// Idling.
//
// A worker that finds nothing to do spins for a few polls, then yields
// its thread between polls, and after idleSleepAfter of nothing it goes
// to sleep (see Worker.sleep): if every receive queue it polls is a
// port.Waiter that gives a descriptor, it blocks in poll(2) on those
// descriptors and on its own eventfd (the waker), for at most idleTimeout;
// otherwise (a pcap replay, a generator) it naps for idleNap per empty
// poll. Under load the gaps between batches (tens of µs) stay below
// idleSleepAfter, so a busy worker makes no system call to idle.
//
// The yields are longer than idleSleepAfter: the clock starts after 256
// empty polls and is read every 256th, and runtime.Gosched on a locked
// thread hands its P to another thread and parks it on a futex until the
// P comes back (two thread wake-ups, 5-20 µs each on the 2-vCPU
// development machine), so a streak lasts milliseconds, not 200 µs. At
// 200 frames a second (bench --scenario latency, ping -i 0.005) the
// worker slept in poll(2) for fewer than 40 of 400 frames, and softnet
// used 75-90 % of its CPU (load 1-3; 41-75 % at load 17). That long
// yielding window is also why the light-rate latency is what it is: a
// version that polled in place and slept after 200 µs (commit 46053d3,
// reverted) used 14-15 % of the CPU at 200 frames a second but woke from
// poll(2) for every frame, and each wake of a thread on the other vCPU
// costs 55-80 µs p50 here: light p50 100-200 µs against 88-125, loaded
// p50 48-78 against 30-66, in interleaved runs. Which to keep is a
// trade of CPU against latency at light rates, not settled here.
//
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

const (
	// idleSleepAfter is how long a worker must find nothing to do before
	// it sleeps between polls. Gaps between batches under load (a few
	// tens of µs, for a worker fed by another worker's software RSS too)
	// stay far below it, so a loaded worker never sleeps; until then it
	// spins and yields, which costs no system call.
	idleSleepAfter = 200 * time.Microsecond

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
	nanosleep(idleNap)
	if now := time.Now(); now.Sub(w.napPub) >= idleTimeout {
		w.napPub = now
		w.c.publish(&w.pub, true)
	}
}

// sleeps is how many times the worker went to sleep in poll(2) (for
// tests and diagnostics).
func (w *Worker) sleeps() uint64 { return w.nSleeps.Load() }
