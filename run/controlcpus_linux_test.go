package run

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/softnet/softnet/dp"
	"github.com/softnet/softnet/internal/testenv"
	"github.com/softnet/softnet/port/mem"
)

// TestControlCPUs: with ControlCPUs 1 the worker is pinned to the second
// CPU the process may use and every other thread (the control plane, the
// Go runtime's) is on the first, and the router forwards; asking for as
// many control CPUs as the process has is refused, saying why.
func TestControlCPUs(t *testing.T) {
	allowed := dp.AllowedCPUs()
	testenv.Need(t, len(allowed) >= 2, "the process may use one CPU: ControlCPUs needs two")
	defer dp.ReleaseCPUs() // the other tests get the process's mask back, whatever happens
	cfg := writeConfig(t, t.TempDir(), fmt.Sprintf(twoPort, 1, "mem", "mem"))
	if _, err := Start(cfg, Options{ControlCPUs: len(allowed)}); err == nil || !strings.Contains(err.Error(), "leaves none for the workers") {
		t.Fatalf("ControlCPUs %d of %d CPUs: %v, want refused", len(allowed), len(allowed), err)
	}
	r, err := Start(cfg, Options{ControlCPUs: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Stop()
	wt := r.workers[0].ThreadID()
	ents, err := os.ReadDir("/proc/self/task")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		tid, _ := strconv.Atoi(e.Name())
		want := allowed[:1]
		if tid == wt {
			want = allowed[1:2]
		}
		if got := dp.ThreadCPUs(tid); got != nil && !slices.Equal(got, want) {
			t.Errorf("thread %d (the worker's: %d) has CPUs %v, want %v", tid, wt, got, want)
		}
	}
	in := udp(10)
	r.Port("lan0").(*mem.Queue).Push(in...)
	var out [][]byte
	waitFor(t, "10 frames out", func() bool { out = append(out, r.Port("wan0").(*mem.Queue).Take()...); return len(out) >= 10 })
	checkForwarded(t, in, out)

	// Stop ends the restriction: every thread may use every CPU again,
	// and a second router in the process starts as the first did (it
	// found one CPU, the control plane's, and refused).
	if err := r.Stop(); err != nil {
		t.Fatal(err)
	}
	for _, tid := range threads(t) {
		if got := dp.ThreadCPUs(tid); got != nil && !slices.Equal(got, allowed) {
			t.Errorf("after Stop: thread %d has CPUs %v, want the process's %v", tid, got, allowed)
		}
	}
	r2, err := Start(cfg, Options{ControlCPUs: 1})
	if err != nil {
		t.Fatalf("a second router with ControlCPUs 1 in the process: %v", err)
	}
	if got := dp.ThreadCPUs(r2.workers[0].ThreadID()); !slices.Equal(got, allowed[1:2]) {
		t.Errorf("the second router's worker has CPUs %v, want %v", got, allowed[1:2])
	}
	if err := r2.Stop(); err != nil {
		t.Fatal(err)
	}
}

func threads(t *testing.T) []int {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/task")
	if err != nil {
		t.Fatal(err)
	}
	var out []int
	for _, e := range ents {
		if tid, err := strconv.Atoi(e.Name()); err == nil {
			out = append(out, tid)
		}
	}
	return out
}

// TestControlCPUsFails: when the threads cannot be kept on the control
// CPUs, Start returned the router all the same and the error went to the
// Logger, or nowhere without one. Now Start fails, saying why, with nothing
// left running and every thread's CPUs as before.
func TestControlCPUsFails(t *testing.T) {
	allowed := dp.AllowedCPUs()
	testenv.Need(t, len(allowed) >= 2, "the process may use one CPU: ControlCPUs needs two")
	defer dp.ReleaseCPUs()
	keep := keepOnCPUs
	defer func() { keepOnCPUs = keep }()
	keepOnCPUs = func(cpus, tids []int) (int, error) {
		n, _ := keep(cpus, tids) // half done, then the error
		return n, errors.New("10 passes over the process's threads each found new ones")
	}
	cfg := writeConfig(t, t.TempDir(), fmt.Sprintf(twoPort, 1, "mem", "mem"))
	r, err := Start(cfg, Options{ControlCPUs: 1}) // no Logger
	if err == nil {
		r.Stop()
		t.Fatal("Start succeeded: the control CPUs' error was dropped")
	}
	if !strings.Contains(err.Error(), "control CPUs") || !strings.Contains(err.Error(), "each found new ones") {
		t.Errorf("Start: %v", err)
	}
	for _, tid := range threads(t) {
		if got := dp.ThreadCPUs(tid); got != nil && !slices.Equal(got, allowed) {
			t.Errorf("after the failed Start: thread %d has CPUs %v, want the process's %v", tid, got, allowed)
		}
	}
	keepOnCPUs = keep
	r, err = Start(cfg, Options{ControlCPUs: 1})
	if err != nil {
		t.Fatalf("Start after a failed one: %v", err)
	}
	if err := r.Stop(); err != nil {
		t.Fatal(err)
	}
}
