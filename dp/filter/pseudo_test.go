package filter_test

import (
	"testing"

	"github.com/softnet/softnet/control"
	"github.com/softnet/softnet/dp/dptest"
	"github.com/softnet/softnet/dp/filter/pf"
	"github.com/softnet/softnet/hdr"
)

// TestUDPPseudoStates: a UDP state's pseudo-states follow its packets as
// pf's do (SINGLE while only the opener has sent, however many packets;
// MULTIPLE on both sides from the first reply on), now that a state hit
// writes the peers only at a side's first packet; the counters count
// every packet of both directions.
func TestUDPPseudoStates(t *testing.T) {
	l := dptest.New(t, dptest.Options{})
	if err := l.Router.SetFilter(rules(t, pf.Block, "pass out", "pass in on if0 proto udp")); err != nil {
		t.Fatal(err)
	}
	state := func(want string, pkts [2]uint64) {
		t.Helper()
		var states []control.StateInfo
		var err error
		polling(l, func() { states, err = l.Router.FilterStates(control.StateFilter{}, 0) })
		if err != nil || len(states) != 1 || states[0].State != want || states[0].Packets != pkts {
			t.Fatalf("states %+v (%v), want one %s with packets %v", states, err, want, pkts)
		}
	}
	for i := 0; i < 3; i++ {
		expect(t, l, 0, 1, fromA(hdr.ProtoUDP, dptest.UDP(4444, 7000, 10)), true, "request")
	}
	state("SINGLE:NO_TRAFFIC", [2]uint64{3, 0})
	expect(t, l, 1, 0, fromB(hdr.ProtoUDP, dptest.UDP(7000, 4444, 10)), true, "reply")
	state("MULTIPLE:MULTIPLE", [2]uint64{3, 1})
	for i := 0; i < 2; i++ {
		expect(t, l, 1, 0, fromB(hdr.ProtoUDP, dptest.UDP(7000, 4444, 10)), true, "reply")
		expect(t, l, 0, 1, fromA(hdr.ProtoUDP, dptest.UDP(4444, 7000, 10)), true, "request")
	}
	state("MULTIPLE:MULTIPLE", [2]uint64{5, 3})
}
