package ip6

import (
	"fmt"

	"github.com/softnet/softnet/dp"
	"github.com/softnet/softnet/hdr"
	"github.com/softnet/softnet/pkt"
)

// ip6-input, ip6-lookup and ip6-rewrite: their registration (see
// dp.Register).
var (
	StageInput, StageLookup, StageRewrite dp.Stage

	TooShort, BadVersion, BadPayloadLen, MartianSource, MartianDest dp.Reason
	Multicast, TooManyExt, BadExt, OptionDiscard                    dp.Reason
	NoRoute, L2Multicast, Blackhole, NoRoom                         dp.Reason
	PuntQueueFull, ResolveLoop                                      dp.Reason
)

// ArcUnicast is the ip6-unicast feature arc: IPv6 packets ip6-input
// accepted, before ip6-lookup, by receiving interface (dp/filter's
// ip6-filter runs on it); packets the router makes or answers do not
// take it.
var ArcUnicast = dp.DefineArc("ip6-unicast", "ip6-lookup", false)

// stageNDInput is nd-input (package dp/nd), which ip6-input hands
// Neighbor Discovery messages to.
var stageNDInput = dp.Ref("nd-input", new(dp.Stage))

var _ = dp.Register(dp.Node{
	Name:  "ip6-input",
	Stage: &StageInput,
	Run:   ip6Input,
	Next:  []string{"ip6-lookup", "nd-input", "icmp6-error", "host-punt", "drop"},
	Reasons: []dp.ReasonDef{ // RFC 8200 §3, §4; RFC 4291 §2.5
		{Reason: &TooShort, Name: "too-short", Desc: "shorter than an IPv6 header (40 bytes)"},
		{Reason: &BadVersion, Name: "bad-version", Desc: "IP version is not 6"},
		{Reason: &BadPayloadLen, Name: "bad-payload-length", Desc: "payload length above the bytes received"},
		{Reason: &MartianSource, Name: "martian-source", Desc: "source is unspecified (::), loopback (::1) or multicast (RFC 4291 §2.5.2, §2.5.3, §2.7)"},
		{Reason: &MartianDest, Name: "martian-destination", Desc: "destination is unspecified (::) or loopback (::1) (RFC 4291 §2.5.2, §2.5.3)"},
		{Reason: &Multicast, Name: "multicast", Desc: "multicast destination other than Neighbor Discovery: no multicast routing"},
		{Reason: &TooManyExt, Name: "too-many-ext-headers", Desc: "more extension headers than the walk's bound (hdr.MaxExtHeaders)"},
		{Reason: &BadExt, Name: "bad-ext-header", Desc: "an extension header or option runs past the end of the packet"},
		{Reason: &OptionDiscard, Name: "option-discard", Desc: "unrecognised hop-by-hop option whose action bits say discard (RFC 8200 §4.2)"},
	},
	Trace: traceIP6Input,
})

var _ = dp.Register(dp.Node{
	Name:  "ip6-lookup",
	Stage: &StageLookup,
	Run:   ip6Lookup,
	State: func(*dp.Worker) any { return new(lookupState) },
	// Packets the control plane gives back after Neighbor Discovery
	// resolved (or failed to resolve) their next hop are routed again
	// from here.
	Inject:     injectLookup,
	InjectKind: dp.InjectLookup6,
	Next:       []string{"ip6-local", "ip6-rewrite", "icmp6-error", "drop"},
	Reasons: []dp.ReasonDef{
		{Reason: &NoRoute, Name: "no-route", Desc: "no route for a packet the router originated"},
		{Reason: &L2Multicast, Name: "l2-multicast", Desc: "received as link-layer broadcast or multicast: not forwarded"},
		{Reason: &Blackhole, Name: "blackhole", Desc: "route to a blackhole next hop"},
	},
	Trace: traceIP6Lookup,
})

var _ = dp.Register(dp.Node{
	Name:  "ip6-rewrite",
	Stage: &StageRewrite,
	Run:   ip6Rewrite,
	Next:  []string{"interface-output", "ip6-nd", "icmp6-error", "drop"},
	Reasons: []dp.ReasonDef{
		{Reason: &NoRoom, Name: "no-headroom", Desc: "no headroom to write the Ethernet header"},
	},
	Trace: traceIP6Rewrite,
})

