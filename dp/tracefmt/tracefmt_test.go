package tracefmt_test

import (
	"net"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"

	"github.com/softnet/softnet/dp/tracefmt"
)

// TestSummarizeIPv6: a trace's line for an IPv6 frame names its
// addresses, hop limit, payload length and upper layer (UDP ports, the
// ICMPv6 type), as the IPv4 line does.
func TestSummarizeIPv6(t *testing.T) {
	mk := func(next layers.IPProtocol, l4 ...gopacket.SerializableLayer) []byte {
		eth := &layers.Ethernet{SrcMAC: net.HardwareAddr{2, 0xaa, 0, 0, 0, 2}, DstMAC: net.HardwareAddr{2, 0x52, 0, 0, 0, 1}, EthernetType: layers.EthernetTypeIPv6}
		ip := &layers.IPv6{Version: 6, NextHeader: next, HopLimit: 64, SrcIP: net.ParseIP("2001:db8:1::2"), DstIP: net.ParseIP("2001:db8:100::5")}
		buf := gopacket.NewSerializeBuffer()
		ls := append([]gopacket.SerializableLayer{eth, ip}, l4...)
		if u, ok := l4[0].(*layers.UDP); ok {
			_ = u.SetNetworkLayerForChecksum(ip)
		}
		if c, ok := l4[0].(*layers.ICMPv6); ok {
			_ = c.SetNetworkLayerForChecksum(ip)
		}
		if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}, ls...); err != nil {
			t.Fatal(err)
		}
		return buf.Bytes()
	}
	for _, tc := range []struct {
		f    []byte
		want string
	}{
		{mk(layers.IPProtocolUDP, &layers.UDP{SrcPort: 40000, DstPort: 40001}, gopacket.Payload(make([]byte, 18))),
			"02:aa:00:00:00:02 > 02:52:00:00:00:01 ipv6 2001:db8:1::2 > 2001:db8:100::5 hlim 64 len 26 udp 40000 > 40001"},
		{mk(layers.IPProtocolICMPv6, &layers.ICMPv6{TypeCode: layers.CreateICMPv6TypeCode(128, 0)}, gopacket.Payload([]byte{0, 7, 0, 1})),
			"02:aa:00:00:00:02 > 02:52:00:00:00:01 ipv6 2001:db8:1::2 > 2001:db8:100::5 hlim 64 len 8 icmp6 echo request"},
		{mk(layers.IPProtocolICMPv6, &layers.ICMPv6{TypeCode: layers.CreateICMPv6TypeCode(1, 3)}, gopacket.Payload(make([]byte, 4))),
			"02:aa:00:00:00:02 > 02:52:00:00:00:01 ipv6 2001:db8:1::2 > 2001:db8:100::5 hlim 64 len 8 icmp6 destination unreachable code 3"},
	} {
		if got := tracefmt.Summarize(tc.f); got != tc.want {
			t.Errorf("Summarize\n got %q\nwant %q", got, tc.want)
		}
	}
	if got := tracefmt.Summarize(mk(layers.IPProtocolUDP, &layers.UDP{SrcPort: 1, DstPort: 2})[:30]); got != "02:aa:00:00:00:02 > 02:52:00:00:00:01 ipv6 (truncated)" {
		t.Errorf("truncated: %q", got)
	}
}
