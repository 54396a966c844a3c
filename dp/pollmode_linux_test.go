package dp_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/softnet/softnet/dp"
	"github.com/softnet/softnet/dp/dptest"
	"github.com/softnet/softnet/hdr"
)

// pollModeLab is the dptest lab with its worker running in mode m.
func pollModeLab(t *testing.T, o dptest.Options, m dp.PollMode, window time.Duration) *dptest.Lab {
	t.Helper()
	l := dptest.New(t, o)
	dp.SetIdleTimeout(l.Worker, time.Hour)
	dp.SetPollMode(l.Worker, m, window)
	if err := l.Worker.Start(); err != nil {
		t.Fatal(err)
	}
	return l
}

// stopsPromptly fails unless w.Stop returns within a generous bound.
func stopsPromptly(t *testing.T, w *dp.Worker) {
	t.Helper()
	done := make(chan struct{})
	go func() {
		w.Stop()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Stop did not stop the running worker")
	}
}

// TestPollingForwardsInjectsAndStops: a worker in polling mode never
// sleeps in poll(2), forwards what reaches its queues, sends what the
// control plane injects (an ARP request for a packet waiting for
// resolution: no eventfd wake-up, the polling loop must drain the inject
// ring itself), and stops when asked.
func TestPollingForwardsInjectsAndStops(t *testing.T) {
	l := pollModeLab(t, dptest.Options{NoStatic: true}, dp.PollPolling, 0)
	stopped := false
	t.Cleanup(func() {
		if !stopped {
			l.Worker.Stop()
		}
	})
	l.Ports[0].Push(dptest.IPv4Frame(dptest.R0MAC, dptest.HostAMAC, dptest.HostA, dptest.HostB, hdr.ProtoUDP, 64, false, dptest.UDP(1000, 53, 20)))
	waitFor(t, "no resolve punted by the polling worker", func() bool { return l.Worker.Punt().Len() > 0 })
	l.Router.Service() // punt -> ARP request -> inject ring
	var out [][]byte
	waitFor(t, "the polling worker did not send the injected ARP request", func() bool {
		out = append(out, l.Out(1)...)
		return len(out) > 0
	})
	if f := out[0]; len(f) < 14 || f[12] != 0x08 || f[13] != 0x06 {
		t.Fatalf("sent % x, want an ARP request", f)
	}
	if in, what := threadIn(dp.ThreadID(l.Worker)); in {
		t.Fatalf("the polling worker's thread is asleep in poll(2) (%s)", what)
	}
	if n := dp.Sleeps(l.Worker); n != 0 {
		t.Fatalf("the polling worker slept %d times in poll(2), want 0", n)
	}
	stopsPromptly(t, l.Worker)
	stopped = true
	if n := dp.Sleeps(l.Worker); n != 0 {
		t.Fatalf("the polling worker slept %d times in poll(2), want 0", n)
	}
}

// TestAdaptiveWindow: an adaptive worker polls through its window after
// the last frame and sleeps once it has passed. With a window of an hour
// it forwards frames and never sleeps; with a window of a microsecond it
// sleeps in poll(2) and a frame wakes it.
func TestAdaptiveWindow(t *testing.T) {
	frame := dptest.IPv4Frame(dptest.R0MAC, dptest.HostAMAC, dptest.HostA, remoteHost, hdr.ProtoUDP, 64, false, dptest.UDP(1000, 53, 20))
	t.Run("long", func(t *testing.T) {
		l := pollModeLab(t, dptest.Options{}, dp.PollAdaptive, time.Hour)
		for i := range 3 {
			l.Ports[0].Push(frame)
			var out [][]byte
			waitFor(t, fmt.Sprintf("frame %d not forwarded", i), func() bool {
				out = append(out, l.Out(1)...)
				return len(out) > 0
			})
			time.Sleep(5 * time.Millisecond) // idle, within the window
		}
		if n := dp.Sleeps(l.Worker); n != 0 {
			t.Fatalf("slept %d times in poll(2) within an hour's window, want 0", n)
		}
		stopsPromptly(t, l.Worker)
	})
	t.Run("short", func(t *testing.T) {
		l := pollModeLab(t, dptest.Options{}, dp.PollAdaptive, time.Microsecond)
		t.Cleanup(l.Worker.Stop)
		waitAsleep(t, l.Worker, 0)
		n := dp.Sleeps(l.Worker)
		l.Ports[0].Push(frame)
		var out [][]byte
		waitFor(t, "frame not forwarded by the sleeping adaptive worker", func() bool {
			out = append(out, l.Out(1)...)
			return len(out) > 0
		})
		waitAsleep(t, l.Worker, n)
	})
}

// TestInterruptSleeps: an interrupt worker sleeps in poll(2) when idle
// and a frame wakes it.
func TestInterruptSleeps(t *testing.T) {
	l := pollModeLab(t, dptest.Options{}, dp.PollInterrupt, 0)
	t.Cleanup(l.Worker.Stop)
	waitAsleep(t, l.Worker, 0)
	n := dp.Sleeps(l.Worker)
	l.Ports[0].Push(dptest.IPv4Frame(dptest.R0MAC, dptest.HostAMAC, dptest.HostA, remoteHost, hdr.ProtoUDP, 64, false, dptest.UDP(1000, 53, 20)))
	var out [][]byte
	waitFor(t, "frame not forwarded by the sleeping interrupt worker", func() bool {
		out = append(out, l.Out(1)...)
		return len(out) > 0
	})
	waitAsleep(t, l.Worker, n)
}

// TestParsePollMode: every mode's name parses back to it; anything else
// is refused with the choices.
func TestParsePollMode(t *testing.T) {
	for _, m := range []dp.PollMode{dp.PollInterrupt, dp.PollAdaptive, dp.PollPolling} {
		got, err := dp.ParsePollMode(m.String())
		if err != nil || got != m {
			t.Fatalf("ParsePollMode(%q) = %v, %v; want %v", m.String(), got, err, m)
		}
	}
	_, err := dp.ParsePollMode("busy")
	if err == nil || !strings.Contains(err.Error(), "interrupt") || !strings.Contains(err.Error(), "polling") {
		t.Fatalf("ParsePollMode(busy): %v, want an error naming the choices", err)
	}
}
