package api

import (
	"testing"

	"github.com/softnet/softnet/dp"
)

// TestWorkerRuntimeFromScalars: every counter of GET /v1/runtime's
// workers comes from the dp scalar of its name.
func TestWorkerRuntimeFromScalars(t *testing.T) {
	var c dp.Counters
	c.Polls, c.BusyPolls, c.Batches, c.Livelocks, c.Punts, c.PuntFull, c.Spread = 1, 2, 3, 4, 5, 6, 7
	got := workerRuntime(3, &c)
	want := WorkerRuntime{ID: 3, Polls: 1, BusyPolls: 2, Batches: 3, Livelocks: 4, Punts: 5, PuntFull: 6, Spread: 7}
	if got != want {
		t.Errorf("got %+v, want %+v", got, want)
	}
}
