package dp

import (
	"encoding/binary"
	"fmt"

	"github.com/softnet/softnet/hdr"
	"github.com/softnet/softnet/pkt"
)

// ip4-local and icmp4-error: their registration (see Register).
var (
	StageIP4Local, StageICMP4Error Stage

	IP4LocalFragment, IP4LocalTCP, IP4LocalICMPBad, IP4LocalICMPOther           Reason
	ICMPAboutICMPError, ICMPAboutBroadcast, ICMPAboutFragment, ICMPAboutMartian Reason
	ICMPAboutLocal, ICMPRateLimited, ICMPNoSource, ICMPNoRoom                   Reason
)

var _ = Register(Node{
	Name:  "ip4-local",
	Stage: &StageIP4Local,
	Run:   (*Worker).ip4Local,
	Next:  []string{"icmp4-error", "drop"},
	Back:  []string{"ip4-lookup"},
	Reasons: []ReasonDef{
		{&IP4LocalFragment, "fragment", "fragment addressed to the router: no reassembly"},
		{&IP4LocalTCP, "tcp", "TCP to the router: no TCP service"},
		{&IP4LocalICMPBad, "icmp-malformed", "ICMP to the router is truncated or has a bad checksum"},
		{&IP4LocalICMPOther, "icmp-consumed", "ICMP to the router other than echo request, consumed"},
	},
	Trace: traceIP4Local,
})

var _ = Register(Node{
	Name:  "icmp4-error",
	Stage: &StageICMP4Error,
	Run:   (*Worker).icmp4Error,
	Next:  []string{"drop"},
	Back:  []string{"ip4-lookup"},
	Reasons: []ReasonDef{ // RFC 1812 §4.3.2.7
		{&ICMPAboutICMPError, "about-icmp-error", "no ICMP error about an ICMP error (RFC 1812 §4.3.2.7)"},
		{&ICMPAboutBroadcast, "about-broadcast", "no ICMP error about a broadcast or multicast packet"},
		{&ICMPAboutFragment, "about-fragment", "no ICMP error about a non-first fragment"},
		{&ICMPAboutMartian, "about-martian", "no ICMP error to an invalid source address"},
		{&ICMPAboutLocal, "about-local", "no ICMP error about a packet the router originated"},
		{&ICMPRateLimited, "rate-limited", "ICMP error suppressed by the per-worker token bucket"},
		{&ICMPNoSource, "no-source-address", "the receiving interface has no IPv4 address to send the error from"},
		{&ICMPNoRoom, "no-headroom", "no headroom to build the error in place"},
	},
	Trace: traceICMP4Error,
})

// ip4Local handles packets addressed to the router.
//
// ip4-local (RFC 1122 §3.2.2, RFC 1812 §4.3.3):
//   - ICMP echo request: answered in place (addresses swapped, type 0,
//     checksums updated) and routed back.
//   - Other ICMP: consumed (counted). UDP: ICMP port unreachable. TCP:
//     dropped (no TCP service yet). Other protocols: ICMP protocol
//     unreachable. Fragments: dropped (no reassembly).
//   - Next: ip4-lookup, icmp4-error, drop.
func (w *Worker) ip4Local(cfg *Config, in *pkt.Batch) {
	for _, b := range in.B[:in.N] {
		ip := hdr.IPv4(b.L3Bytes())
		if ip.MF() || ip.FragOffset() != 0 {
			w.drop(b, IP4LocalFragment)
			continue
		}
		switch ip.Protocol() {
		case hdr.ProtoICMP:
			p := ip.Payload()
			if len(p) < hdr.ICMPv4Len || hdr.Checksum(p, 0) != 0 {
				w.drop(b, IP4LocalICMPBad)
				continue
			}
			c := hdr.ICMPv4(p)
			if c.Type() != hdr.ICMPv4Echo || c.Code() != 0 {
				w.drop(b, IP4LocalICMPOther)
				continue
			}
			// RFC 792 echo reply: same identifier, sequence and data.
			c.SetType(hdr.ICMPv4EchoReply)
			c.SetChecksum(hdr.Update16(c.Checksum(), uint16(hdr.ICMPv4Echo)<<8, uint16(hdr.ICMPv4EchoReply)<<8))
			src, dst := ip.Src(), ip.Dst()
			ip.SetSrc(dst)
			ip.SetDst(src)
			ip.SetTTL(64)
			ip.SetChecksum(ip.ComputeChecksum())
			b.Flags = pkt.FlagLocal
			b.Dst = src
			w.c.ICMPEchoReplies++
			w.to(StageIP4Lookup, b)
		case hdr.ProtoUDP:
			w.icmp(b, hdr.ICMPv4DestUnreach, hdr.ICMPv4PortUnreach, 0)
		case hdr.ProtoTCP:
			w.drop(b, IP4LocalTCP)
		default:
			w.icmp(b, hdr.ICMPv4DestUnreach, hdr.ICMPv4ProtoUnreach, 0)
		}
	}
	in.N = 0
}

