package mem_test

import (
	"testing"

	"golang.org/x/sys/unix"

	"github.com/softnet/softnet/pkt"
	"github.com/softnet/softnet/port"
	"github.com/softnet/softnet/port/mem"
)

// readable reports whether poll(2) finds fd readable now.
func readable(t *testing.T, fd int) bool {
	t.Helper()
	fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
	n, err := unix.Poll(fds, 0)
	if err != nil {
		t.Fatal(err)
	}
	return n > 0
}

// TestQueueWaitFD: a Queue is a port.Waiter whose descriptor becomes
// readable when frames arrive after the consumer found none (its Recv
// returned 0, or it asked for the descriptor), is drained by Recv, and is
// not signalled while the consumer keeps receiving (no system call per
// Push under load).
func TestQueueWaitFD(t *testing.T) {
	q := mem.NewQueue("q")
	var w port.Waiter = q
	pool := pkt.NewPool(16)
	var v pkt.Batch
	recv := func() int {
		n := q.Recv(0, &v, pool)
		pool.PutBatch(&v)
		return n
	}
	fd := w.WaitFD(0)
	if fd < 0 {
		t.Fatal("no descriptor from WaitFD")
	}
	if readable(t, fd) {
		t.Fatal("readable with no frames")
	}
	q.Push([]byte{1})
	if !readable(t, fd) {
		t.Fatal("not readable after a frame arrived while the consumer might sleep")
	}
	if recv() != 1 || readable(t, fd) {
		t.Fatal("Recv did not take the frame and drain the descriptor")
	}
	// The consumer is busy (its last Recv returned a frame): no signal.
	q.Push([]byte{2})
	if readable(t, fd) {
		t.Fatal("signalled while the consumer was receiving")
	}
	if recv() != 1 || recv() != 0 {
		t.Fatal("want one frame, then none")
	}
	// Its Recv found nothing: the next frame signals.
	q.Push([]byte{3}, []byte{4})
	if !readable(t, fd) {
		t.Fatal("not readable after a frame arrived following an empty Recv")
	}
	// Frames already pending when the consumer asks: readable at once.
	if recv() != 2 {
		t.Fatal("want both frames")
	}
	q.Push([]byte{5})
	if fd2 := w.WaitFD(0); fd2 != fd || !readable(t, fd) {
		t.Fatal("WaitFD with a frame pending: not readable")
	}
	if err := q.Close(); err != nil {
		t.Fatal(err)
	}
	if w.WaitFD(0) != -1 {
		t.Fatal("WaitFD after Close gave a descriptor")
	}
}
