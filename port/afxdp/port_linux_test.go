package afxdp

import (
	"bytes"
	"net"
	"strings"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/softnet/softnet/pkt"
)

// recvTest polls queue 0 until n test frames came or the deadline passed;
// it returns copies and checks each was received in place: its bytes are
// in the UMEM (the arena's region), in the chunk of the buffer Recv named.
func recvTest(t *testing.T, p *Port, a *pkt.Arena, pool *pkt.Pool, n int) [][]byte {
	t.Helper()
	var out [][]byte
	var v pkt.Batch
	region := a.Region()
	lo := uintptr(unsafe.Pointer(&region[0]))
	end := time.Now().Add(10 * time.Second)
	for len(out) < n && time.Now().Before(end) {
		if p.Recv(0, &v, pool) == 0 {
			time.Sleep(100 * time.Microsecond)
			continue
		}
		for i := range v.N {
			b := v.Buf(i)
			f := b.Bytes()
			at := uintptr(unsafe.Pointer(&f[0]))
			chunk := uintptr(a.Chunk())
			if k := uintptr(b.Index() - a.First()); at < lo+k*chunk || at+uintptr(len(f)) > lo+(k+1)*chunk {
				t.Errorf("frame of buffer %d at %#x: not in its own UMEM chunk [%#x, %#x)", b.Index(), at, lo+k*chunk, lo+(k+1)*chunk)
			}
			if len(f) >= 14 && f[12] == typTest>>8 && f[13] == typTest&0xff {
				out = append(out, append([]byte(nil), f...))
			}
		}
		pool.PutBatch(&v)
	}
	return out
}

// TestRings runs the four rings against the kernel: frames sent into the
// veth arrive through the fill and RX rings, byte for byte; frames put on
// the TX ring arrive at the peer byte for byte, and their buffers come
// back to the pool through the completion ring.
func TestRings(t *testing.T) {
	l := newLab(t)
	a := newArena(t, 4096)
	pool := pkt.NewPoolIn(a, 0, a.Len())
	p := openPort(t, a, Options{})
	t.Logf("mode %s zero-copy %v", p.Mode(), p.ZeroCopy())

	// Each Recv lends the kernel up to a batch of fill frames, up to
	// FillFrames (RingSize).
	var v pkt.Batch
	for i := 1; i <= 8; i++ {
		p.Recv(0, &v, pool)
		if lent := a.Len() - pool.Free(); lent != min(i*pkt.BatchSize, DefaultFillFrames) {
			t.Fatalf("after Recv %d the kernel holds %d buffers, want %d", i, lent, min(i*pkt.BatchSize, DefaultFillFrames))
		}
	}

	// RX: more frames than one fill batch, so the fill ring is topped up
	// while they arrive.
	sizes := []int{60, 64, 65, 128, 1000, 1513, 1514}
	var want [][]byte
	for i := range 700 {
		want = append(want, frame(p.MAC(), i, sizes[i%len(sizes)]))
	}
	got := [][]byte{}
	for i, f := range want {
		l.peerSend(t, f)
		if i%64 == 63 { // keep within the RX ring: receive as we go
			got = append(got, recvTest(t, p, a, pool, 64)...)
		}
	}
	got = append(got, recvTest(t, p, a, pool, len(want)-len(got))...)
	if len(got) != len(want) {
		t.Fatalf("received %d of %d frames (stats %+v)", len(got), len(want), p.Stats())
	}
	for i := range want {
		if !bytes.Equal(got[i], want[i]) {
			t.Fatalf("frame %d: got %d bytes % x..., want %d bytes % x...", i, len(got[i]), got[i][:18], len(want[i]), want[i][:18])
		}
	}

	// TX: each frame from a buffer of the pool, at its stagger of offsets.
	free := pool.Free()
	dst := [6]byte{0x02, 0, 0, 0, 0xbb, 0xbb}
	for i, n := range sizes {
		f := frame(dst, 1000+i, n)
		b := pool.Get()
		copy(b.Reset(len(f)), f)
		v.Push(b)
		if sent := p.Send(0, &v, pool); sent != 1 || v.N != 0 {
			t.Fatalf("Send: sent %d, batch left with %d", sent, v.N)
		}
		g := l.peerRecv(time.Now().Add(10 * time.Second))
		if !bytes.Equal(g, f) {
			t.Fatalf("TX frame %d: peer got %d bytes, want %d (% x...)", i, len(g), len(f), f[:18])
		}
	}
	// Completions: every sent buffer is back after the next Send.
	p.Send(0, &v, pool)
	if pool.Free() != free {
		t.Fatalf("pool has %d buffers after the sends completed, want %d", pool.Free(), free)
	}
	if st := p.Stats(); st.TxPackets != uint64(len(sizes)) || st.RxPackets < uint64(len(want)) {
		t.Fatalf("stats %+v", st)
	}
}

