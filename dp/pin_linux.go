//go:build linux

package dp

import (
	"fmt"

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
		return nil, fmt.Errorf("pin to CPU %d: not a CPU this process may run on (allowed: %s); pick one of those or leave the worker unpinned", cpu, cpuList(cpusOf(&old)))
	}
	var set unix.CPUSet
	set.Set(cpu)
	if err := unix.SchedSetaffinity(0, &set); err != nil {
		return nil, fmt.Errorf("pin to CPU %d: %w", cpu, err)
	}
	return func() bool { return unix.SchedSetaffinity(0, &old) == nil }, nil
}

// threadID is the kernel's ID of the calling thread.
func threadID() int { return unix.Gettid() }
