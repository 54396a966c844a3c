package api

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/softnet/softnet/linuxcp"
	"io"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/softnet/softnet/config"
	"github.com/softnet/softnet/control"
	"github.com/softnet/softnet/dp"
	"github.com/softnet/softnet/dp/tracefmt"
	"github.com/softnet/softnet/internal/rules"
	"github.com/softnet/softnet/run"
)

// Source is what the server reads and steers. *run.Router implements it.
type Source interface {
	Status() []run.IfaceStatus
	Counters() dp.Counters
	WorkerCounters() []dp.Counters
	Control() *control.Router
	Config() *config.Config
	Reload(file string) (*run.ReloadResult, error)
	RunningConfig() (*run.Saved, error)
	Trace(ctx context.Context, n int) ([]tracefmt.TracePacket, error)
}

// Options configure a Server.
type Options struct {
	// Socket is the Unix socket path ("" for none: the server then serves
	// only Metrics, if set).
	Socket string
	// Group, if set, owns the socket, which is then mode 0660 (else 0600).
	Group string
	// Metrics is a TCP address to serve /metrics on too ("" for none).
	Metrics string
	// Logger gets one line per request that changes state (info) and per
	// read (debug); nil: none.
	Logger *slog.Logger
}

// Server serves the control API. See the package doc.
type Server struct {
	src     Source
	log     *slog.Logger
	mux     *http.ServeMux
	started time.Time
	reg     *prometheus.Registry

	// methods: each registered path's methods, for 405 answers.
	methods map[string][]string

	servers []*http.Server
	wg      sync.WaitGroup
	socket  string
	metrics net.Addr
	once    sync.Once

	captures atomic.Int32 // POST /v1/capture streams running (capture.go)
}

// New returns a server for src with its endpoints registered, not yet
// listening (Listen or Handler).
func New(src Source, log *slog.Logger) *Server {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Server{src: src, log: log, mux: http.NewServeMux(), started: time.Now(), reg: prometheus.NewRegistry(),
		methods: map[string][]string{"/metrics": {http.MethodGet}}}
	s.reg.MustRegister(NewCollector(src))
	s.Handle("GET /v1/status", s.status)
	s.Handle("GET /v1/interfaces", s.interfaces)
	s.Handle("GET /v1/routes", s.routes)
	s.Handle("POST /v1/routes", s.routeAdd)
	s.Handle("DELETE /v1/routes", s.routeDel)
	s.Handle("GET /v1/neighbors", s.neighbors)
	s.Handle("POST /v1/neighbors", s.neighborAdd)
	s.Handle("DELETE /v1/neighbors", s.neighborDel)
	s.Handle("GET /v1/runtime", s.runtime)
	s.Handle("GET /v1/errors", s.errors)
	s.Handle("POST /v1/reload", s.reload)
	s.Handle("GET /v1/config", s.runningConfig)
	s.Handle("GET /v1/trace", s.trace)
	s.Handle("POST /v1/capture", s.capture)                       // capture.go
	s.Handle("GET /v1/captures", s.flightCaptures)                // capture.go
	s.Handle("GET /v1/vlans", s.vlans)                            // l2.go
	s.Handle("POST /v1/vlans", s.vlanAdd)                         // l2.go
	s.Handle("DELETE /v1/vlans", s.vlanDel)                       // l2.go
	s.Handle("GET /v1/blocklists", s.blocklists)                  // blocklist.go
	s.Handle("GET /v1/filter/rules", s.filterRules)               // filter.go
	s.Handle("GET /v1/filter/states", s.filterStates)             // filter.go
	s.Handle("POST /v1/filter/states/flush", s.filterFlush)       // filter.go
	s.Handle("GET /v1/filter/tables", s.filterTables)             // filtertable.go
	s.Handle("POST /v1/filter/tables/entries", s.filterTableEdit) // filtertable.go
	s.Handle("POST /v1/blocklists", s.blocklistLoad)              // blocklist.go
	s.Handle("POST /v1/blocklists/entries", s.blocklistEdit)      // blocklist.go
	s.Handle("GET /v1/bridges", s.bridges)                        // l2.go
	s.Handle("GET /v1/linuxcp", s.linuxCP)
	s.mux.Handle("GET /metrics", s.MetricsHandler())
	s.mux.Handle("/", fallback(s.methods))
	return s
}

