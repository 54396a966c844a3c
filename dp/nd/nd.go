package nd

import (
	"github.com/softnet/softnet/dp"
	"github.com/softnet/softnet/hdr"
	"github.com/softnet/softnet/pkt"
)

// nd-input: its registration (see dp.Register). Its stage and drop
// reasons are set when it registers.
var (
	StageInput dp.Stage

	TooShort, BadHopLimit, BadChecksum, BadCode, BadOption      dp.Reason
	MulticastTarget, BadDAD, BadSolicited, BadSource, BadSender dp.Reason
	NotForUs, Ignored, PuntQueueFull                            dp.Reason
)

var _ = dp.Register(dp.Node{
	Name:  "nd-input",
	Stage: &StageInput,
	Run:   ndInput,
	Next:  []string{"drop"},
	Reasons: []dp.ReasonDef{ // RFC 4861 §6.1, §7.1, §8.1
		{Reason: &TooShort, Name: "too-short", Desc: "ND message shorter than its type's fixed part (RS 8, RA 16, NS and NA 24, Redirect 40 bytes)"},
		{Reason: &BadHopLimit, Name: "bad-hop-limit", Desc: "ND message with an IPv6 hop limit other than 255: it crossed a router (RFC 4861 §7.1)"},
		{Reason: &BadChecksum, Name: "bad-checksum", Desc: "ND message with a bad ICMPv6 checksum"},
		{Reason: &BadCode, Name: "bad-code", Desc: "ND message with an ICMPv6 code other than 0"},
		{Reason: &BadOption, Name: "bad-option", Desc: "ND option of length 0 or running past the message (RFC 4861 §4.6)"},
		{Reason: &MulticastTarget, Name: "multicast-target", Desc: "NS, NA or Redirect whose target is a multicast address"},
		{Reason: &BadDAD, Name: "bad-dad", Desc: "NS from the unspecified address (DAD) not to a solicited-node group, or with a source link-layer address option (RFC 4861 §7.1.1)"},
		{Reason: &BadSolicited, Name: "bad-solicited-flag", Desc: "NA to a multicast address with the Solicited flag set (RFC 4861 §7.1.2)"},
		{Reason: &BadSource, Name: "bad-source", Desc: "RA or Redirect not from a link-local address, or ND from a multicast or loopback source"},
		{Reason: &BadSender, Name: "bad-sender", Desc: "ND frame whose source MAC is a group address, zero or the router's own"},
		{Reason: &NotForUs, Name: "not-for-us", Desc: "NS for an address that is not the receiving interface's, or ND to another host"},
		{Reason: &Ignored, Name: "ignored", Desc: "RA or Redirect (a router takes neither), or RS on an interface that sends no Router Advertisements (router_advertisements: false)"},
		{Reason: &PuntQueueFull, Name: "punt-queue-full", Desc: "the queue to the control plane (Neighbor Discovery) is full"},
	},
	Trace: traceNDInput,
})

// Verdict is what Check finds wrong with an ND message, or OK.
type Verdict uint8

const (
	OK Verdict = iota
	VTooShort
	VHopLimit
	VChecksum
	VCode
	VOption
	VMulticastTarget
	VDAD
	VSolicited
	VSource
)

// minLen is the fixed part of each ND message (type - 133), ICMPv6 header
// included (RFC 4861 §4.1-4.5).
var minLen = [5]int{8, 16, 24, 24, 40}

// Flags of a Neighbor Advertisement (RFC 4861 §4.4), in its byte 4.
const (
	FlagRouter    = 0x80
	FlagSolicited = 0x40
	FlagOverride  = 0x20
)

// Option types (RFC 4861 §4.6).
const (
	OptSourceLL = 1
	OptTargetLL = 2
)

