package afpacket

import (
	"bytes"
	"encoding/binary"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/softnet/softnet/pkt"
	"github.com/softnet/softnet/port"
	"golang.org/x/sys/unix"
)

// forTxModes runs f as a subtest for each transmit mode.
func forTxModes(t *testing.T, f func(t *testing.T, mode string)) {
	for _, m := range []string{TxRing, TxSendmmsg} {
		t.Run(m, func(t *testing.T) { f(t, m) })
	}
}

func openPort(t *testing.T, dev string, o Options) *Port {
	t.Helper()
	o.Promisc = true
	if o.RxRing == "" {
		// The whole suite can run on either ring:
		// AFPACKET_TEST_RXRING=v3 go test ./port/afpacket/
		o.RxRing = os.Getenv("AFPACKET_TEST_RXRING")
	}
	p, err := Open(dev, o)
	if err != nil {
		t.Fatalf("Open(%s): %v", dev, err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

// recvFrames polls queue until it has n frames of ethertype typ or the
// deadline passes, returning copies in arrival order; other frames are
// freed.
func recvFrames(p *Port, queue int, pool *pkt.Pool, n int, typ uint16, d time.Duration) [][]byte {
	var out [][]byte
	var v pkt.Batch
	end := time.Now().Add(d)
	for len(out) < n && time.Now().Before(end) {
		if p.Recv(queue, &v, pool) == 0 {
			time.Sleep(200 * time.Microsecond)
			continue
		}
		for _, x := range v.B[:v.N] {
			b := pkt.At(x)
			f := b.Bytes()
			if len(f) >= 14 && binary.BigEndian.Uint16(f[12:]) == typ {
				out = append(out, append([]byte(nil), f...))
			}
		}
		pool.PutBatch(&v)
	}
	return out
}

func TestRecvByteExact(t *testing.T) {
	l := newLab(t)
	p := openPort(t, l.devA, Options{})
	pool := pkt.NewPool(1024)
	if p.MAC() == ([6]byte{}) || p.MTU() != 1500 {
		t.Fatalf("MAC %x MTU %d", p.MAC(), p.MTU())
	}
	sizes := []int{18, 42, 60, 64, 65, 128, 1000, 1513, 1514}
	var want [][]byte
	for i, n := range sizes {
		want = append(want, frame(p.MAC(), typRx, i, n))
	}
	// A VLAN-tagged frame: the kernel strips the tag into the ring
	// header; Recv must put it back.
	tagged := frame(p.MAC(), 0x8100, 0, 100)
	binary.BigEndian.PutUint16(tagged[14:], 0x2000|42) // PCP 1, VID 42
	binary.BigEndian.PutUint16(tagged[16:], typRx)
	want = append(want, tagged)
	l.peerSend(want...)

	var got [][]byte
	var v pkt.Batch
	end := time.Now().Add(10 * time.Second)
	for len(got) < len(want) && time.Now().Before(end) {
		if p.Recv(0, &v, pool) == 0 {
			time.Sleep(time.Millisecond)
			continue
		}
		for _, x := range v.B[:v.N] {
			b := pkt.At(x)
			f := b.Bytes()
			typ := binary.BigEndian.Uint16(f[12:])
			if typ == typRx || typ == 0x8100 {
				got = append(got, append([]byte(nil), f...))
			}
		}
		pool.PutBatch(&v)
	}
	if len(got) != len(want) {
		t.Fatalf("received %d frames, want %d", len(got), len(want))
	}
	for i := range want {
		if !bytes.Equal(got[i], want[i]) {
			t.Errorf("frame %d (%d bytes): got %d bytes %x\nwant %x", i, len(want[i]), len(got[i]), got[i][:min(32, len(got[i]))], want[i][:min(32, len(want[i]))])
		}
	}
	s := p.Stats()
	if !s.Up || s.RxPackets < uint64(len(want)) || s.Errors != 0 {
		t.Errorf("stats %+v", s)
	}
	if pool.Free() != pool.Size() {
		t.Errorf("pool has %d of %d buffers", pool.Free(), pool.Size())
	}
}

// TestRecvOversizeDropped: a frame longer than a buffer holds (on a
// device with an MTU above what softnet supports) is dropped and counted,
// never truncated, and the frame after it is received.
func TestRecvOversizeDropped(t *testing.T) {
	l := newLab(t)
	run(t, "ip", "-n", l.nsA, "link", "set", l.devA, "mtu", "16000")
	run(t, "ip", "-n", l.nsB, "link", "set", l.devB, "mtu", "16000")
	p := openPort(t, l.devA, Options{})
	pool := pkt.NewPool(256)
	big := frame(p.MAC(), typRx, 1, pkt.MaxFrame+1)
	after := frame(p.MAC(), typRx, 2, 100)
	l.peerSend(big, after)
	got := recvFrames(p, 0, pool, 1, typRx, 10*time.Second)
	if len(got) != 1 || !bytes.Equal(got[0], after) {
		t.Fatalf("got %d frames, want only the 100-byte one", len(got))
	}
	if s := p.Stats(); s.RxOversize != 1 {
		t.Errorf("RxOversize = %d, want 1", s.RxOversize)
	}
}

// TestRecvOversizeSmallChunks: with a pool over an arena of 2048-byte
// chunks (a UMEM layout), a 1900-byte frame is longer than its buffers:
// dropped and counted as oversize, not written into the next chunk.
func TestRecvOversizeSmallChunks(t *testing.T) {
	l := newLab(t)
	run(t, "ip", "-n", l.nsA, "link", "set", l.devA, "mtu", "9000")
	run(t, "ip", "-n", l.nsB, "link", "set", l.devB, "mtu", "9000")
	p := openPort(t, l.devA, Options{})
	a, err := pkt.NewArena(pkt.ArenaOptions{Frames: 256, Chunk: 2048, Stagger: 4})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	pool := pkt.NewPoolIn(a, 0, 256)
	big := frame(p.MAC(), typRx, 1, pool.MaxFrame()+1)
	after := frame(p.MAC(), typRx, 2, 100)
	l.peerSend(big, after)
	got := recvFrames(p, 0, pool, 1, typRx, 10*time.Second)
	if len(got) != 1 || !bytes.Equal(got[0], after) {
		t.Fatalf("got %d frames, want only the 100-byte one", len(got))
	}
	if s := p.Stats(); s.RxOversize != 1 {
		t.Errorf("RxOversize = %d, want 1", s.RxOversize)
	}
}

func TestSendBatch(t *testing.T) { forTxModes(t, testSendBatch) }

func testSendBatch(t *testing.T, mode string) {
	l := newLab(t)
	p := openPort(t, l.devA, Options{TxMode: mode})
	pool := pkt.NewPool(1024)
	peerMAC := [6]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}
	var v pkt.Batch
	var want [][]byte
	for i := 0; i < pkt.BatchSize; i++ {
		n := 60 + i*6 // 60 .. 1590: past 1514 is too long for MTU 1500
		if i == pkt.BatchSize-1 || n > 1514 {
			n = 1514 - i%3
		}
		f := frame(peerMAC, typTx, i, n)
		want = append(want, f)
		b := pool.Get()
		copy(b.Reset(n), f)
		v.Push(b)
	}
	if n := p.Send(0, &v, pool); n != pkt.BatchSize {
		t.Fatalf("Send = %d, want %d (stats %+v)", n, pkt.BatchSize, p.Stats())
	}
	if v.N != 0 || pool.Free() != pool.Size() {
		t.Fatalf("Send left v.N=%d, pool %d/%d", v.N, pool.Free(), pool.Size())
	}
	got := l.peerRecv(len(want), typTx)
	if len(got) != len(want) {
		t.Fatalf("peer got %d frames, want %d", len(got), len(want))
	}
	for i := range want {
		if !bytes.Equal(got[i], want[i]) {
			t.Fatalf("frame %d: got %d bytes, want %d (in order, byte-exact)", i, len(got[i]), len(want[i]))
		}
	}
	// Our own transmissions must not come back on RX.
	if back := recvFrames(p, 0, pool, 1, typTx, 100*time.Millisecond); len(back) != 0 {
		t.Fatalf("received %d of our own frames", len(back))
	}
	// Frames too short for an Ethernet header are freed and counted.
	for _, n := range []int{10, 13} {
		b := pool.Get()
		b.Reset(n)
		v.Push(b)
	}
	if n := p.Send(0, &v, pool); n != 0 {
		t.Errorf("Send of bad lengths = %d", n)
	}
	s := p.Stats()
	if s.TxPackets != pkt.BatchSize || s.TxBadLength != 2 || pool.Free() != pool.Size() {
		t.Errorf("stats %+v, pool %d", s, pool.Free())
	}
}

func TestSendRingFull(t *testing.T) {
	l := newLab(t)
	p := openPort(t, l.devA, Options{TxMode: TxRing, TxFrames: 1}) // one block: 13 slots
	pool := pkt.NewPool(512)
	slots := p.txPerBlock * p.txBlocks
	// Hold the slots: make the device drop nothing but keep the skbs...
	// the simplest way to fill the ring is to send more than it holds in
	// one batch.
	var v pkt.Batch
	for i := 0; i < pkt.BatchSize; i++ {
		b := pool.Get()
		copy(b.Reset(60), frame([6]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, typTx, i, 60))
		v.Push(b)
	}
	n := p.Send(0, &v, pool)
	if n != slots {
		t.Fatalf("Send = %d, want the ring's %d slots", n, slots)
	}
	if s := p.Stats(); s.TxRingFull != uint64(pkt.BatchSize-slots) || pool.Free() != pool.Size() {
		t.Fatalf("TxRingFull = %d, want %d", s.TxRingFull, pkt.BatchSize-slots)
	}
	if got := l.peerRecv(slots, typTx); len(got) != slots {
		t.Fatalf("peer got %d, want %d", len(got), slots)
	}
}

func TestFanout(t *testing.T) {
	l := newLab(t)
	p := openPort(t, l.devA, Options{Queues: 2})
	pool := pkt.NewPool(2048)
	const flows, per = 16, 20
	for i := 0; i < per; i++ {
		for f := 0; f < flows; f++ {
			l.peerSend(udpFrame(p.MAC(), uint16(1000+f), i))
		}
	}
	seen := map[uint16]int{} // flow -> queue+1
	total := 0
	perQ := [2]int{}
	var v pkt.Batch
	end := time.Now().Add(10 * time.Second)
	for total < flows*per && time.Now().Before(end) {
		idle := true
		for q := 0; q < 2; q++ {
			if p.Recv(q, &v, pool) == 0 {
				continue
			}
			idle = false
			for _, x := range v.B[:v.N] {
				b := pkt.At(x)
				f := b.Bytes()
				if len(f) < 42 || binary.BigEndian.Uint16(f[12:]) != 0x0800 {
					continue
				}
				sport := binary.BigEndian.Uint16(f[34:])
				if prev, ok := seen[sport]; ok && prev != q+1 {
					t.Errorf("flow %d on queues %d and %d", sport, prev-1, q)
				}
				seen[sport] = q + 1
				total++
				perQ[q]++
			}
			pool.PutBatch(&v)
		}
		if idle {
			time.Sleep(time.Millisecond)
		}
	}
	if total != flows*per || len(seen) != flows {
		t.Fatalf("got %d packets of %d flows, want %d of %d", total, len(seen), flows*per, flows)
	}
	if perQ[0] == 0 || perQ[1] == 0 {
		t.Errorf("all %d flows on one queue: %v", flows, perQ)
	}
	t.Logf("per queue: %v", perQ)
}

func TestKernelDrops(t *testing.T) {
	l := newLab(t)
	p := openPort(t, l.devA, Options{BlockSize: 4096, BlockCount: 2})
	pool := pkt.NewPool(256)
	// Two 4 KiB blocks hold a few dozen frames: send 2000 unread.
	for i := 0; i < 2000; i++ {
		l.peerSend(frame(p.MAC(), typRx, i, 200))
	}
	s := p.Stats()
	if s.KernelDrops == 0 {
		t.Fatalf("KernelDrops = 0 after overflowing the ring (stats %+v)", s)
	}
	t.Logf("KernelDrops %d, KernelFreezes %d", s.KernelDrops, s.KernelFreezes)
	// The ring still works after the overflow.
	got := recvFrames(p, 0, pool, 1, typRx, time.Second)
	l.peerSend(frame(p.MAC(), typRx, 9999, 64))
	// Until 9999 is in (or 10 s: the kernel's softirq that fills the
	// ring may wait for a CPU on a loaded machine), not a fixed 200 ms.
	last := func() uint32 { return binary.BigEndian.Uint32(got[len(got)-1][14:]) }
	for end := time.Now().Add(10 * time.Second); (len(got) == 0 || last() != 9999) && time.Now().Before(end); {
		got = append(got, recvFrames(p, 0, pool, 100, typRx, 20*time.Millisecond)...)
	}
	if len(got) == 0 || binary.BigEndian.Uint32(got[len(got)-1][14:]) != 9999 {
		t.Fatalf("ring did not recover: %d frames", len(got))
	}
	if s2 := p.Stats(); s2.KernelDrops < s.KernelDrops {
		t.Errorf("KernelDrops went back: %d -> %d", s.KernelDrops, s2.KernelDrops)
	}
}

func TestZeroAllocs(t *testing.T) { forTxModes(t, testZeroAllocs) }

func testZeroAllocs(t *testing.T, mode string) {
	l := newLab(t)
	// A ring that holds the 6000 frames sent up front (the default V2
	// ring also has 128 blocks, 7936 slots: kept explicit here).
	p := openPort(t, l.devA, Options{TxMode: mode, BlockCount: 128})
	pool := pkt.NewPool(1024)
	for i := 0; i < 6000; i++ {
		l.peerSend(frame(p.MAC(), typRx, i, 64+i%1400))
	}
	time.Sleep(20 * time.Millisecond) // let the last block retire
	var v pkt.Batch
	moved := 0
	allocs := testing.AllocsPerRun(20, func() {
		moved += p.Recv(0, &v, pool)
		p.Send(0, &v, pool)
	})
	if allocs != 0 {
		t.Errorf("Recv+Send allocate %v times per run", allocs)
	}
	t.Logf("%d frames moved in 21 runs; stats %+v", moved, p.Stats())
	if moved < 10*pkt.BatchSize {
		t.Errorf("only %d frames moved: the runs did not see full batches", moved)
	}
	s := p.Stats()
	if s.TxPackets == 0 || s.Errors != 0 {
		t.Errorf("stats %+v", s)
	}
}

func TestOffloads(t *testing.T) {
	l := newLab(t)
	openPort(t, l.devA, Options{})
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	if gro, err := ethtool(fd, l.devA, ethtoolGGRO, 0); err != nil || gro != 0 {
		t.Errorf("GRO on %s after Open: %d %v", l.devA, gro, err)
	}
	inNS(t, l.nsB, func() { // newLab called DisableOffloads(vB)
		fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM, 0)
		if err != nil {
			t.Error(err)
			return
		}
		defer unix.Close(fd)
		for _, c := range []struct {
			name string
			cmd  uint32
		}{{"tso", ethtoolGTSO}, {"gso", ethtoolGGSO}, {"gro", ethtoolGGRO}, {"tx-checksumming", ethtoolGTXCSUM}} {
			if on, err := ethtool(fd, l.devB, c.cmd, 0); err != nil || on != 0 {
				t.Errorf("%s on %s: %d %v", c.name, l.devB, on, err)
			}
		}
	})
}

func TestOpenErrors(t *testing.T) {
	newLab(t)
	_, err := Open("nosuch0", Options{})
	if err == nil || !strings.Contains(err.Error(), "no such interface: create it or fix the name") || !strings.Contains(err.Error(), "nosuch0") {
		t.Errorf("Open of a missing device: %v", err)
	}
	if _, err := Open("", Options{}); err == nil {
		t.Error("Open of an empty name succeeded")
	}
}

func TestLifecycle(t *testing.T) { forTxModes(t, testLifecycle) }

func testLifecycle(t *testing.T, mode string) {
	l := newLab(t)
	p := openPort(t, l.devA, Options{TxMode: mode})
	pool := pkt.NewPool(1024)
	l.peerSend(frame(p.MAC(), typRx, 1, 64))
	if got := recvFrames(p, 0, pool, 1, typRx, 10*time.Second); len(got) != 1 {
		t.Fatal("no traffic before the delete")
	}
	g0 := runtime.NumGoroutine()

	// Delete the veth (both ends go) under traffic.
	run(t, "ip", "-n", l.nsB, "link", "del", l.devB)
	t0 := time.Now()
	var v pkt.Batch
	for time.Since(t0) < 600*time.Millisecond {
		for i := 0; i < 8; i++ {
			b := pool.Get()
			copy(b.Reset(64), frame([6]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, typTx, i, 64))
			v.Push(b)
		}
		p.Send(0, &v, pool) // takes ownership even when down
		if n := p.Recv(0, &v, pool); n != 0 {
			pool.PutBatch(&v)
		}
		time.Sleep(time.Millisecond)
	}
	s := p.Stats()
	if s.Up || s.LastError == "" || s.Errors == 0 || s.Reopens != 0 {
		t.Fatalf("after delete: %+v", s)
	}
	t.Logf("down: %s", s.LastError)
	if pool.Free() != pool.Size() {
		t.Errorf("buffers leaked: pool %d/%d", pool.Free(), pool.Size())
	}
	if g := settled(g0); g > g0 {
		t.Errorf("goroutines %d -> %d", g0, g)
	}
	// A down port does not spin: polling it tries to reopen a queue at
	// most once per retryEvery, whatever the machine's speed or load
	// (BenchmarkLifecycle measures the CPU this costs and the resume time).
	downNoSpin(t, p, pool, mode)

	// Re-create it with the same names: traffic resumes (within a
	// generous deadline: retries come every retryEvery).
	l.makeVeth()
	t1 := time.Now()
	var got [][]byte
	for i := 0; len(got) == 0 && time.Since(t1) < 30*time.Second; i++ {
		l.peerSend(frame(p.MAC(), typRx, i, 64))
		got = recvFrames(p, 0, pool, 1, typRx, 20*time.Millisecond)
	}
	if len(got) == 0 {
		t.Fatalf("no traffic 30 s after re-creating the veth: %+v", p.Stats())
	}
	t.Logf("traffic resumed after %v", time.Since(t1))
	b := pool.Get()
	copy(b.Reset(64), frame([6]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, typTx, 7, 64))
	v.Push(b)
	if p.Send(0, &v, pool) != 1 || len(l.peerRecv(1, typTx)) != 1 {
		t.Errorf("send after reopen failed: %+v", p.Stats())
	}
	s = p.Stats()
	if !s.Up || s.Reopens != 1 {
		t.Errorf("after re-create: %+v", s)
	}
	if p.MAC() == ([6]byte{}) {
		t.Error("no MAC after reopen")
	}
	if g := settled(g0); g > g0 {
		t.Errorf("goroutines %d -> %d", g0, g)
	}
}

// waitPending waits for q's reopen in progress to leave its result.
func waitPending(t *testing.T, q *queue) *opened {
	t.Helper()
	for t0 := time.Now(); time.Since(t0) < 30*time.Second; time.Sleep(time.Millisecond) {
		if o := q.pending.Load(); o != nil {
			return o
		}
	}
	t.Fatal("a reopen attempt left no result in 30 s")
	return nil
}

// settled waits (30 s at most) for the goroutines to be back to at most
// g0: a reopen attempt and the closing of a failed queue's sockets run on
// goroutines of their own, which end soon after.
func settled(g0 int) int {
	g := runtime.NumGoroutine()
	for t0 := time.Now(); g > g0 && time.Since(t0) < 30*time.Second; g = runtime.NumGoroutine() {
		time.Sleep(10 * time.Millisecond)
	}
	return g
}

// downNoSpin checks, on p whose device is gone, that Recv and Send make a
// reopen attempt (which sets LastError) only when the queue's retry is
// due, schedule the next one retryEvery later, and never attempt early:
// a worker polling a down port makes one socket(2)/bind(2) round per
// retryEvery, not one per poll. It asserts no timing: each call is judged
// against the clock read around it.
func downNoSpin(t *testing.T, p *Port, pool *pkt.Pool, mode string) {
	t.Helper()
	q := &p.q[0]
	var v pkt.Batch
	call := func(i int) {
		if i%2 == 0 {
			p.Recv(0, &v, pool)
			pool.PutBatch(&v)
			return
		}
		b := pool.Get()
		copy(b.Reset(64), frame([6]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, typTx, i, 64))
		v.Push(b)
		p.Send(0, &v, pool)
	}
	attempts := 0
	for i := range 2000 {
		if i == 1000 {
			q.retryAt = 0 // due now: the next call must attempt
		}
		due := q.retryAt
		tries := q.tries
		before := mono()
		call(i)
		after := mono()
		attempted := q.tries != tries
		if attempted {
			attempts++
			if after < due {
				t.Fatalf("%s: call %d tried to reopen at %v, before its retry was due (%v)", mode, i, after, due)
			}
			if q.retryAt < before+retryEvery {
				t.Fatalf("%s: call %d tried to reopen and scheduled the next try at %v, want >= %v", mode, i, q.retryAt, before+retryEvery)
			}
			// The attempt runs aside (reopen): wait for its result, which
			// the next call takes.
			o := waitPending(t, q)
			if o.err == nil || !strings.Contains(o.err.Error(), p.name) {
				t.Errorf("%s: a failed reopen's error does not name the device: %v", mode, o.err)
			}
		} else if before >= due {
			t.Fatalf("%s: call %d did not try to reopen a queue whose retry was due", mode, i)
		}
		if i == 1000 && !attempted {
			t.Fatalf("%s: the call after the retry came due made no attempt", mode)
		}
		if !q.down {
			t.Fatalf("%s: queue up again with its device gone", mode)
		}
	}
	if pool.Free() != pool.Size() {
		t.Errorf("%s: buffers leaked while down: pool %d/%d", mode, pool.Free(), pool.Size())
	}
	t.Logf("%s: 2000 calls on a down port, %d reopen attempts", mode, attempts)
}

func TestLinkDownUp(t *testing.T) { forTxModes(t, testLinkDownUp) }

func testLinkDownUp(t *testing.T, mode string) {
	l := newLab(t)
	p := openPort(t, l.devA, Options{TxMode: mode})
	pool := pkt.NewPool(1024)
	run(t, "ip", "-n", l.nsA, "link", "set", l.devA, "down")
	// Send alone notices it (ENETDOWN from the kernel), before Recv's
	// periodic SO_ERROR check would.
	var v pkt.Batch
	b := pool.Get()
	copy(b.Reset(64), frame([6]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, typTx, 0, 64))
	v.Push(b)
	if n := p.Send(0, &v, pool); n != 0 || p.Stats().Up {
		t.Fatalf("Send on a down device = %d, stats %+v", n, p.Stats())
	}
	if s := p.Stats(); s.Errors != 1 || !strings.Contains(s.LastError, "interface is down") || pool.Free() != pool.Size() {
		t.Fatalf("after Send on a down device: %+v, pool %d/%d", s, pool.Free(), pool.Size())
	}
	t0 := time.Now()
	run(t, "ip", "-n", l.nsA, "link", "set", l.devA, "up")
	var got [][]byte
	for i := 0; len(got) == 0 && time.Since(t0) < 30*time.Second; i++ {
		l.peerSend(frame(p.MAC(), typRx, i, 64))
		got = recvFrames(p, 0, pool, 1, typRx, 20*time.Millisecond)
	}
	if len(got) == 0 || !p.Stats().Up {
		t.Fatalf("no traffic after link up: %+v", p.Stats())
	}
	b = pool.Get()
	copy(b.Reset(64), frame([6]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, typTx, 1, 64))
	v.Push(b)
	if p.Send(0, &v, pool) != 1 || len(l.peerRecv(1, typTx)) != 1 {
		t.Errorf("send after link up failed: %+v", p.Stats())
	}
}

// TestSendPeerDown sends into a veth whose peer is down (carrier off,
// `ip link` NO-CARRIER; the kernel refuses every frame with ENOBUFS).
// That is link state, not a full ring or a busy device (issue 17, defect
// 6): Stats says down, with why; the frames are counted in TxNoCarrier,
// never TxBusy or TxRingFull; every buffer goes back; and once the peer
// is up the port is up again, with no stale LastError, and frames flow.
func TestSendPeerDown(t *testing.T) { forTxModes(t, testSendPeerDown) }

func testSendPeerDown(t *testing.T, mode string) {
	l := newLab(t)
	p := openPort(t, l.devA, Options{TxMode: mode})
	pool := pkt.NewPool(1024)
	bcast := [6]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}
	run(t, "ip", "-n", l.nsB, "link", "set", l.devB, "down")
	var v pkt.Batch
	sent := 0
	for range 2 {
		for i := 0; i < 64; i++ {
			b := pool.Get()
			copy(b.Reset(64), frame(bcast, typTx, i, 64))
			v.Push(b)
		}
		sent += p.Send(0, &v, pool)
		// The ring's kick may not report the loss, but Stats (which
		// softnet run's link watcher calls every 100 ms) reads the
		// carrier, and the next batch is not even tried.
		p.Stats()
	}
	s := p.Stats()
	t.Logf("Send = %d of 128 into a peer that is down: %+v", sent, s)
	if s.Up || s.Carrier || !strings.Contains(s.LastError, "no carrier") || s.Errors != 0 || pool.Free() != pool.Size() {
		t.Fatalf("after sending into a down peer: want down, no carrier, no errors; got %+v, pool %d/%d", s, pool.Free(), pool.Size())
	}
	if s.TxBusy != 0 || s.TxRingFull != 0 || s.TxPackets+s.TxNoCarrier != 128 || s.TxNoCarrier < 64 {
		t.Errorf("frames into a peer without carrier: want them in TxNoCarrier (none busy or ring-full), got %+v", s)
	}
	if mode == TxSendmmsg && (sent != 0 || s.TxNoCarrier != 128) {
		t.Errorf("sendmmsg: Send = %d, TxNoCarrier = %d, want 0 and 128", sent, s.TxNoCarrier)
	}
	run(t, "ip", "-n", l.nsB, "link", "set", l.devB, "up")
	const typAfter = 0x88b7
	var got [][]byte
	for end := time.Now().Add(10 * time.Second); len(got) < 8 && time.Now().Before(end); {
		for i := 0; i < 8; i++ {
			b := pool.Get()
			copy(b.Reset(64), frame(bcast, typAfter, i, 64))
			v.Push(b)
		}
		p.Send(0, &v, pool)
		got = append(got, l.peerRecv(8-len(got), typAfter)...)
	}
	if len(got) < 8 {
		t.Fatalf("peer got %d frames after coming up: %+v", len(got), p.Stats())
	}
	if s := p.Stats(); !s.Up || !s.Carrier || s.LastError != "" || s.TxBusy != 0 {
		t.Errorf("after the peer came back: want up, carrier, no last error, no busy; got %+v", s)
	}
}

