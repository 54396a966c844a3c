//go:build linux

package dp

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"sync"

	"golang.org/x/sys/unix"
)

// AllowedCPUs returns the CPUs the calling thread may run on (the
// process's affinity mask as taskset, cgroup cpusets or a container set
// it), in increasing order; nil if the kernel would not say.
func AllowedCPUs() []int {
	var set unix.CPUSet
	if err := unix.SchedGetaffinity(0, &set); err != nil {
		return nil
	}
	return cpusOf(&set)
}

func cpusOf(set *unix.CPUSet) []int {
	var cpus []int
	for c := range len(set) * 64 {
		if set.IsSet(c) {
			cpus = append(cpus, c)
		}
	}
	return cpus
}

// pinThread pins the calling thread, which must be locked to its
// goroutine, to cpu alone. It refuses a CPU outside the thread's current
// mask (the kernel would refuse one outside a cpuset, but silently
// accepts one merely outside a taskset mask). restore puts the old mask
// back and reports whether it could.
func pinThread(cpu int) (restore func() bool, err error) {
	var old unix.CPUSet
	if err := unix.SchedGetaffinity(0, &old); err != nil {
		return nil, fmt.Errorf("pin to CPU %d: reading the allowed CPUs: %w", cpu, err)
	}
	if cpu < 0 || cpu >= len(old)*64 || !old.IsSet(cpu) {
		return nil, fmt.Errorf("pin to CPU %d: not a CPU this process may run on (allowed: %s); pick one of those or leave the worker unpinned", cpu, CPUList(cpusOf(&old)))
	}
	var set unix.CPUSet
	set.Set(cpu)
	if err := unix.SchedSetaffinity(0, &set); err != nil {
		return nil, fmt.Errorf("pin to CPU %d: %w", cpu, err)
	}
	return func() bool {
		// Back among the control plane's threads: to its CPUs while
		// KeepOnCPUs is in force, not onto the workers'.
		back := old
		if set, ok := controlSet(); ok {
			back = set
		}
		return unix.SchedSetaffinity(0, &back) == nil
	}, nil
}

// kept is what KeepOnCPUs put in force: the control plane's CPUs, and the
// mask the process had before (ReleaseCPUs puts it back).
var kept struct {
	mu   sync.Mutex
	on   bool
	set  unix.CPUSet
	orig unix.CPUSet
}

// controlSet returns the control plane's CPUs while KeepOnCPUs is in force.
func controlSet() (unix.CPUSet, bool) {
	kept.mu.Lock()
	defer kept.mu.Unlock()
	return kept.set, kept.on
}

// realTime puts the calling thread, which must be locked to its
// goroutine, in SCHED_FIFO at priority prio (1 to 99). restore puts its
// old class, priority and nice value back and reports whether it could.
func realTime(prio int) (restore func() bool, err error) {
	if prio < 1 || prio > 99 {
		return nil, fmt.Errorf("real-time priority %d: give 1 to 99 (SCHED_FIFO's range), or 0 for the normal scheduling class", prio)
	}
	old, err := unix.SchedGetAttr(0, 0)
	if err != nil {
		return nil, fmt.Errorf("real-time priority %d: reading the thread's scheduling class: %w", prio, err)
	}
	attr := unix.SchedAttr{Size: unix.SizeofSchedAttr, Policy: unix.SCHED_FIFO, Priority: uint32(prio)}
	if err := unix.SchedSetAttr(0, &attr, 0); err != nil {
		if errors.Is(err, unix.EPERM) {
			return nil, fmt.Errorf("real-time priority %d (SCHED_FIFO): %w: it needs root (CAP_SYS_NICE) and, under cgroup v1 CPU control, a real-time budget; run as root or leave the worker at normal priority", prio, err)
		}
		return nil, fmt.Errorf("real-time priority %d (SCHED_FIFO): %w", prio, err)
	}
	return func() bool {
		back := unix.SchedAttr{Size: unix.SizeofSchedAttr, Policy: old.Policy, Flags: old.Flags & unix.SCHED_FLAG_RESET_ON_FORK, Nice: old.Nice, Priority: old.Priority}
		return unix.SchedSetAttr(0, &back, 0) == nil
	}, nil
}

// setNice sets the calling thread's nice value (it must be locked to its
// goroutine) to nice. restore puts the old value back and reports
// whether it could. A refusal is a *NiceError with the nice value the
// thread keeps.
func setNice(nice int) (restore func() bool, err error) {
	if nice < -20 || nice > 19 {
		return nil, fmt.Errorf("worker nice %d: give -20 to 19 (negative: before the control plane), or 0 to leave it", nice)
	}
	tid := unix.Gettid()
	p, err := unix.Getpriority(unix.PRIO_PROCESS, tid)
	if err != nil {
		return nil, fmt.Errorf("worker nice %d: reading the thread's nice value: %w", nice, err)
	}
	old := 20 - p // the raw system call returns 20 - nice
	if err := unix.Setpriority(unix.PRIO_PROCESS, tid, nice); err != nil {
		return nil, &NiceError{Want: nice, Have: old, Err: err}
	}
	return func() bool { return unix.Setpriority(unix.PRIO_PROCESS, tid, old) == nil }, nil
}

