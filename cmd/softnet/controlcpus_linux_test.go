package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/softnet/softnet/dp"
	"github.com/softnet/softnet/internal/testenv"
)

// TestRunControlCPUs: softnet run --control-cpus 1 (the real binary) pins
// its one worker to the second CPU it may use and keeps every other
// thread (the Go runtime's, the API's) on the first, as the flag's help
// says.
func TestRunControlCPUs(t *testing.T) {
	cpus := dp.AllowedCPUs()
	if len(cpus) < 2 {
		if testenv.CI() {
			t.Fatalf("--control-cpus needs 2 CPUs; this process may use %v", cpus)
		}
		t.Skipf("--control-cpus needs 2 CPUs; this process may use %v", cpus)
	}
	r := startRealRouter(t, "--control-cpus 1")
	ctl, worker := fmt.Sprint(cpus[0]), fmt.Sprint(cpus[1])
	tasks, err := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/status", r.cmd.Process.Pid))
	if err != nil || len(tasks) < 2 {
		t.Fatalf("threads of softnet run: %v %v", tasks, err)
	}
	onWorker, onCtl := 0, 0
	for _, f := range tasks {
		b, err := os.ReadFile(f)
		if err != nil {
			continue // the thread ended
		}
		var allowed string
		for _, l := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(l, "Cpus_allowed_list:"); ok {
				allowed = strings.TrimSpace(v)
			}
		}
		switch allowed {
		case worker:
			onWorker++
		case ctl:
			onCtl++
		default:
			t.Errorf("%s: Cpus_allowed_list %q, want %s (the worker) or %s (the control plane)", f, allowed, worker, ctl)
		}
	}
	if onWorker != 1 || onCtl == 0 {
		t.Errorf("%d threads on CPU %s (want the worker alone), %d on CPU %s (want the rest)", onWorker, worker, onCtl, ctl)
	}
	r.alive(t, "--control-cpus 1")
}
