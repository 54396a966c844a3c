package dp

import "time"

// ThreadID is the kernel's ID of the thread w.Run runs on (valid once
// Start returned).
func ThreadID(w *Worker) int { return w.tid }

// Sleeps is how many times w went to sleep in poll(2).
func Sleeps(w *Worker) uint64 { return w.sleeps() }

// SetIdleTimeout sets the timeout of w's sleeps in poll(2) (call it
// before Start).
func SetIdleTimeout(w *Worker, d time.Duration) { w.idleTO = d }

// SetScalar sets w's private scalar counter k and publishes.
func SetScalar(w *Worker, k Scalar, v uint64) {
	w.c.Scalars.array()[k] = v
	w.c.publish(&w.pub, true)
}

// SetGeneralPath makes w's stages skip their fast loops (and
// interface-output its one-interface shortcut, l2-bridge its last
// source and destination) when on, so every packet takes the general
// path (call it before w polls).
func SetGeneralPath(w *Worker, on bool) { w.general = on }

// SetPollMode sets w's poll mode and adaptive window (Options.PollMode,
// PollWindow; call it before Start).
func SetPollMode(w *Worker, m PollMode, window time.Duration) { w.mode, w.window = m, window }

// TapVisits is how many times w offered a packet to a tap entry (a
// tapList: one interface's or drop reason's captures).
func TapVisits(w *Worker) uint64 { return w.tapVisits }

// SetKeepPasses sets KeepOnCPUs' and ReleaseCPUs' limit of passes over the
// threads and returns the old one.
func SetKeepPasses(n int) int {
	old := keepPasses
	keepPasses = n
	return old
}
