package bench

import (
	"context"
	"strings"
	"testing"
	"time"
)

// TestSoakCheck: each bound and the unchanged flow fail the soak on
// their own, with a violation naming them; figures within the bounds
// pass.
func TestSoakCheck(t *testing.T) {
	good := func() *SoakResult {
		return &SoakResult{OfferedUnchanged: 100, ForwardedUnchanged: 100, HeapStart: 100 << 20, HeapEnd: 100 << 20,
			GoroutinesStart: 10, GoroutinesEnd: 10, FDsStart: 20, FDsEnd: 20, AdjStart: 16, AdjEnd: 16, BuffersStart: 0, BuffersEnd: 0,
			APICalls: minP99Calls, Bounds: DefaultSoakBounds}
	}
	r := good()
	r.HeapEnd = r.HeapStart + r.HeapStart/10 + DefaultSoakBounds.HeapBytes // at the bound
	r.GoroutinesEnd += DefaultSoakBounds.Goroutines
	r.APIP99Ms = DefaultSoakBounds.APIP99Ms
	r.check()
	if !r.Pass || len(r.Violations) != 0 {
		t.Errorf("figures at their bounds: pass %v, %q", r.Pass, r.Violations)
	}
	for _, c := range []struct {
		name string
		mod  func(*SoakResult)
	}{
		{"lost_unchanged", func(r *SoakResult) { r.ForwardedUnchanged--; r.LostUnchanged = 1 }},
		{"offered_unchanged 0", func(r *SoakResult) { r.OfferedUnchanged, r.ForwardedUnchanged = 0, 0 }},
		{"churn operations failed", func(r *SoakResult) { r.ChurnFailures = 1 }},
		{"heap grew", func(r *SoakResult) { r.HeapEnd = r.HeapStart + r.HeapStart/10 + DefaultSoakBounds.HeapBytes + 1 }},
		{"goroutines grew", func(r *SoakResult) { r.GoroutinesEnd += DefaultSoakBounds.Goroutines + 1 }},
		{"fds grew", func(r *SoakResult) { r.FDsEnd += DefaultSoakBounds.FDs + 1 }},
		{"adjacencies grew", func(r *SoakResult) { r.AdjEnd += DefaultSoakBounds.Adjacencies + 1 }},
		{"buffers_in_use grew", func(r *SoakResult) { r.BuffersEnd += DefaultSoakBounds.Buffers + 1 }},
		{"could not count its descriptors", func(r *SoakResult) { r.FDsStart, r.FDsEnd = -1, -1 }},
		{"api_p99_ms", func(r *SoakResult) { r.APIP99Ms = DefaultSoakBounds.APIP99Ms + 1 }},
	} {
		r := good()
		c.mod(r)
		r.check()
		if r.Pass || len(r.Violations) != 1 || !strings.Contains(r.Violations[0], c.name) {
			t.Errorf("%s: pass %v, violations %q, want one naming %q", c.name, r.Pass, r.Violations, c.name)
		}
	} // Over fewer answers the p99 is reported, not judged.
	r = good()
	r.APICalls, r.APIP99Ms = minP99Calls-1, DefaultSoakBounds.APIP99Ms+1
	if r.check(); !r.Pass {
		t.Errorf("api_p99_ms over %d answers judged: %q", r.APICalls, r.Violations)
	}
}

// TestRunSoakOptions: nonsense options are refused before any namespace
// is built.
func TestRunSoakOptions(t *testing.T) {
	for _, c := range []struct {
		o    SoakOptions
		want string
	}{
		{SoakOptions{Binary: "x", Duration: -time.Second}, "give a positive duration"},
		{SoakOptions{}, "no softnet binary"},
	} {
		if _, err := RunSoak(context.Background(), c.o); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("RunSoak(%+v): %v, want %q", c.o, err, c.want)
		}
	}
}
