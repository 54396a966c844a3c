package control_test

import (
	"bytes"
	"encoding/binary"
	"net/netip"
	"testing"
	"time"

	"github.com/softnet/softnet/dp"
	"github.com/softnet/softnet/dp/arp"
	"github.com/softnet/softnet/dp/dptest"
	"github.com/softnet/softnet/hdr"
	"github.com/softnet/softnet/neigh"
)

// TestARPResolution: a packet to an unresolved neighbour is held while the
// router ARPs, and leaves once the reply arrives.
func TestRouterARPResolution(t *testing.T) {
	tests := []struct {
		name string
		dst  netip.Addr
	}{
		{"connected host", dptest.HostB},
		{"via gateway", remoteDst}, // resolves the gateway, 10.0.2.2
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			l := newLab(t, false, false)
			l.Send(0, udpFrom(tc.dst, 1))
			wantARPRequest(t, one(t, l, 1, "ARP request"), dptest.Broadcast, dptest.HostB)
			none(t, l, "while resolving")
			if e := neighbor(l, 1, dptest.HostB); e == nil || e.State != neigh.Incomplete {
				t.Fatalf("neighbour while resolving: %+v, want incomplete", e)
			}
			// A second packet waits too, without a second request.
			l.Send(0, udpFrom(tc.dst, 2))
			none(t, l, "second packet while resolving")

			l.Send(1, replyFromHostB(dptest.HostBMAC))
			out := l.Out(1)
			if len(out) != 2 {
				t.Fatalf("%d frames after the reply, want the 2 held packets", len(out))
			}
			for i, f := range out {
				wantForwarded(t, f, dptest.HostBMAC, dptest.R1MAC, tc.dst, uint16(i+1))
			}
			none(t, l, "after the reply")
			e := neighbor(l, 1, dptest.HostB)
			if e == nil || e.State != neigh.Reachable || e.MAC != dptest.HostBMAC {
				t.Fatalf("neighbour after the reply: %+v", e)
			}
			st := l.Router.Stats()
			if st.ARPRequests != 1 || st.Resolved != 2 || st.QueueDrops != 0 {
				t.Fatalf("stats %+v: want 1 request, 2 resolved, no drops", st)
			}
			if st.NeighborMoves != 0 {
				t.Fatalf("NeighborMoves %d after a first resolution, want 0: nothing moved", st.NeighborMoves)
			}
			// Resolved: the next packet goes straight out.
			l.Send(0, udpFrom(tc.dst, 3))
			wantForwarded(t, one(t, l, 1, "after resolution"), dptest.HostBMAC, dptest.R1MAC, tc.dst, 3)
			if st := l.Router.Stats(); st.ARPRequests != 1 {
				t.Fatalf("%d ARP requests, want 1", st.ARPRequests)
			}
		})
	}
}

