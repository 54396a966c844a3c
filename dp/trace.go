package dp

import (
	"context"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/softnet/softnet/hdr"
	"github.com/softnet/softnet/pkt"
)

// Packet trace (VPP's `trace add … N` and `show trace`): follow the next N
// packets the workers receive through the graph and record every stage
// they visit and how they left.
//
// Cost. A worker without a Tracer does nothing. A worker with one loads
// the tracer's armed session once per poll (one atomic load) and does
// nothing else while no trace is armed: the stages, their fast loops and
// the per-packet work are untouched. While armed, a worker claims packets
// from the session's budget with one atomic add per received batch (not
// per packet), marks the claimed buffers (pkt.Meta.Trace: the record slot
// plus one), copies their first TraceHeadLen bytes, and, in run, before it
// dispatches a stage, scans that stage's vector for marked packets and
// appends a step to their records. Records live in arrays the tracer
// allocated when it armed, so tracing allocates nothing per packet either.
//
// Hand-off. Each worker owns a slice of records in the session and
// publishes how many are complete with one atomic store after each traced
// batch has run to completion (every traced packet has then left the
// graph: sent, dropped, punted or consumed). The reader copies only
// records below that count, which the worker never writes again, so the
// worker takes no lock and never waits.
//
// Limits. Packets the control plane injects (released after ARP
// resolution, or ARP requests and replies it built) are not traced:
// a traced packet that is punted for resolution ends its trace there with
// fate "punt". Fragments made by ip4-frag are new buffers and not traced:
// the original's trace ends with fate "fragmented". A "tx" fate means the
// packet was handed to the port's Send; a transmit ring that was full
// (interface-output/tx-full) is counted per port, not per packet.

// TraceHeadLen is how many bytes of a traced frame are kept, as it
// arrived and as it left.
const TraceHeadLen = 64

// MaxTrace is the most packets one trace may follow. Each worker keeps a
// record of about 350 bytes per packet for the trace's duration.
const MaxTrace = 10000

// traceMaxSteps bounds the steps kept per packet. The longest path of the
// graph (a packet too big with DF set: ethernet-input, ip4-input,
// ip4-lookup, ip4-rewrite, icmp4-error, ip4-lookup, ip4-rewrite,
// interface-output, drop) has 9.
const traceMaxSteps = 16

// ErrTraceBusy is returned (wrapped, with the running trace's progress)
// when a trace is asked for while another runs.
var ErrTraceBusy = errors.New("a packet trace is already running: wait for it to finish (or cancel it) and try again")

// rawStep is one stage visit as the worker records it: the stage and the
// packet's metadata on entry, whose meaning depends on the stage (see
// traceStep). Formatting into words happens on the reader's side.
type rawStep struct {
	stage Stage
	k     uint8
	a, b  uint16
	d     uint16
	c     uint32
}

// rawTrace is one traced packet's record.
type rawTrace struct {
	time    int64 // UnixNano when its batch was claimed
	iface   uint16
	len     uint16 // frame length as received
	outLen  uint16 // frame length at interface-output
	headLen uint8
	outHead uint8 // bytes of out kept (0: never reached interface-output)
	nsteps  uint8
	lost    bool // more steps than traceMaxSteps
	head    [TraceHeadLen]byte
	out     [TraceHeadLen]byte
	steps   [traceMaxSteps]rawStep
}

// traceOut is one worker's records in a session: records [0, done) are
// complete; the worker alone writes the others.
type traceOut struct {
	_    [64]byte // keep done on a line of its own: other workers write theirs
	done atomic.Int64
	_    [56]byte
	recs []rawTrace
}

// traceSession is one armed trace.
type traceSession struct {
	_      [64]byte
	budget atomic.Int64 // packets left to claim (may go below zero)
	_      [56]byte
	out    []traceOut // per worker, in Tracer order
}

func (s *traceSession) recorded() int {
	n := 0
	for i := range s.out {
		n += int(s.out[i].done.Load())
	}
	return n
}

// Tracer arms packet traces on a set of workers. Its methods are for the
// control side and safe from any goroutine; one trace runs at a time.
type Tracer struct {
	workers []*Worker
	armed   atomic.Pointer[traceSession]

	mu   sync.Mutex
	sess *traceSession // the running trace, armed or not; nil: none
	n    int
}

