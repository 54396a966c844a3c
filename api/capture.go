package api

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/softnet/softnet/control"
	"github.com/softnet/softnet/dp"
)

// CaptureRequest is the body of POST /v1/capture (softnet capture).
type CaptureRequest struct {
	// Interface: the interface (a port or a VLAN sub-interface) to
	// capture on; "": every interface.
	Interface string `json:"interface,omitempty"`
	// Rx, Tx, Drop: the capture points; none set: rx and tx.
	Rx   bool `json:"rx,omitempty"`
	Tx   bool `json:"tx,omitempty"`
	Drop bool `json:"drop,omitempty"`
	// Reason: with drop, only this drop reason ("node/reason" or
	// "reason", as show errors names them).
	Reason string `json:"reason,omitempty"`
	// Filter: an expression in tcpdump's language (pcap-filter(7)).
	Filter string `json:"filter,omitempty"`
	// Snaplen: bytes kept of each packet (0: whole packets).
	Snaplen int `json:"snaplen,omitempty"`
	// Count: stop after this many packets (0: no limit).
	Count int `json:"count,omitempty"`
	// Timeout: stop after this long, such as "30s" ("": no limit).
	Timeout string `json:"timeout,omitempty"`
	// Buffer: bytes of each worker's capture ring (0: 1 MiB).
	Buffer int `json:"buffer,omitempty"`
}

// CaptureEvent is one line of POST /v1/capture's answer (JSON lines):
// Type "packet" (a captured packet), "stats" (sent every half second
// and when the rings' drops change) or "end" (last: why it ended).
type CaptureEvent struct {
	Type string `json:"type"`
	// packet
	Time      int64  `json:"time,omitempty"` // UnixNano
	Interface string `json:"interface,omitempty"`
	Point     string `json:"point,omitempty"`  // rx, tx or drop
	Reason    string `json:"reason,omitempty"` // drop: node/reason
	// Rule: a drop by the stateful filter (blocked, no-state): the rule
	// that blocked it, "rule N (TEXT)" as softnet show rules numbers
	// them, or "default policy block".
	Rule   string `json:"rule,omitempty"`
	Worker int    `json:"worker"`
	Len    int    `json:"len,omitempty"` // on the wire
	Data   []byte `json:"data,omitempty"`
	// stats, end
	Captured uint64 `json:"captured,omitempty"`
	Dropped  uint64 `json:"dropped,omitempty"` // by the workers' full rings
	End      string `json:"end,omitempty"`     // end: count, timeout, or EndDeleted (Interface names it)
}

// EndDeleted is a capture's end when its interface, a VLAN sub-interface,
// was deleted while it ran: the end event's Interface names it.
const EndDeleted = "interface-deleted"

// MaxCaptures is how many POST /v1/capture streams may run at once:
// each capture holds a ring per worker (up to 64 MiB each).
const MaxCaptures = 64

// capturePoll is how often a capture drains its rings.
const capturePoll = 5 * time.Millisecond

