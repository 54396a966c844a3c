package bench

import "runtime/metrics"

// gcStats is what the runtime says about its garbage collector at one
// moment: the CPU time the GC has used and the CPU time available to the
// process (GOMAXPROCS integrated over the wall clock), both in seconds,
// and the completed GC cycles.
//
// The runtime updates its /cpu/classes metrics only at the end of a GC
// cycle, so a reading is as of the last collection: measure calls
// runtime.GC() before each reading to have them current.
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

// gcShare returns the GC's share of the CPU time available between two
// readings (0..1; 0 when no time passed) and the GC cycles completed
// between them.
func gcShare(a, b gcStats) (share float64, cycles uint64) {
	if b.cycles > a.cycles {
		cycles = b.cycles - a.cycles
	}
	if t := b.totalCPU - a.totalCPU; t > 0 {
		share = min(max((b.gcCPU-a.gcCPU)/t, 0), 1)
	}
	return share, cycles
}
