package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/softnet/softnet/internal/netns"
	"github.com/softnet/softnet/internal/testenv"
	"github.com/softnet/softnet/lab"
)

// TestPercentile: nearest rank, on sorted samples.
func TestPercentile(t *testing.T) {
	xs := make([]float64, 100)
	for i := range xs {
		xs[i] = float64(i + 1)
	}
	for _, c := range []struct{ q, want float64 }{{50, 50}, {99, 99}, {100, 100}, {1, 1}} {
		if got := percentile(xs, c.q); got != c.want {
			t.Errorf("p%v of 1..100 = %v, want %v", c.q, got, c.want)
		}
	}
	if got := percentile([]float64{7}, 99); got != 7 {
		t.Errorf("p99 of one sample = %v, want 7", got)
	}
	if got := percentile([]float64{1, 2, 3}, 50); got != 2 {
		t.Errorf("p50 of 1,2,3 = %v, want 2", got)
	}
}

// TestRunLatencyOptions: nonsense options are refused before any
// namespace is built.
func TestRunLatencyOptions(t *testing.T) {
	for _, c := range []struct {
		o    LatencyOptions
		want string
	}{
		{LatencyOptions{Binary: "x", Duration: -time.Second}, "give a positive duration"},
		{LatencyOptions{Binary: "x", RatePPS: -5}, "probe rate -5"},
		{LatencyOptions{Binary: "x", RatePPS: 1e9}, "probe rate 1e+09"},
		{LatencyOptions{Binary: "x", BackgroundMpps: -1}, "background -1 Mpps"},
		{LatencyOptions{Binary: "x", RatePPS: 1, Duration: 100 * time.Millisecond}, "no probe at all"},
		{LatencyOptions{}, "no softnet binary"},
		{LatencyOptions{Binary: "x", PollModes: []string{"polling", "busy"}}, `poll mode "busy": choose interrupt, adaptive, polling`},
		{LatencyOptions{Binary: "x", PinProber: true, ProberCPU: -1}, "prober cpu -1: give a CPU from 0 to"},
		{LatencyOptions{Binary: "x", PinProber: true, ProberCPU: 4096}, "prober cpu 4096: give a CPU from 0 to"},
	} {
		if _, err := RunLatency(context.Background(), c.o); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("RunLatency(%+v): %v, want %q", c.o, err, c.want)
		}
	}
}

// TestLatencyScenario runs the latency scenario briefly on veth (root; a
// softnet binary built for it) and checks its JSON lines, not its figures:
// both routers, light and loaded, every field there, samples, p50 <= p99,
// a background offered only on the loaded runs; softnet on each backend.
func TestLatencyScenario(t *testing.T) {
	testenv.Root(t)
	testenv.Tools(t, "go", "ip", "ping", "iperf3", "trafgen", "taskset")
	if testing.Short() {
		t.Skip("builds softnet and runs four measurements on veth")
	}
	bin := filepath.Join(t.TempDir(), "softnet")
	build := exec.Command("go", "build", "-o", bin, "github.com/softnet/softnet/cmd/softnet")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building softnet: %v\n%s", err, out)
	}
	// Both backends: the softnet runs' JSON names the one they used.
	for _, backend := range []string{"afpacket", "afxdp"} {
		t.Run(backend, func(t *testing.T) { testLatencyScenario(t, bin, backend) })
	}
}

