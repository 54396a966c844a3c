package dp_test

import (
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/softnet/softnet/dp"
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
