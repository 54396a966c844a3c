// Package edrop is the early-drop stage: the feature node early-drop on
// the device-input arc, the first node a received batch reaches when an
// interface has blocklists. It reads the frame's EtherType (skipping up
// to two VLAN tags), then the IPv4 or IPv6 source or destination address
// (per list), and drops the frame under early-drop/blocklisted if a list
// of the receiving port holds it; nothing else is parsed first. A flood
// is dropped a vector at a time: the IPv4 addresses of the vector are
// looked up together (Table.Lookup4Batch: their cache misses overlap),
// and the dropped buffers go back to the pool in one call, counted once
// per vector (as drops, and as received on the port: ethernet-input,
// which counts the others, never sees them), without a visit to the drop
// node (a traced packet still takes it, so that its trace says why it was
// dropped, and every one does while a capture of these drops is armed).
//
// The lists (Set) are immutable: the control plane builds a new Set and
// swaps it into the Holder (dp.Config.EarlyDrop) atomically; a worker
// loads the Holder's Set once per vector. Each list counts its drops per
// worker (a padded atomic slot per worker, added to once per vector).
package edrop

import (
	"encoding/binary"
	"sync/atomic"

	"github.com/softnet/softnet/dp"
	"github.com/softnet/softnet/dp/edrop/blocklist"
	"github.com/softnet/softnet/pkt"
)

// MaxPerIface bounds the lists enabled on one interface.
const MaxPerIface = 16

// counterSlots is the number of per-worker counter slots of a list.
const counterSlots = 64

// Counters are a list's drop counts, one padded slot per worker; they
// survive swaps of the list's table (the control plane carries them over).
type Counters struct {
	slot [counterSlots]struct {
		n atomic.Uint64
		_ [56]byte
	}
}

// Total sums the slots.
func (c *Counters) Total() uint64 {
	var n uint64
	for i := range c.slot {
		n += c.slot[i].n.Load()
	}
	return n
}

// List is one blocklist: its table, whether it matches destination
// (else source) addresses, the interfaces it is enabled on (by index;
// nil: every port) and its counters.
type List struct {
	Name   string
	Dst    bool
	Table  *blocklist.Table
	Ifaces []int
	Hits   *Counters
}

// Set is the lists in force, immutable once made.
type Set struct {
	Lists []*List
	byIf  [][]*List
}

// NewSet indexes lists by interface; nIfaces is the number of interfaces,
// ports says which are ports (the lists with no Ifaces apply to those).
func NewSet(lists []*List, nIfaces int, ports func(i int) bool) *Set {
	s := &Set{Lists: lists, byIf: make([][]*List, nIfaces)}
	for _, l := range lists {
		if l.Hits == nil {
			l.Hits = new(Counters)
		}
		if l.Ifaces == nil {
			for i := 0; i < nIfaces; i++ {
				if ports(i) && len(s.byIf[i]) < MaxPerIface {
					s.byIf[i] = append(s.byIf[i], l)
				}
			}
			continue
		}
		for _, i := range l.Ifaces {
			if i >= 0 && i < nIfaces && len(s.byIf[i]) < MaxPerIface {
				s.byIf[i] = append(s.byIf[i], l)
			}
		}
	}
	return s
}

// On returns the lists enabled on interface i.
func (s *Set) On(i int) []*List {
	if s == nil || i < 0 || i >= len(s.byIf) {
		return nil
	}
	return s.byIf[i]
}

// Holder holds the Set in force; it is the same in every Config (like
// dp.Bridge.Shared), its Set swapped atomically.
type Holder struct{ p atomic.Pointer[Set] }

// Load returns the Set in force (nil: none).
func (h *Holder) Load() *Set { return h.p.Load() }

// Store makes s the Set in force.
func (h *Holder) Store(s *Set) { h.p.Store(s) }

// Stage is early-drop's Stage; Blocked its drop reason.
var (
	Stage   dp.Stage
	Blocked dp.Reason
)

// NodeName is the feature name to enable on an interface.
const NodeName = "early-drop"

var nextSlot atomic.Uint32

type state struct{ slot int }

var _ = dp.Register(dp.Node{
	Name:  NodeName,
	Stage: &Stage,
	Arc:   dp.ArcDeviceInput,
	Run:   run,
	Next:  []string{"drop"},
	Reasons: []dp.ReasonDef{
		{Reason: &Blocked, Name: "blocklisted", Desc: "source or destination address in a blocklist (counted per list in show blocklists)"},
	},
	State: func(*dp.Worker) any { return &state{slot: int(nextSlot.Add(1)-1) % counterSlots} },
})

// Frame offsets.
const (
	etherType = 12
	tagLen    = 4
)