func testLatencyScenario(t *testing.T, bin, backend string) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	var progress bytes.Buffer
	// On AF_PACKET the prober is pinned to softnet's CPU (--prober-cpu).
	o := LatencyOptions{Binary: bin, Duration: time.Second, CapacityDuration: 500 * time.Millisecond, Backend: backend, Progress: &progress}
	modes := []string{"interrupt"} // the default
	if backend == "afpacket" {
		o.PinProber, o.ProberCPU = true, min(1, runtime.NumCPU()-1)
		// Two poll modes side by side: a softnet run each.
		modes = []string{"interrupt", "polling"}
		o.PollModes = modes
	}
	rep, err := RunLatency(ctx, o)
	if err != nil {
		t.Fatalf("%v\nprogress:\n%s", err, progress.String())
	}
	var text bytes.Buffer
	rep.Print(&text)
	t.Logf("\n%s", text.String())
	if rep.CapacityMpps <= 0 {
		t.Errorf("softnet capacity %v Mpps, want > 0", rep.CapacityMpps)
	}
	var lines bytes.Buffer
	if err := rep.WriteJSONLines(&lines); err != nil {
		t.Fatal(err)
	}
	got := strings.Split(strings.TrimSuffix(lines.String(), "\n"), "\n")
	if len(got) != len(rep.Runs) {
		t.Fatalf("%d JSON lines for %d runs:\n%s", len(got), len(rep.Runs), lines.String())
	}
	seen := map[string]bool{}
	for i, line := range got {
		t.Logf("%s", line)
		var m map[string]any
		var r LatencyRun
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("line %d: %v: %s", i+1, err, line)
		}
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			t.Fatalf("line %d: %v: %s", i+1, err, line)
		}
		for _, k := range []string{"scenario", "router", "backend", "rate_pps", "background_mpps", "rtt_p50_us", "rtt_p99_us", "samples", "lost", "kernel_tx_stamps",
			"wake_cross_us", "wake_same_us", "wake_cross_p99_us", "wake_same_p99_us"} {
			if _, ok := m[k]; !ok {
				t.Errorf("%s: no %q", line, k)
			}
		}
		if m["scenario"] != "latency" {
			t.Errorf("%s: scenario %v, want latency", line, m["scenario"])
		}
		if r.Samples <= 0 || r.P50us <= 0 || r.P50us > r.P99us || r.Samples+r.Lost != r.Sent {
			t.Errorf("%s: want samples > 0, 0 < p50 <= p99, samples + lost = sent", line)
		}
		if r.KernelTx == 0 || r.KernelRx == 0 {
			t.Errorf("%s: no kernel TX or RX timestamps (veth stamps in its transmit and receive)", line)
		}
		if r.Wake != rep.Wake || r.SameUs <= 0 || r.SameUs > r.SameP99Us || runtime.NumCPU() > 1 && (r.CrossUs <= 0 || r.CrossUs > r.CrossP99Us) {
			t.Errorf("%s: the wake floor %+v, want the report's %+v, 0 < p50 <= p99", line, r.Wake, rep.Wake)
		}
		_, has := m["prober_cpu"]
		switch {
		case !o.PinProber && (r.ProberCPU != nil || has):
			t.Errorf("%s: prober_cpu, but the prober was not pinned", line)
		case o.PinProber && (r.ProberCPU == nil || *r.ProberCPU != o.ProberCPU):
			t.Errorf("%s: want prober_cpu %d", line, o.ProberCPU)
		}
		if r.RatePPS != 200 {
			t.Errorf("%s: rate_pps %v, want the default 200", line, r.RatePPS)
		}
		loaded := r.BackgroundTargetMpps > 0
		if loaded && r.BackgroundMpps <= 0 || !loaded && r.BackgroundMpps != 0 {
			t.Errorf("%s: background_mpps %v with target %v", line, r.BackgroundMpps, r.BackgroundTargetMpps)
		}
		want := map[string]string{"linux": "kernel", "softnet": backend}[r.Router]
		if want == "" || r.Backend != want {
			t.Errorf("%s: router %q backend %q", line, r.Router, r.Backend)
		}
		_, hasMode := m["poll_mode"]
		_, hasCPU := m["softnet_cpu_pct"]
		switch {
		case r.Router == "linux" && (hasMode || hasCPU):
			t.Errorf("%s: poll_mode or softnet_cpu_pct on a Linux line", line)
		case r.Router == "softnet" && !slices.Contains(modes, r.PollMode):
			t.Errorf("%s: poll_mode %q, want one of %v", line, r.PollMode, modes)
		case r.Router == "softnet" && (r.SoftnetCPUPct == nil || *r.SoftnetCPUPct < 0 || *r.SoftnetCPUPct > float64(100*runtime.NumCPU())+10):
			t.Errorf("%s: softnet_cpu_pct missing or out of 0..%d", line, 100*runtime.NumCPU())
		}
		seen[r.Router+"/"+r.PollMode+"/"+map[bool]string{false: "light", true: "loaded"}[loaded]] = true
	}
	want := []string{"linux//light", "linux//loaded"}
	for _, m := range modes {
		want = append(want, "softnet/"+m+"/light", "softnet/"+m+"/loaded")
	}
	for _, k := range want {
		if !seen[k] {
			t.Errorf("no %s run in %d runs", k, len(rep.Runs))
		}
	}
	if len(rep.Runs) != len(want) {
		t.Errorf("%d runs, want %d", len(rep.Runs), len(want))
	}
}

