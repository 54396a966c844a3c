package ip4

import (
	"encoding/binary"
	"fmt"

	"github.com/softnet/softnet/dp"
	"github.com/softnet/softnet/hdr"
	"github.com/softnet/softnet/pkt"
)

// ip4-input, ip4-lookup, ip4-rewrite and ip4-arp: their registration
// (see dp.Register).
var (
	StageInput, StageLookup, StageRewrite, StageARP dp.Stage

	TooShort, BadVersion, BadIHL, BadChecksum, BadTotalLen dp.Reason
	MartianSource, MartianDest, Multicast, Broadcast       dp.Reason
	NoRoute, L2Broadcast, DirectedBroadcast, Blackhole     dp.Reason
	PuntQueueFull, ResolveLoop, NoRoom                     dp.Reason
)

// ArcUnicast is the ip4-unicast feature arc: IPv4 packets ip4-input
// accepted, before ip4-lookup, by receiving interface (packets the router
// makes or answers do not take it).
var ArcUnicast = dp.DefineArc("ip4-unicast", "ip4-lookup", false)

var _ = dp.Register(dp.Node{
	Name:  "ip4-input",
	Stage: &StageInput,
	Run:   ip4Input,
	Next:  []string{"ip4-lookup", "host-punt", "drop"},
	Reasons: []dp.ReasonDef{ // RFC 1812 §5.2.2, §5.3.7
		{Reason: &TooShort, Name: "too-short", Desc: "shorter than an IPv4 header (RFC 1812 §5.2.2)"},
		{Reason: &BadVersion, Name: "bad-version", Desc: "IP version is not 4"},
		{Reason: &BadIHL, Name: "bad-ihl", Desc: "header length below 20 or past the end of the packet"},
		{Reason: &BadChecksum, Name: "bad-checksum", Desc: "IPv4 header checksum is wrong"},
		{Reason: &BadTotalLen, Name: "bad-total-length", Desc: "total length below the header length or above the bytes received"},
		{Reason: &MartianSource, Name: "martian-source", Desc: "source is 0/8, 127/8, multicast, class E or broadcast (RFC 1812 §5.3.7)"},
		{Reason: &MartianDest, Name: "martian-destination", Desc: "destination is 0/8, 127/8 or class E (RFC 1812 §5.3.7)"},
		{Reason: &Multicast, Name: "multicast", Desc: "multicast destination: no multicast routing"},
		{Reason: &Broadcast, Name: "broadcast", Desc: "limited or directed broadcast: not forwarded (RFC 2644)"},
	},
	Trace: traceIP4Input,
})

var _ = dp.Register(dp.Node{
	Name:  "ip4-lookup",
	Stage: &StageLookup,
	Run:   ip4Lookup,
	State: func(*dp.Worker) any { return new(lookupState) },
	// Packets the control plane gives back after resolving their next
	// hop are routed again from here.
	Inject:     injectLookup,
	InjectKind: dp.InjectLookup,
	Next:       []string{"ip4-local", "ip4-rewrite", "icmp4-error", "drop"},
	Reasons: []dp.ReasonDef{
		{Reason: &NoRoute, Name: "no-route", Desc: "no route for a packet the router originated"},
		{Reason: &L2Broadcast, Name: "l2-broadcast", Desc: "received as link-layer broadcast or multicast: not forwarded (RFC 1812 §5.3.4)"},
		{Reason: &DirectedBroadcast, Name: "directed-broadcast", Desc: "to a connected subnet's broadcast address: not forwarded (RFC 2644)"},
		{Reason: &Blackhole, Name: "blackhole", Desc: "route to a blackhole next hop"},
	},
	Trace: traceIP4Lookup,
})

var _ = dp.Register(dp.Node{
	Name:  "ip4-rewrite",
	Stage: &StageRewrite,
	Run:   ip4Rewrite,
	Next:  []string{"interface-output", "ip4-arp", "ip4-frag", "icmp4-error", "drop"},
	Reasons: []dp.ReasonDef{
		{Reason: &NoRoom, Name: "no-headroom", Desc: "no headroom to write the Ethernet header"},
	},
	Trace: traceIP4Rewrite,
})

