package arp_test

import (
	"bytes"
	"encoding/binary"
	"net/netip"
	"testing"

	"github.com/softnet/softnet/control/arp"
	"github.com/softnet/softnet/dp"
	"github.com/softnet/softnet/hdr"
)

var mac = [6]byte{0x02, 0, 0, 0, 0, 1}

func iface(tags ...byte) *dp.Iface {
	ifc := &dp.Iface{MAC: mac, Addr4: 0x0a000101, // 10.0.1.1/24, then 10.0.2.1/24
		Addrs: []dp.IfaceAddr{{Addr: dp.Mapped4(0x0a000101), Len: 24}, {Addr: dp.Mapped4(0x0a000201), Len: 24}}}
	ifc.TagLen = uint8(len(tags))
	copy(ifc.Tags[8-len(tags):], tags)
	return ifc
}

// TestRequest: a broadcast request from the address on the target's
// subnet, the primary address for a target off every subnet, a unicast
// probe, the VLAN tags in front of the EtherType, the minimum frame size,
// and nil for an IPv6 target.
func TestRequest(t *testing.T) {
	for _, tc := range []struct {
		name    string
		ifc     *dp.Iface
		target  string
		to      *[6]byte
		wantSrc uint32
	}{
		{"subnet-1", iface(), "10.0.1.7", nil, 0x0a000101},
		{"subnet-2", iface(), "10.0.2.7", nil, 0x0a000201},
		{"off-subnet", iface(), "192.0.2.1", nil, 0x0a000101},
		{"unicast", iface(), "10.0.2.7", &[6]byte{0x02, 9, 9, 9, 9, 9}, 0x0a000201},
		{"dot1q", iface(0x81, 0x00, 0x00, 0x64), "10.0.1.7", nil, 0x0a000101},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := arp.Request(tc.ifc, netip.MustParseAddr(tc.target), tc.to)
			tl := int(tc.ifc.TagLen)
			if len(f) != 60+tl {
				t.Fatalf("frame of %d bytes, want %d", len(f), 60+tl)
			}
			dst := [6]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}
			if tc.to != nil {
				dst = *tc.to
			}
			if [6]byte(f[0:6]) != dst || [6]byte(f[6:12]) != mac {
				t.Fatalf("addresses % x, want dst % x src % x", f[:12], dst, mac)
			}
			if !bytes.Equal(f[12:12+tl], tc.ifc.TagBytes()) || binary.BigEndian.Uint16(f[12+tl:]) != hdr.EtherTypeARP {
				t.Fatalf("tags and EtherType % x", f[12:14+tl])
			}
			a := hdr.ARP(f[hdr.EthernetLen+tl:])
			tgt := netip.MustParseAddr(tc.target).As4()
			if a.Validate() != hdr.OK || a.Op() != hdr.ARPRequest || !bytes.Equal(a.SenderMAC(), mac[:]) ||
				a.SenderIP() != tc.wantSrc || a.TargetIP() != binary.BigEndian.Uint32(tgt[:]) || !bytes.Equal(a.TargetMAC(), make([]byte, 6)) {
				t.Fatalf("ARP op %d sender %x/%08x target %x/%08x; want request from %08x", a.Op(), a.SenderMAC(), a.SenderIP(), a.TargetMAC(), a.TargetIP(), tc.wantSrc)
			}
		})
	}
	if f := arp.Request(iface(), netip.MustParseAddr("2001:db8::1"), nil); f != nil {
		t.Fatalf("a request for an IPv6 address: % x, want nil", f)
	}
}

// TestParse reads back what Request built and refuses short or invalid
// packets.
func TestParse(t *testing.T) {
	f := arp.Request(iface(), netip.MustParseAddr("10.0.2.7"), nil)
	p, ok := arp.Parse(f)
	if !ok || p.Op != hdr.ARPRequest || p.SenderMAC != mac ||
		p.Sender != netip.MustParseAddr("10.0.2.1") || p.Target != netip.MustParseAddr("10.0.2.7") {
		t.Fatalf("Parse: %+v %v", p, ok)
	}
	if _, ok := arp.Parse(f[:hdr.EthernetLen+hdr.ARPLen-1]); ok {
		t.Fatal("Parse accepted a truncated packet")
	}
	bad := bytes.Clone(f)
	bad[hdr.EthernetLen+7] = 9 // op 9
	if _, ok := arp.Parse(bad); ok {
		t.Fatal("Parse accepted op 9")
	}
}
