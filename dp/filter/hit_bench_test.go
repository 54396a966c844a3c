package filter_test

import (
	"slices"
	"testing"
	"time"

	"github.com/softnet/softnet/dp/dptest"
	"github.com/softnet/softnet/dp/filter"
	"github.com/softnet/softnet/dp/filter/pf"
	"github.com/softnet/softnet/hdr"
)

// BenchmarkEstablished is the filter node's established path through a
// lab router (ethernet-input to interface-output): 256 connections made
// (for TCP, the three-way handshake through the filter), then vectors of
// one in-window segment (TCP: an ACK with 100 bytes of data, the same
// one again, as a retransmission is) or datagram from each, side A to
// side B. The figure to compare is median-ns/pkt, the median poll's time
// a packet, TCP against UDP (both hits are made without a call of
// decide; the sampled ip4-filter-ns/pkt moves too much from run to run
// to compare). Its allocs/op are the lab ports' copies of the frames, not
// the node's (TestFilterZeroAlloc).
func BenchmarkEstablished(b *testing.B) {
	for _, proto := range []uint8{hdr.ProtoUDP, hdr.ProtoTCP} {
		name := "udp"
		if proto == hdr.ProtoTCP {
			name = "tcp"
		}
		b.Run(name, func(b *testing.B) {
			l := dptest.New(b, dptest.Options{})
			if err := l.Router.SetFilter(rules(b, pf.Block, "pass out", "pass in on if0 proto {tcp, udp} to any port 80")); err != nil {
				b.Fatal(err)
			}
			const n = 256
			vec := make([][]byte, n)
			for i := range vec {
				sport := uint16(20000 + i)
				if proto == hdr.ProtoTCP {
					l.Send(0, fromA(hdr.ProtoTCP, tcp(sport, 80, 1000, 0, syn, 0)))
					l.Send(1, fromB(hdr.ProtoTCP, tcp(80, sport, 5000, 1001, syn|ack, 0)))
					l.Send(0, fromA(hdr.ProtoTCP, tcp(sport, 80, 1001, 5001, ack, 0)))
					vec[i] = fromA(hdr.ProtoTCP, tcp(sport, 80, 1001, 5001, ack, 100))
				} else {
					vec[i] = fromA(hdr.ProtoUDP, dptest.UDP(sport, 80, 100))
				}
			}
			l.Out(0)
			l.Out(1)
			l.Send(0, vec...)
			if got := len(l.Out(1)); got != n {
				b.Fatalf("%d of %d established packets forwarded", got, n)
			}
			c0 := l.Counters()
			var per []float64
			b.ReportAllocs()
			b.ResetTimer()
			pkts := 0
			for b.Loop() {
				l.Ports[0].Push(vec...)
				t0 := time.Now()
				k := l.Worker.Poll()
				per = append(per, float64(time.Since(t0))/float64(max(k, 1)))
				pkts += k
				l.Ports[1].Take()
			}
			b.StopTimer()
			c1 := l.Counters()
			if c1.TotalDrops() != c0.TotalDrops() {
				b.Fatalf("%d packets dropped", c1.TotalDrops()-c0.TotalDrops())
			}
			slices.Sort(per)
			b.ReportMetric(per[len(per)/2], "median-ns/pkt")
			if sp := c1.SampledPkts[filter.Stage4] - c0.SampledPkts[filter.Stage4]; sp > 0 {
				b.ReportMetric(float64(c1.SampledNanos[filter.Stage4]-c0.SampledNanos[filter.Stage4])/float64(sp), "ip4-filter-ns/pkt")
			}
		})
	}
}
