package dp

import (
	"fmt"

	"github.com/softnet/softnet/pkt"
)

// interface-output: its registration (see Register).
var (
	StageInterfaceOutput Stage

	OutIfaceDown, OutTxFull Reason
)

// stageBridge is l2-bridge (dp/l2), which takes what is sent on a BVI.
var stageBridge Stage

var _ = Ref("l2-bridge", &stageBridge)

var _ = Register(Node{
	Name:  "interface-output",
	Stage: &StageInterfaceOutput,
	Run:   (*Worker).interfaceOutput,
	Next:  []string{"drop"},
	Back:  []string{"l2-bridge"},
	Reasons: []ReasonDef{
		{&OutIfaceDown, "iface-down", "egress interface is down"},
		{&OutTxFull, "tx-full", "the port's transmit ring was full"},
	},
	Trace: traceInterfaceOutput,
})

// interfaceOutput sorts packets by egress port and transmits each port's
// vector with one Send.
//
// interface-output: a packet's OutPort is its egress interface; a VLAN
// sub-interface's packets (already tagged by ip4-rewrite) leave by its
// parent's port. Pads a frame shorter than MinFrame (60) bytes with
// zeros. Counts packets and bytes (as sent, padding included) per
// interface, drops packets for interfaces that are down or whose
// transmit ring is full.
//   - Next: the port (which takes ownership), drop.
func (w *Worker) interfaceOutput(cfg *Config, in *pkt.Batch) {
	if w.upOf != cfg {
		w.syncUp(cfg)
	}
	recs := pkt.Records()
	// Fast path: the whole vector leaves by one interface (the common case
	// for a forwarding batch), so it is handed to the port as it is.
	if n := in.N; n > 0 && !w.general {
		o := int(in.Buf(0).OutPort)
		same := true
		for _, x := range in.B[1:n] {
			if int(recs.At(x).OutPort) != o {
				same = false
				break
			}
		}
		if same && o < len(w.up) && w.up[o] {
			if p := int(w.portOf[o]); p != portBVI && w.tx[p].N == 0 {
				w.send(p, in)
				return
			}
		}
	}
	for _, x := range in.B[:in.N] {
		b := recs.At(x)
		o := int(b.OutPort)
		if o >= len(w.up) || !w.up[o] {
			w.drop(b, OutIfaceDown)
			continue
		}
		p := int(w.portOf[o])
		if p == portBVI {
			// Sent on the BVI: the bridge switches it as the BVI's
			// (padded now, so the BVI counts what the member sends).
			if b.Len < MinFrame {
				pad(b)
			}
			w.c.TxPackets[o]++
			w.c.TxBytes[o] += uint64(b.Len)
			b.InPort = uint16(o)
			w.to(stageBridge, b)
			continue
		}
		t := &w.tx[p]
		if t.N == pkt.BatchSize {
			w.flush(p)
		}
		t.B[t.N] = x
		t.N++
	}
	in.N = 0
	for p := range w.tx {
		if w.tx[p].N > 0 {
			w.flush(p)
		}
	}
}

// Output appends b, its OutPort set, to interface-output's vector,
// transmitting the vector first when it is full: for nodes that make more
// packets than they take (l2-bridge's flood, re-tagged frames).
func (w *Worker) Output(cfg *Config, b *pkt.Buf) {
	out := w.frames[StageInterfaceOutput]
	if out.N == pkt.BatchSize {
		if w.tracing {
			w.traceStage(StageInterfaceOutput, cfg, out)
		}
		w.interfaceOutput(cfg, out)
	}
	out.B[out.N] = b.Index()
	out.N++
}

// CanSend reports whether interface o of cfg can transmit: it is up, and
// so is its port, which this worker has.
func (w *Worker) CanSend(cfg *Config, o int) bool {
	if w.upOf != cfg {
		w.syncUp(cfg)
	}
	return o < len(w.up) && w.up[o]
}

// OutputRoom transmits interface-output's vector now if k more packets
// would not fit in it: call it before passing k packets to
// interface-output after putting others there with Output.
func (w *Worker) OutputRoom(cfg *Config, k int) {
	if out := w.frames[StageInterfaceOutput]; out.N > 0 && out.N+k > pkt.BatchSize {
		w.interfaceOutput(cfg, out)
	}
}

// syncUp caches, per interface of cfg, whether it can transmit (it is up,
// and so is its parent port, which this worker has) and the port it
// transmits on, so interface-output reads a bool and an index per packet.
// It also grows the per-interface counters to cfg's interfaces. It runs
// once per new config.
func (w *Worker) syncUp(cfg *Config) {
	w.up, w.portOf = w.up[:0], w.portOf[:0]
	for o := range cfg.Ifaces {
		p := cfg.PortOf(o)
		up := p < len(w.tx) && cfg.Ifaces[o].Up && cfg.Ifaces[p].Up
		if !up {
			p = 0
		}
		if bi := int(cfg.Ifaces[o].Bridge) - 1; bi >= 0 && bi < len(cfg.Bridges) && cfg.Bridges[bi].BVI == o {
			p, up = portBVI, cfg.Ifaces[o].Up // no port: interface-output hands it to l2-bridge
		}
		w.up = append(w.up, up)
		w.portOf = append(w.portOf, uint16(p))
	}
	w.grow(len(cfg.Ifaces))
	w.upOf = cfg
}