// TestForwardNoAllocs: receiving a frame and sending it back out (as a
// worker forwards) allocates nothing.
func TestForwardNoAllocs(t *testing.T) {
	l := newLab(t)
	a := newArena(t, 4096)
	pool := pkt.NewPoolIn(a, 0, a.Len())
	p := openPort(t, a, Options{})
	var v pkt.Batch
	p.Recv(0, &v, pool)
	f := frame(p.MAC(), 1, 64)
	fwd := 0
	allocs := testing.AllocsPerRun(200, func() {
		l.peerSend(t, f)
		end := time.Now().Add(10 * time.Second)
		for v.N == 0 && time.Now().Before(end) {
			p.Recv(0, &v, pool)
		}
		fwd += p.Send(0, &v, pool)
	})
	if allocs != 0 {
		t.Fatalf("Recv+Send: %v allocations per frame, want 0", allocs)
	}
	if fwd < 200 {
		t.Fatalf("forwarded %d of 201 frames", fwd)
	}
}

// TestDeleteRecreate: a device deleted under the port takes its queue
// down, and every buffer the kernel held (fill and RX rings, TX and
// completion rings) comes back to the pool once the socket is closed; re-created with the same name,
// the port reopens it (new sockets, the program attached to the new
// device) and frames flow both ways again. The RX side alone notices
// (SO_ERROR on an idle ring), and so does a send (ENXIO).
func TestDeleteRecreate(t *testing.T) {
	for _, sends := range []bool{false, true} {
		t.Run(map[bool]string{false: "rx-only", true: "rx-tx"}[sends], func(t *testing.T) { testDeleteRecreate(t, sends) })
	}
}

