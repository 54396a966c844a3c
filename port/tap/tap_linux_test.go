package tap

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"github.com/softnet/softnet/internal/testenv"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/softnet/softnet/hdr"
	"github.com/softnet/softnet/pkt"
)

// The tests make TAP devices inside network namespaces of their own and
// never touch the host's interfaces. They need root, /dev/net/tun and ip(8).

var (
	routerMAC = [6]byte{0x02, 0x00, 0x5e, 0x00, 0x53, 0x02} // softnet's side
	kernelIP  = [4]byte{10, 199, 0, 1}
	routerIP  = [4]byte{10, 199, 0, 2}
	nsSeq     atomic.Int32
)

func needRoot(t *testing.T) {
	t.Helper()
	testenv.Root(t)
	testenv.TUN(t)
	testenv.Tools(t, "ip")
}

func run(t *testing.T, args ...string) string {
	t.Helper()
	out, err := exec.Command(args[0], args[1:]...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// newNS makes a network namespace removed when the test ends.
func newNS(t *testing.T) string {
	t.Helper()
	ns := fmt.Sprintf("sntap-%d-%d", os.Getpid(), nsSeq.Add(1))
	run(t, "ip", "netns", "add", ns)
	t.Cleanup(func() { exec.Command("ip", "netns", "del", ns).Run() })
	return ns
}

// inNS runs f on an OS thread that joined namespace ns. The thread is
// never unlocked, so it exits with the goroutine instead of running other
// goroutines in the wrong namespace.
func inNS(ns string, f func() error) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		fd, err := unix.Open("/var/run/netns/"+ns, unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			errc <- err
			return
		}
		defer unix.Close(fd)
		if err := unix.Setns(fd, unix.CLONE_NEWNET); err != nil {
			errc <- err
			return
		}
		errc <- f()
	}()
	return <-errc
}

