package dp

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math/bits"
	"sync/atomic"
	"time"

	"github.com/softnet/softnet/internal/pcapfilter"
	"github.com/softnet/softnet/pkt"
)

// Packet capture (issue 14; `softnet capture`, VPP's `pcap trace rx tx
// drop`): taps at three points of the data plane copy the frames a
// tcpdump-language filter accepts into per-worker lossy rings that the
// control plane drains.
//
// Points. Rx: what a port hands the worker, before any node (a frame
// tagged for a VLAN sub-interface is the sub-interface's). Tx: what
// interface-output gives the port (after padding; a frame the port's
// full ring then refuses was captured all the same). Drop: what reaches
// the drop node, with its reason, on the interface it came in on.
//
// Cost. Taps live in the published Config (Config.Taps, a *Taps: one
// publish per capture start or stop). With no capture, a worker pays one
// pointer load and compare per received batch, per transmitted vector and
// per drop vector, and a port whose interfaces have no tap at that point
// one more test per vector. On a port with taps, a received or sent
// packet pays its class (pcapfilter.Classify: its tags, EtherType and IP
// protocol, a few byte loads) and one bit of the port's 32 bytes of
// classes, those that some filter on the port or its sub-interfaces may
// accept (Program.Never says the others cannot): "tcp port 22" on UDP
// stops there. Else its interface (a VLAN sub-interface's through its
// port's VLANTable, as ethernet-input finds it; tx: the packet's
// OutPort) and its bit in the class's row (a bit per interface: 512
// bytes for 4,094 VLANs), and only with that bit set the interface's
// captures (tapList): each capture's filter, skipped when it never
// matches the class, else run (Program.Run), and if it accepts one copy
// of up to the snap length into the capture's ring for this worker.
// Drop taps are indexed by reason, then go the same way. The work is the
// same whether one interface or 4,094 have a tap (TestTapCostFlat), and
// a filter that cannot match a packet's class costs its class and one
// bit. Nothing allocates, locks, or calls through an interface.
//
// Rings. Each capture has one single-producer single-consumer byte ring
// per worker (CapRing). A record that does not fit is not written and
// counted in the ring's drops: a slow reader never holds up forwarding.

// CapPoint is where a tap sees packets.
type CapPoint uint8

// The capture points.
const (
	CapRx CapPoint = iota
	CapTx
	CapDrop
)

func (p CapPoint) String() string {
	switch p {
	case CapRx:
		return "rx"
	case CapTx:
		return "tx"
	case CapDrop:
		return "drop"
	}
	return fmt.Sprintf("point%d", uint8(p))
}

// Capture ring bounds, bytes per worker.
const (
	MinCapRing     = 4 << 10
	DefaultCapRing = 1 << 20
	MaxCapRing     = 64 << 20
)

// CaptureSpec says what a capture takes.
type CaptureSpec struct {
	// Ifaces: the interfaces (indices in Config.Ifaces) whose rx and tx
	// the capture sees, and whose drops (by receiving interface) when
	// Drop is set; nil: every interface.
	Ifaces []int
	Rx, Tx bool
	// Drop captures dropped packets; Reasons limits them to those
	// reasons (empty: every reason).
	Drop    bool
	Reasons []Reason
	// Filter, nil: every packet.
	Filter *pcapfilter.Program
	// Snap is the most bytes kept of a packet (0: all).
	Snap int
	// RingBytes is each worker's ring size, rounded up to a power of
	// two, MinCapRing to MaxCapRing (0: DefaultCapRing).
	RingBytes int
}

// Capture is one running capture: its spec and its rings, one per
// worker ID. Build it with NewCapture, install it with Build (the
// control plane publishes the Taps), read it with Drain.
type Capture struct {
	Spec   CaptureSpec
	filter *pcapfilter.Program
	snap   uint32
	ifAny  bool
	ifOK   []bool // per interface, for drops: the capture's interfaces
	rings  []*CapRing
}

