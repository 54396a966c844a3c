// Package tracefmt turns the packet trace records of dp.Tracer into
// words: the JSON types of softnet trace and GET /v1/trace (TracePacket),
// the one-line frame summary (Summarize) and the text softnet trace
// prints (WriteTrace). Each node's note comes from its registration
// (dp.NodeTrace.Note); the hot-path hooks stay in package dp.
//
// Hot path: no. Nothing here runs on a worker.
package tracefmt

import (
	"context"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"io"
	"net/netip"
	"strings"
	"time"

	"github.com/softnet/softnet/dp"
	"github.com/softnet/softnet/dp/arp"
	"github.com/softnet/softnet/dp/ip4"
	"github.com/softnet/softnet/hdr"
)

// Tracer is a dp.Tracer whose results come as TracePackets.
type Tracer struct{ *dp.Tracer }

// NewTracer attaches a tracer to workers (see dp.NewTracer).
func NewTracer(workers []*dp.Worker) *Tracer { return &Tracer{dp.NewTracer(workers)} }

// Trace follows the next n packets (see dp.Tracer.Trace) and formats them.
func (t *Tracer) Trace(ctx context.Context, n int) ([]TracePacket, error) {
	recs, err := t.Tracer.Trace(ctx, n)
	return Format(t.Config(), recs), err
}

// Stop disarms the running trace and formats what it recorded (nil if
// none runs).
func (t *Tracer) Stop() []TracePacket {
	recs := t.Tracer.Stop()
	if recs == nil {
		return nil
	}
	return Format(t.Config(), recs)
}

// Format turns records, in arrival order, into TracePackets numbered
// from 1.
func Format(cfg *dp.Config, recs []dp.TraceRecord) []TracePacket {
	out := make([]TracePacket, 0, len(recs))
	for i := range recs {
		p := format(cfg, &recs[i])
		p.Seq = i + 1
		out = append(out, p)
	}
	return out
}

func mac(b []byte) string {
	return fmt.Sprintf("%02x:%02x:%02x:%02x:%02x:%02x", b[0], b[1], b[2], b[3], b[4], b[5])
}

// format turns a record into a TracePacket.
func format(cfg *dp.Config, r *dp.TraceRecord) TracePacket {
	ifName := func(i int) string { return dp.IfaceName(cfg, i) }
	p := TracePacket{
		Worker: r.Worker, Time: time.Unix(0, r.Time).UTC(), Iface: r.Iface, IfaceName: ifName(r.Iface),
		Len: r.Len, Head: Hex(r.Head), OutIface: -1,
	}
	p.Summary = Summarize(p.Head)
	if len(r.Out) > 0 {
		p.Out = Hex(r.Out)
		p.OutLen = r.OutLen
		p.OutSummary = Summarize(p.Out)
	}
	steps := r.Steps
	seen := func(s dp.Stage) bool {
		for _, st := range steps {
			if st.Stage == s {
				return true
			}
		}
		return false
	}
	own := false
	for i := range steps {
		st := &steps[i]
		var nx *dp.RawStep
		if i+1 < len(steps) {
			nx = &steps[i+1]
		}
		ts := TraceStep{Stage: st.Stage.String()}
		switch {
		case nx != nil:
			ts.Next = nx.Stage.String()
		case st.Stage == dp.StageInterfaceOutput:
			ts.Next = "tx " + ifName(int(st.A))
		case st.Stage == dp.StageDrop:
			ts.Next = "pool"
		case st.Stage == ip4.StageARP, st.Stage == arp.StageInput:
			ts.Next = "control-plane"
		case st.Stage == ip4.StageFrag:
			ts.Next = "tx " + ifName(int(st.B))
		}
		ts.Note = st.Note(cfg, nx, own)
		p.Steps = append(p.Steps, ts)
		// From here on the buffer holds the router's own packet: an
		// echo reply or an ICMP error.
		own = own || st.Stage == ip4.StageLocal || st.Stage == ip4.StageICMPError
	}
	if len(steps) == 0 || r.Lost {
		p.Fate, p.Detail = FateUnknown, fmt.Sprintf("only the first %d steps were kept", dp.TraceMaxSteps)
		return p
	}
	last := &steps[len(steps)-1]
	switch last.Stage {
	case dp.StageDrop:
		rs := dp.Reason(last.A)
		if rs >= dp.NumReasons {
			rs = dp.ReasonNone
		}
		p.Fate, p.Reason, p.Detail = FateDrop, rs.String(), rs.Desc()
	case dp.StageInterfaceOutput:
		p.OutIface, p.OutName = int(last.A), ifName(int(last.A))
		switch {
		case seen(ip4.StageICMPError):
			typ := uint8(0)
			var code uint16
			for _, st := range steps {
				if st.Stage == ip4.StageICMPError {
					typ, code = st.K, st.A
				}
			}
			p.Fate = FateICMPError
			p.Detail = fmt.Sprintf("consumed; ICMP %s about it sent on %s", dp.ICMPName(typ, uint8(code)), p.OutName)
		case seen(ip4.StageLocal):
			p.Fate, p.Detail = FateLocal, "addressed to the router; echo reply sent on "+p.OutName
		case seen(arp.StageInput):
			p.Fate, p.Detail = FateLocal, "ARP request for the router's address; reply sent on "+p.OutName
		default:
			p.Fate, p.Detail = FateTx, "forwarded: sent on "+p.OutName
		}
	case ip4.StageARP:
		p.OutIface, p.OutName = int(last.B), ifName(int(last.B))
		p.Fate = FatePunt
		p.Detail = fmt.Sprintf("punted to the control plane to resolve %s on %s (ARP); it is sent once resolved, untraced", dp.IP4String(last.C), p.OutName)
	case arp.StageInput:
		p.Fate, p.Detail = FatePunt, "ARP consumed: handed to the control plane to learn the sender's address"
	case ip4.StageFrag:
		p.OutIface, p.OutName = int(last.B), ifName(int(last.B))
		p.Fate = FateFragmented
		p.Detail = fmt.Sprintf("cut into fragments for MTU %d, sent on %s (fragments are not traced)", last.D, p.OutName)
	default:
		p.Fate, p.Detail = FateUnknown, "left the graph at "+last.Stage.String()
	}
	return p
}

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