// openIn opens a TAP port inside ns; it is closed when the test ends
// (before the namespace goes, as cleanups run last-in first-out).
func openIn(t *testing.T, ns, name string, o Options) *Port {
	t.Helper()
	var p *Port
	err := inNS(ns, func() (err error) {
		p, err = Open(name, o)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

// setup makes a namespace with an up TAP port whose kernel side has
// kernelIP/24.
func setup(t *testing.T, o Options) (*Port, string) {
	needRoot(t)
	ns := newNS(t)
	o.Up = true
	p := openIn(t, ns, "sntap0", o)
	run(t, "ip", "-n", ns, "addr", "add", "10.199.0.1/24", "dev", "sntap0")
	return p, ns
}

func ethernet(dst, src [6]byte, etype uint16, payload []byte) []byte {
	f := append(append(append([]byte{}, dst[:]...), src[:]...), byte(etype>>8), byte(etype))
	return append(f, payload...)
}

func arpRequest(target [4]byte) []byte {
	a := []byte{0, 1, 8, 0, 6, 4, 0, 1}
	a = append(a, routerMAC[:]...)
	a = append(a, routerIP[:]...)
	a = append(a, 0, 0, 0, 0, 0, 0)
	a = append(a, target[:]...)
	return ethernet([6]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, routerMAC, 0x0806, a)
}

func echoRequest(dstMAC [6]byte, id, seq uint16) []byte {
	icmp := []byte{8, 0, 0, 0, byte(id >> 8), byte(id), byte(seq >> 8), byte(seq)}
	icmp = append(icmp, []byte("softnet tap test")...)
	binary.BigEndian.PutUint16(icmp[2:], hdr.Checksum(icmp, 0))
	ip := []byte{0x45, 0, 0, 0, 0, 1, 0x40, 0, 64, 1, 0, 0}
	binary.BigEndian.PutUint16(ip[2:], uint16(20+len(icmp)))
	ip = append(append(ip, routerIP[:]...), kernelIP[:]...)
	binary.BigEndian.PutUint16(ip[10:], hdr.Checksum(ip, 0))
	return ethernet(dstMAC, routerMAC, 0x0800, append(ip, icmp...))
}

// tcpSYN is a SYN from routerIP:sport to a closed port of the kernel,
// which answers with a RST.
func tcpSYN(dstMAC [6]byte, sport uint16) []byte {
	tcp := make([]byte, 20)
	binary.BigEndian.PutUint16(tcp[0:], sport)
	binary.BigEndian.PutUint16(tcp[2:], 9) // discard: closed
	binary.BigEndian.PutUint32(tcp[4:], 1000)
	tcp[12], tcp[13] = 5<<4, 0x02
	binary.BigEndian.PutUint16(tcp[14:], 65535)
	src, dst := binary.BigEndian.Uint32(routerIP[:]), binary.BigEndian.Uint32(kernelIP[:])
	binary.BigEndian.PutUint16(tcp[16:], hdr.Checksum(tcp, hdr.PseudoSumIPv4(src, dst, 6, 20)))
	ip := []byte{0x45, 0, 0, 40, 0, 2, 0x40, 0, 64, 6, 0, 0}
	ip = append(append(ip, routerIP[:]...), kernelIP[:]...)
	binary.BigEndian.PutUint16(ip[10:], hdr.Checksum(ip, 0))
	return ethernet(dstMAC, routerMAC, 0x0800, append(ip, tcp...))
}

// rstPort returns the destination port of a TCP RST to routerIP, or 0.
func rstPort(f []byte) uint16 {
	if len(f) < 54 || binary.BigEndian.Uint16(f[12:]) != 0x0800 || f[23] != 6 || !bytes.Equal(f[30:34], routerIP[:]) || f[47]&0x04 == 0 {
		return 0
	}
	return binary.BigEndian.Uint16(f[36:])
}

func isARPReply(f []byte, from [6]byte) bool {
	return len(f) >= 42 && binary.BigEndian.Uint16(f[12:]) == 0x0806 &&
		binary.BigEndian.Uint16(f[20:]) == 2 && bytes.Equal(f[22:28], from[:]) &&
		bytes.Equal(f[28:32], kernelIP[:]) && bytes.Equal(f[32:38], routerMAC[:])
}

func isEchoReply(f []byte, id uint16) bool {
	return len(f) >= 42 && bytes.Equal(f[0:6], routerMAC[:]) && binary.BigEndian.Uint16(f[12:]) == 0x0800 &&
		f[23] == 1 && bytes.Equal(f[26:30], kernelIP[:]) && f[34] == 0 && binary.BigEndian.Uint16(f[38:]) == id
}

func send(t *testing.T, p *Port, queue int, pool *pkt.Pool, frames ...[]byte) int {
	t.Helper()
	var v pkt.Batch
	for _, f := range frames {
		b := pool.Get()
		copy(b.Reset(len(f)), f)
		v.Push(b)
	}
	n := p.Send(queue, &v, pool)
	if v.N != 0 {
		t.Fatal("Send left buffers in the batch")
	}
	return n
}

// await polls the queues for up to ten seconds until match has seen a
// frame it wants, and returns the queue it came on (-1: none).
func await(p *Port, queues []int, pool *pkt.Pool, match func([]byte) bool) int {
	var v pkt.Batch
	for end := time.Now().Add(10 * time.Second); time.Now().Before(end); {
		for _, q := range queues {
			p.Recv(q, &v, pool)
			found := false
			for _, x := range v.B[:v.N] {
				b := pkt.At(x)
				found = found || match(b.Bytes())
			}
			pool.PutBatch(&v)
			if found {
				return q
			}
		}
		time.Sleep(time.Millisecond)
	}
	return -1
}

// arpWorks sends an ARP request for the kernel's address on queue and
// waits for the reply on any queue.
func arpWorks(t *testing.T, p *Port, queue int, pool *pkt.Pool) bool {
	t.Helper()
	if send(t, p, queue, pool, arpRequest(kernelIP)) != 1 {
		return false
	}
	mac := p.MAC()
	all := make([]int, len(p.q))
	for i := range all {
		all[i] = i
	}
	return await(p, all, pool, func(f []byte) bool { return isARPReply(f, mac) }) >= 0
}

func TestOpenErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		o    Options
		want string
	}{
		{"averyveryverylongname", Options{}, "too long"},
		{"", Options{}, "empty"},
		{"a/b", Options{}, "not a valid interface name"},
		{"tapx", Options{Queues: 1000}, "queues"},
		{"tapx", Options{MTU: 10000}, "MTU 10000"},
	} {
		if _, err := Open(tc.name, tc.o); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Open(%q, %+v): %v, want an error saying %q", tc.name, tc.o, err, tc.want)
		}
	}
}