var _ = dp.Register(dp.Node{
	Name:  "ip4-arp",
	Stage: &StageARP,
	Run:   ip4ARP,
	Next:  []string{"drop"},
	Reasons: []dp.ReasonDef{
		{Reason: &PuntQueueFull, Name: "punt-queue-full", Desc: "the queue to the control plane (ARP resolution and learning) is full"},
		{Reason: &ResolveLoop, Name: "resolve-loop", Desc: "a packet released after resolution needed resolving again (no host route): dropped, not re-punted"},
	},
	Trace: traceIP4ARP,
})

// Address classes by first octet, for the martian checks of RFC 1812
// §5.3.7 (one table load per address instead of a chain of compares).
const (
	classUnicast   uint8 = iota
	classMartian         // 0/8, 127/8
	classMulticast       // 224/4
	classReserved        // 240/4 (255.255.255.255 checked apart)
)

var addrClass = func() (t [256]uint8) {
	t[0], t[127] = classMartian, classMartian
	for i := 224; i < 240; i++ {
		t[i] = classMulticast
	}
	for i := 240; i < 256; i++ {
		t[i] = classReserved
	}
	return t
}()

// ip4Reason maps a header check's failure to its drop reason. It is set
// in init: the reasons get their values when ip4-input registers, and
// ip4Input (which reads this table) is part of that registration.
var ip4Reason [hdr.BadChecksum + 1]dp.Reason

func init() {
	ip4Reason = [...]dp.Reason{
		hdr.TooShort:    TooShort,
		hdr.BadVersion:  BadVersion,
		hdr.BadIHL:      BadIHL,
		hdr.BadTotalLen: BadTotalLen,
		hdr.BadChecksum: BadChecksum,
	}
}

// ip4Input validates IPv4 headers.
//
// ip4-input (RFC 1812 §5.2.2, §5.3.7):
//   - Drops a packet shorter than 20 bytes, with version not 4, IHL < 5 or
//     past the end, a bad header checksum, or a total length below the
//     header length or above the bytes received; trims Ethernet padding to
//     the total length.
//   - Drops martian sources (0/8, 127/8, multicast, 240/4, broadcast) and
//     destinations (0/8, 127/8, 240/4), multicast and limited broadcast.
//   - Next: ip4-lookup, drop.
func ip4Input(w *dp.Worker, cfg *dp.Config, in *pkt.Batch) {
	k := 0 // packets for ip4-lookup, compacted in place
	fast := !w.General()
	recs := pkt.Records()
	for i, n := 0, in.N; i < n; i++ {
		// The common case runs in ip4InputFast, a loop with no calls (so
		// nothing is spilled per packet); it stops at the first packet
		// that needs a full check or a drop, handled here.
		if fast {
			if i, k = ip4InputFast(in, i, k); i == n {
				break
			}
		}
		x := in.B[i]
		b := recs.At(x)
		l3 := b.L3Bytes()
		if st := hdr.IPv4(l3).Validate(); st != hdr.OK {
			r := TooShort
			if int(st) < len(ip4Reason) && ip4Reason[st] != dp.ReasonNone {
				r = ip4Reason[st]
			}
			w.Drop(b, r)
			continue
		}
		h := b.L3Head()
		if tl := int(h[2])<<8 | int(h[3]); tl < len(l3) {
			b.Len = b.L3 + uint16(tl) // trim Ethernet padding
		}
		src := binary.BigEndian.Uint32(h[12:16])
		dst := binary.BigEndian.Uint32(h[16:20])
		b.SetDst4(dst)
		if addrClass[src>>24] != classUnicast || src == 0 {
			w.Drop(b, MartianSource)
			continue
		}
		switch addrClass[dst>>24] {
		case classUnicast:
			in.B[k] = x
			k++
		case classMulticast:
			// Link-local multicast (224.0.0.0/24: OSPF's 224.0.0.5 and
			// .6, VRRP, RIPv2) is the host interface's, if the
			// interface has one; other groups are not routed.
			if dst>>8 == 0xe00000 && int(b.InPort) < len(cfg.Ifaces) && cfg.Ifaces[b.InPort].Host {
				b.Aux = hostMulticast
				w.To(*stageHostPunt, b)
				continue
			}
			w.Drop(b, Multicast)
		case classReserved:
			if dst == 0xffffffff {
				w.Drop(b, Broadcast)
			} else {
				w.Drop(b, MartianDest)
			}
		default:
			w.Drop(b, MartianDest)
		}
	}
	w.Pass(StageInput, StageLookup, k)
}

