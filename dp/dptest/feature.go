package dptest

import (
	"github.com/softnet/softnet/dp"
	"github.com/softnet/softnet/dp/ip4"
	"github.com/softnet/softnet/hdr"
	"github.com/softnet/softnet/pkt"
)

// Port9Feature is a test-only feature node on ip4-unicast that drops UDP
// to port 9 (the discard port) under its reason Port9 ("port-9") and
// hands everything else to the next node of its arc.
type Port9Feature struct {
	Stage dp.Stage
	Port9 dp.Reason
}

// RegisterPort9Feature registers a Port9Feature under name, its trace
// note note ("": none). Call it from a package-level variable's
// initializer: nodes register before a router builds the graph.
func RegisterPort9Feature(name, note string) *Port9Feature {
	f := &Port9Feature{}
	n := dp.Node{
		Name:  name,
		Stage: &f.Stage,
		Arc:   ip4.ArcUnicast,
		Run: func(w *dp.Worker, _ *dp.Config, in *pkt.Batch) {
			for _, x := range in.B[:in.N] {
				b := pkt.At(x)
				if ToPort9(b) {
					w.Drop(b, f.Port9)
					continue
				}
				w.Next(f.Stage, b)
			}
			in.N = 0
		},
		Next:    []string{"drop"},
		Reasons: []dp.ReasonDef{{Reason: &f.Port9, Name: "port-9", Desc: "UDP to the discard port"}},
	}
	if note != "" {
		n.Trace = dp.NodeTrace{Note: func(*dp.Config, *dp.RawStep, *dp.RawStep, bool) string { return note }}
	}
	dp.Register(n)
	return f
}

// ToPort9 reports whether b is an IPv4 UDP datagram to port 9 (the
// discard port), the packets Port9Feature drops.
func ToPort9(b *pkt.Buf) bool {
	ip := hdr.IPv4(b.L3Bytes())
	return ip.Protocol() == hdr.ProtoUDP && len(ip) >= ip.HeaderLen()+4 && ip[ip.HeaderLen()+2] == 0 && ip[ip.HeaderLen()+3] == 9
}
