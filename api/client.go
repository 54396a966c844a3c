package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Client calls a running router's API over its Unix socket.
type Client struct {
	Socket string
	// Wait bounds each wait for the router: for its answer to begin, and
	// then for each part of it (a long answer, or a capture's stream, may
	// take longer in all as long as it keeps coming). A call that waits
	// longer fails with a *NoAnswerError. 0: no bound but the context's.
	Wait time.Duration
	// By, if not zero, is when the whole answer must have come: a call
	// still waiting for the router then (or, once past it, for more than
	// a second) fails with a *NoAnswerError. Time the caller spends
	// between reads (writing what it read) does not count against it.
	By time.Time
	hc *http.Client
}

// NoAnswerError is a call that waited for the router longer than the
// Client's Wait or past its By: a router that is stopped (SIGSTOP, a
// debugger) or busy (its control plane held by a long load) accepts the
// connection but does not answer.
type NoAnswerError struct {
	Socket string
	// Within: how long the call waited (for the answer to begin, or for
	// more of it when Midway).
	Within time.Duration
	// Midway: the answer had begun, then stopped coming.
	Midway bool
	// ByWait: the Client's Wait ended it, not its By.
	ByWait bool
	// Change: the call asked for a change (POST, DELETE), which the
	// router may still make once it reads the request.
	Change bool
}

func (e *NoAnswerError) Error() string {
	if e.Change && !e.Midway {
		return e.text() + "; it may still make the change once it answers"
	}
	return e.text()
}

func (e *NoAnswerError) text() string {
	switch {
	case e.Midway && !e.ByWait:
		return fmt.Sprintf("the router at %s did not finish its answer within %v (is it stopped, or busy loading a table?)", e.Socket, e.Within)
	case e.Midway:
		return fmt.Sprintf("the router at %s stopped answering: nothing came for %v (is it stopped, or busy loading a table?)", e.Socket, e.Within)
	}
	return fmt.Sprintf("the router at %s did not answer within %v (is it stopped, or busy loading a table?)", e.Socket, e.Within)
}

// pastBy is how long a wait that starts after a Client's By may last:
// what the router sent while the caller was busy is read at once.
const pastBy = time.Second

// watchdog cancels a call whose wait for the router lasts too long.
type watchdog struct {
	c      *Client
	cancel context.CancelCauseFunc
	start  time.Time
	change bool // NoAnswerError.Change
	mu     sync.Mutex
	timer  *time.Timer
}

// arm starts timing one wait for the router (midway: for more of an
// answer that has begun); disarm ends it.
func (w *watchdog) arm(midway bool) {
	lim, byWait := w.c.Wait, true
	if !w.c.By.IsZero() {
		left := max(time.Until(w.c.By), pastBy)
		if lim <= 0 || left < lim {
			lim, byWait = left, false
		}
	}
	if lim <= 0 {
		return
	}
	e := &NoAnswerError{Socket: w.c.Socket, Within: lim, Midway: midway, ByWait: byWait, Change: w.change}
	if !byWait {
		// The call's whole allowance (from its start to By), not the time
		// measured when the timer fires (later on a loaded machine).
		e.Within = roundWait(max(w.c.By.Sub(w.start), lim))
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	w.timer = time.AfterFunc(lim, func() { w.cancel(e) })
}

func (w *watchdog) disarm() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.timer != nil {
		w.timer.Stop()
		w.timer = nil
	}
}

// roundWait rounds d for a message: whole seconds from 2 s on.
func roundWait(d time.Duration) time.Duration {
	if d >= 2*time.Second {
		return d.Round(time.Second)
	}
	return d.Round(100 * time.Millisecond)
}

// watchedBody is an answer's body read under the watchdog.
type watchedBody struct {
	io.ReadCloser
	ctx  context.Context
	wd   *watchdog
	done context.CancelCauseFunc
}

func (b *watchedBody) Read(p []byte) (int, error) {
	b.wd.arm(true)
	n, err := b.ReadCloser.Read(p)
	b.wd.disarm()
	if err != nil && err != io.EOF {
		var na *NoAnswerError
		if errors.As(context.Cause(b.ctx), &na) {
			err = na
		}
	}
	return n, err
}

func (b *watchedBody) Close() error {
	err := b.ReadCloser.Close()
	b.done(nil)
	return err
}

