package adj

import (
	"fmt"
	"slices"

	"github.com/softnet/softnet/dp"
	"github.com/softnet/softnet/fib"
)

// ErrFull is returned when every adjacency index a FIB entry can hold
// (fib.MaxNextHop) is in use.
var ErrFull = fmt.Errorf("adjacency table full (%d entries): too many neighbours and next hops; remove some or use fewer gateways", fib.MaxNextHop)

// Table is the adjacency table. The zero value is not usable: call New.
type Table struct {
	adj  []dp.Adj
	refs []int // routes pointing at each adjacency
	free []uint16
	max  int // the highest index Alloc hands out
}

// New returns a table holding only adjacency 0 (dp.AdjNone).
func New() *Table { return newMax(fib.MaxNextHop) }

func newMax(max int) *Table {
	return &Table{adj: []dp.Adj{{Kind: dp.AdjNone}}, refs: []int{0}, max: max}
}

// Alloc stores a in a free index (the most recently freed first) with no
// references, and returns the index; ErrFull when none is left.
func (t *Table) Alloc(a dp.Adj) (uint16, error) {
	if n := len(t.free); n > 0 {
		i := t.free[n-1]
		t.free = t.free[:n-1]
		t.adj[i] = a
		t.refs[i] = 0
		return i, nil
	}
	if len(t.adj) > t.max {
		return 0, ErrFull
	}
	t.adj = append(t.adj, a)
	t.refs = append(t.refs, 0)
	return uint16(len(t.adj) - 1), nil
}

// Free clears adjacency i and returns its index to the free list. The
// caller has taken every route off it. Free(0) does nothing: index 0 is
// "no route" for good.
func (t *Table) Free(i uint16) {
	if i == 0 {
		return
	}
	t.adj[i] = dp.Adj{}
	t.refs[i] = 0
	t.free = append(t.free, i)
}

// Get returns adjacency i.
func (t *Table) Get(i uint16) dp.Adj { return t.adj[i] }

// Set replaces adjacency i and reports whether it changed.
func (t *Table) Set(i uint16, a dp.Adj) bool {
	if t.adj[i] == a {
		return false
	}
	t.adj[i] = a
	return true
}

// Ref counts one more route through adjacency i.
func (t *Table) Ref(i uint16) { t.refs[i]++ }

// Unref counts one route less through adjacency i and returns how many
// are left.
func (t *Table) Unref(i uint16) int {
	t.refs[i]--
	return t.refs[i]
}

// Refs is the number of routes through adjacency i.
func (t *Table) Refs(i uint16) int { return t.refs[i] }

// Len is the number of indices in use or free, adjacency 0 included.
func (t *Table) Len() int { return len(t.adj) }

// InUse is the number of adjacencies allocated and not freed, adjacency
// 0 left out: the table's occupancy (a soak checks it does not grow).
func (t *Table) InUse() int { return len(t.adj) - 1 - len(t.free) }

// Max is the highest index Alloc hands out: the table's capacity.
func (t *Table) Max() int { return t.max }

// SetMTU gives mtu to every adjacency of interface iface that has an MTU
// (glean and neighbour adjacencies: those that transmit), and reports
// whether any changed.
func (t *Table) SetMTU(iface int, mtu int) bool {
	changed := false
	for i := range t.adj {
		if a := &t.adj[i]; int(a.Iface) == iface && a.MTU != 0 && a.MTU != uint16(mtu) {
			a.MTU = uint16(mtu)
			changed = true
		}
	}
	return changed
}

// Snapshot returns a copy of the table for a dp.Config: index = FIB
// next-hop index.
func (t *Table) Snapshot() []dp.Adj { return slices.Clone(t.adj) }
