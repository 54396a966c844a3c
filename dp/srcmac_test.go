package dp_test

import (
	"encoding/binary"
	"net/netip"
	"testing"

	"github.com/softnet/softnet/dp"
	"github.com/softnet/softnet/dp/dptest"
	"github.com/softnet/softnet/dp/ethernet"
	"github.com/softnet/softnet/hdr"
)

// ip6UDPFrame is an Ethernet/IPv6/UDP frame (payload zero, checksum not
// filled: ethernet-input does not look past the EtherType).
func ip6UDPFrame(dst, src [6]byte, from, to netip.Addr) []byte {
	f := make([]byte, hdr.EthernetLen+hdr.IPv6Len+8)
	copy(f[0:6], dst[:])
	copy(f[6:12], src[:])
	binary.BigEndian.PutUint16(f[12:], hdr.EtherTypeIPv6)
	ip := f[hdr.EthernetLen:]
	ip[0] = 0x60
	binary.BigEndian.PutUint16(ip[4:], 8)
	ip[6], ip[7] = hdr.ProtoUDP, 64
	a, b := from.As16(), to.As16()
	copy(ip[8:24], a[:])
	copy(ip[24:40], b[:])
	binary.BigEndian.PutUint16(ip[40:], 1)
	binary.BigEndian.PutUint16(ip[42:], 2)
	binary.BigEndian.PutUint16(ip[44:], 8)
	return f
}

// TestSourceMACHygiene (issue 12 item 7): a routed frame whose source MAC
// is a group address (multicast or broadcast) drops as
// ethernet-input/multicast-source, one with the receiving interface's own
// MAC as source as ethernet-input/own-source: IPv4, IPv6 and ARP,
// untagged and in a VLAN, to the interface's MAC or broadcast, on the
// fast loops and on the general path, alone or between frames the fast
// loops take (which must still be forwarded).
func TestSourceMACHygiene(t *testing.T) {
	h100, h200 := dptest.SubHost[0], dptest.SubHost[2]
	multicast := [6]byte{0x01, 0x00, 0x5e, 0x00, 0x00, 0x01}
	v6a, v6b := netip.MustParseAddr("2001:db8:1::2"), netip.MustParseAddr("2001:db8:2::2")
	good := dptest.IPv4Frame(dptest.R0MAC, dptest.HostAMAC, dptest.HostA, dptest.HostB, hdr.ProtoUDP, 9, false, dptest.UDP(1, 2, 18))
	goodVLAN := dptest.Tag(dptest.IPv4Frame(dptest.R0MAC, dptest.HostAMAC, h100, h200, hdr.ProtoUDP, 9, false, dptest.UDP(1, 2, 18)), 0x8100, 100)
	frames := map[string]func(src [6]byte) []byte{
		"ipv4": func(src [6]byte) []byte {
			return dptest.IPv4Frame(dptest.R0MAC, src, dptest.HostA, dptest.HostB, hdr.ProtoUDP, 9, false, dptest.UDP(1, 2, 18))
		},
		"ipv4-vlan": func(src [6]byte) []byte {
			return dptest.Tag(dptest.IPv4Frame(dptest.R0MAC, src, h100, h200, hdr.ProtoUDP, 9, false, dptest.UDP(1, 2, 18)), 0x8100, 100)
		},
		"ipv4-to-broadcast": func(src [6]byte) []byte {
			return dptest.IPv4Frame(dptest.Broadcast, src, dptest.HostA, dptest.HostB, hdr.ProtoUDP, 9, false, dptest.UDP(1, 2, 18))
		},
		"ipv6":      func(src [6]byte) []byte { return ip6UDPFrame(dptest.R0MAC, src, v6a, v6b) },
		"ipv6-vlan": func(src [6]byte) []byte { return dptest.Tag(ip6UDPFrame(dptest.R0MAC, src, v6a, v6b), 0x8100, 100) },
		"arp": func(src [6]byte) []byte {
			return dptest.ARPFrame(1, dptest.Broadcast, src, dptest.HostA, [6]byte{}, dptest.R0)
		},
	}
	sources := []struct {
		name string
		mac  [6]byte
		want dp.Reason
	}{
		{"multicast", multicast, ethernet.MulticastSource},
		{"broadcast", dptest.Broadcast, ethernet.MulticastSource},
		{"own", dptest.R0MAC, ethernet.OwnSource},
	}
	for _, general := range []bool{false, true} {
		for name, mk := range frames {
			for _, s := range sources {
				for _, around := range []string{"alone", "between"} {
					path := "fast"
					if general {
						path = "general"
					}
					t.Run(path+"/"+name+"/"+s.name+"/"+around, func(t *testing.T) {
						l := dptest.New(t, dptest.Options{VLANs: true})
						dp.SetGeneralPath(l.Worker, general)
						bad := mk(s.mac)
						batch := [][]byte{bad}
						if around == "between" {
							// The fast loops take the frames around it,
							// and again after it.
							batch = [][]byte{good, goodVLAN, bad, good, goodVLAN}
						}
						before := l.Counters()
						l.Send(0, batch...)
						after := l.Counters()
						for r := dp.Reason(1); r < dp.NumReasons; r++ {
							d := after.Drops[r] - before.Drops[r]
							if r == s.want && d != 1 {
								t.Errorf("%v: %d drops, want 1", r, d)
							}
							if r != s.want && d != 0 && (r == ethernet.MulticastSource || r == ethernet.OwnSource) {
								t.Errorf("%v: %d drops, want 0", r, d)
							}
						}
						if around == "between" {
							out := l.Out(1)
							if len(out) != 4 {
								t.Errorf("%d frames forwarded, want the 4 good ones", len(out))
							}
						}
					})
				}
			}
		}
	}
}

// TestSourceMACUnicastAccepted: a unicast source that differs from the
// interface's MAC in the I/G bit's byte alone, or in its last byte, is
// not dropped by the source checks (the checks look at the right bits).
func TestSourceMACUnicastAccepted(t *testing.T) {
	near := []([6]byte){
		{dptest.R0MAC[0] ^ 0x02, dptest.R0MAC[1], dptest.R0MAC[2], dptest.R0MAC[3], dptest.R0MAC[4], dptest.R0MAC[5]},
		{dptest.R0MAC[0], dptest.R0MAC[1], dptest.R0MAC[2], dptest.R0MAC[3], dptest.R0MAC[4], dptest.R0MAC[5] ^ 1},
		{0xfe, 0xff, 0xff, 0xff, 0xff, 0xff},
	}
	for _, general := range []bool{false, true} {
		for _, src := range near {
			l := dptest.New(t, dptest.Options{VLANs: true})
			dp.SetGeneralPath(l.Worker, general)
			l.Send(0,
				dptest.IPv4Frame(dptest.R0MAC, src, dptest.HostA, dptest.HostB, hdr.ProtoUDP, 9, false, dptest.UDP(1, 2, 18)),
				dptest.Tag(dptest.IPv4Frame(dptest.R0MAC, src, dptest.SubHost[0], dptest.SubHost[2], hdr.ProtoUDP, 9, false, dptest.UDP(1, 2, 18)), 0x8100, 100))
			c := l.Counters()
			if c.TotalDrops() != 0 || len(l.Out(1)) != 2 {
				t.Errorf("general=%v source %x: %d drops, want both frames forwarded", general, src, c.TotalDrops())
			}
		}
	}
}
