package ip6

import (
	"encoding/binary"
	"fmt"
	"time"

	"github.com/softnet/softnet/dp"
	"github.com/softnet/softnet/hdr"
	"github.com/softnet/softnet/pkt"
)

// ip6-local and icmp6-error: their registration (see dp.Register).
var (
	StageLocal, StageICMPError dp.Stage

	LocalFragment, LocalTCP, LocalICMPBad, LocalICMPOther, LocalNoNext, LocalNoRoom dp.Reason
	ICMPAboutICMPError, ICMPAboutMulticast, ICMPAboutBadSource, ICMPAboutLocal      dp.Reason
	ICMPRateLimited, ICMPNoSource, ICMPNoRoom                                       dp.Reason
)

var _ = dp.Register(dp.Node{
	Name:  "ip6-local",
	Stage: &StageLocal,
	Run:   ip6Local,
	Next:  []string{"nd-input", "icmp6-error", "host-punt", "interface-output", "drop"},
	Back:  []string{"ip6-lookup"},
	Reasons: []dp.ReasonDef{
		{Reason: &LocalFragment, Name: "fragment", Desc: "fragment addressed to the router: no reassembly"},
		{Reason: &LocalTCP, Name: "tcp", Desc: "TCP to the router: no TCP service"},
		{Reason: &LocalICMPBad, Name: "icmp-malformed", Desc: "ICMPv6 to the router is truncated or has a bad checksum"},
		{Reason: &LocalICMPOther, Name: "icmp-consumed", Desc: "ICMPv6 to the router other than echo request and Neighbor Discovery, consumed"},
		{Reason: &LocalNoNext, Name: "no-next-header", Desc: "No Next Header (59) to the router: nothing to deliver"},
		{Reason: &LocalNoRoom, Name: "no-headroom", Desc: "no room for the Ethernet header of a reply to a link-local address"},
	},
	Trace: traceIP6Local,
})

var _ = dp.Register(dp.Node{
	Name:  "icmp6-error",
	Stage: &StageICMPError,
	Run:   icmp6Error,
	State: func(*dp.Worker) any { return new(icmpState) },
	Next:  []string{"interface-output", "drop"},
	Back:  []string{"ip6-lookup"},
	Reasons: []dp.ReasonDef{ // RFC 4443 §2.4
		{Reason: &ICMPAboutICMPError, Name: "about-icmp-error", Desc: "no ICMPv6 error about an ICMPv6 error or redirect (RFC 4443 §2.4 e.1)"},
		{Reason: &ICMPAboutMulticast, Name: "about-multicast", Desc: "no ICMPv6 error about a multicast packet, except packet too big and parameter problem code 2 (RFC 4443 §2.4 e.2, e.3)"},
		{Reason: &ICMPAboutBadSource, Name: "about-bad-source", Desc: "no ICMPv6 error to an unspecified, loopback or multicast source (RFC 4443 §2.4 e.5, e.6)"},
		{Reason: &ICMPAboutLocal, Name: "about-local", Desc: "no ICMPv6 error about a packet the router originated"},
		{Reason: &ICMPRateLimited, Name: "rate-limited", Desc: "ICMPv6 error suppressed by the per-worker token bucket (RFC 4443 §2.4 f)"},
		{Reason: &ICMPNoSource, Name: "no-source-address", Desc: "no source for an error to a global address: the interface it leaves by has only its link-local address and no other interface has a global IPv6 address (add one to its addresses in the config and run softnet reload)"},
		{Reason: &ICMPNoRoom, Name: "no-headroom", Desc: "no headroom to build the error in place"},
	},
	Trace: traceICMP6Error,
})

// Parameter Problem codes (RFC 4443 §3.4, RFC 7112 §5).
const (
	ppErroneousField = 0
	ppUnknownNext    = 1
	ppUnknownOption  = 2
	ppIncompleteHdrs = 3
)

// stageHostPunt is host-punt (package dp/hostpunt), which ip6-local and
// ip6-input hand what a host interface's kernel answers.
var stageHostPunt = dp.Ref("host-punt", new(dp.Stage))

// Host punt classes (dp/hostpunt.Class, named by Ref only).
const (
	hostTCP uint32 = iota
	hostUDP
	hostICMP
	hostOther
	hostMulticast
)

