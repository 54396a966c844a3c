package dp_test

import (
	"encoding/binary"
	"net/netip"
	"testing"

	"github.com/softnet/softnet/bench"
	"github.com/softnet/softnet/control"
	"github.com/softnet/softnet/dp"
	"github.com/softnet/softnet/hdr"
	"github.com/softnet/softnet/port"
	"github.com/softnet/softnet/port/mem"
)

// The allocation tests run a worker over a generator port (in0) and a sink
// (out0): mem.Queue copies frames by design, a Gen and a Sink do not, so
// any allocation counted is the pipeline's. The topology is bench's
// ip4-forward one with a small table.
var allocPrefixes = []netip.Prefix{
	netip.MustParsePrefix("1.0.0.0/8"),
	netip.MustParsePrefix("8.8.8.0/24"),
	netip.MustParsePrefix("100.64.0.0/10"),
	netip.MustParsePrefix("203.0.113.0/24"),
	netip.MustParsePrefix("203.0.113.128/25"),
}

// allocWorker builds the worker. The ICMP token bucket is made deep
// enough that every error in a test is built and sent, not rate-limited,
// so the error path itself is measured. The sender has a static
// neighbour entry: replies and errors go back out in0 (into the
// generator's Send) without waiting for the control plane, which does
// not run here.
func allocWorker(tb testing.TB, frames [][]byte) (*dp.Worker, *mem.Gen, *mem.Sink) {
	tb.Helper()
	w, g, s, _ := allocRouter(tb, frames)
	return w, g, s
}

// allocRouter is allocWorker with its control plane.
func allocRouter(tb testing.TB, frames [][]byte) (*dp.Worker, *mem.Gen, *mem.Sink, *control.Router) {
	tb.Helper()
	r := control.New(control.Options{ICMPRate: 1_000_000, ICMPBurst: 1 << 30})
	in, err := r.AddInterface(control.IfaceConfig{Name: "in0", MAC: bench.InMAC, Addrs: []netip.Prefix{bench.InAddr}})
	if err != nil {
		tb.Fatal(err)
	}
	out, err := r.AddInterface(control.IfaceConfig{Name: "out0", MAC: bench.OutMAC, Addrs: []netip.Prefix{bench.OutAddr}})
	if err != nil {
		tb.Fatal(err)
	}
	if err := r.AddNeighbor(in, bench.SrcAddr, bench.PeerMAC); err != nil {
		tb.Fatal(err)
	}
	for i := 1; i <= bench.NextHops; i++ {
		if err := r.AddNeighbor(out, bench.Gateway(i), bench.GatewayMAC(i)); err != nil {
			tb.Fatal(err)
		}
	}
	if err := r.AddRoutes(allocPrefixes, func(i int) netip.Addr { return bench.Gateway(1 + i%bench.NextHops) }); err != nil {
		tb.Fatal(err)
	}
	r.Publish()
	g, s := mem.NewGen("in0", frames), mem.NewSink("out0")
	ports := make([]port.Port, 2)
	ports[in], ports[out] = g, s
	w := dp.NewWorker(0, r.Config(), ports, []dp.RxQueue{{Iface: in}}, dp.Options{})
	r.AttachWorkers([]*dp.Worker{w})
	return w, g, s, r
}

func u32(a netip.Addr) uint32 {
	b := a.As4()
	return binary.BigEndian.Uint32(b[:])
}

// mixFrames is forwarded traffic with, every few frames, a ping to the
// router, a TTL-expired packet (ICMP time exceeded) and a packet with no
// route (ICMP net unreachable); all 64 bytes, as the generator needs.
func mixFrames() [][]byte {
	fwd := bench.Frames(allocPrefixes, 64, 64)
	src := u32(bench.SrcAddr)
	var frames [][]byte
	for i, f := range fwd {
		frames = append(frames, f)
		switch i % 4 {
		case 1:
			frames = append(frames, pingFrame(src, u32(bench.InAddr.Addr()), uint16(i)))
		case 2:
			t := make([]byte, 64)
			bench.UDPFrame(t, bench.InMAC, bench.PeerMAC, src, u32(netip.MustParseAddr("8.8.8.8")), 1024+uint16(i), 33434, 1)
			frames = append(frames, t)
		case 3:
			t := make([]byte, 64)
			bench.UDPFrame(t, bench.InMAC, bench.PeerMAC, src, u32(netip.MustParseAddr("192.168.77.1")), 1024+uint16(i), 9, 64)
			frames = append(frames, t)
		}
	}
	return frames
}

