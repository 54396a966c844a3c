package run

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/softnet/softnet/internal/testenv"
)

// cancelAfter is a context whose Err turns to context.Canceled after
// left calls: it interrupts StartContext at each of its checks in turn,
// deterministically.
type cancelAfter struct {
	context.Context
	left  atomic.Int64
	calls atomic.Int64
}

func (c *cancelAfter) Err() error {
	c.calls.Add(1)
	if c.left.Add(-1) < 0 {
		return context.Canceled
	}
	return nil
}

// startCtxIn is startIn with StartContext(ctx).
func startCtxIn(t *testing.T, ns string, ctx context.Context, file string) (*Router, error) {
	t.Helper()
	type result struct {
		r   *Router
		err error
	}
	ch := make(chan result)
	go func() {
		runtime.LockOSThread() // retired with the goroutine: no other runs in ns
		f, err := os.Open(filepath.Join("/run/netns", ns))
		if err == nil {
			err = unix.Setns(int(f.Fd()), unix.CLONE_NEWNET)
			f.Close()
		}
		if err != nil {
			ch <- result{nil, err}
			return
		}
		cfg := writeConfig(t, filepath.Dir(file), mustRead(t, file))
		rt, err := StartContext(ctx, cfg, Options{})
		ch <- result{rt, err}
	}()
	res := <-ch
	return res.r, res.err
}

func mustRead(t *testing.T, file string) string {
	b, err := os.ReadFile(file)
	if err != nil {
		t.Error(err)
	}
	return string(b)
}

// TestStartContextInterrupted: a context that ends during start-up (a
// signal to softnet run while a route file loads) makes StartContext give
// up at each of its checks, between interfaces, between chunks of a route
// file's prefixes, around the FIB's publication, with an error wrapping
// context.Canceled and nothing left behind: the device's port and lock
// are released, so a router starts on the same device right after.
func TestStartContextInterrupted(t *testing.T) {
	testenv.Root(t)
	testenv.Tools(t, "ip")
	ns := vethNS(t, "snctx", "cx0", "cx1")
	dir := t.TempDir()
	var table strings.Builder
	const prefixes = 3*routeChunk + 100 // four chunks
	for i := range prefixes {
		fmt.Fprintf(&table, "20.%d.%d.0/24\n", i>>8, i&255)
	}
	if err := os.WriteFile(filepath.Join(dir, "table.txt"), []byte(table.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	src := `workers: 1
interfaces:
  - name: lan0
    backend: afpacket
    device: cx0
    addresses: [10.0.1.1/24]
  - name: wan0
    backend: mem
    addresses: [10.0.2.1/24]
route_files:
  - {path: table.txt, via: 10.0.2.2}
`
	file := filepath.Join(dir, "r.yaml")
	if err := os.WriteFile(file, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	// How many checks a start-up makes: at least one per interface and
	// per chunk.
	all := &cancelAfter{Context: context.Background()}
	all.left.Store(1 << 30)
	r, err := startCtxIn(t, ns, all, file)
	if err != nil {
		t.Fatal(err)
	}
	if r.Routes() != prefixes {
		t.Errorf("routes %d, want %d", r.Routes(), prefixes)
	}
	if err := r.Stop(); err != nil {
		t.Fatal(err)
	}
	checks := all.calls.Load()
	if checks < 2+4 {
		t.Fatalf("StartContext looked at its context %d times: want one per interface and per chunk of routes at least", checks)
	}
	for k := range checks {
		ctx := &cancelAfter{Context: context.Background()}
		ctx.left.Store(k)
		r, err := startCtxIn(t, ns, ctx, file)
		if err == nil {
			r.Stop()
			t.Fatalf("cancelled at check %d of %d: started anyway", k, checks)
		}
		if !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), "start-up interrupted") {
			t.Fatalf("cancelled at check %d: %v, want start-up interrupted: context canceled", k, err)
		}
		// Nothing left behind: the device is free again.
		r, err = startCtxIn(t, ns, context.Background(), file)
		if err != nil {
			t.Fatalf("after a start-up cancelled at check %d of %d: %v", k, checks, err)
		}
		if err := r.Stop(); err != nil {
			t.Fatal(err)
		}
	}
}
