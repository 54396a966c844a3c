package bench

import "testing"

// TestFilterSetup: the filter-setup scenario makes a state of every frame
// of each cycle (distinct flows, none refused), checked against the
// 1,000 rules, with no allocation per new state.
func TestFilterSetup(t *testing.T) {
	r, err := RunFilterSetup(Options{Duration: 1})
	if err != nil {
		t.Fatal(err)
	}
	if r.Cycles < 1 || r.States != uint64(r.Cycles*r.Flows) || r.Flows != FilterSetupFlows || r.Refused != 0 {
		t.Fatalf("%d cycles of %d flows made %d states (refused %d), want a state per frame", r.Cycles, r.Flows, r.States, r.Refused)
	}
	if r.FilterRules != FilterRules || !(r.StatesPerS > 0) || !(r.NsPerState > 0) {
		t.Fatalf("rules %d, %v states/s, %v ns per state", r.FilterRules, r.StatesPerS, r.NsPerState)
	}
	if r.AllocsPerPacket != 0 {
		t.Fatalf("%v allocations per packet making states, want 0", r.AllocsPerPacket)
	}
	t.Logf("%.0f states/s (%.0f ns each)", r.StatesPerS, r.NsPerState)
}