// ip4InputFast passes packets from in.B[i:] while they are the common
// case: an option-less IPv4 header (version 4, IHL 5) with a right
// checksum and a total length within the packet (the RFC 1812 §5.2.2
// checks, the 20 bytes summed in five loads from a fixed-size array), a
// unicast source and a unicast destination. It compacts them to in.B[k:]
// and returns where it stopped and the new k; the packet at the returned
// index (if any) needs ip4Input's full path.
func ip4InputFast(in *pkt.Batch, i, k int) (int, int) {
	n := in.N
	recs := pkt.Records()
	for ; i < n; i++ {
		b := recs.At(in.B[i])
		l3len := int(b.Len) - int(b.L3)
		h := b.L3Head()
		// The destination for ip4-lookup, noted first so its bytes need
		// no register past here (a packet the checks below send to
		// ip4Input gets it noted again there, or is dropped).
		b.SetDst4Bytes([4]byte(h[16:20]))
		sum := uint64(binary.BigEndian.Uint32(h[0:4])) + uint64(binary.BigEndian.Uint32(h[4:8])) +
			uint64(binary.BigEndian.Uint32(h[8:12])) + uint64(binary.BigEndian.Uint32(h[12:16])) +
			uint64(binary.BigEndian.Uint32(h[16:20]))
		sum = sum>>32 + sum&0xffffffff
		sum = sum>>16 + sum&0xffff
		sum = sum>>16 + sum&0xffff
		tl := int(h[2])<<8 | int(h[3])
		src := binary.BigEndian.Uint32(h[12:16])
		dst := binary.BigEndian.Uint32(h[16:20])
		if l3len < hdr.IPv4MinLen || h[0] != 0x45 || sum&0xffff != 0xffff || tl < hdr.IPv4MinLen || tl > l3len ||
			addrClass[src>>24] != classUnicast || src == 0 || addrClass[dst>>24] != classUnicast {
			return i, k
		}
		if tl < l3len {
			b.Len = b.L3 + uint16(tl) // trim Ethernet padding
		}
		// The index again from the vector (an L1 hit after the stores
		// above), not kept in a register across the loop body: with the
		// record base and the record pointer live, one more value spills
		// the loop's counters to the stack.
		in.B[k] = in.B[i]
		k++
	}
	return i, k
}

// lookupState is ip4-lookup's per-worker state: scratch for the batched
// FIB lookup, kept here so the node allocates nothing.
type lookupState struct {
	dsts [pkt.BatchSize]uint32
	nhs  [pkt.BatchSize]uint16
}

// injectLookup takes an InjectLookup message: an IPv4 packet that waited
// for resolution, its metadata in the frame's link-header slot, routed
// again from ip4-lookup.
func injectLookup(w *dp.Worker, m *dp.Msg, b *pkt.Buf) {
	if m.Len < hdr.EthernetLen+hdr.IPv4MinLen {
		w.Drop(b, TooShort)
		return
	}
	dp.GetMeta(m, b)
	b.Flags |= pkt.FlagInjected
	b.SetDst4(hdr.IPv4(m.Data[hdr.EthernetLen:]).Dst())
	w.To(StageLookup, b)
}

