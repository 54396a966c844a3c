package dp_test

import (
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/softnet/softnet/dp"
	"github.com/softnet/softnet/internal/testenv"
)

// idleWorker is a worker with no ports: Run only backs off.
func idleWorker(o dp.Options) *dp.Worker {
	var cfg atomic.Pointer[dp.Config]
	return dp.NewWorker(0, &cfg, nil, nil, o)
}

func affinity(t *testing.T, tid int) []int {
	t.Helper()
	var set unix.CPUSet
	if err := unix.SchedGetaffinity(tid, &set); err != nil {
		t.Fatalf("sched_getaffinity(%d): %v", tid, err)
	}
	var cpus []int
	for c := range len(set) * 64 {
		if set.IsSet(c) {
			cpus = append(cpus, c)
		}
	}
	return cpus
}

func TestPin(t *testing.T) {
	allowed := dp.AllowedCPUs()
	if len(allowed) == 0 {
		t.Fatal("AllowedCPUs is empty")
	}
	for _, cpu := range allowed {
		w := idleWorker(dp.Options{Pin: true, CPU: cpu})
		if err := w.Start(); err != nil {
			t.Fatalf("pin to allowed CPU %d: %v", cpu, err)
		}
		tid := dp.ThreadID(w)
		if got := affinity(t, tid); !slices.Equal(got, []int{cpu}) {
			t.Fatalf("worker pinned to %d runs on thread %d with CPUs %v", cpu, tid, got)
		}
		w.Stop()
		// The thread goes back to the runtime with its old mask.
		if got := affinity(t, tid); !slices.Equal(got, allowed) {
			t.Fatalf("after Stop, thread %d has CPUs %v, want %v back", tid, got, allowed)
		}
	}

	// Unpinned: the thread keeps the process's mask.
	w := idleWorker(dp.Options{CPU: allowed[0]})
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	if got := affinity(t, dp.ThreadID(w)); !slices.Equal(got, allowed) {
		t.Fatalf("unpinned worker runs on CPUs %v, want %v", got, allowed)
	}
	w.Stop()

	// A CPU outside the set: Start says so and the worker does not run.
	bad := -1
	for c := 0; c < 1024; c++ {
		if !slices.Contains(allowed, c) {
			bad = c
			break
		}
	}
	for _, cpu := range []int{bad, -1} {
		w := idleWorker(dp.Options{Pin: true, CPU: cpu})
		err := w.Start()
		if err == nil || !strings.Contains(err.Error(), "not a CPU this process may run on") {
			t.Fatalf("pin to CPU %d: got error %v", cpu, err)
		}
		w.Stop() // returns: Run already has
		if c := w.Counters(); c.Polls != 0 {
			t.Fatalf("a worker that failed to pin polled %d times", c.Polls)
		}
	}
}

// TestRealTime: Options.RTPriority puts the worker's thread in SCHED_FIFO
// at that priority while it runs, and Stop hands the thread back to the
// runtime in its old class (the runtime must not run other goroutines on
// a real-time thread); a priority outside 1-99 is refused by Start.
func TestRealTime(t *testing.T) {
	testenv.Root(t) // CAP_SYS_NICE
	before, err := unix.SchedGetAttr(0, 0)
	if err != nil {
		t.Fatal(err)
	}
	w := idleWorker(dp.Options{RTPriority: 3})
	if err := w.Start(); err != nil {
		t.Fatalf("Start with RTPriority 3: %v", err)
	}
	tid := dp.ThreadID(w)
	a, err := unix.SchedGetAttr(tid, 0)
	if err != nil {
		t.Fatal(err)
	}
	if a.Policy != unix.SCHED_FIFO || a.Priority != 3 {
		t.Fatalf("worker thread %d: policy %d priority %d, want SCHED_FIFO (%d) priority 3", tid, a.Policy, a.Priority, unix.SCHED_FIFO)
	}
	w.Stop()
	// The thread went back to the runtime (or ended): not real-time.
	if a, err := unix.SchedGetAttr(tid, 0); err == nil && (a.Policy != before.Policy || a.Priority != before.Priority) {
		t.Fatalf("after Stop, thread %d: policy %d priority %d, want %d and %d back", tid, a.Policy, a.Priority, before.Policy, before.Priority)
	}

	for _, prio := range []int{-1, 100} {
		w := idleWorker(dp.Options{RTPriority: prio})
		err := w.Start()
		w.Stop()
		if err == nil || !strings.Contains(err.Error(), "give 1 to 99") {
			t.Fatalf("RTPriority %d: Start said %v, want a refusal naming 1 to 99", prio, err)
		}
	}
}

// threadsOf lists the process's threads.
func threadsOf(t *testing.T) []int {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/task")
	if err != nil {
		t.Fatal(err)
	}
	var tids []int
	for _, e := range ents {
		if tid, err := strconv.Atoi(e.Name()); err == nil {
			tids = append(tids, tid)
		}
	}
	return tids
}

