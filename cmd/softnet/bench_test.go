package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/softnet/softnet/bench"
)

// TestBenchPlotFlags: misused --plot, --repeat and --peers are refused
// before anything is measured, with what to do instead.
func TestBenchPlotFlags(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.json")
	if err := os.WriteFile(bad, []byte(`{"scenario": 1}`), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--scenario", "overload", "--plot", filepath.Join(dir, "o.png")}, "apply to the ip4-forward and rss scenarios"},
		{[]string{"--scenario", "veth", "--repeat", "3"}, "apply to the ip4-forward and rss scenarios"},
		{[]string{"--peers", bad}, "give --plot FILE.png too"},
		{[]string{"--plot", filepath.Join(dir, "p.png"), "--peers", filepath.Join(dir, "missing.json")}, "--peers: open"},
		{[]string{"--plot", filepath.Join(dir, "p.png"), "--peers", bad}, "bench/peers"},
		{[]string{"--repeat", "0", "--duration", "1ms"}, "--repeat 0: give a number of runs from 1 to 100"},
	} {
		benchRefuses(t, tc.args, tc.want)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("files left in %s: %v", dir, entries)
	}
}

// TestBenchFlagValues: nonsense --duration, --rounds, --size and --workers
// are refused before anything is measured (each case's other flags would
// fail fast too, so the old code, which ran defaults, fails the test
// quickly rather than measuring).
func TestBenchFlagValues(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--scenario", "nope", "--duration", "0s"}, "--duration 0s: give a positive duration"},
		{[]string{"--scenario", "nope", "--duration", "-1s"}, "--duration -1s: give a positive duration"},
		{[]string{"--scenario", "ip4-forward,nope", "--rounds", "0"}, "--rounds 0: give a number of rounds from 1 to 100"},
		{[]string{"--api-scrape", "--scenario", "nope", "--rounds", "-2"}, "--rounds -2: give a number of rounds from 1 to 100"},
		{[]string{"--scenario", "nope", "--rounds", "2"}, "--rounds applies to --api-scrape and to a list of scenarios"},
		{[]string{"--scenario", "nope", "--size", "20"}, "--size 20: give a frame size from 42 to 1514 bytes"},
		{[]string{"--scenario", "overload", "--workers", "1", "--size", "65"}, "--workers: the overload scenario runs one worker; drop --workers"},
		{[]string{"--scenario", "veth", "--workers", "1", "--repeat", "2"}, "--workers: the veth scenario runs one softnet worker; drop --workers"},
		{[]string{"--scenario", "veth-overload", "--workers", "1", "--repeat", "2"}, "--workers: the veth-overload scenario runs one softnet worker; drop --workers"},
		{[]string{"--scenario", "ip4-forward,nope", "--workers", "1"}, "--workers: a list of scenarios runs one worker each; drop --workers"},
		{[]string{"--scenario", "veth", "--backend", "afxdp", "--stack-drop"}, "--stack-drop applies to --scenario veth with --backend afpacket; drop it"},
		{[]string{"--scenario", "latency", "--stack-drop"}, "--stack-drop applies to --scenario veth with --backend afpacket; drop it"},
		{[]string{"--scenario", "veth", "--backend", "dpdk"}, `--backend "dpdk": choose afpacket or afxdp`},
		{[]string{"--scenario", "veth", "--source", "pktgen"}, `--source "pktgen": choose trafgen, xdp (softnet's XDP generator) or best`},
		{[]string{"--scenario", "latency", "--source", "xdp"}, "--source applies to --scenario veth; drop it for --scenario latency"},
		{[]string{"--scenario", "overload", "--backend", "afxdp"}, "--backend applies to --scenario veth, latency and soak; drop it for --scenario overload"},
		{[]string{"--scenario", "soak", "--size", "100"}, "--size: the soak's unchanged flow is 64-byte frames; drop --size"},
		{[]string{"--scenario", "soak", "--workers", "1"}, "--workers: the soak scenario runs one softnet worker; drop --workers"},
		{[]string{"--scenario", "soak", "--repeat", "2"}, "--plot, --repeat and --peers apply to the ip4-forward and rss scenarios; drop them for --scenario soak"},
		{[]string{"--scenario", "soak", "--backend", "dpdk"}, `--backend "dpdk": choose afpacket or afxdp`},
		{[]string{"--scenario", "veth", "--routes", "1000"}, "--routes applies to --scenario netlink-full-table; drop it"},
		{[]string{"--scenario", "veth", "--split-cpus"}, "--split-cpus applies to --scenario netlink-full-table; drop it"},
		{[]string{"--scenario", "veth", "--pin-worker"}, "--pin-worker applies to --scenario netlink-full-table; drop it"},
		{[]string{"--scenario", "veth", "--rate-mpps", "0.3"}, "--rate-mpps applies to --scenario netlink-full-table; drop it"},
		{[]string{"--scenario", "veth", "--worker-nice", "0"}, "--worker-nice applies to --scenario netlink-full-table; drop it"},
		{[]string{"--scenario", "netlink-full-table", "--rate-mpps", "-1"}, "--rate-mpps -1: give a positive offered load in Mpps"},
		{[]string{"--scenario", "netlink-full-table", "--worker-nice", "30"}, "--worker-nice 30: give a nice value from -20 to 19"},
		{[]string{"--scenario", "netlink-full-table", "--split-cpus", "--pin-worker"}, "--split-cpus and --pin-worker are two CPU layouts for --scenario netlink-full-table; give one"},
		{[]string{"--scenario", "netlink-full-table", "--routes", "-1"}, "--routes -1: give a positive number of routes, or 0 for the whole table"},
		{[]string{"--scenario", "netlink-full-table", "--size", "100"}, "--size 100: the netlink-full-table scenario floods 64-byte frames; drop --size"},
		{[]string{"--scenario", "netlink-full-table", "--workers", "1"}, "--workers: the netlink-full-table scenario runs one softnet worker; drop --workers"},
		{[]string{"--scenario", "netlink-full-table", "--backend", "afxdp"}, "--backend applies to --scenario veth, latency and soak; drop it for --scenario netlink-full-table"},
	} {
		benchRefuses(t, tc.args, tc.want)
	}
}