// NewCapture makes a capture for workers with IDs 0..workers-1.
func NewCapture(spec CaptureSpec, workers int) (*Capture, error) {
	if !spec.Rx && !spec.Tx && !spec.Drop {
		return nil, errors.New("capture: no capture point: ask for rx, tx or drop")
	}
	if workers < 1 {
		return nil, errors.New("capture: the router has no workers")
	}
	size := spec.RingBytes
	if size == 0 {
		size = DefaultCapRing
	}
	if size < MinCapRing || size > MaxCapRing {
		return nil, fmt.Errorf("capture: ring of %d bytes: give %d to %d bytes", size, MinCapRing, MaxCapRing)
	}
	p2 := MinCapRing
	for p2 < size {
		p2 <<= 1
	}
	snap := uint32(spec.Snap)
	if spec.Snap <= 0 || spec.Snap > 0xffff {
		snap = 0xffff
	}
	c := &Capture{Spec: spec, filter: spec.Filter, snap: snap, ifAny: spec.Ifaces == nil}
	for _, i := range spec.Ifaces {
		if i < 0 || i >= MaxIfaces {
			return nil, fmt.Errorf("capture: interface index %d out of range", i)
		}
		for len(c.ifOK) <= i {
			c.ifOK = append(c.ifOK, false)
		}
		c.ifOK[i] = true
	}
	for range workers {
		c.rings = append(c.rings, &CapRing{buf: make([]byte, p2)})
	}
	return c, nil
}

// Taps is the published index of the running captures (Config.Taps).
// BuildTaps makes it; it is read-only once published.
type Taps struct {
	rx   tapIndex
	tx   tapIndex
	drop []tapList // per reason
}

// tapIndex is one point's (rx or tx) taps by interface, and what a
// packet checks before it touches them: its port's classes (a bit per
// filter class that some tap on the port or its sub-interfaces may
// accept), then its interface's bit in its class's row. A packet of a
// class no filter there can accept ("tcp port 22" on UDP) stops at the
// first, one bit in 32 bytes of the port; the rows, a bit per interface
// (512 bytes for 4,094 VLANs), keep it off the interface's tapList (40
// bytes of 4,095: a cache miss) unless a tap there may take it. A
// packet thus costs the same whether one interface or all have a tap.
type tapIndex struct {
	l    []tapList // per interface
	port []tapPort // per port
	// may[c]: bit i set when a capture at interface i has no filter or
	// one that may accept class c (!Program.Never(c)); nil: none. Rows
	// equal in content share their array.
	may [256][]uint64
}

// tapPort is what a port's packets check first.
type tapPort struct {
	classes [4]uint64 // bit c: may[c] has a bit of one of the port's interfaces
	on      bool      // a tap on the port or one of its sub-interfaces
	vlan    bool      // one on a sub-interface: find a frame's through the VLANTable
}

// maybe reports whether a tap at interface i may accept a frame of
// class cls (false: no tap there would).
func (x *tapIndex) maybe(cls uint8, i int) bool {
	row := x.may[cls]
	return i>>6 < len(row) && row[i>>6]&(1<<(i&63)) != 0
}

// at reports whether port p has taps at this point (one test per
// vector).
func (x *tapIndex) at(p int) bool { return p < len(x.port) && x.port[p].on }

// tapList is the captures of one table entry, the first inline so that
// a packet at an entry with one tap loads the entry, the filter (shared
// by captures of the same expression) and nothing else until it matches.
type tapList struct {
	first tapRef
	more  []tapRef
}

type tapRef struct {
	f *pcapfilter.Program // nil: every packet
	c *Capture            // nil: an empty entry
}

func (l *tapList) add(c *Capture) {
	r := tapRef{c.filter, c}
	if l.first.c == nil {
		l.first = r
		return
	}
	l.more = append(l.more, r)
}

// index fills x's ports and class rows from its lists, for cfg: an
// interface's classes are those that some filter of its list may
// accept (every class for a capture with no filter), computed once per
// filter.
func (x *tapIndex) index(cfg *Config) {
	words := (len(x.l) + 63) >> 6
	var all [4]uint64
	for c := range pcapfilter.NumClasses {
		all[c>>6] |= 1 << (c & 63)
	}
	masks := map[*pcapfilter.Program][4]uint64{}
	classes := func(f *pcapfilter.Program) [4]uint64 {
		if f == nil {
			return all
		}
		m, ok := masks[f]
		if !ok {
			for c := range pcapfilter.NumClasses {
				if !f.Never(uint8(c)) {
					m[c>>6] |= 1 << (c & 63)
				}
			}
			masks[f] = m
		}
		return m
	}
	// The interfaces of each distinct class set, then a row per class.
	var sets [][4]uint64
	var ifs [][]uint64
	for i := range x.l {
		l := &x.l[i]
		if l.first.c == nil {
			continue
		}
		m := classes(l.first.f)
		for _, r := range l.more {
			o := classes(r.f)
			for k := range m {
				m[k] |= o[k]
			}
		}
		p := &x.port[cfg.PortOf(i)]
		for k := range m {
			p.classes[k] |= m[k]
		}
		j := len(sets) - 1
		for j >= 0 && sets[j] != m {
			j--
		}
		if j < 0 {
			sets = append(sets, m)
			ifs = append(ifs, make([]uint64, words))
			j = len(sets) - 1
		}
		ifs[j][i>>6] |= 1 << (i & 63)
	}
	for j, m := range sets {
		for k, v := range m {
			for ; v != 0; v &= v - 1 {
				c := k<<6 | bits.TrailingZeros64(v)
				if x.may[c] == nil {
					x.may[c] = make([]uint64, words)
				}
				for w, b := range ifs[j] {
					x.may[c][w] |= b
				}
			}
		}
	}
	// Rows equal in content share one array (a filter's classes all
	// have the same interfaces).
	rows := map[string][]uint64{}
	key := make([]byte, 8*words)
	for c, r := range x.may {
		if r == nil {
			continue
		}
		for k, v := range r {
			binary.LittleEndian.PutUint64(key[8*k:], v)
		}
		if s, ok := rows[string(key)]; ok {
			x.may[c] = s
		} else {
			rows[string(key)] = r
		}
	}
}

