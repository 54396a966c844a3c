package control

import "net/netip"

// DropFIBEntryForTest removes p from the FIB behind the router's back (no
// reference counts, no configured set), to test how the router recovers.
func (r *Router) DropFIBEntryForTest(p netip.Prefix) {
	r.mu.Lock()
	defer r.mu.Unlock()
	_ = r.fib.Delete(p)
	r.dirty = true
}
