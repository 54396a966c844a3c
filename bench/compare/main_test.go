package main

import (
	"bytes"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// fakeBinary writes an executable file and returns its path.
func fakeBinary(t *testing.T, dir, name, script string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte("#!/bin/sh\n"+script), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestParseArgs: the command line is checked before anything runs, with
// what to do instead.
func TestParseArgs(t *testing.T) {
	dir := t.TempDir()
	bin := fakeBinary(t, dir, "softnet", "exit 0\n")
	notExec := filepath.Join(dir, "plain")
	if err := os.WriteFile(notExec, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--new", bin}, "give both binaries"},
		{[]string{"--old", filepath.Join(dir, "missing"), "--new", bin}, "missing: no such file"},
		{[]string{"--old", notExec, "--new", bin}, "is not an executable file"},
		{[]string{"--old", dir, "--new", bin}, "is not an executable file"},
		{[]string{"--old", bin, "--new", bin, "--rounds", "0"}, "--rounds 0: give a number of rounds from 1 to 100"},
		{[]string{"--old", bin, "--new", bin, "--rounds", "101"}, "--rounds 101"},
		{[]string{"--old", bin, "--new", bin, "--scenario", "x"}, "flag provided but not defined: -scenario"},
		{[]string{"--old", bin, "--new", bin, "ip4-forward"}, `unexpected argument "ip4-forward": the bench's arguments go after --`},
		{[]string{"--old", bin, "--new", bin, "--", "--plot", "x.png"}, "--plot: both binaries would write the same file"},
		{[]string{"--old", bin, "--new", bin, "--", "--cpuprofile=p"}, "--cpuprofile=p: both binaries"},
		{[]string{"--old", bin, "--new", bin, "--old-label", "x", "--new-label", "x"}, "give two names"},
	} {
		_, err := parseArgs(tc.args, &bytes.Buffer{})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("parseArgs(%q): %v, want %q", tc.args, err, tc.want)
		}
	}
	c, err := parseArgs([]string{"--old", bin, "--new", bin, "--rounds", "5", "--old-label", "b5d5491", "--", "--scenario", "ip4-forward,ip4-forward-vlan", "--duration", "1s"}, &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	if c.rounds != 5 || c.oldLabel != "b5d5491" || c.newLabel != "new" || strings.Join(c.benchArgs, " ") != "--scenario ip4-forward,ip4-forward-vlan --duration 1s" {
		t.Errorf("parsed %+v", c)
	}
}

// Outputs of softnet bench --json, cut down to what compare reads.
const (
	outResult  = `{"scenario":"ip4-forward","impl":"softnet","workers":1,"mpps":31.5,"mpps_per_cpu":32.1,"allocs_per_packet":0,"gc_cpu_share":0.001,"gc_cycles":0,"drops":{}}` + "\n"
	outOldOne  = `{"scenario":"ip4-forward","workers":1,"mpps":30,"other_load":0.1}` + "\n"
	outWorkers = `{"scenario":"ip4-forward","runs":[{"scenario":"ip4-forward","workers":1,"mpps":20,"gc_cpu_share":0},{"scenario":"ip4-forward","workers":2,"mpps":39,"gc_cpu_share":0}],"speedup":{"1":1,"2":1.95}}` + "\n"
	outMulti   = `{"runs":[{"scenario":"ip4-forward","workers":1,"mpps":29.5},{"scenario":"ip4-forward-vlan","workers":1,"mpps":28}],"mpps":{"ip4-forward":[29.5,29],"ip4-forward-vlan":[28,27]},"ratios":{"ip4-forward-vlan/ip4-forward":0.95},"interleaved_mpps":{"ip4-forward-vlan/ip4-forward":{"ip4-forward":30,"ip4-forward-vlan":28.5}},"interleaved_ratios":{"ip4-forward-vlan/ip4-forward":0.93}}` + "\n"
	outLatency = `{"scenario":"latency","router":"linux","backend":"kernel","rate_pps":200,"background_mpps":0,"rtt_p50_us":30,"rtt_p99_us":90,"samples":600}
{"scenario":"latency","router":"linux","backend":"kernel","rate_pps":200,"background_mpps":0.3,"rtt_p50_us":25,"rtt_p99_us":80,"samples":600}
{"scenario":"latency","router":"softnet","backend":"afpacket","rate_pps":200,"background_mpps":0,"rtt_p50_us":110,"rtt_p99_us":300,"samples":600}
{"scenario":"latency","router":"softnet","backend":"afpacket","rate_pps":200,"background_mpps":0.3,"rtt_p50_us":40,"rtt_p99_us":120,"samples":600}
`
	outVeth = `{"scenario":"veth","kernel_mpps":0.7,"softnet_mpps":0.68,"ratio":0.97,"kernel":{"mpps":0.7}}` + "\n"
)

// TestParseOutput: the figures of every kind of bench output.
func TestParseOutput(t *testing.T) {
	for _, tc := range []struct {
		name, out string
		want      map[string]float64
	}{
		{"result", outResult, map[string]float64{"ip4-forward w1 mpps": 31.5, "ip4-forward w1 mpps_per_cpu": 32.1, "ip4-forward w1 gc_cpu_share": 0.001}},
		{"before gc_cpu_share", outOldOne, map[string]float64{"ip4-forward w1 mpps": 30}},
		{"workers", outWorkers, map[string]float64{"ip4-forward w1 mpps": 20, "ip4-forward w2 mpps": 39,
			"ip4-forward w1 gc_cpu_share": 0, "ip4-forward w2 gc_cpu_share": 0, "ip4-forward speedup 2": 1.95}},
		{"list", outMulti, map[string]float64{"ip4-forward w1 mpps": 29.5, "ip4-forward-vlan w1 mpps": 28,
			"ratio ip4-forward-vlan/ip4-forward": 0.95, "interleaved ratio ip4-forward-vlan/ip4-forward": 0.93}},
		{"latency", outLatency, map[string]float64{
			"latency linux light rtt_p50_us": 30, "latency linux light rtt_p99_us": 90,
			"latency linux loaded rtt_p50_us": 25, "latency linux loaded rtt_p99_us": 80,
			"latency softnet light rtt_p50_us": 110, "latency softnet light rtt_p99_us": 300,
			"latency softnet loaded rtt_p50_us": 40, "latency softnet loaded rtt_p99_us": 120}},
		{"veth", outVeth, map[string]float64{"veth kernel_mpps": 0.7, "veth softnet_mpps": 0.68}},
	} {
		figs, raw, err := parseOutput([]byte(tc.out))
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		got := figureMap(figs)
		if len(got) != len(figs) || len(got) != len(tc.want) {
			t.Errorf("%s: figures %v, want %v", tc.name, figs, tc.want)
		}
		for k, v := range tc.want {
			if g, ok := got[k]; !ok || g != v {
				t.Errorf("%s: %q = %v (%v), want %v; all: %v", tc.name, k, g, ok, v, got)
			}
		}
		if !json.Valid(raw) {
			t.Errorf("%s: raw output %s is not one JSON value", tc.name, raw)
		}
	}
	if _, _, err := parseOutput([]byte("scenario ip4-forward\nrate 30 Mpps\n")); err == nil || !strings.Contains(err.Error(), "not JSON") {
		t.Errorf("text output: %v, want not JSON", err)
	}
	if _, _, err := parseOutput(nil); err == nil || !strings.Contains(err.Error(), "printed nothing") {
		t.Errorf("no output: %v", err)
	}
	if _, _, err := parseOutput([]byte("[1, 2]")); err == nil || !strings.Contains(err.Error(), "not a JSON object") {
		t.Errorf("array output: %v", err)
	}
}

func TestMedian(t *testing.T) {
	for _, tc := range []struct {
		in   []float64
		want float64
	}{{nil, 0}, {[]float64{3}, 3}, {[]float64{9, 1, 5}, 5}, {[]float64{4, 1, 3, 2}, 2.5}} {
		if got := median(tc.in); got != tc.want {
			t.Errorf("median(%v) = %v, want %v", tc.in, got, tc.want)
		}
	}
}

// TestCompare runs two fake binaries through the real exec path: they
// alternate (old first in odd rounds), each gets "bench --json" and the
// bench arguments, every run is one JSON line, and the summary has each
// binary's median and the ratio, leaving out figures only one reported.
func TestCompare(t *testing.T) {
	dir := t.TempDir()
	log := filepath.Join(dir, "log")
	// old: 30, 31, 29 Mpps (no gc_cpu_share); new: 33, 36, 30 and a share.
	oldBin := fakeBinary(t, dir, "old", `n=$(cat "`+log+`" 2>/dev/null | grep -c '^old'); echo "old $*" >>"`+log+`"
case $n in 0) m=30;; 1) m=31;; *) m=29;; esac
echo "{\"scenario\":\"ip4-forward\",\"workers\":1,\"mpps\":$m}"
`)
	newBin := fakeBinary(t, dir, "new", `n=$(cat "`+log+`" 2>/dev/null | grep -c '^new'); echo "new $*" >>"`+log+`"
case $n in 0) m=33;; 1) m=36;; *) m=30;; esac
echo "{\"scenario\":\"ip4-forward\",\"workers\":1,\"mpps\":$m,\"gc_cpu_share\":0.002}"
`)
	var out, errb bytes.Buffer
	err := run([]string{"--old", oldBin, "--new", newBin, "--old-label", "b5d5491", "--new-label", "work", "--", "--duration", "1s"}, &out, &errb)
	if err != nil {
		t.Fatalf("%v\n%s", err, errb.String())
	}
	calls, _ := os.ReadFile(log)
	wantCalls := "old bench --json --duration 1s\nnew bench --json --duration 1s\n" +
		"new bench --json --duration 1s\nold bench --json --duration 1s\n" +
		"old bench --json --duration 1s\nnew bench --json --duration 1s\n"
	if string(calls) != wantCalls {
		t.Errorf("calls:\n%s\nwant:\n%s", calls, wantCalls)
	}
	lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	if len(lines) != 6+2+1 { // a line per run, the table's header and row, the summary line
		t.Fatalf("output:\n%s", out.String())
	}
	var first runLine
	if err := json.Unmarshal([]byte(lines[0]), &first); err != nil || first.Round != 1 || first.Binary != "old" || first.Label != "b5d5491" ||
		first.Figures["ip4-forward w1 mpps"] != 30 || !strings.Contains(string(first.Output), `"mpps":30`) {
		t.Errorf("first line %s: %+v, %v", lines[0], first, err)
	}
	var second runLine
	if err := json.Unmarshal([]byte(lines[3]), &second); err != nil || second.Round != 2 || second.Binary != "old" {
		t.Errorf("fourth line %s: %+v, %v (round 2 runs new first)", lines[3], second, err)
	}
	if !strings.Contains(lines[6], "figure (median of 3 rounds)  b5d5491  work") ||
		!strings.Contains(lines[7], "ip4-forward w1 mpps") || !strings.Contains(lines[7], "30.000   33.000  1.100") {
		t.Errorf("table:\n%s\n%s", lines[6], lines[7])
	}
	var sum struct{ Summary []summaryRow }
	if err := json.Unmarshal([]byte(lines[8]), &sum); err != nil || len(sum.Summary) != 1 {
		t.Fatalf("summary %s: %v", lines[8], err)
	}
	if r := sum.Summary[0]; r.Figure != "ip4-forward w1 mpps" || r.OldMedian != 30 || r.NewMedian != 33 || math.Abs(r.Ratio-1.1) > 1e-9 || r.Rounds != 3 {
		t.Errorf("summary row %+v", r)
	}
}

// TestCompareFailures: a binary that fails or prints no figures stops
// the comparison with the round, the side and why.
func TestCompareFailures(t *testing.T) {
	dir := t.TempDir()
	good := fakeBinary(t, dir, "good", `echo '{"scenario":"ip4-forward","workers":1,"mpps":30}'`+"\n")
	bad := fakeBinary(t, dir, "bad", "echo 'unknown flag: --nope' >&2; exit 1\n")
	empty := fakeBinary(t, dir, "empty", `echo '{"scenario":"x","note":"nothing"}'`+"\n")
	for _, tc := range []struct {
		old, new, want string
	}{
		{good, bad, "round 1, new (new): " + bad + " bench --json: exit status 1"},
		{bad, good, "round 1, old (old): "},
		{good, empty, "round 1, new (new): no figures in the bench's output"},
	} {
		var out, errb bytes.Buffer
		err := run([]string{"--old", tc.old, "--new", tc.new}, &out, &errb)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("old %s new %s: %v, want %q", tc.old, tc.new, err, tc.want)
		}
	}
}