// BuildTaps indexes captures for cfg's interfaces; nil when there is
// none. The control plane calls it on each publish while captures run.
func BuildTaps(cfg *Config, caps []*Capture) *Taps {
	if len(caps) == 0 {
		return nil
	}
	n := len(cfg.Ifaces)
	t := &Taps{rx: tapIndex{l: make([]tapList, n), port: make([]tapPort, n)},
		tx: tapIndex{l: make([]tapList, n), port: make([]tapPort, n)}, drop: make([]tapList, NumReasons)}
	for _, c := range caps {
		ifs := c.Spec.Ifaces
		if c.ifAny {
			ifs = make([]int, n)
			for i := range ifs {
				ifs[i] = i
			}
		}
		for _, i := range ifs {
			if i >= n || cfg.Ifaces[i].Deleted {
				continue
			}
			p := cfg.PortOf(i)
			if c.Spec.Rx {
				t.rx.l[i].add(c)
				t.rx.port[p].on = true
				t.rx.port[p].vlan = t.rx.port[p].vlan || p != i
			}
			if c.Spec.Tx {
				t.tx.l[i].add(c)
				t.tx.port[p].on = true
			}
		}
		if c.Spec.Drop {
			if len(c.Spec.Reasons) == 0 {
				for r := range t.drop {
					t.drop[r].add(c)
				}
			}
			for _, r := range c.Spec.Reasons {
				if r < NumReasons {
					t.drop[r].add(c)
				}
			}
		}
	}
	t.rx.index(cfg)
	t.tx.index(cfg)
	return t
}

// CapRecord is one captured packet as Drain hands it over. Data is only
// valid during the callback.
type CapRecord struct {
	Time   int64 // UnixNano
	Worker int
	Iface  int
	Point  CapPoint
	Reason Reason // drop: why
	// Detail: drop, the dropping node's detail (pkt.Buf.Aux): for the
	// filter's blocked and no-state, the blocking rule's number (0: the
	// default policy; filter.Holder.DropRule names it).
	Detail  uint32
	WireLen int
	Data    []byte
}

// Drain hands every record the workers have published to fn, worker by
// worker, and frees their room. One goroutine at a time.
func (c *Capture) Drain(fn func(*CapRecord)) int {
	n := 0
	for w, r := range c.rings {
		n += r.drain(w, fn)
	}
	return n
}

// Drops is how many packets the filter accepted that found their ring
// full, over all workers.
func (c *Capture) Drops() uint64 {
	var d uint64
	for _, r := range c.rings {
		d += r.drops.Load()
	}
	return d
}

// CapRing is a lossy single-producer (the worker) single-consumer (the
// control plane) byte ring of records: a 32-byte header (record and
// captured lengths, wire length, interface, point, reason, detail, time)
// and the packet's bytes, 8-byte aligned; a record that would cross the end is preceded
// by a skip record.
type CapRing struct {
	_     [64]byte
	head  atomic.Uint64 // bytes written (producer)
	_     [56]byte
	tail  atomic.Uint64 // bytes consumed (consumer)
	_     [56]byte
	drops atomic.Uint64
	buf   []byte
}

const (
	capHdr  = 32
	capSkip = 0xffffffff // capLen of a skip record
)

