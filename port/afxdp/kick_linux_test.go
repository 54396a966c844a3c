package afxdp

import (
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/softnet/softnet/pkt"
)

// TestSendKeepsP: Send's kick (the sendto that makes the kernel transmit
// the TX ring, one per batch in copy mode, 50-100 µs for 256 frames on
// veth) does not hand the worker's P to the Go scheduler. Through the
// runtime's Syscall, a syscall longer than 20 µs in a process with no
// idle P (the veth bench pins softnet to one CPU, so GOMAXPROCS is 1)
// had sysmon retake the P at every batch: sysmon woke every 20 µs (it
// backs off to 10 ms only while it retakes nothing), woke a thread to
// take the P, and the worker got it back after the sendto, all on the
// worker's CPU (the veth bench's worker CPU profile: sysmon, futex
// wake-ups, exitsyscall). Here a locked goroutine sends batches with
// GOMAXPROCS 1 and the test counts the voluntary context switches of
// the process's other threads meanwhile (sysmon's sleeps, the threads
// woken to take the P).
func TestSendKeepsP(t *testing.T) {
	newLab(t) // the test's goroutine stays locked to its thread
	a := newArena(t, 4096)
	pool := pkt.NewPoolIn(a, 0, a.Len())
	p := openPort(t, a, Options{})
	if p.ZeroCopy() {
		t.Skip("zero-copy: sendto only wakes the driver")
	}
	dst := [6]byte{0x02, 0, 0, 0, 0xbb, 0xbb}
	f := frame(dst, 1, 64)
	var v pkt.Batch
	send := func(batches int) {
		for range batches {
			for range pkt.BatchSize {
				b := pool.Get()
				copy(b.Reset(64), f)
				v.Push(b)
			}
			p.Send(0, &v, pool)
		}
	}
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	send(50) // warm up: the kernel's and the runtime's first-time work
	const batches = 400
	k0 := p.Stats().TxKicks
	c0 := switches(t)
	t0 := time.Now()
	send(batches)
	el := time.Since(t0)
	c1 := switches(t)
	kicks := p.Stats().TxKicks - k0
	if kicks < batches {
		t.Fatalf("%d sendto calls for %d batches: the kicks did not happen", kicks, batches)
	}
	me := unix.Gettid()
	others := 0
	for tid, n := range c1 {
		if tid != me {
			others += n - c0[tid]
		}
	}
	t.Logf("%d batches (%d sendto) in %v: %d voluntary context switches in the process's other threads", batches, kicks, el, others)
	if others > int(kicks)/4 {
		t.Errorf("the process's other threads switched %d times during %d sendto calls (%v): the kick hands the worker's P to the scheduler", others, kicks, el)
	}
}

// switches is each of the process's threads' voluntary_ctxt_switches, by
// thread id.
func switches(t *testing.T) map[int]int {
	t.Helper()
	ms, err := filepath.Glob("/proc/self/task/*/status")
	if err != nil {
		t.Fatal(err)
	}
	r := map[int]int{}
	for _, m := range ms {
		b, err := os.ReadFile(m)
		if err != nil {
			continue // a thread that ended
		}
		tid, _ := strconv.Atoi(filepath.Base(filepath.Dir(m)))
		for _, ln := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(ln, "voluntary_ctxt_switches:"); ok {
				r[tid], _ = strconv.Atoi(strings.TrimSpace(v))
			}
		}
	}
	return r
}
