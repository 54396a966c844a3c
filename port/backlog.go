package port

// Backlogger is an optional interface for a port that knows how many
// received frames wait in a queue's ring: a NIC's receive descriptors, or
// mem.RateGen's modelled ring. The worker asks once per poll, and only
// when Recv filled a whole batch, to count livelocks (a poll at its budget
// while the ring kept filling; see dp.Counters.Livelocks). It must not
// allocate, lock or make a syscall.
type Backlogger interface {
	// Backlog is the number of frames pending in queue's ring after the
	// last Recv on it (0 for a queue the port does not have).
	Backlog(queue int) int
}
