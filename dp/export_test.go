package dp

// ThreadID is the kernel's ID of the thread w.Run runs on (valid once
// Start returned).
func ThreadID(w *Worker) int { return w.tid }
