package plot

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/softnet/softnet/bench"
)

// peerResult is the part of a bench/peers result (`go run . --json`) the
// chart needs.
type peerResult struct {
	Scenario string   `json:"scenario"`
	Impl     string   `json:"impl"`
	Workers  int      `json:"workers"`
	Mpps     *float64 `json:"mpps"`
}

// ReadPeers reads peer results: one or more JSON objects as bench/peers
// prints them (`cd bench/peers && go run . --json`), concatenated or one
// a line. Objects with the same implementation, scenario and worker
// count are repeats of one bar: `for i in 1 2 3; do go run . --json; done
// > peers.json` gives the peer error bars too.
func ReadPeers(r io.Reader) ([]Bar, error) {
	d := json.NewDecoder(r)
	var bars []Bar
	at := map[[2]string]map[int]int{}
	for n := 1; ; n++ {
		var p peerResult
		if err := d.Decode(&p); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			return nil, fmt.Errorf("peer result %d: %v (give the output of: cd bench/peers && go run . --json)", n, err)
		}
		if p.Impl == "" || p.Scenario == "" || p.Mpps == nil {
			return nil, fmt.Errorf("peer result %d: no impl, scenario or mpps field: is it the output of bench/peers --json?", n)
		}
		w := max(p.Workers, 1)
		k := [2]string{p.Impl, p.Scenario}
		if at[k] == nil {
			at[k] = map[int]int{}
		}
		if i, ok := at[k][w]; ok {
			bars[i].Mpps = append(bars[i].Mpps, *p.Mpps)
			continue
		}
		at[k][w] = len(bars)
		bars = append(bars, Bar{Impl: p.Impl, Scenario: p.Scenario, Workers: w, Mpps: []float64{*p.Mpps}})
	}
	if len(bars) == 0 {
		return nil, errors.New("no peer results in the file (give the output of: cd bench/peers && go run . --json)")
	}
	return bars, nil
}

// ReadPeersFile is ReadPeers on a file.
func ReadPeersFile(name string) ([]Bar, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	bars, err := ReadPeers(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return bars, nil
}

// FromReports makes the chart of softnet bench reports (one bar per
// scenario and worker count, its runs from RepeatsMpps or its one Mpps)
// and peer bars, titled with the scenarios, the setup of the first run,
// the time it was drawn and the machine.
func FromReports(reps []*bench.Report, peers []Bar, now time.Time) Chart {
	var c Chart
	var scenarios []string
	var first *bench.Result
	for _, rep := range reps {
		if !slices.Contains(scenarios, rep.Scenario) {
			scenarios = append(scenarios, rep.Scenario)
		}
		for _, r := range rep.Runs {
			if first == nil {
				first = r
			}
			runs := r.RepeatsMpps
			if len(runs) == 0 {
				runs = []float64{r.Mpps}
			}
			c.Bars = append(c.Bars, Bar{Impl: r.Impl, Scenario: rep.Scenario, Workers: r.Workers, Mpps: runs})
		}
	}
	c.Bars = append(c.Bars, peers...)
	c.Title = "softnet bench: " + strings.Join(scenarios, ", ")
	if first != nil {
		c.Title += fmt.Sprintf(", %d-byte frames, %s routes, %.3g s per run", first.PacketSize, thousands(first.Routes), first.DurationS)
	}
	host, _ := os.Hostname()
	var parts []string
	parts = append(parts, now.UTC().Format("2006-01-02 15:04 UTC"))
	if host != "" {
		parts = append(parts, "host "+host)
	}
	parts = append(parts, fmt.Sprintf("%d CPUs", runtime.NumCPU()), runtime.Version())
	c.Subtitle = strings.Join(parts, ", ")
	return c
}

func thousands(n int) string {
	s := fmt.Sprint(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}