// hostClass says whether the upper layer proto at ip[off:], to one of
// the router's addresses, goes to the host interface, and as what class:
// everything but an echo request, Neighbor Discovery (which the router
// answers) and a truncated or corrupt ICMPv6 message.
func hostClass(proto uint8, ip []byte, off int) (uint32, bool) {
	switch proto {
	case hdr.ProtoTCP:
		return hostTCP, true
	case hdr.ProtoUDP:
		return hostUDP, true
	case hdr.ProtoNoNext:
		return 0, false
	case hdr.ProtoICMPv6:
		p := ip[off:]
		if len(p) < hdr.ICMPv6Len || hdr.Checksum(p, hdr.PseudoSumIPv6(ip[8:24], ip[24:40], hdr.ProtoICMPv6, uint32(len(p)))) != 0 {
			return 0, false
		}
		c := hdr.ICMPv6(p)
		if c.Type()-hdr.ICMPv6RouterSolicit < 5 || c.Type() == hdr.ICMPv6EchoRequest && c.Code() == 0 {
			return 0, false
		}
		return hostICMP, true
	}
	return hostOther, true
}

// icmp sends b to icmp6-error, which turns it into the given error (aux:
// the MTU of Packet Too Big, the pointer of Parameter Problem).
func icmp(w *dp.Worker, b *pkt.Buf, typ, code uint8, aux uint32) {
	b.ICMPType, b.ICMPCode, b.Aux = typ, code, aux
	w.To(StageICMPError, b)
}

func paramProblem(w *dp.Worker, b *pkt.Buf, code uint8, ptr uint32) {
	icmp(w, b, hdr.ICMPv6ParamProblem, code, ptr)
}

// ip6Local handles packets addressed to the router.
//
// ip6-local (RFC 8200 §4, RFC 4443 §4):
//   - Walks the extension headers: a Routing header with Segments Left >
//     0 gets Parameter Problem code 0 pointing at its Routing Type (type 0
//     is deprecated, RFC 5095, and no other type is implemented); a
//     fragment is dropped (no reassembly).
//   - ICMPv6 echo request: answered in place (addresses swapped, type 129,
//     checksum updated) and routed back; to a link-local source it goes
//     straight back out of the receiving interface to the sender's MAC.
//   - Neighbor Discovery (directly after the IPv6 header): nd-input.
//     Other ICMPv6: consumed (counted). UDP: Destination Unreachable code
//     4 (port). TCP: dropped. Another upper layer: Parameter Problem code 1
//     pointing at the Next Header field that names it.
//   - Received on an interface with a host interface (dp.Iface.Host,
//     linux_cp): TCP, UDP, ICMPv6 other than echo request and Neighbor
//     Discovery, other upper layers (OSPFv3's 89) and fragments go to
//     host-punt instead, for the kernel and its daemons to answer.
//   - Next: ip6-lookup, nd-input, icmp6-error, host-punt, interface-output, drop.
func ip6Local(w *dp.Worker, cfg *dp.Config, in *pkt.Batch) {
	for _, x := range in.B[:in.N] {
		b := pkt.At(x)
		ip := b.L3Bytes()
		proto, prev, off := ip[6], 6, hdr.IPv6Len
		ok := true
		host := int(b.InPort) < len(cfg.Ifaces) && cfg.Ifaces[b.InPort].Host && b.Flags&pkt.FlagLocal == 0
		for n := 0; ok && isExt(proto) && n < hdr.MaxExtHeaders; n++ {
			switch proto {
			case hdr.ProtoFragment:
				if host {
					b.Aux = hostOther // the kernel reassembles
					w.To(*stageHostPunt, b)
					ok = false
					continue
				}
				w.Drop(b, LocalFragment)
				ok = false
				continue
			case hdr.ProtoRouting:
				if ip[off+3] != 0 { // Segments Left (ip6-input checked the length)
					paramProblem(w, b, ppErroneousField, uint32(off+2))
					ok = false
					continue
				}
			}
			hl := (int(ip[off+1]) + 1) << 3
			if proto == hdr.ProtoAH {
				hl = (int(ip[off+1]) + 2) << 2
			}
			prev, proto = off, ip[off]
			off += hl
		}
		if !ok {
			continue
		}
		if host {
			if cl, ok := hostClass(proto, ip, off); ok {
				b.Aux = cl
				w.To(*stageHostPunt, b)
				continue
			}
		}
		switch proto {
		case hdr.ProtoICMPv6:
			p := ip[off:]
			if len(p) < hdr.ICMPv6Len || hdr.Checksum(p, hdr.PseudoSumIPv6(ip[8:24], ip[24:40], hdr.ProtoICMPv6, uint32(len(p)))) != 0 {
				w.Drop(b, LocalICMPBad)
				continue
			}
			c := hdr.ICMPv6(p)
			if c.Type()-hdr.ICMPv6RouterSolicit < 5 && off == hdr.IPv6Len {
				// Neighbor Discovery unicast to a global address
				// of the router (a host's probe, RFC 4861 §7.3.3).
				w.To(*stageNDInput, b)
				continue
			}
			if c.Type() != hdr.ICMPv6EchoRequest || c.Code() != 0 {
				w.Drop(b, LocalICMPOther)
				continue
			}
			// RFC 4443 §4.2: same identifier, sequence and data; the
			// pseudo-header sum does not change when the addresses swap.
			c.SetType(hdr.ICMPv6EchoReply)
			c.SetChecksum(hdr.Update16(c.Checksum(), uint16(hdr.ICMPv6EchoRequest)<<8, uint16(hdr.ICMPv6EchoReply)<<8))
			var src [16]byte
			copy(src[:], ip[8:24])
			copy(ip[8:24], ip[24:40])
			copy(ip[24:40], src[:])
			ip[7] = 64
			b.Flags = pkt.FlagLocal
			b.Dst = src
			w.Stats().ICMPEchoReplies++
			if isLinkLocal(src[:]) {
				// Back to the sender on the link it came from: its
				// MAC is the frame's source.
				raw := b.Raw()
				var mac [6]byte
				copy(mac[:], raw[int(b.Off)+6:int(b.Off)+12])
				if !reflect(w, cfg, b, int(b.Off)+int(b.L3), len(ip), mac) {
					w.Drop(b, LocalNoRoom)
				}
				continue
			}
			w.To(StageLookup, b)
		case hdr.ProtoUDP:
			icmp(w, b, hdr.ICMPv6DestUnreach, hdr.ICMPv6PortUnreach, 0)
		case hdr.ProtoTCP:
			w.Drop(b, LocalTCP)
		case hdr.ProtoNoNext:
			w.Drop(b, LocalNoNext)
		default:
			paramProblem(w, b, ppUnknownNext, uint32(prev))
		}
	}
	in.N = 0
}

