package afpacket

import (
	"encoding/binary"
	"fmt"
	"github.com/softnet/softnet/internal/testenv"
	"os"
	"os/exec"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// The lab: two network namespaces, A and B, joined by a veth pair (vA in
// A, vB in B). The test goroutine's thread enters A, so ports opened and
// reopened by the test live there; the peer's raw sockets are opened in B.
// Nothing touches the test process's own namespace.

var labSeq atomic.Int32

type lab struct {
	t      testing.TB
	nsA    string
	nsB    string
	devA   string
	devB   string
	peerFd int // raw AF_PACKET socket on vB, in B
	peerIx int

	peerOffloads bool // leave vB's offloads on (default: DisableOffloads)
}

func needRoot(t testing.TB) {
	t.Helper()
	testenv.Root(t)
}

func run(t testing.TB, args ...string) {
	t.Helper()
	out, err := exec.Command(args[0], args[1:]...).CombinedOutput()
	if err != nil {
		t.Fatalf("%v: %v\n%s", args, err, out)
	}
}

func newLab(t testing.TB) *lab { return newLabWith(t, false) }

func newLabWith(t testing.TB, peerOffloads bool) *lab {
	needRoot(t)
	n := labSeq.Add(1)
	l := &lab{
		t:    t,
		nsA:  fmt.Sprintf("afp%d-%d-a", os.Getpid(), n),
		nsB:  fmt.Sprintf("afp%d-%d-b", os.Getpid(), n),
		devA: "vA",
		devB: "vB",

		peerOffloads: peerOffloads,
	}
	for _, ns := range []string{l.nsA, l.nsB} {
		run(t, "ip", "netns", "add", ns)
		t.Cleanup(func() { _ = exec.Command("ip", "netns", "del", ns).Run() })
		// No IPv6 chatter (DAD, router solicitations) on the test links.
		_ = exec.Command("ip", "netns", "exec", ns, "sysctl", "-qw",
			"net.ipv6.conf.all.disable_ipv6=1", "net.ipv6.conf.default.disable_ipv6=1").Run()
	}
	l.makeVeth()
	enterNS(t, l.nsA)
	return l
}

// makeVeth (re)creates the pair, brings it up and opens the peer socket.
func (l *lab) makeVeth() {
	t := l.t
	t.Helper()
	run(t, "ip", "-n", l.nsA, "link", "add", l.devA, "type", "veth", "peer", "name", l.devB, "netns", l.nsB)
	run(t, "ip", "-n", l.nsA, "link", "set", l.devA, "up")
	run(t, "ip", "-n", l.nsB, "link", "set", l.devB, "up")
	inNS(t, l.nsB, func() {
		if l.peerOffloads {
			return
		}
		if err := DisableOffloads(l.devB); err != nil {
			t.Errorf("DisableOffloads(%s): %v", l.devB, err)
		}
	})
	l.peerFd, l.peerIx = peerSocket(t, l.nsB, l.devB)
}

// enterNS moves the calling goroutine's (locked) thread into ns until the
// test ends.
func enterNS(t testing.TB, ns string) {
	runtime.LockOSThread()
	orig, err := unix.Open("/proc/thread-self/ns/net", unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	fd, err := unix.Open("/run/netns/"+ns, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	if err := unix.Setns(fd, unix.CLONE_NEWNET); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := unix.Setns(orig, unix.CLONE_NEWNET); err != nil {
			// Stay locked: the thread dies with the goroutine.
			return
		}
		unix.Close(orig)
		runtime.UnlockOSThread()
	})
}

// inNS runs fn on a fresh thread inside ns. The thread is never unlocked,
// so it exits with its goroutine and no other goroutine runs in ns.
func inNS(t testing.TB, ns string, fn func()) {
	done := make(chan error)
	go func() {
		runtime.LockOSThread()
		fd, err := unix.Open("/run/netns/"+ns, unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			done <- err
			return
		}
		defer unix.Close(fd)
		if err := unix.Setns(fd, unix.CLONE_NEWNET); err != nil {
			done <- err
			return
		}
		fn()
		done <- nil
	}()
	if err := <-done; err != nil {
		t.Fatalf("netns %s: %v", ns, err)
	}
}

// peerSocket opens a raw AF_PACKET socket on dev in ns, with a receive
// timeout and a big buffer.
func peerSocket(t testing.TB, ns, dev string) (fd, ifindex int) {
	var err error
	inNS(t, ns, func() {
		fd, err = unix.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, int(htons(unix.ETH_P_ALL)))
		if err != nil {
			return
		}
		var d devInfo
		if d, err = lookup(fd, dev); err != nil {
			return
		}
		ifindex = d.index
		_ = unix.SetsockoptInt(fd, unix.SOL_PACKET, unix.PACKET_IGNORE_OUTGOING, 1)
		_ = unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, 32<<20)
		_ = unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_SNDBUFFORCE, 32<<20)
		tv := unix.NsecToTimeval(int64(100 * time.Millisecond))
		_ = unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv)
		err = unix.Bind(fd, &unix.SockaddrLinklayer{Protocol: htons(unix.ETH_P_ALL), Ifindex: ifindex})
	})
	if err != nil {
		t.Fatalf("peer socket on %s in %s: %v", dev, ns, err)
	}
	t.Cleanup(func() { unix.Close(fd) })
	return fd, ifindex
}

