//go:build linux

package dp

import (
	"time"

	"golang.org/x/sys/unix"
)

// pollFD is one descriptor of an idle worker's poll(2).
type pollFD = unix.PollFd

// newEventFD makes a non-blocking eventfd, or returns -1 (the worker then
// naps instead of sleeping in poll(2)).
func newEventFD() int {
	fd, err := unix.Eventfd(0, unix.EFD_NONBLOCK|unix.EFD_CLOEXEC)
	if err != nil {
		return -1
	}
	return fd
}

// signalFD adds 1 to the eventfd fd (buf is scratch).
func signalFD(fd int, buf *[8]byte) {
	*buf = [8]byte{1} // little-endian 1 (eventfd counts in host order; amd64, arm64)
	unix.Write(fd, buf[:])
}

// drainFD resets the eventfd fd (buf is scratch).
func drainFD(fd int, buf *[8]byte) { unix.Read(fd, buf[:]) }

func closeFD(fd int) { unix.Close(fd) }

func nanosleep(d time.Duration) {
	ts := unix.NsecToTimespec(int64(d))
	unix.Nanosleep(&ts, nil)
}

// setTimerSlack sets the calling thread's timer slack and returns the old
// one (0 if unknown: nothing to restore).
func setTimerSlack(ns int) int {
	old, err := unix.PrctlRetInt(unix.PR_GET_TIMERSLACK, 0, 0, 0, 0)
	if err != nil {
		return 0
	}
	if unix.Prctl(unix.PR_SET_TIMERSLACK, uintptr(ns), 0, 0, 0) != nil {
		return 0
	}
	return old
}

// sleep is called by Run after each empty poll once the worker is idle
// (see idle.go). If every receive queue is a port.Waiter, it blocks in
// poll(2) on their descriptors and on the worker's eventfd until a frame,
// a wake-up or idleTimeout (w.idleTO), or downPoll while a queue is down
// (no descriptor); if a queue's port cannot be waited on, it naps.
func (w *Worker) sleep() {
	fd := w.wk.fd // the worker's own: Stop closes it after Run returned
	if fd < 0 {
		w.nap()
		return
	}
	fds := append(w.pfds[:0], pollFD{Fd: int32(fd), Events: unix.POLLIN})
	timeout := int(w.idleTO / time.Millisecond)
	for i, q := range w.rxq {
		wt := w.waiters[i]
		if wt == nil {
			w.nap() // a port that can never be waited on (pcap, generator)
			return
		}
		qfd := wt.WaitFD(q.Queue)
		if qfd < 0 {
			// A Waiter queue that is down (its device is down or gone):
			// nothing to receive on it, but Recv must be called now and
			// then to reopen it (afpacket retries every 200 ms). Wait on
			// the others, waking every downPoll, rather than nap 20 µs
			// at a time: an unplugged port must not cost a core.
			timeout = min(timeout, int(downPoll/time.Millisecond))
			continue
		}
		fds = append(fds, pollFD{Fd: int32(qfd), Events: unix.POLLIN})
	}
	w.wk.state.Store(sleeping)
	if w.pending() {
		w.wk.state.Store(awake)
		return
	}
	w.nSleeps.Add(1)
	t0 := gapNow()
	n, _ := unix.Poll(fds, timeout)
	w.excuse(time.Duration(gapNow()-t0), time.Duration(timeout)*time.Millisecond)
	w.wk.state.Store(awake)
	if n > 0 && fds[0].Revents != 0 {
		drainFD(fd, &w.efdBuf)
	}
	if n == 0 {
		w.c.publish(&w.pub, true) // the safety-net timeout
	}
}

// downPoll is how often a sleeping worker with a receive queue that is
// down wakes to call its Recv (which reopens it when it can).
const downPoll = 10 * time.Millisecond

// osYield lets another runnable thread of the worker's CPU run, if any,
// without the Go scheduler: sched_yield(2) on the worker's locked thread
// (see idle.go).
func osYield() { unix.RawSyscall(unix.SYS_SCHED_YIELD, 0, 0, 0) }