// TestKeepOnCPUs: with a worker pinned to the last CPU the process may
// use, KeepOnCPUs puts every other thread on the other CPUs, the worker's
// thread staying on its own; and threads the runtime starts afterwards
// (goroutines blocked in system calls on locked threads: the runtime
// starts new ones for the rest) are on the other CPUs too.
func TestKeepOnCPUs(t *testing.T) {
	allowed := dp.AllowedCPUs()
	testenv.Need(t, len(allowed) >= 2, "the process may use one CPU: keeping the control plane off a worker's needs two")
	wcpu, ctl := allowed[len(allowed)-1], allowed[:len(allowed)-1]
	w := idleWorker(dp.Options{Pin: true, CPU: wcpu})
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	defer dp.ReleaseCPUs() // the other tests get the process's mask back
	n, err := dp.KeepOnCPUs(ctl, []int{w.ThreadID()})
	if err != nil {
		t.Fatal(err)
	}
	if n == 0 {
		t.Fatal("KeepOnCPUs moved no thread")
	}
	check := func(when string) {
		t.Helper()
		for _, tid := range threadsOf(t) {
			want := ctl
			if tid == w.ThreadID() {
				want = []int{wcpu}
			}
			if got := dp.ThreadCPUs(tid); got != nil && !slices.Equal(got, want) {
				t.Errorf("%s: thread %d (worker %d) has CPUs %v, want %v", when, tid, w.ThreadID(), got, want)
			}
		}
	}
	check("after KeepOnCPUs")
	before := len(threadsOf(t))
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			for {
				select {
				case <-stop:
					return
				default:
				}
				ts := unix.Timespec{Nsec: 2e6}
				unix.Nanosleep(&ts, nil)
			}
		}()
	}
	for end := time.Now().Add(10 * time.Second); len(threadsOf(t)) < before+4 && time.Now().Before(end); {
		time.Sleep(5 * time.Millisecond)
	}
	if got := len(threadsOf(t)); got < before+4 {
		t.Fatalf("%d threads, %d before: the runtime started no new ones", got, before)
	}
	check("threads started afterwards")
	close(stop)
	wg.Wait()
}

// TestKeepOnCPUsStop: a worker that stops while KeepOnCPUs is in force
// gives its thread back to the control plane's CPUs (it got the whole
// process's mask back, and the runtime then ran control-plane goroutines
// on it there); ReleaseCPUs gives every thread the process's mask again,
// so a router started afterwards in the process finds all its CPUs.
func TestKeepOnCPUsStop(t *testing.T) {
	allowed := dp.AllowedCPUs()
	testenv.Need(t, len(allowed) >= 2, "the process may use one CPU: keeping the control plane off a worker's needs two")
	wcpu, ctl := allowed[len(allowed)-1], allowed[:len(allowed)-1]
	w := idleWorker(dp.Options{Pin: true, CPU: wcpu})
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	tid := w.ThreadID()
	if _, err := dp.KeepOnCPUs(ctl, []int{tid}); err != nil {
		w.Stop()
		t.Fatal(err)
	}
	w.Stop()
	if got := dp.ThreadCPUs(tid); got != nil && !slices.Equal(got, ctl) {
		t.Errorf("the stopped worker's thread %d has CPUs %v, want the control plane's %v", tid, got, ctl)
	}
	if err := dp.ReleaseCPUs(); err != nil {
		t.Fatal(err)
	}
	for _, tid := range threadsOf(t) {
		if got := dp.ThreadCPUs(tid); got != nil && !slices.Equal(got, allowed) {
			t.Errorf("after ReleaseCPUs: thread %d has CPUs %v, want the process's %v", tid, got, allowed)
		}
	}
	if got := dp.AllowedCPUs(); !slices.Equal(got, allowed) {
		t.Errorf("AllowedCPUs after ReleaseCPUs: %v, want %v", got, allowed)
	}
	if err := dp.ReleaseCPUs(); err != nil {
		t.Errorf("ReleaseCPUs again: %v", err)
	}
}

// TestKeepOnCPUsPasses: when every pass over the threads finds new ones
// (here: one pass allowed, which always finds them), KeepOnCPUs says so
// instead of returning nil.
func TestKeepOnCPUsPasses(t *testing.T) {
	allowed := dp.AllowedCPUs()
	testenv.Need(t, len(allowed) >= 2, "the process may use one CPU")
	defer dp.SetKeepPasses(dp.SetKeepPasses(1))
	defer dp.ReleaseCPUs()
	n, err := dp.KeepOnCPUs(allowed[:1], nil)
	if err == nil || !strings.Contains(err.Error(), "1 passes over the process's threads each found new ones") || n == 0 {
		t.Errorf("KeepOnCPUs with one pass: %d moved, %v; want an error saying new threads kept appearing", n, err)
	}
}