// send sends req and returns the answer, its body read under the
// Client's Wait and By. A call that reached no router is dialError's.
// change: req asks for a change (NoAnswerError.Change).
func (c *Client) send(req *http.Request, change bool) (*http.Response, error) {
	if c.Wait <= 0 && c.By.IsZero() {
		resp, err := c.hc.Do(req)
		if err != nil {
			return nil, c.dialError(err)
		}
		return resp, nil
	}
	ctx, cancel := context.WithCancelCause(req.Context())
	wd := &watchdog{c: c, cancel: cancel, start: time.Now(), change: change}
	wd.arm(false)
	resp, err := c.hc.Do(req.WithContext(ctx))
	wd.disarm()
	if err != nil {
		defer cancel(nil)
		var na *NoAnswerError
		if errors.As(context.Cause(ctx), &na) {
			return nil, na
		}
		return nil, c.dialError(err)
	}
	resp.Body = &watchedBody{ReadCloser: resp.Body, ctx: ctx, wd: wd, done: cancel}
	return resp, nil
}

// NewClient returns a client of the router listening on socket.
func NewClient(socket string) *Client {
	tr := &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", socket)
		},
	}
	// No overall timeout: callers bound each call with its context (a
	// trace may wait minutes for its packets; a full-table reload takes
	// seconds).
	return &Client{Socket: socket, hc: &http.Client{Transport: tr}}
}

// APIError is an error response of the API.
type APIError struct {
	Status int
	ErrorBody
}

func (e *APIError) Error() string {
	if len(e.Details) == 0 {
		return e.ErrorBody.Error
	}
	return e.ErrorBody.Error + ":\n" + strings.Join(e.Details, "\n")
}

// Do calls method path (with its query) with body (JSON-encoded if not
// nil) and decodes the JSON answer into out (if not nil). An error
// answer is an *APIError; no router listening is an error saying how to
// start one.
func (c *Client) Do(ctx context.Context, method, path string, body, out any) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, "http://softnet"+path, rd)
	if err != nil {
		return err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.send(req, method != http.MethodGet && method != http.MethodHead)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode >= 300 {
		e := &APIError{Status: resp.StatusCode}
		if json.Unmarshal(data, &e.ErrorBody) != nil || e.ErrorBody.Error == "" {
			e.ErrorBody.Error = fmt.Sprintf("%s %s: %s: %s", method, path, resp.Status, strings.TrimSpace(string(data)))
		}
		return e
	}
	if out == nil {
		return nil
	}
	if raw, ok := out.(*[]byte); ok {
		*raw = data
		return nil
	}
	return json.Unmarshal(data, out)
}

// dialError says how to fix a call that reached no router.
// MaxSocketPath is the longest path a Unix socket can have (sun_path
// less its terminating NUL).
const MaxSocketPath = 107

// SocketPathError says what is wrong with path as a socket's: empty, or
// longer than MaxSocketPath.
func SocketPathError(path string) error {
	switch {
	case path == "":
		return errors.New("no API socket given: pass --api PATH or set SOFTNET_API")
	case len(path) > MaxSocketPath:
		return fmt.Errorf("%s is %d bytes long: a Unix socket path holds at most %d: choose a shorter one with --api PATH", path, len(path), MaxSocketPath)
	}
	return nil
}

func (c *Client) dialError(err error) error {
	if perr := SocketPathError(c.Socket); perr != nil {
		return perr
	}
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, syscall.ECONNRESET) {
		return fmt.Errorf("the router on %s closed the connection without an answer: is it stopping? (softnet run logs why)", c.Socket)
	}
	if errors.Is(err, syscall.ENOENT) || errors.Is(err, syscall.ECONNREFUSED) {
		return fmt.Errorf("no softnet router listening on %s: start one with softnet run -c FILE, or pass --api", c.Socket)
	}
	if errors.Is(err, syscall.EACCES) {
		return fmt.Errorf("no permission to use %s: run as root or as a member of the socket's group (api: {group: ...})", c.Socket)
	}
	return err
}

func (c *Client) get(ctx context.Context, path string, out any) error {
	return c.Do(ctx, http.MethodGet, path, nil, out)
}

// Status is GET /v1/status.
func (c *Client) Status(ctx context.Context) (s Status, err error) {
	return s, c.get(ctx, "/v1/status", &s)
}

// Interfaces is GET /v1/interfaces.
// StatusGC is Status after a full garbage collection in the router
// (GET /v1/status?gc=1): its heap_live_bytes is what is live now.
func (c *Client) StatusGC(ctx context.Context) (s Status, err error) {
	return s, c.get(ctx, "/v1/status?gc=1", &s)
}

