package dp

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"

	"github.com/softnet/softnet/pkt"
)

// The node registry. A node registers itself from its own package with
// Register in a package-level variable declaration (dp/ip4):
//
//	var _ = dp.Register(dp.Node{
//		Name:  "ip4-input",
//		Stage: &StageInput,
//		Run:   ip4Input,
//		Next:  []string{"ip4-lookup", "drop"},
//		Reasons: []dp.ReasonDef{
//			{Reason: &TooShort, Name: "too-short", Desc: "shorter than an IPv4 header"},
//		},
//	})
//
// Register assigns the node its Stage and each of its drop reasons its
// Reason, in registration order, and stores them through the pointers,
// so node bodies name their next nodes and reasons by variables
// (w.To(StageLookup, b), w.Drop(b, TooShort)); a next node of another
// package is a variable set by Ref. The graph (the node table, the
// next-node edges checked by name, the dispatch order) is assembled as
// nodes register (the engine's at its init, each protocol package's at
// its own, a test's before its workers are made), edges to nodes not yet
// registered waiting, and completed at the first NewWorker, which panics
// with whatever is still missing. Workers dispatch through the table:
// one call per vector, no switch listing nodes.

// MaxStages bounds the nodes a graph may have, MaxReasons the drop
// reasons: per-worker vectors and counters are arrays of these sizes.
const (
	MaxStages  = 32
	MaxReasons = 256
)

// Node declares a node of the packet graph.
type Node struct {
	// Name is the stable kebab-case name used in counters, metrics, the
	// CLI, traces and Iface.Features; unique.
	Name string
	// Stage, if not nil, is set to the node's Stage.
	Stage *Stage
	// Run is the per-vector function: it takes every buffer of in and
	// must leave it empty (see the package doc).
	Run func(w *Worker, cfg *Config, in *pkt.Batch)
	// Next names the nodes Run hands packets to (drop included), most
	// common first. They must not form a cycle: the dispatch order is
	// derived from them, each node served before those it hands to.
	Next []string
	// Back names the nodes Run hands packets back to, closing a cycle
	// (ip4-local's echo replies to ip4-lookup): such packets wait for the
	// next pass over the nodes.
	Back []string
	// Reasons are the node's drop reasons.
	Reasons []ReasonDef
	// Arc is the feature arc the node may be enabled on (Iface.Features);
	// ArcNone for a node of the fixed graph. A feature node hands each
	// packet it keeps to w.Next and drops the others; it is reached only
	// through its arc, so it has no predecessor in Next lists.
	Arc Arc
	// Trace describes the node in packet traces (see NodeTrace); zero
	// for a node that records nothing of its own.
	Trace NodeTrace // State, if not nil, makes the node's per-worker state (its tables,
	// scratch arrays, rate-limit buckets): NewWorker calls it once per
	// worker, and Run reaches the result with w.State(stage) once per
	// vector.
	State func(w *Worker) any
	// Inject, with InjectKind, takes the control plane's messages of that
	// kind (InjectLookup: ip4-lookup) from the inject ring: b holds the
	// message's frame, InPort and OutPort set to m.Iface, L3 14; Inject
	// hands it on (w.To) or drops it. Injected frames are rare (after
	// ARP): this is one call per message, not per data packet.
	Inject     func(w *Worker, m *Msg, b *pkt.Buf)
	InjectKind MsgKind
}

// ReasonDef declares a drop reason of a node: Register sets *Reason.
type ReasonDef struct {
	Reason *Reason
	Name   string // stable kebab-case name, unique within the node
	Desc   string // one line for show errors
}

// Stage identifies a registered node. Its String is the node's name.
type Stage uint8

// NumStages is the number of registered nodes; NumReasons the number of
// drop reasons, ReasonNone included.
var (
	NumStages  Stage
	NumReasons Reason = 1
)

// Reason is why a packet left the graph without being sent: a small
// number with a name, the node that decides it and a one-line description
// (VPP's error counters), all from the node's registration. Drops are
// data, not errors: every reason has a counter per worker, summed on read.
type Reason uint16

// ReasonNone is a drop with no reason recorded (a bug if it counts); the
// drop node counts it.
const ReasonNone Reason = 0