var _ = dp.Register(dp.Node{
	Name:  "ip6-nd",
	Stage: &StageND,
	Run:   ip6ND,
	Next:  []string{"drop"},
	Reasons: []dp.ReasonDef{
		{Reason: &PuntQueueFull, Name: "punt-queue-full", Desc: "the queue to the control plane (Neighbor Discovery) is full"},
		{Reason: &ResolveLoop, Name: "resolve-loop", Desc: "a packet released after Neighbor Discovery needed resolving again (no host route): dropped, not re-punted"},
	},
	Trace: traceIP6ND,
})

// StageND is ip6-nd's stage.
var StageND dp.Stage

// Address tests (RFC 4291 §2.4). a is 16 bytes in network byte order.

func isUnspecified(a []byte) bool {
	a = a[:16]
	for _, c := range a {
		if c != 0 {
			return false
		}
	}
	return true
}

func isLoopback(a []byte) bool {
	a = a[:16]
	for _, c := range a[:15] {
		if c != 0 {
			return false
		}
	}
	return a[15] == 1
}

func isMulticast(a []byte) bool { return a[0] == 0xff }

// joined reports whether multicast address a is a group the router is a
// member of on every interface: all nodes (ff02::1), all routers
// (ff02::2) or a solicited-node group (ff02::1:ff00:0/104, RFC 4291
// §2.7.1).
func joined(a []byte) bool {
	if a[1] != 0x02 || a[2]|a[3]|a[4]|a[5]|a[6]|a[7]|a[8]|a[9]|a[10] != 0 {
		return false
	}
	if a[11] == 1 && a[12] == 0xff {
		return true
	}
	return a[11]|a[12]|a[13]|a[14] == 0 && (a[15] == 1 || a[15] == 2)
}

// isLinkLocal reports fe80::/10.
func isLinkLocal(a []byte) bool { return a[0] == 0xfe && a[1]&0xc0 == 0x80 }

// isExt reports whether p is an extension header type the walk follows.
func isExt(p uint8) bool {
	switch p {
	case hdr.ProtoHopByHop, hdr.ProtoRouting, hdr.ProtoDestOpts, hdr.ProtoFragment, hdr.ProtoAH:
		return true
	}
	return false
}

