package api_test

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/softnet/softnet/api"
	"github.com/softnet/softnet/port/mem"
)

// TestCapture runs two captures at once through POST /v1/capture while
// frames arrive: one of lan0's rx with a filter and a count, one of the
// blackhole drops; each gets its packets and ends with its count; a bad
// filter is refused with its column; a capture of nothing ends at its
// timeout.
func TestCapture(t *testing.T) {
	r, _, c, _ := start(t, configText("  - {prefix: 203.0.113.0/24, blackhole: true}", "", 1000))
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	lan := r.Port("lan0").(*mem.Queue)
	type result struct {
		evs []api.CaptureEvent
		err error
	}
	run := func(q api.CaptureRequest, out chan<- result, started chan<- struct{}) {
		var res result
		first := true
		res.err = c.Capture(ctx, q, func(ev *api.CaptureEvent) error {
			if first && started != nil {
				close(started)
			}
			first = false
			res.evs = append(res.evs, *ev)
			return nil
		})
		out <- res
	}
	fwdDone, dropDone := make(chan result, 1), make(chan result, 1)
	s1, s2 := make(chan struct{}), make(chan struct{})
	go run(api.CaptureRequest{Interface: "lan0", Rx: true, Filter: "udp and dst net 198.18.0.0/15", Count: 3, Snaplen: 34}, fwdDone, s1)
	go run(api.CaptureRequest{Drop: true, Reason: "ip4-lookup/blackhole", Count: 2}, dropDone, s2)
	<-s1 // the first event (a stats line) says the capture is installed
	<-s2
	fwd := udpTo(netip.MustParseAddr("198.18.0.7"))
	bh := udpTo(netip.MustParseAddr("203.0.113.9"))
	var fr, dr result
	var pushed uint64
	for fr.evs == nil || dr.evs == nil {
		lan.Push(fwd, bh)
		pushed += 2
		select {
		case fr = <-fwdDone:
		case dr = <-dropDone:
		case <-time.After(20 * time.Millisecond):
		}
	}
	check := func(name string, res result, n int, want func(ev api.CaptureEvent) string) {
		t.Helper()
		if res.err != nil {
			t.Fatalf("%s: %v", name, res.err)
		}
		pkts := 0
		for _, ev := range res.evs {
			if ev.Type == "packet" {
				pkts++
				if s := want(ev); s != "" {
					t.Errorf("%s: packet %+v: %s", name, ev, s)
				}
			}
		}
		last := res.evs[len(res.evs)-1]
		if pkts != n || last.Type != "end" || last.End != "count" || last.Captured != uint64(n) {
			t.Fatalf("%s: %d packets, last event %+v; want %d and the end by count", name, pkts, last, n)
		}
	}
	check("rx capture", fr, 3, func(ev api.CaptureEvent) string {
		if ev.Interface != "lan0" || ev.Point != "rx" || ev.Len != len(fwd) || !bytes.Equal(ev.Data, fwd[:34]) {
			return "want lan0 rx, the forwarded frame's first 34 bytes"
		}
		return ""
	})
	check("drop capture", dr, 2, func(ev api.CaptureEvent) string {
		if ev.Point != "drop" || ev.Reason != "ip4-lookup/blackhole" || ev.Interface != "lan0" || !bytes.Equal(ev.Data, bh) {
			return "want the blackholed frame dropped as ip4-lookup/blackhole"
		}
		return ""
	})
	if n := r.Control().Captures(); n != 0 {
		t.Fatalf("%d captures still installed after both ended", n)
	}
	// Bad requests say what is wrong.
	for _, tc := range []struct {
		q    api.CaptureRequest
		want string
	}{
		{api.CaptureRequest{Filter: "tcp port foo"}, "column 10"},
		{api.CaptureRequest{Interface: "nope"}, `no interface "nope": give one of lan0, wan0`},
		{api.CaptureRequest{Drop: true, Reason: "nope"}, `no drop reason "nope"`},
		{api.CaptureRequest{Timeout: "-1s"}, "timeout"},
	} {
		var ae *api.APIError
		err := c.Capture(ctx, tc.q, func(*api.CaptureEvent) error { return nil })
		if !errors.As(err, &ae) || ae.Status != http.StatusBadRequest || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: %v, want 400 with %q", tc.q, err, tc.want)
		}
	}
	// Nothing arrives: the timeout ends it, with nothing captured. The
	// feed above may still have frames on their way (a loaded machine):
	// every one received and counted first, so none reaches this capture.
	waitFor(t, "the feed's frames received and counted", func() bool { return r.Counters().RxPackets[0] == pushed })
	var last api.CaptureEvent
	t0 := time.Now()
	if err := c.Capture(ctx, api.CaptureRequest{Interface: "wan0", Timeout: "300ms"}, func(ev *api.CaptureEvent) error { last = *ev; return nil }); err != nil {
		t.Fatal(err)
	}
	if last.Type != "end" || last.End != "timeout" || last.Captured != 0 || time.Since(t0) < 300*time.Millisecond {
		t.Fatalf("idle capture: last event %+v after %v", last, time.Since(t0))
	}
}

