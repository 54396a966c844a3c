package dp

// ThreadID is the kernel's ID of the thread w.Run runs on (valid once
// Start returned).
func ThreadID(w *Worker) int { return w.tid }

// SetBridgeClock makes w's bridge clock f (milliseconds, > 0).
func SetBridgeClock(w *Worker, f func() int64) { w.bridgeClock = f }
