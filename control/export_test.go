package control

import (
	"net/netip"
	"time"
)

// DropFIBEntryForTest removes p from the FIB behind the router's back (no
// reference counts, no configured set), to test how the router recovers.
func (r *Router) DropFIBEntryForTest(p netip.Prefix) {
	r.mu.Lock()
	defer r.mu.Unlock()
	_ = r.fib.Delete(p)
	r.dirty = true
}

// WakesForTest is how many times the service loop (Run) woke from a sleep.
func (r *Router) WakesForTest() uint64 { return r.wakes.Load() }

// NextTimerForTest is when the service loop would wake for a neighbour
// timer, and false if it would sleep until rung.
func (r *Router) NextTimerForTest() (time.Time, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.nextTimer()
}

// SetReplaceHookForTest sets a function a full-table replace calls each
// time it has let go of the router's lock midway (replaceRoutes' yield).
func (r *Router) SetReplaceHookForTest(f func()) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.replaceHook = f
}

// LockForTest takes the router's lock (as a long batch holds it) and
// returns the function that lets it go.
func (r *Router) LockForTest() (unlock func()) {
	r.mu.Lock()
	return r.mu.Unlock
}
