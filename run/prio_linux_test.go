package run

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/softnet/softnet/internal/procstat"
)

// threadNices returns the nice value of each of the process's threads
// (/proc/self/task/*/stat, field 19), by thread id.
func threadNices(t *testing.T) map[string]int {
	t.Helper()
	tids, err := procstat.Tasks(0)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]int{}
	for _, tid := range tids {
		if st, err := procstat.Thread(0, tid); err == nil { // else ended meanwhile
			out[strconv.Itoa(tid)] = st.Nice
		}
	}
	return out
}

// TestReloadRunsBelowWorkers (issue 16, the soak's losses around
// reloads): a reload's config check, seconds of CPU to parse a changed
// full table, runs on a thread at nice reloadNice, so that on a small
// machine the scheduler gives the workers' threads (nice 0) the CPU
// first; the worker's thread stays at 0, and no thread is left at the
// lowered priority once the reload is done (its thread ends with it).
func TestReloadRunsBelowWorkers(t *testing.T) {
	const n = 200000
	dir := t.TempDir()
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, "%d.%d.%d.0/24\n", 100+i>>16, i>>8&255, i&255)
	}
	if err := os.WriteFile(filepath.Join(dir, "table.txt"), []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	src := strings.Replace(fmt.Sprintf(twoPort, 1, "mem", "mem"), "routes:\n  - {prefix: 198.18.0.0/15, via: 10.0.2.2}\n",
		"route_files:\n  - {path: table.txt, via: 10.0.2.2}\n", 1)
	r, err := Start(writeConfig(t, dir, src), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Stop()
	if nices := threadNices(t); len(nices) == 0 {
		t.Fatal("no threads listed in /proc/self/task")
	}
	done := make(chan error, 1)
	go func() { _, err := r.Reload(""); done <- err }()
	low, most := 0, 0 // samples with one thread at reloadNice; most at once
	var other []string
	for running := true; running; {
		select {
		case err := <-done:
			if err != nil {
				t.Fatal(err)
			}
			running = false
		default:
		}
		k := 0
		for tid, nice := range threadNices(t) {
			switch {
			case nice == reloadNice:
				k++
			case nice == 0:
			default:
				other = append(other, fmt.Sprintf("thread %s at nice %d", tid, nice))
			}
		}
		if k > 0 {
			low++
		}
		most = max(most, k)
		time.Sleep(time.Millisecond)
	}
	if low == 0 {
		t.Errorf("no thread at nice %d while the reload of %d routes ran: it competed with the worker at the worker's priority", reloadNice, n)
	}
	if most > 1 {
		t.Errorf("%d threads at nice %d at once, want the reload's alone (the worker's stays at 0)", most, reloadNice)
	}
	if len(other) > 0 {
		t.Errorf("threads at other priorities during the reload: %v", other[:min(len(other), 5)])
	}
	var left []string
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		left = left[:0]
		for tid, nice := range threadNices(t) {
			if nice == reloadNice {
				left = append(left, tid)
			}
		}
		if len(left) == 0 || time.Now().After(deadline) {
			break
		}
	}
	if len(left) > 0 {
		t.Errorf("threads %v still at nice %d after the reload: its thread should have ended with it", left, reloadNice)
	}
}