// Check validates the ND message in ip, an IPv6 packet (trimmed to its
// payload length) whose Next Header is ICMPv6 and whose ICMPv6 type is
// 133..137: the validity checks of RFC 4861 §6.1.1 (RS), §6.1.2 (RA),
// §7.1.1 (NS), §7.1.2 (NA) and §8.1 (Redirect). A router that takes no
// RA keeps RA's checks anyway, so every ND message is judged alike.
func Check(ip []byte) Verdict {
	if len(ip) < hdr.IPv6Len+hdr.ICMPv6Len {
		return VTooShort
	}
	m := ip[hdr.IPv6Len:]
	typ := m[0] - hdr.ICMPv6RouterSolicit
	if typ >= 5 {
		return VTooShort // not ND: callers pass only 133..137
	}
	if len(m) < minLen[typ] {
		return VTooShort
	}
	if ip[7] != 255 {
		return VHopLimit
	}
	src, dst := ip[8:24], ip[24:40]
	if hdr.Checksum(m, hdr.PseudoSumIPv6(src, dst, hdr.ProtoICMPv6, uint32(len(m)))) != 0 {
		return VChecksum
	}
	if m[1] != 0 {
		return VCode
	}
	sll, ok := options(m[minLen[typ]:])
	if !ok {
		return VOption
	}
	if src[0] == 0xff || isLoopback(src) {
		return VSource
	}
	unspec := isZero(src)
	switch m[0] {
	case hdr.ICMPv6RouterSolicit:
		if unspec && sll {
			return VOption // RFC 4861 §6.1.1
		}
	case hdr.ICMPv6RouterAdvert, hdr.ICMPv6Redirect:
		if !isLinkLocal(src) {
			return VSource
		}
	}
	switch m[0] {
	case hdr.ICMPv6NeighborSolicit, hdr.ICMPv6NeighborAdvert, hdr.ICMPv6Redirect:
		if m[8] == 0xff {
			return VMulticastTarget
		}
	}
	switch m[0] {
	case hdr.ICMPv6NeighborSolicit:
		if unspec && (!IsSolicitedNode(dst) || sll) {
			return VDAD
		}
	case hdr.ICMPv6NeighborAdvert:
		if dst[0] == 0xff && m[4]&FlagSolicited != 0 {
			return VSolicited
		}
	}
	return OK
}

// options walks ND options (RFC 4861 §4.6): each at least 8 bytes, its
// length (in units of 8 bytes) not 0 and within opts. It reports whether
// a Source Link-Layer Address option is among them, and whether the
// options are well formed.
func options(opts []byte) (sll, ok bool) {
	for len(opts) > 0 {
		if len(opts) < 2 || opts[1] == 0 || int(opts[1])*8 > len(opts) {
			return sll, false
		}
		if opts[0] == OptSourceLL {
			sll = true
		}
		opts = opts[int(opts[1])*8:]
	}
	return sll, true
}

// Option returns the link-layer address of the first option of type typ
// (OptSourceLL, OptTargetLL) among opts, well formed ones (Check), and
// whether there is one: an Ethernet address option is 8 bytes, type,
// length 1, the MAC.
func Option(opts []byte, typ uint8) ([6]byte, bool) {
	for len(opts) >= 8 && opts[1] != 0 && int(opts[1])*8 <= len(opts) {
		if opts[0] == typ && opts[1] == 1 {
			return [6]byte(opts[2:8]), true
		}
		opts = opts[int(opts[1])*8:]
	}
	return [6]byte{}, false
}

// IsSolicitedNode reports whether a is a solicited-node multicast address,
// ff02::1:ff00:0/104 (RFC 4291 §2.7.1).
func IsSolicitedNode(a []byte) bool {
	return [13]byte(a[:13]) == [13]byte{0xff, 0x02, 11: 1, 12: 0xff}
}

// SolicitedNode returns the solicited-node multicast address of a.
func SolicitedNode(a [16]byte) [16]byte {
	return [16]byte{0xff, 0x02, 11: 1, 12: 0xff, 13: a[13], 14: a[14], 15: a[15]}
}

func isZero(a []byte) bool {
	for _, c := range a[:16] {
		if c != 0 {
			return false
		}
	}
	return true
}

func isLoopback(a []byte) bool {
	for _, c := range a[:15] {
		if c != 0 {
			return false
		}
	}
	return a[15] == 1
}

func isLinkLocal(a []byte) bool { return a[0] == 0xfe && a[1]&0xc0 == 0x80 }

// ours reports whether target t is one of interface ifc's IPv6 addresses
// (its configured ones, and its link-local one).
func ours(ifc *dp.Iface, t []byte) bool {
	if [16]byte(t[:16]) == ifc.LinkLocal {
		return true
	}
	for i := range ifc.Addrs {
		if a := &ifc.Addrs[i]; !a.Is4() && a.Addr == [16]byte(t[:16]) {
			return true
		}
	}
	return false
}