// TestBenchFloatLists: lists of rates read "0.82 / 0.69 / 0.88", not
// Go's [0.8213 0.6912 0.8801].
func TestBenchFloatLists(t *testing.T) {
	var out bytes.Buffer
	printScenarios(&out, &bench.Multi{
		Runs:              []*bench.Result{{Scenario: "ip4-forward", Workers: 1}},
		Mpps:              map[string][]float64{"ip4-forward": {0.8213, 0.6912, 0.8801}},
		Ratios:            map[string]float64{},
		InterleavedRatios: map[string]float64{},
	})
	if !strings.Contains(out.String(), "rounds (Mpps): 0.82 / 0.69 / 0.88\n") || strings.Contains(out.String(), "[") {
		t.Errorf("output:\n%s", out.String())
	}
	if got := floatList([]float64{1, 2.345}); got != "1.00 / 2.35" {
		t.Errorf("floatList: %q", got)
	}
}

// TestPrintOverloadInRing: the overload table has the ARP requests left in
// the ring, so its ARP columns add up (offered = ring-dropped + in ring +
// answered).
func TestPrintOverloadInRing(t *testing.T) {
	var out bytes.Buffer
	printOverload(&out, &bench.OverloadReport{Scenario: "overload", Runs: []*bench.OverloadRun{{Load: 2,
		ARPRequestsOffered: 26578, ARPRequestsIfqDropped: 13213, ARPRequestsInRing: 2, ARPRepliesSent: 13363}}})
	if !strings.Contains(out.String(), "ring-dropped  in ring  answered") || !strings.Contains(out.String(), "26578         13213        2     13363") ||
		!strings.Contains(out.String(), "other load  GC %  GC cycles") {
		t.Errorf("output:\n%s", out.String())
	}
}

// TestBenchLatencyFlags: the latency scenario's flags are refused where
// they make no sense, and nonsense rates and durations are refused before
// any namespace is built.
func TestBenchLatencyFlags(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--scenario", "latency", "--duration", "0s"}, "--duration 0s: give a positive duration"},
		{[]string{"--scenario", "latency", "--probe-rate", "0"}, "--probe-rate 0: give a rate from 1 to 100000 probes a second"},
		{[]string{"--scenario", "latency", "--probe-rate", "-200"}, "--probe-rate -200: give a rate from 1 to 100000"},
		{[]string{"--scenario", "latency", "--probe-rate", "NaN"}, "--probe-rate NaN: give a rate"},
		{[]string{"--scenario", "latency", "--background-mpps", "0"}, "--background-mpps 0: give a positive rate in Mpps"},
		{[]string{"--scenario", "latency", "--background-mpps", "-1"}, "--background-mpps -1: give a positive rate in Mpps"},
		{[]string{"--scenario", "latency", "--size", "128"}, "--size 128: the latency scenario floods 64-byte frames"},
		{[]string{"--scenario", "latency", "--workers", "2"}, "--workers: the latency scenario runs one softnet worker"},
		{[]string{"--scenario", "latency", "--repeat", "2"}, "apply to the ip4-forward and rss scenarios"},
		{[]string{"--scenario", "veth", "--probe-rate", "100"}, "--probe-rate applies to --scenario latency; drop it"},
		{[]string{"--background-mpps", "0.3"}, "--background-mpps applies to --scenario latency; drop it"},
		{[]string{"--prober-cpu", "1"}, "--prober-cpu applies to --scenario latency; drop it"},
		{[]string{"--scenario", "latency", "--prober-cpu", "-2"}, "--prober-cpu -2: give a CPU from 0 to"},
		{[]string{"--scenario", "latency", "--prober-cpu", "4096"}, "--prober-cpu 4096: give a CPU from 0 to"},
		{[]string{"--scenario", "latency", "--rt-priority", "100"}, "--rt-priority 100: give a SCHED_FIFO priority from 1 to 99"},
		{[]string{"--rt-priority", "10"}, "--rt-priority applies to --scenario latency; drop it"},
		{[]string{"--scenario", "ip4-forward,latency"}, "latency runs alone"},
		{[]string{"--poll-mode", "polling"}, "--poll-mode applies to --scenario latency; drop it"},
		{[]string{"--scenario", "latency", "--poll-mode", "polling,busy"}, `--poll-mode "polling,busy": "busy" is not a poll mode; give one or more of interrupt, adaptive, polling`},
		{[]string{"--scenario", "latency", "--poll-mode", "polling,polling"}, "polling is there twice"},
	} {
		benchRefuses(t, tc.args, tc.want)
	}
}