func TestRouterARPNoReply(t *testing.T) {
	l := newLab(t, true, false)
	l.Send(0, udpFrom(remoteDst, 1))
	wantARPRequest(t, one(t, l, 1, "request 1"), dptest.Broadcast, dptest.HostB)
	l.Advance(900 * time.Millisecond)
	none(t, l, "0.9 s")
	l.Send(0, udpFrom(remoteDst, 2)) // queued; no request of its own
	none(t, l, "second packet")
	for i := 2; i <= 3; i++ {
		l.Advance(100 * time.Millisecond)
		wantARPRequest(t, one(t, l, 1, "retransmission"), dptest.Broadcast, dptest.HostB)
		l.Advance(900 * time.Millisecond)
		none(t, l, "between requests")
	}
	l.Advance(100 * time.Millisecond) // 3 s: failed
	// The two held packets are answered with ICMP host unreachable
	// (RFC 1812 §5.2.7.1, as Linux does), not dropped silently.
	for i := range 2 {
		out := l.Out(0)
		if len(out) != 2 {
			t.Fatalf("on failure: %d frames left if0, want 2 host unreachable", len(out))
		}
		wantICMP(t, out[i], hdr.ICMPv4DestUnreach, hdr.ICMPv4HostUnreach, remoteDst)
		break
	}
	if e := neighbor(l, 1, dptest.HostB); e == nil || e.State != neigh.Failed {
		t.Fatalf("neighbour after 3 unanswered requests: %+v, want failed", e)
	}
	st := l.Router.Stats()
	if st.ARPRequests != 3 || st.QueueDrops != 0 || st.Unreachable != 2 || st.Resolved != 0 {
		t.Fatalf("stats %+v: want 3 requests, 2 held packets sent back as unreachable", st)
	}
	// Failed: packets get ICMP host unreachable (RFC 1812 §5.2.7.1), to
	// the host itself and through the gateway alike.
	for i, dst := range []netip.Addr{remoteDst, dptest.HostB} {
		l.Send(0, udpFrom(dst, uint16(10+i)))
		wantICMP(t, one(t, l, 0, "packet to a failed neighbour"), hdr.ICMPv4DestUnreach, hdr.ICMPv4HostUnreach, dst)
		none(t, l, "packet to a failed neighbour")
	}
	if c := l.Counters(); c.ICMPErrors[dp.ICMPErrHostUnreach] != 4 {
		t.Fatalf("host unreachable counter %d, want 4", c.ICMPErrors[dp.ICMPErrHostUnreach])
	}
	// After FailedTime the entry goes and the next packet tries again.
	l.Advance(5 * time.Second)
	if e := neighbor(l, 1, dptest.HostB); e != nil {
		t.Fatalf("failed neighbour not removed after FailedTime: %+v", e)
	}
	l.Send(0, udpFrom(remoteDst, 20))
	wantARPRequest(t, one(t, l, 1, "after removal"), dptest.Broadcast, dptest.HostB)
}

func TestRouterARPRequestAnswered(t *testing.T) {
	other := netip.MustParseAddr("10.0.1.99")
	tests := []struct {
		name      string
		sender    netip.Addr
		target    netip.Addr
		wantReply bool
		learn     bool
		reason    dp.Reason // drop reason, if not answered
	}{
		{"for if0's address", dptest.HostA, dptest.R0, true, true, 0},
		{"for if1's address on if0", dptest.HostA, dptest.R1, false, false, arp.NotForUs},
		{"for another host", dptest.HostA, other, false, false, arp.NotForUs},
		{"from off-link", netip.MustParseAddr("192.0.2.7"), dptest.R0, false, false, arp.BadSender},
		{"from our own address", dptest.R0, dptest.R0, false, false, arp.BadSender},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			l := newLab(t, false, true)
			l.Send(0, dptest.ARPFrame(hdr.ARPRequest, dptest.Broadcast, dptest.HostAMAC, tc.sender, zeroMAC, tc.target))
			out := l.Out(0)
			if !tc.wantReply {
				if len(out) != 0 || len(l.Out(1)) != 0 {
					t.Fatalf("%d frames sent, want none", len(out))
				}
				if c := l.Counters(); c.Drops[tc.reason] != 1 {
					t.Fatalf("drop reason %d counted %d, want 1", tc.reason, c.Drops[tc.reason])
				}
			} else {
				if len(out) != 1 {
					t.Fatalf("%d frames on if0, want the ARP reply", len(out))
				}
				f := out[0]
				e := hdr.Ethernet(f)
				if !bytes.Equal(e.Dst(), dptest.HostAMAC[:]) || !bytes.Equal(e.Src(), dptest.R0MAC[:]) || e.Type() != hdr.EtherTypeARP {
					t.Fatalf("reply Ethernet dst %x src %x type %#x", e.Dst(), e.Src(), e.Type())
				}
				a := hdr.ARP(f[hdr.EthernetLen:])
				if a.Validate() != hdr.OK || a.Op() != hdr.ARPReply {
					t.Fatalf("not an ARP reply: %v op %d", a.Validate(), a.Op())
				}
				if !bytes.Equal(a.SenderMAC(), dptest.R0MAC[:]) || a.SenderIP() != u32(dptest.R0) {
					t.Fatalf("reply sender %x %08x, want if0 %x 10.0.1.1", a.SenderMAC(), a.SenderIP(), dptest.R0MAC)
				}
				if !bytes.Equal(a.TargetMAC(), dptest.HostAMAC[:]) || a.TargetIP() != u32(dptest.HostA) {
					t.Fatalf("reply target %x %08x, want host A", a.TargetMAC(), a.TargetIP())
				}
			}
			e := neighbor(l, 0, tc.sender)
			if tc.learn {
				if e == nil || e.State != neigh.Reachable || e.MAC != dptest.HostAMAC {
					t.Fatalf("requester not learned: %+v", e)
				}
				// Learned: a packet to it is forwarded without ARP.
				l.Send(1, dptest.IPv4Frame(dptest.R1MAC, dptest.HostBMAC, dptest.HostB, dptest.HostA, hdr.ProtoUDP, 64, false, dptest.UDP(1, 2, 10)))
				f := one(t, l, 0, "packet to the learned requester")
				if !bytes.Equal(f[0:6], dptest.HostAMAC[:]) || f[12] != 0x08 || f[13] != 0x00 {
					t.Fatalf("packet to host A: Ethernet %x", f[:14])
				}
			} else if len(l.Router.Neighbors()) != 1 { // only the lab's static host B
				t.Fatalf("neighbours %+v: nothing should be learned", l.Router.Neighbors())
			}
		})
	}
}