// TestSendRejectedMidBatch puts a frame the kernel refuses (untagged,
// MTU + 18 bytes: within Send's own bound, which allows for a tag) in the
// middle of a batch: the frames around it still go out, in order.
// sendmmsg stops at it, and Send skips it and sends the rest.
func TestSendRejectedMidBatch(t *testing.T) { forTxModes(t, testSendRejectedMidBatch) }

func testSendRejectedMidBatch(t *testing.T, mode string) {
	l := newLab(t)
	p := openPort(t, l.devA, Options{TxMode: mode})
	pool := pkt.NewPool(1024)
	bcast := [6]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}
	const total, bad = 40, 17
	var v pkt.Batch
	var want [][]byte
	for i := 0; i < total; i++ {
		n := 100
		if i == bad {
			n = 1518
		}
		f := frame(bcast, typTx, i, n)
		if i != bad {
			want = append(want, f)
		}
		b := pool.Get()
		copy(b.Reset(n), f)
		v.Push(b)
	}
	n := p.Send(0, &v, pool)
	got := l.peerRecv(len(want), typTx)
	s := p.Stats()
	t.Logf("Send = %d: %+v", n, s)
	if len(got) != len(want) {
		t.Fatalf("peer got %d frames, want %d", len(got), len(want))
	}
	for i := range want {
		if !bytes.Equal(got[i], want[i]) {
			t.Fatalf("frame %d differs (in order, byte-exact)", i)
		}
	}
	if !s.Up || pool.Free() != pool.Size() {
		t.Errorf("stats %+v, pool %d/%d", s, pool.Free(), pool.Size())
	}
	if mode == TxSendmmsg && (n != total-1 || s.TxPackets != total-1 || s.Errors != 1) {
		t.Errorf("sendmmsg: Send = %d, TxPackets %d, Errors %d; want %d, %d, 1", n, s.TxPackets, s.Errors, total-1, total-1)
	}
}