func TestSendRecvKernel(t *testing.T) {
	p, ns := setup(t, Options{MTU: 1500})
	pool := pkt.NewPool(1024)
	stop := make(chan struct{})
	defer close(stop)
	go func() { // Stats and MAC from another goroutine (for -race)
		for {
			select {
			case <-stop:
				return
			default:
				_, _ = p.Stats(), p.MAC()
				time.Sleep(100 * time.Microsecond)
			}
		}
	}()
	if p.Name() != "sntap0" || !p.Stats().Up {
		t.Fatalf("name %q, stats %+v", p.Name(), p.Stats())
	}
	out := run(t, "ip", "-n", ns, "link", "show", "sntap0")
	mac := p.MAC()
	if !strings.Contains(out, "mtu 1500") || !strings.Contains(out, fmt.Sprintf("%02x:%02x:%02x:%02x:%02x:%02x", mac[0], mac[1], mac[2], mac[3], mac[4], mac[5])) {
		t.Fatalf("device %s, MAC() %x", out, mac)
	}

	// Send: an ARP request gets the kernel's ARP reply.
	if !arpWorks(t, p, 0, pool) {
		t.Fatal("no ARP reply from the kernel")
	}
	// Send: an echo request gets an echo reply (the kernel learned our
	// MAC from the ARP request).
	if send(t, p, 0, pool, echoRequest(mac, 0x5e01, 1)) != 1 {
		t.Fatal("Send did not send")
	}
	if await(p, []int{0}, pool, func(f []byte) bool { return isEchoReply(f, 0x5e01) }) < 0 {
		t.Fatal("no echo reply from the kernel")
	}
	// Recv: the kernel's own traffic, ARP requests for a host it pings.
	go exec.Command("ip", "netns", "exec", ns, "ping", "-c", "2", "-W", "1", "10.199.0.3").Run()
	if await(p, []int{0}, pool, func(f []byte) bool {
		return len(f) >= 42 && binary.BigEndian.Uint16(f[12:]) == 0x0806 && binary.BigEndian.Uint16(f[20:]) == 1 &&
			bytes.Equal(f[38:42], []byte{10, 199, 0, 3})
	}) < 0 {
		t.Fatal("did not receive the kernel's ARP request for 10.199.0.3")
	}
	s := p.Stats()
	if s.TxPackets != 2 || s.RxPackets < 3 || s.TxBytes == 0 || s.RxBytes == 0 || s.Errors != 0 || pool.Free() != pool.Size() {
		t.Fatalf("stats %+v, pool %d/%d", s, pool.Free(), pool.Size())
	}
	// A runt is refused by the kernel, counted, and freed.
	if send(t, p, 0, pool, []byte{1, 2, 3}) != 0 || p.Stats().Errors != 1 || p.Stats().TxDropped != 1 {
		t.Fatalf("runt: stats %+v", p.Stats())
	}
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	if err := exec.Command("ip", "-n", ns, "link", "show", "sntap0").Run(); err == nil {
		t.Fatal("device still there after Close")
	}
	var v pkt.Batch
	if p.Recv(0, &v, pool) != 0 || send(t, p, 0, pool, arpRequest(kernelIP)) != 0 || pool.Free() != pool.Size() {
		t.Fatal("Recv/Send after Close")
	}
}