// NewTracer attaches a tracer to workers. Call it before they run (as
// control.Router.AttachWorkers); a worker belongs to at most one tracer.
func NewTracer(workers []*Worker) *Tracer {
	t := &Tracer{workers: workers}
	for i, w := range workers {
		w.tr, w.trIdx = t, i
	}
	return t
}

// tracePoll is how often Trace looks at the workers' published counts.
const tracePoll = 2 * time.Millisecond

// Trace follows the next n packets the workers receive (1..MaxTrace): it
// arms the trace, waits until n packets have been recorded or ctx ends,
// disarms it and returns the records in the order the packets arrived. If
// ctx ends first it returns what was recorded with an error that says how
// many (it wraps context.Cause(ctx)). A second Trace while one runs gets
// an error wrapping ErrTraceBusy.
func (t *Tracer) Trace(ctx context.Context, n int) ([]TracePacket, error) {
	if err := t.Start(n); err != nil {
		return nil, err
	}
	tick := time.NewTicker(tracePoll)
	defer tick.Stop()
	var err error
	for t.Recorded() < n && err == nil {
		select {
		case <-ctx.Done():
			err = context.Cause(ctx)
		case <-tick.C:
		}
	}
	pkts := t.Stop()
	if len(pkts) < n {
		return pkts, fmt.Errorf("trace: %d of %d packets recorded before it was stopped: %w", len(pkts), n, err)
	}
	return pkts, nil
}

// Start arms a trace of the next n packets (1..MaxTrace) and returns at
// once; Recorded tells how many are done and Stop ends it. If a trace is
// running it returns an error wrapping ErrTraceBusy.
func (t *Tracer) Start(n int) error {
	if n < 1 || n > MaxTrace {
		return fmt.Errorf("trace %d packets: give a count from 1 to %d", n, MaxTrace)
	}
	if len(t.workers) == 0 {
		return errors.New("trace: the router has no workers")
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.sess != nil {
		return fmt.Errorf("%w (it follows %d packets, %d recorded so far)", ErrTraceBusy, t.n, t.sess.recorded())
	}
	s := &traceSession{out: make([]traceOut, len(t.workers))}
	for i := range s.out {
		s.out[i].recs = make([]rawTrace, n)
	}
	s.budget.Store(int64(n))
	t.sess, t.n = s, n
	t.armed.Store(s)
	return nil
}

// Recorded is the number of packets the running trace has recorded so
// far (0 when none runs).
func (t *Tracer) Recorded() int {
	t.mu.Lock()
	s := t.sess
	t.mu.Unlock()
	if s == nil {
		return 0
	}
	return s.recorded()
}

// Running reports whether a trace is running.
func (t *Tracer) Running() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.sess != nil
}

// Stop disarms the running trace and returns what it recorded, in the
// order the packets arrived (nil if none runs).
func (t *Tracer) Stop() []TracePacket {
	t.mu.Lock()
	defer t.mu.Unlock()
	s := t.sess
	if s == nil {
		return nil
	}
	t.armed.Store(nil)
	t.sess = nil
	// Arming needs no wake-up (a worker loads the armed session at the
	// top of every poll, and a frame to trace wakes it first), but a
	// sleeping worker keeps the finished session's records until its
	// next poll: wake it to let them go.
	for _, w := range t.workers {
		w.wk.wake()
	}
	// Records a worker completes after this point are not read: every
	// count loaded by collect covers records the worker will not touch
	// again.
	return t.collect(s)
}

// collect formats the published records of s.
func (t *Tracer) collect(s *traceSession) []TracePacket {
	cfg := t.workers[0].cfg.Load()
	var out []TracePacket
	for i := range s.out {
		o := &s.out[i]
		done := int(o.done.Load())
		for j := range o.recs[:done] {
			out = append(out, format(cfg, t.workers[i].ID, &o.recs[j]))
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		if !out[i].Time.Equal(out[j].Time) {
			return out[i].Time.Before(out[j].Time)
		}
		return out[i].Worker < out[j].Worker
	})
	for i := range out {
		out[i].Seq = i + 1
	}
	return out
}

// Worker side. Every function below runs on the worker's goroutine.

