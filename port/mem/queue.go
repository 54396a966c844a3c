package mem

import (
	"sync"

	"github.com/softnet/softnet/pkt"
)

// Queue is a test port: frames given to Push are received in order, and
// frames the router sends are kept (copied) for Take. It is a
// port.Waiter: an idle worker can block on its eventfd, which Push
// signals only when the worker may be about to sleep (its last Recv or
// WaitFD found nothing), so a busy queue makes no system call.
type Queue struct {
	name string
	mu   sync.Mutex
	rx   [][]byte
	tx   [][]byte
	// The eventfd WaitFD returns (made on first use; 0: none, -1:
	// closed), whether Push must signal it (waiting), and the signals
	// decided and not yet drained (Recv drains them; at most one is
	// outstanding).
	efd     int
	waiting bool
	sigs    uint64
	// Cap bounds the frames kept for Take (0: unbounded); beyond it, sent
	// frames are counted as sent and discarded.
	Cap int
}

// NewQueue makes a queue port.
func NewQueue(name string) *Queue { return &Queue{name: name} }

// Name implements port.Port.
func (q *Queue) Name() string { return q.name }

// Push queues frames to be received (copied).
func (q *Queue) Push(frames ...[]byte) {
	q.mu.Lock()
	for _, f := range frames {
		q.rx = append(q.rx, append([]byte(nil), f...))
	}
	fd := -1
	if q.waiting && len(frames) > 0 {
		fd = q.signal()
	}
	q.mu.Unlock()
	// Outside the lock: the worker this wakes may preempt this thread,
	// and must not find the lock held.
	signalFD(fd)
}

// WaitFD implements port.Waiter: an eventfd readable when frames are
// pending (-1 if it cannot be made, or after Close).
func (q *Queue) WaitFD(int) int {
	q.mu.Lock()
	if q.efd == 0 {
		q.efd = newEventFD()
	}
	efd, fd := q.efd, -1
	if efd > 0 {
		fd = q.arm()
	}
	q.mu.Unlock()
	signalFD(fd)
	return max(efd, -1)
}

// arm decides to signal the eventfd now if frames are pending (the
// worker's pool may have run dry), else at the next Push. q.mu is held
// and the eventfd exists. It returns the descriptor to signal after
// unlocking, or -1.
func (q *Queue) arm() int {
	if len(q.rx) > 0 {
		return q.signal()
	}
	q.waiting = true
	return -1
}

// signal decides to make the eventfd readable. q.mu is held. It returns
// the descriptor to signal after unlocking, or -1 if a signal is already
// outstanding.
func (q *Queue) signal() int {
	q.waiting = false
	if q.sigs > 0 {
		return -1
	}
	q.sigs++
	return q.efd
}

// Close closes the queue's eventfd, if WaitFD made one. Call it when no
// worker polls the queue and no Push runs.
func (q *Queue) Close() error {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.efd > 0 {
		closeFD(q.efd)
	}
	q.efd, q.waiting, q.sigs = -1, false, 0
	return nil
}

// Pending is the number of frames not yet received.
func (q *Queue) Pending() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.rx)
}

// Take returns and forgets the frames sent so far.
func (q *Queue) Take() [][]byte {
	q.mu.Lock()
	defer q.mu.Unlock()
	t := q.tx
	q.tx = nil
	return t
}

// Recv implements port.Port. Frames longer than a buffer are truncated to
// pkt.MaxFrame (a real NIC would drop them; tests do not send them).
func (q *Queue) Recv(_ int, v *pkt.Batch, pool *pkt.Pool) int {
	q.mu.Lock()
	if q.sigs > 0 { // a signal written, or about to be
		q.sigs -= min(q.sigs, drainFD(q.efd))
	}
	n := 0
	for len(q.rx) > 0 && v.N < pkt.BatchSize {
		b := pool.Get()
		if b == nil {
			break
		}
		f := q.rx[0]
		q.rx[0] = nil
		q.rx = q.rx[1:]
		copy(b.Reset(min(len(f), pool.MaxFrame())), f)
		v.B[v.N] = b.Index()
		v.N++
		n++
	}
	fd := -1
	if n == 0 && q.efd > 0 {
		fd = q.arm() // the worker may sleep next
	}
	q.mu.Unlock()
	signalFD(fd)
	return n
}

// Send implements port.Port: copies each frame for Take and frees it.
func (q *Queue) Send(_ int, v *pkt.Batch, pool *pkt.Pool) int {
	q.mu.Lock()
	defer q.mu.Unlock()
	n := v.N
	for _, x := range v.B[:n] {
		b := pkt.At(x)
		if q.Cap == 0 || len(q.tx) < q.Cap {
			q.tx = append(q.tx, append([]byte(nil), b.Bytes()...))
		}
	}
	pool.PutBatch(v)
	return n
}