func TestMultiQueue(t *testing.T) {
	p, ns := setup(t, Options{Queues: 2})
	pool := pkt.NewPool(1024)
	if p.TxQueues() != 2 {
		t.Fatalf("TxQueues %d, want 2 (one per queue)", p.TxQueues())
	}
	if out := run(t, "ip", "-n", ns, "-d", "link", "show", "sntap0"); !strings.Contains(out, "multi_queue") {
		t.Logf("ip -d link does not say multi_queue:\n%s", out)
	}
	mac := p.MAC()
	if !arpWorks(t, p, 0, pool) {
		t.Fatal("no ARP reply")
	}
	// Each queue sends its own echo request; both replies come back.
	// The kernel steers a flow back to the queue that sent it, so each
	// queue's Recv is exercised too (logged, as steering is the kernel's
	// business).
	got := map[int]int{}
	for q := range 2 {
		id := uint16(0x7100 + q)
		if send(t, p, q, pool, echoRequest(mac, id, 1)) != 1 {
			t.Fatalf("queue %d did not send", q)
		}
		rq := await(p, []int{0, 1}, pool, func(f []byte) bool { return isEchoReply(f, id) })
		if rq < 0 {
			t.Fatalf("no echo reply to queue %d's request", q)
		}
		got[q] = rq
	}
	t.Logf("echo replies: sent on queue -> received on queue: %v", got)
	// Sixteen TCP flows, eight sent on each queue: every SYN gets its
	// RST, and both queues receive some (the kernel steers a flow to the
	// queue that last sent on it, or else spreads flows by hash).
	for i := range 16 {
		if send(t, p, i%2, pool, tcpSYN(mac, uint16(40000+i))) != 1 {
			t.Fatalf("SYN %d not sent", i)
		}
	}
	rsts := map[uint16]int{} // port -> queue
	perQueue := [2]int{}
	var v pkt.Batch
	for end := time.Now().Add(10 * time.Second); time.Now().Before(end) && len(rsts) < 16; {
		for q := range 2 {
			p.Recv(q, &v, pool)
			for _, x := range v.B[:v.N] {
				b := pkt.At(x)
				if port := rstPort(b.Bytes()); port >= 40000 && port < 40016 {
					rsts[port] = q
					perQueue[q]++
				}
			}
			pool.PutBatch(&v)
		}
		time.Sleep(time.Millisecond)
	}
	steered := 0
	for port, q := range rsts {
		if int(port-40000)%2 == q {
			steered++
		}
	}
	t.Logf("RSTs per queue %v; %d of %d came back on the queue that sent the SYN", perQueue, steered, len(rsts))
	if len(rsts) != 16 || perQueue[0] == 0 || perQueue[1] == 0 {
		t.Fatalf("RSTs: %d of 16, per queue %v", len(rsts), perQueue)
	}
	// Queue numbers past Queues wrap on Send (worker IDs) and receive
	// nothing on Recv.
	if send(t, p, 3, pool, echoRequest(mac, 0x7199, 1)) != 1 {
		t.Fatal("Send on queue 3 of 2 did not send")
	}
	if p.Recv(2, &v, pool) != 0 {
		t.Fatal("Recv on queue 2 of 2 received")
	}
	// A second Open of the same name attaches more queues only as a
	// multi-queue device; as a single-queue one it is refused.
	err := inNS(ns, func() error {
		_, err := Open("sntap0", Options{})
		return err
	})
	if err == nil || !strings.Contains(err.Error(), "sntap0") {
		t.Fatalf("single-queue Open of a multi-queue device: %v", err)
	}
	t.Logf("single-queue open of a multi-queue device: %v", err)
}