// reflect sends the l3len-byte IPv6 packet at raw offset l3 straight back
// out of the interface b came in on, to mac: how the router answers a
// link-local address, which no route leads to. It writes the Ethernet
// header (with the interface's VLAN tags) in front and hands b to
// interface-output; false if there is no room.
func reflect(w *dp.Worker, cfg *dp.Config, b *pkt.Buf, l3, l3len int, mac [6]byte) bool {
	if int(b.InPort) >= len(cfg.Ifaces) {
		return false
	}
	ifc := &cfg.Ifaces[b.InPort]
	l2 := hdr.EthernetLen + int(ifc.TagLen)
	start := l3 - l2
	if start < 0 {
		return false
	}
	raw := b.Raw()
	copy(raw[start:start+6], mac[:])
	copy(raw[start+6:start+12], ifc.MAC[:])
	copy(raw[start+12:l3-2], ifc.TagBytes())
	binary.BigEndian.PutUint16(raw[l3-2:l3], hdr.EtherTypeIPv6)
	b.Off, b.L3, b.Len = uint16(start), uint16(l2), uint16(l2+l3len)
	b.OutPort = b.InPort
	w.To(dp.StageInterfaceOutput, b)
	return true
}

// icmpQuoteMax is how much of the offending packet an error carries: as
// much as fits in the IPv6 minimum MTU with the new IPv6 and ICMPv6
// headers (RFC 4443 §2.4 c).
const icmpQuoteMax = minMTU - hdr.IPv6Len - hdr.ICMPv6Len

