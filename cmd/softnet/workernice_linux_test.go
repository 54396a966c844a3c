package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/softnet/softnet/dp"
	"github.com/softnet/softnet/internal/procstat"
	"github.com/softnet/softnet/internal/testenv"
	"github.com/softnet/softnet/run"
)

// softnetThread is one thread of a softnet run process: its nice value
// (/proc/PID/task/TID/stat, field 19) and the CPUs it may use.
type softnetThread struct {
	tid     string
	nice    int
	allowed string
}

// softnetThreads lists the threads of process pid.
func softnetThreads(t *testing.T, pid int) []softnetThread {
	t.Helper()
	dirs, err := filepath.Glob(fmt.Sprintf("/proc/%d/task/*", pid))
	if err != nil || len(dirs) < 2 {
		t.Fatalf("threads of softnet run: %v %v", dirs, err)
	}
	var out []softnetThread
	for _, d := range dirs {
		tid, err := strconv.Atoi(filepath.Base(d))
		if err != nil {
			continue
		}
		st, err1 := procstat.Thread(pid, tid)
		status, err2 := os.ReadFile(filepath.Join(d, "status"))
		if err1 != nil || err2 != nil {
			continue // the thread ended
		}
		th := softnetThread{tid: filepath.Base(d), nice: st.Nice}
		for _, l := range strings.Split(string(status), "\n") {
			if v, ok := strings.CutPrefix(l, "Cpus_allowed_list:"); ok {
				th.allowed = strings.TrimSpace(v)
			}
		}
		out = append(out, th)
	}
	return out
}

// TestRunWorkerNice: softnet run (the real binary) puts its one worker's
// thread at nice run.DefaultWorkerNice (-10) unless told otherwise, every
// other thread staying at 0, so that the kernel gives the worker its CPU
// before the control plane; --worker-nice 0 leaves every thread at 0, and
// --worker-nice 5 puts the worker at 5. Without root the default gives
// way: every thread at 0 and a warning in the log.
func TestRunWorkerNice(t *testing.T) {
	root := os.Geteuid() == 0
	for _, tc := range []struct {
		flags []string
		want  int // the worker's nice
	}{
		{nil, run.DefaultWorkerNice},
		{[]string{"--worker-nice", "0"}, 0},
		{[]string{"--worker-nice", "5"}, 5},
	} {
		want := tc.want
		if !root && want < 0 {
			want = 0
		}
		r := startRealRouter(t, tc.flags...)
		var at []string
		for _, th := range softnetThreads(t, r.cmd.Process.Pid) {
			switch {
			case th.nice == want && want != 0:
				at = append(at, th.tid)
			case th.nice != 0:
				t.Errorf("softnet run %v: thread %s at nice %d, want 0 (only the worker at %d)", tc.flags, th.tid, th.nice, want)
			}
		}
		if want != 0 && len(at) != 1 {
			t.Errorf("softnet run %v: threads %v at nice %d, want the worker's alone", tc.flags, at, want)
		}
		if !root && tc.want < 0 && !strings.Contains(r.stderr.String(), "the workers run at nice 0") {
			t.Errorf("softnet run %v as a user: no warning that the workers run at nice 0; stderr:\n%s", tc.flags, r.stderr.String())
		}
		r.alive(t, fmt.Sprint("--worker-nice ", tc.flags))
	}
}

// TestRunWorkerCPUs: softnet run --worker-cpus N (the real binary) pins
// its one worker to CPU N alone, at the workers' nice value, and leaves
// every other thread on every CPU the process may use, at nice 0.
func TestRunWorkerCPUs(t *testing.T) {
	cpus := dp.AllowedCPUs()
	if len(cpus) < 2 {
		if testenv.CI() {
			t.Fatalf("--worker-cpus needs 2 CPUs to tell the worker's from the rest; this process may use %v", cpus)
		}
		t.Skipf("--worker-cpus needs 2 CPUs; this process may use %v", cpus)
	}
	worker := fmt.Sprint(cpus[1])
	all := dp.ThreadCPUs(0)
	allList := dp.CPUList(all)
	r := startRealRouter(t, "--worker-cpus", worker)
	pinned := 0
	for _, th := range softnetThreads(t, r.cmd.Process.Pid) {
		switch th.allowed {
		case worker:
			pinned++
			if want := run.DefaultWorkerNice; os.Geteuid() == 0 && th.nice != want {
				t.Errorf("the worker's thread %s at nice %d, want %d", th.tid, th.nice, want)
			}
		case allList:
			if th.nice != 0 {
				t.Errorf("thread %s (not the worker) at nice %d, want 0", th.tid, th.nice)
			}
		default:
			t.Errorf("thread %s: Cpus_allowed_list %q, want %s (the worker) or %s (every other thread)", th.tid, th.allowed, worker, allList)
		}
	}
	if pinned != 1 {
		t.Errorf("%d threads on CPU %s alone, want the worker's", pinned, worker)
	}
	r.alive(t, "--worker-cpus "+worker)
}