// fallback answers the requests no pattern matched: 405 with an Allow
// header when the path exists with other methods, else 404; both with a
// JSON error. (A catch-all "/" pattern takes them from http.ServeMux,
// which would answer 405 itself in plain text.)
func fallback(methods map[string][]string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ms, ok := methods[r.URL.Path]
		if !ok {
			Error(w, http.StatusNotFound, fmt.Errorf("no endpoint %s %s: see docs/api.md", r.Method, r.URL.Path))
			return
		}
		allow := allowed(ms)
		w.Header().Set("Allow", strings.Join(allow, ", "))
		Error(w, http.StatusMethodNotAllowed, fmt.Errorf("%s %s: method not allowed: use %s (see docs/api.md)", r.Method, r.URL.Path, strings.Join(allow, " or ")))
	})
}

// allowed is the sorted methods of a path, HEAD with GET (http.ServeMux
// serves HEAD with a GET pattern).
func allowed(ms []string) []string {
	out := slices.Clone(ms)
	if slices.Contains(out, http.MethodGet) && !slices.Contains(out, http.MethodHead) {
		out = append(out, http.MethodHead)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// repeatedParam returns an error naming the first query parameter given
// more than once (?match=a&match=b), nil if none is.
func repeatedParam(r *http.Request) error {
	q := r.URL.Query()
	for _, k := range slices.Sorted(maps.Keys(q)) {
		if n := len(q[k]); n > 1 {
			return fmt.Errorf("query parameter %q given %d times: give it once (see docs/api.md)", k, n)
		}
	}
	return nil
}

// Handle registers an endpoint: pattern is an http.ServeMux pattern with
// its method ("GET /v1/trace"). h writes its answer with JSON or Error.
func (s *Server) Handle(pattern string, h http.HandlerFunc) {
	method, path, _ := strings.Cut(pattern, " ")
	s.methods[path] = append(s.methods[path], method)
	s.mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		t0 := time.Now()
		rw := &statusWriter{ResponseWriter: w, code: http.StatusOK}
		if err := repeatedParam(r); err != nil {
			Error(rw, http.StatusBadRequest, err)
		} else {
			h(rw, r)
		}
		lvl := slog.LevelDebug
		if method != http.MethodGet {
			lvl = slog.LevelInfo
		}
		s.log.Log(r.Context(), lvl, "api request", "method", method, "path", path, "query", r.URL.RawQuery,
			"status", rw.code, "duration", time.Since(t0).Round(time.Microsecond))
	})
}

type statusWriter struct {
	http.ResponseWriter
	code int
}

// Unwrap lets http.ResponseController reach the connection (Flush: a
// capture's stream).
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func (w *statusWriter) WriteHeader(code int) {
	w.code = code
	w.ResponseWriter.WriteHeader(code)
}

// Handler is the server's HTTP handler (every endpoint and /metrics).
func (s *Server) Handler() http.Handler { return s.mux }

// MetricsHandler serves the Prometheus exposition of the router's
// counters.
func (s *Server) MetricsHandler() http.Handler {
	return promhttp.HandlerFor(s.reg, promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError})
}

// Listen starts serving src's API on o.Socket and its metrics on
// o.Metrics. The socket is created mode 0600 (0660 owned by o.Group),
// its directory if missing, and removed by Close. If another router
// already answers on the socket, Listen fails and leaves it alone; a
// stale socket file (nobody listening) is replaced.
func Listen(src Source, o Options) (*Server, error) {
	s := New(src, o.Logger)
	if o.Socket != "" {
		l, err := listenUnix(o.Socket, o.Group)
		if err != nil {
			return nil, err
		}
		s.socket = o.Socket
		s.serve(l, s.mux)
	}
	if o.Metrics != "" {
		l, err := net.Listen("tcp", o.Metrics)
		if err != nil {
			s.Close()
			return nil, fmt.Errorf("metrics: cannot listen on %s: %v (choose another address with --metrics or api: {metrics: ...})", o.Metrics, err)
		}
		s.metrics = l.Addr()
		m := http.NewServeMux()
		m.Handle("GET /metrics", s.MetricsHandler())
		m.Handle("/", fallback(map[string][]string{"/metrics": {http.MethodGet}}))
		s.serve(l, m)
	}
	return s, nil
}