// icmp6Error turns packets into ICMPv6 errors about themselves.
//
// icmp6-error (RFC 4443 §2.4):
//   - Never about an ICMPv6 error or a Redirect, a packet the router
//     originated, an unspecified, loopback or multicast source, or a
//     multicast destination (or link-layer multicast) except Packet Too
//     Big and Parameter Problem code 2; rate-limited by a token bucket
//     per worker, as icmp4-error. Each suppression has its own reason.
//   - Built in place: the new IPv6 and ICMPv6 headers go into the 48
//     bytes in front of the offending header and the quote is cut so the
//     error fits 1280 bytes. The source is chosen by errorSource (RFC
//     4443 §2.2): the router's address the packet was sent to, else a
//     global address of the interface the error leaves by, else its
//     link-local address (to a link-local destination) or another
//     interface's global address; the checksum covers the pseudo-header.
//   - Next: ip6-lookup (routed to the source); interface-output for a
//     link-local source, sent straight back to the sender's MAC; drop.
func icmp6Error(w *dp.Worker, cfg *dp.Config, in *pkt.Batch) {
	st := w.State(StageICMPError).(*icmpState)
	refilled := false
	for _, x := range in.B[:in.N] {
		b := pkt.At(x)
		ip := b.L3Bytes()
		if b.Flags&pkt.FlagLocal != 0 {
			w.Drop(b, ICMPAboutLocal)
			continue
		}
		src := ip[8:24]
		if isMulticast(src) || isUnspecified(src) || isLoopback(src) {
			w.Drop(b, ICMPAboutBadSource)
			continue
		}
		if (isMulticast(ip[24:40]) || b.Flags&pkt.FlagL2Multicast != 0) &&
			b.ICMPType != hdr.ICMPv6PacketTooBig && !(b.ICMPType == hdr.ICMPv6ParamProblem && b.ICMPCode == ppUnknownOption) {
			w.Drop(b, ICMPAboutMulticast)
			continue
		}
		if proto, off, _, fo, s := hdr.IPv6(ip).Transport(); s == hdr.OK && fo == 0 && proto == hdr.ProtoICMPv6 && off < len(ip) {
			if t := ip[off]; t < 128 || t == hdr.ICMPv6Redirect {
				w.Drop(b, ICMPAboutICMPError)
				continue
			}
		}
		if st.tokens <= 0 && !refilled {
			st.refill(cfg)
			refilled = true
		}
		if st.tokens <= 0 {
			w.Drop(b, ICMPRateLimited)
			continue
		}
		var to [16]byte
		copy(to[:], src)
		local := isLinkLocal(to[:])
		out := int(b.InPort)
		if !local && cfg.FIB6 != nil {
			switch a := &cfg.Adj[cfg.FIB6.Lookup(to)]; a.Kind {
			case dp.AdjForward, dp.AdjIncomplete, dp.AdjGlean:
				out = int(a.Iface)
			}
		}
		from := errorSource(cfg, int(b.InPort), ip, out, local)
		if isUnspecified(from[:]) {
			w.Drop(b, ICMPNoSource)
			continue
		}
		raw := b.Raw()
		var mac [6]byte
		copy(mac[:], raw[int(b.Off)+6:int(b.Off)+12]) // before the headers overwrite it
		l3 := int(b.Off) + int(b.L3)
		start := l3 - hdr.IPv6Len - hdr.ICMPv6Len
		if start < hdr.EthernetLen+dp.TagLen*2 {
			w.Drop(b, ICMPNoRoom)
			continue
		}
		st.tokens--
		quote := min(len(ip), icmpQuoteMax)
		total := hdr.IPv6Len + hdr.ICMPv6Len + quote
		nip := hdr.IPv6(raw[start : start+total])
		nip.SetVersionClassFlow(0, 0)
		nip.SetPayloadLen(hdr.ICMPv6Len + quote)
		nip.SetNextHeader(hdr.ProtoICMPv6)
		nip.SetHopLimit(64)
		copy(nip.Src(), from[:])
		copy(nip.Dst(), to[:])
		msg := raw[start+hdr.IPv6Len : start+total]
		c := hdr.ICMPv6(msg)
		c.SetType(b.ICMPType)
		c.SetCode(b.ICMPCode)
		c.SetChecksum(0)
		binary.BigEndian.PutUint32(msg[4:8], b.Aux) // MTU, pointer or unused (0)
		c.SetChecksum(hdr.Checksum(msg, hdr.PseudoSumIPv6(from[:], to[:], hdr.ProtoICMPv6, uint32(len(msg)))))
		b.Flags = pkt.FlagLocal
		b.Dst = to
		if local {
			if !reflect(w, cfg, b, start, total, mac) {
				w.Drop(b, ICMPNoRoom)
			}
			continue
		}
		b.Off = uint16(start - hdr.EthernetLen)
		b.L3 = hdr.EthernetLen
		b.Len = uint16(hdr.EthernetLen + total)
		w.To(StageLookup, b)
	}
	in.N = 0
}

