package run

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/softnet/softnet/dp"
	"github.com/softnet/softnet/dp/tracefmt"
	"github.com/softnet/softnet/port/mem"
)

// TestTrace calls Router.Trace on a running two-worker router over mem
// ports while traffic flows: it returns the next packets, forwarded from
// lan0 to wan0, with the config's interface names; a concurrent trace is
// refused; a trace with no traffic ends with its context and says how
// many packets it saw; a stopped router refuses.
func TestTrace(t *testing.T) {
	cfg := writeConfig(t, t.TempDir(), fmt.Sprintf(twoPort, 2, "mem", "mem"))
	r, err := Start(cfg, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Stop()
	lan, wan := r.Port("lan0").(*mem.Queue), r.Port("wan0").(*mem.Queue)

	// No traffic yet: the trace ends with its context.
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	pkts, err := r.Trace(ctx, 3)
	cancel()
	if len(pkts) != 0 || !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "0 of 3 packets") {
		t.Fatalf("trace without traffic: %d packets, %v", len(pkts), err)
	}

	type result struct {
		pkts []tracefmt.TracePacket
		err  error
	}
	first := make(chan result, 1)
	go func() {
		p, err := r.Trace(context.Background(), 5)
		first <- result{p, err}
	}()
	// Armed before any traffic, so the second call finds it running.
	waitFor(t, "the first trace to arm", r.tracer.Running)
	if _, err := r.Trace(context.Background(), 1); !errors.Is(err, dp.ErrTraceBusy) {
		t.Errorf("concurrent trace: %v, want %v", err, dp.ErrTraceBusy)
	}
	// Traffic flows (bounded: 40 frames every millisecond for at most
	// 10 s) until the trace is done.
	stop := make(chan struct{})
	fed := make(chan struct{})
	go func() {
		defer close(fed)
		frames := udp(40)
		for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); {
			select {
			case <-stop:
				return
			case <-time.After(time.Millisecond):
			}
			lan.Push(frames...)
			wan.Take()
		}
	}()
	var res result
	select {
	case res = <-first:
	case <-time.After(10 * time.Second):
		t.Fatal("Trace did not return while traffic flowed")
	}
	close(stop)
	<-fed
	if res.err != nil || len(res.pkts) != 5 {
		t.Fatalf("trace: %d packets, %v", len(res.pkts), res.err)
	}
	for i, p := range res.pkts {
		if p.Seq != i+1 || p.IfaceName != "lan0" || p.Fate != tracefmt.FateTx || p.OutName != "wan0" || !strings.Contains(p.Summary, "10.0.1.2 > 198.18.0.") {
			t.Errorf("packet %d: %+v", i, p)
		}
		if i > 0 && p.Time.Before(res.pkts[i-1].Time) {
			t.Errorf("packet %d arrived before packet %d", i+1, i)
		}
	}
	var b strings.Builder
	if err := tracefmt.WriteTrace(&b, res.pkts[:1]); err != nil {
		t.Fatal(err)
	}
	t.Logf("first packet:\n%s", b.String())
	if !strings.Contains(b.String(), "interface-output -> tx wan0") {
		t.Errorf("printed trace:\n%s", b.String())
	}
	if err := r.Stop(); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Trace(context.Background(), 1); err == nil || !strings.Contains(err.Error(), "stopped") {
		t.Errorf("trace after Stop: %v", err)
	}
}

// TestTraceStop: stopping the router ends a trace waiting for packets,
// with an error that says so.
func TestTraceStop(t *testing.T) {
	cfg := writeConfig(t, t.TempDir(), fmt.Sprintf(twoPort, 1, "mem", "mem"))
	r, err := Start(cfg, Options{})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := r.Trace(context.Background(), 5)
		done <- err
	}()
	waitFor(t, "the trace to arm", r.tracer.Running)
	if err := r.Stop(); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "0 of 5 packets") || !strings.Contains(err.Error(), "router is stopped") {
			t.Errorf("trace across Stop: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Stop did not end the trace")
	}
}
