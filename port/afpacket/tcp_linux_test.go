package afpacket

import (
	"encoding/binary"
	"io"
	"net"
	"testing"
	"time"

	"github.com/softnet/softnet/pkt"
)

// TestTCPPeerOffloads sends 2 MB over TCP from the peer namespace to a
// listener in the port's namespace while the port captures vA. With the
// peer's offloads off (DisableOffloads) every segment arrives as an
// MTU-sized frame with its checksum filled in. With them on (the veth
// default) the peer's TSO/GSO super-packets and partial checksums
// arrive, and Recv must hand over the same thing: MTU-sized segments,
// every TCP checksum valid, the whole payload, nothing dropped, the
// work counted in RxGSOSplit and RxCsumFinished.
func TestTCPPeerOffloads(t *testing.T) {
	for _, tc := range []struct {
		name         string
		peerOffloads bool
	}{{"peer-offloads-off", false}, {"peer-offloads-on", true}} {
		t.Run(tc.name, func(t *testing.T) {
			l := newLabWith(t, tc.peerOffloads)
			run(t, "ip", "-n", l.nsA, "addr", "add", "10.9.0.1/24", "dev", l.devA)
			run(t, "ip", "-n", l.nsB, "addr", "add", "10.9.0.2/24", "dev", l.devB)
			p := openPort(t, l.devA, Options{})
			pool := pkt.NewPool(1024)

			ln, err := net.Listen("tcp4", "10.9.0.1:5001") // the test thread is in A
			if err != nil {
				t.Fatal(err)
			}
			defer ln.Close()
			recvd := make(chan int64, 1)
			go func() {
				c, err := ln.Accept()
				if err != nil {
					recvd <- -1
					return
				}
				n, _ := io.Copy(io.Discard, c)
				c.Close()
				recvd <- n
			}()
			var c net.Conn
			inNS(t, l.nsB, func() { c, err = net.DialTimeout("tcp4", "10.9.0.1:5001", 2*time.Second) })
			if err != nil {
				t.Fatal(err)
			}
			const total = 2 << 20
			go func() {
				c.Write(make([]byte, total))
				c.Close()
			}()

			var payload, frames, maxLen, badCsum int
			var v pkt.Batch
			var got int64 = -2
			end := time.Now().Add(5 * time.Second)
			last := time.Now()
			for time.Now().Before(end) {
				if p.Recv(0, &v, pool) == 0 {
					// Once the listener is done, keep reading until the
					// ring has been quiet for 100 ms: the last block is
					// handed over only when its retire timer fires.
					if got != -2 && (payload >= total || time.Since(last) > 100*time.Millisecond) {
						break
					}
					select {
					case got = <-recvd:
					default:
					}
					time.Sleep(200 * time.Microsecond)
					continue
				}
				last = time.Now()
				for _, b := range v.B[:v.N] {
					f := b.Bytes()
					if len(f) < 54 || binary.BigEndian.Uint16(f[12:]) != 0x0800 || f[23] != 6 || f[29] != 2 {
						continue // not IPv4 TCP from 10.9.0.2
					}
					ihl := int(f[14]&15) * 4
					if !l4ok(f, 14, 14+ihl, ipProtoTCP) {
						badCsum++
					}
					doff := int(f[14+ihl+12]>>4) * 4
					payload += int(binary.BigEndian.Uint16(f[16:])) - ihl - doff
					frames++
					maxLen = max(maxLen, len(f))
				}
				pool.PutBatch(&v)
			}
			s := p.Stats()
			t.Logf("listener got %d bytes; captured %d TCP frames (%d bad checksums), %d payload bytes, largest %d; RxOversize %d, RxCsumPartial %d, RxCsumFinished %d, RxGSOSplit %d",
				got, frames, badCsum, payload, maxLen, s.RxOversize, s.RxCsumPartial, s.RxCsumFinished, s.RxGSOSplit)
			if got != total {
				t.Fatalf("listener got %d bytes, want %d", got, total)
			}
			if maxLen > 1514 {
				t.Errorf("frame of %d bytes passed Recv", maxLen)
			}
			if s.RxOversize != 0 || s.RxCsumPartial != 0 || payload < total || badCsum != 0 {
				t.Errorf("oversize %d, csum-partial %d, payload %d of %d, %d bad TCP checksums",
					s.RxOversize, s.RxCsumPartial, payload, total, badCsum)
			}
			if tc.peerOffloads && (s.RxGSOSplit == 0 || s.RxCsumFinished == 0) {
				t.Errorf("with the peer's offloads on: %d super-packets split, %d checksums finished; want both > 0", s.RxGSOSplit, s.RxCsumFinished)
			}
			if !tc.peerOffloads && (s.RxGSOSplit != 0 || s.RxCsumFinished != 0) {
				t.Errorf("with the peer's offloads off: %d super-packets split, %d checksums finished; want 0", s.RxGSOSplit, s.RxCsumFinished)
			}
		})
	}
}

// TestZeroAllocsOffloads: Recv makes no allocation while it splits TCP
// super-packets and finishes partial checksums (the peer's offloads on).
func TestZeroAllocsOffloads(t *testing.T) {
	l := newLabWith(t, true)
	run(t, "ip", "-n", l.nsA, "addr", "add", "10.9.0.1/24", "dev", l.devA)
	run(t, "ip", "-n", l.nsB, "addr", "add", "10.9.0.2/24", "dev", l.devB)
	p := openPort(t, l.devA, Options{})
	pool := pkt.NewPool(1024)
	ln, err := net.Listen("tcp4", "10.9.0.1:5002")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	done := make(chan struct{})
	go func() {
		defer close(done)
		if c, err := ln.Accept(); err == nil {
			io.Copy(io.Discard, c)
			c.Close()
		}
	}()
	var c net.Conn
	inNS(t, l.nsB, func() { c, err = net.DialTimeout("tcp4", "10.9.0.1:5002", 2*time.Second) })
	if err != nil {
		t.Fatal(err)
	}
	c.Write(make([]byte, 4<<20)) // ~70 super-packets land in the ring
	c.Close()
	<-done
	time.Sleep(20 * time.Millisecond) // let the last block retire
	var v pkt.Batch
	moved := 0
	allocs := testing.AllocsPerRun(20, func() {
		moved += p.Recv(0, &v, pool)
		pool.PutBatch(&v)
	})
	s := p.Stats()
	t.Logf("%d frames in 21 runs; stats %+v", moved, s)
	if allocs != 0 {
		t.Errorf("Recv allocates %v times per run", allocs)
	}
	if s.RxGSOSplit == 0 || s.RxCsumFinished == 0 || moved < 2*pkt.BatchSize {
		t.Errorf("the runs did not split super-packets and finish checksums: %d frames, stats %+v", moved, s)
	}
}
