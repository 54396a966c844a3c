package control

import (
	"fmt"

	"github.com/softnet/softnet/control/arp"
	"github.com/softnet/softnet/dp"
	"github.com/softnet/softnet/hdr"
	"github.com/softnet/softnet/pkt"
)

// Host interfaces (linux_cp, as VPP's "lcp create"): an interface with a
// host interface has a TAP in a Linux namespace, with its MAC, MTU and
// addresses, through which the kernel and its daemons (BIRD, FRR) speak
// on softnet's port. The data plane punts to it what it does not answer
// itself (package dp/hostpunt: dp.PuntHost); the control plane hands those
// frames, and copies of the ARP replies and Neighbor Advertisements
// addressed to the router (so that the kernel resolves its own
// neighbours), to the HostSink; what the kernel sends on the TAP comes
// back through SendHostFrame and leaves by the port as it is. The TAPs
// themselves are package linuxcp's (HostIf); run wires the two.

// HostSink receives the frames for interface iface's host interface,
// untagged. It is called on the service loop with the router's lock held
// and must not block (a TAP opened non-blocking: a full TAP queue drops)
// nor keep frame, which is only valid during the call.
type HostSink func(iface int, frame []byte)

// SetHostSink sets where frames for host interfaces go (nil: nowhere).
func (r *Router) SetHostSink(s HostSink) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.hostSink = s
}

// SetHostInterface says whether interface idx has a host interface: with
// one, the data plane punts to it the traffic to the router's addresses
// it does not answer itself (dp.Iface.Host). Published at the next
// publish.
func (r *Router) SetHostInterface(idx int, on bool) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if idx < 0 || idx >= len(r.ifaces) || r.ifaces[idx].Deleted {
		return fmt.Errorf("no interface %d for a host interface", idx)
	}
	for len(r.hostIf) <= idx {
		r.hostIf = append(r.hostIf, false)
	}
	r.hostIf[idx] = on
	r.dirty = true
	return nil
}

// SetHostPunt sets the host punt rate limit: packets per second and
// burst per worker and per class (dp.Config.HostRate; 0: the default).
func (r *Router) SetHostPunt(rate, burst int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.hostRate, r.hostBurst = rate, burst
	r.dirty = true
}

// SetHostNeighbors says whether Linux behind the host interfaces owns
// ARP and Neighbor Discovery for their addresses (linux_cp arp_nd:
// linux): ARP requests and Neighbor Solicitations for the router's
// addresses on an interface with a host interface go to the kernel,
// which answers; softnet still learns from them and resolves its own
// next hops. False (the default): softnet answers, and the kernel gets
// copies of the replies only.
func (r *Router) SetHostNeighbors(linux bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.hostNeigh = linux
	r.dirty = true
}

// hostOwnsNeigh reports whether Linux answers ARP and ND on interface i.
// Caller holds mu.
func (r *Router) hostOwnsNeigh(i int) bool { return r.hostNeigh && r.hasHost(i) }

// hasHost reports whether interface i has a host interface. Caller holds
// mu.
func (r *Router) hasHost(i int) bool {
	return i < len(r.hostIf) && r.hostIf[i] && i < len(r.ifaces) && !r.ifaces[i].Deleted
}

// toHost hands frame to interface i's host interface, if it has one and
// a sink is set. Caller holds mu.
func (r *Router) toHost(i int, frame []byte) {
	if r.hostSink == nil || !r.hasHost(i) {
		r.stats.HostDrops++
		return
	}
	r.stats.HostRx++
	r.hostSink(i, frame)
}

// arpToHost copies an ARP reply addressed to the router (a punted ARP,
// the ARP packet at offset 14 of m's frame) to the host interface, with a
// fresh untagged Ethernet header: the kernel learns the neighbours it
// asked for itself. Requests are answered by the data plane, unless Linux
// owns ARP (SetHostNeighbors): then they are copied too.
// Caller holds mu.
func (r *Router) arpToHost(m *dp.Msg, a arp.Packet) {
	i := int(m.Iface)
	if !r.hasHost(i) || a.Op != hdr.ARPReply && !r.hostOwnsNeigh(i) || r.hostSink == nil {
		return
	}
	f := m.Frame()
	var buf [hdr.EthernetLen + 28]byte
	if len(f) < len(buf) {
		return
	}
	ifc := &r.ifaces[i]
	copy(buf[0:6], ifc.MAC[:])
	copy(buf[6:12], a.SenderMAC[:])
	buf[12], buf[13] = 0x08, 0x06
	copy(buf[14:], f[14:14+28])
	r.toHost(i, buf[:])
}

// ndToHost copies a Neighbor Advertisement addressed to the router, or
// with SetHostNeighbors a Neighbor Solicitation (a
// punted ND message, the IPv6 header at offset 14 of m's frame) to the
// host interface, with a fresh untagged Ethernet header (the source MAC
// the advertisement's target link-layer address, else zero). Caller
// holds mu.
func (r *Router) ndToHost(m *dp.Msg, linkAddr [6]byte) {
	i := int(m.Iface)
	if !r.hasHost(i) || r.hostSink == nil {
		return
	}
	f := m.Frame()
	if len(f) < hdr.EthernetLen+hdr.IPv6Len || len(f) > 2048 {
		return
	}
	buf := make([]byte, len(f))
	copy(buf, f)
	ifc := &r.ifaces[i]
	copy(buf[0:6], ifc.MAC[:])
	if dst := buf[hdr.EthernetLen+24 : hdr.EthernetLen+40]; dst[0] == 0xff {
		// To a group (a solicitation): its multicast MAC (RFC 2464 §7).
		buf[0], buf[1] = 0x33, 0x33
		copy(buf[2:6], dst[12:16])
	}
	copy(buf[6:12], linkAddr[:])
	buf[12], buf[13] = 0x86, 0xdd
	r.toHost(i, buf)
}

// SendHostFrame sends frame, an Ethernet frame the kernel wrote on
// interface iface's host interface, out of the interface as it is (a VLAN
// sub-interface's tags inserted after the addresses). frame is copied.
// It is for the goroutine that reads the TAP; the frame leaves after the
// service loop's next pass, which the lock's release wakes.
func (r *Router) SendHostFrame(iface int, frame []byte) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.hasHost(iface) {
		r.stats.HostDrops++
		return fmt.Errorf("interface %d has no host interface", iface)
	}
	if len(frame) < hdr.EthernetLen {
		r.stats.HostDrops++
		return fmt.Errorf("host interface frame of %d bytes: shorter than an Ethernet header", len(frame))
	}
	ifc := &r.ifaces[iface]
	tl := int(ifc.TagLen)
	if len(frame)+tl > pkt.MaxFrame {
		r.stats.HostDrops++
		return fmt.Errorf("host interface frame of %d bytes: above the largest frame softnet sends (%d)", len(frame), pkt.MaxFrame)
	}
	f := make([]byte, len(frame)+tl)
	copy(f, frame[:12])
	copy(f[12:], ifc.Tags[8-tl:])
	copy(f[12+tl:], frame[12:])
	r.outbox = append(r.outbox, outMsg{kind: dp.InjectTx, iface: uint16(iface), frame: f})
	r.stats.HostTx++
	return nil
}
