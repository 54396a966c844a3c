package afxdp

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/softnet/softnet/pkt"
)

// TestReopenAside: a queue whose device went away closes its old socket
// and makes its new one on goroutines of their own, so the worker's Recv
// and Send return while either is in progress. On the worker's thread,
// closing an XDP socket (xsk_release) and binding one waited for RCU
// grace periods that took up to seconds on a busy machine, while the
// worker's other ports went unpolled. Here the close and then the reopen
// are held for as long as the test wants (asideHook): Recv and Send must
// return meanwhile, however long that is (a watchdog lets a held one go
// after 30 s and the test fails); the buffers the kernel held come back
// to the pool only once the old socket is closed, each exactly once; and
// the queue comes up and forwards once the reopen is let go.
func TestReopenAside(t *testing.T) {
	l := newLab(t)
	a := newArena(t, 4096)
	pool := pkt.NewPoolIn(a, 0, a.Len())
	p := openPort(t, a, Options{})
	var v pkt.Batch
	p.Recv(0, &v, pool) // lend the kernel fill buffers
	if lent := a.Len() - pool.Free(); lent == 0 {
		t.Fatal("the kernel holds no fill buffers before the delete")
	}

	// Gates: the aside close and open wait at the hook until let go.
	entered := make(chan string, 16)
	gates := map[string]chan struct{}{"close": make(chan struct{}), "open": make(chan struct{})}
	var once = map[string]*sync.Once{"close": {}, "open": {}}
	let := func(what string) { once[what].Do(func() { close(gates[what]) }) }
	var watchdog atomic.Bool
	dog := time.AfterFunc(30*time.Second, func() { watchdog.Store(true); let("close"); let("open") })
	asideHook = func(what string) { entered <- what; <-gates[what] }
	t.Cleanup(func() { dog.Stop(); let("close"); let("open"); asideHook = nil }) // before the port's Close, which waits for them
	waitEntered := func(what string) {
		t.Helper()
		select {
		case w := <-entered:
			if w != what {
				t.Fatalf("aside %q began, want %q", w, what)
			}
		case <-time.After(30 * time.Second):
			t.Fatalf("no aside %s began in 30 s: %+v", what, p.Stats())
		}
	}
	s := p.qs[0]
	polls := func(n int) {
		t.Helper()
		for i := range n {
			s.retryAt = 0 // a reopen would be due
			if p.Recv(0, &v, pool) != 0 {
				pool.PutBatch(&v)
			}
			b := pool.Get()
			copy(b.Reset(64), frame([6]byte{0x02, 0, 0, 0, 0xbb, 0xbb}, i, 64))
			v.Push(b)
			p.Send(0, &v, pool)
			if watchdog.Load() {
				t.Fatal("Recv or Send did not return while an aside close or reopen was held: it runs on the caller's thread")
			}
		}
	}

	// Delete the device; the queue notices (SO_ERROR on its idle ring)
	// and its close is held.
	run(t, "ip", "-n", l.nsA, "link", "del", "vA")
	for t0 := time.Now(); p.Stats().DownQueues == 0; time.Sleep(time.Millisecond) {
		if time.Since(t0) > 30*time.Second {
			t.Fatalf("queue still up 30 s after its device was deleted: %+v", p.Stats())
		}
		if p.Recv(0, &v, pool) != 0 {
			pool.PutBatch(&v)
		}
	}
	waitEntered("close")
	polls(200)
	if st := p.Stats(); st.DownQueues != 1 || s.tries != 0 || st.TxDown < 200 {
		t.Fatalf("while the old socket's close was held: %d reopen attempts (want 0), %+v", s.tries, st)
	}
	if pool.Free() == pool.Size() {
		t.Fatal("the kernel's buffers came back to the pool before its socket was closed")
	}

	// Let the close go: the buffers come back, each once, at a later poll.
	let("close")
	for t0 := time.Now(); pool.Free() != pool.Size(); time.Sleep(time.Millisecond) {
		if time.Since(t0) > 30*time.Second {
			t.Fatalf("buffers stranded with the closed socket: pool %d of %d", pool.Free(), pool.Size())
		}
		p.Recv(0, &v, pool)
	}
	// The reopen begins (the device is still gone) and is held.
	polls(1)
	waitEntered("open")
	polls(200)
	if st := p.Stats(); st.DownQueues != 1 || s.tries != 1 || st.Reopens != 0 || pool.Free() != pool.Size() {
		t.Fatalf("while one reopen was held: %d attempts (want 1), pool %d of %d, %+v", s.tries, pool.Free(), pool.Size(), p.Stats())
	}

	// The device is back; let the held reopen go: it finds it.
	l.recreate(t)
	let("open")
	var got [][]byte
	for i := 0; len(got) == 0; i++ {
		if i > 3000 {
			t.Fatalf("no frame after the held reopen was let go: %+v", p.Stats())
		}
		if i%100 == 0 {
			l.peerSend(t, frame(p.MAC(), 100+i, 64))
		}
		if p.Recv(0, &v, pool) != 0 {
			for k := range v.N {
				if f := v.Buf(k).Bytes(); len(f) >= 14 && f[12] == typTest>>8 && f[13] == typTest&0xff {
					got = append(got, f)
				}
			}
			pool.PutBatch(&v)
		}
		time.Sleep(time.Millisecond)
	}
	if st := p.Stats(); st.Reopens != 1 || st.DownQueues != 0 || s.tries != 1 {
		t.Errorf("after the reopen: %d attempts, %+v", s.tries, st)
	}
	if p.WaitFD(0) < 0 {
		t.Error("WaitFD after the reopen is -1")
	}
}
