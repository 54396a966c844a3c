package dp

import (
	"fmt"

	"github.com/softnet/softnet/pkt"
)

// Feature arcs (VPP's feature arcs): ordered lists of optional nodes that
// an interface's packets run through at a fixed point of the graph. Which
// features an interface runs is data of the published Config
// (Iface.Features: node names, in order), so enabling or disabling a
// feature on one interface is one snapshot publish. A node is placed on an
// arc by its registration (Node.Arc).
//
// Cost. A worker compiles the arcs of a Config once, when it first sees
// it: per arc, per interface, the first node; per feature node, per
// interface, the node after it. With no feature enabled on an arc, a
// vector crossing the arc's point costs one byte load and a branch. With
// features, each packet picks its next node by a table index from its
// interface: no indirect call, no map, no allocation.

// Arc is a feature arc.
type Arc uint8

// MaxArcs bounds the arcs: per-worker tables are arrays of this size.
const MaxArcs = 8

// The engine's arcs; protocol packages define theirs with DefineArc (the
// IPv4 packages' ip4-unicast: ip4.ArcUnicast).
const (
	ArcNone Arc = iota
	// ArcDeviceInput: received batches, before ethernet-input, by
	// receiving port interface.
	ArcDeviceInput
	// ArcInterfaceOutput: vectors that nodes hand to interface-output
	// as a whole (ip4-rewrite's, l2-bridge's: Pass), by egress interface
	// (ARP replies, fragments and control-plane frames, put on
	// interface-output one by one, do not take it).
	ArcInterfaceOutput
)

// NumArcs is the number of arcs defined, ArcNone included.
var NumArcs = ArcInterfaceOutput + 1

type arcInfo struct {
	name string
	end  string // the node the arc leads to; the nodes whose Next lists it feed it
	tx   bool   // keyed by egress interface (b.OutPort), else receiving
}

var arcs = [MaxArcs]arcInfo{
	ArcDeviceInput:     {"device-input", "ethernet-input", false},
	ArcInterfaceOutput: {"interface-output", "interface-output", true},
}

// DefineArc adds a feature arc called name, leading to the node called
// end: the vectors that the nodes listing end in their Next hand on as a
// whole (Pass) take it, keyed by their receiving interface, or by egress
// interface (b.OutPort) if tx. Call it in a package-level var, like
// Register (ip4.ArcUnicast).
func DefineArc(name, end string, tx bool) Arc {
	if workersMade.Load() {
		panic(fmt.Sprintf("dp: define arc %q before making workers (define it in a package-level var)", name))
	}
	if NumArcs == MaxArcs {
		panic(fmt.Sprintf("dp: arc %q: too many arcs (%d at most): raise MaxArcs", name, MaxArcs))
	}
	a := NumArcs
	NumArcs++
	arcs[a] = arcInfo{name: name, end: end, tx: tx}
	return a
}

func (a Arc) String() string {
	if a < NumArcs && a != ArcNone {
		return arcs[a].name
	}
	return "none"
}

// arcState is a worker's compiled arcs for one Config (see syncArcs).
type arcState struct {
	of *Config
	// at[s] is the arc that leads to s when some interface has features
	// on it, else ArcNone.
	at [MaxStages]Arc
	// first[a][i]: the first node interface i's packets run on arc a
	// (the arc's end node when it has none); nil when no interface has
	// features on a.
	first [MaxArcs][]Stage
	// next[s][i]: the node after feature s for interface i's packets.
	next [MaxStages][]Stage
	// last[s]: feature s is the last on its arc for every interface
	// that runs it (its packets all go on to the arc's end node).
	last [MaxStages]bool
	// same[a]: every interface's first node on arc a, when sameOK[a]:
	// it is the same for all (a feature enabled everywhere, as the
	// filter is), so arcSplit need not look at each packet's.
	same   [MaxArcs]Stage
	sameOK [MaxArcs]bool
}

// syncArcs compiles cfg's feature lists (allocates only when cfg changed
// and has features). Unknown names and nodes of another arc are skipped:
// control validates Features before it publishes (see CheckFeatures).
func (w *Worker) syncArcs(cfg *Config) {
	st := &w.arcs
	st.of = cfg
	st.at = [MaxStages]Arc{}
	st.first = [MaxArcs][]Stage{}
	st.next = [MaxStages][]Stage{}
	st.last = [MaxStages]bool{}
	st.sameOK = [MaxArcs]bool{}
	for i := range cfg.Ifaces {
		for _, name := range cfg.Ifaces[i].Features {
			s, ok := graph.byName[name]
			if !ok || graph.arc[s] == ArcNone {
				continue
			}
			a := graph.arc[s]
			end := graph.arcEnd[a]
			if st.first[a] == nil {
				st.first[a] = make([]Stage, len(cfg.Ifaces))
				for j := range st.first[a] {
					st.first[a][j] = end
				}
				st.at[end] = a
			}
			if st.next[s] == nil {
				st.next[s] = make([]Stage, len(cfg.Ifaces))
				for j := range st.next[s] {
					st.next[s][j] = end
				}
			}
			// Append s to interface i's list on arc a: walk to its tail.
			if st.first[a][i] == end {
				st.first[a][i] = s
			} else {
				t := st.first[a][i]
				dup := t == s
				for st.next[t][i] != end {
					t = st.next[t][i]
					dup = dup || t == s
				}
				if dup {
					// Listed twice (the control plane appends the
					// filter's nodes to a list that may name them
					// already): the first place counts. Linking it
					// again would loop the list.
					continue
				}
				st.next[t][i] = s
			}
			st.next[s][i] = end
		}
	}
	for a, f := range st.first {
		if len(f) == 0 {
			continue
		}
		st.same[a], st.sameOK[a] = f[0], true
		for _, s := range f {
			if s != f[0] {
				st.sameOK[a] = false
				break
			}
		}
	}
	for s, t := range st.next {
		if t == nil {
			continue
		}
		end := graph.arcEnd[graph.arc[s]]
		st.last[s] = true
		for _, nx := range t {
			if nx != end {
				st.last[s] = false
				break
			}
		}
	}
}