// put writes one record; false (and a drop counted) when it does not fit.
// Worker side.
func (r *CapRing) put(now int64, iface uint16, pt CapPoint, reason uint16, detail uint32, wire int, data []byte) bool {
	size := uint64(len(r.buf))
	h := r.head.Load() // ours: a plain load in effect
	t := r.tail.Load()
	rec := uint64(capHdr+len(data)+7) &^ 7
	off := h & (size - 1)
	pad := uint64(0)
	if off+rec > size {
		pad = size - off
	}
	if h+pad+rec-t > size {
		r.drops.Store(r.drops.Load() + 1) // single writer
		return false
	}
	if pad > 0 {
		hd := r.buf[off : off+8]
		binary.LittleEndian.PutUint32(hd[0:], uint32(pad))
		binary.LittleEndian.PutUint32(hd[4:], capSkip)
		h += pad
		off = 0
	}
	hd := r.buf[off : off+capHdr]
	binary.LittleEndian.PutUint32(hd[0:], uint32(rec))
	binary.LittleEndian.PutUint32(hd[4:], uint32(len(data)))
	binary.LittleEndian.PutUint32(hd[8:], uint32(wire))
	binary.LittleEndian.PutUint16(hd[12:], iface)
	hd[14] = byte(pt)
	binary.LittleEndian.PutUint16(hd[16:], reason)
	binary.LittleEndian.PutUint32(hd[20:], detail)
	binary.LittleEndian.PutUint64(hd[24:], uint64(now))
	copy(r.buf[off+capHdr:], data)
	r.head.Store(h + rec)
	return true
}

// drain is the consumer side of the ring of worker w.
func (r *CapRing) drain(w int, fn func(*CapRecord)) int {
	size := uint64(len(r.buf))
	t := r.tail.Load()
	h := r.head.Load()
	n := 0
	var cr CapRecord
	for t < h {
		off := t & (size - 1)
		hd := r.buf[off:]
		rec := uint64(binary.LittleEndian.Uint32(hd[0:]))
		capLen := binary.LittleEndian.Uint32(hd[4:])
		if capLen != capSkip {
			cr = CapRecord{
				Time: int64(binary.LittleEndian.Uint64(hd[24:])), Worker: w,
				Iface: int(binary.LittleEndian.Uint16(hd[12:])), Point: CapPoint(hd[14]),
				Reason: Reason(binary.LittleEndian.Uint16(hd[16:])), Detail: binary.LittleEndian.Uint32(hd[20:]),
				WireLen: int(binary.LittleEndian.Uint32(hd[8:])),
				Data:    r.buf[off+capHdr : off+capHdr+uint64(capLen)],
			}
			fn(&cr)
			n++
		}
		t += rec
		r.tail.Store(t)
	}
	return n
}

// Worker side.

// tap offers frame f, of filter class cls, seen at point pt on
// interface iface, to the captures of l.
func (w *Worker) tap(l *tapList, f []byte, cls uint8, iface uint16, pt CapPoint, reason uint16, detail uint32) {
	w.tapVisits++
	w.tapOne(l.first, f, cls, iface, pt, reason, detail)
	for _, r := range l.more {
		w.tapOne(r, f, cls, iface, pt, reason, detail)
	}
}

// tapOne offers frame f, of filter class cls, to one capture: its
// filter (skipped when the class alone says it rejects), then its ring.
func (w *Worker) tapOne(r tapRef, f []byte, cls uint8, iface uint16, pt CapPoint, reason uint16, detail uint32) {
	n := uint32(len(f))
	if r.f != nil {
		if r.f.Never(cls) {
			return
		}
		if n = min(n, r.f.Run(f, len(f))); n == 0 {
			return
		}
	}
	c := r.c
	if pt == CapDrop && !c.ifAny && (int(iface) >= len(c.ifOK) || !c.ifOK[iface]) {
		return
	}
	if w.ID >= len(c.rings) {
		return
	}
	n = min(n, c.snap)
	if w.capNow == 0 {
		w.capNow = time.Now().UnixNano()
	}
	c.rings[w.ID].put(w.capNow, iface, pt, reason, detail, len(f), f[:n])
}