// icmp sends b to icmp4-error, which turns it into the given error.
func (w *Worker) icmp(b *pkt.Buf, typ, code uint8, aux uint32) {
	b.ICMPType, b.ICMPCode, b.Aux = typ, code, aux
	w.to(StageICMP4Error, b)
}

// icmpQuoteMax is how much of the offending datagram an error carries: as
// much as fits in 576 bytes with the new IPv4 and ICMP headers (RFC 1812
// §4.3.2.3).
const icmpQuoteMax = 576 - hdr.IPv4MinLen - hdr.ICMPv4Len

// icmp4Error turns packets into ICMP errors about themselves.
//
// icmp4-error (RFC 792, RFC 1812 §4.3.2):
//   - Never about an ICMP error, a packet received as link-layer broadcast
//     or multicast, a non-first fragment, an invalid source, or a packet
//     the router originated (§4.3.2.7); rate-limited by a token bucket per
//     worker (§4.3.2.8). Each suppression has its own drop reason.
//   - Built in place: the new IPv4 and ICMP headers are written into the
//     28 bytes in front of the offending header (buffers keep headroom for
//     this) and the quote is cut to fit 576 bytes, so no buffer is taken.
//     The source is the primary address of the interface the error is
//     routed out of (RFC 1812 §4.3.2.4).
//   - Next: ip4-lookup (to route the error to the source), drop.
func (w *Worker) icmp4Error(cfg *Config, in *pkt.Batch) {
	refilled := false
	for _, b := range in.B[:in.N] {
		ip := hdr.IPv4(b.L3Bytes())
		switch {
		case b.Flags&pkt.FlagLocal != 0:
			w.drop(b, ICMPAboutLocal)
			continue
		case b.Flags&pkt.FlagL2Multicast != 0:
			w.drop(b, ICMPAboutBroadcast)
			continue
		case ip.FragOffset() != 0:
			w.drop(b, ICMPAboutFragment)
			continue
		}
		if ip.Protocol() == hdr.ProtoICMP {
			if p := ip.Payload(); len(p) == 0 || hdr.ICMPv4(p).IsError() {
				w.drop(b, ICMPAboutICMPError)
				continue
			}
		}
		src := ip.Src()
		if addrClass[src>>24] != classUnicast || src == 0 {
			w.drop(b, ICMPAboutMartian)
			continue
		}
		// Tokens first: under a flood of TTL-expired or unroutable packets
		// the suppressed ones cost no FIB lookup, and the clock is read at
		// most once per call.
		if w.tokens <= 0 && !refilled {
			w.refill(cfg)
			refilled = true
		}
		if w.tokens <= 0 {
			w.drop(b, ICMPRateLimited)
			continue
		}
		// RFC 1812 §4.3.2.4: the source is an address of the interface
		// the error leaves by, so route the error first; when that gives
		// no interface, fall back to the one the packet came in on.
		out := int(b.InPort)
		switch a := &cfg.Adj[cfg.FIB.Lookup(src)]; a.Kind {
		case AdjForward, AdjIncomplete, AdjGlean:
			out = int(a.Iface)
		}
		var from uint32
		if out < len(cfg.Ifaces) {
			from = cfg.Ifaces[out].Addr
		}
		if from == 0 {
			w.drop(b, ICMPNoSource)
			continue
		}
		raw := b.Raw()
		l3 := int(b.Off) + int(b.L3)
		start := l3 - hdr.IPv4MinLen - hdr.ICMPv4Len
		if start < hdr.EthernetLen {
			w.drop(b, ICMPNoRoom)
			continue
		}
		w.tokens--
		quote := min(len(ip), icmpQuoteMax)
		total := hdr.IPv4MinLen + hdr.ICMPv4Len + quote
		nip := hdr.IPv4(raw[start : start+total])
		nip.SetVersionIHL(hdr.IPv4MinLen)
		// RFC 1812 §4.3.2.5: keep the offending datagram's TOS bits, with
		// precedence 6 (internetwork control), as Linux does.
		nip.SetTOS(ip.TOS()&0x1e | 0xc0)
		nip.SetTotalLen(total)
		w.ipID++
		nip.SetID(w.ipID)
		nip.SetFlagsFrag(false, false, 0)
		nip.SetTTL(64)
		nip.SetProtocol(hdr.ProtoICMP)
		nip.SetSrc(from)
		nip.SetDst(src)
		nip.SetChecksum(0)
		nip.SetChecksum(nip.ComputeChecksum())
		msg := raw[start+hdr.IPv4MinLen : start+total]
		c := hdr.ICMPv4(msg)
		c.SetType(b.ICMPType)
		c.SetCode(b.ICMPCode)
		c.SetChecksum(0)
		// Rest of header: zero, or the next-hop MTU (RFC 1191 §4).
		binary.BigEndian.PutUint32(msg[4:8], 0)
		if b.ICMPType == hdr.ICMPv4DestUnreach && b.ICMPCode == hdr.ICMPv4FragNeeded {
			binary.BigEndian.PutUint16(msg[6:8], uint16(b.Aux))
		}
		c.SetChecksum(hdr.Checksum(msg, 0))
		w.c.ICMPErrors[icmpKind(b.ICMPType, b.ICMPCode)]++
		b.Off = uint16(start - hdr.EthernetLen)
		b.L3 = hdr.EthernetLen
		b.Len = uint16(hdr.EthernetLen + total)
		b.Flags = pkt.FlagLocal
		b.Dst = src
		w.to(StageIP4Lookup, b)
	}
	in.N = 0
}