type reasonInfo struct {
	stage Stage
	name  string
	desc  string
}

var (
	registered  []Node
	reasons     = [MaxReasons]reasonInfo{{name: "none", desc: "no reason recorded (a bug if it counts)"}}
	refs        []ref
	graphReady  bool
	workersMade atomic.Bool // set by NewWorker: the graph is final
	// The assembled graph: the node table (index = Stage) and the order
	// pending vectors are served in.
	graph struct {
		run      [MaxStages]func(w *Worker, cfg *Config, in *pkt.Batch)
		names    [MaxStages]string
		arc      [MaxStages]Arc
		trace    [MaxStages]NodeTrace
		order    []Stage
		byName   map[string]Stage
		arcEnd   [MaxArcs]Stage
		features [MaxArcs][]Stage
		inject   [256]func(w *Worker, m *Msg, b *pkt.Buf) // by MsgKind (Node.Inject)
	}
)

// Register adds a node to the graph and returns its Stage. Call it from a
// package-level variable declaration (see the package doc), before any
// Worker is made. A node the graph cannot take (a duplicate name, an
// unknown next node, no Run, too many nodes or reasons) panics with what
// is wrong; ValidateNodes reports the same as an error.
func Register(n Node) Stage {
	if workersMade.Load() {
		panic(fmt.Sprintf("dp: register node %q before making workers (register it in a package-level var)", n.Name))
	}
	if int(NumStages) == MaxStages {
		panic(fmt.Sprintf("dp: node %q: the graph is full (%d nodes): raise MaxStages", n.Name, MaxStages))
	}
	if int(NumReasons)+len(n.Reasons) > MaxReasons {
		panic(fmt.Sprintf("dp: node %q: too many drop reasons (%d at most): raise MaxReasons", n.Name, MaxReasons))
	}
	s := NumStages
	NumStages++
	if n.Stage != nil {
		*n.Stage = s
	}
	for _, r := range n.Reasons {
		reasons[NumReasons] = reasonInfo{stage: s, name: r.Name, desc: r.Desc}
		if r.Reason != nil {
			*r.Reason = NumReasons
		}
		NumReasons++
	}
	if n.Name == "drop" {
		reasons[ReasonNone].stage = s
	}
	registered = append(registered, n)
	if graphReady {
		assembleOrPanic(false)
	}
	return s
}

// stageRx is the node received batches go to: the end of the
// device-input arc (see arcs).
var stageRx Stage

// ref is a Stage variable to set to the node called name (see Ref), or
// a Reason variable to set to that node's reason called reason (see
// RefReason).
type ref struct {
	name   string
	s      *Stage
	reason string
	r      *Reason
}

// Ref makes *s the Stage of the node called name whenever the graph is
// assembled: how a node names a successor registered by another package,
// which it does not import (ethernet-input's arp-input). The name must be
// registered by the time the first Worker is made.
func Ref(name string, s *Stage) *Stage {
	refs = append(refs, ref{name: name, s: s})
	if graphReady {
		assembleOrPanic(false)
	}
	return s
}

// RefReason makes *r the drop reason called reason of the node called
// node whenever the graph is assembled, as Ref does for a node: for a
// node that counts a drop under another package's reason (l2-bridge
// under ip4-rewrite/no-headroom).
func RefReason(node, reason string, r *Reason) *Reason {
	refs = append(refs, ref{name: node, reason: reason, r: r})
	if graphReady {
		assembleOrPanic(false)
	}
	return r
}

// reasonOf finds the reason called reason of node s.
func reasonOf(s Stage, reason string) (Reason, bool) {
	for r := Reason(1); r < NumReasons; r++ {
		if reasons[r].stage == s && reasons[r].name == reason {
			return r, true
		}
	}
	return ReasonNone, false
}

func init() {
	graphReady = true
	assembleOrPanic(false)
}

// assembleOrPanic assembles the registered nodes. Until the first Worker
// is made (complete), a next node or Ref may name a node that another
// package has yet to register: those edges wait.
func assembleOrPanic(complete bool) {
	if err := assemble(registered, true, complete); err != nil {
		panic("dp: " + err.Error())
	}
}