// LastFeature reports whether feature node s is the last feature of its
// arc for every interface (what PassNext does with its packets is hand
// them to the arc's end node), so that s may send the packets it has
// done the end node's work for past it. Read it once per vector.
func (w *Worker) LastFeature(s Stage) bool { return w.arcs.last[s] }

// arcIface is the interface b is keyed by on arc a.
func (w *Worker) arcIface(a Arc, b *pkt.Buf) int {
	switch {
	case a == ArcDeviceInput:
		return int(w.rxIf)
	case arcs[a].tx:
		return int(b.OutPort)
	}
	return int(b.InPort)
}

// arcSplit sends the first k packets of stage s's vector, bound for the
// end node of arc a, each to its interface's first node on a: the whole
// vector in one move when every interface's first node is the same (a
// feature enabled everywhere, as the filter is), else as toByIface does
// (a call per packet cost the ip4-filter scenario about 4% of its time).
func (w *Worker) arcSplit(a Arc, s Stage, k int) {
	if w.arcs.sameOK[a] {
		w.move(s, w.arcs.same[a], k)
		return
	}
	w.toByIface(s, k, a, w.arcs.first[a])
}

// toByIface hands the first k packets of stage s's vector, on arc a, each
// to tbl[its interface on a] (the arc's end node past tbl's end): the
// whole vector in one move when they all go to the same node, as a
// vector from one interface does, else one by one.
func (w *Worker) toByIface(s Stage, k int, a Arc, tbl []Stage) {
	in := w.frames[s]
	end := graph.arcEnd[a]
	nx := end
	if k > 0 {
		if i := w.arcIface(a, pkt.At(in.B[0])); i < len(tbl) {
			nx = tbl[i]
		}
	}
	for _, x := range in.B[1:max(k, 1)] {
		n := end
		if i := w.arcIface(a, pkt.At(x)); i < len(tbl) {
			n = tbl[i]
		}
		if n != nx {
			// Packets for different nodes: one by one.
			for _, x := range in.B[:k] {
				b := pkt.At(x)
				n := end
				if i := w.arcIface(a, b); i < len(tbl) {
					n = tbl[i]
				}
				w.to(n, b)
			}
			in.N = 0
			return
		}
	}
	w.move(s, nx, k)
}

// deviceInput diverts the batch just received on w.rxIf to the
// interface's first device-input feature, if it has one.
func (w *Worker) deviceInput() {
	first := w.arcs.first[ArcDeviceInput]
	if int(w.rxIf) >= len(first) {
		return
	}
	if s := first[w.rxIf]; s != stageRx {
		in := w.frames[stageRx]
		w.pass(stageRx, s, in.N)
	}
}

// Next hands b, which feature node s keeps, to the node after s on its
// arc for b's interface (the arc's end node when s is the last). Feature
// nodes call it per packet; it is a table index, no indirect call.
func (w *Worker) Next(s Stage, b *pkt.Buf) {
	a := graph.arc[s]
	nx := graph.arcEnd[a]
	if t := w.arcs.next[s]; t != nil {
		if i := w.arcIface(a, b); i < len(t) {
			nx = t[i]
		}
	}
	w.to(nx, b)
}

// PassNext hands the first k packets of feature node s's vector (which
// s compacted in place: the packets it keeps) each to the node after s
// on its arc for its interface, as Next does; when they all go to the
// same node, as a vector from one interface does, in one pass (a swap of
// two vectors, see Pass) instead of a call per packet.
func (w *Worker) PassNext(s Stage, k int) {
	a := graph.arc[s]
	if t := w.arcs.next[s]; t != nil {
		w.toByIface(s, k, a, t)
		return
	}
	w.pass(s, graph.arcEnd[a], k)
}

// Drop drops b under reason r (for nodes outside this package).
func (w *Worker) Drop(b *pkt.Buf, r Reason) { w.drop(b, r) }

// CheckFeatures reports the first feature name of ifc that is not a
// registered feature node, or a device-input feature on a VLAN
// sub-interface (device-input runs per port), in words that say how to
// fix it.
func CheckFeatures(ifc *Iface) error {
	for _, name := range ifc.Features {
		s, ok := graph.byName[name]
		if !ok || graph.arc[s] == ArcNone {
			var known []string
			for a := Arc(1); a < NumArcs; a++ {
				for _, f := range graph.features[a] {
					known = append(known, f.String()+" ("+a.String()+")")
				}
			}
			return &featureError{iface: ifc.Name, name: name, known: known}
		}
		if graph.arc[s] == ArcDeviceInput && ifc.TagLen != 0 {
			return fmt.Errorf("interface %s: feature %s is on device-input, which runs per port: enable it on the parent port instead", ifc.Name, name)
		}
	}
	return nil
}

type featureError struct {
	iface, name string
	known       []string
}

func (e *featureError) Error() string {
	s := "interface " + e.iface + ": feature " + e.name + " is not a registered feature node"
	if len(e.known) == 0 {
		return s + " (no feature nodes are registered)"
	}
	out := s + "; feature nodes are:"
	for _, k := range e.known {
		out += " " + k
	}
	return out
}
