package netns

import (
	"context"
	"errors"
	"fmt"
	"os"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/softnet/softnet/internal/testenv"
	"golang.org/x/sys/unix"
)

// threadNS is the network namespace of the calling goroutine's thread.
func threadNS(t *testing.T) string {
	t.Helper()
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	l, err := os.Readlink("/proc/thread-self/ns/net")
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// TestDoReturnFails: when Do cannot move its thread back to the original
// namespace, the error says so (and keeps f's), the caller's goroutine is
// not left on that thread, and no goroutine gets the thread later (it is
// discarded, not reused).
func TestDoReturnFails(t *testing.T) {
	testenv.Root(t)
	ctx := context.Background()
	ns := fmt.Sprintf("sn-doback-%d", os.Getpid())
	if err := Add(ctx, ns); err != nil {
		testenv.Need(t, false, "ip netns add: "+err.Error())
	}
	t.Cleanup(func() { Delete(ctx, ns) })
	home := threadNS(t)

	var mu sync.Mutex
	calls := 0
	setns = func(fd, flags int) error {
		mu.Lock()
		calls++
		n := calls
		mu.Unlock()
		if n == 2 { // the way back
			return unix.EPERM
		}
		return unix.Setns(fd, flags)
	}
	t.Cleanup(func() { setns = unix.Setns })

	var inside string
	err := Do(ns, func() error {
		inside = threadNS(t)
		return errors.New("f's own failure")
	})
	if inside == home {
		t.Fatalf("f ran in the original namespace %s", inside)
	}
	if err == nil || !strings.Contains(err.Error(), "returning to the original namespace") || !strings.Contains(err.Error(), "f's own failure") {
		t.Errorf("Do = %v, want the failed return and f's error", err)
	}
	setns = unix.Setns
	if got := threadNS(t); got != home {
		t.Errorf("the caller's goroutine runs in %s after Do, want %s", got, home)
	}
	// Many goroutines, each on a thread of its own while it looks: none
	// is in the namespace Do could not leave.
	var wg sync.WaitGroup
	bad := make(chan string, 64)
	for range 64 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			if l, err := os.Readlink("/proc/thread-self/ns/net"); err == nil && l != home {
				bad <- l
			}
		}()
	}
	wg.Wait()
	close(bad)
	for l := range bad {
		t.Errorf("a goroutine ran on a thread in %s: the thread Do left there was reused", l)
	}
}
