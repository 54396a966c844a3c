package run

import (
	"testing"

	"github.com/softnet/softnet/control"
	"github.com/softnet/softnet/dp"
)

// TestPortDropsListed: every port count of a lost frame is listed under
// port/..., with a description: receive drops in the total and counted as
// received; transmit failures (tx-no-carrier included) as a part of
// interface-output/tx-full.
func TestPortDropsListed(t *testing.T) {
	st := []IfaceStatus{{Name: "ra", RxPackets: 10}, {Name: "rb"}}
	st[0].PortDrops = map[string]uint64{"rx-csum-partial": 2, "rx-oversize": 1, "errors": 5}
	st[1].PortDrops = map[string]uint64{"tx-no-carrier": 3}
	c := dp.Counters{}
	c.Drops[dp.OutTxFull] = 3
	ds := Drops(st, &c, control.Stats{})
	got := map[string]Drop{}
	for _, d := range ds {
		if d.Stage == "port" {
			got[d.Interface+"/"+d.Reason] = d
		}
	}
	for k, want := range map[string]string{"ra/rx-csum-partial": "", "ra/rx-oversize": "", "rb/tx-no-carrier": dp.OutTxFull.String()} {
		d, ok := got[k]
		if !ok || d.Description == "" || d.Of != want {
			t.Errorf("%s: %+v (listed %v)", k, d, ok)
		}
	}
	if _, ok := got["ra/errors"]; ok {
		t.Error("errors listed as a drop reason")
	}
	if n := TotalDrops(ds); n != 3+3 {
		t.Errorf("total %d, want 6 (rx-csum-partial 2, rx-oversize 1, tx-full 3)", n)
	}
	if a := Account(st, &c, control.Stats{}); a.Received != 13 {
		t.Errorf("received %d, want 13 (10 + the port's 3 receive drops)", a.Received)
	}
}