// complete assembles the graph for good: every next node and Ref must be
// registered. NewWorker calls it; it panics with what is missing.
func complete() {
	if !workersMade.Swap(true) {
		assembleOrPanic(true)
	}
}

// ValidateNodes reports whether the registered nodes plus extra make a
// valid graph, without registering extra: every name unique, every next
// node registered, a Run for each.
func ValidateNodes(extra ...Node) error {
	return assemble(append(append([]Node(nil), registered...), extra...), false, true)
}

// assemble checks ns (index = Stage) and, if install, makes it the graph.
// Unless complete, next nodes, arc ends and Refs not registered (yet) are
// left out instead of refused.
func assemble(ns []Node, install, complete bool) error {
	byName := make(map[string]Stage, len(ns))
	var errs []error
	for i, n := range ns {
		switch {
		case n.Name == "":
			errs = append(errs, fmt.Errorf("node %d has no name: give Node.Name", i))
		case strings.ContainsAny(n.Name, " /\t"):
			errs = append(errs, fmt.Errorf("node %q: a name has no spaces or slashes", n.Name))
		}
		if _, dup := byName[n.Name]; dup {
			errs = append(errs, fmt.Errorf("node %q registered twice: node names must be unique", n.Name))
			continue
		}
		byName[n.Name] = Stage(i)
		if n.Run == nil {
			errs = append(errs, fmt.Errorf("node %q has no Run function", n.Name))
		}
		if n.Arc >= NumArcs {
			errs = append(errs, fmt.Errorf("node %q: unknown arc %d", n.Name, n.Arc))
		}
		seen := map[string]bool{}
		for _, r := range n.Reasons {
			if r.Name == "" || seen[r.Name] {
				errs = append(errs, fmt.Errorf("node %q: drop reason %q is empty or declared twice", n.Name, r.Name))
			}
			seen[r.Name] = true
		}
	}
	next := make([][]Stage, len(ns))
	for i, n := range ns {
		for j, nx := range append(append([]string(nil), n.Next...), n.Back...) {
			s, ok := byName[nx]
			if !ok {
				if complete {
					errs = append(errs, fmt.Errorf("node %q: next node %q is not registered (registered: %s): import the package that registers it (the router's whole graph: import _ \"github.com/softnet/softnet/dp/nodes\")", n.Name, nx, strings.Join(nodeNames(ns), ", ")))
				}
				continue
			}
			if j < len(n.Next) {
				next[i] = append(next[i], s)
			}
		}
	}
	var arcEnd [MaxArcs]Stage
	for a := Arc(1); a < NumArcs; a++ {
		s, ok := byName[arcs[a].end]
		if !ok {
			if install && complete && len(ns) > 0 && (hasArcNodes(ns, a) || a == ArcDeviceInput) {
				errs = append(errs, fmt.Errorf("arc %s ends at %q, which is not registered", arcs[a].name, arcs[a].end))
			}
			continue
		}
		arcEnd[a] = s
	}
	if complete {
		for _, r := range refs {
			s, ok := byName[r.name]
			if !ok {
				errs = append(errs, fmt.Errorf("node %q is referred to (Ref) but not registered: import the package that registers it (the router's whole graph: import _ \"github.com/softnet/softnet/dp/nodes\")", r.name))
				continue
			}
			if _, ok := reasonOf(s, r.reason); r.r != nil && !ok {
				errs = append(errs, fmt.Errorf("drop reason %s/%s is referred to (RefReason) but node %s declares no such reason", r.name, r.reason, r.name))
			}
		}
	}
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	// A feature node runs after the nodes its arc starts from and before
	// the node it ends at: give it those edges for the order.
	for i, n := range ns {
		if n.Arc != ArcNone {
			next[i] = append(next[i], arcEnd[n.Arc])
			// Every node of the fixed graph that hands packets to the
			// arc's end may feed the arc.
			for j, m := range ns {
				if m.Arc == ArcNone && slices.Contains(m.Next, arcs[n.Arc].end) {
					next[j] = append(next[j], Stage(i))
				}
			}
		}
	}
	order, err := dispatchOrder(ns, next)
	if err != nil || !install {
		return err
	}
	graph.byName = byName
	graph.order = order
	for _, r := range refs {
		st, ok := byName[r.name]
		switch {
		case !ok:
		case r.r != nil:
			*r.r, _ = reasonOf(st, r.reason)
		default:
			*r.s = st
		}
	}
	graph.arcEnd = arcEnd
	stageRx = arcEnd[ArcDeviceInput]
	for a := range graph.features {
		graph.features[a] = nil
	}
	graph.inject = [256]func(w *Worker, m *Msg, b *pkt.Buf){}
	for i, n := range ns {
		graph.run[i], graph.names[i], graph.arc[i], graph.trace[i] = n.Run, n.Name, n.Arc, n.Trace
		if n.Arc != ArcNone {
			graph.features[n.Arc] = append(graph.features[n.Arc], Stage(i))
		}
		if n.Inject != nil {
			graph.inject[n.InjectKind] = n.Inject
		}
	}
	return nil
}

