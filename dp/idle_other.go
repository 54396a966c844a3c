//go:build !linux

package dp

import (
	"runtime"
	"time"
)

type pollFD struct{}

func newEventFD() int           { return -1 }
func signalFD(int, *[8]byte)    {}
func closeFD(int)               {}
func setTimerSlack(int) int     { return 0 }
func nanosleep(d time.Duration) { time.Sleep(d) }

// sleep naps: without poll(2) and eventfd, an idle worker sleeps on a
// timer (see idle.go).
func (w *Worker) sleep() { w.nap() }

// osYield yields the processor (no locked-thread yield here).
func osYield() { runtime.Gosched() }
