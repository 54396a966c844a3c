package hdr

import "testing"

// TestNoAllocs proves the hot-path entry points allocate nothing
// (style habit 4: zero allocations on the data path).
func TestNoAllocs(t *testing.T) {
	v4 := IPv4(buildIPv4([]byte{1, 1, 1, 0}, 64, 6))
	v6 := IPv6(buildIPv6([]ext{{ProtoHopByHop, 8}, {ProtoRouting, 24}, {ProtoFragment, 8}}, ProtoTCP, 20))
	eth := frame([]uint16{EtherTypeQinQ, 1, EtherTypeVLAN, 2, EtherTypeIPv4}, 46)
	arp := ARP(buildARP(ARPRequest))
	udp := UDP([]byte{0, 1, 0, 2, 0, 8, 0, 0})
	tcp := TCP(make([]byte, 20))
	tcp[12] = 0x50
	icmp := ICMPv4(make([]byte, 8))
	buf := make([]byte, 1500)
	var sink int
	for _, tc := range []struct {
		name string
		f    func()
	}{
		{"ParseEthernet", func() { _, off, _, _ := ParseEthernet(eth, 2); sink += off }},
		{"ARP.Validate", func() { sink += int(arp.Validate()) }},
		{"IPv4.Validate", func() { sink += int(v4.Validate()) }},
		{"IPv4.ComputeChecksum", func() { sink += int(v4.ComputeChecksum()) }},
		{"IPv4.DecTTL", func() { v4.SetTTL(64); v4.DecTTL() }},
		{"IPv6.Validate", func() { sink += int(v6.Validate()) }},
		{"IPv6.Transport", func() { _, off, _, _, _ := v6.Transport(); sink += off }},
		{"UDP.Validate", func() { sink += int(udp.Validate()) }},
		{"TCP.Validate", func() { sink += int(tcp.Validate()) }},
		{"ICMPv4.Validate", func() { sink += int(icmp.Validate()) }},
		{"Sum", func() { sink += int(Sum(buf, 0)) }},
		{"Checksum", func() { sink += int(Checksum(buf[:63], 7)) }},
		{"PseudoSumIPv6", func() { sink += int(PseudoSumIPv6(v6.Src(), v6.Dst(), ProtoTCP, 20)) }},
		{"Update32", func() { sink += int(Update32(1, 2, 3)) }},
		{"Status.String", func() { sink += len(BadChecksum.String()) }},
	} {
		if n := testing.AllocsPerRun(100, tc.f); n != 0 {
			t.Errorf("%s allocates %.1f times per run", tc.name, n)
		}
	}
	_ = sink
}
