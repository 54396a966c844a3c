package ip4

import (
	"time"

	"encoding/binary"
	"fmt"

	"github.com/softnet/softnet/dp"
	"github.com/softnet/softnet/hdr"
	"github.com/softnet/softnet/pkt"
)

// ip4-local and icmp4-error: their registration (see dp.Register).
var (
	StageLocal, StageICMPError dp.Stage

	LocalFragment, LocalTCP, LocalICMPBad, LocalICMPOther                       dp.Reason
	ICMPAboutICMPError, ICMPAboutBroadcast, ICMPAboutFragment, ICMPAboutMartian dp.Reason
	ICMPAboutLocal, ICMPRateLimited, ICMPNoSource, ICMPNoRoom                   dp.Reason
)

var _ = dp.Register(dp.Node{
	Name:  "ip4-local",
	Stage: &StageLocal,
	Run:   ip4Local,
	Next:  []string{"icmp4-error", "host-punt", "drop"},
	Back:  []string{"ip4-lookup"},
	Reasons: []dp.ReasonDef{
		{Reason: &LocalFragment, Name: "fragment", Desc: "fragment addressed to the router: no reassembly"},
		{Reason: &LocalTCP, Name: "tcp", Desc: "TCP to the router: no TCP service"},
		{Reason: &LocalICMPBad, Name: "icmp-malformed", Desc: "ICMP to the router is truncated or has a bad checksum"},
		{Reason: &LocalICMPOther, Name: "icmp-consumed", Desc: "ICMP to the router other than echo request, consumed"},
	},
	Trace: traceIP4Local,
})

