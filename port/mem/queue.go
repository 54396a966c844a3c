package mem

import (
	"sync"

	"github.com/softnet/softnet/pkt"
)

// Queue is a test port: frames given to Push are received in order, and
// frames the router sends are kept (copied) for Take.
type Queue struct {
	name string
	mu   sync.Mutex
	rx   [][]byte
	tx   [][]byte
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
	defer q.mu.Unlock()
	for _, f := range frames {
		q.rx = append(q.rx, append([]byte(nil), f...))
	}
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
	defer q.mu.Unlock()
	n := 0
	for len(q.rx) > 0 && v.N < pkt.BatchSize {
		b := pool.Get()
		if b == nil {
			break
		}
		f := q.rx[0]
		q.rx[0] = nil
		q.rx = q.rx[1:]
		copy(b.Reset(min(len(f), pkt.MaxFrame)), f)
		v.B[v.N] = b
		v.N++
		n++
	}
	return n
}

// Send implements port.Port: copies each frame for Take and frees it.
func (q *Queue) Send(_ int, v *pkt.Batch, pool *pkt.Pool) int {
	q.mu.Lock()
	defer q.mu.Unlock()
	n := v.N
	for _, b := range v.B[:n] {
		if q.Cap == 0 || len(q.tx) < q.Cap {
			q.tx = append(q.tx, append([]byte(nil), b.Bytes()...))
		}
	}
	pool.PutBatch(v)
	return n
}