// ip4Lookup finds each packet's route.
//
// ip4-lookup: one FIB snapshot lookup per packet, done for the whole batch
// first (fib.Snapshot.LookupBatch) so the table's cache misses overlap,
// then a switch on the adjacency kind. A route with several next hops (an
// ECMP group, dp.AdjGroup) is first replaced by the member the packet's
// symmetric flow hash picks (dp.ResolveECMP), so a flow keeps one path.
//   - Forward/incomplete/glean: a transit packet with TTL <= 1 gets ICMP
//     time exceeded (RFC 1812 §5.3.1); a packet received as link-layer
//     broadcast is not forwarded (§5.3.4); else ip4-rewrite.
//   - Local: ip4-local. No route: ICMP net unreachable (§5.2.7.1) for
//     transit packets, drop for the router's own.
//   - Next: ip4-rewrite, ip4-local, icmp4-error, drop.
func ip4Lookup(w *dp.Worker, cfg *dp.Config, in *pkt.Batch) {
	st := w.State(StageLookup).(*lookupState)
	n := in.N
	recs := pkt.Records()
	for i, x := range in.B[:n] {
		st.dsts[i] = recs.At(x).Dst4()
	}
	cfg.FIB.LookupBatch(st.dsts[:n], st.nhs[:n])
	if len(cfg.ECMP) != 0 { // routes with several next hops: each packet's flow picks one
		dp.ResolveECMP(cfg, in, st.nhs[:n])
	}
	adjs := cfg.Adj
	k := 0 // packets for ip4-rewrite, compacted in place
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
		switch adjs[nh].Kind {
		case dp.AdjForward, dp.AdjIncomplete, dp.AdjGlean:
			if b.Flags&pkt.FlagLocal == 0 {
				if b.Flags&pkt.FlagL2Multicast != 0 {
					w.Drop(b, L2Broadcast)
					continue
				}
				if b.L3Head()[8] <= 1 { // TTL
					icmp(w, b, hdr.ICMPv4TimeExceeded, hdr.ICMPv4TTLExceeded, 0)
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
				icmp(w, b, hdr.ICMPv4DestUnreach, hdr.ICMPv4NetUnreach, 0)
			}
		case dp.AdjUnreachable:
			icmp(w, b, hdr.ICMPv4DestUnreach, hdr.ICMPv4HostUnreach, 0)
		case dp.AdjBroadcast:
			w.Drop(b, DirectedBroadcast)
		default:
			w.Drop(b, Blackhole)
		}
	}
	w.Pass(StageLookup, StageRewrite, k)
}

// lookupFast passes packets from in.B[i:] while their route is a forward,
// incomplete or glean adjacency and they are ordinary transit packets
// (not the router's own, not link-layer broadcast, TTL above 1); it sets
// b.NH, compacts them to in.B[k:] and returns where it stopped and k.
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
			b.Flags&(pkt.FlagLocal|pkt.FlagL2Multicast) != 0 || b.L3Head()[8] <= 1 {
			return i, k
		}
		b.NH = nh
		in.B[k] = in.B[i] // reloaded: see ip4InputFast
		k++
	}
	return i, k
}

// ip4Rewrite turns a routed packet into a frame for its next hop.
//
// ip4-rewrite: copies the adjacency's ready-made Ethernet header
// (addresses and EtherType, built by the control plane) in front of the
// IPv4 header, decrements the TTL with an incremental checksum
// update (RFC 1812 §5.3.1, RFC 1624) unless the router originated the
// packet, and sets the egress interface.
//   - Unresolved next hop: ip4-arp. Larger than the egress MTU: ip4-frag,
//     or ICMP fragmentation needed with the next-hop MTU when DF is set
//     (RFC 1191, RFC 1812 §5.2.6).
//   - Next: interface-output, ip4-arp, ip4-frag, icmp4-error, drop.
func ip4Rewrite(w *dp.Worker, cfg *dp.Config, in *pkt.Batch) {
	adjs := cfg.Adj
	k := 0 // packets for interface-output, compacted in place
	fast := !w.General()
	recs := pkt.Records()
	for i, n := 0, in.N; i < n; i++ {
		// Resolved, fitting transit packets run in rewriteFast.
		if fast {
			if i, k = rewriteFast(in, i, k, adjs); i == n {
				break
			}
		}
		x := in.B[i]
		b := recs.At(x)
		adj := &adjs[b.NH]
		if adj.Kind != dp.AdjForward {
			w.To(StageARP, b)
			continue
		}
		h := b.L3Head()
		l3len := int(b.Len) - int(b.L3)
		if l3len > int(adj.MTU) {
			if h[6]&0x40 != 0 { // DF
				icmp(w, b, hdr.ICMPv4DestUnreach, hdr.ICMPv4FragNeeded, uint32(adj.MTU))
			} else {
				w.To(StageFrag, b)
			}
			continue
		}
		if b.Flags&pkt.FlagLocal == 0 {
			hdr.IPv4(h[:]).DecTTL()
		}
		start := int(b.Off) + int(b.L3) - hdr.EthernetLen - int(adj.TagLen)
		if start < 0 {
			w.Drop(b, NoRoom)
			continue
		}
		writeL2(b, adj, start, l3len)
		in.B[k] = x
		k++
	}
	w.Pass(StageRewrite, dp.StageInterfaceOutput, k)
}