// uidKey is the context key of the connection's peer user id (peerUID).
type uidKey struct{}

func (s *Server) serve(l net.Listener, h http.Handler) {
	hs := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second,
		ConnContext: func(ctx context.Context, c net.Conn) context.Context {
			return context.WithValue(ctx, uidKey{}, peerUID(c))
		}}
	s.servers = append(s.servers, hs)
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		if err := hs.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.log.Error("api server stopped", "addr", l.Addr().String(), "error", err)
		}
	}()
}

// Socket is the socket path the server listens on ("" for none).
func (s *Server) Socket() string { return s.socket }

// MetricsAddr is the TCP address /metrics is served on, nil for none.
func (s *Server) MetricsAddr() net.Addr { return s.metrics }

// Close stops serving (requests in progress get a second to finish) and
// removes the socket.
func (s *Server) Close() error {
	s.once.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		for _, hs := range s.servers {
			if err := hs.Shutdown(ctx); err != nil {
				hs.Close()
			}
		}
		s.wg.Wait()
	})
	return nil
}

// listenUnix listens on a Unix socket at path with mode 0600, or 0660
// owned by group.
func listenUnix(path, group string) (net.Listener, error) {
	gid := -1
	if group != "" {
		var err error
		if gid, err = config.LookupGroup(group); err != nil { // softnet check checks it too
			return nil, fmt.Errorf("api: %w", err)
		}
	}
	if err := SocketPathError(path); err != nil {
		return nil, fmt.Errorf("api: %v", err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("api: cannot create the socket's directory: %v (choose another path with --api PATH)", err)
	}
	if fi, err := os.Lstat(path); err == nil {
		if fi.Mode()&os.ModeSocket == 0 {
			return nil, fmt.Errorf("api: %s exists and is not a socket: remove it or choose another path with --api PATH", path)
		}
		if c, err := net.DialTimeout("unix", path, time.Second); err == nil {
			c.Close()
			return nil, fmt.Errorf("api: another softnet router is already listening on %s: stop it, or give this one another socket (--api PATH, or --api \"\" for none)", path)
		}
		os.Remove(path) // stale: its router is gone
	}
	l, err := net.Listen("unix", path)
	if err != nil {
		return nil, fmt.Errorf("api: cannot listen on %s: %v (choose another path with --api PATH)", path, err)
	}
	mode := os.FileMode(0o600)
	if gid >= 0 {
		mode = 0o660
		if err := os.Chown(path, -1, gid); err != nil {
			l.Close()
			return nil, fmt.Errorf("api: cannot give %s to group %s: %v", path, group, err)
		}
	}
	if err := os.Chmod(path, mode); err != nil {
		l.Close()
		return nil, fmt.Errorf("api: chmod %s: %v", path, err)
	}
	return l, nil
}

// JSON writes v as the response, with status code.
func JSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false) // "a > b", not "a \u003e b": no browser reads this
	_ = enc.Encode(v)
}

// Error writes err as an ErrorBody with status code; config errors (a
// rejected reload) also go one per line into Details.
func Error(w http.ResponseWriter, code int, err error) {
	b := ErrorBody{Error: err.Error()}
	var ce config.Errors
	if errors.As(err, &ce) {
		b.Error = fmt.Sprintf("%d config errors, nothing changed", len(ce))
		if len(ce) == 1 {
			b.Error = "1 config error, nothing changed"
		}
		for _, e := range ce {
			b.Details = append(b.Details, e.Error())
		}
	}
	JSON(w, code, b)
}

// MaxBody is the largest request body the API reads, in bytes.
const MaxBody = 1 << 20

