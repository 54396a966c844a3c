package netns

import (
	"errors"
	"fmt"
	"runtime"

	"golang.org/x/sys/unix"
)

// setns is unix.Setns; tests replace it to make a switch fail.
var setns = unix.Setns

// Do runs f on an OS thread that has entered namespace ns, then moves the
// thread back to the namespace it came from. Sockets and ioctls f makes
// belong to ns. f must not start goroutines that expect to run in ns:
// only this thread is moved.
//
// f runs on a goroutine of its own (Do waits for it; a panic in f is
// raised again in the caller), locked to its thread. If the thread cannot
// be moved back, that goroutine ends with the thread still locked, so the
// Go runtime terminates the thread instead of running anything else on it
// in ns; the caller's goroutine never ran there. The error then says so,
// joined with f's.
func Do(ns string, f func() error) error {
	type result struct {
		err   error
		panic any
		ok    bool // f returned (did not panic)
	}
	done := make(chan result, 1)
	go func() {
		var r result
		defer func() {
			if !r.ok {
				r.panic = recover()
			}
			done <- r
		}()
		r.err = do(ns, f)
		r.ok = true
	}()
	r := <-done
	if !r.ok {
		panic(r.panic)
	}
	return r.err
}

// do is Do on the calling goroutine, which it leaves locked to its thread
// when the thread stays in ns (the goroutine must end then).
func do(ns string, f func() error) error {
	runtime.LockOSThread()
	orig, err := unix.Open("/proc/thread-self/ns/net", unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		runtime.UnlockOSThread()
		return fmt.Errorf("netns: %w", err)
	}
	defer unix.Close(orig)
	target, err := unix.Open("/run/netns/"+ns, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		runtime.UnlockOSThread()
		return fmt.Errorf("netns %s: %w", ns, err)
	}
	defer unix.Close(target)
	if err := setns(target, unix.CLONE_NEWNET); err != nil {
		runtime.UnlockOSThread()
		return fmt.Errorf("netns %s: setns: %w", ns, err)
	}
	back := false
	defer func() {
		// Unlocked only once back in the original namespace: otherwise
		// (setns failed, or f panicked) the goroutine ends locked and
		// the runtime discards the thread rather than reuse it in ns.
		if back {
			runtime.UnlockOSThread()
		}
	}()
	ferr := f()
	if err := setns(orig, unix.CLONE_NEWNET); err != nil {
		return errors.Join(fmt.Errorf("netns %s: returning to the original namespace failed (%w): the thread was discarded", ns, err), ferr)
	}
	back = true
	return ferr
}