func TestLinkDown(t *testing.T) {
	p, ns := setup(t, Options{})
	pool := pkt.NewPool(1024)
	if !arpWorks(t, p, 0, pool) {
		t.Fatal("no ARP reply")
	}
	run(t, "ip", "-n", ns, "link", "set", "sntap0", "down")
	if n := send(t, p, 0, pool, arpRequest(kernelIP), arpRequest(kernelIP)); n != 0 {
		t.Fatalf("Send on a down link sent %d", n)
	}
	s := p.Stats()
	if s.Up || s.TxDropped != 2 || s.Errors != 1 || !strings.Contains(s.LastError, "down") || pool.Free() != pool.Size() {
		t.Fatalf("after down: stats %+v, pool %d/%d", s, pool.Free(), pool.Size())
	}
	// While down, Send and Recv return at once without syscalls
	// (errors do not grow per call) and free everything.
	var v pkt.Batch
	for range 1000 {
		send(t, p, 0, pool, arpRequest(kernelIP))
		p.Recv(0, &v, pool)
	}
	if s := p.Stats(); s.Errors > 2 || s.TxDropped != 1002 || pool.Free() != pool.Size() || v.N != 0 {
		t.Fatalf("while down: stats %+v, pool %d/%d", s, pool.Free(), pool.Size())
	}
	// An administrative down is respected: still down after retries.
	time.Sleep(450 * time.Millisecond)
	if send(t, p, 0, pool, arpRequest(kernelIP)) != 0 || p.Stats().Up {
		t.Fatal("the port used a link that is down")
	}
	// Up again: used again within a retry interval.
	run(t, "ip", "-n", ns, "link", "set", "sntap0", "up")
	time.Sleep(250 * time.Millisecond)
	if !arpWorks(t, p, 0, pool) || !p.Stats().Up {
		t.Fatalf("not working after the link came back: %+v", p.Stats())
	}
}

func TestRecvSeesLinkDown(t *testing.T) {
	p, ns := setup(t, Options{})
	pool := pkt.NewPool(64)
	run(t, "ip", "-n", ns, "link", "set", "sntap0", "down")
	var v pkt.Batch
	for end := time.Now().Add(10 * time.Second); time.Now().Before(end) && p.Stats().Up; {
		p.Recv(0, &v, pool)
		time.Sleep(5 * time.Millisecond)
	}
	if p.Stats().Up {
		t.Fatal("an idle Recv did not notice the link went down")
	}
	run(t, "ip", "-n", ns, "link", "set", "sntap0", "up")
	for end := time.Now().Add(10 * time.Second); time.Now().Before(end) && !p.Stats().Up; {
		p.Recv(0, &v, pool)
		time.Sleep(5 * time.Millisecond)
	}
	if !p.Stats().Up {
		t.Fatal("Recv did not notice the link came up")
	}
}

func TestDeleted(t *testing.T) {
	for _, queues := range []int{1, 2} {
		t.Run(fmt.Sprintf("queues=%d", queues), func(t *testing.T) {
			p, ns := setup(t, Options{Queues: queues, MTU: 1400})
			pool := pkt.NewPool(1024)
			if !arpWorks(t, p, 0, pool) {
				t.Fatal("no ARP reply")
			}
			oldMAC := p.MAC()
			run(t, "ip", "-n", ns, "link", "del", "sntap0")
			// An interface of that name but another kind blocks the
			// re-attach: retries are rate-limited and counted.
			run(t, "ip", "-n", ns, "link", "add", "sntap0", "type", "veth", "peer", "name", "snpeer0")
			var v pkt.Batch
			start := time.Now()
			for time.Since(start) < time.Second {
				for q := range queues {
					p.Recv(q, &v, pool)
					send(t, p, q, pool, arpRequest(kernelIP))
				}
			}
			s := p.Stats()
			elapsed := time.Since(start)
			// Per queue: one error noticing, then at most one failed
			// attempt per retryEvery of the time the loop really took
			// (a loaded machine may stretch it), plus one for rounding.
			most := uint64(queues * (1 + 1 + int(elapsed/retryEvery)))
			if s.Up || s.Errors < 2 || s.Errors > most || !strings.Contains(s.LastError, "re-attach") || pool.Free() != pool.Size() {
				t.Fatalf("blocked re-attach for %v: stats %+v (at most %d errors), pool %d/%d", elapsed, s, most, pool.Free(), pool.Size())
			}
			t.Logf("blocked for %v: %d errors; last: %s", elapsed, s.Errors, s.LastError)
			run(t, "ip", "-n", ns, "link", "del", "sntap0")
			// Now the port makes the device again, in its namespace,
			// with its options (a generous deadline: retries come every
			// retryEvery).
			for end := time.Now().Add(30 * time.Second); time.Now().Before(end) && p.Stats().Reattaches < uint64(queues); {
				for q := range queues {
					p.Recv(q, &v, pool)
				}
				time.Sleep(10 * time.Millisecond)
			}
			if s := p.Stats(); s.Reattaches != uint64(queues) || !s.Up {
				t.Fatalf("no re-attach: %+v", s)
			}
			out := run(t, "ip", "-n", ns, "link", "show", "sntap0")
			if !strings.Contains(out, "mtu 1400") || !strings.Contains(out, "UP") {
				t.Fatalf("re-created device: %s", out)
			}
			if p.MAC() == oldMAC {
				t.Logf("MAC unchanged after re-creation (%x)", oldMAC)
			}
			run(t, "ip", "-n", ns, "addr", "add", "10.199.0.1/24", "dev", "sntap0")
			for q := range queues {
				if !arpWorks(t, p, q, pool) {
					t.Fatalf("queue %d: no ARP reply after re-attach", q)
				}
			}
		})
	}
}