// decode reads a JSON request body (at most MaxBody bytes) into v,
// rejecting unknown fields and anything but white space after the
// object. Answer its error with bodyStatus's code.
func decode(w http.ResponseWriter, r *http.Request, v any) error {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, MaxBody))
	dec.DisallowUnknownFields()
	err := dec.Decode(v)
	if err == nil {
		var extra json.RawMessage
		if err = dec.Decode(&extra); err == nil {
			err = errors.New("more data after the JSON object: send one object")
		} else if errors.Is(err, io.EOF) {
			return nil
		}
	}
	if mb, ok := errors.AsType[*http.MaxBytesError](err); ok {
		return tooLarge{mb.Limit}
	}
	return fmt.Errorf("bad request body: %w (see docs/api.md)", err)
}

// tooLarge is decode's error for a body over MaxBody.
type tooLarge struct{ limit int64 }

func (e tooLarge) Error() string {
	return fmt.Sprintf("request body too large (limit %d bytes)", e.limit)
}

// bodyStatus is the status code of a decode error: 413 for a body over
// MaxBody, else 400.
func bodyStatus(err error) int {
	if _, ok := errors.AsType[tooLarge](err); ok {
		return http.StatusRequestEntityTooLarge
	}
	return http.StatusBadRequest
}

func (s *Server) status(w http.ResponseWriter, r *http.Request) {
	switch g := r.URL.Query().Get("gc"); g {
	case "":
	case "1":
		// A full collection first, so heap_live_bytes is what is live now
		// (a soak compares it at start and end).
		runtime.GC()
	default:
		Error(w, http.StatusBadRequest, fmt.Errorf("gc=%q: give gc=1 to collect garbage before measuring the heap, or leave it out", g))
		return
	}
	cfg := s.src.Config()
	ctl := s.src.Control()
	st := Status{
		PID: os.Getpid(), Config: cfg.File, Started: s.started.UTC().Format(time.RFC3339),
		UptimeS: time.Since(s.started).Seconds(), Workers: len(s.src.WorkerCounters()),
		Interfaces: len(cfg.Interfaces), FIBRoutes: ctl.Routes(), Static: ctl.StaticRoutes(),
		Goroutines: runtime.NumGoroutine(), HeapLiveBytes: heapLive(), OpenFDs: openFDs(),
	}
	st.Adjacencies, st.AdjacenciesMax = ctl.Adjacencies()
	if b, ok := s.src.(interface{ Buffers() (int, int) }); ok {
		st.BuffersInUse, st.Buffers = b.Buffers()
	}
	JSON(w, http.StatusOK, st)
}

// heapLive is the heap's live bytes as of the last GC cycle
// (runtime/metrics /gc/heap/live:bytes): what survives, not what garbage
// waits to be collected.
func heapLive() uint64 {
	m := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	metrics.Read(m)
	if m[0].Value.Kind() != metrics.KindUint64 {
		return 0
	}
	return m[0].Value.Uint64()
}

// openFDs counts the process's open file descriptors in /proc/self/fd
// (the one reading the directory left out); -1 if it cannot be read.
func openFDs() int {
	es, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return -1
	}
	return len(es) - 1
}

func updown(b bool) string {
	if b {
		return "up"
	}
	return "down"
}

func (s *Server) interfaces(w http.ResponseWriter, _ *http.Request) {
	out := []Interface{}
	for _, st := range s.src.Status() {
		ifc := Interface{
			Name: st.Name, Backend: string(st.Backend), Device: st.Device,
			Admin: updown(st.AdminUp), Link: updown(st.Up),
			MAC: net.HardwareAddr(st.MAC[:]).String(), MTU: st.MTU, Queues: st.Queues,
			Addresses: []string{},
			RxPackets: st.RxPackets, RxBytes: st.RxBytes, TxPackets: st.TxPackets, TxBytes: st.TxBytes,
			IfqDrops: st.KernelDrops, PortDrops: st.PortDrops, PortCounters: st.PortCounters, LastError: st.LastError,
		}
		for _, a := range st.Addresses {
			ifc.Addresses = append(ifc.Addresses, a.String())
		}
		for _, n := range st.PortDrops {
			ifc.Drops += n
		}
		out = append(out, ifc)
	}
	JSON(w, http.StatusOK, out)
}

var kindNames = map[dp.AdjKind]string{
	dp.AdjNone: "none", dp.AdjForward: "forward", dp.AdjIncomplete: "incomplete",
	dp.AdjGlean: "connected", dp.AdjLocal: "local", dp.AdjBroadcast: "broadcast",
	dp.AdjDrop: "blackhole", dp.AdjUnreachable: "unreachable", dp.AdjGroup: "ecmp",
}