// writeL2 writes adj's Ethernet header at start (just in front of the
// l3len-byte IPv4 packet: start is L3 minus 14 minus adj.TagLen), makes it
// the frame and sets the egress interface. rewriteFast has its own copy
// (it does not inline: see there); keep the two the same.
//
// Tagged or not, it is one fixed-size store of adj.L2 (the header
// right-aligned in 22 bytes) ending at the IPv4 header, so a VLAN costs
// no branch and no extra store; the bytes in front of start it covers are
// headroom. Only a frame with less headroom than that (L3 < 22) takes a
// copy of the header alone.
func writeL2(b *pkt.Buf, adj *dp.Adj, start, l3len int) {
	l3 := int(b.Off) + int(b.L3)
	if l3 >= dp.MaxL2 {
		*b.L2At(l3 - dp.MaxL2) = adj.L2
	} else {
		copy(b.Raw()[start:l3], adj.Header())
	}
	l2 := hdr.EthernetLen + int(adj.TagLen)
	b.Off, b.L3, b.Len = uint16(start), uint16(l2), uint16(l2+l3len)
	b.OutPort = adj.Iface
}

// rewriteFast rewrites packets from in.B[i:] while their adjacency is
// resolved, they fit its MTU and they are transit packets (TTL to
// decrement); it compacts them to in.B[k:] and returns where it stopped
// and k.
func rewriteFast(in *pkt.Batch, i, k int, adjs []dp.Adj) (int, int) {
	n := in.N
	recs := pkt.Records()
	for ; i < n; i++ {
		b := recs.At(in.B[i])
		adj := &adjs[b.NH]
		l3len := int(b.Len) - int(b.L3)
		l3 := int(b.Off) + int(b.L3)
		l2 := hdr.EthernetLen + int(adj.TagLen)
		if adj.Kind != dp.AdjForward || l3len > int(adj.MTU) || b.Flags&pkt.FlagLocal != 0 || l3 < dp.MaxL2 {
			return i, k
		}
		// Both views before the first store, so the buffer's data
		// pointer is loaded once.
		h, eth := b.L3Head(), b.L2At(l3-dp.MaxL2)
		hdr.IPv4(h[:]).DecTTL()
		// writeL2, by hand: it is too big for the compiler to inline, and
		// a call per packet costs this loop a fifth of its speed. Tagged
		// or untagged, the header is one 22-byte store ending at the
		// IPv4 header (l3 >= 22 keeps it in the buffer).
		*eth = adj.L2
		b.Off, b.L3, b.Len = uint16(l3-l2), uint16(l2), uint16(l2+l3len)
		b.OutPort = adj.Iface
		in.B[k] = in.B[i] // reloaded: see ip4InputFast
		k++
	}
	return i, k
}

