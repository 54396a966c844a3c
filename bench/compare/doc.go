// Command compare runs two softnet binaries' "softnet bench --json" in
// turn and compares what they measured: the engine of a previous commit
// next to the one being worked on, in the same run on the same machine, so
// that a neighbour's load or the time of day moves both alike.
//
//	go run ./bench/compare --old OLD_BINARY --new NEW_BINARY [--rounds 3] [-- BENCH ARGS...]
//
// scripts/bench-compare.sh builds both binaries (a base revision and the
// working tree) and calls it; that script is the way to use it.
//
// Each round runs both binaries once, old first in odd rounds and new first
// in even ones, each as "BINARY bench --json BENCH ARGS". Every run prints
// one JSON line on stdout:
//
//	{"round": 1, "binary": "old", "label": "b5d5491", "figures": {"ip4-forward w1 mpps": 31.2, ...}, "output": <the bench's JSON>}
//
// then comes a table, per figure, of each binary's median over the rounds
// and the ratio new/old, and one last JSON line with the same summary:
//
//	{"summary": [{"figure": "ip4-forward w1 mpps", "old_median": 31.2, "new_median": 31.0, "ratio": 0.99, "rounds": 3}, ...]}
//
// The figures read from a bench's output: per result (ip4-forward, the
// VLAN and bridge scenarios, --workers, a list of scenarios) "SCENARIO wN
// mpps", "SCENARIO wN mpps_per_cpu" (Mpps per CPU-second the bench's
// process had, Linux only: on a shared machine a neighbour's load moves it
// much less than Mpps) and "SCENARIO wN gc_cpu_share" (only from binaries
// that report it);
// a list's "ratio A/B" and "interleaved ratio A/B", a worker list's
// "SCENARIO speedup N"; per latency line
// "latency ROUTER light|loaded rtt_p50_us" and rtt_p99_us; and any other
// top-level number whose name ends in _mpps ("veth softnet_mpps"). A run
// whose output has none of these is an error.
//
// Not on the hot path; single-threaded.
package main