// peerSend sends frames from the peer end.
func (l *lab) peerSend(frames ...[]byte) {
	l.t.Helper()
	for _, f := range frames {
		if err := unix.Sendto(l.peerFd, f, 0, &unix.SockaddrLinklayer{Ifindex: l.peerIx}); err != nil {
			l.t.Fatalf("peer send %d bytes: %v", len(f), err)
		}
	}
}

// peerRecv reads frames of ethertype typ at the peer until it has n or a
// read times out.
func (l *lab) peerRecv(n int, typ uint16) [][]byte {
	var out [][]byte
	buf := make([]byte, 65536)
	for len(out) < n {
		m, _, err := unix.Recvfrom(l.peerFd, buf, 0)
		if err != nil {
			break
		}
		if m >= 14 && binary.BigEndian.Uint16(buf[12:]) == typ {
			out = append(out, append([]byte(nil), buf[:m]...))
		}
	}
	return out
}

const (
	typRx = 0x88b5 // IEEE local experimental ethertypes: test frames
	typTx = 0x88b6
)

// frame builds a test frame of n bytes: dst, src, ethertype, then a
// 4-byte sequence number and a pattern.
func frame(dst [6]byte, typ uint16, seq, n int) []byte {
	f := make([]byte, n)
	copy(f, dst[:])
	copy(f[6:], []byte{0x02, 0xaa, 0xbb, 0xcc, 0xdd, 0xee})
	binary.BigEndian.PutUint16(f[12:], typ)
	if n >= 18 {
		binary.BigEndian.PutUint32(f[14:], uint32(seq))
	}
	for i := 18; i < n; i++ {
		f[i] = byte(i*7 + seq)
	}
	return f
}

// udpFrame builds an Ethernet/IPv4/UDP frame of flow (sport) with payload
// seq, for the fanout hash.
func udpFrame(dst [6]byte, sport uint16, seq int) []byte {
	f := make([]byte, 14+20+8+18)
	copy(f, dst[:])
	copy(f[6:], []byte{0x02, 0xaa, 0xbb, 0xcc, 0xdd, 0xee})
	binary.BigEndian.PutUint16(f[12:], 0x0800)
	ip := f[14:]
	ip[0], ip[8], ip[9] = 0x45, 64, 17
	binary.BigEndian.PutUint16(ip[2:], uint16(len(f)-14))
	copy(ip[12:], []byte{10, 0, 0, 2})
	copy(ip[16:], []byte{10, 0, 0, 1})
	var sum uint32
	for i := 0; i < 20; i += 2 {
		sum += uint32(binary.BigEndian.Uint16(ip[i:]))
	}
	for sum > 0xffff {
		sum = sum&0xffff + sum>>16
	}
	binary.BigEndian.PutUint16(ip[10:], ^uint16(sum))
	u := ip[20:]
	binary.BigEndian.PutUint16(u[0:], sport)
	binary.BigEndian.PutUint16(u[2:], 9)
	binary.BigEndian.PutUint16(u[4:], 8+18)
	binary.BigEndian.PutUint32(u[8:], uint32(seq))
	return f
}