func (s *Server) routes(w http.ResponseWriter, r *http.Request) {
	ctl := s.src.Control()
	q := r.URL.Query().Get("match")
	if q == "" && r.URL.Query().Has("match") {
		// An empty match is a mistake, not a request for the summary
		// (whose JSON the client would read as a match).
		Error(w, http.StatusBadRequest, fmt.Errorf(`match: empty: give an address or prefix (match=198.18.0.1, match=8.8.8.0/24), or leave match out for the route counts`))
		return
	}
	if q == "" {
		counts := ctl.RouteCounts()
		sum := RouteSummary{Static: ctl.StaticRoutes(), ByLength: []LengthCount{}}
		for l, n := range counts {
			sum.Total += n
			if n > 0 {
				sum.ByLength = append(sum.ByLength, LengthCount{l, n})
			}
		}
		for l, n := range ctl.RouteCounts6() {
			sum.Total6 += n
			if n > 0 {
				sum.ByLength6 = append(sum.ByLength6, LengthCount{l, n})
			}
		}
		JSON(w, http.StatusOK, sum)
		return
	}
	p, err := parseAddrOrPrefix(q)
	if err != nil {
		Error(w, http.StatusBadRequest, err)
		return
	}
	res := RouteMatch{Query: q}
	if m, ok := ctl.LookupPrefix(p); ok {
		res.Found, res.Prefix, res.Kind, res.Static, res.Origin = true, m.Prefix.String(), kindNames[m.Kind], m.Static, m.Origin
		for _, h := range m.NextHops {
			rh := RouteHop{Interface: s.ifaceName(h.Iface), Weight: h.Weight, Live: h.Live}
			if h.Via.IsValid() {
				rh.Via = h.Via.String()
			}
			res.NextHops = append(res.NextHops, rh)
		}
		if m.Iface >= 0 {
			res.Interface = s.ifaceName(m.Iface)
		}
		if m.Via.IsValid() {
			res.Via = m.Via.String()
		}
	}
	JSON(w, http.StatusOK, res)
}

// parseAddrOrPrefix parses an address as its /32, or a prefix (masked).
func parseAddrOrPrefix(s string) (netip.Prefix, error) {
	if p, err := netip.ParsePrefix(s); err == nil && rules.Family(p.Addr()) == nil {
		return p.Masked(), nil
	}
	if a, err := netip.ParseAddr(s); err == nil && rules.Family(a) == nil {
		return netip.PrefixFrom(a, a.BitLen()), nil
	}
	return netip.Prefix{}, fmt.Errorf("%q is not an IPv4 or IPv6 address or prefix (write A.B.C.D, A.B.C.D/N, 2001:db8::1 or 2001:db8::/32)", s)
}

func (s *Server) ifaceName(i int) string {
	ifs := s.src.Control().Interfaces()
	if i >= 0 && i < len(ifs) {
		return ifs[i].Name
	}
	return strconv.Itoa(i)
}

func (s *Server) ifaceIndex(name string) (int, error) {
	for i, ifc := range s.src.Control().Interfaces() {
		if ifc.Name == name {
			return i, nil
		}
	}
	var names []string
	for _, ifc := range s.src.Control().Interfaces() {
		names = append(names, ifc.Name)
	}
	return 0, fmt.Errorf("no interface %q: the router has %s", name, strings.Join(names, ", "))
}

func parsePrefix(s string) (netip.Prefix, error) {
	p, err := netip.ParsePrefix(s)
	if err == nil {
		if err := rules.Mapped(s, p); err != nil {
			return p, fmt.Errorf("prefix %w", err)
		}
	}
	if err != nil || rules.Family(p.Addr()) != nil {
		return p, fmt.Errorf("prefix %q is not an IPv4 or IPv6 prefix (write A.B.C.D/N, e.g. 198.51.100.0/24, or 2001:db8::/32)", s)
	}
	if err := rules.Canonical(s, p); err != nil { // as softnet check says it of a config route
		return p, fmt.Errorf("prefix %w", err)
	}
	return p, nil
}

