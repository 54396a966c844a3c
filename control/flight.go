package control

import (
	"errors"
	"fmt"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/softnet/softnet/dp"
	"github.com/softnet/softnet/internal/capfile"
)

// FlightCapture is one always-on capture, as the config's captures
// section says it (config.Capture, its path resolved).
type FlightCapture struct {
	Name, Interface string
	Point           string // rx, tx, drop; "": rx and tx
	Reason, Filter  string
	Snaplen         int
	Path            string
	MaxSize         int64
	MaxFiles        int
	Format          string // pcapng or pcap
	Field           string // the config's field, for errors (not compared)
}

// CaptureError is why Apply could not start a capture: Field is the
// config field at fault.
type CaptureError struct {
	Field string
	Err   error
}

func (e *CaptureError) Error() string { return e.Err.Error() }

// FlightPoll is how often the always-on captures drain their rings.
const FlightPoll = 20 * time.Millisecond

// Flight runs the config's always-on captures (the captures section):
// each drains its rings into a capfile.File that rotates by size and
// count, like a flight recorder. Get it with Router.Flight.
type Flight struct {
	mu   sync.Mutex
	r    *Router
	runs map[string]*flightRun
}

type flightRun struct {
	cfg     FlightCapture // Field cleared: compared on Apply
	c       *dp.Capture
	file    *capfile.File
	stop    chan struct{}
	done    chan struct{}
	written atomic.Uint64
	mu      sync.Mutex // name, files, lastErr
	name    string
	files   uint64
	lastErr string
}

// CaptureStatus is one always-on capture, as softnet show captures
// prints it.
type CaptureStatus struct {
	Name      string `json:"name"`
	Interface string `json:"interface,omitempty"`
	Point     string `json:"point"`
	Filter    string `json:"filter,omitempty"`
	File      string `json:"file"`            // being written now
	Files     uint64 `json:"files"`           // opened since it started
	Packets   uint64 `json:"packets_written"` // since it started
	RingDrops uint64 `json:"ring_drops"`      // packets its rings had no room for
	Error     string `json:"error,omitempty"` // the last write error
	// Ended says why the capture no longer captures although the config
	// still has it: its interface, a VLAN sub-interface, was deleted at
	// run time (Router.CaptureGone). Its file keeps what it wrote; a
	// reload without the capture, or with it changed, closes it.
	Ended string `json:"ended,omitempty"`
}

// Flight is the router's always-on captures.
func (r *Router) Flight() *Flight {
	r.flight.mu.Lock()
	r.flight.r = r
	r.flight.mu.Unlock()
	return &r.flight
}

// Apply makes the running captures those of cfg: captures not in cfg
// stop (their files complete), new ones start, changed ones restart
// (with new files); an unchanged one goes on writing its file. If a
// capture cannot start (its interface, reason or file), nothing changes
// and the error (a config.Errors at its line) says why.
func (f *Flight) Apply(caps []FlightCapture) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	want := map[string]FlightCapture{}
	for _, c := range caps {
		c.Field = ""
		want[c.Name] = c
	}
	// Start the new and changed first: an error leaves the old running.
	type started struct {
		cfg  FlightCapture
		spec dp.CaptureSpec
		file *capfile.File
	}
	var news []started
	var errs []error
	fail := func() error {
		for _, s := range news {
			_ = s.file.Close()
		}
		return errors.Join(errs...)
	}
	for _, c := range caps {
		cc := want[c.Name]
		if old, ok := f.runs[c.Name]; ok && old.cfg == cc {
			continue
		}
		q := CaptureRequest{Interface: c.Interface, Reason: c.Reason, Filter: c.Filter, Snap: c.Snaplen}
		switch c.Point {
		case "rx":
			q.Rx = true
		case "tx":
			q.Tx = true
		case "drop":
			q.Drop = true
		}
		spec, err := f.r.ResolveCapture(q)
		if err != nil {
			errs = append(errs, &CaptureError{c.Field, fmt.Errorf("capture %s: %w", c.Name, err)})
			continue
		}
		file, err := capfile.Create(capfile.Options{Path: cc.Path, Format: c.Format, Snap: c.Snaplen, MaxSize: c.MaxSize, MaxFiles: c.MaxFiles})
		if err != nil {
			errs = append(errs, &CaptureError{c.Field + ".path", fmt.Errorf("capture %s: %w", c.Name, err)})
			continue
		}
		news = append(news, started{cc, spec, file})
	}
	if len(errs) > 0 {
		return fail()
	}
	var specs []dp.CaptureSpec
	for _, s := range news {
		specs = append(specs, s.spec)
	}
	var cs []*dp.Capture
	if len(specs) > 0 {
		var err error
		if cs, err = f.r.StartCaptures(specs...); err != nil {
			errs = append(errs, fmt.Errorf("captures: %w", err))
			return fail()
		}
	}
	// Stop the removed and the changed (before their new files run: a
	// changed capture with the same path is written by one at a time).
	for name, run := range f.runs {
		if c, ok := want[name]; !ok || c != run.cfg {
			run.halt()
			delete(f.runs, name)
		}
	}
	if f.runs == nil {
		f.runs = map[string]*flightRun{}
	}
	for i, s := range news {
		run := &flightRun{cfg: s.cfg, c: cs[i], file: s.file, stop: make(chan struct{}), done: make(chan struct{}),
			name: s.file.Name(), files: s.file.Files()}
		f.runs[s.cfg.Name] = run
		go f.loop(run)
	}
	return nil
}

