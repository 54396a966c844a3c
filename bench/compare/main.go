package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"slices"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
)

func main() {
	if err := run(os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "compare:", err)
		os.Exit(1)
	}
}

// maxRounds bounds --rounds.
const maxRounds = 100

// config is the parsed command line.
type config struct {
	old, new           string // binaries
	oldLabel, newLabel string
	rounds             int
	benchArgs          []string
}

// parseArgs parses the command line: flags, then "--" and the bench's
// arguments.
func parseArgs(args []string, stderr io.Writer) (*config, error) {
	c := &config{}
	fs := flag.NewFlagSet("compare", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&c.old, "old", "", "the previous softnet binary")
	fs.StringVar(&c.new, "new", "", "the softnet binary being compared with it")
	fs.StringVar(&c.oldLabel, "old-label", "old", "what to call the old binary in the output (e.g. its revision)")
	fs.StringVar(&c.newLabel, "new-label", "new", "what to call the new binary in the output")
	fs.IntVar(&c.rounds, "rounds", 3, "rounds: each runs both binaries once (1..100)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: compare --old BINARY --new BINARY [--rounds N] [-- BENCH ARGS...]")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	c.benchArgs = fs.Args()
	if n := len(args) - len(c.benchArgs); len(c.benchArgs) > 0 && (n == 0 || args[n-1] != "--") {
		return nil, fmt.Errorf("unexpected argument %q: the bench's arguments go after --, e.g. -- --scenario ip4-forward", c.benchArgs[0])
	}
	if c.old == "" || c.new == "" {
		return nil, errors.New("give both binaries: --old BINARY --new BINARY (scripts/bench-compare.sh builds them)")
	}
	for _, b := range []string{c.old, c.new} {
		fi, err := os.Stat(b)
		if err != nil {
			return nil, fmt.Errorf("binary %s: %w", b, err)
		}
		if fi.IsDir() || fi.Mode()&0o111 == 0 {
			return nil, fmt.Errorf("binary %s is not an executable file", b)
		}
	}
	if c.rounds < 1 || c.rounds > maxRounds {
		return nil, fmt.Errorf("--rounds %d: give a number of rounds from 1 to %d", c.rounds, maxRounds)
	}
	for _, a := range c.benchArgs {
		name, _, _ := strings.Cut(a, "=")
		switch name {
		case "--plot", "--cpuprofile", "--peers":
			return nil, fmt.Errorf("bench argument %s: both binaries would write the same file; drop it", a)
		case "-h", "--help":
			return nil, fmt.Errorf("bench argument %s: run softnet bench --help instead", a)
		}
	}
	if c.oldLabel == c.newLabel {
		return nil, fmt.Errorf("--old-label and --new-label are both %q: give two names", c.oldLabel)
	}
	return c, nil
}

// runLine is the JSON line printed per run.
type runLine struct {
	Round   int                `json:"round"`
	Binary  string             `json:"binary"` // "old" or "new"
	Label   string             `json:"label"`
	Figures map[string]float64 `json:"figures"`
	Output  json.RawMessage    `json:"output"` // the bench's JSON (an array when it printed several lines)
}

// summaryRow is one figure compared.
type summaryRow struct {
	Figure    string  `json:"figure"`
	OldMedian float64 `json:"old_median"`
	NewMedian float64 `json:"new_median"`
	Ratio     float64 `json:"ratio"` // new over old; 0 when old's median is 0
	Rounds    int     `json:"rounds"`
}

// runner runs a binary with arguments and returns its standard output.
type runner func(bin string, args []string) ([]byte, error)

func execRunner(stderr io.Writer) runner {
	return func(bin string, args []string) ([]byte, error) {
		cmd := exec.Command(bin, args...)
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, stderr
		if err := cmd.Run(); err != nil {
			return nil, fmt.Errorf("%s %s: %w", bin, strings.Join(args, " "), err)
		}
		return out.Bytes(), nil
	}
}

func run(args []string, stdout, stderr io.Writer) error {
	c, err := parseArgs(args, stderr)
	if err != nil {
		return err
	}
	return compare(c, execRunner(stderr), stdout)
}

// compare runs the rounds and prints the lines and the summary.
func compare(c *config, run runner, stdout io.Writer) error {
	benchArgs := append([]string{"bench", "--json"}, c.benchArgs...)
	figs := map[string]map[string][]float64{"old": {}, "new": {}}
	var order []string // figures in the order first seen
	enc := json.NewEncoder(stdout)
	enc.SetEscapeHTML(false)
	for round := 1; round <= c.rounds; round++ {
		sides := []string{"old", "new"}
		if round%2 == 0 {
			sides = []string{"new", "old"}
		}
		for _, side := range sides {
			bin, label := c.old, c.oldLabel
			if side == "new" {
				bin, label = c.new, c.newLabel
			}
			out, err := run(bin, benchArgs)
			if err != nil {
				return fmt.Errorf("round %d, %s (%s): %w", round, side, label, err)
			}
			vals, raw, err := parseOutput(out)
			if err != nil {
				return fmt.Errorf("round %d, %s (%s): %w", round, side, label, err)
			}
			if len(vals) == 0 {
				return fmt.Errorf("round %d, %s (%s): no figures in the bench's output (compare reads Mpps, ratios, speedups, _mpps fields and latency RTTs): %.200s", round, side, label, out)
			}
			for _, f := range vals {
				if !slices.Contains(order, f.name) {
					order = append(order, f.name)
				}
				figs[side][f.name] = append(figs[side][f.name], f.value)
			}
			if err := enc.Encode(runLine{Round: round, Binary: side, Label: label, Figures: figureMap(vals), Output: raw}); err != nil {
				return err
			}
		}
	}
	rows := summarize(order, figs["old"], figs["new"])
	printSummary(stdout, c, rows)
	return enc.Encode(map[string]any{"summary": rows})
}