func TestRouterGratuitousARP(t *testing.T) {
	garp := func(mac [6]byte, a netip.Addr) []byte {
		return dptest.ARPFrame(hdr.ARPRequest, dptest.Broadcast, mac, a, zeroMAC, a)
	}
	t.Run("moves a learned neighbour", func(t *testing.T) {
		l := newLab(t, false, false)
		learnHostB(t, l)
		if e := neighbor(l, 1, dptest.HostB); e == nil || e.MAC != dptest.HostBMAC {
			t.Fatalf("neighbour not learned from a request: %+v", e)
		}
		l.Send(0, udpFrom(remoteDst, 1))
		wantForwarded(t, one(t, l, 1, "before the move"), dptest.HostBMAC, dptest.R1MAC, remoteDst, 1)
		moves := l.Router.Stats().NeighborMoves

		l.Send(1, garp(macNew, dptest.HostB))
		none(t, l, "gratuitous ARP") // not answered
		if e := neighbor(l, 1, dptest.HostB); e == nil || e.MAC != macNew || e.State != neigh.Reachable {
			t.Fatalf("neighbour after gratuitous ARP: %+v, want MAC %x", e, macNew)
		}
		if got := l.Router.Stats().NeighborMoves - moves; got != 1 {
			t.Fatalf("NeighborMoves grew by %d, want 1", got)
		}
		l.Send(0, udpFrom(remoteDst, 2))
		wantForwarded(t, one(t, l, 1, "after the move"), macNew, dptest.R1MAC, remoteDst, 2)
		// The same announcement again is not a move.
		l.Send(1, garp(macNew, dptest.HostB))
		if got := l.Router.Stats().NeighborMoves - moves; got != 1 {
			t.Fatalf("repeated gratuitous ARP: NeighborMoves grew by %d, want 1", got)
		}
	})
	t.Run("does not create", func(t *testing.T) {
		l := newLab(t, false, false)
		l.Send(1, garp(macNew, netip.MustParseAddr("10.0.2.9")))
		if n := len(l.Router.Neighbors()); n != 0 {
			t.Fatalf("gratuitous ARP from an unknown host created %d neighbours", n)
		}
	})
	t.Run("does not move a static neighbour", func(t *testing.T) {
		l := newLab(t, false, true)
		l.Send(1, garp(macNew, dptest.HostB))
		if e := neighbor(l, 1, dptest.HostB); e == nil || e.MAC != dptest.HostBMAC || e.State != neigh.Static {
			t.Fatalf("static neighbour after gratuitous ARP: %+v", e)
		}
		if m := l.Router.Stats().NeighborMoves; m != 0 {
			t.Fatalf("NeighborMoves %d, want 0: a static entry does not move", m)
		}
		l.Send(0, udpFrom(remoteDst, 1))
		wantForwarded(t, one(t, l, 1, "static neighbour"), dptest.HostBMAC, dptest.R1MAC, remoteDst, 1)
	})
}