func TestStatsConcurrent(t *testing.T) {
	l := newLab(t)
	p := openPort(t, l.devA, Options{})
	pool := pkt.NewPool(1024)
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			select {
			case <-stop:
				return
			default:
				_ = p.Stats()
			}
		}
	}()
	for i := 0; i < 500; i++ {
		l.peerSend(frame(p.MAC(), typRx, i, 100))
	}
	got := recvFrames(p, 0, pool, 500, typRx, 10*time.Second)
	// Take the queue down and up while Stats runs.
	run(t, "ip", "-n", l.nsB, "link", "del", l.devB)
	var v pkt.Batch
	for i := 0; i < 300; i++ {
		p.Recv(0, &v, pool)
		time.Sleep(200 * time.Microsecond)
	}
	close(stop)
	<-done
	if len(got) != 500 {
		t.Errorf("got %d of 500", len(got))
	}
}

// TestBacklog checks Backlog against what Recv then reads: frames waiting
// in retired blocks (V2: filled slots), less those a short pool let Recv
// take. The V2 ring has 64 slots (64 blocks of one), the V3 ring 8
// blocks of 4 KiB (~14 frames each).
func TestBacklog(t *testing.T) { forRxRings(t, testBacklog) }

func testBacklog(t *testing.T, ring string) {
	l := newLab(t)
	o := Options{RxRing: ring, BlockSize: 4096, BlockCount: 8}
	if ring == RxV2 {
		o.BlockCount = 64
	}
	p := openPort(t, l.devA, o)
	var _ port.Backlogger = p
	if n := p.Backlog(0); n != 0 {
		t.Fatalf("Backlog %d on a quiet ring", n)
	}
	for i := 0; i < 60; i++ {
		l.peerSend(frame(p.MAC(), typRx, i, 200))
	}
	time.Sleep(50 * time.Millisecond) // the blocks retire (1 ms timeout)
	n0 := p.Backlog(0)
	if n0 < 40 {
		t.Fatalf("Backlog %d after 60 frames into %d blocks", n0, o.BlockCount)
	}
	var v pkt.Batch
	small := pkt.NewPool(10)
	if got := p.Recv(0, &v, small); got != 10 {
		t.Fatalf("Recv with a 10-buffer pool took %d", got)
	}
	if n := p.Backlog(0); n != n0-10 {
		t.Fatalf("Backlog %d after taking 10 of %d", n, n0)
	}
	pool := pkt.NewPool(256)
	v2 := pkt.Batch{}
	rest := p.Recv(0, &v2, pool)
	if rest != n0-10 || p.Backlog(0) != 0 {
		t.Fatalf("Recv took %d of the %d left; Backlog now %d", rest, n0-10, p.Backlog(0))
	}
	t.Logf("backlog %d of 60 sent (kernel drops %d)", n0, p.Stats().KernelDrops)
	if p.Backlog(5) != 0 {
		t.Fatal("Backlog of a queue the port does not have")
	}
}

