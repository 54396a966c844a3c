package ip4_test

import (
	"encoding/binary"
	"net/netip"
	"slices"
	"testing"

	"github.com/softnet/softnet/dp"
	"github.com/softnet/softnet/dp/dptest"
	"github.com/softnet/softnet/hdr"
)

// TestRewriteEtherTypeFromAdjacency: ip4-rewrite writes the EtherType the
// adjacency's rewrite carries (the control plane builds all 14 bytes), not
// one of its own: with an adjacency whose rewrite ends in 0x88B5 the frame
// leaves with 0x88B5 after its addresses and tags, untagged, 802.1Q and
// QinQ, on the fast path (transit) and in writeL2 (the router's own
// packets: echo replies).
func TestRewriteEtherTypeFromAdjacency(t *testing.T) {
	const et = 0x88B5 // IEEE 802 local experimental
	host100, host120, host200 := dptest.SubHost[0], dptest.SubHost[1], dptest.SubHost[2]
	udp := dptest.UDP(1000, 2000, 20)
	echo := dptest.Echo(7, 1, 16)
	for _, c := range []struct {
		name   string
		nh     netip.Addr // the neighbour whose adjacency is changed
		in     int
		frame  []byte
		out    int
		dst    [6]byte
		src    [6]byte
		tags   []byte
		isEcho bool
	}{
		{"untagged-transit", dptest.HostB, 0,
			dptest.IPv4Frame(dptest.R0MAC, dptest.HostAMAC, dptest.HostA, dptest.HostB, hdr.ProtoUDP, 9, false, udp),
			1, dptest.HostBMAC, dptest.R1MAC, nil, false},
		{"dot1q-transit", host200, 0,
			dptest.IPv4Frame(dptest.R0MAC, dptest.HostAMAC, dptest.HostA, host200, hdr.ProtoUDP, 9, false, udp),
			1, dptest.HostBMAC, dptest.R1MAC, []byte{0x81, 0x00, 0x00, 200}, false},
		{"qinq-transit", host120, 1,
			dptest.IPv4Frame(dptest.R1MAC, dptest.HostBMAC, dptest.HostB, host120, hdr.ProtoUDP, 9, false, udp),
			0, dptest.HostAMAC, dptest.R0MAC, []byte{0x88, 0xa8, 0x00, 10, 0x81, 0x00, 0x00, 20}, false},
		{"untagged-own", dptest.HostA, 0,
			dptest.IPv4Frame(dptest.R0MAC, dptest.HostAMAC, dptest.HostA, dptest.R0, hdr.ProtoICMP, 9, false, echo),
			0, dptest.HostAMAC, dptest.R0MAC, nil, true},
		{"dot1q-own", host100, 0,
			dptest.Tag(dptest.IPv4Frame(dptest.R0MAC, dptest.HostAMAC, host100, dptest.SubAddr[0], hdr.ProtoICMP, 9, false, echo), 0x8100, 100),
			0, dptest.HostAMAC, dptest.R0MAC, []byte{0x81, 0x00, 0x00, 100}, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			l := dptest.New(t, dptest.Options{VLANs: true})
			cur := l.Router.Config().Load()
			nh := cur.FIB.Lookup(dptest.U32(c.nh))
			if cur.Adj[nh].Kind != dp.AdjForward {
				t.Fatalf("adjacency of %v: kind %d, want forward", c.nh, cur.Adj[nh].Kind)
			}
			// A snapshot like the control plane's, but for this adjacency's
			// EtherType (the published one is never modified).
			cfg := *cur
			cfg.Adj = slices.Clone(cur.Adj)
			binary.BigEndian.PutUint16(cfg.Adj[nh].L2[dp.MaxL2-2:], et)
			l.Router.Config().Store(&cfg)
			l.Send(c.in, c.frame)
			l.Run()
			out := l.Out(c.out)
			if len(out) != 1 {
				t.Fatalf("%d frames out of port %d, want 1 (counters %+v)", len(out), c.out, l.Counters())
			}
			f := out[0]
			tl := len(c.tags)
			if len(f) < hdr.EthernetLen+tl+hdr.IPv4MinLen {
				t.Fatalf("frame of %d bytes: % x", len(f), f)
			}
			if [6]byte(f[0:6]) != c.dst || [6]byte(f[6:12]) != c.src || string(f[12:12+tl]) != string(c.tags) {
				t.Fatalf("header % x, want dst % x src % x tags % x", f[:12+tl], c.dst, c.src, c.tags)
			}
			if got := binary.BigEndian.Uint16(f[12+tl:]); got != et {
				t.Fatalf("EtherType %#04x, want the adjacency's %#04x", got, et)
			}
			ip := hdr.IPv4(f[hdr.EthernetLen+tl:])
			if c.isEcho && (ip.Protocol() != hdr.ProtoICMP || ip.Payload()[0] != hdr.ICMPv4EchoReply) {
				t.Fatalf("want an echo reply, got % x", f)
			}
			if !c.isEcho && (ip.Protocol() != hdr.ProtoUDP || ip.TTL() != 8) {
				t.Fatalf("want the UDP packet with TTL 8, got proto %d TTL %d", ip.Protocol(), ip.TTL())
			}
		})
	}
}
