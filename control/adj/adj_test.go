package adj

import (
	"errors"
	"testing"

	"github.com/softnet/softnet/dp"
	"github.com/softnet/softnet/fib"
)

// TestAllocFreeReuse: indices start at 1 (0 is "no route"), a freed
// index is handed out again (the most recent first) with its references
// reset, and Free(0) leaves adjacency 0 alone.
func TestAllocFreeReuse(t *testing.T) {
	tb := New()
	if tb.Len() != 1 || tb.Get(0).Kind != dp.AdjNone {
		t.Fatalf("new table: len %d, adjacency 0 %+v; want 1 and AdjNone", tb.Len(), tb.Get(0))
	}
	var got []uint16
	for i := 0; i < 3; i++ {
		a, err := tb.Alloc(dp.Adj{Kind: dp.AdjGlean, Iface: uint16(i)})
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, a)
	}
	if got[0] != 1 || got[1] != 2 || got[2] != 3 {
		t.Fatalf("indices %v, want [1 2 3]", got)
	}
	tb.Ref(2)
	tb.Ref(2)
	tb.Free(1)
	tb.Free(2)
	if tb.Get(2) != (dp.Adj{}) || tb.Refs(2) != 0 {
		t.Fatalf("freed adjacency 2: %+v refs %d, want zero", tb.Get(2), tb.Refs(2))
	}
	a, _ := tb.Alloc(dp.Adj{Kind: dp.AdjLocal})
	b, _ := tb.Alloc(dp.Adj{Kind: dp.AdjDrop})
	c, _ := tb.Alloc(dp.Adj{Kind: dp.AdjBroadcast})
	if a != 2 || b != 1 || c != 4 {
		t.Fatalf("after freeing 1 and 2, Alloc gave %d %d %d; want 2 1 4", a, b, c)
	}
	if tb.Get(2).Kind != dp.AdjLocal || tb.Refs(2) != 0 {
		t.Fatalf("reused adjacency 2: %+v refs %d", tb.Get(2), tb.Refs(2))
	}
	tb.Free(0)
	if d, _ := tb.Alloc(dp.Adj{}); d == 0 {
		t.Fatal("Free(0) put index 0 on the free list")
	}
}

// TestFull: no index past the limit (fib.MaxNextHop in New); a freed
// one is usable again.
func TestFull(t *testing.T) {
	if New().max != fib.MaxNextHop {
		t.Fatalf("New's limit %d, want fib.MaxNextHop %d", New().max, fib.MaxNextHop)
	}
	tb := newMax(3)
	for i := 1; i <= 3; i++ {
		if a, err := tb.Alloc(dp.Adj{}); err != nil || a != uint16(i) {
			t.Fatalf("alloc %d: %d, %v", i, a, err)
		}
	}
	if _, err := tb.Alloc(dp.Adj{}); !errors.Is(err, ErrFull) {
		t.Fatalf("alloc past the limit: %v, want ErrFull", err)
	}
	tb.Free(2)
	if a, err := tb.Alloc(dp.Adj{}); err != nil || a != 2 {
		t.Fatalf("alloc after a free: %d, %v; want 2", a, err)
	}
}

// TestRefsSetMTUSnapshot: reference counting, Set's change report,
// SetMTU touching only the interface's adjacencies that have an MTU, and
// a Snapshot that later changes do not reach.
func TestRefsSetMTUSnapshot(t *testing.T) {
	tb := New()
	g, _ := tb.Alloc(dp.Adj{Kind: dp.AdjGlean, Iface: 1, MTU: 1500})
	bc, _ := tb.Alloc(dp.Adj{Kind: dp.AdjBroadcast, Iface: 1})
	o, _ := tb.Alloc(dp.Adj{Kind: dp.AdjGlean, Iface: 2, MTU: 1500})
	tb.Ref(g)
	tb.Ref(g)
	if n := tb.Unref(g); n != 1 || tb.Refs(g) != 1 {
		t.Fatalf("Unref left %d (Refs %d), want 1", n, tb.Refs(g))
	}
	snap := tb.Snapshot()
	if !tb.SetMTU(1, 1400) {
		t.Fatal("SetMTU reported no change")
	}
	if tb.SetMTU(1, 1400) {
		t.Fatal("SetMTU to the same MTU reported a change")
	}
	if tb.Get(g).MTU != 1400 || tb.Get(bc).MTU != 0 || tb.Get(o).MTU != 1500 {
		t.Fatalf("after SetMTU(1, 1400): glean %d, broadcast %d, other interface %d; want 1400 0 1500",
			tb.Get(g).MTU, tb.Get(bc).MTU, tb.Get(o).MTU)
	}
	if snap[g].MTU != 1500 {
		t.Fatalf("the snapshot changed with the table: MTU %d", snap[g].MTU)
	}
	a := tb.Get(o)
	if tb.Set(o, a) {
		t.Fatal("Set of the same adjacency reported a change")
	}
	a.Kind = dp.AdjDrop
	if !tb.Set(o, a) || tb.Get(o).Kind != dp.AdjDrop {
		t.Fatal("Set did not replace the adjacency")
	}
}
