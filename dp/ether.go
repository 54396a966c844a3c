package dp

import (
	"encoding/binary"

	"github.com/softnet/softnet/hdr"
	"github.com/softnet/softnet/pkt"
)

// ethernet-input and arp-input: their registration (see Register).
var (
	StageEthernetInput, StageARPInput Stage

	EtherRunt, EtherNotForUs, EtherUnknownType, EtherVLAN, EtherIPv6, EtherIfaceDown, EtherRSSRingFull Reason
	VLANUnknown, VLANReserved, VLANStackedPriority, VLANTooDeep, VLANTruncated                         Reason
	ARPMalformed, ARPNotForUs, ARPBadSender                                                            Reason
)

var _ = Register(Node{
	Name:  "ethernet-input",
	Stage: &StageEthernetInput,
	Run:   (*Worker).ethernetInput,
	Next:  []string{"l2-bridge", "arp-input", "ip4-input", "drop"},
	Reasons: []ReasonDef{
		{&EtherRunt, "runt", "frame shorter than an Ethernet header"},
		{&EtherNotForUs, "not-for-us", "destination MAC is neither the interface's, broadcast nor multicast we accept"},
		{&EtherUnknownType, "unknown-ethertype", "EtherType not handled (not IPv4 or ARP)"},
		{&EtherVLAN, "vlan-tagged", "802.1Q/802.1ad tagged frame on an interface with no VLAN sub-interfaces"},
		{&EtherIPv6, "ip6-unsupported", "IPv6 is not forwarded yet"},
		{&EtherIfaceDown, "iface-down", "frame received on an interface (or VLAN sub-interface) that is down"},
		{&EtherRSSRingFull, "rss-ring-full", "software RSS: the lane to the worker that owns the flow was full (an ifq drop: that worker is behind)"},
		// VLAN demux (IEEE 802.1Q), see vlan.go.
		{&VLANUnknown, "vlan-unknown", "VLAN tag (or outer/inner pair) with no sub-interface on the receiving port"},
		{&VLANReserved, "vlan-reserved", "VID 4095, reserved by IEEE 802.1Q: never a VLAN"},
		{&VLANStackedPriority, "vlan-stacked-priority", "VID 0 (priority tag) behind another tag, or a tag behind a priority tag"},
		{&VLANTooDeep, "vlan-too-deep", "more VLAN tags than the sub-interface is configured with"},
		{&VLANTruncated, "vlan-truncated", "frame ends inside a VLAN tag"},
	},
	Trace: traceEthernetInput,
})

var _ = Register(Node{
	Name:  "arp-input",
	Stage: &StageARPInput,
	Run:   (*Worker).arpInput,
	Next:  []string{"interface-output", "drop"},
	Reasons: []ReasonDef{
		{&ARPMalformed, "malformed", "not an Ethernet/IPv4 ARP request or reply, or truncated"},
		{&ARPNotForUs, "not-for-us", "ARP target address is not one of the interface's addresses"},
		{&ARPBadSender, "bad-sender", "ARP sender IP not on the interface's subnet or ours, or sender MAC broadcast/multicast/zero/ours (RFC 1812 §3.3.2)"},
	},
	Trace: traceARPInput,
})

