package dp

import (
	"github.com/softnet/softnet/hdr"
	"github.com/softnet/softnet/pkt"
)

// ip4Frag fragments packets larger than the egress MTU that may be
// fragmented.
//
// ip4-frag (RFC 791 §3.2 "Fragmentation", RFC 1812 §5.2.6): decrements the
// TTL once, then cuts the payload into pieces of (MTU - header) rounded
// down to 8 bytes, each in a new buffer with the adjacency's Ethernet
// header. The first fragment keeps every option; later ones only the
// options whose copied flag is set (RFC 791 §3.1). An already fragmented
// packet keeps its offset base and its MF on the last piece.
//   - Next: interface-output (flushed early when its vector fills, since
//     this stage makes more packets than it takes), drop.
func (w *Worker) ip4Frag(cfg *Config, in *pkt.Batch) {
	for _, b := range in.B[:in.N] {
		adj := &cfg.Adj[b.NH]
		ip := hdr.IPv4(b.L3Bytes())
		hl := ip.HeaderLen()
		mtu := int(adj.MTU)
		if (mtu-hl)&^7 < 8 {
			w.drop(b, IP4FragMTU)
			continue
		}
		if w.upOf != cfg {
			w.syncUp(cfg)
		}
		if int(adj.Iface) >= len(w.up) || !w.up[adj.Iface] {
			w.drop(b, IP4FragIfaceDown)
			continue
		}
		// RFC 791: offset*8 + data length must stay within 65535.
		if int(ip.FragOffset())*8+len(ip)-hl > 65535 {
			w.drop(b, IP4FragBadOffset)
			continue
		}
		if b.Flags&pkt.FlagLocal == 0 {
			ip.DecTTL()
		}
		// Header for the later fragments: fixed part plus copied options.
		var later [60]byte
		copy(later[:20], ip[:20])
		ll := 20
		opts := ip[20:hl]
		for i := 0; i < len(opts); {
			t := opts[i]
			if t == 0 { // end of option list
				break
			}
			if t == 1 { // no-operation
				i++
				continue
			}
			if i+1 >= len(opts) || opts[i+1] < 2 || i+int(opts[i+1]) > len(opts) {
				break // malformed option: stop copying
			}
			l := int(opts[i+1])
			if t&0x80 != 0 {
				ll += copy(later[ll:], opts[i:i+l])
			}
			i += l
		}
		for ll%4 != 0 {
			later[ll] = 0
			ll++
		}
		payload := ip[hl:]
		base := ip.FragOffset()
		mf := ip.MF()
		ok := true
		for pos, first := 0, true; pos < len(payload); first = false {
			h := ip[:hl]
			if !first {
				h = later[:ll]
			}
			size := min(len(payload)-pos, (mtu-len(h))&^7)
			nb := w.pool.Get()
			if nb == nil {
				ok = false
				break
			}
			f := nb.Reset(hdr.EthernetLen + len(h) + size)
			copy(f[:12], adj.Rewrite[:])
			f[12], f[13] = 0x08, 0x00
			copy(f[hdr.EthernetLen:], h)
			copy(f[hdr.EthernetLen+len(h):], payload[pos:pos+size])
			fip := hdr.IPv4(f[hdr.EthernetLen:])
			fip.SetVersionIHL(len(h))
			fip.SetTotalLen(len(h) + size)
			last := pos+size == len(payload)
			fip.SetFlagsFrag(false, !last || mf, base+uint16(pos/8))
			fip.SetChecksum(0)
			fip.SetChecksum(fip.ComputeChecksum())
			nb.L3, nb.InPort, nb.OutPort, nb.Flags = hdr.EthernetLen, b.InPort, adj.Iface, b.Flags
			out := w.frames[StageInterfaceOutput]
			if out.N == pkt.BatchSize {
				if w.tracing {
					w.traceStage(StageInterfaceOutput, cfg, out)
				}
				w.interfaceOutput(cfg, out)
			}
			out.B[out.N] = nb
			out.N++
			w.c.Fragments++
			pos += size
		}
		if ok {
			w.pool.Put(b)
		} else {
			w.drop(b, IP4FragNoBuffer)
		}
	}
	in.N = 0
}

// interfaceOutput sorts packets by egress interface and transmits each
// interface's vector with one Send.
//
// interface-output: counts packets and bytes per interface, drops packets
// for interfaces that are down or whose transmit ring is full.
//   - Next: the port (which takes ownership), drop.
func (w *Worker) interfaceOutput(cfg *Config, in *pkt.Batch) {
	if w.upOf != cfg {
		w.syncUp(cfg)
	}
	// Fast path: the whole vector leaves by one interface (the common case
	// for a forwarding batch), so it is handed to the port as it is.
	if n := in.N; n > 0 {
		o := int(in.B[0].OutPort)
		same := true
		for _, b := range in.B[1:n] {
			if int(b.OutPort) != o {
				same = false
				break
			}
		}
		if same && o < len(w.up) && w.up[o] && w.tx[o].N == 0 {
			w.send(o, in)
			return
		}
	}
	for _, b := range in.B[:in.N] {
		o := int(b.OutPort)
		if o >= len(w.up) || !w.up[o] {
			w.drop(b, OutIfaceDown)
			continue
		}
		t := &w.tx[o]
		if t.N == pkt.BatchSize {
			w.flush(o)
		}
		t.B[t.N] = b
		t.N++
	}
	in.N = 0
	for o := range w.tx {
		if w.tx[o].N > 0 {
			w.flush(o)
		}
	}
}

// syncUp caches which interfaces are up in cfg, sized to the worker's
// ports, so interface-output reads one bool per packet.
func (w *Worker) syncUp(cfg *Config) {
	w.up = w.up[:0]
	for o := range w.tx {
		w.up = append(w.up, o < len(cfg.Ifaces) && cfg.Ifaces[o].Up)
	}
	w.upOf = cfg
}

// flush sends interface o's transmit vector.
func (w *Worker) flush(o int) { w.send(o, &w.tx[o]) }

// send transmits t on interface o and counts it; the port takes the
// buffers and empties t.
func (w *Worker) send(o int, t *pkt.Batch) {
	n := t.N
	var bytes uint64
	for _, b := range t.B[:n] {
		bytes += uint64(b.Len)
	}
	sent := w.ports[o].Send(w.ID, t, w.pool)
	w.c.TxPackets[o] += uint64(sent)
	if sent == n {
		w.c.TxBytes[o] += bytes
	} else {
		w.c.Drops[OutTxFull] += uint64(n - sent)
	}
}