func (c *Client) Interfaces(ctx context.Context) (out []Interface, err error) {
	return out, c.get(ctx, "/v1/interfaces", &out)
}

// VLANs is GET /v1/vlans.
func (c *Client) VLANs(ctx context.Context) (out []VLAN, err error) {
	return out, c.get(ctx, "/v1/vlans", &out)
}

// AddVLAN is POST /v1/vlans.
func (c *Client) AddVLAN(ctx context.Context, v VLANRequest) error {
	return c.Do(ctx, "POST", "/v1/vlans", v, nil)
}

// DeleteVLAN is DELETE /v1/vlans?name=NAME.
func (c *Client) DeleteVLAN(ctx context.Context, name string) error {
	return c.Do(ctx, "DELETE", "/v1/vlans?name="+url.QueryEscape(name), nil, nil)
}

// Bridges is GET /v1/bridges, or with a name GET /v1/bridges?name=NAME.
func (c *Client) Bridges(ctx context.Context, name string) (out []Bridge, err error) {
	q := "/v1/bridges"
	if name != "" {
		q += "?name=" + url.QueryEscape(name)
	}
	return out, c.get(ctx, q, &out)
}

// RouteSummary is GET /v1/routes.
func (c *Client) RouteSummary(ctx context.Context) (out RouteSummary, err error) {
	return out, c.get(ctx, "/v1/routes", &out)
}

// LinuxCP is GET /v1/linuxcp: the linux_cp mirror's counters.
func (c *Client) LinuxCP(ctx context.Context) (out LinuxCP, err error) {
	return out, c.get(ctx, "/v1/linuxcp", &out)
}

// Route is GET /v1/routes?match=q: the longest match of an address or
// prefix.
func (c *Client) Route(ctx context.Context, q string) (out RouteMatch, err error) {
	return out, c.get(ctx, "/v1/routes?match="+url.QueryEscape(q), &out)
}

// AddRoute is POST /v1/routes.
func (c *Client) AddRoute(ctx context.Context, r RouteRequest) error {
	return c.Do(ctx, http.MethodPost, "/v1/routes", r, nil)
}

// DeleteRoute is DELETE /v1/routes?prefix=p.
func (c *Client) DeleteRoute(ctx context.Context, p string) error {
	return c.Do(ctx, http.MethodDelete, "/v1/routes?prefix="+url.QueryEscape(p), nil, nil)
}

// Neighbors is GET /v1/neighbors.
func (c *Client) Neighbors(ctx context.Context) (out []Neighbor, err error) {
	return out, c.get(ctx, "/v1/neighbors", &out)
}

// AddNeighbor is POST /v1/neighbors.
func (c *Client) AddNeighbor(ctx context.Context, n NeighborRequest) error {
	return c.Do(ctx, http.MethodPost, "/v1/neighbors", n, nil)
}

// DeleteNeighbor is DELETE /v1/neighbors.
func (c *Client) DeleteNeighbor(ctx context.Context, iface, addr string) error {
	q := url.Values{"interface": {iface}, "address": {addr}}
	return c.Do(ctx, http.MethodDelete, "/v1/neighbors?"+q.Encode(), nil, nil)
}

// Runtime is GET /v1/runtime.
func (c *Client) Runtime(ctx context.Context) (out Runtime, err error) {
	return out, c.get(ctx, "/v1/runtime", &out)
}

// Errors is GET /v1/errors.
func (c *Client) Errors(ctx context.Context) (out Errors, err error) {
	return out, c.get(ctx, "/v1/errors", &out)
}

// Reload is POST /v1/reload.
func (c *Client) Reload(ctx context.Context, file string) (out ReloadResult, err error) {
	return out, c.Do(ctx, http.MethodPost, "/v1/reload", ReloadRequest{File: file}, &out)
}

// RunningConfig is GET /v1/config: the running state as a config file.
func (c *Client) RunningConfig(ctx context.Context) (out SavedConfig, err error) {
	return out, c.get(ctx, "/v1/config", &out)
}

// Metrics is GET /metrics: the Prometheus text exposition.
func (c *Client) Metrics(ctx context.Context) ([]byte, error) {
	var b []byte
	return b, c.get(ctx, "/metrics", &b)
}

// Trace follows the next n packets through the router's graph, waiting
// at most timeout for them (see GET /v1/trace).
func (c *Client) Trace(ctx context.Context, n int, timeout time.Duration) (out TraceResult, err error) {
	err = c.get(ctx, "/v1/trace?n="+strconv.Itoa(n)+"&timeout="+timeout.String(), &out)
	return
}