// traceLoad is called once per poll when the worker has a tracer: it
// loads the armed session (the poll's one atomic load) and reports
// whether there is one.
func (w *Worker) traceLoad() bool {
	s := w.tr.armed.Load()
	if s == nil {
		if w.trSess != nil {
			w.trSess, w.trOut = nil, nil // let a finished session be collected
		}
		return false
	}
	if s != w.trSess {
		w.trSess, w.trOut, w.trDone = s, &s.out[w.trIdx], 0
	}
	return true
}

// traceMark claims packets of the batch just received (in) from the
// session's budget, one atomic add for the batch, and marks them.
func (w *Worker) traceMark(in *pkt.Batch) {
	s, o := w.trSess, w.trOut
	room := min(in.N, len(o.recs)-w.trDone-w.trN)
	got := 0
	if room > 0 && s.budget.Load() > 0 {
		left := s.budget.Add(-int64(room))
		got = room
		if left < 0 {
			got = max(0, room+int(left))
		}
	}
	if got == 0 {
		return // nothing traced: the stage hooks stay off for this batch
	}
	now := time.Now().UnixNano()
	w.tracing = true
	for i, x := range in.B[:in.N] {
		b := pkt.At(x)
		if i >= got {
			// Ports reset the metadata of what they receive; clearing
			// here keeps a stale mark from counting all the same.
			b.Trace = 0
			continue
		}
		r := &o.recs[w.trDone+w.trN]
		w.trN++
		b.Trace = uint16(w.trN)
		r.time, r.iface, r.len = now, w.rxIf, b.Len
		r.outLen, r.outHead, r.nsteps, r.lost = 0, 0, 0, false
		r.headLen = uint8(copy(r.head[:], b.Bytes()))
	}
}

// traceEnd publishes the records of the batch that just ran to completion.
func (w *Worker) traceEnd() {
	w.trDone += w.trN
	w.trN = 0
	w.tracing = false
	w.trOut.done.Store(int64(w.trDone))
}

// traceStage records stage s for every traced packet of f, before s runs.
// Called only while tracing (w.tracing).
func (w *Worker) traceStage(s Stage, cfg *Config, f *pkt.Batch) {
	for _, x := range f.B[:f.N] {
		b := pkt.At(x)
		if b.Trace != 0 {
			w.traceStep(s, cfg, b)
		}
	}
}

// traceStep appends to b's record the visit of stage s with what the
// stage is about to act on.
func (w *Worker) traceStep(s Stage, cfg *Config, b *pkt.Buf) {
	i := w.trDone + int(b.Trace) - 1
	if i >= len(w.trOut.recs) {
		return // not ours: cannot happen, marks are cleared per batch
	}
	r := &w.trOut.recs[i]
	if int(r.nsteps) == traceMaxSteps {
		r.lost = true
		return
	}
	st := &r.steps[r.nsteps]
	r.nsteps++
	*st = rawStep{stage: s}
	switch s {
	case StageEthernetInput:
		st.a = w.rxIf
	case StageIP4Lookup, StageIP4Local:
		st.c, st.k = b.Dst4(), b.Flags
	case StageICMP4Error:
		st.k, st.a, st.c = b.ICMPType, uint16(b.ICMPCode), b.Aux
	case StageIP4Rewrite, StageIP4ARP, StageIP4Frag:
		st.a = b.NH
		if cfg != nil && int(b.NH) < len(cfg.Adj) {
			adj := &cfg.Adj[b.NH]
			st.k, st.b, st.d, st.c = uint8(adj.Kind), adj.Iface, adj.MTU, adj.Addr
			if s == StageIP4ARP && adj.Kind == AdjGlean {
				st.c = b.Dst4() // a connected destination resolves itself
			}
		}
	case StageInterfaceOutput:
		st.a, st.b = b.OutPort, b.Len
		r.outLen = b.Len
		r.outHead = uint8(copy(r.out[:], b.Bytes()))
	case StageDrop:
		st.a = b.Reason
	}
}

// Reader side: records into words.

// Hex is bytes that marshal to JSON (and text) as a hex string.
type Hex []byte