// ip6Input validates IPv6 headers.
//
// ip6-input (RFC 8200 §3, §4; RFC 4291; RFC 7112):
//   - Drops a packet shorter than 40 bytes, with version not 6 or a
//     payload length above the bytes received; trims Ethernet padding.
//   - Drops unspecified, loopback and multicast sources, unspecified and
//     loopback destinations, and multicast destinations (no multicast
//     routing; Neighbor Discovery goes to nd-input first), after
//     processing the Hop-by-Hop options of those to a group the router
//     is a member of (joined).
//   - Walks the extension header chain (at most hdr.MaxExtHeaders): a
//     Hop-by-Hop header anywhere but first gets Parameter Problem code 1
//     pointing at the Next Header field that names it; Hop-by-Hop options
//     are processed, unrecognised ones by their two action bits (skip,
//     discard, discard with Parameter Problem code 2 pointing at the
//     option, the same only for a unicast destination); a first fragment
//     that does not hold the whole chain up to the upper-layer header gets
//     Parameter Problem code 3 (RFC 7112 §5). Routing headers are the
//     destination's business (RFC 8200 §4.4): ip6-local checks them.
//   - Next: ip6-lookup, icmp6-error, drop.
//
// Plain packets (no extension header, not ICMPv6, ordinary addresses) run
// in ip6InputFast, which tests all of the rules above at once.
func ip6Input(w *dp.Worker, cfg *dp.Config, in *pkt.Batch) {
	k := 0
	recs := pkt.Records()
	fast := !w.General()
	for i, n := 0, in.N; i < n; i++ {
		// Plain transit packets run in ip6InputFast.
		if fast {
			if i, k = ip6InputFast(in, i, k); i == n {
				break
			}
		}
		x := in.B[i]
		b := recs.At(x)
		l3 := b.L3Bytes()
		if len(l3) < hdr.IPv6Len {
			w.Drop(b, TooShort)
			continue
		}
		if l3[0]>>4 != 6 {
			w.Drop(b, BadVersion)
			continue
		}
		end := hdr.IPv6Len + (int(l3[4])<<8 | int(l3[5]))
		if end > len(l3) {
			w.Drop(b, BadPayloadLen)
			continue
		}
		if end < len(l3) {
			b.Len = b.L3 + uint16(end) // trim Ethernet padding
			l3 = l3[:end]
		}
		src, dst := l3[8:24], l3[24:40]
		// Neighbor Discovery (RFC 4861: ICMPv6 133-137 right after the
		// header) to a multicast group (solicited-node, all-routers) or
		// a link-local address, or from :: (DAD), is nd-input's to
		// check; to a global address of the router it gets there
		// through ip6-local, and in transit it is routed as any packet.
		if l3[6] == hdr.ProtoICMPv6 && end > hdr.IPv6Len && l3[hdr.IPv6Len]-hdr.ICMPv6RouterSolicit < 5 &&
			(isMulticast(dst) || isLinkLocal(dst) || isUnspecified(src)) {
			w.To(*stageNDInput, b)
			continue
		}
		if isMulticast(src) || isUnspecified(src) || isLoopback(src) {
			w.Drop(b, MartianSource)
			continue
		}
		if isMulticast(dst) {
			// Not routed (no multicast routing); but the router is a
			// member of the group and on the packet's path, so its
			// Hop-by-Hop options are examined (RFC 8200 §4): an
			// unrecognised option with action 10 gets Parameter
			// Problem code 2 even though the destination is multicast
			// (RFC 4443 §2.4 e.3), one with 11 is discarded silently.
			if l3[6] == hdr.ProtoHopByHop && joined(dst) && !walk(w, b, l3) {
				continue
			}
			// Link-scoped multicast (ff02::/16: OSPFv3's ff02::5 and
			// ::6, MLD, RIPng) is the host interface's, if the
			// interface has one; other groups are not routed.
			if dst[1]&0x0f == 2 && int(b.InPort) < len(cfg.Ifaces) && cfg.Ifaces[b.InPort].Host {
				b.Aux = hostMulticast
				w.To(*stageHostPunt, b)
				continue
			}
			w.Drop(b, Multicast)
			continue
		}
		if isUnspecified(dst) || isLoopback(dst) {
			w.Drop(b, MartianDest)
			continue
		}
		b.Dst = [16]byte(dst)
		if isExt(l3[6]) && !walk(w, b, l3) {
			continue
		}
		in.B[k] = x
		k++
	}
	w.Pass(StageInput, StageLookup, k)
}

// ip6InputFast passes packets from in.B[i:] while they are plain: a whole
// IPv6 header and payload (Ethernet padding trimmed), no extension header
// and not ICMPv6 (Neighbor Discovery is nd-input's), source and
// destination neither unspecified, loopback nor multicast (their first
// byte neither 0 nor 0xff); it sets b.Dst, compacts them to in.B[k:] and
// returns where it stopped and k.
func ip6InputFast(in *pkt.Batch, i, k int) (int, int) {
	n := in.N
	recs := pkt.Records()
	for ; i < n; i++ {
		b := recs.At(in.B[i])
		l3 := b.L3Bytes()
		if len(l3) < hdr.IPv6Len {
			return i, k
		}
		h := (*[hdr.IPv6Len]byte)(l3)
		end := hdr.IPv6Len + (int(h[4])<<8 | int(h[5]))
		if h[0]>>4 != 6 || end > len(l3) || isExt(h[6]) || h[6] == hdr.ProtoICMPv6 ||
			h[8]-1 >= 0xfe || h[24]-1 >= 0xfe { // first byte 0 or 0xff
			return i, k
		}
		b.Len = b.L3 + uint16(end) // trims Ethernet padding
		b.Dst = [16]byte(h[24:40])
		in.B[k] = in.B[i] // reloaded: see ip4-lookup's lookupFast
		k++
	}
	return i, k
}