// TestControlQueue: with Options.ControlQueue, ARP frames (tagged or not)
// arrive on the last queue only and everything else on the data queues;
// with the data ring overflowing, ARP still gets through.
func TestControlQueue(t *testing.T) {
	l := newLab(t)
	p := openPort(t, l.devA, Options{Queues: 2, ControlQueue: true, BlockSize: 4096, BlockCount: 2})
	if p.Queues() != 3 || p.ControlQueue() != 2 || p.TxQueues() != 3 {
		t.Fatalf("queues %d, control queue %d, transmit queues %d; want 3, 2 and 3", p.Queues(), p.ControlQueue(), p.TxQueues())
	}
	arp := frame(p.MAC(), 0x0806, 7, 60)
	tagged := frame(p.MAC(), 0x8100, 0, 64)
	binary.BigEndian.PutUint16(tagged[14:], 100)    // VID 100
	binary.BigEndian.PutUint16(tagged[16:], 0x0806) // inner: ARP
	// Overflow both data rings (2 blocks of 4 KiB each) with flows, then ARP.
	for i := 0; i < 400; i++ {
		l.peerSend(udpFrame(p.MAC(), uint16(1000+i%64), i))
	}
	l.peerSend(arp, tagged)
	pool := pkt.NewPool(1024)
	ctl := recvAll(p, 2, pool, 2, time.Second)
	if len(ctl) != 2 {
		t.Fatalf("control queue got %d frames, want the 2 ARP frames", len(ctl))
	}
	// The untagged ARP as it was sent, the tagged one with its tag (the
	// kernel takes it out; Recv puts it back).
	tagSeen := false
	for _, f := range ctl {
		switch binary.BigEndian.Uint16(f[12:]) {
		case 0x0806:
			if string(f[:len(arp)]) != string(arp) {
				t.Errorf("untagged ARP changed: %x", f)
			}
		case 0x8100:
			tagSeen = true
			if binary.BigEndian.Uint16(f[14:])&0xfff != 100 || binary.BigEndian.Uint16(f[16:]) != 0x0806 {
				t.Errorf("tagged ARP arrived as %x", f[:18])
			}
		default:
			t.Errorf("control queue got ethertype %#04x", binary.BigEndian.Uint16(f[12:]))
		}
	}
	if !tagSeen {
		t.Error("tagged ARP lost its tag on the control queue")
	}
	data := 0
	for q := 0; q < 2; q++ {
		for _, f := range recvAll(p, q, pool, 1000, 200*time.Millisecond) {
			if binary.BigEndian.Uint16(f[12:]) != 0x0800 {
				t.Errorf("data queue %d got ethertype %#04x", q, binary.BigEndian.Uint16(f[12:]))
			}
			data++
		}
	}
	s := p.Stats()
	t.Logf("data frames received %d of 400, kernel drops %d", data, s.KernelDrops)
	if s.KernelDrops == 0 || data == 0 {
		t.Fatalf("the data rings did not overflow (drops %d) or delivered nothing (%d)", s.KernelDrops, data)
	}
}

