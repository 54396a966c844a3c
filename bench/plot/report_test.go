package plot

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/softnet/softnet/bench"
)

func TestReadPeers(t *testing.T) {
	in := `{"scenario":"ip4-forward","impl":"gvisor-netstack","workers":1,"mpps":0.61,"drops":{}}
{"scenario":"ip4-forward","impl":"gvisor-netstack","workers":1,"mpps":0.58}
{"scenario":"ip4-forward","impl":"linux","workers":2,"mpps":1.2}`
	bars, err := ReadPeers(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	if len(bars) != 2 || bars[0].Impl != "gvisor-netstack" || len(bars[0].Mpps) != 2 || bars[0].Mpps[1] != 0.58 ||
		bars[1].Impl != "linux" || bars[1].Workers != 2 || bars[1].Mpps[0] != 1.2 {
		t.Errorf("bars %+v", bars)
	}
	for _, bad := range []string{"", "{", `{"scenario":"x"}`, `[1,2]`} {
		if _, err := ReadPeers(strings.NewReader(bad)); err == nil || !strings.Contains(err.Error(), "bench/peers") {
			t.Errorf("ReadPeers(%q): %v, want an error pointing at bench/peers", bad, err)
		}
	}
}

func TestFromReport(t *testing.T) {
	rep := &bench.Report{Scenario: "ip4-forward", Runs: []*bench.Result{
		{Impl: "softnet", Workers: 1, Mpps: 9.2, RepeatsMpps: []float64{9.0, 9.2, 9.4}, PacketSize: 64, Routes: 901899, DurationS: 2},
		{Impl: "softnet", Workers: 2, Mpps: 16.1, PacketSize: 64, Routes: 901899, DurationS: 2},
	}}
	peers := []Bar{{Impl: "gvisor-netstack", Scenario: "ip4-forward", Workers: 1, Mpps: []float64{0.6}}}
	c := FromReports([]*bench.Report{rep}, peers, time.Date(2026, 11, 29, 7, 30, 0, 0, time.UTC))
	if len(c.Bars) != 3 || len(c.Bars[0].Mpps) != 3 || c.Bars[1].Mpps[0] != 16.1 || c.Bars[2].Impl != "gvisor-netstack" {
		t.Errorf("bars %+v", c.Bars)
	}
	if c.Title != "softnet bench: ip4-forward, 64-byte frames, 901,899 routes, 2 s per run" || !strings.HasPrefix(c.Subtitle, "2026-11-29 07:30 UTC, ") {
		t.Errorf("title %q subtitle %q", c.Title, c.Subtitle)
	}
	var buf bytes.Buffer
	if err := WritePNG(&buf, c); err != nil {
		t.Fatal(err)
	}
	decode(t, buf.Bytes(), 1200, 700)
}

// FuzzReadPeers: any input gives bars with runs or an error, never a panic.
func FuzzReadPeers(f *testing.F) {
	f.Add(`{"scenario":"ip4-forward","impl":"gvisor-netstack","workers":1,"mpps":0.61}`)
	f.Add(`{"scenario":"a","impl":"b","mpps":1}{"scenario":"a","impl":"b","mpps":2}`)
	f.Add(`{"scenario":"a","impl":"b","workers":-3,"mpps":-1}`)
	f.Fuzz(func(t *testing.T, in string) {
		bars, err := ReadPeers(strings.NewReader(in))
		if err != nil {
			return
		}
		for _, b := range bars {
			if len(b.Mpps) == 0 || b.Impl == "" || b.Scenario == "" || b.Workers < 1 {
				t.Fatalf("bar %+v", b)
			}
		}
	})
}

func TestFromReportsScenarios(t *testing.T) {
	a := &bench.Report{Scenario: "ip4-forward", Runs: []*bench.Result{{Impl: "softnet", Workers: 1, Mpps: 9, PacketSize: 64, Routes: 10, DurationS: 1}}}
	b := &bench.Report{Scenario: "rss", Runs: []*bench.Result{{Impl: "softnet", Workers: 2, Mpps: 12}}}
	c := FromReports([]*bench.Report{a, b}, nil, time.Unix(0, 0))
	if !strings.HasPrefix(c.Title, "softnet bench: ip4-forward, rss, 64-byte frames, 10 routes") || len(c.Bars) != 2 || c.Bars[1].Scenario != "rss" {
		t.Errorf("title %q bars %+v", c.Title, c.Bars)
	}
	p, err := build(c)
	if err != nil {
		t.Fatal(err)
	}
	if p.X.Max-p.X.Min < 1.5 {
		t.Errorf("x axis %v..%v: want room for two groups", p.X.Min, p.X.Max)
	}
}
