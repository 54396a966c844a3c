package bench

import (
	"fmt"
	"net/netip"

	"github.com/softnet/softnet/control"
	"github.com/softnet/softnet/dp/filter/pf"
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
	frames := Frames(prefixes, FilterStates, size)
	f, err := NewForward(prefixes, frames, 1)
	if err != nil {
		return nil, err
	}
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
	if err := f.Router.SetFilter(control.FilterConfig{Default: pf.Block, Rules: rules, Limit: 2 * FilterStates}); err != nil {
		return nil, err
	}
	w := f.Workers[0]
	for n := 0; n < len(frames)+4096; {
		n += w.Poll()
	}
	st, _ := f.Router.FilterStats()
	if st.States < FilterStates*9/10 {
		return nil, fmt.Errorf("ip4-filter: %d states after the warm-up, want about %d", st.States, FilterStates)
	}
	f.filterStates = st.States
	return f, nil
}
