package bench

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"runtime"
	"time"

	"github.com/softnet/softnet/control"
	"github.com/softnet/softnet/dp/filter"
	"github.com/softnet/softnet/dp/filter/pf"
	"github.com/softnet/softnet/hdr"
)

// ScenarioFilter is ip4-forward through the stateful filter (issue 13):
// FilterRules rules, FilterStates established UDP states in the worker's
// table (one per flow of the generator), so every measured packet is a
// state hit; softnet bench --scenario ip4-forward,ip4-filter gives the
// ratio to plain forwarding.
const ScenarioFilter = "ip4-filter"

// The ip4-filter scenario's rule count and states.
const (
	FilterRules  = 1000
	FilterStates = 100_000
)

// NewFilter builds ip4-forward's topology with FilterStates flows (frames
// to random destinations of prefixes, random source ports), a default
// block filter of FilterRules rules (FilterRules-2 TCP block rules that
// the flows never match, then pass in on in0 proto udp and pass out),
// and runs every flow's first packet once through worker 0, whose table
// the measured worker 0 inherits.
func NewFilter(prefixes []netip.Prefix, size int) (*Forward, error) {
	return newFilter(prefixes, size, FilterStates, false)
}

// newFilter is NewFilter with n flows (and states); shuffled: the
// worker's free list of state entries shuffled before the warm-up, so
// the states sit in the table's entries in random order (as flows that
// come and go leave them) rather than in the order the generator sends
// them.
func newFilter(prefixes []netip.Prefix, size, n int, shuffled bool) (*Forward, error) {
	frames := Frames(prefixes, n, size)
	f, err := NewForward(prefixes, frames, 1)
	if err != nil {
		return nil, err
	}
	rules, err := filterRules()
	if err != nil {
		return nil, err
	}
	if err := f.Router.SetFilter(control.FilterConfig{Default: pf.Block, Rules: rules, Limit: 2 * FilterStates}); err != nil {
		return nil, err
	}
	w := f.Workers[0]
	if shuffled {
		h, _ := w.Config().Filter.(*filter.Holder)
		if h == nil {
			return nil, fmt.Errorf("ip4-filter: the worker has no filter")
		}
		h.ShuffleFree(filter.SlotOf(w.ID), 7)
	}
	for i := 0; i < len(frames)+4096; {
		i += w.Poll()
	}
	st, _ := f.Router.FilterStats()
	if st.States < n*9/10 {
		return nil, fmt.Errorf("ip4-filter: %d states after the warm-up, want about %d", st.States, n)
	}
	f.filterStates = st.States
	return f, nil
}

// filterRules are the ip4-filter and filter-setup scenarios' FilterRules
// rules: FilterRules-2 TCP block rules that the UDP flows never match,
// then pass in on in0 proto udp and pass out.
func filterRules() ([]pf.Rule, error) {
	var rules []pf.Rule
	for i := 0; i < FilterRules-2; i++ {
		r, err := pf.Parse(fmt.Sprintf("block in on in0 proto tcp from 10.%d.%d.0/24 to any port %d", i/250, i%250, 1+i%1000))
		if err != nil {
			return nil, err
		}
		rules = append(rules, r)
	}
	for _, s := range []string{"pass in on in0 proto udp", "pass out"} {
		r, err := pf.Parse(s)
		if err != nil {
			return nil, err
		}
		rules = append(rules, r)
	}
	return rules, nil
}

// ScenarioFilterSetup measures how fast one worker makes states (issue
// 13): ip4-filter's topology and rules, every frame the first packet of
// a new flow, checked in and out against the FilterRules rules, routed,
// and inserted into the worker's table. softnet bench --scenario
// filter-setup --json.
const ScenarioFilterSetup = "filter-setup"

// FilterSetupFlows is how many distinct flows the filter-setup
// generator cycles through; the worker's table is flushed (untimed)
// before each cycle, so each frame makes a state.
const FilterSetupFlows = Templates

