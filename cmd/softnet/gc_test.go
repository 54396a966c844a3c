package main

import (
	"context"
	"math"
	"os"
	"path/filepath"
	"runtime/debug"
	"testing"
)

// TestRunRaisesGCPercent (issue 16, the soak's lost packets): softnet run
// sets the collector's target to gcPercent when GOGC is not given, so a
// full-table reload's garbage makes a fraction of the collections (each
// stops the world twice, and a worker returning from poll(2) waits for
// the world to start again); GET /v1/runtime shows it, with the poll
// gaps and the runtime's latencies.
func TestRunRaisesGCPercent(t *testing.T) {
	t.Setenv("GOGC", "")
	t.Setenv("GOMEMLIMIT", "")
	old := debug.SetGCPercent(100)
	defer debug.SetGCPercent(old)
	oldLimit := debug.SetMemoryLimit(math.MaxInt64)
	defer debug.SetMemoryLimit(oldLimit)
	ctx := context.Background()
	c, _, _ := startRouter(t, "../../examples/two-port-mem.yaml")
	rt, err := c.Runtime(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if rt.Go.GCPercent != gcPercent {
		t.Errorf("gc_percent %d, want %d (softnet run's target when GOGC is not set)", rt.Go.GCPercent, gcPercent)
	}
	// The soft memory limit: half of what the machine (or the cgroup)
	// has, so the heap GOGC 400 allows cannot take the whole box.
	if want := defaultMemLimit(); want <= 0 || rt.Go.MemoryLimitBytes != uint64(want) {
		t.Errorf("memory_limit_bytes %d, want %d (half of MemTotal %d or the cgroup's %d)", rt.Go.MemoryLimitBytes, want, memTotal(), cgroupMemMax())
	}
	if rt.Go.GOMAXPROCS < 1 || len(rt.Workers) != 1 {
		t.Errorf("go %+v, workers %+v", rt.Go, rt.Workers)
	}
}

// TestTuneGCKeepsOperatorsLimit: with GOGC and GOMEMLIMIT in the
// environment, tuneGC leaves the collector as the operator set it.
func TestTuneGCKeepsOperatorsLimit(t *testing.T) {
	t.Setenv("GOGC", "150")
	t.Setenv("GOMEMLIMIT", "3GiB")
	oldPct := debug.SetGCPercent(150)
	defer debug.SetGCPercent(oldPct)
	oldLimit := debug.SetMemoryLimit(3 << 30)
	defer debug.SetMemoryLimit(oldLimit)
	tuneGC()
	if got := debug.SetGCPercent(150); got != 150 {
		t.Errorf("GOGC %d after tuneGC, want the operator's 150", got)
	}
	if got := debug.SetMemoryLimit(-1); got != 3<<30 {
		t.Errorf("memory limit %d after tuneGC, want the operator's %d", got, 3<<30)
	}
	t.Setenv("GOMEMLIMIT", "")
	tuneGC()
	if got, want := debug.SetMemoryLimit(-1), defaultMemLimit(); got != want || want <= 0 {
		t.Errorf("memory limit %d after tuneGC without GOMEMLIMIT, want %d", got, want)
	}
	t.Logf("default memory limit here: %d MiB (MemTotal %d MiB, cgroup memory.max %d)", defaultMemLimit()>>20, memTotal()>>20, cgroupMemMax())
}

// TestLowestMemMax: the limit is the lowest memory.max on the way from
// the process's cgroup up to the root, a parent slice's included; "max"
// and unreadable levels do not count.
func TestLowestMemMax(t *testing.T) {
	root := t.TempDir()
	set := func(dir, v string) {
		t.Helper()
		if err := os.MkdirAll(filepath.Join(root, dir), 0o755); err != nil {
			t.Fatal(err)
		}
		if v != "" {
			if err := os.WriteFile(filepath.Join(root, dir, "memory.max"), []byte(v+"\n"), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	set("system.slice", "2147483648")
	set("system.slice/softnet.service", "max")
	set("system.slice/softnet.service/sub", "")
	if got := lowestMemMax(root, "/system.slice/softnet.service/sub"); got != 2<<30 {
		t.Errorf("lowestMemMax under a 2 GiB slice: %d, want %d", got, 2<<30)
	}
	set("system.slice/softnet.service", "1073741824")
	if got := lowestMemMax(root, "/system.slice/softnet.service/sub"); got != 1<<30 {
		t.Errorf("lowestMemMax with the service at 1 GiB: %d, want %d", got, 1<<30)
	}
	if got := lowestMemMax(root, "/user.slice"); got != 0 {
		t.Errorf("lowestMemMax with no limit: %d, want 0", got)
	}
}
