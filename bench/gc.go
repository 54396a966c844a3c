package bench

import (
	"runtime/metrics"
	"time"
)

// gcStats is what the runtime says about its garbage collector at one
// moment: the CPU time the GC has used and the CPU time available to the
// process (GOMAXPROCS integrated over the wall clock), both in seconds,
// and the completed GC cycles.
//
// The runtime updates its /cpu/classes metrics only at the end of a GC
// cycle, so a reading's CPU times are as of the last collection.
type gcStats struct {
	gcCPU, totalCPU float64
	cycles          uint64
}

var gcMetrics = []string{
	"/cpu/classes/gc/total:cpu-seconds",
	"/cpu/classes/total:cpu-seconds",
	"/gc/cycles/total:gc-cycles",
}

// readGC reads gcStats from runtime/metrics. A metric this Go release
// does not have reads as 0.
func readGC() gcStats {
	s := make([]metrics.Sample, len(gcMetrics))
	for i, n := range gcMetrics {
		s[i].Name = n
	}
	metrics.Read(s)
	var g gcStats
	if s[0].Value.Kind() == metrics.KindFloat64 {
		g.gcCPU = s[0].Value.Float64()
	}
	if s[1].Value.Kind() == metrics.KindFloat64 {
		g.totalCPU = s[1].Value.Float64()
	}
	if s[2].Value.Kind() == metrics.KindUint64 {
		g.cycles = s[2].Value.Uint64()
	}
	return g
}

// runGC returns the GC's share of the CPU time over a timed run of
// elapsed wall time with procs Ps (GOMAXPROCS), and the GC cycles that
// completed in it, from a reading g0 taken just after a collection forced
// before the run and a reading g1 taken at its end (no collection forced:
// that one's cost is not the run's).
//
// g1's GC CPU time is as of the last cycle that ended in the run, which
// is all the GC time of the cycles that completed in it; the CPU time
// available is procs × elapsed, which is what /cpu/classes/total counts.
// A cycle still running when the run ended is not counted. 0..1.
func runGC(g0, g1 gcStats, elapsed time.Duration, procs int) (share float64, cycles uint64) {
	if g1.cycles > g0.cycles {
		cycles = g1.cycles - g0.cycles
	}
	if total := elapsed.Seconds() * float64(procs); total > 0 {
		share = min(max((g1.gcCPU-g0.gcCPU)/total, 0), 1)
	}
	return share, cycles
}
