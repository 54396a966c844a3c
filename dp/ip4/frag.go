package ip4

import (
	"fmt"

	"github.com/softnet/softnet/dp"
	"github.com/softnet/softnet/hdr"
	"github.com/softnet/softnet/pkt"
)

// ip4-frag: its registration (see dp.Register).
var (
	StageFrag dp.Stage

	FragNoBuffer, FragMTU, FragBadOffset, FragIfaceDown dp.Reason
)

var _ = dp.Register(dp.Node{
	Name:  "ip4-frag",
	Stage: &StageFrag,
	Run:   ip4Frag,
	Next:  []string{"interface-output", "drop"},
	Reasons: []dp.ReasonDef{
		{Reason: &FragNoBuffer, Name: "no-buffer", Desc: "no free buffer for a fragment"},
		{Reason: &FragMTU, Name: "mtu-too-small", Desc: "egress MTU leaves no room for 8 bytes of payload per fragment"},
		{Reason: &FragBadOffset, Name: "bad-offset", Desc: "fragment offset plus length beyond 65535 (RFC 791)"},
		{Reason: &FragIfaceDown, Name: "iface-down", Desc: "egress interface is down"},
	},
	Trace: traceIP4Frag,
})

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
func ip4Frag(w *dp.Worker, cfg *dp.Config, in *pkt.Batch) {
	c := w.Stats()
	for _, x := range in.B[:in.N] {
		b := pkt.At(x)
		adj := &cfg.Adj[b.NH]
		ip := hdr.IPv4(b.L3Bytes())
		hl := ip.HeaderLen()
		mtu := int(adj.MTU)
		if (mtu-hl)&^7 < 8 {
			w.Drop(b, FragMTU)
			continue
		}
		if !w.CanSend(cfg, int(adj.Iface)) {
			w.Drop(b, FragIfaceDown)
			continue
		}
		// RFC 791: offset*8 + data length must stay within 65535.
		if int(ip.FragOffset())*8+len(ip)-hl > 65535 {
			w.Drop(b, FragBadOffset)
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
			nb := w.Pool().Get()
			if nb == nil {
				ok = false
				break
			}
			l2 := hdr.EthernetLen + int(adj.TagLen)
			f := nb.Reset(l2 + len(h) + size)
			adj.PutL2(f, hdr.EtherTypeIPv4)
			copy(f[l2:], h)
			copy(f[l2+len(h):], payload[pos:pos+size])
			fip := hdr.IPv4(f[l2:])
			fip.SetVersionIHL(len(h))
			fip.SetTotalLen(len(h) + size)
			last := pos+size == len(payload)
			fip.SetFlagsFrag(false, !last || mf, base+uint16(pos/8))
			fip.SetChecksum(0)
			fip.SetChecksum(fip.ComputeChecksum())
			nb.L3, nb.InPort, nb.OutPort, nb.Flags = uint16(l2), b.InPort, adj.Iface, b.Flags
			w.Output(cfg, nb) // flushed early when its vector fills
			c.Fragments++
			pos += size
		}
		if ok {
			c.Fragmented++
			w.Pool().Put(b)
		} else {
			w.Drop(b, FragNoBuffer)
		}
	}
	in.N = 0
}

// Trace: ip4-frag records the adjacency (see recordAdj); interface-output
// the egress interface (A) and length (B), and the engine keeps the
// frame's first bytes as it leaves.
var traceIP4Frag = dp.NodeTrace{
	Record: recordAdj,
	Note: func(_ *dp.Config, st, _ *dp.RawStep, _ bool) string {
		return fmt.Sprintf("fragmented for MTU %d", st.D)
	},
}
