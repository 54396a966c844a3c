package mem

import (
	"sync"
	"testing"
	"unsafe"

	"github.com/softnet/softnet/pkt"
)

// templates returns n 64-byte frames whose first byte is their index.
func templates(n int) [][]byte {
	fs := make([][]byte, n)
	for i := range fs {
		fs[i] = make([]byte, 64)
		fs[i][0] = byte(i)
	}
	return fs
}

// recvIDs receives one batch of up to k frames from queue q and returns
// their template indexes, freeing the buffers.
func recvIDs(g *Gen, q, k int, pool *pkt.Pool) []int {
	var v pkt.Batch
	v.N = pkt.BatchSize - k // leave room for k
	n := g.Recv(q, &v, pool)
	ids := make([]int, 0, n)
	for _, x := range v.B[v.N-n : v.N] {
		b := pkt.At(x)
		ids = append(ids, int(b.Bytes()[0]))
		pool.Put(b)
	}
	return ids
}

func TestGenQueuesOwnSequences(t *testing.T) {
	g := NewGenQueues("g", templates(8), 2)
	pool := pkt.NewPool(64)
	for _, tc := range []struct {
		q    int
		want []int
	}{
		{0, []int{0, 1, 2, 3, 4, 5}},
		{1, []int{4, 5, 6, 7, 0, 1}}, // starts at 1*8/2, wraps on its own
		{0, []int{6, 7, 0}},
		{1, []int{2, 3}},
		{2, []int{}}, // no such queue
	} {
		got := recvIDs(g, tc.q, len(tc.want)+boolInt(tc.q == 2)*3, pool)
		if !equal(got, tc.want) {
			t.Fatalf("queue %d: got templates %v, want %v", tc.q, got, tc.want)
		}
	}
	if a, b := g.QueueGenerated(0), g.QueueGenerated(1); a != 9 || b != 8 || g.Generated() != 17 {
		t.Fatalf("generated %d + %d = %d, want 9 + 8", a, b, g.Generated())
	}
	if free := pool.Free(); free != pool.Size() {
		t.Fatalf("%d of %d buffers back", free, pool.Size())
	}

	// The limit holds per queue.
	g = NewGenQueues("g", templates(8), 2)
	g.SetLimit(5)
	for q := range 2 {
		if got := recvIDs(g, q, 8, pool); len(got) != 5 {
			t.Fatalf("queue %d with limit 5 gave %d frames", q, len(got))
		}
		if got := recvIDs(g, q, 8, pool); len(got) != 0 {
			t.Fatalf("queue %d past its limit gave %d frames", q, len(got))
		}
	}
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

func equal(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestSendCountsPerQueue(t *testing.T) {
	g := NewGenQueues("g", templates(4), 2)
	s := NewSinkQueues("s", 2)
	pool := pkt.NewPool(64)
	send := func(p interface {
		Send(int, *pkt.Batch, *pkt.Pool) int
	}, q, n int) {
		var v pkt.Batch
		v.N = pool.GetN(v.B[:n])
		if got := p.Send(q, &v, pool); got != n || v.N != 0 {
			t.Fatalf("Send(%d, %d frames) = %d, left %d", q, n, got, v.N)
		}
	}
	send(s, 0, 3)
	send(s, 1, 5)
	send(s, 3, 7) // queue 3 counts on 3 mod 2
	send(g, 1, 2)
	if s.QueueSent(0) != 3 || s.QueueSent(1) != 12 || s.Sent() != 15 {
		t.Fatalf("sink counted %d and %d, total %d; want 3, 12, 15", s.QueueSent(0), s.QueueSent(1), s.Sent())
	}
	if g.QueueSent(0) != 0 || g.QueueSent(1) != 2 || g.Sent() != 2 {
		t.Fatalf("generator counted sent %d and %d; want 0 and 2", g.QueueSent(0), g.QueueSent(1))
	}
	if free := pool.Free(); free != pool.Size() {
		t.Fatalf("%d of %d buffers back", free, pool.Size())
	}
}

// TestQueueLines checks that each queue's writable state has its own two
// cache lines (see lineSize), so workers do not false-share.
func TestQueueLines(t *testing.T) {
	if sz := unsafe.Sizeof(genQueue{}); sz != lineSize {
		t.Fatalf("genQueue is %d bytes, want %d", sz, lineSize)
	}
	if sz := unsafe.Sizeof(sinkQueue{}); sz != lineSize {
		t.Fatalf("sinkQueue is %d bytes, want %d", sz, lineSize)
	}
	for n := 1; n <= 64; n++ {
		g, s := NewGenQueues("g", templates(1), n), NewSinkQueues("s", n)
		if a := uintptr(unsafe.Pointer(&g.q[0])); a%lineSize != 0 {
			t.Fatalf("%d generator queues start at %#x, not on a %d-byte boundary", n, a, lineSize)
		}
		if a := uintptr(unsafe.Pointer(&s.q[0])); a%lineSize != 0 {
			t.Fatalf("%d sink queues start at %#x, not on a %d-byte boundary", n, a, lineSize)
		}
	}
}

func TestGenSinkZeroAlloc(t *testing.T) {
	g := NewGenQueues("g", templates(256), 2)
	s := NewSinkQueues("s", 2)
	pool := pkt.NewPool(1024)
	var v pkt.Batch
	a := testing.AllocsPerRun(100, func() {
		for q := range 2 {
			g.Recv(q, &v, pool)
			s.Send(q, &v, pool)
			g.Recv(q, &v, pool)
			g.Send(q, &v, pool)
		}
	})
	if a != 0 {
		t.Fatalf("%v allocations per round, want 0", a)
	}
}

// TestGenConcurrentQueues runs one goroutine per queue, as workers do;
// under -race it proves the queues share no written memory.
func TestGenConcurrentQueues(t *testing.T) {
	const queues, rounds = 4, 200
	g := NewGenQueues("g", templates(1000), queues)
	s := NewSinkQueues("s", queues)
	var wg sync.WaitGroup
	for q := range queues {
		wg.Go(func() {
			pool := pkt.NewPool(pkt.BatchSize)
			var v pkt.Batch
			for range rounds {
				g.Recv(q, &v, pool)
				s.Send(q, &v, pool)
			}
		})
	}
	wg.Wait()
	for q := range queues {
		if g.QueueGenerated(q) != rounds*pkt.BatchSize || s.QueueSent(q) != rounds*pkt.BatchSize {
			t.Fatalf("queue %d: generated %d, sent %d, want %d each", q, g.QueueGenerated(q), s.QueueSent(q), rounds*pkt.BatchSize)
		}
	}
	if g.Generated() != s.Sent() {
		t.Fatalf("generated %d, sink got %d", g.Generated(), s.Sent())
	}
}

// TestQueueSmallChunks: a Queue cuts a frame to its pool's buffers (an
// arena of 2048-byte chunks) instead of running into the next chunk.
func TestQueueSmallChunks(t *testing.T) {
	a, err := pkt.NewArena(pkt.ArenaOptions{Frames: 8, Chunk: 2048})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	pool := pkt.NewPoolIn(a, 0, 8)
	q := NewQueue("q")
	q.Push(make([]byte, 3000), make([]byte, 60))
	var v pkt.Batch
	if n := q.Recv(0, &v, pool); n != 2 {
		t.Fatalf("received %d frames, want 2", n)
	}
	if l := v.Buf(0).Len; int(l) != pool.MaxFrame() {
		t.Fatalf("3000-byte frame received as %d bytes, want cut to %d", l, pool.MaxFrame())
	}
	if l := v.Buf(1).Len; l != 60 {
		t.Fatalf("60-byte frame received as %d bytes", l)
	}
	pool.PutBatch(&v)
}
