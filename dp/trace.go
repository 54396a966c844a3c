package dp

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
	"sync/atomic"
	"time"

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

// TraceMaxSteps bounds the steps kept per packet. The longest path of the
// graph (a packet too big with DF set: ethernet-input, ip4-input,
// ip4-lookup, ip4-rewrite, icmp4-error, ip4-lookup, ip4-rewrite,
// interface-output, drop) has 9.
const TraceMaxSteps = 16

// ErrTraceBusy is returned (wrapped, with the running trace's progress)
// when a trace is asked for while another runs.
var ErrTraceBusy = errors.New("a packet trace is already running: wait for it to finish (or cancel it) and try again")

// RawStep is one node visit as the worker records it: the node and what
// the node's NodeTrace.Record kept of the packet on entry (the meaning of
// K, A, B, C, D is the node's). Formatting into words happens on the
// reader's side (package dp/tracefmt, with each node's NodeTrace.Note).
type RawStep struct {
	Stage Stage
	K     uint8
	A, B  uint16
	D     uint16
	C     uint32
}

// NodeTrace is how a node appears in packet traces, declared with its
// registration (Node.Trace).
type NodeTrace struct {
	// Record fills st (Stage already set) with what the node is about
	// to act on; it runs on the worker, only for traced packets, and
	// must not allocate. nil: nothing recorded.
	Record func(w *Worker, cfg *Config, b *pkt.Buf, st *RawStep)
	// Note says in words what the node did with the packet, from its
	// step st and the next step nx (nil when the packet left the graph
	// at this node); own is true when the buffer already holds the
	// router's own packet (an echo reply or an ICMP error). nil: no note.
	Note func(cfg *Config, st, nx *RawStep, own bool) string
	// NoteDrops adds Note, in parentheses, to the note of a packet the
	// node dropped ("dropped: blocked (in: rule 2 ...)"); else a drop's
	// note is the reason alone.
	NoteDrops bool
}

// Note is the node's NodeTrace.Note for st (see NodeTrace), or "" if
// it has none.
func (st *RawStep) Note(cfg *Config, nx *RawStep, own bool) string {
	if nx != nil && nx.Stage == StageDrop {
		r := Reason(nx.A)
		if r >= NumReasons {
			r = ReasonNone
		}
		s := "dropped: " + r.Name()
		if st.Stage < NumStages && graph.trace[st.Stage].NoteDrops && graph.trace[st.Stage].Note != nil {
			if n := graph.trace[st.Stage].Note(cfg, st, nx, own); n != "" {
				s += " (" + n + ")"
			}
		}
		return s
	}
	if st.Stage >= NumStages || graph.trace[st.Stage].Note == nil {
		return ""
	}
	return graph.trace[st.Stage].Note(cfg, st, nx, own)
}

// TraceRecord is one traced packet as recorded: where and when it came
// in, its first bytes as received (Head) and as it left by
// interface-output (Out, empty if it never got there), and every node it
// visited. Lost reports steps past the first TraceMaxSteps.
type TraceRecord struct {
	Worker int
	Time   int64 // UnixNano when its batch was claimed
	Iface  int
	Len    int
	OutLen int
	Head   []byte
	Out    []byte
	Steps  []RawStep
	Lost   bool
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
	lost    bool // more steps than TraceMaxSteps
	head    [TraceHeadLen]byte
	out     [TraceHeadLen]byte
	steps   [TraceMaxSteps]RawStep
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
func (t *Tracer) Trace(ctx context.Context, n int) ([]TraceRecord, error) {
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
func (t *Tracer) Stop() []TraceRecord {
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

// Config is the Config the workers run now (for formatting records).
func (t *Tracer) Config() *Config {
	if len(t.workers) == 0 {
		return nil
	}
	return t.workers[0].cfg.Load()
}

// collect copies the published records of s, in arrival order.
func (t *Tracer) collect(s *traceSession) []TraceRecord {
	var out []TraceRecord
	for i := range s.out {
		o := &s.out[i]
		done := int(o.done.Load())
		for j := range o.recs[:done] {
			r := &o.recs[j]
			out = append(out, TraceRecord{
				Worker: t.workers[i].ID, Time: r.time, Iface: int(r.iface), Len: int(r.len), OutLen: int(r.outLen),
				Head: append([]byte(nil), r.head[:r.headLen]...), Out: append([]byte(nil), r.out[:r.outHead]...),
				Steps: append([]RawStep(nil), r.steps[:r.nsteps]...), Lost: r.lost,
			})
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Time != out[j].Time {
			return out[i].Time < out[j].Time
		}
		return out[i].Worker < out[j].Worker
	})
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
	if int(r.nsteps) == TraceMaxSteps {
		r.lost = true
		return
	}
	st := &r.steps[r.nsteps]
	r.nsteps++
	*st = RawStep{Stage: s}
	if rec := graph.trace[s].Record; rec != nil {
		rec(w, cfg, b, st)
	}
	if s == StageInterfaceOutput {
		r.outLen = b.Len
		r.outHead = uint8(copy(r.out[:], b.Bytes()))
	}
}