// threadID is the kernel's ID of the calling thread.
func threadID() int { return unix.Gettid() }

// KeepOnCPUs confines every thread of the process but those in keep (the
// workers' threads, ThreadID) to cpus: the Go runtime's threads, and so
// the goroutines of the control plane, linux_cp's reader and applier, the
// API and the garbage collector, stay off the CPUs the pinned workers
// have, as VPP's main thread keeps to its main core. A thread the runtime
// starts later inherits the mask of the thread that starts it: one of
// these, or the runtime's template thread (a locked worker thread never
// starts one itself), which is one of these too. It makes passes over
// /proc/self/task until one finds no thread it had not seen, at most 10:
// if every one found new threads, it returns an error (a thread started
// after the last may run on the workers' CPUs). It returns the number of
// threads it moved. A worker thread that stops goes back to cpus, not to
// the process's mask, while the restriction lasts; ReleaseCPUs ends it.
func KeepOnCPUs(cpus []int, keep []int) (int, error) {
	var set unix.CPUSet
	for _, c := range cpus {
		if c < 0 || c >= len(set)*64 {
			return 0, fmt.Errorf("control-plane CPUs %s: CPU %d out of range", CPUList(cpus), c)
		}
		set.Set(c)
	}
	if set.Count() == 0 {
		return 0, fmt.Errorf("control-plane CPUs: none given")
	}
	kept.mu.Lock()
	if !kept.on {
		// The calling thread, a control thread, has the process's mask.
		if err := unix.SchedGetaffinity(0, &kept.orig); err != nil {
			kept.mu.Unlock()
			return 0, fmt.Errorf("control-plane CPUs %s: reading the process's CPUs: %w", CPUList(cpus), err)
		}
	}
	kept.on, kept.set = true, set
	kept.mu.Unlock()
	seen := map[int]bool{}
	for _, t := range keep {
		seen[t] = true
	}
	moved := 0
	for pass := 0; pass < keepPasses; pass++ {
		ents, err := os.ReadDir("/proc/self/task")
		if err != nil {
			return moved, fmt.Errorf("control-plane CPUs: listing the process's threads: %w", err)
		}
		fresh := false
		for _, e := range ents {
			tid, err := strconv.Atoi(e.Name())
			if err != nil || seen[tid] {
				continue
			}
			seen[tid], fresh = true, true
			if err := unix.SchedSetaffinity(tid, &set); err != nil {
				if errors.Is(err, unix.ESRCH) { // ended meanwhile
					continue
				}
				return moved, fmt.Errorf("control-plane CPUs %s: thread %d: %w", CPUList(cpus), tid, err)
			}
			moved++
		}
		if !fresh {
			return moved, nil
		}
	}
	return moved, fmt.Errorf("control-plane CPUs %s: %d passes over the process's threads each found new ones (%d moved): a thread started since may run on the workers' CPUs", CPUList(cpus), keepPasses, moved)
}

// ReleaseCPUs ends what KeepOnCPUs put in force: every thread on the
// control plane's CPUs gets the process's mask from before back (a
// worker's pinned thread keeps its CPU), so that a router started again
// in the process finds all its CPUs (AllowedCPUs). Without KeepOnCPUs in
// force it does nothing.
func ReleaseCPUs() error {
	kept.mu.Lock()
	if !kept.on {
		kept.mu.Unlock()
		return nil
	}
	kept.on = false
	set, orig := kept.set, kept.orig
	kept.mu.Unlock()
	if set == orig {
		return nil // kept on every CPU: nothing moved
	}
	// Passes until one finds no thread still on the control set (one
	// started meanwhile inherits it from its creator).
	for pass := 0; pass < keepPasses; pass++ {
		ents, err := os.ReadDir("/proc/self/task")
		if err != nil {
			return fmt.Errorf("releasing the control-plane CPUs: listing the process's threads: %w", err)
		}
		found := false
		for _, e := range ents {
			tid, err := strconv.Atoi(e.Name())
			if err != nil {
				continue
			}
			var cur unix.CPUSet
			if unix.SchedGetaffinity(tid, &cur) != nil || cur != set {
				continue // ended, or not one KeepOnCPUs moved
			}
			found = true
			if err := unix.SchedSetaffinity(tid, &orig); err != nil && !errors.Is(err, unix.ESRCH) {
				return fmt.Errorf("releasing the control-plane CPUs: thread %d: %w", tid, err)
			}
		}
		if !found {
			return nil
		}
	}
	return fmt.Errorf("releasing the control-plane CPUs: %d passes over the process's threads each found one still on them", keepPasses)
}

// ThreadCPUs returns the CPUs thread tid may run on (nil if the kernel
// would not say).
func ThreadCPUs(tid int) []int {
	var set unix.CPUSet
	if err := unix.SchedGetaffinity(tid, &set); err != nil {
		return nil
	}
	return cpusOf(&set)
}