func (s *Server) routeAdd(w http.ResponseWriter, r *http.Request) {
	var req RouteRequest
	if err := decode(w, r, &req); err != nil {
		Error(w, bodyStatus(err), err)
		return
	}
	p, err := parsePrefix(req.Prefix)
	if err != nil {
		Error(w, http.StatusBadRequest, err)
		return
	}
	var via netip.Addr
	switch {
	case req.Blackhole && req.Via != "":
		Error(w, http.StatusBadRequest, fmt.Errorf("route %v: give a gateway (via) or blackhole, not both", p))
		return
	case !req.Blackhole:
		if via, err = netip.ParseAddr(req.Via); err == nil && via.Is6() && !via.Is4In6() && via.WithZone("").IsLinkLocalUnicast() {
			Error(w, http.StatusBadRequest, fmt.Errorf("route %v: gateway %s: %v", p, req.Via, rules.ErrLinkLocalNextHop))
			return
		}
		if err != nil || rules.Family(via) != nil || via.Is4() != p.Addr().Is4() {
			Error(w, http.StatusBadRequest, fmt.Errorf("route %v: gateway %q is not an address of the prefix's family (write via A.B.C.D for an IPv4 route, via 2001:db8::1 for an IPv6 one, or blackhole)", p, req.Via))
			return
		}
	}
	ctl := s.src.Control()
	if err := ctl.AddRoute(p, via); err != nil {
		Error(w, http.StatusUnprocessableEntity, err)
		return
	}
	ctl.Publish()
	JSON(w, http.StatusOK, req)
}

func (s *Server) routeDel(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query().Get("prefix")
	p, err := parsePrefix(q)
	if err != nil {
		Error(w, http.StatusBadRequest, err)
		return
	}
	ctl := s.src.Control()
	if err := ctl.DeleteRoute(p); err != nil {
		code := http.StatusUnprocessableEntity
		if errors.Is(err, control.ErrNoRoute) {
			code = http.StatusNotFound
		}
		Error(w, code, err)
		return
	}
	ctl.Publish()
	JSON(w, http.StatusOK, RouteRequest{Prefix: p.String()})
}

func (s *Server) neighbors(w http.ResponseWriter, _ *http.Request) {
	ctl := s.src.Control()
	now := time.Now()
	out := []Neighbor{}
	for _, e := range ctl.Neighbors() {
		n := Neighbor{Interface: s.ifaceName(e.Iface), Address: e.Addr.String(), State: e.State.String(), AgeS: now.Sub(e.Updated).Seconds(),
			Source: e.Source()}
		if e.KernelState != "" {
			n.State = e.KernelState // the kernel's state, as ip neigh says it
		}
		if e.MAC != [6]byte{} {
			n.MAC = net.HardwareAddr(e.MAC[:]).String()
		}
		out = append(out, n)
	}
	JSON(w, http.StatusOK, out)
}

func (s *Server) neighborArgs(req NeighborRequest) (int, netip.Addr, error) {
	i, err := s.ifaceIndex(req.Interface)
	if err != nil {
		return 0, netip.Addr{}, err
	}
	a, err := netip.ParseAddr(req.Address)
	if err != nil || rules.Family(a) != nil {
		return 0, netip.Addr{}, fmt.Errorf("neighbor address %q is not an IPv4 or IPv6 address (write A.B.C.D or 2001:db8::2)", req.Address)
	}
	return i, a, nil
}

func (s *Server) neighborAdd(w http.ResponseWriter, r *http.Request) {
	var req NeighborRequest
	if err := decode(w, r, &req); err != nil {
		Error(w, bodyStatus(err), err)
		return
	}
	i, a, err := s.neighborArgs(req)
	if err != nil {
		Error(w, http.StatusBadRequest, err)
		return
	}
	hw, err := net.ParseMAC(req.MAC)
	if err != nil || len(hw) != 6 {
		Error(w, http.StatusBadRequest, fmt.Errorf("neighbor MAC %q is not a MAC address (write six hex bytes, e.g. 02:00:00:00:00:01)", req.MAC))
		return
	}
	var mac [6]byte
	copy(mac[:], hw)
	if err := rules.MAC(mac); err != nil { // the control plane's check, here for a 400
		Error(w, http.StatusBadRequest, fmt.Errorf("neighbor %v: %w", a, err))
		return
	}
	ctl := s.src.Control()
	if err := ctl.AddNeighbor(i, a, mac); err != nil {
		Error(w, http.StatusUnprocessableEntity, err)
		return
	}
	ctl.Publish()
	JSON(w, http.StatusOK, req)
}

