// Package adj is the control plane's adjacency allocator: the table whose
// index is a FIB next-hop index (dp.Config.Adj once published), each
// adjacency's reference count (the routes pointing at it) and the free
// list of indices to reuse.
//
// Index 0 is dp.AdjNone ("no route") and is never handed out; at most
// fib.MaxNextHop indices exist, since that is what a FIB entry can hold.
// The table only allocates and counts: what an adjacency means (local,
// glean, a neighbour's rewrite) and when it is freed are package
// control's decisions.
//
// Hot path: no. A Table belongs to control.Router and is guarded by its
// mutex; the data plane sees only the copies Snapshot returns.
package adj
