package hostpunt

import (
	"time"

	"github.com/softnet/softnet/dp"
	"github.com/softnet/softnet/pkt"
)

// Class is what kind of traffic a punted packet is: each class has its
// own token bucket per worker. The sender sets it in pkt.Buf.Aux.
type Class uint32

const (
	TCP       Class = iota // TCP to a router address (BGP, LDP, SSH)
	UDP                    // UDP to a router address (BFD, RIP, DHCP relay)
	ICMP                   // ICMP or ICMPv6 other than echo request and ND
	Other                  // other protocols: OSPF (89), VRRP (112), PIM (103)
	Multicast              // link-scoped multicast: 224.0.0.0/24, ff02::/16
	NumClasses
)

var className = [NumClasses]string{"tcp", "udp", "icmp", "other", "multicast"}

// String is the class's name as in its drop reason.
func (c Class) String() string {
	if c < NumClasses {
		return className[c]
	}
	return "unknown"
}

// host-punt: its registration (see dp.Register).
var (
	Stage dp.Stage

	RingFull dp.Reason
	// RateLimited is each class's drop reason.
	RateLimited [NumClasses]dp.Reason
)

var _ = dp.Register(dp.Node{
	Name:  "host-punt",
	Stage: &Stage,
	Run:   hostPunt,
	State: func(*dp.Worker) any { return new(buckets) },
	Next:  []string{"drop"},
	Reasons: []dp.ReasonDef{
		{Reason: &RateLimited[TCP], Name: "rate-limited-tcp", Desc: "TCP for a host interface over linux_cp's punt_rate (per worker)"},
		{Reason: &RateLimited[UDP], Name: "rate-limited-udp", Desc: "UDP for a host interface over linux_cp's punt_rate (per worker)"},
		{Reason: &RateLimited[ICMP], Name: "rate-limited-icmp", Desc: "ICMP for a host interface over linux_cp's punt_rate (per worker)"},
		{Reason: &RateLimited[Other], Name: "rate-limited-other", Desc: "other protocols (OSPF, VRRP, ...) for a host interface over linux_cp's punt_rate (per worker)"},
		{Reason: &RateLimited[Multicast], Name: "rate-limited-multicast", Desc: "link-local multicast for a host interface over linux_cp's punt_rate (per worker)"},
		{Reason: &RingFull, Name: "ring-full", Desc: "the punt ring to the control plane was full: the host interface's frame is lost"},
	},
	Trace: dp.NodeTrace{
		Record: func(_ *dp.Worker, _ *dp.Config, b *pkt.Buf, st *dp.RawStep) { st.A = uint16(b.Aux) },
		Note: func(_ *dp.Config, st, nx *dp.RawStep, _ bool) string {
			if nx != nil {
				return Class(st.A).String() + ": over the rate limit or no room"
			}
			return Class(st.A).String() + ": punted to the host interface"
		},
	},
})

// buckets is a worker's token buckets, one per class.
type buckets struct {
	tokens [NumClasses]int
	last   [NumClasses]int64 // when each was last refilled (ns)
}

// refill tops up class c's bucket at now (see the ICMP bucket in dp/ip4:
// the remainder of a partial token is kept; a long quiet spell simply
// fills the bucket).
func (s *buckets) refill(c Class, now int64, rate, burst int) {
	r := int64(max(rate, 1))
	if s.last[c] == 0 || now-s.last[c] >= int64(burst)*1e9/r {
		s.last[c], s.tokens[c] = now, burst
		return
	}
	if add := (now - s.last[c]) * r / 1e9; add > 0 {
		s.tokens[c] = min(s.tokens[c]+int(add), burst)
		s.last[c] += add * 1e9 / r
	}
}

// hostPunt copies each packet to the control plane for the host
// interface of the interface it arrived on.
//
// host-punt: one token of the packet's class (pkt.Buf.Aux), then one
// copy into the punt ring (dp.PuntHost: the Ethernet addresses, the
// EtherType and the IP packet; a VLAN sub-interface's tags left out);
// the buffer is freed. Next: drop (rate-limited-*, ring-full).
func hostPunt(w *dp.Worker, cfg *dp.Config, in *pkt.Batch) {
	st := w.State(Stage).(*buckets)
	rate, burst := cfg.HostRate, cfg.HostBurst
	if rate <= 0 {
		rate = dp.DefaultHostRate
	}
	if burst <= 0 {
		burst = dp.DefaultHostBurst
	}
	punt, c := w.Punt(), w.Stats()
	var now int64
	for _, x := range in.B[:in.N] {
		b := pkt.At(x)
		cl := Class(b.Aux)
		if cl >= NumClasses {
			cl = Other
		}
		if st.tokens[cl] <= 0 {
			if now == 0 {
				now = time.Now().UnixNano()
			}
			st.refill(cl, now, rate, burst)
			if st.tokens[cl] <= 0 {
				w.Drop(b, RateLimited[cl])
				continue
			}
		}
		m := punt.Reserve()
		if m == nil {
			c.PuntFull++
			w.Drop(b, RingFull)
			continue
		}
		st.tokens[cl]--
		raw := b.Raw()
		off := int(b.Off)
		l3 := off + int(b.L3)
		m.Kind, m.Iface = dp.PuntHost, b.InPort
		copy(m.Data[:12], raw[off:off+12])
		m.Len = uint16(12 + copy(m.Data[12:], raw[l3-2:off+int(b.Len)]))
		punt.Commit()
		c.Punts++
		switch cl {
		case TCP:
			c.HostPuntTCP++
		case UDP:
			c.HostPuntUDP++
		case ICMP:
			c.HostPuntICMP++
		case Other:
			c.HostPuntOther++
		default:
			c.HostPuntMulticast++
		}
		w.Pool().Put(b)
	}
	in.N = 0
}
