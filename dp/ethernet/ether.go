package ethernet

import (
	"encoding/binary"

	"github.com/softnet/softnet/dp"
	"github.com/softnet/softnet/hdr"
	"github.com/softnet/softnet/pkt"
)

// ethernet-input: its registration (see dp.Register).
var (
	StageInput dp.Stage
	// Successors registered by other packages (see dp.Ref): arp-input
	// (dp/arp), l2-bridge (dp/l2), ip4-input (dp/ip4), ip6-input (dp/ip6).
	stageARPInput, stageBridge, stageIP4Input, stageIP6Input dp.Stage

	Runt, NotForUs, UnknownType, VLANTagged, IfaceDown, RSSRingFull            dp.Reason
	MulticastSource, OwnSource                                                 dp.Reason
	VLANUnknown, VLANReserved, VLANStackedPriority, VLANTooDeep, VLANTruncated dp.Reason
)

var _ = dp.Register(dp.Node{
	Name:  "ethernet-input",
	Stage: &StageInput,
	Run:   ethernetInput,
	Next:  []string{"l2-bridge", "arp-input", "ip4-input", "ip6-input", "drop"},
	Reasons: []dp.ReasonDef{
		{Reason: &Runt, Name: "runt", Desc: "frame shorter than an Ethernet header"},
		{Reason: &NotForUs, Name: "not-for-us", Desc: "destination MAC is neither the interface's, broadcast nor multicast we accept"},
		{Reason: &UnknownType, Name: "unknown-ethertype", Desc: "EtherType not handled (not IPv4, IPv6 or ARP)"},
		{Reason: &VLANTagged, Name: "vlan-tagged", Desc: "802.1Q/802.1ad tagged frame on an interface with no VLAN sub-interfaces"},
		{Reason: &IfaceDown, Name: "iface-down", Desc: "frame received on an interface (or VLAN sub-interface) that is down"},
		{Reason: &RSSRingFull, Name: "rss-ring-full", Desc: "software RSS: the lane to the worker that owns the flow was full (an ifq drop: that worker is behind)"},
		// VLAN demux (IEEE 802.1Q), see vlan.go.
		{Reason: &VLANUnknown, Name: "vlan-unknown", Desc: "VLAN tag (or outer/inner pair) with no sub-interface on the receiving port"},
		{Reason: &VLANReserved, Name: "vlan-reserved", Desc: "VID 4095, reserved by IEEE 802.1Q: never a VLAN"},
		{Reason: &VLANStackedPriority, Name: "vlan-stacked-priority", Desc: "VID 0 (priority tag) behind another tag, or a tag behind a priority tag"},
		{Reason: &VLANTooDeep, Name: "vlan-too-deep", Desc: "more VLAN tags than the sub-interface is configured with"},
		{Reason: &VLANTruncated, Name: "vlan-truncated", Desc: "frame ends inside a VLAN tag"},
		// Source MAC checks (issue 12 item 7).
		{Reason: &MulticastSource, Name: "multicast-source", Desc: "source MAC is a group address (multicast or broadcast): no station sends from one (IEEE 802)"},
		{Reason: &OwnSource, Name: "own-source", Desc: "source MAC is the receiving interface's own: a frame looped back to the router (a loop in the network, or a device with a duplicate MAC)"},
	},
	Trace: traceEthernetInput,
})