// ndInput checks Neighbor Discovery messages and punts the good ones the
// router needs to the control plane.
//
// nd-input (RFC 4861): ip6-input hands it every ICMPv6 message of types
// 133..137 that directly follows the IPv6 header, before its own source
// and destination checks (a DAD solicitation comes from ::, solicitations
// go to solicited-node groups, frames to 33:33:ff:xx:xx:xx).
//   - Check's rules, each with its reason: hop limit 255, a valid
//     checksum, code 0, the type's minimum length, options of non-zero
//     length within the message, a target that is not multicast, DAD
//     source rules, no Solicited flag in a multicast NA; a group, zero or
//     own source MAC is dropped as bad-sender.
//   - A Neighbor Solicitation for one of the receiving interface's
//     addresses (a configured one or its link-local, dp.Iface.LinkLocal)
//     and a Neighbor Advertisement to the router (unicast to an address
//     of it, or to a multicast group) are copied to the control plane
//     (dp.PuntND), which answers the NS with an NA and learns the
//     sender's MAC (package control/nd). Others are not for us.
//   - A Router Solicitation on an interface that sends Router
//     Advertisements (dp.Iface.RA) is punted too, and answered with one;
//     elsewhere it is dropped as ignored, as RA and Redirect are (a
//     router takes neither).
//   - Next: drop; the control plane.
func ndInput(w *dp.Worker, cfg *dp.Config, in *pkt.Batch) {
	c, punt := w.Stats(), w.Punt()
	for _, x := range in.B[:in.N] {
		b := pkt.At(x)
		f := b.Bytes()
		ip := f[b.L3:]
		if v := Check(ip); v != OK {
			w.Drop(b, reasonOf[v])
			continue
		}
		ifc := &cfg.Ifaces[b.InPort]
		sm := f[6:12]
		if sm[0]&1 != 0 || [6]byte(sm) == ifc.MAC || [6]byte(sm) == [6]byte{} {
			w.Drop(b, BadSender)
			continue
		}
		m := ip[hdr.IPv6Len:]
		dst := ip[24:40]
		switch m[0] {
		case hdr.ICMPv6NeighborSolicit:
			if !ours(ifc, m[8:24]) || (dst[0] != 0xff && !ours(ifc, dst)) {
				w.Drop(b, NotForUs)
				continue
			}
		case hdr.ICMPv6NeighborAdvert:
			if dst[0] != 0xff && !ours(ifc, dst) {
				w.Drop(b, NotForUs)
				continue
			}
		case hdr.ICMPv6RouterSolicit:
			if !ifc.RA {
				w.Drop(b, Ignored)
				continue
			}
		default:
			w.Drop(b, Ignored)
			continue
		}
		pm := punt.Reserve()
		if pm == nil {
			w.Drop(b, PuntQueueFull)
			continue
		}
		pm.Kind, pm.Iface = dp.PuntND, b.InPort
		pm.Addr = [16]byte(ip[8:24])
		// From L3-14 on: the control plane reads the IPv6 header at
		// offset 14 whatever tags the frame had.
		pm.SetFrame(f[int(b.L3)-hdr.EthernetLen:])
		punt.Commit()
		c.Punts++
		c.ARPConsumed++ // consumed: the control plane answers and learns
		w.Pool().Put(b)
	}
	in.N = 0
}

// reasonOf maps a Verdict to its drop reason; set in init, once the
// reasons have their values (at registration).
var reasonOf [VSource + 1]dp.Reason

func init() {
	reasonOf = [...]dp.Reason{OK: dp.ReasonNone, VTooShort: TooShort, VHopLimit: BadHopLimit, VChecksum: BadChecksum,
		VCode: BadCode, VOption: BadOption, VMulticastTarget: MulticastTarget, VDAD: BadDAD, VSolicited: BadSolicited, VSource: BadSource}
}

var traceNDInput = dp.NodeTrace{
	Note: func(_ *dp.Config, _, nx *dp.RawStep, _ bool) string {
		if nx == nil {
			return "Neighbor Discovery: valid, copied to the control plane"
		}
		return "Neighbor Discovery"
	},
}