// Summarize decodes the first bytes of an Ethernet frame into one line,
// e.g. "02:aa:00:00:00:02 > 02:52:00:00:00:01 ipv4 10.0.1.2 > 198.18.0.1
// ttl 64 len 46 udp 1001 > 9"; IPv6 alike (summarize6). It reads only
// what b holds.
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
		fmt.Fprintf(&s, " ipv4 %s > %s ttl %d len %d", dp.IP4String(ip.Src()), dp.IP4String(ip.Dst()), ip.TTL(), ip.TotalLen())
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
				fmt.Fprintf(&s, " %s", dp.ICMPName(l4[0], l4[1]))
			}
			// An error quotes the offending header (RFC 792): name it.
			if len(l4) >= hdr.ICMPv4Len+hdr.IPv4MinLen && hdr.ICMPv4(l4).IsError() {
				q := hdr.IPv4(l4[hdr.ICMPv4Len:])
				fmt.Fprintf(&s, " about %s > %s proto %d", dp.IP4String(q.Src()), dp.IP4String(q.Dst()), q.Protocol())
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
			fmt.Fprintf(&s, " arp who-has %s tell %s", dp.IP4String(a.TargetIP()), dp.IP4String(a.SenderIP()))
		} else {
			fmt.Fprintf(&s, " arp reply %s is-at %s", dp.IP4String(a.SenderIP()), mac(a.SenderMAC()))
		}
	case hdr.EtherTypeVLAN, hdr.EtherTypeQinQ:
		fmt.Fprintf(&s, " vlan (ethertype %#04x)", et)
	case hdr.EtherTypeIPv6:
		summarize6(&s, l3)
	default:
		fmt.Fprintf(&s, " ethertype %#04x", et)
	}
	return s.String()
}

// summarize6 writes an IPv6 packet's line: " ipv6 2001:db8:1::2 >
// 2001:db8:100::5 hlim 64 len 26 udp 40000 > 40001" (len is the Payload
// Length); the upper layer only when it directly follows the header,
// else its Next Header number.
func summarize6(s *strings.Builder, l3 []byte) {
	if len(l3) < hdr.IPv6Len {
		s.WriteString(" ipv6 (truncated)")
		return
	}
	src, dst := netip.AddrFrom16([16]byte(l3[8:24])), netip.AddrFrom16([16]byte(l3[24:40]))
	fmt.Fprintf(s, " ipv6 %s > %s hlim %d len %d", src, dst, l3[7], binary.BigEndian.Uint16(l3[4:6]))
	if v := l3[0] >> 4; v != 6 {
		fmt.Fprintf(s, " (version %d)", v)
		return
	}
	l4 := l3[hdr.IPv6Len:]
	switch nh := l3[6]; nh {
	case hdr.ProtoUDP, hdr.ProtoTCP:
		s.WriteString(map[uint8]string{hdr.ProtoUDP: " udp", hdr.ProtoTCP: " tcp"}[nh])
		if len(l4) >= 4 {
			fmt.Fprintf(s, " %d > %d", binary.BigEndian.Uint16(l4), binary.BigEndian.Uint16(l4[2:]))
		}
	case 58: // ICMPv6
		s.WriteString(" icmp6")
		if len(l4) >= 2 {
			fmt.Fprintf(s, " %s", icmp6Name(l4[0], l4[1]))
		}
	default:
		fmt.Fprintf(s, " next %d", nh)
	}
}

// icmp6Name names an ICMPv6 type (RFC 4443, RFC 4861), with its code.
func icmp6Name(typ, code uint8) string {
	names := map[uint8]string{1: "destination unreachable", 2: "packet too big", 3: "time exceeded", 4: "parameter problem",
		128: "echo request", 129: "echo reply", 133: "router solicitation", 134: "router advertisement",
		135: "neighbor solicitation", 136: "neighbor advertisement", 137: "redirect"}
	n, ok := names[typ]
	if !ok {
		n = fmt.Sprintf("type %d", typ)
	}
	if code != 0 || typ < 128 {
		n += fmt.Sprintf(" code %d", code)
	}
	return n
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