// errorSource picks the source address of an ICMPv6 error about ip,
// received on interface in, that leaves by interface out (RFC 4443 §2.2,
// with RFC 6724's scope rule):
//  1. ip was sent to a unicast address of the router (a global one, or
//     the receiving interface's link-local one): that address (§2.2 a).
//  2. Else the first global (not link-local) IPv6 address of out.
//  3. Else, to a link-local destination (the error stays on the link):
//     out's link-local address (Iface.LinkLocal), which every interface
//     has, so an interface with no IPv6 address configured still reports
//     errors to its link's hosts.
//  4. Else (a global destination, and out has only its link-local
//     address, which must not leave the link): the first global IPv6
//     address of the router's other interfaces, in interface order.
//  5. None: the zero address (icmp6-error drops the error,
//     no-source-address).
//
// Error path only (rate-limited): one FIB lookup and a walk of the
// interfaces' addresses, no allocation.
func errorSource(cfg *dp.Config, in int, ip []byte, out int, toLinkLocal bool) [16]byte {
	dst := [16]byte(ip[24:40])
	if !isMulticast(dst[:]) && !isUnspecified(dst[:]) {
		if isLinkLocal(dst[:]) {
			if in < len(cfg.Ifaces) && dst == cfg.Ifaces[in].LinkLocal {
				return dst
			}
		} else if cfg.FIB6 != nil && cfg.Adj[cfg.FIB6.Lookup(dst)].Kind == dp.AdjLocal {
			return dst
		}
	}
	if out >= len(cfg.Ifaces) {
		return [16]byte{}
	}
	if a, ok := globalAddr(&cfg.Ifaces[out]); ok {
		return a
	}
	if toLinkLocal {
		return cfg.Ifaces[out].LinkLocal
	}
	for i := range cfg.Ifaces {
		if a, ok := globalAddr(&cfg.Ifaces[i]); ok {
			return a
		}
	}
	return [16]byte{}
}

// globalAddr returns ifc's first IPv6 address that is not link-local.
func globalAddr(ifc *dp.Iface) ([16]byte, bool) {
	if a := ifc.Addr6; !isUnspecified(a[:]) && !isLinkLocal(a[:]) {
		return a, true // the usual case: the primary address
	}
	for _, a := range ifc.Addrs {
		if !a.Is4() && !isLinkLocal(a.Addr[:]) {
			return a.Addr, true
		}
	}
	return [16]byte{}, false
}

// icmpState is icmp6-error's per-worker state: the token bucket (RFC 4443
// §2.4 f), refilled as icmp4-error's.
type icmpState struct {
	tokens     int
	lastRefill int64
}

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

// icmp6Name names an ICMPv6 error type and code for traces.
func icmp6Name(typ, code uint8) string {
	switch typ {
	case hdr.ICMPv6DestUnreach:
		switch code {
		case hdr.ICMPv6NoRoute:
			return "destination unreachable (no route)"
		case codeBeyondScope:
			return "destination unreachable (beyond scope of source address)"
		case hdr.ICMPv6AddrUnreach:
			return "destination unreachable (address)"
		case hdr.ICMPv6PortUnreach:
			return "destination unreachable (port)"
		}
	case hdr.ICMPv6PacketTooBig:
		return "packet too big"
	case hdr.ICMPv6TimeExceeded:
		return "time exceeded (hop limit)"
	case hdr.ICMPv6ParamProblem:
		return fmt.Sprintf("parameter problem code %d", code)
	}
	return fmt.Sprintf("type %d code %d", typ, code)
}

var traceIP6Local = dp.NodeTrace{
	Note: func(_ *dp.Config, _, nx *dp.RawStep, _ bool) string {
		if nx != nil {
			switch nx.Stage {
			case StageLookup, dp.StageInterfaceOutput:
				return "ICMPv6 echo request: answered in place with an echo reply"
			case StageICMPError:
				return "to the router: ICMPv6 " + icmp6Name(nx.K, uint8(nx.A))
			}
		}
		return "to the router"
	},
}

var traceICMP6Error = dp.NodeTrace{
	Record: func(_ *dp.Worker, _ *dp.Config, b *pkt.Buf, st *dp.RawStep) {
		st.K, st.A, st.C = b.ICMPType, uint16(b.ICMPCode), b.Aux
	},
	Note: func(_ *dp.Config, st, nx *dp.RawStep, _ bool) string {
		s := "ICMPv6 " + icmp6Name(st.K, uint8(st.A))
		switch st.K {
		case hdr.ICMPv6PacketTooBig:
			s += fmt.Sprintf(" (MTU %d)", st.C)
		case hdr.ICMPv6ParamProblem:
			s += fmt.Sprintf(" (pointer %d)", st.C)
		}
		if nx != nil {
			s += " built in place"
		}
		return s
	},
}