// tapRx offers the batch just received on port p to the rx taps. Per
// packet: its class, the port's bit for it (most packets stop there
// when the filters cannot match their class), then its interface (a
// VLAN sub-interface's through the VLANTable) and that interface's bit
// in the class's row, and only then the interface's captures.
func (w *Worker) tapRx(t *Taps, p int, in *pkt.Batch, cfg *Config) {
	w.capNow = 0
	x := &t.rx
	if p >= len(x.port) {
		return
	}
	tp := &x.port[p]
	var vt *VLANTable
	if tp.vlan && p < len(cfg.VLANs) {
		vt = cfg.VLANs[p]
	}
	recs := pkt.Records()
	for _, id := range in.B[:in.N] {
		f := recs.At(id).Bytes()
		var cls uint8
		// pcapfilter.Classify, with its common frames (IPv4, untagged
		// or under one 0x8100 tag) here: no call for them, so the loop
		// keeps its registers (a call per packet spilled them).
		switch {
		case len(f) >= 38 && f[12] == 0x81 && f[13] == 0 && f[16] == 0x08 && f[17] == 0:
			cls = pcapfilter.IPv4Class(true, f[27], f[24]&0x1f|f[25] != 0)
		case len(f) >= 34 && f[12] == 0x08 && f[13] == 0:
			cls = pcapfilter.IPv4Class(false, f[23], f[20]&0x1f|f[21] != 0)
		default:
			cls = pcapfilter.Classify(f)
		}
		if tp.classes[cls>>6]&(1<<(cls&63)) == 0 {
			continue
		}
		i := p
		if vt != nil {
			i = tapVLANIface(vt, p, f)
		}
		if x.maybe(cls, i) && i < len(x.l) {
			w.tap(&x.l[i], f, cls, uint16(i), CapRx, 0, 0)
		}
	}
}

// tapVLANIface is the interface a frame received on port p belongs to:
// its VLAN sub-interface's for a known tag, else the port's.
func tapVLANIface(vt *VLANTable, p int, f []byte) int {
	if len(f) < 18 {
		return p
	}
	et := binary.BigEndian.Uint16(f[12:])
	vid := binary.BigEndian.Uint16(f[14:]) & vidMask
	e := uint16(0)
	if et == 0x8100 {
		e = vt.Dot1Q[vid]
	}
	if e == 0 && len(f) >= 22 && vt.QinQ != nil && binary.BigEndian.Uint16(f[16:]) == 0x8100 {
		if o := vt.QinQ[vid]; o != nil && o.TPID == et {
			e = o.Inner[binary.BigEndian.Uint16(f[18:])&vidMask]
		}
	}
	if e == 0 {
		return p
	}
	return int(e &^ (VLANDown | VLANBridged))
}

// tapTx offers the vector v, about to be sent on port p, to the tx
// taps: as tapRx, by the port's classes, then the class's row.
func (w *Worker) tapTx(t *Taps, p int, v *pkt.Batch) {
	w.capNow = 0
	x := &t.tx
	if p >= len(x.port) {
		return
	}
	tp := &x.port[p]
	recs := pkt.Records()
	for _, id := range v.B[:v.N] {
		b := recs.At(id)
		f := b.Bytes()
		var cls uint8
		// As tapRx's.
		switch {
		case len(f) >= 38 && f[12] == 0x81 && f[13] == 0 && f[16] == 0x08 && f[17] == 0:
			cls = pcapfilter.IPv4Class(true, f[27], f[24]&0x1f|f[25] != 0)
		case len(f) >= 34 && f[12] == 0x08 && f[13] == 0:
			cls = pcapfilter.IPv4Class(false, f[23], f[20]&0x1f|f[21] != 0)
		default:
			cls = pcapfilter.Classify(f)
		}
		if tp.classes[cls>>6]&(1<<(cls&63)) == 0 {
			continue
		}
		if o := int(b.OutPort); x.maybe(cls, o) && o < len(x.l) {
			w.tap(&x.l[o], f, cls, b.OutPort, CapTx, 0, 0)
		}
	}
}

// DropTapped reports whether a capture of drops under reason r is armed
// in this poll: a node that frees the buffers it drops without the drop
// node (early-drop, a vector at a time) sends them through Drop while it
// is, so that the capture sees them. Read it once per vector.
func (w *Worker) DropTapped(r Reason) bool {
	t := w.taps
	return t != nil && int(r) < len(t.drop) && t.drop[r].first.c != nil
}

// tapDrop offers the drop vector to the drop taps.
func (w *Worker) tapDrop(t *Taps, in *pkt.Batch) {
	w.capNow = 0
	recs := pkt.Records()
	for _, x := range in.B[:in.N] {
		b := recs.At(x)
		if r := int(b.Reason); r < len(t.drop) && t.drop[r].first.c != nil {
			f := b.Bytes()
			w.tap(&t.drop[r], f, pcapfilter.Classify(f), b.InPort, CapDrop, b.Reason, b.Aux)
		}
	}
}