// walk checks the extension header chain of ip (the packet's IPv6 bytes,
// trimmed) for ip6-input; on a failure it disposes of b (drop or
// Parameter Problem) and returns false.
func walk(w *dp.Worker, b *pkt.Buf, ip []byte) bool {
	end := len(ip)
	proto := ip[6]
	prev := 6 // offset of the Next Header field naming proto
	off := hdr.IPv6Len
	firstFrag := false // a fragment header with offset 0 and M set was passed
	for n := 0; ; n++ {
		if !isExt(proto) {
			// The upper-layer header must be in a first fragment
			// (RFC 7112 §5); No Next Header has none.
			if firstFrag && proto != hdr.ProtoNoNext && off >= end {
				paramProblem(w, b, 3, 0)
				return false
			}
			return true
		}
		if n == hdr.MaxExtHeaders {
			w.Drop(b, TooManyExt)
			return false
		}
		if proto == hdr.ProtoHopByHop && n != 0 {
			paramProblem(w, b, 1, uint32(prev)) // RFC 8200 §4.1
			return false
		}
		if end-off < 8 {
			if firstFrag {
				paramProblem(w, b, 3, 0)
			} else {
				w.Drop(b, BadExt)
			}
			return false
		}
		var hl int
		switch proto {
		case hdr.ProtoFragment:
			hl = 8
			fo := int(ip[off+2])<<8 | int(ip[off+3])
			if fo>>3 != 0 {
				return true // a later fragment: the rest is not headers
			}
			firstFrag = fo&1 != 0
		case hdr.ProtoAH:
			hl = (int(ip[off+1]) + 2) << 2
		default:
			hl = (int(ip[off+1]) + 1) << 3
		}
		if hl > end-off {
			if firstFrag {
				paramProblem(w, b, 3, 0)
			} else {
				w.Drop(b, BadExt)
			}
			return false
		}
		if proto == hdr.ProtoHopByHop && !hopOptions(w, b, ip, off, off+hl) {
			return false
		}
		prev = off
		proto = ip[off]
		off += hl
	}
}

// Hop-by-Hop options this router recognises (RFC 8200 §4.2, RFC 2711).
const (
	optPad1        = 0
	optPadN        = 1
	optRouterAlert = 5
)

// hopOptions processes the options of the Hop-by-Hop header at ip[off:end]
// (RFC 8200 §4.2): an unrecognised option is skipped, or discards the
// packet (action 01), with Parameter Problem code 2 pointing at the
// option's type (10, and 11 unless the destination is multicast).
func hopOptions(w *dp.Worker, b *pkt.Buf, ip []byte, off, end int) bool {
	for i := off + 2; i < end; {
		t := ip[i]
		if t == optPad1 {
			i++
			continue
		}
		if i+2 > end || i+2+int(ip[i+1]) > end {
			w.Drop(b, BadExt)
			return false
		}
		if t != optPadN && t != optRouterAlert {
			switch t >> 6 {
			case 1:
				w.Drop(b, OptionDiscard)
				return false
			case 2:
				paramProblem(w, b, 2, uint32(i))
				return false
			case 3:
				if isMulticast(ip[24:40]) {
					w.Drop(b, OptionDiscard)
				} else {
					paramProblem(w, b, 2, uint32(i))
				}
				return false
			}
		}
		i += 2 + int(ip[i+1])
	}
	return true
}

// lookupState is ip6-lookup's per-worker state: scratch for the batched
// FIB lookup.
type lookupState struct {
	dsts [pkt.BatchSize][16]byte
	nhs  [pkt.BatchSize]uint16
}