func (s *Server) neighborDel(w http.ResponseWriter, r *http.Request) {
	req := NeighborRequest{Interface: r.URL.Query().Get("interface"), Address: r.URL.Query().Get("address")}
	i, a, err := s.neighborArgs(req)
	if err != nil {
		Error(w, http.StatusBadRequest, err)
		return
	}
	ctl := s.src.Control()
	if err := ctl.DeleteNeighbor(i, a); err != nil {
		Error(w, http.StatusNotFound, err)
		return
	}
	ctl.Publish()
	JSON(w, http.StatusOK, req)
}

func (s *Server) runtime(w http.ResponseWriter, _ *http.Request) {
	c := s.src.Counters()
	var out Runtime
	for _, st := range dp.Stages() {
		sr := StageRuntime{Name: st.String(), Calls: c.Calls[st], Packets: c.Packets[st]}
		if sr.Calls > 0 {
			sr.PacketsPerCall = float64(sr.Packets) / float64(sr.Calls)
		}
		if c.SampledPkts[st] > 0 {
			sr.NsPerPacket = float64(c.SampledNanos[st]) / float64(c.SampledPkts[st])
		}
		out.Stages = append(out.Stages, sr)
	}
	for i, wc := range s.src.WorkerCounters() {
		out.Workers = append(out.Workers, workerRuntime(i, &wc))
	}
	cfg := s.src.Config()
	out.PollMode = cmp.Or(cfg.PollMode, config.DefaultPollMode)
	if out.PollMode == config.PollAdaptive {
		out.PollWindowUs = float64(cmp.Or(cfg.PollWindow, dp.DefaultPollWindow)) / float64(time.Microsecond)
	}
	out.Go = readGoRuntime()
	JSON(w, http.StatusOK, out)
}

func (s *Server) errors(w http.ResponseWriter, _ *http.Request) {
	st := s.src.Status()
	c := s.src.Counters()
	cs := s.src.Control().Stats()
	ds := run.Drops(st, &c, cs)
	a := run.Account(st, &c, cs)
	out := Errors{Total: run.TotalDrops(ds), ICMPEchoReplies: c.ICMPEchoReplies, Unreachable: cs.Unreachable,
		Accounting: Accounting{Received: a.Received, Generated: a.Generated, Sent: a.Sent, Dropped: a.Dropped,
			Consumed: a.Consumed, Held: a.Held, Balance: a.Balance()}}
	for _, d := range ds {
		out.Drops = append(out.Drops, Drop{Stage: d.Stage, Reason: d.Reason, Interface: d.Interface, Count: d.Count,
			Description: d.Description, Of: d.Of})
	}
	for k := range dp.NumICMPErrors {
		out.ICMPErrors = append(out.ICMPErrors, ICMPCount{Kind: dp.ICMPErrorNames[k], Count: c.ICMPErrors[k]})
	}
	JSON(w, http.StatusOK, out)
}

func (s *Server) reload(w http.ResponseWriter, r *http.Request) {
	var req ReloadRequest
	if r.ContentLength != 0 {
		// A chunked empty body (ContentLength -1) is an empty request.
		if err := decode(w, r, &req); err != nil && !(r.ContentLength < 0 && errors.Is(err, io.EOF)) {
			Error(w, bodyStatus(err), err)
			return
		}
	}
	// Only root may point the router (which runs as root) at a file of
	// its choice: error messages quote lines of the files they read. A
	// member of the socket's group reloads the running config.
	if req.File != "" {
		if uid, ok := r.Context().Value(uidKey{}).(int); ok && uid != 0 {
			Error(w, http.StatusForbidden, fmt.Errorf("reload from another file (%s) is for root only: edit the running config and reload without a file, or ask root", req.File))
			return
		}
	}
	res, err := s.src.Reload(req.File)
	if err != nil {
		Error(w, http.StatusUnprocessableEntity, err)
		return
	}
	ch := res.Changes
	s.log.Info("config reloaded", "file", res.File, "summary", res.Summary, slog.Group("changes",
		"interfaces", ch.Interfaces, "routes_added", ch.RoutesAdded, "routes_changed", ch.RoutesChanged, "routes_removed", ch.RoutesRemoved,
		"neighbors_added", ch.NeighborsAdded, "neighbors_removed", ch.NeighborsGone, "icmp", ch.ICMP))
	JSON(w, http.StatusOK, res)
}

