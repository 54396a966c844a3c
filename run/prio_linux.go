package run

import "golang.org/x/sys/unix"

// lowerThreadPriority sets the calling thread's nice value to at least
// reloadNice (a thread may always lower its own priority), so that the
// scheduler gives the workers' threads the CPU first while it runs. The
// caller has locked the goroutine to the thread and never unlocks it: the
// thread ends with the goroutine, its priority with it.
func lowerThreadPriority() {
	tid := unix.Gettid()
	// The raw getpriority returns 20 - nice.
	if p, err := unix.Getpriority(unix.PRIO_PROCESS, tid); err == nil && 20-p >= reloadNice {
		return
	}
	_ = unix.Setpriority(unix.PRIO_PROCESS, tid, reloadNice)
}

// mainThread reports whether the calling thread is the process's main
// thread, which the Go runtime never ends.
func mainThread() bool { return unix.Gettid() == unix.Getpid() }