// summarize returns, per figure both binaries reported, each one's median
// and the ratio new/old. Figures only one binary reported (gc_cpu_share
// from an engine that predates it) are left out.
func summarize(order []string, old, new map[string][]float64) []summaryRow {
	rows := []summaryRow{}
	for _, name := range order {
		o, n := old[name], new[name]
		if len(o) == 0 || len(n) == 0 {
			continue
		}
		r := summaryRow{Figure: name, OldMedian: median(o), NewMedian: median(n), Rounds: min(len(o), len(n))}
		if r.OldMedian != 0 {
			r.Ratio = r.NewMedian / r.OldMedian
		}
		rows = append(rows, r)
	}
	return rows
}

// median is the middle value (the mean of the two middle ones of an even
// count).
func median(xs []float64) float64 {
	s := slices.Sorted(slices.Values(xs))
	if len(s) == 0 {
		return 0
	}
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func printSummary(w io.Writer, c *config, rows []summaryRow) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "figure (median of %d rounds)\t%s\t%s\tnew/old\n", c.rounds, c.oldLabel, c.newLabel)
	for _, r := range rows {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%.3f\n", r.Figure, num(r.OldMedian), num(r.NewMedian), r.Ratio)
	}
	tw.Flush()
}

func num(x float64) string {
	if x != 0 && math.Abs(x) < 0.1 {
		return strconv.FormatFloat(x, 'g', 3, 64)
	}
	return strconv.FormatFloat(x, 'f', 3, 64)
}

// figure is one number read from a bench's output.
type figure struct {
	name  string
	value float64
}

func figureMap(fs []figure) map[string]float64 {
	m := map[string]float64{}
	for _, f := range fs {
		m[f.name] = f.value
	}
	return m
}

// parseOutput reads the JSON values a bench printed (one object, or one
// per line for latency) and returns the figures in them and the output as
// one JSON value (an array when there were several).
func parseOutput(out []byte) ([]figure, json.RawMessage, error) {
	dec := json.NewDecoder(bytes.NewReader(out))
	dec.UseNumber()
	var figs []figure
	var raws []json.RawMessage
	for {
		var raw json.RawMessage
		if err := dec.Decode(&raw); err == io.EOF {
			break
		} else if err != nil {
			return nil, nil, fmt.Errorf("the bench's output is not JSON (%v): %.200s", err, out)
		}
		raws = append(raws, raw)
		var v map[string]any
		d := json.NewDecoder(bytes.NewReader(raw))
		d.UseNumber()
		if err := d.Decode(&v); err != nil {
			return nil, nil, fmt.Errorf("the bench printed %.100s, not a JSON object", raw)
		}
		figs = append(figs, figuresOf(v, "")...)
	}
	if len(raws) == 0 {
		return nil, nil, errors.New("the bench printed nothing on stdout")
	}
	if len(raws) == 1 {
		return figs, raws[0], nil
	}
	all, err := json.Marshal(raws)
	return figs, all, err
}

// figuresOf returns the figures of one JSON object of a bench's output;
// scenario is the enclosing object's scenario, for results that have
// none.
func figuresOf(v map[string]any, scenario string) []figure {
	var figs []figure
	if s, ok := v["scenario"].(string); ok {
		scenario = s
	}
	if mpps, ok := number(v["mpps"]); ok {
		name := scenario
		if w, ok := number(v["workers"]); ok {
			name += " w" + strconv.FormatFloat(w, 'f', -1, 64)
		}
		figs = append(figs, figure{name + " mpps", mpps})
		// Mpps per CPU-second of the bench's process: a neighbour's load
		// moves it much less than Mpps on a shared machine.
		if c, ok := number(v["mpps_per_cpu"]); ok && c > 0 {
			figs = append(figs, figure{name + " mpps_per_cpu", c})
		}
		if g, ok := number(v["gc_cpu_share"]); ok {
			figs = append(figs, figure{name + " gc_cpu_share", g})
		}
		return figs
	}
	if p50, ok := number(v["rtt_p50_us"]); ok {
		load := "light"
		if bg, _ := number(v["background_mpps"]); bg > 0 {
			load = "loaded"
		}
		router, _ := v["router"].(string)
		name := scenario + " " + router + " " + load
		figs = append(figs, figure{name + " rtt_p50_us", p50})
		if p99, ok := number(v["rtt_p99_us"]); ok {
			figs = append(figs, figure{name + " rtt_p99_us", p99})
		}
		return figs
	}
	if runs, ok := v["runs"].([]any); ok {
		for _, r := range runs {
			if m, ok := r.(map[string]any); ok {
				figs = append(figs, figuresOf(m, scenario)...)
			}
		}
	}
	for _, group := range []string{"ratios", "interleaved_ratios", "speedup"} {
		m, ok := v[group].(map[string]any)
		if !ok {
			continue
		}
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			x, ok := number(m[k])
			if !ok || (group == "speedup" && k == "1") {
				continue
			}
			name := "ratio " + k
			switch group {
			case "interleaved_ratios":
				name = "interleaved ratio " + k
			case "speedup":
				name = scenario + " speedup " + k
			}
			figs = append(figs, figure{name, x})
		}
	}
	keys := make([]string, 0, len(v))
	for k := range v {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if x, ok := number(v[k]); ok && strings.HasSuffix(k, "_mpps") {
			figs = append(figs, figure{strings.TrimSpace(scenario + " " + k), x})
		}
	}
	return figs
}

func number(v any) (float64, bool) {
	n, ok := v.(json.Number)
	if !ok {
		return 0, false
	}
	x, err := n.Float64()
	return x, err == nil
}