// runningConfig answers the running state as a config file (softnet
// config save): run.Router.RunningConfig.
func (s *Server) runningConfig(w http.ResponseWriter, _ *http.Request) {
	res, err := s.src.RunningConfig()
	if err != nil {
		Error(w, http.StatusInternalServerError, err)
		return
	}
	JSON(w, http.StatusOK, res)
}

// maxTraceWait bounds how long a trace request waits for its packets.
const maxTraceWait = 5 * time.Minute

// trace follows the next ?n= packets (default 10) through the graph,
// waiting at most ?timeout= (default 10s) for them, and answers with the
// packets recorded (fewer than n if the timeout ended it first: Complete
// is then false and Error says how many: "3 of 5 packets seen in 10s
// (timeout)").
func (s *Server) trace(w http.ResponseWriter, r *http.Request) {
	n := 10
	if v := r.URL.Query().Get("n"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil {
			Error(w, http.StatusBadRequest, fmt.Errorf("n=%q: give the number of packets to trace, 1 to %d", v, dp.MaxTrace))
			return
		}
	}
	if n < 1 || n > dp.MaxTrace {
		Error(w, http.StatusBadRequest, fmt.Errorf("n=%d: give the number of packets to trace, 1 to %d", n, dp.MaxTrace))
		return
	}
	wait := 10 * time.Second
	if v := r.URL.Query().Get("timeout"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 || d > maxTraceWait {
			Error(w, http.StatusBadRequest, fmt.Errorf("timeout=%q: give a duration such as 10s, at most %v", v, maxTraceWait))
			return
		}
		wait = d
	}
	ctx, cancel := context.WithTimeout(r.Context(), wait)
	defer cancel()
	pkts, err := s.src.Trace(ctx, n)
	if errors.Is(err, dp.ErrTraceBusy) {
		Error(w, http.StatusConflict, err)
		return
	}
	out := TraceResult{Requested: n, Packets: pkts, Complete: err == nil}
	if pkts == nil {
		out.Packets = []tracefmt.TracePacket{}
	}
	switch {
	case err != nil && errors.Is(err, context.DeadlineExceeded):
		out.Error = fmt.Sprintf("%d of %d packets seen in %v (timeout)", len(out.Packets), n, wait)
	case err != nil:
		out.Error = err.Error()
	}
	JSON(w, http.StatusOK, out)
}

// LinuxCPSource is what a Source with a linux_cp mirror adds
// (*run.Router implements it).
type LinuxCPSource interface {
	LinuxCP() (linuxcp.Stats, bool)
}

// linuxCP is GET /v1/linuxcp: the mirror's counters.
func (s *Server) linuxCP(w http.ResponseWriter, r *http.Request) {
	var st linuxcp.Stats
	ok := false
	if src, is := s.src.(LinuxCPSource); is {
		st, ok = src.LinuxCP()
	}
	if !ok {
		Error(w, http.StatusNotFound, fmt.Errorf("linux_cp is not configured: add a linux_cp section to the config (README, Routes from Linux) and restart softnet"))
		return
	}
	ctl := s.src.Control()
	in, sh := ctl.KernelRoutes()
	out := LinuxCP{Stats: st, Installed: in, Shadowed: sh}
	if h, is := s.src.(HostIfSource); is {
		out.HostInterfaces = h.HostInterfaces()
	}
	JSON(w, http.StatusOK, out)
}

// HostIfSource is what a Source with linux_cp host interfaces adds
// (*run.Router implements it).
type HostIfSource interface {
	HostInterfaces() []linuxcp.HostIfStats
}
