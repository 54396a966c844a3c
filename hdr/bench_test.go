package hdr

import "testing"

var sinkInt int

func benchSum(b *testing.B, n int) {
	buf := make([]byte, n)
	for i := range buf {
		buf[i] = byte(i * 7)
	}
	b.SetBytes(int64(n))
	b.ReportAllocs()
	var s uint32
	for b.Loop() {
		s += Sum(buf, 0)
	}
	sinkInt = int(s)
}

func BenchmarkSum20(b *testing.B)   { benchSum(b, 20) }
func BenchmarkSum64(b *testing.B)   { benchSum(b, 64) }
func BenchmarkSum1500(b *testing.B) { benchSum(b, 1500) }

func BenchmarkIPv4Validate(b *testing.B) {
	ip := IPv4(buildIPv4(nil, 64, 0))
	b.ReportAllocs()
	var s Status
	for b.Loop() {
		s |= ip.Validate()
	}
	sinkInt = int(s)
}

func BenchmarkIPv4DecTTL(b *testing.B) {
	ip := IPv4(buildIPv4(nil, 64, 0))
	b.ReportAllocs()
	for b.Loop() {
		ip.DecTTL()
		ip.SetTTL(64) // keep TTL in range; the checksum tracks only decrements
	}
	sinkInt = int(ip.Checksum())
}

func BenchmarkIPv4ComputeChecksum(b *testing.B) {
	ip := IPv4(buildIPv4(nil, 64, 0))
	b.ReportAllocs()
	var s uint16
	for b.Loop() {
		s += ip.ComputeChecksum()
	}
	sinkInt = int(s)
}

func BenchmarkParseEthernet(b *testing.B) {
	f := frame([]uint16{EtherTypeVLAN, 100, EtherTypeIPv4}, 46)
	b.ReportAllocs()
	var s int
	for b.Loop() {
		_, off, _, _ := ParseEthernet(f, 2)
		s += off
	}
	sinkInt = s
}

func BenchmarkIPv6Transport(b *testing.B) {
	ip := IPv6(buildIPv6([]ext{{ProtoHopByHop, 8}, {ProtoFragment, 8}}, ProtoUDP, 8))
	b.ReportAllocs()
	var s int
	for b.Loop() {
		_, off, _, _, _ := ip.Transport()
		s += off
	}
	sinkInt = s
}
