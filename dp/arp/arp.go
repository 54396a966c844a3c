package arp

import (
	"github.com/softnet/softnet/dp"
	"github.com/softnet/softnet/hdr"
	"github.com/softnet/softnet/pkt"
)

// arp-input: its registration (see dp.Register). Its stage and drop
// reasons are set when it registers.
var (
	StageInput dp.Stage

	Malformed, NotForUs, BadSender dp.Reason
)

var _ = dp.Register(dp.Node{
	Name:  "arp-input",
	Stage: &StageInput,
	Run:   arpInput,
	Next:  []string{"interface-output", "drop"},
	Reasons: []dp.ReasonDef{
		{Reason: &Malformed, Name: "malformed", Desc: "not an Ethernet/IPv4 ARP request or reply, or truncated"},
		{Reason: &NotForUs, Name: "not-for-us", Desc: "ARP target address is not one of the interface's addresses"},
		{Reason: &BadSender, Name: "bad-sender", Desc: "ARP sender IP not on the interface's subnet or ours, or sender MAC broadcast/multicast/zero/ours (RFC 1812 §3.3.2)"},
	},
	Trace: traceARPInput,
})

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
//   - On an interface whose host interface's Linux owns ARP
//     (dp.Iface.HostNeigh, linux_cp arp_nd: linux) a request is punted
//     and consumed, not answered: the control plane copies it to the
//     host interface, whose kernel answers.
//   - Next: interface-output (replies), drop (malformed, not for us, bad
//     sender); other buffers return to the pool after the punt.
func arpInput(w *dp.Worker, cfg *dp.Config, in *pkt.Batch) {
	c, pool, punt := w.Stats(), w.Pool(), w.Punt()
	for _, x := range in.B[:in.N] {
		b := pkt.At(x)
		f := b.Bytes()
		a := hdr.ARP(f[b.L3:])
		if a.Validate() != hdr.OK {
			w.Drop(b, Malformed)
			continue
		}
		ifc := &cfg.Ifaces[b.InPort]
		sip, tip := a.SenderIP(), a.TargetIP()
		sha := a.SenderMAC()
		// RFC 1812 §3.3.2: never learn a broadcast, multicast or zero
		// hardware address, nor our own.
		if sha[0]&1 != 0 || (sha[0]|sha[1]|sha[2]|sha[3]|sha[4]|sha[5]) == 0 || [6]byte(sha) == ifc.MAC {
			w.Drop(b, BadSender)
			continue
		}
		ours, onlink := false, false
		for _, ad := range ifc.Addrs {
			if !ad.Is4() {
				continue // an IPv6 address: ND's, not ARP's
			}
			a4 := ad.Addr4()
			if a4 == tip {
				ours = true
			}
			m := prefixMask(ad.Len)
			if sip&m == a4&m && sip != a4 && sip != 0 {
				onlink = true
			}
		}
		// An ARP probe (RFC 5227: sender IP 0) for one of our addresses
		// is answered so the prober sees the address is taken; there is
		// nothing to learn from it.
		probe := sip == 0 && ours && a.Op() == hdr.ARPRequest
		if !onlink && !probe {
			w.Drop(b, BadSender)
			continue
		}
		if !ours && sip != tip && !movedNeighbor(cfg, b.InPort, sip, sha) {
			w.Drop(b, NotForUs)
			continue
		}
		if !probe {
			if m := punt.Reserve(); m != nil {
				m.Kind, m.Iface = dp.PuntARP, b.InPort
				m.SetAddr4(sip)
				// From L3-14 on: the control plane reads the ARP
				// at offset 14 whatever tags the frame had.
				m.SetFrame(f[int(b.L3)-hdr.EthernetLen:])
				punt.Commit()
				c.Punts++
			} else {
				c.PuntFull++
			}
		}
		if !ours || a.Op() != hdr.ARPRequest || ifc.HostNeigh && !probe {
			c.ARPConsumed++
			pool.Put(b) // consumed: learning is the control plane's
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
		w.To(dp.StageInterfaceOutput, b)
	}
	in.N = 0
}

// movedNeighbor reports whether sip is a neighbour on interface in whose
// adjacency (its /32 host route) has a MAC other than sha, or is still
// being resolved: then an ARP from it, even one not aimed at us, must
// reach the control plane (RFC 826 merge), so that a host that changed
// its MAC (a replaced NIC, a re-created veth) is followed at once. One
// FIB lookup per ARP not for us; never per data packet.
func movedNeighbor(cfg *dp.Config, in uint16, sip uint32, sha []byte) bool {
	ai := int(cfg.FIB.Lookup(sip))
	if ai >= len(cfg.Adj) {
		return false
	}
	a := &cfg.Adj[ai]
	if a.Iface != in || a.Addr != dp.Mapped4(sip) {
		return false
	}
	switch a.Kind {
	case dp.AdjForward:
		return a.DstMAC() != [6]byte(sha)
	case dp.AdjIncomplete:
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

var traceARPInput = dp.NodeTrace{
	Note: func(_ *dp.Config, _, nx *dp.RawStep, _ bool) string {
		if nx != nil && nx.Stage == dp.StageInterfaceOutput {
			return "request for our address: reply built in place"
		}
		return "learning punted to the control plane"
	},
}
