package run

import (
	"fmt"
	"maps"
	"slices"

	"github.com/softnet/softnet/control"
	"github.com/softnet/softnet/dp"
	"github.com/softnet/softnet/dp/ethernet"
)

// Drop is one reason packets were lost, with its count: a data plane
// reason (dp.Reason), a control plane one (control.Drop, stage
// "arp-queue"), or a port's own count for one interface (stage "port").
type Drop struct {
	Stage, Reason string
	// Interface is the port interface, for stage "port"; "" otherwise.
	Interface   string
	Count       uint64
	Description string
	// Of names the reason this count is a part of, when it is one (a
	// port's transmit failures are the frames interface-output counted
	// as tx-full): it is then left out of the total, which would count
	// those frames twice.
	Of string
}

// portRxDrops are the port counts of received frames the port dropped
// before the workers saw them: they count as received and dropped.
var portRxDrops = map[string]string{
	"rx-oversize": "received frame longer than the device MTU or a buffer: dropped by the port, never truncated",
	"rx-skipped":  "frame of the pcap file longer than a buffer: not replayed",
	// AF_PACKET: a CHECKSUM_PARTIAL frame that is not TCP or UDP (SCTP's
	// CRC32c): never forwarded with its checksum unfinished.
	"rx-csum-partial": "received with a partial checksum softnet cannot finish (not TCP or UDP, e.g. SCTP): dropped by the port",
}

// portTxDrops are the port counts of frames the port did not send: a
// breakdown of interface-output/tx-full.
var portTxDrops = map[string]string{
	"tx-ring-full":  "the port's transmit ring had no free slot",
	"tx-busy":       "the kernel would not take the frame (its backlog was full)",
	"tx-no-carrier": "the link had no carrier (ip link: NO-CARRIER), before the link watcher marked it down",
	"tx-bad-length": "frame shorter than an Ethernet header or longer than the device MTU",
	"tx-down":       "the port's queue was down",
	"tx-dropped":    "the link was down or gone, or the write failed",
}

// Drops lists every drop reason, in a stable order: the data plane's
// (dp.Reason order; drop/none only if it counted), the control plane's (control.Drop order), then the
// ports' counts per interface (only those that counted). st is Status(),
// c Counters(), cs Control().Stats().
func Drops(st []IfaceStatus, c *dp.Counters, cs control.Stats) []Drop {
	var out []Drop
	if n := c.Drops[dp.ReasonNone]; n > 0 { // a bug: listed only when it counts
		out = append(out, Drop{Stage: dp.ReasonNone.Stage().String(), Reason: dp.ReasonNone.Name(), Count: n, Description: dp.ReasonNone.Desc()})
	}
	for _, r := range dp.Reasons() {
		out = append(out, Drop{Stage: r.Stage().String(), Reason: r.Name(), Count: c.Drops[r], Description: r.Desc()})
	}
	for d := control.Drop(0); d < control.NumDrops; d++ {
		out = append(out, Drop{Stage: control.DropStage, Reason: d.Name(), Count: cs.Drops[d], Description: d.Desc()})
	}
	tx := dp.OutTxFull.String()
	for _, s := range st {
		for _, k := range slices.Sorted(maps.Keys(s.PortDrops)) {
			d := Drop{Stage: "port", Reason: k, Interface: s.Name, Count: s.PortDrops[k]}
			switch {
			case portRxDrops[k] != "":
				d.Description = portRxDrops[k]
			case portTxDrops[k] != "":
				d.Description, d.Of = portTxDrops[k], tx
			default:
				continue // not a count of lost frames (errors)
			}
			out = append(out, d)
		}
	}
	return out
}

// TotalDrops is the sum of ds's counts, parts (Of set) left out.
func TotalDrops(ds []Drop) uint64 {
	var n uint64
	for _, d := range ds {
		if d.Of == "" {
			n += d.Count
		}
	}
	return n
}

// Accounting is where every packet went. When the router is idle (every
// packet received has been handled) it balances:
//
//	Received + Generated = Sent + Dropped + Consumed + Held
//
// exactly (Balance is 0). Packets answered in place (ARP requests, echo
// requests, packets turned into ICMP errors) are sent, not generated.
type Accounting struct {
	// Received: frames the port and VLAN interfaces received, with those
	// the ports or software RSS dropped before they were counted
	// (port/rx-*, ethernet-input/rss-ring-full). A bridge's routed
	// interface is left out: its frames were received on a member.
	Received uint64
	// Generated: packets the router made rather than received: ARP
	// requests of the control plane, a flood's copies (beyond the
	// frame itself), fragments (beyond the packet they replace).
	Generated uint64
	// Sent: frames the port and VLAN interfaces sent (not the routed
	// interfaces': their frames leave by a member).
	Sent uint64
	// Dropped: TotalDrops(Drops(...)): every reason of the data plane,
	// the control plane and the ports.
	Dropped uint64
	// Consumed: ARP replies and gratuitous ARP, taken in by the control
	// plane with nothing sent back.
	Consumed uint64
	// Held: packets waiting for ARP in the control plane now.
	Held uint64
}

// Account computes the accounting from the same readings as Drops.
func Account(st []IfaceStatus, c *dp.Counters, cs control.Stats) Accounting {
	a := Accounting{
		Received:  c.Drops[ethernet.RSSRingFull],
		Generated: c.InjectedTx + c.FloodCopies + c.Fragments - min(c.Fragmented, c.Fragments),
		Dropped:   TotalDrops(Drops(st, c, cs)),
		Consumed:  c.ARPConsumed + c.HostPunts(),
		Held:      cs.Held,
	}
	for _, s := range st {
		if s.Backend == "bvi" {
			continue
		}
		a.Received += s.RxPackets
		a.Sent += s.TxPackets
		for k, n := range s.PortDrops {
			if portRxDrops[k] != "" {
				a.Received += n
			}
		}
	}
	return a
}

// Balance is (Received + Generated) - (Sent + Dropped + Consumed + Held):
// 0 when every packet is accounted for.
func (a Accounting) Balance() int64 {
	return int64(a.Received+a.Generated) - int64(a.Sent+a.Dropped+a.Consumed+a.Held)
}

// String is the identity with its numbers, e.g. "received 10 +
// generated 1 = sent 8 + dropped 2 + consumed 1 + held 0".
func (a Accounting) String() string {
	return fmt.Sprintf("received %d + generated %d = sent %d + dropped %d + consumed %d + held %d",
		a.Received, a.Generated, a.Sent, a.Dropped, a.Consumed, a.Held)
}

// Drops lists every drop reason with its count now (see Drops).
func (r *Router) Drops() []Drop {
	c := r.Counters()
	return Drops(r.Status(), &c, r.ctl.Stats())
}

// Accounting is where every packet went so far (see Account).
func (r *Router) Accounting() Accounting {
	c := r.Counters()
	return Account(r.Status(), &c, r.ctl.Stats())
}