// ip6Lookup finds each packet's route.
//
// ip6-lookup: one Snapshot6 lookup per packet, for the whole batch first
// (fib.Snapshot6.LookupBatch), then a switch on the adjacency kind; an
// ECMP group's route is first replaced by the member the packet's flow
// hash picks (dp.ResolveECMP).
//   - A transit packet with a link-local source or destination that is not
//     for the router gets Destination Unreachable code 2, beyond scope
//     (RFC 4291 §2.5.6, RFC 4443 §3.1), whatever its route.
//   - Forward/incomplete/glean: for a transit packet, one received as
//     link-layer multicast is dropped; Hop Limit <= 1 gets Time Exceeded
//     code 0 (RFC 8200 §3, RFC 4443 §3.3); else ip6-rewrite.
//   - Local: ip6-local. No route: Destination Unreachable code 0 for
//     transit packets, drop for the router's own. Unreachable neighbour:
//     code 3.
//   - Next: ip6-local, ip6-rewrite, icmp6-error, drop.
//
// Ordinary transit packets to a forward, incomplete or glean route run in
// lookupFast, which tests all of the rules above at once.
func ip6Lookup(w *dp.Worker, cfg *dp.Config, in *pkt.Batch) {
	st := w.State(StageLookup).(*lookupState)
	n := in.N
	recs := pkt.Records()
	if cfg.FIB6 != nil {
		for i, x := range in.B[:n] {
			st.dsts[i] = recs.At(x).Dst
		}
		cfg.FIB6.LookupBatch(st.dsts[:n], st.nhs[:n])
		if len(cfg.ECMP) != 0 { // routes with several next hops: each packet's flow picks one
			dp.ResolveECMP(cfg, in, st.nhs[:n])
		}
	} else {
		clear(st.nhs[:n])
	}
	adjs := cfg.Adj
	k := 0
	fast := !w.General()
	for i := 0; i < n; i++ {
		// Transit packets to a resolved next hop run in lookupFast.
		if fast {
			if i, k = lookupFast(in, i, k, adjs, &st.nhs); i == n {
				break
			}
		}
		x := in.B[i]
		b := recs.At(x)
		nh := st.nhs[i]
		if int(nh) >= len(adjs) {
			nh = 0
		}
		b.NH = nh
		kind := adjs[nh].Kind
		if kind != dp.AdjLocal && b.Flags&pkt.FlagLocal == 0 {
			// Never forwarded off the link (RFC 4291 §2.5.6), whatever the
			// route says.
			if h := b.L3Bytes(); isLinkLocal(h[8:24]) || isLinkLocal(h[24:40]) {
				// The receiving interface's link-local address (derived
				// from its MAC: no route leads to it) is the router's.
				if int(b.InPort) < len(cfg.Ifaces) && [16]byte(h[24:40]) == cfg.Ifaces[b.InPort].LinkLocal {
					w.To(StageLocal, b)
					continue
				}
				icmp(w, b, hdr.ICMPv6DestUnreach, codeBeyondScope, 0)
				continue
			}
		}
		switch kind {
		case dp.AdjForward, dp.AdjIncomplete, dp.AdjGlean:
			if b.Flags&pkt.FlagLocal == 0 {
				h := b.L3Bytes()
				switch {
				case b.Flags&pkt.FlagL2Multicast != 0:
					w.Drop(b, L2Multicast)
					continue
				case h[7] <= 1:
					icmp(w, b, hdr.ICMPv6TimeExceeded, hdr.ICMPv6HopLimitExceeded, 0)
					continue
				}
			}
			in.B[k] = x
			k++
		case dp.AdjLocal:
			w.To(StageLocal, b)
		case dp.AdjNone:
			if b.Flags&pkt.FlagLocal != 0 {
				w.Drop(b, NoRoute)
			} else {
				icmp(w, b, hdr.ICMPv6DestUnreach, hdr.ICMPv6NoRoute, 0)
			}
		case dp.AdjUnreachable:
			icmp(w, b, hdr.ICMPv6DestUnreach, hdr.ICMPv6AddrUnreach, 0)
		default:
			w.Drop(b, Blackhole)
		}
	}
	w.Pass(StageLookup, StageRewrite, k)
}