func hasArcNodes(ns []Node, a Arc) bool {
	for _, n := range ns {
		if n.Arc == a {
			return true
		}
	}
	return false
}

func nodeNames(ns []Node) []string {
	out := make([]string, len(ns))
	for i, n := range ns {
		out[i] = n.Name
	}
	return out
}

// dispatchOrder orders the nodes so that every Next edge goes forward: a
// reverse postorder of a depth-first walk from the nodes nothing points to
// (ethernet-input, feature nodes), following each Next list from its last
// entry, so that among siblings the first listed is served first. Back
// edges are left out: they go backward, served by another pass. A cycle
// of Next edges is an error.
func dispatchOrder(ns []Node, next [][]Stage) ([]Stage, error) {
	has := make([]bool, len(ns))
	for _, nx := range next {
		for _, s := range nx {
			has[s] = true
		}
	}
	state := make([]uint8, len(ns)) // 0 new, 1 on the walk, 2 done
	post := make([]Stage, 0, len(ns))
	var err error
	var walk func(s Stage)
	walk = func(s Stage) {
		state[s] = 1
		for i := len(next[s]) - 1; i >= 0; i-- {
			switch nx := next[s][i]; state[nx] {
			case 0:
				walk(nx)
			case 1:
				if err == nil {
					err = fmt.Errorf("node %q: next node %q closes a cycle: list it in Back, not Next", ns[s].Name, ns[nx].Name)
				}
			}
		}
		state[s] = 2
		post = append(post, s)
	}
	for i := len(ns) - 1; i >= 0; i-- {
		if !has[i] && state[i] == 0 {
			walk(Stage(i))
		}
	}
	for i := range ns { // nodes only on cycles of Next edges
		if state[i] == 0 {
			walk(Stage(i))
		}
	}
	order := make([]Stage, len(post))
	for i, s := range post {
		order[len(post)-1-i] = s
	}
	return order, err
}

func (s Stage) String() string {
	if s < NumStages {
		return graph.names[s]
	}
	return "unknown"
}

// Stages returns the registered nodes in dispatch order, the order show
// runtime, the metrics and traces list them in.
func Stages() []Stage { return append([]Stage(nil), graph.order...) }

// StageByName returns the node called name.
func StageByName(name string) (Stage, bool) {
	s, ok := graph.byName[name]
	return s, ok
}

// Reasons returns every drop reason but ReasonNone, grouped by node in
// dispatch order, each node's in the order it declared them.
func Reasons() []Reason {
	out := make([]Reason, 0, NumReasons)
	for _, s := range graph.order {
		for r := Reason(1); r < NumReasons; r++ {
			if reasons[r].stage == s {
				out = append(out, r)
			}
		}
	}
	return out
}

// Stage returns the node that counts the reason.
func (r Reason) Stage() Stage { return reasons[r].stage }

// Name returns the reason's stable kebab-case name, unique within its node.
func (r Reason) Name() string { return reasons[r].name }

// Desc returns a one-line description.
func (r Reason) Desc() string { return reasons[r].desc }

// String returns "stage/name".
func (r Reason) String() string { return r.Stage().String() + "/" + r.Name() }