// ethernetInput classifies received frames by EtherType.
//
// ethernet-input: the first stage of every received batch (one batch is one
// receive queue of one port).
//   - Accepts frames to the interface's MAC, broadcast and multicast
//     (marked FlagL2Multicast); drops runts and frames for other MACs.
//   - Demuxes VLAN-tagged frames to their sub-interface by a direct table
//     index (see VLANTable, vlanInput): the frame is then the
//     sub-interface's (InPort, counters) and L3 is past its tags. Bad tags
//     drop with their own reasons.
//   - Next: arp-input (0x0806), ip4-input (0x0800), drop (IPv6 and other
//     EtherTypes until their stages exist).
//
// Example: a 64-byte IPv4/UDP frame to the interface's MAC goes to
// ip4-input with L3 = 14; the same frame in an 802.1Q tag of VLAN 100 goes
// to ip4-input with L3 = 18 and InPort = the VLAN 100 sub-interface.
func (w *Worker) ethernetInput(cfg *Config, in *pkt.Batch) {
	iface := w.rxIf
	if int(iface) >= len(cfg.Ifaces) {
		for _, x := range in.B[:in.N] {
			b := pkt.At(x)
			b.InPort = iface
			w.drop(b, EtherIfaceDown)
		}
		in.N = 0
		return
	}
	if w.upOf != cfg {
		w.syncUp(cfg) // sizes the per-interface counters to cfg
	}
	ifc := &cfg.Ifaces[iface]
	macHi := binary.BigEndian.Uint32(ifc.MAC[0:4])
	macLo := binary.BigEndian.Uint16(ifc.MAC[4:6])
	up := ifc.Up
	fast := up && ifc.Bridge == 0 && !w.general // a bridge member's frames all go to l2-bridge
	var vt *VLANTable
	if int(iface) < len(cfg.VLANs) {
		vt = cfg.VLANs[iface]
	}
	var bytes uint64
	sub := 0 // frames counted on sub-interfaces, not on the port
	rxp, rxb := w.c.RxPackets, w.c.RxBytes
	if up && ifc.Bridge != 0 && vt == nil {
		w.bridgePort(in, iface)
		return
	}
	// IPv4 packets are compacted in place and passed on as a vector; the
	// common cases (IPv4 to our MAC on an up interface, untagged or in
	// one 802.1Q tag of a sub-interface) run in etherFast and
	// etherVLANFast, loops with no calls that stop at the first packet
	// needing more.
	k := 0
	for i, n := 0, in.N; i < n; i++ {
		if fast {
			if i, k, bytes = etherFast(in, i, k, bytes, iface, macHi, macLo); i == n {
				break
			}
			if vt != nil {
				var m int
				i, k, m = etherVLANFast(in, i, k, vt, macHi, macLo, rxp, rxb)
				sub += m
				if i == n {
					break
				}
			}
		}
		x := in.B[i]
		b := pkt.At(x)
		b.InPort = iface
		f := b.Bytes()
		if len(f) < hdr.EthernetLen {
			bytes += uint64(b.Len)
			w.drop(b, EtherRunt)
			continue
		}
		if !up {
			bytes += uint64(b.Len)
			w.drop(b, EtherIfaceDown)
			continue
		}
		l3, et := hdr.EthernetLen, binary.BigEndian.Uint16(f[12:14])
		into := iface
		if isTPID(et) {
			e, off, t, r := vlanInput(vt, iface, f)
			if r != ReasonNone {
				bytes += uint64(b.Len)
				w.drop(b, r)
				continue
			}
			if e != iface {
				if e&VLANDown != 0 || int(e&^VLANBridged) >= len(rxp) {
					bytes += uint64(b.Len) // counted on the port
					b.InPort = e &^ (VLANDown | VLANBridged)
					w.drop(b, EtherIfaceDown)
					continue
				}
				into = e &^ VLANBridged
				rxp[into]++
				rxb[into] += uint64(b.Len)
				sub++
				b.InPort = into
			} else {
				bytes += uint64(b.Len)
			}
			l3, et = off, t
		} else {
			bytes += uint64(b.Len)
		}
		b.L3 = uint16(l3)
		if cfg.Ifaces[into].Bridge != 0 {
			w.to(StageBridge, b) // a bridge member takes every frame
			continue
		}
		if f[0]&1 != 0 {
			b.Flags |= pkt.FlagL2Multicast
		} else if binary.BigEndian.Uint32(f[0:4]) != macHi || binary.BigEndian.Uint16(f[4:6]) != macLo {
			w.drop(b, EtherNotForUs)
			continue
		}
		switch et {
		case hdr.EtherTypeIPv4:
			in.B[k] = x
			k++
		case hdr.EtherTypeARP:
			w.to(StageARPInput, b)
		case hdr.EtherTypeIPv6:
			w.drop(b, EtherIPv6)
		default:
			w.drop(b, EtherUnknownType)
		}
	}
	// Frames of a sub-interface count on it alone; everything else
	// (drops included, and frames for a down sub-interface) on the port.
	rxp[iface] += uint64(in.N - sub)
	rxb[iface] += bytes
	w.pass(StageEthernetInput, StageIP4Input, k)
}