// lookupFast passes packets from in.B[i:] while their route is a forward,
// incomplete or glean adjacency and they are ordinary transit packets
// (not the router's own, not link-layer multicast, Hop Limit above 1,
// neither address link-local); it sets b.NH, compacts them to in.B[k:]
// and returns where it stopped and k. As ip4-lookup's lookupFast: one
// test of the flags and three of header bytes per packet, where the
// general loop tests the adjacency kind twice and branches per rule.
func lookupFast(in *pkt.Batch, i, k int, adjs []dp.Adj, nhs *[pkt.BatchSize]uint16) (int, int) {
	n := in.N
	recs := pkt.Records()
	for ; i < n; i++ {
		b := recs.At(in.B[i])
		nh := nhs[i]
		if int(nh) >= len(adjs) {
			return i, k
		}
		kind := adjs[nh].Kind
		if (kind != dp.AdjForward && kind != dp.AdjIncomplete && kind != dp.AdjGlean) ||
			b.Flags&(pkt.FlagLocal|pkt.FlagL2Multicast) != 0 {
			return i, k
		}
		// ip6-input lets only whole headers in; link-local is isLinkLocal.
		h := (*[hdr.IPv6Len]byte)(b.L3Bytes())
		if h[7] <= 1 || h[8] == 0xfe && h[9]&0xc0 == 0x80 || h[24] == 0xfe && h[25]&0xc0 == 0x80 {
			return i, k
		}
		b.NH = nh
		in.B[k] = in.B[i] // reloaded: see ip4-lookup's lookupFast
		k++
	}
	return i, k
}

// codeBeyondScope is Destination Unreachable code 2 (RFC 4443 §3.1).
const codeBeyondScope = 2

// minMTU is the IPv6 minimum link MTU (RFC 8200 §5).
const minMTU = 1280

// ip6Rewrite turns a routed packet into a frame for its next hop.
//
// ip6-rewrite: copies the adjacency's Ethernet header (addresses, VLAN
// tags and EtherType 0x86DD, built by the control plane: dp.Adj.L2) in
// front of the IPv6 header, as ip4-rewrite does, decrements the Hop Limit (a plain
// store: IPv6 has no header checksum) unless the router originated the
// packet, and sets the egress interface.
//   - Larger than the egress MTU: Packet Too Big with the next-hop MTU
//     (never below 1280); IPv6 is never fragmented in transit (RFC 8200
//     §5, RFC 4443 §3.2).
//   - Next hop not resolved (incomplete, or glean on a connected
//     subnet): ip6-nd, which hands the packet to Neighbor Discovery.
//   - Next: interface-output, ip6-nd, icmp6-error, drop.
func ip6Rewrite(w *dp.Worker, cfg *dp.Config, in *pkt.Batch) {
	adjs := cfg.Adj
	k := 0
	recs := pkt.Records()
	for i, n := 0, in.N; i < n; i++ {
		x := in.B[i]
		b := recs.At(x)
		adj := &adjs[b.NH]
		if adj.Kind != dp.AdjForward {
			w.To(StageND, b) // incomplete or glean: Neighbor Discovery
			continue
		}
		l3len := int(b.Len) - int(b.L3)
		if l3len > int(adj.MTU) {
			icmp(w, b, hdr.ICMPv6PacketTooBig, 0, uint32(max(adj.MTU, minMTU)))
			continue
		}
		start := int(b.Off) + int(b.L3) - hdr.EthernetLen - int(adj.TagLen)
		if start < 0 {
			w.Drop(b, NoRoom)
			continue
		}
		if b.Flags&pkt.FlagLocal == 0 {
			b.L3Bytes()[7]--
		}
		// The adjacency's header (addresses, tags, EtherType 0x86DD),
		// as ip4-rewrite writes it: one 22-byte store ending at the IPv6
		// header when the headroom allows, else a copy.
		if l3 := int(b.Off) + int(b.L3); l3 >= dp.MaxL2 {
			*b.L2At(l3 - dp.MaxL2) = adj.L2
		} else {
			copy(b.Raw()[start:l3], adj.Header())
		}
		l2 := hdr.EthernetLen + int(adj.TagLen)
		b.Off, b.L3, b.Len = uint16(start), uint16(l2), uint16(l2+l3len)
		b.OutPort = adj.Iface
		in.B[k] = x
		k++
	}
	w.Pass(StageRewrite, dp.StageInterfaceOutput, k)
}

// injectLookup takes an InjectLookup6 message: an IPv6 packet that
// waited for Neighbor Discovery, its metadata in the frame's link-header
// slot (dp.PutMeta), routed again from ip6-lookup.
func injectLookup(w *dp.Worker, m *dp.Msg, b *pkt.Buf) {
	if m.Len < hdr.EthernetLen+hdr.IPv6Len {
		w.Drop(b, TooShort)
		return
	}
	dp.GetMeta(m, b)
	b.Flags |= pkt.FlagInjected
	b.Dst = [16]byte(m.Data[hdr.EthernetLen+24 : hdr.EthernetLen+40])
	w.To(StageLookup, b)
}