// MarshalText implements encoding.TextMarshaler.
func (h Hex) MarshalText() ([]byte, error) { return []byte(hex.EncodeToString(h)), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (h *Hex) UnmarshalText(b []byte) error {
	d, err := hex.DecodeString(string(b))
	*h = d
	return err
}

// TraceStep is one stage a traced packet visited: the stage, where it
// sent the packet next (a stage, "tx <interface>", "control-plane",
// "pool") and why.
type TraceStep struct {
	Stage string `json:"stage"`
	Next  string `json:"next"`
	Note  string `json:"note,omitempty"`
}

// Fates of a traced packet.
const (
	FateTx         = "tx"         // forwarded: handed to OutIface's port
	FateDrop       = "drop"       // dropped: Reason says where and why
	FatePunt       = "punt"       // handed to the control plane (ARP resolution or learning)
	FateLocal      = "local"      // addressed to the router and answered (echo reply, ARP reply sent)
	FateICMPError  = "icmp-error" // replaced by an ICMP error about it, which was sent
	FateFragmented = "fragmented" // cut into fragments (not traced) for OutIface
	FateUnknown    = "unknown"    // the record is incomplete (more steps than kept)
)

// TracePacket is one traced packet: where it came in, its first bytes as
// received (Head, decoded in Summary), every stage it visited, and how it
// left (Fate, with Reason for a drop and Detail in words). Out and
// OutSummary are its first bytes as they left by interface-output (the
// forwarded frame, or the reply or error that replaced it).
type TracePacket struct {
	Seq        int         `json:"seq"`
	Worker     int         `json:"worker"`
	Time       time.Time   `json:"time"`
	Iface      int         `json:"iface"`
	IfaceName  string      `json:"iface_name"`
	Len        int         `json:"len"`
	Head       Hex         `json:"head"`
	Summary    string      `json:"summary"`
	Steps      []TraceStep `json:"steps"`
	Fate       string      `json:"fate"`
	OutIface   int         `json:"out_iface"` // -1 when it left by no interface
	OutName    string      `json:"out_iface_name,omitempty"`
	Reason     string      `json:"reason,omitempty"` // drops: stage/name
	Detail     string      `json:"detail"`
	Out        Hex         `json:"out,omitempty"`
	OutLen     int         `json:"out_len,omitempty"`
	OutSummary string      `json:"out_summary,omitempty"`
}

func ifName(cfg *Config, i int) string {
	if cfg != nil && i >= 0 && i < len(cfg.Ifaces) && cfg.Ifaces[i].Name != "" {
		return cfg.Ifaces[i].Name
	}
	return fmt.Sprintf("if%d", i)
}

func ip4(a uint32) string {
	return fmt.Sprintf("%d.%d.%d.%d", byte(a>>24), byte(a>>16), byte(a>>8), byte(a))
}

func mac(b []byte) string {
	return fmt.Sprintf("%02x:%02x:%02x:%02x:%02x:%02x", b[0], b[1], b[2], b[3], b[4], b[5])
}

var adjKindNames = [...]string{
	AdjNone: "no route", AdjForward: "forward", AdjIncomplete: "incomplete (next hop unresolved)",
	AdjGlean: "glean (connected, destination unresolved)", AdjLocal: "local", AdjBroadcast: "broadcast",
	AdjDrop: "blackhole", AdjUnreachable: "unreachable (next hop did not answer ARP)",
}

func adjKind(k uint8) string {
	if int(k) < len(adjKindNames) {
		return adjKindNames[k]
	}
	return fmt.Sprintf("kind %d", k)
}

func icmpName(typ, code uint8) string {
	switch {
	case typ == hdr.ICMPv4TimeExceeded:
		return "time exceeded"
	case typ == hdr.ICMPv4DestUnreach:
		switch code {
		case hdr.ICMPv4NetUnreach:
			return "net unreachable"
		case hdr.ICMPv4HostUnreach:
			return "host unreachable"
		case hdr.ICMPv4ProtoUnreach:
			return "protocol unreachable"
		case hdr.ICMPv4PortUnreach:
			return "port unreachable"
		case hdr.ICMPv4FragNeeded:
			return "fragmentation needed"
		}
		return fmt.Sprintf("destination unreachable code %d", code)
	case typ == hdr.ICMPv4Echo:
		return "echo request"
	case typ == hdr.ICMPv4EchoReply:
		return "echo reply"
	}
	return fmt.Sprintf("type %d code %d", typ, code)
}

// format turns a record into a TracePacket.
func format(cfg *Config, worker int, r *rawTrace) TracePacket {
	p := TracePacket{
		Worker: worker, Time: time.Unix(0, r.time).UTC(), Iface: int(r.iface), IfaceName: ifName(cfg, int(r.iface)),
		Len: int(r.len), Head: Hex(append([]byte(nil), r.head[:r.headLen]...)), OutIface: -1,
	}
	p.Summary = Summarize(p.Head)
	if r.outHead > 0 {
		p.Out = Hex(append([]byte(nil), r.out[:r.outHead]...))
		p.OutLen = int(r.outLen)
		p.OutSummary = Summarize(p.Out)
	}
	steps := r.steps[:r.nsteps]
	seen := func(s Stage) bool {
		for _, st := range steps {
			if st.stage == s {
				return true
			}
		}
		return false
	}
	own := false
	for i := range steps {
		st := &steps[i]
		var nx *rawStep
		if i+1 < len(steps) {
			nx = &steps[i+1]
		}
		ts := TraceStep{Stage: st.stage.String()}
		switch {
		case nx != nil:
			ts.Next = nx.stage.String()
		case st.stage == StageInterfaceOutput:
			ts.Next = "tx " + ifName(cfg, int(st.a))
		case st.stage == StageDrop:
			ts.Next = "pool"
		case st.stage == StageIP4ARP, st.stage == StageARPInput:
			ts.Next = "control-plane"
		case st.stage == StageIP4Frag:
			ts.Next = "tx " + ifName(cfg, int(st.b))
		}
		ts.Note = stepNote(cfg, st, nx, own)
		p.Steps = append(p.Steps, ts)
		// From here on the buffer holds the router's own packet: an
		// echo reply or an ICMP error.
		own = own || st.stage == StageIP4Local || st.stage == StageICMP4Error
	}
	if len(steps) == 0 || r.lost {
		p.Fate, p.Detail = FateUnknown, fmt.Sprintf("only the first %d steps were kept", traceMaxSteps)
		return p
	}
	last := &steps[len(steps)-1]
	switch last.stage {
	case StageDrop:
		rs := Reason(last.a)
		if rs >= NumReasons {
			rs = ReasonNone
		}
		p.Fate, p.Reason, p.Detail = FateDrop, rs.String(), rs.Desc()
	case StageInterfaceOutput:
		p.OutIface, p.OutName = int(last.a), ifName(cfg, int(last.a))
		switch {
		case seen(StageICMP4Error):
			typ := uint8(0)
			var code uint16
			for _, st := range steps {
				if st.stage == StageICMP4Error {
					typ, code = st.k, st.a
				}
			}
			p.Fate = FateICMPError
			p.Detail = fmt.Sprintf("consumed; ICMP %s about it sent on %s", icmpName(typ, uint8(code)), p.OutName)
		case seen(StageIP4Local):
			p.Fate, p.Detail = FateLocal, "addressed to the router; echo reply sent on "+p.OutName
		case seen(StageARPInput):
			p.Fate, p.Detail = FateLocal, "ARP request for the router's address; reply sent on "+p.OutName
		default:
			p.Fate, p.Detail = FateTx, "forwarded: sent on "+p.OutName
		}
	case StageIP4ARP:
		p.OutIface, p.OutName = int(last.b), ifName(cfg, int(last.b))
		p.Fate = FatePunt
		p.Detail = fmt.Sprintf("punted to the control plane to resolve %s on %s (ARP); it is sent once resolved, untraced", ip4(last.c), p.OutName)
	case StageARPInput:
		p.Fate, p.Detail = FatePunt, "ARP consumed: handed to the control plane to learn the sender's address"
	case StageIP4Frag:
		p.OutIface, p.OutName = int(last.b), ifName(cfg, int(last.b))
		p.Fate = FateFragmented
		p.Detail = fmt.Sprintf("cut into fragments for MTU %d, sent on %s (fragments are not traced)", last.d, p.OutName)
	default:
		p.Fate, p.Detail = FateUnknown, "left the graph at "+last.stage.String()
	}
	return p
}

// stepNote says what stage st did with the packet, from what was
// recorded on entry to st and to the next stage nx (nil if st was last).
func stepNote(cfg *Config, st, nx *rawStep, own bool) string {
	if nx != nil && nx.stage == StageDrop {
		r := Reason(nx.a)
		if r >= NumReasons {
			r = ReasonNone
		}
		return "dropped: " + r.Name()
	}
	next := NumStages
	if nx != nil {
		next = nx.stage
	}
	switch st.stage {
	case StageEthernetInput:
		switch next {
		case StageIP4Input:
			return "IPv4 on " + ifName(cfg, int(st.a))
		case StageARPInput:
			return "ARP on " + ifName(cfg, int(st.a))
		}
		return "received on " + ifName(cfg, int(st.a))
	case StageIP4Input:
		return "header valid"
	case StageIP4Lookup:
		what := "route " + ip4(st.c)
		if own {
			what = "route the router's packet to " + ip4(st.c)
		}
		switch next {
		case StageIP4Rewrite:
			return fmt.Sprintf("%s: adjacency %d, %s via %s", what, nx.a, adjKind(nx.k), ifName(cfg, int(nx.b)))
		case StageIP4Local:
			return what + ": an address of the router"
		case StageICMP4Error:
			if nx.k == hdr.ICMPv4TimeExceeded {
				return what + ": TTL expires here, ICMP time exceeded"
			}
			return fmt.Sprintf("%s: ICMP %s", what, icmpName(nx.k, uint8(nx.a)))
		}
		return what
	case StageIP4Local:
		switch next {
		case StageIP4Lookup:
			return "ICMP echo request: answered in place with an echo reply to " + ip4(nx.c)
		case StageICMP4Error:
			return "no service: ICMP " + icmpName(nx.k, uint8(nx.a))
		}
		return "to the router"
	case StageICMP4Error:
		if next == StageIP4Lookup {
			s := fmt.Sprintf("ICMP %s built in place, to %s", icmpName(st.k, uint8(st.a)), ip4(nx.c))
			if st.k == hdr.ICMPv4DestUnreach && uint8(st.a) == hdr.ICMPv4FragNeeded {
				s += fmt.Sprintf(" (next-hop MTU %d)", st.c)
			}
			return s
		}
		return "ICMP " + icmpName(st.k, uint8(st.a))
	case StageIP4Rewrite:
		switch next {
		case StageInterfaceOutput:
			if own {
				return fmt.Sprintf("Ethernet header for %s (MTU %d) written; the router's own packet: TTL kept", ifName(cfg, int(st.b)), st.d)
			}
			return fmt.Sprintf("TTL decremented, Ethernet header for %s (MTU %d) written", ifName(cfg, int(st.b)), st.d)
		case StageIP4ARP:
			return "next hop not resolved: " + adjKind(st.k)
		case StageIP4Frag:
			return fmt.Sprintf("larger than MTU %d of %s: fragment", st.d, ifName(cfg, int(st.b)))
		case StageICMP4Error:
			return fmt.Sprintf("larger than MTU %d of %s with DF set: ICMP fragmentation needed", st.d, ifName(cfg, int(st.b)))
		}
	case StageIP4ARP:
		return fmt.Sprintf("punted: resolve %s on %s", ip4(st.c), ifName(cfg, int(st.b)))
	case StageIP4Frag:
		return fmt.Sprintf("fragmented for MTU %d", st.d)
	case StageARPInput:
		if next == StageInterfaceOutput {
			return "request for our address: reply built in place"
		}
		return "learning punted to the control plane"
	case StageInterfaceOutput:
		return fmt.Sprintf("%d bytes out %s", st.b, ifName(cfg, int(st.a)))
	case StageDrop:
		r := Reason(st.a)
		if r >= NumReasons {
			r = ReasonNone
		}
		return r.String() + ": " + r.Desc()
	}
	return ""
}

// Summarize decodes the first bytes of an Ethernet frame into one line,
// e.g. "02:aa:00:00:00:02 > 02:52:00:00:00:01 ipv4 10.0.1.2 > 198.18.0.1
// ttl 64 len 46 udp 1001 > 9". It reads only what b holds.
func Summarize(b []byte) string {
	if len(b) < hdr.EthernetLen {
		return fmt.Sprintf("runt (%d bytes)", len(b))
	}
	var s strings.Builder
	fmt.Fprintf(&s, "%s > %s", mac(b[6:12]), mac(b[0:6]))
	et := binary.BigEndian.Uint16(b[12:14])
	l3 := b[hdr.EthernetLen:]
	switch et {
	case hdr.EtherTypeIPv4:
		if len(l3) < hdr.IPv4MinLen {
			s.WriteString(" ipv4 (truncated)")
			break
		}
		ip := hdr.IPv4(l3)
		fmt.Fprintf(&s, " ipv4 %s > %s ttl %d len %d", ip4(ip.Src()), ip4(ip.Dst()), ip.TTL(), ip.TotalLen())
		if ip.Version() != 4 || ip.HeaderLen() < hdr.IPv4MinLen {
			fmt.Fprintf(&s, " (version %d ihl %d)", ip.Version(), ip.HeaderLen()/4)
			break
		}
		if ip.MF() || ip.FragOffset() != 0 {
			fmt.Fprintf(&s, " frag offset %d", int(ip.FragOffset())*8)
			if ip.MF() {
				s.WriteString(" mf")
			}
		}
		if ip.DF() {
			s.WriteString(" df")
		}
		var l4 []byte
		if hl := ip.HeaderLen(); hl <= len(l3) && ip.FragOffset() == 0 {
			l4 = l3[hl:]
		}
		switch ip.Protocol() {
		case hdr.ProtoUDP:
			s.WriteString(" udp")
			if len(l4) >= 4 {
				fmt.Fprintf(&s, " %d > %d", binary.BigEndian.Uint16(l4), binary.BigEndian.Uint16(l4[2:]))
			}
		case hdr.ProtoTCP:
			s.WriteString(" tcp")
			if len(l4) >= 4 {
				fmt.Fprintf(&s, " %d > %d", binary.BigEndian.Uint16(l4), binary.BigEndian.Uint16(l4[2:]))
			}
		case hdr.ProtoICMP:
			s.WriteString(" icmp")
			if len(l4) >= 2 {
				fmt.Fprintf(&s, " %s", icmpName(l4[0], l4[1]))
			}
			// An error quotes the offending header (RFC 792): name it.
			if len(l4) >= hdr.ICMPv4Len+hdr.IPv4MinLen && hdr.ICMPv4(l4).IsError() {
				q := hdr.IPv4(l4[hdr.ICMPv4Len:])
				fmt.Fprintf(&s, " about %s > %s proto %d", ip4(q.Src()), ip4(q.Dst()), q.Protocol())
			}
		default:
			fmt.Fprintf(&s, " proto %d", ip.Protocol())
		}
	case hdr.EtherTypeARP:
		a := hdr.ARP(l3)
		if a.Validate() != hdr.OK {
			s.WriteString(" arp (malformed)")
			break
		}
		if a.Op() == hdr.ARPRequest {
			fmt.Fprintf(&s, " arp who-has %s tell %s", ip4(a.TargetIP()), ip4(a.SenderIP()))
		} else {
			fmt.Fprintf(&s, " arp reply %s is-at %s", ip4(a.SenderIP()), mac(a.SenderMAC()))
		}
	case hdr.EtherTypeVLAN, hdr.EtherTypeQinQ:
		fmt.Fprintf(&s, " vlan (ethertype %#04x)", et)
	case hdr.EtherTypeIPv6:
		s.WriteString(" ipv6")
	default:
		fmt.Fprintf(&s, " ethertype %#04x", et)
	}
	return s.String()
}

// WriteTrace prints traced packets as `softnet trace` shows them: per
// packet a header line, the frame as received, one line per stage (the
// stage, where it went next, why), and the fate.
func WriteTrace(w io.Writer, pkts []TracePacket) error {
	var b strings.Builder
	for i := range pkts {
		p := &pkts[i]
		if i > 0 {
			b.WriteByte('\n')
		}
		fmt.Fprintf(&b, "Packet %d  worker %d  %s  rx %s  %d bytes\n", p.Seq, p.Worker, p.Time.UTC().Format("15:04:05.000000"), p.IfaceName, p.Len)
		fmt.Fprintf(&b, "  in:  %s\n", p.Summary)
		width := 0
		for _, s := range p.Steps {
			width = max(width, len(s.Stage), len(s.Next))
		}
		for _, s := range p.Steps {
			fmt.Fprintf(&b, "  %-*s -> %-*s  %s\n", width, s.Stage, width, s.Next, s.Note)
		}
		if p.OutSummary != "" {
			fmt.Fprintf(&b, "  out: %s\n", p.OutSummary)
		}
		fate := p.Fate
		if p.Reason != "" {
			fate += " " + p.Reason
		}
		fmt.Fprintf(&b, "  fate: %s: %s\n", fate, p.Detail)
	}
	_, err := io.WriteString(w, b.String())
	return err
}