func TestNoAllocs(t *testing.T) {
	p, _ := setup(t, Options{})
	pool := pkt.NewPool(1024)
	if !arpWorks(t, p, 0, pool) {
		t.Fatal("no ARP reply")
	}
	var tx, rx pkt.Batch
	req := arpRequest(kernelIP)
	got := 0
	allocs := testing.AllocsPerRun(100, func() {
		for range 8 {
			b := pool.Get()
			copy(b.Reset(len(req)), req)
			tx.Push(b)
		}
		p.Send(0, &tx, pool)
		got += p.Recv(0, &rx, pool)
		pool.PutBatch(&rx)
	})
	if allocs != 0 {
		t.Fatalf("Send+Recv: %v allocations per call", allocs)
	}
	if got == 0 {
		t.Fatal("received no ARP replies")
	}
	// The idle path (EAGAIN, link probe) does not allocate either.
	time.Sleep(300 * time.Millisecond)
	for p.Recv(0, &rx, pool) > 0 {
		pool.PutBatch(&rx)
	}
	if allocs := testing.AllocsPerRun(100, func() { p.Recv(0, &rx, pool) }); allocs != 0 {
		t.Fatalf("idle Recv: %v allocations per call", allocs)
	}
}

func BenchmarkSend(b *testing.B) {
	testenv.Root(b)
	testenv.TUN(b)
	testenv.Tools(b, "ip")
	var p *Port
	ns := fmt.Sprintf("sntap-%d-bench", os.Getpid())
	if out, err := exec.Command("ip", "netns", "add", ns).CombinedOutput(); err != nil {
		b.Fatalf("ip netns add %s: %v\n%s", ns, err, out)
	}
	defer exec.Command("ip", "netns", "del", ns).Run()
	if err := inNS(ns, func() (err error) { p, err = Open("sntapb", Options{Up: true}); return err }); err != nil {
		b.Fatal(err)
	}
	defer p.Close()
	pool := pkt.NewPool(1024)
	// Frames to a MAC that is not the device's: the kernel drops them
	// early, so this measures the write path.
	f := ethernet([6]byte{0x02, 0, 0, 0, 0, 9}, routerMAC, 0x0800, make([]byte, 46))
	var v pkt.Batch
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		for range pkt.BatchSize {
			buf := pool.Get()
			copy(buf.Reset(len(f)), f)
			v.Push(buf)
		}
		n += p.Send(0, &v, pool)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(max(n, 1)), "ns/pkt")
}

// TestRecvStaggeredArena receives into a pool over an arena whose frames
// start at staggered offsets (a 4096-byte-chunk UMEM layout): the frame
// read from the device is where Reset says it is, so the kernel's ARP
// reply arrives intact.
func TestRecvStaggeredArena(t *testing.T) {
	p, _ := setup(t, Options{MTU: 1500})
	a, err := pkt.NewArena(pkt.ArenaOptions{Frames: 256, Chunk: 4096, Stagger: 8})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	pool := pkt.NewPoolIn(a, 0, 256)
	if !arpWorks(t, p, 0, pool) {
		t.Fatal("no intact ARP reply from the kernel in a staggered buffer")
	}
	if pool.Free() != pool.Size() {
		t.Fatalf("pool %d/%d", pool.Free(), pool.Size())
	}
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
}