// TestRouterUnsolicitedReplyIgnored: an ARP reply nobody asked for does
// not create a neighbour (Linux's arp_accept=0), so a host cannot fill
// the table with replies.
func TestRouterUnsolicitedReplyIgnored(t *testing.T) {
	l := newLab(t, false, false)
	l.Send(1, replyFromHostB(dptest.HostBMAC))
	if n := len(l.Router.Neighbors()); n != 0 {
		t.Fatalf("unsolicited reply created %d neighbours", n)
	}
}

// TestRouterOriginatedKeepsTTL: an echo reply that waited for ARP leaves
// with the TTL the router gave it (64): it is still the router's own
// packet after the control plane released it.
func TestRouterOriginatedKeepsTTL(t *testing.T) {
	l := newLab(t, false, true)
	l.Send(0, dptest.IPv4Frame(dptest.R0MAC, dptest.HostAMAC, dptest.HostA, dptest.R0, hdr.ProtoICMP, 9, false, dptest.Echo(1, 1, 8)))
	if f := one(t, l, 0, "ARP for host A"); binary.BigEndian.Uint16(f[12:]) != hdr.EtherTypeARP || hdr.ARP(f[hdr.EthernetLen:]).TargetIP() != dptest.U32(dptest.HostA) {
		t.Fatalf("want an ARP request for host A, got % x", f)
	}
	l.Send(0, dptest.ARPFrame(hdr.ARPReply, dptest.R0MAC, dptest.HostAMAC, dptest.HostA, dptest.R0MAC, dptest.R0))
	f := one(t, l, 0, "echo reply after resolution")
	ip := hdr.IPv4(f[hdr.EthernetLen:])
	if ip.TTL() != 64 || ip.Dst() != dptest.U32(dptest.HostA) {
		t.Fatalf("echo reply TTL %d to %08x, want 64 to host A", ip.TTL(), ip.Dst())
	}
}

// TestRouterARPMergeFromKnownNeighbor: RFC 826's merge rule. An ARP from
// a known neighbour with a new MAC updates its entry at once even when it
// is neither aimed at us nor gratuitous (host B, with a new NIC, asks for
// another host); an ARP between two unknown hosts creates nothing.
func TestRouterARPMergeFromKnownNeighbor(t *testing.T) {
	other := netip.MustParseAddr("10.0.2.9")
	l := newLab(t, false, false)
	learnHostB(t, l)
	l.Send(0, udpFrom(remoteDst, 1))
	wantForwarded(t, one(t, l, 1, "before the move"), dptest.HostBMAC, dptest.R1MAC, remoteDst, 1)

	l.Send(1, dptest.ARPFrame(hdr.ARPRequest, dptest.Broadcast, macNew, dptest.HostB, zeroMAC, other))
	none(t, l, "ARP for another host") // not ours to answer
	if e := neighbor(l, 1, dptest.HostB); e == nil || e.MAC != macNew || e.State != neigh.Reachable {
		t.Fatalf("neighbour after its ARP for %v with a new MAC: %+v, want MAC %x reachable", other, e, macNew)
	}
	if m := l.Router.Stats().NeighborMoves; m != 1 {
		t.Fatalf("NeighborMoves %d, want 1", m)
	}
	l.Send(0, udpFrom(remoteDst, 2))
	wantForwarded(t, one(t, l, 1, "after the move"), macNew, dptest.R1MAC, remoteDst, 2)

	// Two hosts the router does not know talking ARP: nothing learned.
	l.Send(1, dptest.ARPFrame(hdr.ARPRequest, dptest.Broadcast, [6]byte{0x02, 0xcc, 0, 0, 0, 1}, netip.MustParseAddr("10.0.2.8"), zeroMAC, other))
	if n := len(l.Router.Neighbors()); n != 1 {
		t.Fatalf("ARP between unknown hosts: %d neighbours, want only host B: %+v", n, l.Router.Neighbors())
	}
}
