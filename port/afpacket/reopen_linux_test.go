package afpacket

import (
	"sync"
	"testing"
	"time"

	"github.com/softnet/softnet/pkt"
)

// TestReopenAside (issue 16, the soak's lost packets): a down queue's
// reopen runs on a goroutine of its own, so Recv and Send return while it
// is in progress. On the worker's thread, making a ring and closing a
// socket waited for RCU grace periods that took seconds on a busy
// machine, and the worker's other ports' rings overflowed meanwhile. Here
// the reopen is held for as long as the test wants (openAsideHook): Recv
// must return while it is held, however long that is, and the queue must
// come up once it is let go.
func TestReopenAside(t *testing.T) {
	l := newLab(t)
	p := openPort(t, l.devA, Options{})
	pool := pkt.NewPool(256)
	var v pkt.Batch
	run(t, "ip", "-n", l.nsB, "link", "del", l.devB)
	for t0 := time.Now(); p.Stats().Up; time.Sleep(time.Millisecond) {
		if time.Since(t0) > 30*time.Second {
			t.Fatal("queue still up 30 s after its device was deleted")
		}
		b := pool.Get()
		copy(b.Reset(64), frame([6]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, typTx, 1, 64))
		v.Push(b)
		p.Send(0, &v, pool)
	}
	l.makeVeth()

	entered, release := make(chan struct{}, 8), make(chan struct{})
	var once sync.Once
	let := func() { once.Do(func() { close(release) }) }
	openAsideHook = func(*queue) { entered <- struct{}{}; <-release }
	t.Cleanup(func() { let(); openAsideHook = nil }) // before the port's Close, which waits for the reopen
	q := &p.q[0]
	for t0 := time.Now(); q.tries == 0 || len(entered) == 0; time.Sleep(time.Millisecond) {
		if time.Since(t0) > 30*time.Second {
			t.Fatalf("no reopen attempt in 30 s: %+v", p.Stats())
		}
		q.retryAt = 0
		done := make(chan struct{})
		go func() { p.Recv(0, &v, pool); close(done) }()
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			let()
			t.Fatal("Recv did not return in 30 s while a reopen was held: it reopens on the caller's thread")
		}
		pool.PutBatch(&v)
	}
	// Held: more polls return, and none starts a second attempt.
	tries := q.tries
	for range 100 {
		q.retryAt = 0
		p.Recv(0, &v, pool)
		pool.PutBatch(&v)
	}
	if q.tries != tries || p.Stats().Up {
		t.Fatalf("while one reopen was held: %d attempts more, %+v", q.tries-tries, p.Stats())
	}
	let()
	var got [][]byte
	for i := 0; len(got) == 0; i++ {
		if i > 1000 {
			t.Fatalf("no traffic after the held reopen was let go: %+v", p.Stats())
		}
		l.peerSend(frame(p.MAC(), typRx, i, 64))
		got = recvFrames(p, 0, pool, 1, typRx, 20*time.Millisecond)
	}
	if s := p.Stats(); !s.Up || s.Reopens != 1 {
		t.Errorf("after the reopen: %+v", s)
	}
}
