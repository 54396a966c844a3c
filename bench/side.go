package bench

import (
	"fmt"
	"slices"
	"time"

	"github.com/softnet/softnet/dp"
)

// Side is something that runs beside the forwarding: it starts on f's
// setup (its workers running) and the returned function stops it.
type Side func(f *Forward) (stop func() (string, error), err error)

// SideBySide is the ip4-forward scenario measured with and without
// something running beside it, in one process on the same table,
// alternating off and on Rounds times: the JSON softnet bench
// --api-scrape prints.
type SideBySide struct {
	Scenario string    `json:"scenario"`
	Side     string    `json:"side"` // what ran beside the "on" runs
	Rounds   int       `json:"rounds"`
	Off      []*Result `json:"off"`
	On       []*Result `json:"on"`
	OnNotes  []string  `json:"on_notes"` // what the side reported per "on" run
	OffMpps  float64   `json:"off_mpps"` // mean over the rounds
	OnMpps   float64   `json:"on_mpps"`
	// Ratio is OnMpps over OffMpps. MedianRatio is the median of the
	// rounds' on/off ratios (each pair ran back to back, so a neighbour's
	// load that comes and goes skews fewer of them); CostPercent is
	// (1 - MedianRatio) × 100.
	Ratio       float64 `json:"ratio"`
	MedianRatio float64 `json:"median_ratio"`
	CostPercent float64 `json:"cost_percent"`
	// PerCPURatio is the median of the rounds' on/off ratios of
	// MppsPerCPU: packets per CPU-second of softnet's process, the API's
	// own CPU time included. Other processes taking the CPU lower the
	// rate and the CPU time softnet gets together, so this ratio shows
	// the API's cost on a shared machine where Mpps swings; PerCPUCost is
	// (1 - PerCPURatio) × 100.
	PerCPURatio float64 `json:"per_cpu_ratio"`
	PerCPUCost  float64 `json:"per_cpu_cost_percent"`
}

// RunSideBySide measures ip4-forward with o.Workers[0] workers (o's other
// settings as Run), alternating runs without and with side: each round is
// a pair of runs back to back, off first in odd rounds and on first in
// even ones.
func RunSideBySide(o Options, name string, side Side, rounds int) (*SideBySide, error) {
	if o.Duration <= 0 {
		o.Duration = 5 * time.Second
	}
	if o.PacketSize == 0 {
		o.PacketSize = 64
	}
	if o.Scenario == "" {
		o.Scenario = "ip4-forward"
	}
	if o.Scenario != "ip4-forward" {
		return nil, fmt.Errorf("scenario %q: the side-by-side measurement runs ip4-forward only", o.Scenario)
	}
	n := 1
	if len(o.Workers) > 0 {
		n = o.Workers[0]
	}
	rounds = max(rounds, 1)
	t0 := time.Now()
	prefixes, err := FullTableIPv4()
	if err != nil {
		return nil, err
	}
	base, err := NewForward(prefixes, Frames(prefixes, Templates, o.PacketSize), 1)
	if err != nil {
		return nil, err
	}
	setup := time.Since(t0)
	var cpus []int
	if allowed := dp.AllowedCPUs(); n <= len(allowed) {
		cpus = allowed[:n]
	}
	sb := &SideBySide{Scenario: o.Scenario, Side: name, Rounds: rounds}
	for round := range rounds {
		// Off then on, then on then off: a load that rises or falls
		// through the run favours neither.
		order := []bool{false, true}
		if round%2 == 1 {
			order = []bool{true, false}
		}
		for _, on := range order {
			f := base.WithWorkers(n, cpus)
			var note string
			var res *Result
			if on {
				res, note, err = measureWith(f, o, side)
			} else {
				res, err = measure(f, o)
			}
			if err != nil {
				return nil, err
			}
			res.PacketSize, res.SetupS, res.CPUs = o.PacketSize, setup.Seconds(), cpus
			if on {
				sb.On = append(sb.On, res)
				sb.OnNotes = append(sb.OnNotes, note)
				sb.OnMpps += res.Mpps / float64(rounds)
			} else {
				sb.Off = append(sb.Off, res)
				sb.OffMpps += res.Mpps / float64(rounds)
			}
		}
	}
	if sb.OffMpps > 0 {
		sb.Ratio = sb.OnMpps / sb.OffMpps
		sb.MedianRatio = medianRatio(sb.Off, sb.On, func(r *Result) float64 { return r.Mpps })
		sb.CostPercent = (1 - sb.MedianRatio) * 100
		sb.PerCPURatio = medianRatio(sb.Off, sb.On, func(r *Result) float64 { return r.MppsPerCPU })
		if sb.PerCPURatio > 0 {
			sb.PerCPUCost = (1 - sb.PerCPURatio) * 100
		}
	}
	return sb, nil
}

// medianRatio is the median over the rounds of f(on[i]) / f(off[i]).
func medianRatio(off, on []*Result, f func(*Result) float64) float64 {
	var rs []float64
	for i := range off {
		if f(off[i]) > 0 {
			rs = append(rs, f(on[i])/f(off[i]))
		}
	}
	slices.Sort(rs)
	n := len(rs)
	switch {
	case n == 0:
		return 0
	case n%2 == 0:
		return (rs[n/2-1] + rs[n/2]) / 2
	}
	return rs[n/2]
}

// measureWith is measure with side running from before the warm-up to
// after the measurement.
func measureWith(f *Forward, o Options, side Side) (*Result, string, error) {
	var stop func() (string, error)
	var err error
	o.start = func() error {
		stop, err = side(f)
		return err
	}
	res, merr := measure(f, o)
	if stop == nil {
		if merr == nil {
			merr = err
		}
		return nil, "", merr
	}
	note, serr := stop()
	if merr != nil {
		return nil, "", merr
	}
	return res, note, serr
}
