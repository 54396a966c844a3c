package bench

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/softnet/softnet/api"
	"github.com/softnet/softnet/lab"
)

// TestIfqDropsUnread: a ring-drop count that could not be read is not a
// 0 to subtract from: netlink-full-table's ifq()-q0 wrapped to ~1.8e19
// when the API did not answer. ifqDrops says it could not read, and grew
// gives 0 then (and when a counter went back), the difference otherwise.
func TestIfqDropsUnread(t *testing.T) {
	c := api.NewClient(filepath.Join(t.TempDir(), "none.sock"))
	if n, ok := ifqDrops(context.Background(), c, lab.DevRA); ok || n != 0 {
		t.Errorf("ifqDrops with no API: %d, %v; want 0, false", n, ok)
	}
	for _, tc := range []struct {
		a       uint64
		aok     bool
		b       uint64
		bok     bool
		want    uint64
		because string
	}{
		{3, true, 10, true, 7, "both read"},
		{0, false, 10, true, 0, "the first unread"},
		{3, true, 0, false, 0, "the second unread (was 3-0: 1.8e19)"},
		{10, true, 3, true, 0, "went back"},
	} {
		if got := grew(tc.a, tc.aok, tc.b, tc.bok); got != tc.want {
			t.Errorf("grew(%d %v, %d %v) = %d, want %d (%s)", tc.a, tc.aok, tc.b, tc.bok, got, tc.want, tc.because)
		}
	}
}
