package ip6_test

import (
	"bytes"
	"encoding/binary"
	"net/netip"
	"testing"

	"github.com/softnet/softnet/hdr"
)

// FuzzIP6 sends host A's IPv6 packet with a fuzzed next header, hop
// limit, destination and extension header chain (and payload length)
// through the lab and checks the router's answer whatever it is: at most
// one frame; a forwarded one is the packet with only the MACs rewritten
// and the hop limit one lower; any other is an ICMPv6 message from the
// router to host A of at most 1280 bytes with a right checksum whose
// quote (for an error) is the start of the packet; or no frame and one
// drop or one punt (to Neighbor Discovery). Seeds: the extension
// header chains of TestIP6.
func FuzzIP6(f *testing.F) {
	f.Add(uint8(0), uint8(64), uint8(0), false, cat(ext(17, 1, 4, 0, 0, 0, 0), udp(10)))
	f.Add(uint8(60), uint8(64), uint8(0), false, cat(ext(0, 1, 4, 0, 0, 0, 0), ext(17, 1, 4, 0, 0, 0, 0), udp(10)))
	f.Add(uint8(0), uint8(64), uint8(0), false, cat(ext(17, 1, 0, 0x9e, 2, 0, 0), udp(10)))
	f.Add(uint8(43), uint8(64), uint8(1), false, cat(ext(17, 0, 1, 0, 0, 0, 0), udp(10)))
	f.Add(uint8(44), uint8(64), uint8(0), false, cat([]byte{60, 0, 0, 1, 0, 0, 0, 1}, []byte{17, 1, 1, 4, 0, 0, 0, 0}))
	f.Add(uint8(44), uint8(1), uint8(0), false, cat([]byte{60, 0, 0, 0x21, 0, 0, 0, 1}, make([]byte, 16)))
	f.Add(uint8(58), uint8(64), uint8(1), false, []byte{128, 0, 0x7b, 0x4d, 0, 7, 0, 1})
	f.Add(uint8(17), uint8(64), uint8(2), true, udp(1400))
	dsts := []netip.Addr{remote, r0, small, unres, netip.MustParseAddr("fe80::5"), netip.MustParseAddr("2001:db9::1")}
	var l *lab
	f.Fuzz(func(t *testing.T, next, hop, dsel uint8, badLen bool, payload []byte) {
		if len(payload) > 1500 {
			return
		}
		if l == nil {
			l = newLab(t, 1<<30)
		}
		l.t = t
		dst := dsts[int(dsel)%len(dsts)]
		in := make([]byte, hdr.EthernetLen+hdr.IPv6Len+len(payload))
		copy(in[0:6], mac0[:])
		copy(in[6:12], macA[:])
		binary.BigEndian.PutUint16(in[12:], hdr.EtherTypeIPv6)
		ip := hdr.IPv6(in[hdr.EthernetLen:])
		ip.SetVersionClassFlow(0, 0)
		ip.SetPayloadLen(len(payload))
		if badLen && len(payload) > 0 {
			ip.SetPayloadLen(len(payload) - 1 - int(payload[0])%8) // padding, or below 0: past the frame
		}
		ip.SetNextHeader(next)
		ip.SetHopLimit(hop)
		s, d := hostA.As16(), dst.As16()
		copy(ip.Src(), s[:])
		copy(ip.Dst(), d[:])
		copy(in[hdr.EthernetLen+hdr.IPv6Len:], payload)
		sent := ip[:min(len(ip), hdr.IPv6Len+ip.PayloadLen())]

		before := l.w.Counters()
		got := l.send(0, in)
		after := l.w.Counters()
		var drops uint64
		for r := range after.Drops {
			drops += after.Drops[r] - before.Drops[r]
		}
		// A packet to a next hop not yet resolved (unres) goes to the
		// control plane for Neighbor Discovery: a punt is its one fate.
		punts := after.Punts - before.Punts
		if n := uint64(len(got[0])+len(got[1])) + drops + punts; n != 1 {
			t.Fatalf("%d frames sent, %d drops and %d punts for one packet", len(got[0])+len(got[1]), drops, punts)
		}
		for _, o := range got[1] {
			want := append(append([]byte(nil), macB[:]...), mac1[:]...)
			want = append(append(want, 0x86, 0xdd), sent...)
			want[hdr.EthernetLen+7]--
			if len(want) < 60 {
				want = append(want, make([]byte, 60-len(want))...) // interface-output pads short frames
			}
			if !bytes.Equal(o, want) {
				t.Fatalf("forwarded\n%x\nwant\n%x", o, want)
			}
		}
		for _, o := range got[0] {
			if len(o) > hdr.EthernetLen+1280 || len(o) < hdr.EthernetLen+hdr.IPv6Len+hdr.ICMPv6Len {
				t.Fatalf("reply of %d bytes", len(o))
			}
			rip := hdr.IPv6(o[hdr.EthernetLen:])
			if rip.Validate() != hdr.OK || rip.NextHeader() != hdr.ProtoICMPv6 || [16]byte(rip.Dst()) != s ||
				hdr.EthernetLen+hdr.IPv6Len+rip.PayloadLen() != len(o) {
				t.Fatalf("reply is not an ICMPv6 message to host A: %x", o)
			}
			msg := rip.Payload()
			if hdr.Checksum(msg, hdr.PseudoSumIPv6(rip.Src(), rip.Dst(), hdr.ProtoICMPv6, uint32(len(msg)))) != 0 {
				t.Fatalf("bad ICMPv6 checksum: %x", o)
			}
			if msg[0] < 128 && !bytes.Equal(msg[8:], sent[:len(msg)-8]) {
				t.Fatalf("error quotes\n%x\nnot the start of\n%x", msg[8:], sent)
			}
		}
	})
}