func testDeleteRecreate(t *testing.T, sends bool) {
	l := newLab(t)
	a := newArena(t, 4096)
	pool := pkt.NewPoolIn(a, 0, a.Len())
	p := openPort(t, a, Options{})
	var v pkt.Batch
	p.Recv(0, &v, pool) // lend the kernel fill buffers
	l.peerSend(t, frame(p.MAC(), 1, 64))
	if got := recvTest(t, p, a, pool, 1); len(got) != 1 {
		t.Fatalf("no frame before the delete: %+v", p.Stats())
	}
	if lent := a.Len() - pool.Free(); lent == 0 {
		t.Fatal("the kernel holds no fill buffers before the delete")
	}

	// Delete the device: sends and receives go on until the queue is down.
	run(t, "ip", "-n", l.nsA, "link", "del", "vA")
	dst := [6]byte{0x02, 0, 0, 0, 0xbb, 0xbb}
	end := time.Now().Add(10 * time.Second)
	for p.Stats().DownQueues == 0 && time.Now().Before(end) {
		for i := range 8 * btoi(sends) {
			b := pool.Get()
			copy(b.Reset(64), frame(dst, i, 64))
			v.Push(b)
		}
		p.Send(0, &v, pool)
		if p.Recv(0, &v, pool) != 0 {
			pool.PutBatch(&v)
		}
		time.Sleep(time.Millisecond)
	}
	st := p.Stats()
	if st.DownQueues != 1 || st.LastError == "" {
		t.Fatalf("10 s after the delete the queue is not down: %+v", st)
	}
	t.Logf("down: %s", st.LastError)
	// The socket is closed aside (TestReopenAside); its buffers come back
	// at the queue's first call after that, each once.
	for t0 := time.Now(); pool.Free() != pool.Size() && time.Since(t0) < 30*time.Second; time.Sleep(time.Millisecond) {
		p.Recv(0, &v, pool)
	}
	if pool.Free() != pool.Size() {
		t.Fatalf("buffers stranded with the closed socket: pool %d of %d", pool.Free(), pool.Size())
	}
	if fd := p.WaitFD(0); fd != -1 {
		t.Errorf("WaitFD of a down queue is %d, want -1", fd)
	}

	// Re-create it: the port reopens it within a generous deadline.
	l.recreate(t)
	var got [][]byte
	end = time.Now().Add(30 * time.Second)
	for i := 0; len(got) == 0 && time.Now().Before(end); i++ {
		l.peerSend(t, frame(p.MAC(), 100+i, 64))
		var w pkt.Batch
		for range 50 {
			if p.Recv(0, &w, pool) != 0 {
				for k := range w.N {
					if f := w.Buf(k).Bytes(); len(f) >= 14 && f[12] == typTest>>8 && f[13] == typTest&0xff {
						got = append(got, append([]byte(nil), f...))
					}
				}
				pool.PutBatch(&w)
			}
			time.Sleep(time.Millisecond)
		}
	}
	if len(got) == 0 {
		t.Fatalf("no frame 30 s after re-creating the device: %+v", p.Stats())
	}
	if st := p.Stats(); st.Reopens != 1 || st.DownQueues != 0 {
		t.Errorf("after the reopen: %+v", st)
	}
	if fd := p.WaitFD(0); fd < 0 {
		t.Errorf("WaitFD after the reopen is %d", fd)
	}
	f := frame(dst, 7, 64)
	b := pool.Get()
	copy(b.Reset(len(f)), f)
	v.Push(b)
	if p.Send(0, &v, pool) != 1 {
		t.Fatalf("send after the reopen: %+v", p.Stats())
	}
	if g := l.peerRecv(time.Now().Add(10 * time.Second)); !bytes.Equal(g, f) {
		t.Fatalf("peer got %d bytes after the reopen, want the %d sent", len(g), len(f))
	}
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// TestReopenRereadsDevice: a device deleted and re-created with another
// MAC and MTU is reopened with them (MAC and MTU are the new device's,
// not the ones read at Open); one whose MTU is too large for a UMEM chunk
// keeps the queue down, LastError saying so, until it is lowered.
func TestReopenRereadsDevice(t *testing.T) {
	l := newLab(t)
	a := newArena(t, 4096)
	pool := pkt.NewPoolIn(a, 0, a.Len())
	p := openPort(t, a, Options{})
	var v pkt.Batch
	p.Recv(0, &v, pool)
	old := p.MAC()
	if p.MTU() != 1500 {
		t.Fatalf("MTU at Open %d, want 1500", p.MTU())
	}
	run(t, "ip", "-n", l.nsA, "link", "del", "vA")
	poll := func(until func(Stats) bool) Stats {
		end := time.Now().Add(20 * time.Second)
		for time.Now().Before(end) {
			if p.Recv(0, &v, pool) != 0 {
				pool.PutBatch(&v)
			}
			if st := p.Stats(); until(st) {
				return st
			}
			time.Sleep(time.Millisecond)
		}
		return p.Stats()
	}
	if st := poll(func(st Stats) bool { return st.DownQueues == 1 }); st.DownQueues != 1 {
		t.Fatalf("the queue is not down after the delete: %+v", st)
	}

	// Too large an MTU for a 4096-byte chunk (frames up to 3840): down.
	const newMAC = "02:00:00:00:42:42"
	l.recreateWith(t, "address", newMAC, "mtu", "5000")
	time.Sleep(3 * retryEvery)
	st := poll(func(st Stats) bool { return strings.Contains(st.LastError, "MTU 5000") })
	if st.DownQueues != 1 || st.Reopens != 0 || !strings.Contains(st.LastError, "MTU 5000") || !strings.Contains(st.LastError, "mtu 3818") {
		t.Fatalf("with MTU 5000 the queue should stay down, saying why: %+v", st)
	}

	// Lowered: the queue reopens with the new device's MAC and MTU.
	run(t, "ip", "-n", l.nsA, "link", "set", "vA", "mtu", "1400")
	if st := poll(func(st Stats) bool { return st.Reopens == 1 }); st.Reopens != 1 || st.DownQueues != 0 {
		t.Fatalf("no reopen after the MTU was lowered: %+v", st)
	}
	want, _ := net.ParseMAC(newMAC)
	if got := p.MAC(); !bytes.Equal(got[:], want) || got == old {
		t.Errorf("MAC after the reopen %x, want the new device's %s (was %x)", got, newMAC, old)
	}
	if p.MTU() != 1400 {
		t.Errorf("MTU after the reopen %d, want the new device's 1400", p.MTU())
	}
}

// TestTxBudget: in copy mode a batch goes to the kernel in one sendto
// where the kernel takes XDP_MAX_TX_SKB_BUDGET (Linux 6.17), not one per
// 32 frames; every frame still arrives.
func TestTxBudget(t *testing.T) {
	l := newLab(t)
	a := newArena(t, 4096)
	pool := pkt.NewPoolIn(a, 0, a.Len())
	p := openPort(t, a, Options{})
	if p.ZeroCopy() {
		t.Skip("zero-copy: sendto only wakes the driver")
	}
	want := uint32(defaultTxBudget)
	if err := unix.SetsockoptInt(l.peerFd, unix.SOL_SOCKET, unix.SO_RCVBUF, 4<<20); err != nil {
		t.Fatal(err)
	}
	if probeTxBudget(t) {
		want = pkt.BatchSize
	}
	if got := p.qs[0].txBudget; got != want {
		t.Fatalf("TX budget %d, want %d", got, want)
	}
	dst := [6]byte{0x02, 0, 0, 0, 0xbb, 0xbb}
	var v pkt.Batch
	for i := range pkt.BatchSize {
		b := pool.Get()
		copy(b.Reset(64), frame(dst, i, 64))
		v.Push(b)
	}
	before := p.Stats().TxKicks
	if n := p.Send(0, &v, pool); n != pkt.BatchSize {
		t.Fatalf("sent %d of %d", n, pkt.BatchSize)
	}
	kicks := p.Stats().TxKicks - before
	if wantKicks := uint64(pkt.BatchSize / want); kicks != wantKicks {
		t.Errorf("%d sendto calls for a batch of %d, want %d (budget %d)", kicks, pkt.BatchSize, wantKicks, want)
	}
	got := 0
	end := time.Now().Add(10 * time.Second)
	for got < pkt.BatchSize && time.Now().Before(end) {
		if f := l.peerRecv(end); len(f) >= 14 && f[12] == typTest>>8 && f[13] == typTest&0xff {
			got++
		}
	}
	if got != pkt.BatchSize {
		t.Errorf("the peer got %d of %d frames", got, pkt.BatchSize)
	}
}

// probeTxBudget reports whether this kernel takes XDP_MAX_TX_SKB_BUDGET
// (on a throwaway socket with a TX ring).
func probeTxBudget(t *testing.T) bool {
	fd, err := unix.Socket(unix.AF_XDP, unix.SOCK_RAW|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	if err := unix.SetsockoptInt(fd, unix.SOL_XDP, unix.XDP_TX_RING, DefaultRingSize); err != nil {
		t.Fatal(err)
	}
	return unix.SetsockoptInt(fd, unix.SOL_XDP, unix.XDP_MAX_TX_SKB_BUDGET, pkt.BatchSize) == nil
}

// TestKernelDropCauses: frames that arrive while the port has lent the
// kernel no buffer are dropped by the kernel and counted as fill ring
// empty, once each in KernelDrops (the kernel's own counters have them
// twice: rx_dropped and rx_fill_ring_empty_descs).
func TestKernelDropCauses(t *testing.T) {
	l := newLab(t)
	a := newArena(t, 4096)
	p := openPort(t, a, Options{})
	for i := range 10 { // no Recv yet: the fill ring is empty
		l.peerSend(t, frame(p.MAC(), i, 64))
	}
	var st Stats
	end := time.Now().Add(10 * time.Second)
	for st.FillRingEmpty < 10 && time.Now().Before(end) {
		time.Sleep(10 * time.Millisecond)
		st = p.Stats()
	}
	// The kernel counts each of them in rx_dropped and in
	// rx_fill_ring_empty_descs: KernelDrops counts it once.
	if st.FillRingEmpty < 10 || st.FillRingEmpty > st.RxDropped || st.KernelDrops != st.RxDropped+st.RxRingFull || st.RxRingFull != 0 {
		t.Fatalf("10 frames with no fill buffer: %+v", st)
	}
}

// TestMoreQueuesThanDevice: asking for more queues than a device has (two
// workers on a one-queue veth) opens the queues it has instead of
// panicking while cleaning up the socket that failed to bind.
func TestMoreQueuesThanDevice(t *testing.T) {
	newLab(t)
	a := newArena(t, 4096)
	p := openPort(t, a, Options{Queues: 2})
	if n := p.Queues(); n != 1 {
		t.Fatalf("Queues() = %d on a one-queue veth, want 1", n)
	}
}
