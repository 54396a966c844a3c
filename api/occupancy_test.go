package api_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/softnet/softnet/api"
	"github.com/softnet/softnet/fib"
)

// TestStatusOccupancy: GET /v1/status carries the occupancy figures a
// soak watches, and they move with what the router holds: a static
// neighbour takes an adjacency and deleting it gives it back; the
// buffers are the workers' pools, a few or none in use when idle; the
// process figures are there.
func TestStatusOccupancy(t *testing.T) {
	_, _, c, _ := start(t, configText("", "", 1000))
	ctx := context.Background()
	st0, err := c.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st0.Adjacencies < 2 || st0.AdjacenciesMax != fib.MaxNextHop {
		t.Errorf("adjacencies %d of %d, want at least the local and drop ones of %d", st0.Adjacencies, st0.AdjacenciesMax, fib.MaxNextHop)
	}
	if st0.Buffers <= 0 || st0.BuffersInUse < 0 || st0.BuffersInUse > st0.Buffers/2 {
		t.Errorf("buffers %d in use of %d, want a pool with most of it free when idle", st0.BuffersInUse, st0.Buffers)
	}
	if st0.Goroutines <= 0 || st0.HeapLiveBytes == 0 || st0.OpenFDs <= 0 {
		t.Errorf("goroutines %d, heap %d, fds %d: want all positive", st0.Goroutines, st0.HeapLiveBytes, st0.OpenFDs)
	}
	if err := c.AddNeighbor(ctx, api.NeighborRequest{Interface: "wan0", Address: "10.0.2.77", MAC: "02:bb:00:00:00:77"}); err != nil {
		t.Fatal(err)
	}
	st1, _ := c.Status(ctx)
	if st1.Adjacencies != st0.Adjacencies+1 {
		t.Errorf("after neighbor add: %d adjacencies, want %d", st1.Adjacencies, st0.Adjacencies+1)
	}
	if err := c.DeleteNeighbor(ctx, "wan0", "10.0.2.77"); err != nil {
		t.Fatal(err)
	}
	st2, _ := c.Status(ctx)
	if st2.Adjacencies != st0.Adjacencies {
		t.Errorf("after neighbor del: %d adjacencies, want %d again", st2.Adjacencies, st0.Adjacencies)
	}
	m, err := c.Metrics(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{fmt.Sprintf("\nsoftnet_adjacencies %d\n", st2.Adjacencies), "\nsoftnet_buffers_in_use "} {
		if !strings.Contains(string(m), want) {
			t.Errorf("metrics: no %q", want)
		}
	}
}

// TestStatusGC: ?gc=1 answers the status after a collection; another
// value of gc is refused with what to give.
func TestStatusGC(t *testing.T) {
	_, _, c, _ := start(t, configText("", "", 1000))
	ctx := context.Background()
	if st, err := c.StatusGC(ctx); err != nil || st.HeapLiveBytes == 0 {
		t.Errorf("status?gc=1: %+v %v", st, err)
	}
	var ae *api.APIError
	if err := c.Do(ctx, "GET", "/v1/status?gc=yes", nil, nil); !errors.As(err, &ae) || ae.Status != 400 || !strings.Contains(err.Error(), "give gc=1") {
		t.Errorf("status?gc=yes: %v, want 400 naming gc=1", err)
	}
}
