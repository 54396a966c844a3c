package afxdp

import (
	"encoding/binary"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/softnet/softnet/internal/testenv"
	"github.com/softnet/softnet/pkt"
)

// The lab: namespaces A and B joined by a veth pair (vA in A, vB in B).
// The test goroutine's locked thread enters A, where the port opens; the
// peer is a raw AF_PACKET socket on vB, opened in B.

const typTest = 0x88b5 // IEEE local experimental ethertype

var labSeq atomic.Int32

type lab struct {
	nsA, nsB string
	peerFd   int
	peerIx   int
	macA     [6]byte
}

func run(t testing.TB, args ...string) {
	t.Helper()
	out, err := exec.Command(args[0], args[1:]...).CombinedOutput()
	if err != nil {
		t.Fatalf("%v: %v\n%s", args, err, out)
	}
}

func newLab(t testing.TB) *lab {
	testenv.Root(t)
	testenv.Tools(t, "ip")
	n := labSeq.Add(1)
	l := &lab{nsA: fmt.Sprintf("xdp%d-%d-a", os.Getpid(), n), nsB: fmt.Sprintf("xdp%d-%d-b", os.Getpid(), n)}
	for _, ns := range []string{l.nsA, l.nsB} {
		run(t, "ip", "netns", "add", ns)
		t.Cleanup(func() { _ = exec.Command("ip", "netns", "del", ns).Run() })
		_ = exec.Command("ip", "netns", "exec", ns, "sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1", "net.ipv6.conf.default.disable_ipv6=1").Run()
	}
	run(t, "ip", "-n", l.nsA, "link", "add", "vA", "type", "veth", "peer", "name", "vB", "netns", l.nsB)
	run(t, "ip", "-n", l.nsA, "link", "set", "vA", "up")
	run(t, "ip", "-n", l.nsB, "link", "set", "vB", "up")
	inNS(t, l.nsB, func() {
		ifc, err := netIndex("vB")
		if err != nil {
			t.Error(err)
			return
		}
		fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, int(htons(unix.ETH_P_ALL)))
		if err != nil {
			t.Error(err)
			return
		}
		if err := unix.Bind(fd, &unix.SockaddrLinklayer{Protocol: htons(unix.ETH_P_ALL), Ifindex: ifc}); err != nil {
			t.Error(err)
		}
		tv := unix.Timeval{Usec: 100000}
		_ = unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv)
		l.peerFd, l.peerIx = fd, ifc
	})
	if t.Failed() {
		t.FailNow()
	}
	t.Cleanup(func() { unix.Close(l.peerFd) })
	enterNS(t, l.nsA)
	return l
}

func netIndex(dev string) (int, error) {
	ifc, err := net.InterfaceByName(dev)
	if err != nil {
		return 0, err
	}
	return ifc.Index, nil
}

func htons(v uint16) uint16 { return v<<8 | v>>8 }

// enterNS moves the test goroutine's locked thread into ns until the test
// ends.
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
		if unix.Setns(orig, unix.CLONE_NEWNET) != nil {
			return // stay locked: the thread dies with the goroutine
		}
		unix.Close(orig)
		runtime.UnlockOSThread()
	})
}

// inNS runs fn on a fresh thread in ns, never unlocked (it exits with its
// goroutine).
func inNS(t testing.TB, ns string, fn func()) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		runtime.LockOSThread()
		fd, err := unix.Open("/run/netns/"+ns, unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			t.Error(err)
			return
		}
		defer unix.Close(fd)
		if err := unix.Setns(fd, unix.CLONE_NEWNET); err != nil {
			t.Error(err)
			return
		}
		fn()
	}()
	<-done
}

// frame is an Ethernet frame of n bytes to dst, ethertype typTest, with a
// sequence number and a pattern.
func frame(dst [6]byte, seq, n int) []byte {
	f := make([]byte, n)
	copy(f, dst[:])
	copy(f[6:], []byte{0x02, 0, 0, 0, 0xbb, 0xbb})
	binary.BigEndian.PutUint16(f[12:], typTest)
	binary.BigEndian.PutUint32(f[14:], uint32(seq))
	for i := 18; i < n; i++ {
		f[i] = byte(i*7 + seq)
	}
	return f
}

// peerSend writes f on vB (so it arrives at vA).
func (l *lab) peerSend(t testing.TB, f []byte) {
	t.Helper()
	if _, err := unix.Write(l.peerFd, f); err != nil {
		t.Fatalf("peer send: %v", err)
	}
}

// peerRecv returns the next test frame vB received (not one it sent), or
// nil when none comes before the deadline.
func (l *lab) peerRecv(deadline time.Time) []byte {
	buf := make([]byte, 16384)
	for time.Now().Before(deadline) {
		n, from, err := unix.Recvfrom(l.peerFd, buf, 0)
		if err != nil {
			continue
		}
		if ll, ok := from.(*unix.SockaddrLinklayer); ok && ll.Pkttype == unix.PACKET_OUTGOING {
			continue
		}
		if n >= 14 && binary.BigEndian.Uint16(buf[12:]) == typTest {
			return append([]byte(nil), buf[:n]...)
		}
	}
	return nil
}

func newArena(t testing.TB, frames int) *pkt.Arena {
	a, err := pkt.NewArena(pkt.ArenaOptions{Frames: frames, Chunk: 4096})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	return a
}

func openPort(t testing.TB, a *pkt.Arena, o Options) *Port {
	t.Helper()
	o.Arena = a
	o.Logger = slog.New(slog.NewTextHandler(testWriter{t}, nil))
	p, err := Open("vA", o)
	if err != nil {
		t.Fatalf("Open(vA): %v", err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(b []byte) (int, error) { w.t.Log(string(b)); return len(b), nil }

// recreate makes the veth pair again after it was deleted (the same names
// in the same namespaces) and binds a new peer socket on the new vB.
func (l *lab) recreate(t testing.TB) { l.recreateWith(t) }

// recreateWith is recreate with ip-link attributes for the new vA (e.g.
// "address", mac, "mtu", "1400").
func (l *lab) recreateWith(t testing.TB, attrs ...string) {
	t.Helper()
	_ = exec.Command("ip", "-n", l.nsA, "link", "del", "vA").Run()
	args := append([]string{"ip", "-n", l.nsA, "link", "add", "vA"}, attrs...)
	run(t, append(args, "type", "veth", "peer", "name", "vB", "netns", l.nsB)...)
	run(t, "ip", "-n", l.nsA, "link", "set", "vA", "up")
	run(t, "ip", "-n", l.nsB, "link", "set", "vB", "up")
	inNS(t, l.nsB, func() {
		ifc, err := netIndex("vB")
		if err != nil {
			t.Error(err)
			return
		}
		if err := unix.Bind(l.peerFd, &unix.SockaddrLinklayer{Protocol: htons(unix.ETH_P_ALL), Ifindex: ifc}); err != nil {
			t.Error(err)
		}
		// Clear the ENETDOWN the delete left pending on the socket.
		_, _ = unix.GetsockoptInt(l.peerFd, unix.SOL_SOCKET, unix.SO_ERROR)
		l.peerIx = ifc
	})
	if t.Failed() {
		t.FailNow()
	}
}
