package afpacket

import (
	"fmt"
	"testing"
	"time"

	"github.com/softnet/softnet/pkt"
	"golang.org/x/sys/unix"
)

// BenchmarkForward moves 64-byte frames vB -> vA -> vB through two ports
// on one goroutine: a port on vB generates batches, the port on vA (the
// one measured) receives and sends them back, the vB port receives and
// frees them. One op is one frame forwarded by the vA port, so ns/op
// includes both directions of the veth in the kernel and the generator:
// it is a lower bound on the port's own speed.
func BenchmarkForward(b *testing.B) {
	for _, r := range []string{RxV2, RxV3} {
		for _, m := range []string{TxRing, TxSendmmsg} {
			b.Run(r+"/"+m, func(b *testing.B) { benchForward(b, r, m) })
		}
	}
}

func benchForward(b *testing.B, ring, mode string) {
	l := newLab(b)
	pa, err := Open(l.devA, Options{Promisc: true, TxMode: mode, RxRing: ring})
	if err != nil {
		b.Fatal(err)
	}
	defer pa.Close()
	var pb *Port
	inNS(b, l.nsB, func() { pb, err = Open(l.devB, Options{Promisc: true, TxMode: mode, RxRing: ring}) })
	if err != nil {
		b.Fatal(err)
	}
	defer pb.Close()
	pool := pkt.NewPool(4096)
	tmpl := frame(pa.MAC(), typRx, 0, 64)
	var gen, fwd, sink pkt.Batch
	b.ReportAllocs()
	var ru0, ru1 unix.Rusage
	unix.Getrusage(unix.RUSAGE_THREAD, &ru0)
	b.ResetTimer()
	t0 := time.Now()
	done := 0
	for done < b.N {
		for gen.N < pkt.BatchSize {
			buf := pool.Get()
			copy(buf.Reset(len(tmpl)), tmpl)
			gen.Push(buf)
		}
		pb.Send(0, &gen, pool)
		if pa.Recv(0, &fwd, pool) > 0 {
			done += pa.Send(0, &fwd, pool)
		}
		if pb.Recv(0, &sink, pool) > 0 {
			pool.PutBatch(&sink)
		}
	}
	el := time.Since(t0)
	b.StopTimer()
	unix.Getrusage(unix.RUSAGE_THREAD, &ru1)
	// User time is the ports' own work (copies, ring walks) plus the
	// generator; system time is the kernel's AF_PACKET and veth path
	// (softirq work that spills to ksoftirqd is not in either).
	b.ReportMetric(float64(ru1.Utime.Nano()-ru0.Utime.Nano())/float64(done), "user-ns/pkt")
	b.ReportMetric(float64(ru1.Stime.Nano()-ru0.Stime.Nano())/float64(done), "sys-ns/pkt")
	b.ReportMetric(float64(done)/el.Seconds()/1e6, "Mpps")
	s := pa.Stats()
	b.ReportMetric(float64(s.KernelDrops)/float64(max(1, s.RxPackets+s.KernelDrops)), "rx-drop-ratio")
}

// BenchmarkRecvDrain is Recv's own cost per frame for each RX ring: the
// peer puts a burst of 64-byte frames in the ring (not timed: 256, two
// batches, or 2048, a backlog after a stall), then Recv drains it
// (timed). One op is one frame received; the kernel's side (tpacket_rcv,
// on the peer's CPU for a veth) is not in it. v2-16MiB is a V2 ring of
// 128 blocks: its cost shows why the default V2 ring is small (doc.go,
// Rings).
func BenchmarkRecvDrain(b *testing.B) {
	for _, c := range []struct {
		name string
		o    Options
	}{
		{"v2", Options{RxRing: RxV2}},
		{"v2-16MiB", Options{RxRing: RxV2, BlockCount: 128}},
		{"v3", Options{RxRing: RxV3}},
	} {
		for _, burst := range []int{256, 2048} {
			b.Run(fmt.Sprintf("%s/burst=%d", c.name, burst), func(b *testing.B) { benchRecvDrain(b, c.o, burst) })
		}
	}
}

func benchRecvDrain(b *testing.B, o Options, burst int) {
	l := newLab(b)
	o.Promisc = true
	p, err := Open(l.devA, o)
	if err != nil {
		b.Fatal(err)
	}
	defer p.Close()
	pool := pkt.NewPool(4096)
	f := frame(p.MAC(), typRx, 0, 64)
	var v pkt.Batch
	b.ReportAllocs()
	b.ResetTimer()
	for done := 0; done < b.N; {
		b.StopTimer()
		for i := 0; i < burst; i++ {
			_ = unix.Sendto(l.peerFd, f, 0, &unix.SockaddrLinklayer{Ifindex: l.peerIx})
		}
		time.Sleep(3 * time.Millisecond) // V3: the last block retires
		b.StartTimer()
		for got := 0; got < burst; {
			n := p.Recv(0, &v, pool)
			if n == 0 {
				break
			}
			got += n
			done += n
			pool.PutBatch(&v)
		}
	}
}

// BenchmarkLifecycle measures what TestLifecycle does not judge: one op
// deletes the veth under a worker-like poll loop (Send and Recv every
// millisecond for 300 ms), then re-creates it and waits for traffic. It
// reports the polling thread's CPU time over the wall time while the port
// was down ("cpu-share-down"; a port that spins would be near 1) and the
// time from re-creating the device to the first frame ("resume-ms"; the
// retries come every retryEvery).
func BenchmarkLifecycle(b *testing.B) {
	l := newLab(b)
	p, err := Open(l.devA, Options{Promisc: true})
	if err != nil {
		b.Fatal(err)
	}
	defer p.Close()
	pool := pkt.NewPool(1024)
	var v pkt.Batch
	var cpu, wall, resume time.Duration
	for b.Loop() {
		run(b, "ip", "-n", l.nsB, "link", "del", l.devB)
		var ru0, ru1 unix.Rusage
		unix.Getrusage(unix.RUSAGE_THREAD, &ru0) // the locked thread that makes every port call
		t0 := time.Now()
		for time.Since(t0) < 300*time.Millisecond {
			for i := 0; i < 8; i++ {
				buf := pool.Get()
				copy(buf.Reset(64), frame([6]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, typTx, i, 64))
				v.Push(buf)
			}
			p.Send(0, &v, pool)
			if p.Recv(0, &v, pool) != 0 {
				pool.PutBatch(&v)
			}
			time.Sleep(time.Millisecond)
		}
		unix.Getrusage(unix.RUSAGE_THREAD, &ru1)
		wall += time.Since(t0)
		cpu += time.Duration(ru1.Utime.Nano() + ru1.Stime.Nano() - ru0.Utime.Nano() - ru0.Stime.Nano())
		l.makeVeth()
		t1 := time.Now()
		var got [][]byte
		for i := 0; len(got) == 0 && time.Since(t1) < 30*time.Second; i++ {
			l.peerSend(frame(p.MAC(), typRx, i, 64))
			got = recvFrames(p, 0, pool, 1, typRx, 5*time.Millisecond)
		}
		if len(got) == 0 {
			b.Fatalf("no traffic 30 s after re-creating the veth: %+v", p.Stats())
		}
		resume += time.Since(t1)
	}
	b.ReportMetric(float64(cpu)/float64(max(wall, 1)), "cpu-share-down")
	b.ReportMetric(float64(resume.Milliseconds())/float64(b.N), "resume-ms")
}