// pingFrame is a 64-byte ICMP echo request from the generator's peer.
func pingFrame(src, dst uint32, seq uint16) []byte {
	f := make([]byte, 64)
	bench.UDPFrame(f, bench.InMAC, bench.PeerMAC, src, dst, 0, 0, 64) // Ethernet and IPv4 headers
	ip := hdr.IPv4(f[hdr.EthernetLen:])
	ip.SetProtocol(hdr.ProtoICMP)
	ip.SetChecksum(0)
	ip.SetChecksum(ip.ComputeChecksum())
	c := f[hdr.EthernetLen+hdr.IPv4MinLen:]
	clear(c)
	c[0] = hdr.ICMPv4Echo
	binary.BigEndian.PutUint16(c[4:], 0x77)
	binary.BigEndian.PutUint16(c[6:], seq)
	binary.BigEndian.PutUint16(c[2:], hdr.Checksum(c, 0))
	return f
}

func TestPipelineZeroAlloc(t *testing.T) {
	for _, tc := range []struct {
		name   string
		frames [][]byte
		mix    bool
	}{
		{"forward", bench.Frames(allocPrefixes, 1024, 64), false},
		{"mix", mixFrames(), true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w, g, s := allocWorker(t, tc.frames)
			for range 4 {
				w.Poll() // warm up: first touches of the pool and the tables
			}
			if a := testing.AllocsPerRun(200, func() { w.Poll() }); a != 0 {
				t.Fatalf("%v allocations per poll of %d packets, want 0", a, 256)
			}
			// Stop the generator: a poll that receives nothing publishes
			// the worker's counters.
			g.SetLimit(g.Generated())
			if n := w.Poll(); n != 0 {
				t.Fatalf("the stopped generator gave %d frames", n)
			}
			c := w.Counters()
			if s.Sent() == 0 || c.TxPackets[1] != s.Sent() {
				t.Fatalf("out0 sent %d, counted %d", s.Sent(), c.TxPackets[1])
			}
			if free, size := w.Pool().Free(), w.Pool().Size(); free != size {
				t.Fatalf("buffer leak: %d of %d buffers back in the pool", free, size)
			}
			if !tc.mix {
				if c.TotalDrops() != 0 || g.Sent() != 0 {
					t.Fatalf("plain forwarding dropped %d and sent %d back", c.TotalDrops(), g.Sent())
				}
				return
			}
			// The mix exercised every path it was built for.
			if c.ICMPEchoReplies == 0 || c.ICMPErrors[dp.ICMPErrTTLExceeded] == 0 || c.ICMPErrors[dp.ICMPErrNetUnreach] == 0 {
				t.Fatalf("echo replies %d, time exceeded %d, net unreachable %d: want all non-zero",
					c.ICMPEchoReplies, c.ICMPErrors[dp.ICMPErrTTLExceeded], c.ICMPErrors[dp.ICMPErrNetUnreach])
			}
			if c.TotalDrops() != 0 {
				for r := dp.Reason(0); r < dp.NumReasons; r++ {
					if c.Drops[r] != 0 {
						t.Errorf("drop %v: %d", r, c.Drops[r])
					}
				}
				t.Fatal("the mix should drop nothing")
			}
			if want := c.ICMPEchoReplies + c.ICMPErrors[dp.ICMPErrTTLExceeded] + c.ICMPErrors[dp.ICMPErrNetUnreach]; g.Sent() != want {
				t.Fatalf("in0 sent back %d, want %d replies and errors", g.Sent(), want)
			}
		})
	}
}

// BenchmarkPipeline polls the worker on the benchmark goroutine and
// reports the cost per packet of plain forwarding and of the mix.
func BenchmarkPipeline(b *testing.B) {
	for _, bc := range []struct {
		name   string
		frames [][]byte
	}{
		{"forward", bench.Frames(allocPrefixes, 4096, 64)},
		{"mix", mixFrames()},
	} {
		b.Run(bc.name, func(b *testing.B) {
			w, _, _ := allocWorker(b, bc.frames)
			w.Poll()
			b.ReportAllocs()
			pkts := 0
			for b.Loop() {
				pkts += w.Poll()
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(max(pkts, 1)), "ns/pkt")
		})
	}
}
