package bench

import (
	"context"
	"fmt"
	"net/netip"
	"time"

	"github.com/softnet/softnet/control"
	"github.com/softnet/softnet/dp"
)

// The taps scenarios (issue 14, softnet bench --scenario taps): vlan-4094's
// forwarding (4,094 VLAN sub-interfaces on in0, the frames spread over
// all of them) with packet captures installed on the receive side:
//
//   - taps-0: no capture;
//   - taps-1: one capture, on in0.1;
//   - taps-4094: one capture on every sub-interface.
//
// Every capture's filter (TapsFilter) matches none of the traffic, so
// each packet that meets a tap pays the table index and the filter, and
// nothing is copied. The ratio taps-4094 over taps-1 is what the taps'
// indexing promises to keep near 1: a packet's cost does not grow with
// the number of taps, only with whether its own interface has one.
const (
	ScenarioTaps0    = "taps-0"
	ScenarioTaps1    = "taps-1"
	ScenarioTaps4094 = "taps-4094"
	ScenarioTaps     = "taps"
)

// TapsFilter is the taps scenarios' capture filter: the traffic is UDP.
const TapsFilter = "tcp port 22"

func init() {
	ratioBase[ScenarioTaps4094] = ScenarioTaps1
	ratioBase[ScenarioTaps1] = ScenarioTaps0
}

// NewTaps builds taps-N: vlan-4094 with a capture on the first taps
// sub-interfaces (one publish for all of them).
func NewTaps(prefixes []netip.Prefix, frames [][]byte, taps int) (*Forward, error) {
	f, err := NewForwardVLAN(prefixes, frames, vidRange(dp.MaxVLAN), 1)
	if err != nil || taps == 0 {
		return f, err
	}
	// The captures' rings are per worker ID: the setup's workers (and
	// those WithWorkers makes, ID 0 too) write to them.
	f.Router.AttachWorkers(f.Workers)
	specs := make([]dp.CaptureSpec, 0, taps)
	for v := 1; v <= taps; v++ {
		s, err := f.Router.ResolveCapture(control.CaptureRequest{Interface: fmt.Sprintf("in0.%d", v), Rx: true, Filter: TapsFilter, RingBytes: dp.MinCapRing})
		if err != nil {
			return nil, err
		}
		specs = append(specs, s)
	}
	if _, err := f.Router.StartCaptures(specs...); err != nil {
		return nil, err
	}
	return f, nil
}

// TapsResult is softnet bench --scenario taps: the three rates measured
// in one run (best of the rounds), Ratio taps-4094 over taps-1, the same
// from interleaved polls (InterleavedRatio, see Multi), and the data
// path's allocations per packet (the largest of the three).
type TapsResult struct {
	Scenario         string  `json:"scenario"`
	Taps0Mpps        float64 `json:"taps_0_mpps"`
	Taps1Mpps        float64 `json:"taps_1_mpps"`
	Taps4094Mpps     float64 `json:"taps_4094_mpps"`
	Ratio            float64 `json:"ratio"`
	InterleavedRatio float64 `json:"interleaved_ratio"`
	AllocsPerPacket  float64 `json:"allocs_per_packet"`
	// The Linux anchor (linuxTaps): kernel forwarding on the veth
	// topology with 1 and 1,000 packet sockets filtering on the ingress
	// veth; absent when not measured, LinuxError says why (not root, no
	// trafgen).
	Linux1Mpps    *float64 `json:"linux_1_mpps,omitempty"`
	Linux1000Mpps *float64 `json:"linux_1000_mpps,omitempty"`
	LinuxRatio    *float64 `json:"linux_ratio,omitempty"` // linux_1000 over linux_1
	LinuxError    string   `json:"linux_error,omitempty"`
	Filter        string   `json:"filter"`
	Rounds        int      `json:"rounds"`
	DurationS     float64  `json:"duration_s"`
	// The runs themselves, for the details (CPU load, GC).
	Multi *Multi `json:"runs"`
}

// RunTaps measures the taps scenarios side by side (RunScenarios), then,
// the Linux anchor (linuxTaps, for o.Duration each; its error, such as
// not being root, goes into LinuxError, not the result's).
func RunTaps(ctx context.Context, rounds int, o Options) (*TapsResult, error) {
	if rounds < 1 {
		rounds = 3
	}
	if o.Duration <= 0 {
		o.Duration = 5 * time.Second
	}
	m, err := RunScenarios([]string{ScenarioTaps0, ScenarioTaps1, ScenarioTaps4094}, rounds, o)
	if err != nil {
		return nil, err
	}
	r := &TapsResult{Scenario: ScenarioTaps, Filter: TapsFilter, Rounds: rounds, DurationS: o.Duration.Seconds(), Multi: m,
		Taps0Mpps: m.Runs[0].Mpps, Taps1Mpps: m.Runs[1].Mpps, Taps4094Mpps: m.Runs[2].Mpps}
	if r.Taps1Mpps > 0 {
		r.Ratio = r.Taps4094Mpps / r.Taps1Mpps
	}
	r.InterleavedRatio = m.InterleavedRatios[ScenarioTaps4094+"/"+ScenarioTaps1]
	for _, run := range m.Runs {
		r.AllocsPerPacket = max(r.AllocsPerPacket, run.AllocsPerPacket)
	}
	logf := func(format string, a ...any) {
		if o.Progress != nil {
			fmt.Fprintf(o.Progress, format+"\n", a...)
		}
	}
	mpps, err := linuxTaps(ctx, o.Duration, []int{1, 1000}, logf)
	if len(mpps) > 0 {
		r.Linux1Mpps = &mpps[0]
	}
	if len(mpps) > 1 {
		r.Linux1000Mpps = &mpps[1]
		if mpps[0] > 0 {
			lr := mpps[1] / mpps[0]
			r.LinuxRatio = &lr
		}
	}
	if err != nil {
		r.LinuxError = err.Error()
	}
	return r, nil
}