var _ = dp.Register(dp.Node{
	Name:  "icmp4-error",
	Stage: &StageICMPError,
	Run:   icmp4Error,
	State: func(*dp.Worker) any { return new(icmpState) },
	Next:  []string{"drop"},
	Back:  []string{"ip4-lookup"},
	Reasons: []dp.ReasonDef{ // RFC 1812 §4.3.2.7
		{Reason: &ICMPAboutICMPError, Name: "about-icmp-error", Desc: "no ICMP error about an ICMP error (RFC 1812 §4.3.2.7)"},
		{Reason: &ICMPAboutBroadcast, Name: "about-broadcast", Desc: "no ICMP error about a broadcast or multicast packet"},
		{Reason: &ICMPAboutFragment, Name: "about-fragment", Desc: "no ICMP error about a non-first fragment"},
		{Reason: &ICMPAboutMartian, Name: "about-martian", Desc: "no ICMP error to an invalid source address"},
		{Reason: &ICMPAboutLocal, Name: "about-local", Desc: "no ICMP error about a packet the router originated"},
		{Reason: &ICMPRateLimited, Name: "rate-limited", Desc: "ICMP error suppressed by the per-worker token bucket"},
		{Reason: &ICMPNoSource, Name: "no-source-address", Desc: "the receiving interface has no IPv4 address to send the error from"},
		{Reason: &ICMPNoRoom, Name: "no-headroom", Desc: "no headroom to build the error in place"},
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
//   - Received on an interface with a host interface (dp.Iface.Host,
//     linux_cp): TCP, UDP, other ICMP and other protocols (OSPF's 89)
//     go to host-punt instead, for the kernel and its daemons to answer;
//     so do fragments (the kernel reassembles). Echo requests are still
//     answered here.
//   - Next: ip4-lookup, icmp4-error, host-punt, drop.
func ip4Local(w *dp.Worker, cfg *dp.Config, in *pkt.Batch) {
	for _, x := range in.B[:in.N] {
		b := pkt.At(x)
		ip := hdr.IPv4(b.L3Bytes())
		if int(b.InPort) < len(cfg.Ifaces) && cfg.Ifaces[b.InPort].Host && b.Flags&pkt.FlagLocal == 0 {
			if cl, ok := hostClass(ip); ok {
				b.Aux = cl
				w.To(*stageHostPunt, b)
				continue
			}
		}
		if ip.MF() || ip.FragOffset() != 0 {
			w.Drop(b, LocalFragment)
			continue
		}
		switch ip.Protocol() {
		case hdr.ProtoICMP:
			p := ip.Payload()
			if len(p) < hdr.ICMPv4Len || hdr.Checksum(p, 0) != 0 {
				w.Drop(b, LocalICMPBad)
				continue
			}
			c := hdr.ICMPv4(p)
			if c.Type() != hdr.ICMPv4Echo || c.Code() != 0 {
				w.Drop(b, LocalICMPOther)
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
			b.SetDst4(src)
			w.Stats().ICMPEchoReplies++
			w.To(StageLookup, b)
		case hdr.ProtoUDP:
			icmp(w, b, hdr.ICMPv4DestUnreach, hdr.ICMPv4PortUnreach, 0)
		case hdr.ProtoTCP:
			w.Drop(b, LocalTCP)
		default:
			icmp(w, b, hdr.ICMPv4DestUnreach, hdr.ICMPv4ProtoUnreach, 0)
		}
	}
	in.N = 0
}

// stageHostPunt is host-punt (package dp/hostpunt), which ip4-local and
// ip4-input hand what a host interface's kernel answers.
var stageHostPunt = dp.Ref("host-punt", new(dp.Stage))

// Host punt classes (dp/hostpunt.Class, which this package does not
// import: its nodes name others by Ref only).
const (
	hostTCP uint32 = iota
	hostUDP
	hostICMP
	hostOther
	hostMulticast
)

// hostClass says whether ip, to one of the router's addresses, goes to
// the host interface, and as what class: everything but an echo request
// (which ip4-local answers) and a truncated or corrupt ICMP message.
func hostClass(ip hdr.IPv4) (uint32, bool) {
	switch ip.Protocol() {
	case hdr.ProtoTCP:
		return hostTCP, true
	case hdr.ProtoUDP:
		return hostUDP, true
	case hdr.ProtoICMP:
		if ip.MF() || ip.FragOffset() != 0 {
			return hostICMP, true
		}
		p := ip.Payload()
		if len(p) < hdr.ICMPv4Len || hdr.Checksum(p, 0) != 0 {
			return 0, false
		}
		if c := hdr.ICMPv4(p); c.Type() == hdr.ICMPv4Echo && c.Code() == 0 {
			return 0, false
		}
		return hostICMP, true
	}
	return hostOther, true
}

// icmp sends b to icmp4-error, which turns it into the given error.
func icmp(w *dp.Worker, b *pkt.Buf, typ, code uint8, aux uint32) {
	b.ICMPType, b.ICMPCode, b.Aux = typ, code, aux
	w.To(StageICMPError, b)
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
func icmp4Error(w *dp.Worker, cfg *dp.Config, in *pkt.Batch) {
	st := w.State(StageICMPError).(*icmpState)
	refilled := false
	for _, x := range in.B[:in.N] {
		b := pkt.At(x)
		ip := hdr.IPv4(b.L3Bytes())
		switch {
		case b.Flags&pkt.FlagLocal != 0:
			w.Drop(b, ICMPAboutLocal)
			continue
		case b.Flags&pkt.FlagL2Multicast != 0:
			w.Drop(b, ICMPAboutBroadcast)
			continue
		case ip.FragOffset() != 0:
			w.Drop(b, ICMPAboutFragment)
			continue
		}
		if ip.Protocol() == hdr.ProtoICMP {
			if p := ip.Payload(); len(p) == 0 || hdr.ICMPv4(p).IsError() {
				w.Drop(b, ICMPAboutICMPError)
				continue
			}
		}
		src := ip.Src()
		if addrClass[src>>24] != classUnicast || src == 0 {
			w.Drop(b, ICMPAboutMartian)
			continue
		}
		// Tokens first: under a flood of TTL-expired or unroutable packets
		// the suppressed ones cost no FIB lookup, and the clock is read at
		// most once per call.
		if st.tokens <= 0 && !refilled {
			st.refill(cfg)
			refilled = true
		}
		if st.tokens <= 0 {
			w.Drop(b, ICMPRateLimited)
			continue
		}
		// RFC 1812 §4.3.2.4: the source is an address of the interface
		// the error leaves by, so route the error first; when that gives
		// no interface, fall back to the one the packet came in on.
		out := int(b.InPort)
		switch a := &cfg.Adj[cfg.FIB.Lookup(src)]; a.Kind {
		case dp.AdjForward, dp.AdjIncomplete, dp.AdjGlean:
			out = int(a.Iface)
		}
		var from uint32
		if out < len(cfg.Ifaces) {
			from = cfg.Ifaces[out].Addr4
		}
		if from == 0 {
			w.Drop(b, ICMPNoSource)
			continue
		}
		raw := b.Raw()
		l3 := int(b.Off) + int(b.L3)
		start := l3 - hdr.IPv4MinLen - hdr.ICMPv4Len
		if start < hdr.EthernetLen {
			w.Drop(b, ICMPNoRoom)
			continue
		}
		st.tokens--
		quote := min(len(ip), icmpQuoteMax)
		total := hdr.IPv4MinLen + hdr.ICMPv4Len + quote
		nip := hdr.IPv4(raw[start : start+total])
		nip.SetVersionIHL(hdr.IPv4MinLen)
		// RFC 1812 §4.3.2.5: keep the offending datagram's TOS bits, with
		// precedence 6 (internetwork control), as Linux does.
		nip.SetTOS(ip.TOS()&0x1e | 0xc0)
		nip.SetTotalLen(total)
		st.ipID++
		nip.SetID(st.ipID)
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
		w.Stats().ICMPErrors[icmpKind(b.ICMPType, b.ICMPCode)]++
		b.Off = uint16(start - hdr.EthernetLen)
		b.L3 = hdr.EthernetLen
		b.Len = uint16(hdr.EthernetLen + total)
		b.Flags = pkt.FlagLocal
		b.SetDst4(src)
		w.To(StageLookup, b)
	}
	in.N = 0
}

// icmpState is icmp4-error's per-worker state: the ICMP error token
// bucket (RFC 1812 §4.3.2.8: rate-limit errors) and the IP ID of the
// errors it builds.
type icmpState struct {
	tokens     int
	lastRefill int64
	ipID       uint16
}

// refill tops up the ICMP token bucket. icmp4-error calls it at most once
// per call and only when the bucket is empty, so the clock is read on the
// error path alone. The remainder of a partial token is kept (lastRefill
// advances by the time the added tokens stand for), and a long quiet
// spell simply refills the bucket, so the arithmetic cannot overflow.
func (st *icmpState) refill(cfg *dp.Config) {
	now := time.Now().UnixNano()
	rate := int64(max(cfg.ICMPRate, 1))
	if st.lastRefill == 0 || now-st.lastRefill >= int64(cfg.ICMPBurst)*1e9/rate {
		st.lastRefill, st.tokens = now, cfg.ICMPBurst
		return
	}
	if add := (now - st.lastRefill) * rate / 1e9; add > 0 {
		st.tokens = min(st.tokens+int(add), cfg.ICMPBurst)
		st.lastRefill += add * 1e9 / rate
	}
}

func icmpKind(typ, code uint8) int {
	if typ == hdr.ICMPv4TimeExceeded {
		return dp.ICMPErrTTLExceeded
	}
	switch code {
	case hdr.ICMPv4NetUnreach:
		return dp.ICMPErrNetUnreach
	case hdr.ICMPv4HostUnreach:
		return dp.ICMPErrHostUnreach
	case hdr.ICMPv4ProtoUnreach:
		return dp.ICMPErrProtoUnreach
	case hdr.ICMPv4PortUnreach:
		return dp.ICMPErrPortUnreach
	default:
		return dp.ICMPErrFragNeeded
	}
}

// Trace: ip4-local records the destination and flags; icmp4-error the
// error's type (K), code (A) and its auxiliary value (C: the next-hop
// MTU of fragmentation needed).
var traceIP4Local = dp.NodeTrace{
	Record: recordDst,
	Note: func(_ *dp.Config, _, nx *dp.RawStep, _ bool) string {
		if nx != nil {
			switch nx.Stage {
			case StageLookup:
				return "ICMP echo request: answered in place with an echo reply to " + dp.IP4String(nx.C)
			case StageICMPError:
				return "no service: ICMP " + dp.ICMPName(nx.K, uint8(nx.A))
			}
		}
		return "to the router"
	},
}

var traceICMP4Error = dp.NodeTrace{
	Record: func(_ *dp.Worker, _ *dp.Config, b *pkt.Buf, st *dp.RawStep) {
		st.K, st.A, st.C = b.ICMPType, uint16(b.ICMPCode), b.Aux
	},
	Note: func(_ *dp.Config, st, nx *dp.RawStep, _ bool) string {
		if nx != nil && nx.Stage == StageLookup {
			s := fmt.Sprintf("ICMP %s built in place, to %s", dp.ICMPName(st.K, uint8(st.A)), dp.IP4String(nx.C))
			if st.K == hdr.ICMPv4DestUnreach && uint8(st.A) == hdr.ICMPv4FragNeeded {
				s += fmt.Sprintf(" (next-hop MTU %d)", st.C)
			}
			return s
		}
		return "ICMP " + dp.ICMPName(st.K, uint8(st.A))
	},
}