// Stop ends every capture: the workers stop feeding them, what their
// rings hold is written, and the files are closed, complete.
func (f *Flight) Stop() {
	f.mu.Lock()
	defer f.mu.Unlock()
	for name, run := range f.runs {
		run.halt()
		delete(f.runs, name)
	}
}

// Status is the running captures, by name.
func (f *Flight) Status() []CaptureStatus {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []CaptureStatus
	for _, run := range f.runs {
		run.mu.Lock()
		st := CaptureStatus{Name: run.cfg.Name, Interface: run.cfg.Interface, Point: run.cfg.Point, Filter: run.cfg.Filter,
			File: run.name, Files: run.files, Packets: run.written.Load(), RingDrops: run.c.Drops(), Error: run.lastErr}
		run.mu.Unlock()
		if st.Point == "" {
			st.Point = "rx+tx"
		}
		if iface, gone := f.r.CaptureGone(run.c); gone {
			st.Ended = fmt.Sprintf("its interface %s was deleted (vlan del): nothing more is captured; the file keeps what was", iface)
		}
		out = append(out, st)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// halt stops run and waits for its file to be closed. f.mu held.
func (run *flightRun) halt() {
	close(run.stop)
	<-run.done
}

func (f *Flight) loop(run *flightRun) {
	defer close(run.done)
	tick := time.NewTicker(FlightPoll)
	defer tick.Stop()
	for {
		stopping := false
		select {
		case <-run.stop:
			stopping = true
			if err := f.r.StopCaptures(run.c); err != nil && !errors.Is(err, ErrNoCapture) {
				run.setErr(err)
			}
		case <-tick.C:
		}
		f.drain(run)
		if stopping {
			if err := run.file.Close(); err != nil {
				run.setErr(err)
			}
			return
		}
		if err := run.file.Flush(); err != nil {
			run.setErr(err)
		}
	}
}

func (f *Flight) drain(run *flightRun) {
	cfg := f.r.Config().Load()
	var p capfile.Packet
	run.c.Drain(func(rec *dp.CapRecord) {
		p = capfile.Packet{Time: rec.Time, Interface: dp.IfaceName(cfg, rec.Iface), Point: rec.Point.String(),
			Worker: rec.Worker, Len: rec.WireLen, Data: rec.Data}
		if rec.Point == dp.CapDrop {
			p.Reason = rec.Reason.String()
			p.Rule = f.r.DropRule(rec.Reason, rec.Detail)
		}
		if err := run.file.WritePacket(&p); err != nil {
			run.setErr(err)
			return
		}
		run.written.Add(1)
	})
	run.mu.Lock()
	run.name, run.files = run.file.Name(), run.file.Files()
	run.mu.Unlock()
}

func (run *flightRun) setErr(err error) {
	run.mu.Lock()
	run.lastErr = err.Error()
	run.mu.Unlock()
}