// TestBenchPrintGC: the text output has the GC's share and cycles, for one
// run and in the table of several worker counts.
func TestBenchPrintGC(t *testing.T) {
	r := &bench.Result{Scenario: "ip4-forward", Workers: 1, Mpps: 30, GCCPUShare: 0.0123, GCCycles: 2}
	var out bytes.Buffer
	printResult(&out, r)
	if !strings.Contains(out.String(), "GC           1.23% of the CPU time, 2 cycles during the run\n") {
		t.Errorf("printResult:\n%s", out.String())
	}
	out.Reset()
	r2 := &bench.Result{Scenario: "ip4-forward", Workers: 2, Mpps: 58, GCCPUShare: 0.5, GCCycles: 7}
	printScaling(&out, &bench.Report{Scenario: "ip4-forward", Runs: []*bench.Result{r, r2}, Speedup: map[string]float64{"1": 1, "2": 1.93}})
	if !strings.Contains(out.String(), "GC %  GC cycles") || !strings.Contains(out.String(), "  1.23          2") ||
		!strings.Contains(out.String(), " 50.00          7") {
		t.Errorf("printScaling:\n%s", out.String())
	}
}

// TestBenchIssueForms: the forms issue 10 measures are accepted as
// written (the flag checks that run before any measurement pass them):
// softnet bench --json, --workers 1,2, --scenario
// ip4-forward,ip4-forward-vlan, --scenario vlan-1,vlan-4094 and --scenario
// latency --json.
func TestBenchIssueForms(t *testing.T) {
	for _, args := range [][]string{
		{"--json"},
		{"--workers", "1,2"},
		{"--workers", "1,2", "--json"},
		{"--scenario", "ip4-forward,ip4-forward-vlan"},
		{"--scenario", "vlan-1,vlan-4094", "--json"},
		{"--scenario", "ip4-forward,ip4-forward-vlan,vlan-1,vlan-4094,bridge", "--rounds", "3"},
		{"--scenario", "latency", "--json"},
		{"--scenario", "latency", "--json", "--poll-mode", "interrupt,adaptive,polling"},
	} {
		cmd := benchCmd()
		if err := cmd.ParseFlags(args); err != nil {
			t.Fatalf("%v: %v", args, err)
		}
		f := cmd.Flags()
		scenario, _ := f.GetString("scenario")
		duration, _ := f.GetDuration("duration")
		size, _ := f.GetInt("size")
		rounds, _ := f.GetInt("rounds")
		workers, _ := f.GetString("workers")
		probe, _ := f.GetFloat64("probe-rate")
		bg, _ := f.GetFloat64("background-mpps")
		rt, _ := f.GetInt("rt-priority")
		pc, _ := f.GetInt("prober-cpu")
		if err := checkBenchFlags(cmd, scenario, duration, size, rounds, false); err != nil {
			t.Errorf("%v: %v", args, err)
		}
		if err := checkLatencyFlags(cmd, scenario, probe, bg, rt, pc); err != nil {
			t.Errorf("%v: %v", args, err)
		}
		if _, err := parseWorkers(workers); err != nil {
			t.Errorf("%v: %v", args, err)
		}
		if _, err := parsePollModes(cmd, f.Lookup("poll-mode").Value.String()); err != nil {
			t.Errorf("%v: %v", args, err)
		}
	}
}

// benchRefuses runs `softnet bench ARGS` (through its cobra command) and
// checks that it fails with an error containing want.
func benchRefuses(t *testing.T, args []string, want string) {
	t.Helper()
	cmd := benchCmd()
	var out bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&out)
	cmd.SetArgs(args)
	cmd.SilenceUsage, cmd.SilenceErrors = true, true
	err := cmd.Execute()
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("bench %v: %v, want %q", args, err, want)
	}
}
