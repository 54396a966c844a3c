package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/softnet/softnet/api"
	"github.com/softnet/softnet/bench"
	"github.com/softnet/softnet/config"
	"github.com/softnet/softnet/control"
	"github.com/softnet/softnet/dp"
	"github.com/softnet/softnet/dp/tracefmt"
	"github.com/softnet/softnet/run"
)

// forwardSource serves the bench's router (control plane and workers
// without package run around them) to the API, as run.Router does.
type forwardSource struct{ f *bench.Forward }

func (s forwardSource) Counters() dp.Counters { return dp.Sum(s.f.Workers) }

func (s forwardSource) WorkerCounters() []dp.Counters {
	out := make([]dp.Counters, len(s.f.Workers))
	for i, w := range s.f.Workers {
		out[i] = w.Counters()
	}
	return out
}

func (s forwardSource) Status() []run.IfaceStatus {
	c := s.Counters()
	ifs := s.f.Router.Interfaces()
	out := make([]run.IfaceStatus, len(ifs))
	for i, ifc := range ifs {
		st := run.IfaceStatus{Name: ifc.Name, Backend: config.Mem, MAC: ifc.MAC, MTU: ifc.MTU, Queues: len(s.f.Workers), AdminUp: true}
		st.Up = ifc.Up
		if i < len(c.RxPackets) {
			st.RxPackets, st.RxBytes, st.TxPackets, st.TxBytes = c.RxPackets[i], c.RxBytes[i], c.TxPackets[i], c.TxBytes[i]
		}
		out[i] = st
	}
	return out
}

func (s forwardSource) Control() *control.Router { return s.f.Router }

func (s forwardSource) Config() *config.Config {
	return &config.Config{File: "bench", Workers: len(s.f.Workers)}
}

func (s forwardSource) Reload(string) (*run.ReloadResult, error) {
	return nil, errors.New("the bench's router has no config file to reload")
}

func (s forwardSource) RunningConfig() (*run.Saved, error) {
	return nil, errors.New("the bench's router has no config to save")
}

func (s forwardSource) Trace(context.Context, int) ([]tracefmt.TracePacket, error) {
	return nil, errors.New("the bench's router has no packet trace")
}

// scrapeEvery is how often the API-cost bench scrapes /metrics, as a
// Prometheus server with a 1 s interval would.
const scrapeEvery = time.Second

// apiScrape is the side of softnet bench --api-scrape: the API served on
// a socket for the bench's router, and /metrics scraped through it every
// second.
func apiScrape(f *bench.Forward) (func() (string, error), error) {
	dir, err := os.MkdirTemp("", "softnet-bench-")
	if err != nil {
		return nil, err
	}
	sock := filepath.Join(dir, "api.sock")
	srv, err := api.Listen(forwardSource{f}, api.Options{Socket: sock})
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	c := api.NewClient(sock)
	started := time.Now()
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	var scrapes, bytes int
	var took time.Duration
	var scrapeErr error
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(scrapeEvery)
		defer t.Stop()
		for {
			t0 := time.Now()
			b, err := c.Metrics(ctx)
			if ctx.Err() != nil {
				return
			}
			if err != nil {
				scrapeErr = err
				return
			}
			took += time.Since(t0)
			scrapes++
			bytes = len(b)
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	}()
	return func() (string, error) {
		cancel()
		wg.Wait()
		srv.Close()
		os.RemoveAll(dir)
		if scrapeErr != nil {
			return "", fmt.Errorf("scraping /metrics: %w", scrapeErr)
		}
		avg := time.Duration(0)
		if scrapes > 0 {
			avg = took / time.Duration(scrapes)
		}
		busy := 100 * took.Seconds() / time.Since(started).Seconds()
		return fmt.Sprintf("%d scrapes of %d bytes, %v each (busy %.2f%% of the time)", scrapes, bytes, avg.Round(10*time.Microsecond), busy), nil
	}, nil
}
