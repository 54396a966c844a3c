package main

import (
	"bytes"
	"context"
	"log/slog"
	"path/filepath"
	"runtime/debug"
	"testing"
	"time"

	"github.com/softnet/softnet/api"
	"github.com/softnet/softnet/run"
)

// TestRunRaisesGCPercent (issue 16, the soak's lost packets): softnet run
// sets the collector's target to gcPercent when GOGC is not given, so a
// full-table reload's garbage makes a fraction of the collections (each
// stops the world twice, and a worker returning from poll(2) waits for
// the world to start again); GET /v1/runtime shows it, with the poll
// gaps and the runtime's latencies.
func TestRunRaisesGCPercent(t *testing.T) {
	t.Setenv("GOGC", "")
	old := debug.SetGCPercent(100)
	defer debug.SetGCPercent(old)
	sock := filepath.Join(t.TempDir(), "softnet.sock")
	ctx, cancel := context.WithCancel(context.Background())
	var stdout, stderr bytes.Buffer
	done := make(chan error)
	go func() {
		done <- runRouter(ctx, slog.New(slog.NewTextHandler(&stderr, nil)), &stdout, &stderr, "../../examples/two-port-mem.yaml", 0, run.Options{}, serveOpts{socketSet: true, socket: sock})
	}()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	}()
	c := api.NewClient(sock)
	var rt api.Runtime
	var err error
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		if rt, err = c.Runtime(ctx); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("router not up: %v\n%s", err, stderr.String())
		}
	}
	if rt.Go.GCPercent != gcPercent {
		t.Errorf("gc_percent %d, want %d (softnet run's target when GOGC is not set)", rt.Go.GCPercent, gcPercent)
	}
	if rt.Go.GOMAXPROCS < 1 || len(rt.Workers) != 1 {
		t.Errorf("go %+v, workers %+v", rt.Go, rt.Workers)
	}
}
