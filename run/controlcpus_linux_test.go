package run

import (
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
	defer dp.KeepOnCPUs(allowed, nil) // the other tests get the process's mask back
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
}
