package tap

import (
	"slices"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/softnet/softnet/pkt"
	"github.com/softnet/softnet/port"
)

var _ port.Waiter = (*Port)(nil)

// pollIn waits up to d for fd to be readable and reports whether it is.
func pollIn(t *testing.T, fd int, d time.Duration) bool {
	t.Helper()
	end := time.Now().Add(d)
	for {
		pfd := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
		n, err := unix.Poll(pfd, int(max(0, time.Until(end).Milliseconds())))
		switch {
		case err == unix.EINTR:
			continue
		case err != nil:
			t.Fatalf("poll(%d): %v", fd, err)
		}
		return n == 1 && pfd[0].Revents&unix.POLLIN != 0
	}
}

// TestWaitFD: after a Recv that returned nothing, the kernel's ARP reply
// makes the queue's WaitFD readable and Recv then has it; WaitFD is -1
// while the device is deleted, and readable again the same way once the
// port has re-created it. Recv is only called after poll said readable.
func TestWaitFD(t *testing.T) {
	p, ns := setup(t, Options{})
	pool := pkt.NewPool(1024)
	if fd := p.WaitFD(1); fd != -1 {
		t.Fatalf("WaitFD of a queue the port does not have: %d", fd)
	}
	var v pkt.Batch
	mac := p.MAC()
	wake := func(stage string) {
		t.Helper()
		fd := p.WaitFD(0)
		if fd < 0 {
			t.Fatalf("%s: WaitFD(0) = %d on an up queue", stage, fd)
		}
		for p.Recv(0, &v, pool) != 0 { // the kernel's own frames (IPv6) are not what we wait for
			pool.PutBatch(&v)
		}
		if send(t, p, 0, pool, arpRequest(kernelIP)) != 1 {
			t.Fatalf("%s: ARP request not sent: %+v", stage, p.Stats())
		}
		for end := time.Now().Add(10 * time.Second); ; {
			if !pollIn(t, fd, time.Until(end)) {
				t.Fatalf("%s: WaitFD %d not readable within 10 s of the ARP request (stats %+v)", stage, fd, p.Stats())
			}
			p.Recv(0, &v, pool)
			found := slices.ContainsFunc(v.B[:v.N], func(x uint32) bool { return isARPReply(pkt.At(x).Bytes(), mac) })
			pool.PutBatch(&v)
			if found {
				return
			}
		}
	}
	wake("open")

	run(t, "ip", "-n", ns, "link", "del", "sntap0")
	for end := time.Now().Add(10 * time.Second); p.Stats().Up && time.Now().Before(end); {
		p.Recv(0, &v, pool)
		pool.PutBatch(&v)
		send(t, p, 0, pool, arpRequest(kernelIP))
		time.Sleep(time.Millisecond)
	}
	if s := p.Stats(); s.Up {
		t.Fatalf("port still up after its device was deleted: %+v", s)
	}
	if fd := p.WaitFD(0); fd != -1 {
		t.Fatalf("WaitFD %d while the device is deleted", fd)
	}
	for end := time.Now().Add(10 * time.Second); time.Now().Before(end) && (p.Stats().Reattaches == 0 || !p.Stats().Up); {
		p.Recv(0, &v, pool)
		pool.PutBatch(&v)
		time.Sleep(10 * time.Millisecond)
	}
	if s := p.Stats(); s.Reattaches != 1 || !s.Up {
		t.Fatalf("no re-attach: %+v", s)
	}
	run(t, "ip", "-n", ns, "addr", "add", "10.199.0.1/24", "dev", "sntap0")
	mac = p.MAC()
	wake("after re-attach")
}
