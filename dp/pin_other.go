//go:build !linux

package dp

import (
	"errors"
	"runtime"
)

// AllowedCPUs returns the CPUs the process may run on: without Linux's
// affinity calls, 0 to runtime.NumCPU()-1.
func AllowedCPUs() []int {
	cpus := make([]int, runtime.NumCPU())
	for i := range cpus {
		cpus[i] = i
	}
	return cpus
}

func pinThread(cpu int) (func() bool, error) {
	return nil, errors.New("pinning a worker to a CPU needs Linux; leave the worker unpinned")
}

func realTime(prio int) (func() bool, error) {
	return nil, errors.New("a real-time worker needs Linux; leave the worker at normal priority")
}

// setNice: a thread's nice value needs Linux. The *NiceError wraps
// errors.ErrUnsupported (its Have is 0: not read).
func setNice(nice int) (func() bool, error) {
	return nil, &NiceError{Want: nice, Err: errors.ErrUnsupported}
}

func threadID() int { return 0 }

// KeepOnCPUs needs Linux.
func KeepOnCPUs(cpus []int, keep []int) (int, error) {
	return 0, errors.New("keeping the control plane on CPUs of its own needs Linux; leave it off")
}

// ReleaseCPUs: KeepOnCPUs needs Linux, nothing to release.
func ReleaseCPUs() error { return nil }

// ThreadCPUs needs Linux: nil.
func ThreadCPUs(tid int) []int { return nil }