// grow makes the per-interface counters at least n long. The published
// copy's slices are replaced under pubMu (see Sum); the elements already
// counted keep their values.
func (w *Worker) grow(n int) {
	if len(w.c.RxPackets) >= n {
		return
	}
	g := func(s []uint64) []uint64 {
		t := lineSlice(n)
		copy(t, s)
		return t
	}
	c := &w.c
	c.RxPackets, c.RxBytes, c.TxPackets, c.TxBytes = g(c.RxPackets), g(c.RxBytes), g(c.TxPackets), g(c.TxBytes)
	w.pubMu.Lock()
	p := &w.pub
	// The worker is the only writer of pub's elements, so a plain copy of
	// the old values is safe here; readers hold pubMu.
	p.RxPackets, p.RxBytes, p.TxPackets, p.TxBytes = g(p.RxPackets), g(p.RxBytes), g(p.TxPackets), g(p.TxBytes)
	w.pubMu.Unlock()
}

// flush sends port p's transmit vector.
func (w *Worker) flush(p int) { w.send(p, &w.tx[p]) }

// send transmits t on port p and counts it per egress interface; the port
// takes the buffers and empties t. A vector of one interface is counted in
// one addition; a mixed one (a port's own packets and its sub-interfaces')
// per packet, for the first frames the port sent (a ring takes a prefix).
func (w *Worker) send(p int, t *pkt.Batch) {
	n := t.N
	if n == 0 {
		return
	}
	var bytes uint64
	o := t.Buf(0).OutPort
	mixed := false
	recs := pkt.Records()
	minLen := uint16(MinFrame)
	for i, x := range t.B[:n] {
		b := recs.At(x)
		minLen = min(minLen, b.Len)
		bytes += uint64(b.Len)
		mixed = mixed || b.OutPort != o
		w.txLen[i] = b.Len // the port owns the buffers after Send
	}
	if minLen < MinFrame {
		// Frames shorter than the Ethernet minimum: padded, and the
		// lengths taken again, in a loop of their own. A call in the loop
		// above, even one never taken, costs it spills for every frame.
		bytes = 0
		for i, x := range t.B[:n] {
			b := recs.At(x)
			if b.Len < MinFrame {
				pad(b)
			}
			bytes += uint64(b.Len)
			w.txLen[i] = b.Len
		}
	}
	if mixed {
		for i, x := range t.B[:n] {
			w.txOut[i] = recs.At(x).OutPort
		}
	}
	if tp := w.taps; tp != nil && tp.tx.at(p) {
		w.tapTx(tp, p, t)
	}
	sent := w.ports[p].Send(w.txq[p], t, w.pool)
	switch {
	case mixed:
		for i := range sent {
			w.c.TxPackets[w.txOut[i]]++
			w.c.TxBytes[w.txOut[i]] += uint64(w.txLen[i])
		}
	case int(o) < len(w.c.TxPackets):
		w.c.TxPackets[o] += uint64(sent)
		if sent < n {
			bytes = 0
			for _, l := range w.txLen[:sent] {
				bytes += uint64(l)
			}
		}
		w.c.TxBytes[o] += bytes
	}
	if sent < n {
		w.c.Drops[OutTxFull] += uint64(n - sent)
	}
}

// MinFrame is the shortest Ethernet frame softnet transmits, without its
// FCS (IEEE 802.3's 64 bytes with it): a shorter one (an ARP reply, a
// small packet routed or bridged as it came from a port that does not pad)
// is padded with zeros to it as it leaves (send), as a NIC would; a veth
// or TAP peer would otherwise see a runt.
const MinFrame = 60

// pad zero-fills b's frame up to MinFrame bytes (the buffer always has
// room after it).
func pad(b *pkt.Buf) {
	raw := b.Raw()
	end := int(b.Off) + MinFrame
	if end > len(raw) {
		return
	}
	clear(raw[int(b.Off)+int(b.Len) : end])
	b.Len = MinFrame
}

// Trace: interface-output records the egress interface (A) and length
// (B), and the engine keeps the frame's first bytes as it leaves.
var traceInterfaceOutput = NodeTrace{
	Record: func(_ *Worker, _ *Config, b *pkt.Buf, st *RawStep) { st.A, st.B = b.OutPort, b.Len },
	Note: func(cfg *Config, st, _ *RawStep, _ bool) string {
		return fmt.Sprintf("%d bytes out %s", st.B, IfaceName(cfg, int(st.A)))
	},
}