func icmpKind(typ, code uint8) int {
	if typ == hdr.ICMPv4TimeExceeded {
		return ICMPErrTTLExceeded
	}
	switch code {
	case hdr.ICMPv4NetUnreach:
		return ICMPErrNetUnreach
	case hdr.ICMPv4HostUnreach:
		return ICMPErrHostUnreach
	case hdr.ICMPv4ProtoUnreach:
		return ICMPErrProtoUnreach
	case hdr.ICMPv4PortUnreach:
		return ICMPErrPortUnreach
	default:
		return ICMPErrFragNeeded
	}
}

// Trace: ip4-local records the destination and flags; icmp4-error the
// error's type (K), code (A) and its auxiliary value (C: the next-hop
// MTU of fragmentation needed).
var traceIP4Local = NodeTrace{
	Record: recordDst,
	Note: func(_ *Config, _, nx *RawStep, _ bool) string {
		if nx != nil {
			switch nx.Stage {
			case StageIP4Lookup:
				return "ICMP echo request: answered in place with an echo reply to " + IP4String(nx.C)
			case StageICMP4Error:
				return "no service: ICMP " + ICMPName(nx.K, uint8(nx.A))
			}
		}
		return "to the router"
	},
}

var traceICMP4Error = NodeTrace{
	Record: func(_ *Worker, _ *Config, b *pkt.Buf, st *RawStep) {
		st.K, st.A, st.C = b.ICMPType, uint16(b.ICMPCode), b.Aux
	},
	Note: func(_ *Config, st, nx *RawStep, _ bool) string {
		if nx != nil && nx.Stage == StageIP4Lookup {
			s := fmt.Sprintf("ICMP %s built in place, to %s", ICMPName(st.K, uint8(st.A)), IP4String(nx.C))
			if st.K == hdr.ICMPv4DestUnreach && uint8(st.A) == hdr.ICMPv4FragNeeded {
				s += fmt.Sprintf(" (next-hop MTU %d)", st.C)
			}
			return s
		}
		return "ICMP " + ICMPName(st.K, uint8(st.A))
	},
}
