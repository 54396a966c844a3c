package afpacket

import (
	"encoding/binary"
	"io"
	"net"
	"testing"
	"time"

	"github.com/softnet/softnet/pkt"
	"golang.org/x/sys/unix"
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
			end := time.Now().Add(30 * time.Second) // a deadline, not a threshold: the loop ends when the transfer is done
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
				for _, x := range v.B[:v.N] {
					b := pkt.At(x)
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

// TestVLANPartialCsum: a peer sends tagged frames the way a stack with
// offloads on hands them to its device (PACKET_VNET_HDR on a packet
// socket: CHECKSUM_PARTIAL, and a GSO super-packet), an odd-length UDP
// datagram and a 5000-byte TCP super-packet. The receiving veth takes the
// tag out into the ring header; Recv must put it back and finish or
// split at offsets shifted by the tag: every checksum verifies and the
// segments carry the whole payload, tagged.
func TestVLANPartialCsum(t *testing.T) {
	l := newLabWith(t, true)
	p := openPort(t, l.devA, Options{})
	pool := pkt.NewPool(256)
	mac := p.MAC()

	udp, l3, l4 := l4frame([]uint16{100}, false, ipProtoUDP, 8, payload(101))
	partial(udp, l3, l4, udpCsumOff, ipProtoUDP)
	const tcpPayload, mss = 5000, 1400
	tcp, _, _ := l4frame([]uint16{100}, false, ipProtoTCP, 20, payload(tcpPayload))
	partial(tcp, l3, l4, tcpCsumOff, ipProtoTCP)
	for _, f := range [][]byte{udp, tcp} {
		copy(f, mac[:])
	}
	vnet := func(off, gsoType, gsoSize int) []byte {
		h := make([]byte, vnetHdrLen)
		h[0], h[1] = vnetNeedsCsum, byte(gsoType)
		binary.NativeEndian.PutUint16(h[2:], uint16(l4+20))
		binary.NativeEndian.PutUint16(h[4:], uint16(gsoSize))
		binary.NativeEndian.PutUint16(h[6:], uint16(l4))
		binary.NativeEndian.PutUint16(h[8:], uint16(off))
		return h
	}
	inNS(t, l.nsB, func() {
		fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			t.Error(err)
			return
		}
		defer unix.Close(fd)
		if err := unix.SetsockoptInt(fd, unix.SOL_PACKET, unix.PACKET_VNET_HDR, 1); err != nil {
			t.Error(err)
			return
		}
		to := &unix.SockaddrLinklayer{Ifindex: l.peerIx}
		if err := unix.Sendto(fd, append(vnet(udpCsumOff, 0, 0), udp...), 0, to); err != nil {
			t.Errorf("send UDP: %v", err)
		}
		if err := unix.Sendto(fd, append(vnet(tcpCsumOff, vnetGSOTCPv4, mss), tcp...), 0, to); err != nil {
			t.Errorf("send TCP super-packet: %v", err)
		}
	})
	segs := (tcpPayload + mss - 1) / mss
	got := recvFrames(p, 0, pool, 1+segs, 0x8100, 10*time.Second)
	var udps, tcps, tcpBytes int
	for _, f := range got {
		if len(f) < l4+8 || binary.BigEndian.Uint16(f[14:])&0xfff != 100 || binary.BigEndian.Uint16(f[16:]) != 0x0800 {
			continue
		}
		switch f[l3+9] {
		case ipProtoUDP:
			udps++
			if !l4ok(f, l3, l4, ipProtoUDP) {
				t.Errorf("tagged UDP datagram: checksum %#04x does not verify", binary.BigEndian.Uint16(f[l4+udpCsumOff:]))
			}
		case ipProtoTCP:
			tcps++
			tcpBytes += len(f) - l4 - 20
			if len(f) > l4+20+mss || !l4ok(f, l3, l4, ipProtoTCP) {
				t.Errorf("tagged TCP segment of %d bytes: checksum %#04x", len(f), binary.BigEndian.Uint16(f[l4+tcpCsumOff:]))
			}
		}
	}
	s := p.Stats()
	t.Logf("%d tagged frames (%d UDP, %d TCP segments, %d TCP payload bytes); stats %+v", len(got), udps, tcps, tcpBytes, s)
	if udps != 1 || tcps != segs || tcpBytes != tcpPayload || s.RxCsumFinished != 1 || s.RxGSOSplit != 1 {
		t.Errorf("want 1 UDP datagram, %d TCP segments carrying %d bytes, RxCsumFinished 1, RxGSOSplit 1", segs, tcpPayload)
	}
}
