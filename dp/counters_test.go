package dp_test

import (
	"reflect"
	"sync/atomic"
	"testing"

	"github.com/softnet/softnet/dp"
)

// TestScalars: every scalar counter is named once, reads as its field and
// by index, and is published and summed (no hand-kept list to forget one
// in).
func TestScalars(t *testing.T) {
	if dp.NumScalars != dp.Scalar(reflect.TypeFor[dp.Scalars]().NumField()) {
		t.Fatalf("NumScalars %d, Scalars has %d fields", dp.NumScalars, reflect.TypeFor[dp.Scalars]().NumField())
	}
	names := map[string]bool{}
	var cfg atomic.Pointer[dp.Config]
	cfg.Store(&dp.Config{})
	w1 := dp.NewWorker(0, &cfg, nil, nil, dp.Options{PoolSize: 8})
	w2 := dp.NewWorker(1, &cfg, nil, nil, dp.Options{PoolSize: 8})
	for k := range dp.NumScalars {
		in := k.Info()
		if in.Name == "" || names[in.Name] {
			t.Errorf("scalar %d (%s): name %q empty or taken", k, in.Field, in.Name)
		}
		names[in.Name] = true
		dp.SetScalar(w1, k, uint64(k)+1)
		dp.SetScalar(w2, k, 100*(uint64(k)+1))
	}
	c := dp.Sum([]*dp.Worker{w1, w2})
	v := reflect.ValueOf(c.Scalars)
	for k := range dp.NumScalars {
		want := 101 * (uint64(k) + 1)
		if got := c.Get(k); got != want {
			t.Errorf("%s: summed %d, want %d", k.Info().Field, got, want)
		}
		if got := v.FieldByName(k.Info().Field).Uint(); got != want {
			t.Errorf("%s: field reads %d, want %d", k.Info().Field, got, want)
		}
	}
	// The names the API, metrics and docs use stay the same.
	for _, n := range []string{"polls", "busy_polls", "batches", "livelocks", "punts", "punt_full", "spread", "icmp_echo_replies"} {
		if !names[n] {
			t.Errorf("no scalar named %q", n)
		}
	}
	if c.Punts != 101*(uint64(dp.Scalar(1))+1) {
		t.Errorf("Punts field %d", c.Punts)
	}
}