func run(w *dp.Worker, cfg *dp.Config, in *pkt.Batch) {
	var lists []*List
	if h, ok := cfg.EarlyDrop.(*Holder); ok {
		lists = h.Load().On(int(w.RxIface()))
	}
	n := in.N
	if len(lists) == 0 {
		for _, x := range in.B[:n] {
			w.Next(Stage, pkt.At(x))
		}
		in.N = 0
		return
	}
	// One pass finds each frame's family and L3 offset and gathers the
	// IPv4 addresses the first list matches; then per list one batched
	// lookup of the vector's IPv4 addresses (their cache misses overlap:
	// see Lookup4Batch), IPv6 ones one by one; then the verdicts. The
	// dropped buffers go back to the pool in one call and are counted
	// once per vector (a traced one goes through the drop node, so that
	// the trace shows its reason).
	var (
		l3   [pkt.BatchSize]uint16
		fam  [pkt.BatchSize]uint8 // 0: neither, 4, 6
		verd [pkt.BatchSize]uint8 // 0: keep, j+1: dropped by lists[j]
		idx  [pkt.BatchSize]uint16
		a4   [pkt.BatchSize]uint32
		hit  [pkt.BatchSize]bool
	)
	o0 := 12 // the first list's IPv4 address offset in the header
	if lists[0].Dst {
		o0 = 16
	}
	k := 0
	for i, x := range in.B[:n] {
		f := pkt.At(x).Bytes()
		l3[i], fam[i] = classify(f)
		if fam[i] == 4 {
			a4[k] = binary.BigEndian.Uint32(f[int(l3[i])+o0:])
			idx[k] = uint16(i)
			k++
		}
	}
	six := false
	for j, l := range lists {
		if j > 0 {
			o := 12
			if l.Dst {
				o = 16
			}
			k = 0
			for i, x := range in.B[:n] {
				if verd[i] == 0 && fam[i] == 4 {
					f := pkt.At(x).Bytes()
					a4[k] = binary.BigEndian.Uint32(f[int(l3[i])+o:])
					idx[k] = uint16(i)
					k++
				}
			}
		}
		if k > 0 && l.Table.Lookup4Batch(a4[:k], hit[:k]) > 0 {
			for m, h := range hit[:k] {
				if h {
					verd[idx[m]] = uint8(j + 1)
				}
			}
		}
		if j == 0 {
			for i := range n {
				six = six || fam[i] == 6
			}
		}
		if !six || l.Table.Len6() == 0 {
			continue
		}
		for i, x := range in.B[:n] {
			if verd[i] != 0 || fam[i] != 6 {
				continue
			}
			f := pkt.At(x).Bytes()
			p := int(l3[i]) + 8
			if l.Dst {
				p += 16
			}
			if l.Table.Lookup6(binary.BigEndian.Uint64(f[p:]), binary.BigEndian.Uint64(f[p+8:])) {
				verd[i] = uint8(j + 1)
			}
		}
	}
	var hits [MaxPerIface]uint32
	var gone [pkt.BatchSize]uint32 // dropped buffers, freed together
	d := 0
	// A capture of these drops (softnet capture --drop) sees them only
	// through the drop node: while one is armed they all go there.
	tapped := w.DropTapped(Blocked)
	var rxn, rxb uint64 // the dropped frames, received on the port
	for i, x := range in.B[:n] {
		v := verd[i]
		if v == 0 {
			w.Next(Stage, pkt.At(x))
			continue
		}
		hits[v-1]++
		b := pkt.At(x)
		rxn++
		rxb += uint64(b.Len)
		if tapped || b.Trace != 0 {
			b.InPort = w.RxIface() // ethernet-input, which sets it, comes later
			w.Drop(b, Blocked)
			continue
		}
		gone[d] = x
		d++
	}
	in.N = 0
	// ethernet-input counts what it receives, drops included; the frames
	// dropped here never reach it, so they are counted received here
	// (else show interfaces' RX and show errors' balance leave them out),
	// on the port: a tagged frame is not looked up to count it on its
	// VLAN sub-interface, as ethernet-input counts the frames it passes.
	if st := w.Stats(); rxn != 0 {
		if ifc := int(w.RxIface()); ifc < len(st.RxPackets) && ifc < len(st.RxBytes) {
			st.RxPackets[ifc] += rxn
			st.RxBytes[ifc] += rxb
		}
	}
	if d > 0 {
		w.Stats().Drops[Blocked] += uint64(d)
		w.Pool().PutN(gone[:d])
	}
	slot := w.State(Stage).(*state).slot
	for j, l := range lists {
		if hits[j] != 0 {
			l.Hits.slot[slot].n.Add(uint64(hits[j]))
		}
	}
}

// classify returns frame f's L3 offset and family (4, 6, or 0 when it is
// neither or too short to hold the addresses), up to two VLAN tags
// skipped.
func classify(f []byte) (uint16, uint8) {
	off := etherType
	if len(f) < off+2 {
		return 0, 0
	}
	et := binary.BigEndian.Uint16(f[off:])
	for i := 0; i < 2 && (et == 0x8100 || et == 0x88a8) && len(f) >= off+tagLen+2; i++ {
		off += tagLen
		et = binary.BigEndian.Uint16(f[off:])
	}
	off += 2
	switch {
	case et == 0x0800 && len(f) >= off+20:
		return uint16(off), 4
	case et == 0x86dd && len(f) >= off+40:
		return uint16(off), 6
	}
	return 0, 0
}