// bridgePort is ethernet-input for an up port that is a bridge member
// and has no VLAN sub-interfaces: every frame goes to l2-bridge, passed
// on as a vector; a tagged one only behind a priority tag (untagged,
// once), else it is dropped as on any port without VLANs.
func (w *Worker) bridgePort(in *pkt.Batch, iface uint16) {
	var bytes uint64
	k := 0
	for _, x := range in.B[:in.N] {
		b := pkt.At(x)
		b.InPort = iface
		bytes += uint64(b.Len)
		f := b.Bytes()
		if len(f) < hdr.EthernetLen {
			w.drop(b, EtherRunt)
			continue
		}
		b.L3 = hdr.EthernetLen
		if isTPID(binary.BigEndian.Uint16(f[12:14])) {
			_, off, _, r := vlanInput(nil, iface, f)
			if r != ReasonNone {
				w.drop(b, r)
				continue
			}
			b.L3 = uint16(off)
		}
		in.B[k] = x
		k++
	}
	w.c.RxPackets[iface] += uint64(in.N)
	w.c.RxBytes[iface] += bytes
	w.pass(StageEthernetInput, StageBridge, k)
}

// etherFast passes frames from in.B[i:] while they are IPv4 to the
// interface's unicast MAC, compacting them to in.B[k:]; it returns where it
// stopped, the new k and the byte count so far.
func etherFast(in *pkt.Batch, i, k int, bytes uint64, iface uint16, macHi uint32, macLo uint16) (int, int, uint64) {
	n := in.N
	recs := pkt.Records()
	for ; i < n; i++ {
		x := in.B[i]
		b := recs.At(x)
		f := b.Bytes()
		if len(f) < hdr.EthernetLen || binary.BigEndian.Uint32(f[0:4]) != macHi ||
			binary.BigEndian.Uint16(f[4:6]) != macLo || binary.BigEndian.Uint16(f[12:14]) != hdr.EtherTypeIPv4 {
			return i, k, bytes
		}
		bytes += uint64(b.Len)
		b.InPort = iface
		b.L3 = hdr.EthernetLen
		in.B[k] = x
		k++
	}
	return i, k, bytes
}