// ethernetInput classifies received frames by EtherType.
//
// ethernet-input: the first stage of every received batch (one batch is one
// receive queue of one port).
//   - Accepts frames to the interface's MAC, broadcast and multicast
//     (marked FlagL2Multicast); drops runts and frames for other MACs.
//   - Drops a routed frame (not a bridge member's: l2-bridge checks
//     those) whose source MAC is a group address, multicast or
//     broadcast (multicast-source, IEEE 802), or the receiving
//     interface's own MAC (own-source: looped back), whatever its
//     EtherType.
//   - Demuxes VLAN-tagged frames to their sub-interface by a direct table
//     index (see dp.VLANTable, vlanInput): the frame is then the
//     sub-interface's (InPort, counters) and L3 is past its tags. Bad tags
//     drop with their own reasons.
//   - Next: arp-input (0x0806), ip4-input (0x0800), ip6-input (0x86DD),
//     drop (other EtherTypes). The batch's IP frames of the first frame's
//     family are compacted in place and passed on as the vector; the
//     other family's go one by one (w.To).
//
// Example: a 64-byte IPv4/UDP frame to the interface's MAC goes to
// ip4-input with L3 = 14; the same frame in an 802.1Q tag of VLAN 100 goes
// to ip4-input with L3 = 18 and InPort = the VLAN 100 sub-interface.
func ethernetInput(w *dp.Worker, cfg *dp.Config, in *pkt.Batch) {
	iface := w.RxIface()
	if int(iface) >= len(cfg.Ifaces) {
		for _, x := range in.B[:in.N] {
			b := pkt.At(x)
			b.InPort = iface
			w.Drop(b, IfaceDown)
		}
		in.N = 0
		return
	}
	ifc := &cfg.Ifaces[iface]
	macHi := binary.BigEndian.Uint32(ifc.MAC[0:4])
	macLo := binary.BigEndian.Uint16(ifc.MAC[4:6])
	up := ifc.Up
	fast := up && ifc.Bridge == 0 && !w.General() // a bridge member's frames all go to l2-bridge
	var vt *dp.VLANTable
	if int(iface) < len(cfg.VLANs) {
		vt = cfg.VLANs[iface]
	}
	var bytes uint64
	sub := 0 // frames counted on sub-interfaces, not on the port
	rxp, rxb := w.Stats().RxPackets, w.Stats().RxBytes
	if up && ifc.Bridge != 0 && vt == nil {
		bridgePort(w, in, iface)
		return
	}
	// The packets of one IP family, the vector's (vet: IPv4 unless the
	// first frame is IPv6), are compacted in place and passed on as a
	// vector; the common cases (that family to our MAC on an up
	// interface from a unicast source not ours, untagged or in one 802.1Q
	// tag of a sub-interface) run in etherFast and etherVLANFast, loops
	// with no calls that stop at the first packet needing more.
	vet, vnext := uint16(hdr.EtherTypeIPv4), stageIP4Input
	if in.N > 0 && firstEtherType(pkt.At(in.B[0]).Bytes()) == hdr.EtherTypeIPv6 {
		vet, vnext = hdr.EtherTypeIPv6, stageIP6Input
	}
	mac := uint64(macHi)<<16 | uint64(macLo)
	k := 0
	for i, n := 0, in.N; i < n; i++ {
		if fast {
			if i, k, bytes = etherFast(in, i, k, bytes, iface, mac, vet); i == n {
				break
			}
			if vt != nil {
				i0 := i
				i, k = etherVLANFast(in, i, k, vt, mac, vet, rxp, rxb)
				sub += i - i0
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
			w.Drop(b, Runt)
			continue
		}
		if !up {
			bytes += uint64(b.Len)
			w.Drop(b, IfaceDown)
			continue
		}
		l3, et := hdr.EthernetLen, binary.BigEndian.Uint16(f[12:14])
		into := iface
		if isTPID(et) {
			e, off, t, r := vlanInput(vt, iface, f)
			if r != dp.ReasonNone {
				bytes += uint64(b.Len)
				w.Drop(b, r)
				continue
			}
			if e != iface {
				if e&dp.VLANDown != 0 || int(e&^dp.VLANBridged) >= len(rxp) {
					bytes += uint64(b.Len) // counted on the port
					b.InPort = e &^ (dp.VLANDown | dp.VLANBridged)
					w.Drop(b, IfaceDown)
					continue
				}
				into = e &^ dp.VLANBridged
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
			w.To(stageBridge, b) // a bridge member takes every frame
			continue
		}
		if f[0]&1 != 0 {
			b.Flags |= pkt.FlagL2Multicast
		} else if binary.BigEndian.Uint32(f[0:4]) != macHi || binary.BigEndian.Uint16(f[4:6]) != macLo {
			w.Drop(b, NotForUs)
			continue
		}
		if f[6]&1 != 0 { // the I/G bit: a group address
			w.Drop(b, MulticastSource)
			continue
		}
		if binary.BigEndian.Uint32(f[6:10]) == macHi && binary.BigEndian.Uint16(f[10:12]) == macLo {
			w.Drop(b, OwnSource)
			continue
		}
		switch et {
		case vet:
			in.B[k] = x
			k++
		case hdr.EtherTypeIPv4:
			w.To(stageIP4Input, b)
		case hdr.EtherTypeARP:
			w.To(stageARPInput, b)
		case hdr.EtherTypeIPv6:
			w.To(stageIP6Input, b)
		default:
			w.Drop(b, UnknownType)
		}
	}
	// Frames of a sub-interface count on it alone; everything else
	// (drops included, and frames for a down sub-interface) on the port.
	rxp[iface] += uint64(in.N - sub)
	rxb[iface] += bytes
	w.Pass(StageInput, vnext, k)
}

// firstEtherType is the EtherType of frame f, behind one VLAN tag if it
// has one (0 for a frame too short to say): ethernet-input's choice of
// the family it passes on as a vector.
func firstEtherType(f []byte) uint16 {
	if len(f) < hdr.EthernetLen {
		return 0
	}
	et := binary.BigEndian.Uint16(f[12:14])
	if isTPID(et) && len(f) >= hdr.EthernetLen+dp.TagLen {
		et = binary.BigEndian.Uint16(f[16:18])
	}
	return et
}

// bridgePort is ethernet-input for an up port that is a bridge member
// and has no VLAN sub-interfaces: every frame goes to l2-bridge, passed
// on as a vector; a tagged one only behind a priority tag (untagged,
// once), else it is dropped as on any port without VLANs.
func bridgePort(w *dp.Worker, in *pkt.Batch, iface uint16) {
	var bytes uint64
	k := 0
	for _, x := range in.B[:in.N] {
		b := pkt.At(x)
		b.InPort = iface
		bytes += uint64(b.Len)
		f := b.Bytes()
		if len(f) < hdr.EthernetLen {
			w.Drop(b, Runt)
			continue
		}
		b.L3 = hdr.EthernetLen
		if isTPID(binary.BigEndian.Uint16(f[12:14])) {
			_, off, _, r := vlanInput(nil, iface, f)
			if r != dp.ReasonNone {
				w.Drop(b, r)
				continue
			}
			b.L3 = uint16(off)
		}
		in.B[k] = x
		k++
	}
	w.Stats().RxPackets[iface] += uint64(in.N)
	w.Stats().RxBytes[iface] += bytes
	w.Pass(StageInput, stageBridge, k)
}

// etherFast passes frames from in.B[i:] while they are of EtherType et
// (IPv4 or IPv6), to the interface's unicast MAC (mac: its 48 bits) from
// a unicast source that is not that MAC, compacting them to in.B[k:]; it
// returns where it stopped, the new k and the byte count so far.
func etherFast(in *pkt.Batch, i, k int, bytes uint64, iface uint16, mac uint64, et uint16) (int, int, uint64) {
	n := in.N
	recs := pkt.Records()
	for ; i < n; i++ {
		x := in.B[i]
		b := recs.At(x)
		f := b.Bytes()
		if len(f) < hdr.EthernetLen {
			return i, k, bytes
		}
		// Two loads: the destination MAC (with two bytes of the source,
		// shifted out); the source MAC and the EtherType.
		s := binary.BigEndian.Uint64(f[6:14])
		if binary.BigEndian.Uint64(f[0:8])>>16 != mac || uint16(s) != et ||
			s>>16 == mac || s&(1<<56) != 0 { // own source; group source (I/G bit)
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

// Trace: the receiving interface.
var traceEthernetInput = dp.NodeTrace{
	Record: func(w *dp.Worker, _ *dp.Config, _ *pkt.Buf, st *dp.RawStep) { st.A = w.RxIface() },
	Note: func(cfg *dp.Config, st, nx *dp.RawStep, _ bool) string {
		if nx != nil {
			switch nx.Stage {
			case stageIP4Input:
				return "IPv4 on " + dp.IfaceName(cfg, int(st.A))
			case stageARPInput:
				return "ARP on " + dp.IfaceName(cfg, int(st.A))
			}
		}
		return "received on " + dp.IfaceName(cfg, int(st.A))
	},
}

var (
	_ = dp.Ref("arp-input", &stageARPInput)
	_ = dp.Ref("l2-bridge", &stageBridge)
	_ = dp.Ref("ip4-input", &stageIP4Input)
	_ = dp.Ref("ip6-input", &stageIP6Input)
)