// TestPacedFloodKeepsThreads: the paced flood gives its pinned thread back
// instead of ending it. A process started with netns.Command gets SIGKILL
// when the thread that started it ends (Pdeathsig), so a flood that ended
// its thread killed, now and then, the softnet it was measuring (softnet
// bench --scenario latency: "softnet died during the run (signal:
// killed)"). Children are started from many threads, then the flood runs
// again and again: all must still be alive.
func TestPacedFloodKeepsThreads(t *testing.T) {
	testenv.Root(t)
	testenv.Tools(t, "ip", "ping", "iperf3", "trafgen", "taskset", "sleep")
	// A generous bound: 50 floods take about 30 s on a quiet 2-core
	// machine and more than a minute when it is shared; the children
	// sleep longer than the bound, so none ends on its own.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	tp, err := freshLab(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tp.Close()
	if err := tp.KernelForwarding(ctx, true); err != nil {
		t.Fatal(err)
	}
	if p, err := lab.RunPing(ctx, tp.A, lab.AddrB.Addr().String(), 2, 50*time.Millisecond); err != nil || p.Received == 0 {
		t.Fatalf("no forwarding (%v): %s", err, p.Output)
	}
	// Children started from 16 threads at once (each goroutine holds its
	// own thread until all have started theirs): most of the runtime's
	// threads have one.
	const n = 16
	kids := make([]*exec.Cmd, n)
	defer func() {
		for _, c := range kids {
			if c != nil {
				c.Process.Kill()
			}
		}
	}()
	exited := make(chan error, n)
	var started, release sync.WaitGroup
	started.Add(n)
	release.Add(1)
	for i := range n {
		go func() {
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			c := netns.Command(context.Background(), tp.R, "sleep", "600")
			if err := c.Start(); err != nil {
				exited <- err
			} else {
				kids[i] = c
				go func() { exited <- fmt.Errorf("child %d: %v", c.Process.Pid, c.Wait()) }()
			}
			started.Done()
			release.Wait()
		}()
	}
	started.Wait()
	release.Done()
	for i := range 50 {
		if _, err := pacedFlood(ctx, tp, 1000, 10*time.Millisecond, 0); err != nil {
			t.Fatalf("flood %d: %v", i, err)
		}
		select {
		case err := <-exited:
			t.Fatalf("after flood %d: a child started from another thread died: %v", i, err)
		default:
		}
	}
	time.Sleep(100 * time.Millisecond)
	select {
	case err := <-exited:
		t.Fatalf("a child started from another thread died: %v", err)
	default:
	}
}

// TestMeasureWake: the wake floor has both pairs, across two CPUs and on
// one, with p50 <= p99 and the CPUs named; a CPU the process may not run
// on is refused.
func TestMeasureWake(t *testing.T) {
	if runtime.NumCPU() < 2 {
		t.Skip("needs two CPUs") // the cross pair; CI machines have them
	}
	w, err := measureWake(context.Background(), 0, 1, 20, time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%+v", w)
	if w.CrossUs <= 0 || w.CrossUs > w.CrossP99Us || w.SameUs <= 0 || w.SameUs > w.SameP99Us {
		t.Errorf("%+v: want 0 < p50 <= p99 for both pairs", w)
	}
	if w.CrossCPUs != "0-1" || w.SameCPU != "1" {
		t.Errorf("%+v: want cross cpus 0-1, same cpu 1", w)
	}
	one, err := measureWake(context.Background(), 1, 1, 5, time.Millisecond)
	if err != nil || one.CrossUs != 0 || one.CrossCPUs != "" || one.SameUs <= 0 {
		t.Errorf("one CPU: %+v, %v: want no cross pair, a same-CPU figure", one, err)
	}
	if _, err := measureWake(context.Background(), 0, 4095, 5, time.Millisecond); err == nil || !strings.Contains(err.Error(), "cpu 4095") {
		t.Errorf("cpu 4095: %v, want a refusal naming it", err)
	}
}