// ip4ARP hands packets waiting for a neighbour to the control plane.
//
// ip4-arp (VPP's ip4-arp/ip4-glean): copies the packet into the punt ring
// with the address to resolve (the gateway, or the destination itself on a
// connected subnet) and frees the buffer. The control plane queues a few
// packets per neighbour, ARPs, and injects them back once resolved.
//   - Next: drop (ring full); otherwise the control plane.
func ip4ARP(w *dp.Worker, cfg *dp.Config, in *pkt.Batch) {
	for _, x := range in.B[:in.N] {
		b := pkt.At(x)
		adj := &cfg.Adj[b.NH]
		if b.Flags&pkt.FlagInjected != 0 {
			// Released by the control plane after resolution and routed
			// to a neighbour that needs resolving again: punting it again
			// could loop forever.
			w.Drop(b, ResolveLoop)
			continue
		}
		addr := adj.Addr // the gateway or host, IPv4-mapped
		if adj.Kind == dp.AdjGlean {
			addr = dp.Mapped4(hdr.IPv4(b.L3Bytes()).Dst())
		}
		if !w.PuntResolve(b, adj.Iface, addr) {
			w.Drop(b, PuntQueueFull)
		}
	}
	in.N = 0
}

// Trace: ip4-input notes a valid header; ip4-lookup records the
// destination and flags; ip4-rewrite and ip4-arp the adjacency.
var traceIP4Input = dp.NodeTrace{
	Note: func(*dp.Config, *dp.RawStep, *dp.RawStep, bool) string { return "header valid" },
}

func recordDst(_ *dp.Worker, _ *dp.Config, b *pkt.Buf, st *dp.RawStep) {
	st.C, st.K = b.Dst4(), b.Flags
}

// recordAdj records b's adjacency: A its index, K its kind, B its
// interface, D its MTU, C its address (for ip4-arp on a glean adjacency,
// the destination, which resolves itself).
func recordAdj(_ *dp.Worker, cfg *dp.Config, b *pkt.Buf, st *dp.RawStep) {
	st.A = b.NH
	if cfg != nil && int(b.NH) < len(cfg.Adj) {
		adj := &cfg.Adj[b.NH]
		st.K, st.B, st.D, st.C = uint8(adj.Kind), adj.Iface, adj.MTU, adj.Addr4()
		if st.Stage == StageARP && adj.Kind == dp.AdjGlean {
			st.C = b.Dst4()
		}
	}
}

var traceIP4Lookup = dp.NodeTrace{
	Record: recordDst,
	Note: func(cfg *dp.Config, st, nx *dp.RawStep, own bool) string {
		what := "route " + dp.IP4String(st.C)
		if own {
			what = "route the router's packet to " + dp.IP4String(st.C)
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
			if nx.K == hdr.ICMPv4TimeExceeded {
				return what + ": TTL expires here, ICMP time exceeded"
			}
			return fmt.Sprintf("%s: ICMP %s", what, dp.ICMPName(nx.K, uint8(nx.A)))
		}
		return what
	},
}

var traceIP4Rewrite = dp.NodeTrace{
	Record: recordAdj,
	Note: func(cfg *dp.Config, st, nx *dp.RawStep, own bool) string {
		if nx == nil {
			return ""
		}
		switch nx.Stage {
		case dp.StageInterfaceOutput:
			if own {
				return fmt.Sprintf("Ethernet header for %s (MTU %d) written; the router's own packet: TTL kept", dp.IfaceName(cfg, int(st.B)), st.D)
			}
			return fmt.Sprintf("TTL decremented, Ethernet header for %s (MTU %d) written", dp.IfaceName(cfg, int(st.B)), st.D)
		case StageARP:
			return "next hop not resolved: " + dp.AdjKindName(st.K)
		case StageFrag:
			return fmt.Sprintf("larger than MTU %d of %s: fragment", st.D, dp.IfaceName(cfg, int(st.B)))
		case StageICMPError:
			return fmt.Sprintf("larger than MTU %d of %s with DF set: ICMP fragmentation needed", st.D, dp.IfaceName(cfg, int(st.B)))
		}
		return ""
	},
}

var traceIP4ARP = dp.NodeTrace{
	Record: recordAdj,
	Note: func(cfg *dp.Config, st, _ *dp.RawStep, _ bool) string {
		return fmt.Sprintf("punted: resolve %s on %s", dp.IP4String(st.C), dp.IfaceName(cfg, int(st.B)))
	},
}