// recvAll is recvFrames for frames of any ethertype.
func recvAll(p *Port, queue int, pool *pkt.Pool, n int, d time.Duration) [][]byte {
	var out [][]byte
	var v pkt.Batch
	for end := time.Now().Add(d); len(out) < n && time.Now().Before(end); {
		if p.Recv(queue, &v, pool) == 0 {
			time.Sleep(200 * time.Microsecond)
			continue
		}
		for _, x := range v.B[:v.N] {
			b := pkt.At(x)
			out = append(out, append([]byte(nil), b.Bytes()...))
		}
		pool.PutBatch(&v)
	}
	return out
}

// TestMTUChange: the port follows its device's MTU as it changes at run
// time, without a reopen. Raised from 1500 to 9000, jumbo frames are
// received and sent (a buffer holds up to pkt.MaxFrame); lowered back
// to 1500, a jumbo frame is refused by the kernel on send (counted in
// Errors), and 1514-byte frames still pass both ways.
func TestMTUChange(t *testing.T) { forTxModes(t, testMTUChange) }

func testMTUChange(t *testing.T, mode string) {
	l := newLab(t)
	p := openPort(t, l.devA, Options{TxMode: mode})
	pool := pkt.NewPool(256)
	bcast := [6]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}
	send := func(n, i int) int {
		var v pkt.Batch
		b := pool.Get()
		copy(b.Reset(n), frame(bcast, typTx, i, n))
		v.Push(b)
		return p.Send(0, &v, pool)
	}
	setMTU := func(mtu string) {
		run(t, "ip", "-n", l.nsA, "link", "set", l.devA, "mtu", mtu)
		run(t, "ip", "-n", l.nsB, "link", "set", l.devB, "mtu", mtu)
	}

	setMTU("9000")
	for i, n := range []int{9014, 8000, 1514} {
		f := frame(p.MAC(), typRx, i, n)
		l.peerSend(f)
		got := recvFrames(p, 0, pool, 1, typRx, 10*time.Second)
		if len(got) != 1 || !bytes.Equal(got[0], f) {
			t.Fatalf("MTU 9000: a %d-byte frame: received %d frames (stats %+v)", n, len(got), p.Stats())
		}
		if send(n, 100+i) != 1 {
			t.Fatalf("MTU 9000: Send of a %d-byte frame refused (stats %+v)", n, p.Stats())
		}
		if got := l.peerRecv(1, typTx); len(got) != 1 || len(got[0]) != n {
			t.Fatalf("MTU 9000: the peer did not get the %d-byte frame (stats %+v)", n, p.Stats())
		}
	}

	setMTU("1500")
	errs := p.Stats().Errors
	send(8000, 200) // refused by the kernel now
	f := frame(p.MAC(), typRx, 300, 1514)
	l.peerSend(f)
	if got := recvFrames(p, 0, pool, 1, typRx, 10*time.Second); len(got) != 1 || !bytes.Equal(got[0], f) {
		t.Fatalf("MTU 1500 again: a 1514-byte frame: received %d frames", len(got))
	}
	if send(1514, 301) != 1 {
		t.Fatalf("MTU 1500 again: Send of a 1514-byte frame refused (stats %+v)", p.Stats())
	}
	got := l.peerRecv(2, typTx)
	if len(got) != 1 || len(got[0]) != 1514 {
		t.Fatalf("MTU 1500 again: the peer got %d frames, want only the 1514-byte one", len(got))
	}
	if mode == TxSendmmsg {
		if s := p.Stats(); s.Errors != errs+1 || !s.Up {
			t.Errorf("the 8000-byte frame on MTU 1500: Errors %d (was %d), up %v; want one more error, still up", s.Errors, errs, s.Up)
		}
	}
	if s := p.Stats(); s.RxOversize != 0 || s.TxBadLength != 0 || s.Reopens != 0 {
		t.Errorf("stats %+v: want no oversize, no bad length, no reopen", s)
	}
}