// ip6ND hands packets waiting for a neighbour to the control plane.
//
// ip6-nd (ip4-arp's twin, RFC 4861 §7.2.2): copies the packet into the
// punt ring with the address to resolve (the next hop, or the
// destination itself on a connected subnet) and frees the buffer. The
// control plane queues a few packets per neighbour, sends Neighbor
// Solicitations, and injects them back once resolved (or, after three
// unanswered solicitations, to get Destination Unreachable code 3).
//   - Next: drop (ring full, or a released packet needing resolution
//     again); otherwise the control plane.
func ip6ND(w *dp.Worker, cfg *dp.Config, in *pkt.Batch) {
	for _, x := range in.B[:in.N] {
		b := pkt.At(x)
		adj := &cfg.Adj[b.NH]
		if b.Flags&pkt.FlagInjected != 0 {
			w.Drop(b, ResolveLoop)
			continue
		}
		addr := adj.Addr
		if adj.Kind == dp.AdjGlean {
			addr = b.Dst
		}
		if !w.PuntResolve(b, adj.Iface, addr) {
			w.Drop(b, PuntQueueFull)
		}
	}
	in.N = 0
}

var traceIP6ND = dp.NodeTrace{
	Note: func(_ *dp.Config, _, nx *dp.RawStep, _ bool) string {
		if nx == nil {
			return "next hop not resolved: punted to Neighbor Discovery"
		}
		return ""
	},
}

// Trace: ip6-input notes a valid header or the ICMPv6 error it asked
// for; ip6-lookup records the flags; ip6-rewrite the adjacency.
var traceIP6Input = dp.NodeTrace{
	Note: func(_ *dp.Config, _, nx *dp.RawStep, _ bool) string {
		if nx != nil && nx.Stage == StageICMPError {
			return "extension header problem: ICMPv6 " + icmp6Name(nx.K, uint8(nx.A))
		}
		return "header valid"
	},
}

var traceIP6Lookup = dp.NodeTrace{
	Record: func(_ *dp.Worker, _ *dp.Config, b *pkt.Buf, st *dp.RawStep) { st.K = b.Flags },
	Note: func(cfg *dp.Config, st, nx *dp.RawStep, own bool) string {
		what := "route"
		if own {
			what = "route the router's packet"
		}
		if nx == nil {
			return what
		}
		switch nx.Stage {
		case StageRewrite:
			return fmt.Sprintf("%s: adjacency %d, %s via %s", what, nx.A, dp.AdjKindName(nx.K), dp.IfaceName(cfg, int(nx.B)))
		case StageLocal:
			return what + ": an address of the router"
		case StageICMPError:
			return what + ": ICMPv6 " + icmp6Name(nx.K, uint8(nx.A))
		}
		return what
	},
}

var traceIP6Rewrite = dp.NodeTrace{
	Record: func(_ *dp.Worker, cfg *dp.Config, b *pkt.Buf, st *dp.RawStep) {
		st.A = b.NH
		if cfg != nil && int(b.NH) < len(cfg.Adj) {
			adj := &cfg.Adj[b.NH]
			st.K, st.B, st.D = uint8(adj.Kind), adj.Iface, adj.MTU
		}
	},
	Note: func(cfg *dp.Config, st, nx *dp.RawStep, own bool) string {
		if nx == nil {
			return ""
		}
		switch nx.Stage {
		case dp.StageInterfaceOutput:
			if own {
				return fmt.Sprintf("Ethernet header for %s (MTU %d) written; the router's own packet: hop limit kept", dp.IfaceName(cfg, int(st.B)), st.D)
			}
			return fmt.Sprintf("hop limit decremented, Ethernet header for %s (MTU %d) written", dp.IfaceName(cfg, int(st.B)), st.D)
		case StageICMPError:
			return fmt.Sprintf("larger than MTU %d of %s: ICMPv6 packet too big", st.D, dp.IfaceName(cfg, int(st.B)))
		}
		return "next hop not resolved: " + dp.AdjKindName(st.K)
	},
}
