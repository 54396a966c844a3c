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
// peer's offloads off (DisableOffloads, what the lab does for softnet)
// every segment arrives as an MTU-sized frame with its checksum filled
// in; with them on the peer's TSO/GSO super-packets arrive and are
// dropped and counted as RxOversize, never truncated.
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

			var payload, frames, maxLen int
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
					doff := int(f[14+ihl+12]>>4) * 4
					payload += int(binary.BigEndian.Uint16(f[16:])) - ihl - doff
					frames++
					maxLen = max(maxLen, len(f))
				}
				pool.PutBatch(&v)
			}
			s := p.Stats()
			t.Logf("listener got %d bytes; captured %d TCP frames, %d payload bytes, largest %d; RxOversize %d, RxCsumPartial %d",
				got, frames, payload, maxLen, s.RxOversize, s.RxCsumPartial)
			if got != total {
				t.Fatalf("listener got %d bytes, want %d", got, total)
			}
			if maxLen > 1514 {
				t.Errorf("frame of %d bytes passed Recv", maxLen)
			}
			if tc.peerOffloads {
				if s.RxOversize == 0 {
					t.Errorf("no oversize frames counted with the peer's TSO on")
				}
				return
			}
			if s.RxOversize != 0 || s.RxCsumPartial != 0 || payload < total {
				t.Errorf("with the peer's offloads off: oversize %d, csum-partial %d, payload %d of %d",
					s.RxOversize, s.RxCsumPartial, payload, total)
			}
		})
	}
}