// FilterSetupResult is the filter-setup scenario's JSON.
type FilterSetupResult struct {
	Scenario string `json:"scenario"`
	Workers  int    `json:"workers"`
	// The rules every first packet is checked against, the flows of a
	// cycle, the state limit of the worker's table.
	FilterRules int `json:"filter_rules"`
	Flows       int `json:"flows"`
	StateLimit  int `json:"state_limit"`
	// Cycles measured, the states they made, the time the worker spent
	// polling them (the flushes between cycles not counted).
	Cycles int     `json:"cycles"`
	States uint64  `json:"states"`
	PollS  float64 `json:"poll_s"`
	// StatesPerS is States over PollS: new flows a second through one
	// worker, each first packet forwarded too; NsPerState its inverse.
	StatesPerS float64 `json:"states_per_s"`
	NsPerState float64 `json:"ns_per_state"`
	// Refused counts the first packets the table refused (0: the limit
	// is above a cycle's flows).
	Refused uint64 `json:"refused"`
	// AllocsPerPacket is heap allocations per packet over one cycle
	// polled with GOMAXPROCS 1 (0: no allocation per new state).
	AllocsPerPacket float64 `json:"allocs_per_packet"`
	GoVersion       string  `json:"go_version"`
}

// RunFilterSetup runs the filter-setup scenario for o.Duration (at least
// one cycle), polling the worker on this goroutine (its thread locked).
func RunFilterSetup(o Options) (*FilterSetupResult, error) {
	if o.Duration <= 0 {
		o.Duration = 5 * time.Second
	}
	if o.PacketSize == 0 {
		o.PacketSize = 64
	}
	if o.PacketSize < 42 || o.PacketSize > 1514 {
		return nil, fmt.Errorf("packet size %d: use 42..1514 bytes (an Ethernet/IPv4/UDP frame without FCS)", o.PacketSize)
	}
	prefixes, err := FullTableIPv4()
	if err != nil {
		return nil, err
	}
	frames := Frames(prefixes, FilterSetupFlows, o.PacketSize)
	src := SrcAddr.As4()
	for i, fr := range frames {
		// Distinct flows: the source port and the destination port
		// from the frame's index (Frames' random ports may repeat).
		dst := binary.BigEndian.Uint32(fr[hdr.EthernetLen+16:])
		UDPFrame(fr, InMAC, PeerMAC, binary.BigEndian.Uint32(src[:]), dst, uint16(1024+i%60000), uint16(9+i/60000), 64)
	}
	f, err := NewForward(prefixes, frames, 1)
	if err != nil {
		return nil, err
	}
	rules, err := filterRules()
	if err != nil {
		return nil, err
	}
	limit := 2 * FilterStates // the ip4-filter scenario's table
	if err := f.Router.SetFilter(control.FilterConfig{Default: pf.Block, Rules: rules, Limit: limit}); err != nil {
		return nil, err
	}
	w := f.Workers[0]
	h, _ := w.Config().Filter.(*filter.Holder)
	if h == nil {
		return nil, fmt.Errorf("filter-setup: the worker has no filter")
	}
	slot := filter.SlotOf(w.ID)
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	// cycle flushes the worker's table (this goroutine is its worker)
	// and polls one cycle of the generator, timed.
	cycle := func() (time.Duration, int) {
		if t := h.Table(slot); t != nil {
			t.Flush()
		}
		n := 0
		t0 := time.Now()
		for n < len(frames) {
			n += w.Poll()
		}
		return time.Since(t0), n
	}
	cycle() // warm up: the table is made at the first vector
	res := &FilterSetupResult{Scenario: ScenarioFilterSetup, Workers: 1, FilterRules: len(rules), Flows: len(frames),
		StateLimit: limit, GoVersion: runtime.Version()}
	st0 := h.Stats(slot)
	var polled time.Duration
	for start := time.Now(); res.Cycles == 0 || time.Since(start) < o.Duration; res.Cycles++ {
		d, _ := cycle()
		polled += d
		if o.Progress != nil && res.Cycles%16 == 0 {
			fmt.Fprintf(o.Progress, "\rfilter-setup: %d cycles", res.Cycles)
		}
	}
	if o.Progress != nil {
		fmt.Fprintln(o.Progress)
	}
	st := h.Stats(slot)
	res.States, res.Refused, res.PollS = st.Inserts-st0.Inserts, st.Refused-st0.Refused, polled.Seconds()
	if res.States == 0 {
		return nil, fmt.Errorf("filter-setup: %d cycles made no state (do the rules pass the flows?)", res.Cycles)
	}
	res.StatesPerS = float64(res.States) / res.PollS
	res.NsPerState = 1e9 / res.StatesPerS
	// Allocations over one more cycle, as dataPathAllocs counts them.
	func() {
		defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
		h.Table(slot).Flush()
		runtime.GC()
		var m0, m1 runtime.MemStats
		runtime.ReadMemStats(&m0)
		n := 0
		for n < len(frames) {
			n += w.Poll()
		}
		runtime.ReadMemStats(&m1)
		res.AllocsPerPacket = float64(m1.Mallocs-m0.Mallocs) / float64(n)
	}()
	return res, nil
}
