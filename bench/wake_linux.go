package bench

import (
	"context"
	"fmt"
	"runtime"
	"slices"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"
)

// Wake is the platform's floor under a router that blocks when idle: the
// round trip of a wake-up between two threads, each blocked in read(2) on
// an eventfd (Go threads, locked and pinned, as softnet's worker is),
// after a pause as long as the probes' (at most wakeGapMax), so both CPUs
// go idle in between as they do between probes. A round trip is two
// wake-ups. Cross is between the prober's side (cpu 0, or the prober's
// CPU) and the worker's CPU; Same is both threads on the worker's CPU.
// A frame that reaches an idle softnet worker from another CPU's softirq
// pays one cross-CPU wake-up (half of WakeCrossUs) that Linux, forwarding
// in the sender's softirq, does not.
type Wake struct {
	CrossUs    float64 `json:"wake_cross_us"` // p50 round trip, two CPUs (0: one CPU only)
	CrossP99Us float64 `json:"wake_cross_p99_us"`
	SameUs     float64 `json:"wake_same_us"` // p50 round trip, both on the worker's CPU
	SameP99Us  float64 `json:"wake_same_p99_us"`
	// CrossCPUs is the pair the cross figures used ("0-1"), SameCPU the
	// worker's CPU ("1"; "any": not pinned).
	CrossCPUs string `json:"wake_cross_cpus,omitempty"`
	SameCPU   string `json:"wake_same_cpu,omitempty"`
}

const (
	wakeSamples = 200                  // round trips per pair of CPUs
	wakeGapMax  = 5 * time.Millisecond // the longest pause before a round trip
)

// measureWake measures the wake-up round trips: between CPUs a and b
// (skipped when either is negative or a == b) and with both threads on
// CPU b (not pinned when b is negative), n round trips each, gap apart.
func measureWake(ctx context.Context, a, b, n int, gap time.Duration) (Wake, error) {
	var w Wake
	var err error
	if a >= 0 && b >= 0 && a != b {
		if w.CrossUs, w.CrossP99Us, err = wakeRTT(ctx, a, b, n, gap); err != nil {
			return w, err
		}
		w.CrossCPUs = fmt.Sprintf("%d-%d", a, b)
	}
	if w.SameUs, w.SameP99Us, err = wakeRTT(ctx, b, b, n, gap); err != nil {
		return w, err
	}
	w.SameCPU = "any"
	if b >= 0 {
		w.SameCPU = fmt.Sprint(b)
	}
	return w, nil
}

// wakeRTT is the p50 and p99, in µs, of n eventfd round trips between a
// thread on CPU a and one on CPU b (negative: not pinned), gap apart.
func wakeRTT(ctx context.Context, a, b, n int, gap time.Duration) (p50, p99 float64, err error) {
	ping, err := unix.Eventfd(0, unix.EFD_CLOEXEC)
	if err != nil {
		return 0, 0, fmt.Errorf("wake baseline: eventfd: %w", err)
	}
	defer unix.Close(ping)
	pong, err := unix.Eventfd(0, unix.EFD_CLOEXEC)
	if err != nil {
		return 0, 0, fmt.Errorf("wake baseline: eventfd: %w", err)
	}
	defer unix.Close(pong)
	var stop atomic.Bool
	ready, echoed := make(chan error, 1), make(chan error, 1)
	go func() {
		restore, err := lockPinned(b)
		ready <- err
		if err != nil {
			return
		}
		defer restore()
		var buf [8]byte
		one := [8]byte{1}
		for {
			if _, err := unix.Read(ping, buf[:]); err != nil && err != unix.EINTR {
				echoed <- fmt.Errorf("wake baseline: read: %w", err)
				return
			}
			if stop.Load() {
				echoed <- nil
				return
			}
			unix.Write(pong, one[:])
		}
	}()
	if err := <-ready; err != nil {
		return 0, 0, fmt.Errorf("wake baseline: %w", err)
	}
	restore, err := lockPinned(a)
	if err != nil {
		stop.Store(true)
		unix.Write(ping, []byte{1, 0, 0, 0, 0, 0, 0, 0})
		<-echoed
		return 0, 0, fmt.Errorf("wake baseline: %w", err)
	}
	us := make([]float64, 0, n)
	var buf [8]byte
	one := [8]byte{1}
	pause := unix.NsecToTimespec(gap.Nanoseconds())
	for i := 0; i < n && ctx.Err() == nil; i++ {
		unix.Nanosleep(&pause, nil) // not time.Sleep: about 1 ms more on a locked thread
		t0 := time.Now()
		unix.Write(ping, one[:])
		for {
			if _, err := unix.Read(pong, buf[:]); err != unix.EINTR {
				break
			}
		}
		us = append(us, float64(time.Since(t0).Nanoseconds())/1e3)
	}
	restore()
	stop.Store(true)
	unix.Write(ping, one[:])
	if err := <-echoed; err != nil {
		return 0, 0, err
	}
	if err := ctx.Err(); err != nil {
		return 0, 0, err
	}
	slices.Sort(us)
	return percentile(us, 50), percentile(us, 99), nil
}

// lockPinned locks the calling goroutine to its thread and pins that
// thread to cpu (not when cpu is negative). restore puts the thread's
// CPU mask back and unlocks it, so the runtime keeps the thread: a child
// started from a thread that ends gets SIGKILL (netns.Command's
// Pdeathsig), softnet among them. A thread whose mask cannot be put back
// stays locked and ends with its goroutine.
func lockPinned(cpu int) (restore func(), err error) {
	runtime.LockOSThread()
	if cpu < 0 {
		return runtime.UnlockOSThread, nil
	}
	var old, set unix.CPUSet
	if err := unix.SchedGetaffinity(0, &old); err != nil {
		runtime.UnlockOSThread()
		return nil, fmt.Errorf("pinning a thread to cpu %d: %w", cpu, err)
	}
	set.Set(cpu)
	if err := unix.SchedSetaffinity(0, &set); err != nil {
		runtime.UnlockOSThread()
		return nil, fmt.Errorf("pinning a thread to cpu %d: %w (pick a CPU this process may run on)", cpu, err)
	}
	return func() {
		if unix.SchedSetaffinity(0, &old) == nil {
			runtime.UnlockOSThread()
		}
	}, nil
}