// capture streams captured packets until the count, the timeout, or the
// client goes away.
func (s *Server) capture(w http.ResponseWriter, r *http.Request) {
	var req CaptureRequest
	if err := decode(w, r, &req); err != nil {
		Error(w, bodyStatus(err), err)
		return
	}
	if req.Count < 0 {
		Error(w, http.StatusBadRequest, fmt.Errorf("count %d: give a number of packets, or 0 for no limit", req.Count))
		return
	}
	ctx := r.Context()
	if req.Timeout != "" {
		d, err := time.ParseDuration(req.Timeout)
		if err != nil || d <= 0 {
			Error(w, http.StatusBadRequest, fmt.Errorf("timeout %q: give a positive duration such as 30s", req.Timeout))
			return
		}
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeoutCause(ctx, d, errCaptureTimeout)
		defer cancel()
	}
	if s.captures.Add(1) > MaxCaptures {
		s.captures.Add(-1)
		Error(w, http.StatusServiceUnavailable, fmt.Errorf("%d captures are running, at most %d may run at once: end one (its softnet capture) and retry", MaxCaptures, MaxCaptures))
		return
	}
	defer s.captures.Add(-1)
	ctl := s.src.Control()
	spec, err := ctl.ResolveCapture(control.CaptureRequest{Interface: req.Interface, Rx: req.Rx, Tx: req.Tx, Drop: req.Drop,
		Reason: req.Reason, Filter: req.Filter, Snap: req.Snaplen, RingBytes: req.Buffer})
	if err != nil {
		Error(w, http.StatusBadRequest, err)
		return
	}
	cs, err := ctl.StartCaptures(spec)
	if err != nil {
		Error(w, http.StatusBadRequest, err)
		return
	}
	c := cs[0]
	var once sync.Once
	stop := func() { once.Do(func() { _ = ctl.StopCaptures(c) }) }
	defer stop()
	// The timeout stops the workers feeding the capture even while the
	// loop below waits for a slow reader (a blocked flush): what it
	// captures and the drops it reports end at the timeout, not when the
	// reader catches up.
	defer context.AfterFunc(ctx, func() {
		if errors.Is(context.Cause(ctx), errCaptureTimeout) {
			stop()
		}
	})()

	w.Header().Set("Content-Type", "application/x-ndjson")
	w.WriteHeader(http.StatusOK)
	rc := http.NewResponseController(w)
	bw := bufio.NewWriterSize(w, 64<<10)
	enc := json.NewEncoder(bw)
	var captured, dropped uint64
	var werr error
	flush := func() {
		if werr == nil {
			if werr = bw.Flush(); werr == nil {
				werr = rc.Flush()
			}
		}
	}
	full := func() bool { return req.Count > 0 && captured >= uint64(req.Count) }
	drain := func() {
		cfg := ctl.Config().Load()
		c.Drain(func(rec *dp.CapRecord) {
			if full() || werr != nil {
				return
			}
			ev := CaptureEvent{Type: "packet", Time: rec.Time, Interface: dp.IfaceName(cfg, rec.Iface), Point: rec.Point.String(),
				Worker: rec.Worker, Len: rec.WireLen, Data: rec.Data}
			if rec.Point == dp.CapDrop {
				ev.Reason = rec.Reason.String()
				ev.Rule = ctl.DropRule(rec.Reason, rec.Detail)
			}
			werr = enc.Encode(&ev)
			captured++
		})
	}
	flush() // the client knows the capture runs
	tick := time.NewTicker(capturePoll)
	defer tick.Stop()
	var lastStats time.Time // the first poll sends stats: the client knows the capture is installed
	end, deleted := "", ""
	for end == "" && werr == nil {
		select {
		case <-ctx.Done():
			if !errors.Is(context.Cause(ctx), errCaptureTimeout) {
				return // the client went away
			}
			end = "timeout"
		case <-tick.C:
		}
		if end == "" {
			if name, gone := ctl.CaptureGone(c); gone {
				end, deleted = EndDeleted, name // the workers feed it no more: take what they left
			}
		}
		if end != "" {
			stop() // the workers add nothing more; take what they left
		}
		drain()
		if full() {
			end = "count"
		}
		if d := c.Drops(); d != dropped || time.Since(lastStats) >= 500*time.Millisecond || end != "" {
			dropped, lastStats = d, time.Now()
			if end == "" {
				werr = enc.Encode(&CaptureEvent{Type: "stats", Captured: captured, Dropped: dropped})
			}
		}
		flush()
	}
	if werr != nil {
		return
	}
	stop()
	_ = enc.Encode(&CaptureEvent{Type: "end", Interface: deleted, Captured: captured, Dropped: c.Drops(), End: end})
	flush()
}

var errCaptureTimeout = errors.New("capture timeout")

// CaptureStatus is one entry of GET /v1/captures: an always-on capture
// of the config (captures:), with packets written and ring drops.
type CaptureStatus = control.CaptureStatus

// flightCaptures is GET /v1/captures.
func (s *Server) flightCaptures(w http.ResponseWriter, _ *http.Request) {
	out := s.src.Control().Flight().Status()
	if out == nil {
		out = []CaptureStatus{}
	}
	JSON(w, http.StatusOK, out)
}

// Captures is GET /v1/captures.
func (c *Client) Captures(ctx context.Context) (out []CaptureStatus, err error) {
	return out, c.get(ctx, "/v1/captures", &out)
}

// Capture is POST /v1/capture: it calls fn with each event the router
// streams (packets, stats, and the end) until the end, an error of fn,
// or ctx ends.
func (c *Client) Capture(ctx context.Context, req CaptureRequest, fn func(*CaptureEvent) error) error {
	return c.Stream(ctx, http.MethodPost, "/v1/capture", req, func(line []byte) error {
		var ev CaptureEvent
		if err := json.Unmarshal(line, &ev); err != nil {
			return fmt.Errorf("capture: bad event from the router: %v", err)
		}
		return fn(&ev)
	})
}

// Stream calls method path with body (JSON-encoded) and hands each line
// of a successful answer to fn, until the answer ends, fn fails or ctx
// ends. An error answer is an *APIError, as with Do.
func (c *Client) Stream(ctx context.Context, method, path string, body any, fn func(line []byte) error) error {
	b, err := json.Marshal(body)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, method, "http://softnet"+path, bytes.NewReader(b))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.send(req, false) // a stream (capture) changes nothing that outlives it
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 300 {
		data, _ := io.ReadAll(io.LimitReader(resp.Body, MaxBody))
		e := &APIError{Status: resp.StatusCode}
		if json.Unmarshal(data, &e.ErrorBody) != nil || e.ErrorBody.Error == "" {
			e.ErrorBody.Error = fmt.Sprintf("%s %s: %s: %s", method, path, resp.Status, strings.TrimSpace(string(data)))
		}
		return e
	}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		if err := fn(sc.Bytes()); err != nil {
			return err
		}
	}
	if err := sc.Err(); err != nil {
		var na *NoAnswerError
		if errors.As(err, &na) {
			return na
		}
		if ctx.Err() != nil {
			return context.Cause(ctx)
		}
		return err
	}
	return nil
}