// TestCaptureClientGone: a capture with neither count nor timeout whose
// client goes away (its context cancelled mid-stream) is removed from the
// router, and its handler returns.
func TestCaptureClientGone(t *testing.T) {
	r, _, c, _ := start(t, configText("", "", 1000))
	for round := range 3 {
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() {
			done <- c.Capture(ctx, api.CaptureRequest{Interface: "lan0"}, func(ev *api.CaptureEvent) error {
				cancel() // gone after the first event
				return nil
			})
		}()
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			t.Fatalf("round %d: the client did not return", round)
		}
		deadline := time.Now().Add(30 * time.Second)
		for r.Control().Captures() != 0 {
			if time.Now().After(deadline) {
				t.Fatalf("round %d: %d captures still installed 30 s after the client went away", round, r.Control().Captures())
			}
			time.Sleep(10 * time.Millisecond)
		}
		cancel()
	}
}

// TestCaptureLimit: at most api.MaxCaptures captures stream at once
// (each holds a ring per worker, up to 64 MiB): one more is refused (503,
// saying so) and installs nothing; once one ends, another starts.
func TestCaptureLimit(t *testing.T) {
	r, _, c, _ := start(t, configText("", "", 1000))
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	const n = api.MaxCaptures
	cancels := make([]context.CancelFunc, n)
	done := make(chan error, n)
	for i := range n {
		cctx, cc := context.WithCancel(ctx)
		cancels[i] = cc
		started := make(chan struct{})
		go func() {
			once := false
			done <- c.Capture(cctx, api.CaptureRequest{Interface: "lan0", Buffer: 4096}, func(*api.CaptureEvent) error {
				if !once {
					once = true
					close(started)
				}
				return nil
			})
		}()
		select {
		case <-started:
		case err := <-done:
			t.Fatalf("capture %d: %v", i, err)
		case <-ctx.Done():
			t.Fatalf("capture %d did not start", i)
		}
	}
	var ae *api.APIError
	err := c.Capture(ctx, api.CaptureRequest{Interface: "lan0", Buffer: 4096}, func(*api.CaptureEvent) error { return nil })
	if !errors.As(err, &ae) || ae.Status != http.StatusServiceUnavailable || !strings.Contains(err.Error(), "at most") {
		t.Fatalf("capture %d: %v, want 503 saying at most %d", n+1, err, n)
	}
	if got := r.Control().Captures(); got != n {
		t.Fatalf("%d captures installed, want %d", got, n)
	}
	cancels[0]()
	<-done
	for {
		err := c.Capture(ctx, api.CaptureRequest{Interface: "lan0", Timeout: "10ms"}, func(*api.CaptureEvent) error { return nil })
		if err == nil {
			break
		}
		if !errors.As(err, &ae) || ae.Status != http.StatusServiceUnavailable || ctx.Err() != nil {
			t.Fatalf("after one ended: %v", err)
		}
		time.Sleep(10 * time.Millisecond)
	}
	for _, cc := range cancels {
		cc()
	}
}

// TestCaptureTimeoutSlowReader: a capture's --timeout ends it in the
// router at the timeout even when its reader is slow (softnet capture
// --timeout 3s -w - | a pipe that stalls): it captured on, and counted
// ring drops, until the reader caught up.
func TestCaptureTimeoutSlowReader(t *testing.T) {
	r, _, c, _ := start(t, configText("", "", 1000))
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	lan := r.Port("lan0").(*mem.Queue)
	started, release := make(chan struct{}), make(chan struct{})
	done := make(chan error, 1)
	var last api.CaptureEvent
	go func() {
		first := true
		done <- c.Capture(ctx, api.CaptureRequest{Interface: "lan0", Rx: true, Timeout: "500ms"}, func(ev *api.CaptureEvent) error {
			if first {
				first = false
				close(started)
				<-release // the reader stalls: the router's writes fill the socket
			}
			last = *ev
			return nil
		})
	}()
	<-started
	t0 := time.Now()
	frame := udpTo(netip.MustParseAddr("198.18.0.7"))
	batch := make([][]byte, 200)
	for i := range batch {
		batch[i] = frame
	}
	for time.Since(t0) < 400*time.Millisecond {
		lan.Push(batch...)
		time.Sleep(2 * time.Millisecond)
	}
	waitFor(t, "the capture to end in the router at its timeout while its reader stalls", func() bool { return r.Control().Captures() == 0 })
	if el := time.Since(t0); el > 3*time.Second {
		t.Errorf("the capture ended in the router %v after it started, want about 500ms", el)
	}
	close(release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if last.Type != "end" || last.End != "timeout" {
		t.Fatalf("last event %+v, want the end by timeout", last)
	}
}