// arpInput answers ARP requests for the router's addresses in place and
// punts what the control plane learns from.
//
// arp-input (RFC 826):
//   - A request for one of the receiving interface's addresses is turned
//     into the reply in the same buffer and sent back out the interface;
//     the data plane answers, so ARP keeps working when the control plane
//     is busy.
//   - Requests and replies from an on-link sender addressed to us,
//     gratuitous ARP from on-link senders, and any ARP whose sender is a
//     known neighbour on that interface with a different MAC (RFC 826's
//     merge: the sender's entry is updated whoever the target is) are
//     copied to the control plane (PuntARP) to learn the sender's MAC.
//   - Next: interface-output (replies), drop (malformed, not for us, bad
//     sender); other buffers return to the pool after the punt.
func (w *Worker) arpInput(cfg *Config, in *pkt.Batch) {
	for _, x := range in.B[:in.N] {
		b := pkt.At(x)
		f := b.Bytes()
		a := hdr.ARP(f[b.L3:])
		if a.Validate() != hdr.OK {
			w.drop(b, ARPMalformed)
			continue
		}
		ifc := &cfg.Ifaces[b.InPort]
		sip, tip := a.SenderIP(), a.TargetIP()
		sha := a.SenderMAC()
		// RFC 1812 §3.3.2: never learn a broadcast, multicast or zero
		// hardware address, nor our own.
		if sha[0]&1 != 0 || (sha[0]|sha[1]|sha[2]|sha[3]|sha[4]|sha[5]) == 0 || [6]byte(sha) == ifc.MAC {
			w.drop(b, ARPBadSender)
			continue
		}
		ours, onlink := false, false
		for _, ad := range ifc.Addrs {
			if ad.Addr == tip {
				ours = true
			}
			m := prefixMask(ad.Len)
			if sip&m == ad.Addr&m && sip != ad.Addr && sip != 0 {
				onlink = true
			}
		}
		// An ARP probe (RFC 5227: sender IP 0) for one of our addresses
		// is answered so the prober sees the address is taken; there is
		// nothing to learn from it.
		probe := sip == 0 && ours && a.Op() == hdr.ARPRequest
		if !onlink && !probe {
			w.drop(b, ARPBadSender)
			continue
		}
		if !ours && sip != tip && !w.movedNeighbor(cfg, b.InPort, sip, sha) {
			w.drop(b, ARPNotForUs)
			continue
		}
		if !probe {
			if m := w.punt.Reserve(); m != nil {
				m.Kind, m.Iface = PuntARP, b.InPort
				m.SetAddr4(sip)
				// From L3-14 on: the control plane reads the ARP
				// at offset 14 whatever tags the frame had.
				m.SetFrame(f[int(b.L3)-hdr.EthernetLen:])
				w.punt.Commit()
				w.c.Punts++
			} else {
				w.c.PuntFull++
			}
		}
		if !ours || a.Op() != hdr.ARPRequest {
			w.c.ARPConsumed++
			w.pool.Put(b) // consumed: learning is the control plane's
			continue
		}
		// Reply in place (RFC 826 "swap fields"), to the requester's
		// hardware address as the ARP packet gives it.
		copy(f[0:6], sha)
		copy(f[6:12], ifc.MAC[:])
		copy(a.TargetMAC(), a.SenderMAC())
		a.SetTargetIP(sip)
		copy(a.SenderMAC(), ifc.MAC[:])
		a.SetSenderIP(tip)
		a.SetOp(hdr.ARPReply)
		b.OutPort = b.InPort
		w.to(StageInterfaceOutput, b)
	}
	in.N = 0
}

// movedNeighbor reports whether sip is a neighbour on interface in whose
// adjacency (its /32 host route) has a MAC other than sha, or is still
// being resolved: then an ARP from it, even one not aimed at us, must
// reach the control plane (RFC 826 merge), so that a host that changed
// its MAC (a replaced NIC, a re-created veth) is followed at once. One
// FIB lookup per ARP not for us; never per data packet.
func (w *Worker) movedNeighbor(cfg *Config, in uint16, sip uint32, sha []byte) bool {
	ai := int(cfg.FIB.Lookup(sip))
	if ai >= len(cfg.Adj) {
		return false
	}
	a := &cfg.Adj[ai]
	if a.Iface != in || a.Addr != sip {
		return false
	}
	switch a.Kind {
	case AdjForward:
		return [6]byte(a.Rewrite[0:6]) != [6]byte(sha)
	case AdjIncomplete:
		return true
	}
	return false
}

func prefixMask(n uint8) uint32 {
	if n == 0 {
		return 0
	}
	return ^uint32(0) << (32 - n)
}

// Trace: the receiving interface.
var traceEthernetInput = NodeTrace{
	Record: func(w *Worker, _ *Config, _ *pkt.Buf, st *RawStep) { st.A = w.rxIf },
	Note: func(cfg *Config, st, nx *RawStep, _ bool) string {
		if nx != nil {
			switch nx.Stage {
			case StageIP4Input:
				return "IPv4 on " + IfaceName(cfg, int(st.A))
			case StageARPInput:
				return "ARP on " + IfaceName(cfg, int(st.A))
			}
		}
		return "received on " + IfaceName(cfg, int(st.A))
	},
}

var traceARPInput = NodeTrace{
	Note: func(_ *Config, _, nx *RawStep, _ bool) string {
		if nx != nil && nx.Stage == StageInterfaceOutput {
			return "request for our address: reply built in place"
		}
		return "learning punted to the control plane"
	},
}
