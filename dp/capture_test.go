package dp_test

import (
	"bytes"
	"net/netip"
	"testing"
	"time"

	"github.com/softnet/softnet/bench"
	"github.com/softnet/softnet/control"
	"github.com/softnet/softnet/dp"
	"github.com/softnet/softnet/dp/dptest"
	"github.com/softnet/softnet/pkt"
)

func drainAll(c *dp.Capture) []dp.CapRecord {
	var out []dp.CapRecord
	c.Drain(func(r *dp.CapRecord) {
		x := *r
		x.Data = bytes.Clone(r.Data)
		out = append(out, x)
	})
	return out
}

func capSpec(t *testing.T, r *control.Router, q control.CaptureRequest) dp.CaptureSpec {
	t.Helper()
	s, err := r.ResolveCapture(q)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestCapturePoints: rx (before any node), tx (what the port is given,
// rewritten), drop (with its reason), a filter, a snap length, and a
// VLAN sub-interface's rx found through its port's VLAN table.
func TestCapturePoints(t *testing.T) {
	w, _, _, r := allocRouter(t, nil)
	v, err := r.AddInterface(control.IfaceConfig{Name: "in0.7", Parent: "in0", VLAN: 7, Addrs: []netip.Prefix{netip.MustParsePrefix("10.77.0.1/24")}})
	if err != nil {
		t.Fatal(err)
	}
	r.Publish()
	rx := capSpec(t, r, control.CaptureRequest{Interface: "in0", Rx: true, Filter: "udp port 33434", Snap: 20})
	tx := capSpec(t, r, control.CaptureRequest{Interface: "out0", Tx: true})
	drop := capSpec(t, r, control.CaptureRequest{Drop: true, Reason: "ip4-input/bad-ihl"})
	vlan := capSpec(t, r, control.CaptureRequest{Interface: "in0.7", Rx: true})
	// On a VLAN sub-interface the filter is about what is inside the tag.
	vlanF := capSpec(t, r, control.CaptureRequest{Interface: "in0.7", Rx: true, Filter: "udp port 33434"})
	pub := r.Stats().Publishes
	cs, err := r.StartCaptures(rx, tx, drop, vlan, vlanF)
	if err != nil {
		t.Fatal(err)
	}
	if n := r.Stats().Publishes - pub; n != 1 {
		t.Fatalf("starting 5 captures published %d configs, want 1", n)
	}
	src := u32(bench.SrcAddr)
	fwd := make([]byte, 64)
	bench.UDPFrame(fwd, bench.InMAC, bench.PeerMAC, src, u32(netip.MustParseAddr("8.8.8.8")), 1000, 33434, 64)
	other := make([]byte, 64)
	bench.UDPFrame(other, bench.InMAC, bench.PeerMAC, src, u32(netip.MustParseAddr("8.8.8.8")), 1000, 53, 64)
	ttl1 := make([]byte, 64)
	bench.UDPFrame(ttl1, bench.InMAC, bench.PeerMAC, src, u32(netip.MustParseAddr("8.8.8.8")), 1000, 9, 1)
	tagged := dptest.Tag(fwd, 0x8100, 7)

	process(t, w, 0, fwd, other, ttl1, tagged)

	got := drainAll(cs[0])
	if len(got) != 1 || got[0].Point != dp.CapRx || got[0].Iface != 0 || got[0].WireLen != 64 || !bytes.Equal(got[0].Data, fwd[:20]) {
		t.Fatalf("rx capture with filter and snap 20: %+v, want the one frame to port 33434, 20 of 64 bytes", got)
	}
	got = drainAll(cs[1])
	if len(got) != 3 { // fwd, other and tagged are forwarded; ttl1 gets an ICMP error out in0
		t.Fatalf("tx capture on out0: %d records, want 3", len(got))
	}
	for _, x := range got {
		if x.Point != dp.CapTx || x.Iface != 1 || x.Data[14+8] != 63 {
			t.Fatalf("tx record %+v: want out0's rewritten frame with TTL 63", x)
		}
	}
	got = drainAll(cs[2])
	if len(got) != 0 {
		t.Fatalf("drop capture: %d records before any drop", len(got))
	}
	for _, c := range cs[3:] {
		got = drainAll(c)
		if len(got) != 1 || got[0].Iface != v || !bytes.Equal(got[0].Data, tagged) {
			t.Fatalf("rx capture on the VLAN sub-interface (filter %v): %+v, want the tagged frame on interface %d", c.Spec.Filter != nil, got, v)
		}
	}
	// A drop with the reason asked for, and one with another reason.
	bad := bytes.Clone(fwd)
	bad[14] = 0x44 // IHL 4: below 20 bytes
	badVer := bytes.Clone(fwd)
	badVer[14] = 0x65 // version 6 in an IPv4 frame
	process(t, w, 0, bad, badVer)
	got = drainAll(cs[2])
	if len(got) != 1 || got[0].Point != dp.CapDrop || got[0].Reason.String() != "ip4-input/bad-ihl" || got[0].Iface != 0 || !bytes.Equal(got[0].Data, bad) {
		t.Fatalf("drop capture of ip4-input/bad-ihl: %+v, want the one bad-ihl frame", got)
	}
	if c := w.Counters(); c.Drops[got[0].Reason] != 1 {
		t.Fatalf("bad-ihl counted %d", c.Drops[got[0].Reason])
	}
	// Stopped: nothing more.
	for _, c := range cs {
		drainAll(c)
	}
	pub = r.Stats().Publishes
	if err := r.StopCaptures(cs...); err != nil {
		t.Fatal(err)
	}
	if n := r.Stats().Publishes - pub; n != 1 || r.Config().Load().Taps != nil {
		t.Fatalf("stopping every capture published %d configs (want 1), taps left %v", n, r.Config().Load().Taps != nil)
	}
	process(t, w, 0, fwd, tagged)
	for i, c := range cs {
		if n := c.Drain(func(*dp.CapRecord) {}); n != 0 {
			t.Fatalf("capture %d got %d records after it stopped", i, n)
		}
	}
	if err := r.StopCaptures(cs[0]); err != control.ErrNoCapture {
		t.Fatalf("stopping a stopped capture: %v, want ErrNoCapture", err)
	}
}

// TestCaptureRingDrops: a full ring drops and counts, never blocks, and
// a drained ring takes records again, across its wrap.
func TestCaptureRingDrops(t *testing.T) {
	w, _, _, r := allocRouter(t, nil)
	cs, err := r.StartCaptures(capSpec(t, r, control.CaptureRequest{Interface: "in0", Rx: true, RingBytes: dp.MinCapRing}))
	if err != nil {
		t.Fatal(err)
	}
	frames := bench.Frames(allocPrefixes, 200, 64)
	process(t, w, 0, frames...) // 200 records of 96 bytes: 42 fit in 4 KiB
	got := drainAll(cs[0])
	if len(got) != dp.MinCapRing/96 || cs[0].Drops() != uint64(200-len(got)) {
		t.Fatalf("%d records, %d drops: want %d and %d", len(got), cs[0].Drops(), dp.MinCapRing/96, 200-dp.MinCapRing/96)
	}
	for i, x := range got {
		if !bytes.Equal(x.Data, frames[i]) {
			t.Fatalf("record %d is not frame %d", i, i)
		}
	}
	for round := range 20 {
		process(t, w, 0, frames[:30]...)
		got := drainAll(cs[0])
		if len(got) != 30 {
			t.Fatalf("round %d: %d records of 30", round, len(got))
		}
		for i, x := range got {
			if !bytes.Equal(x.Data, frames[i]) {
				t.Fatalf("round %d: record %d is not frame %d", round, i, i)
			}
		}
	}
}

// TestCaptureZeroAlloc: polls allocate nothing with a tap that matches
// every packet, one whose filter matches none, and drop and tx taps.
func TestCaptureZeroAlloc(t *testing.T) {
	for _, tc := range []struct {
		name string
		q    control.CaptureRequest
	}{
		{"match", control.CaptureRequest{Interface: "in0", Rx: true, Filter: "udp", RingBytes: dp.MinCapRing}},
		{"nomatch", control.CaptureRequest{Rx: true, Tx: true, Drop: true, Filter: "tcp port 22"}},
		{"all-points", control.CaptureRequest{Rx: true, Tx: true, Drop: true, RingBytes: dp.MaxCapRing}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w, _, s, r := allocRouter(t, mixFrames())
			cs, err := r.StartCaptures(capSpec(t, r, tc.q))
			if err != nil {
				t.Fatal(err)
			}
			for range 4 {
				w.Poll()
			}
			if a := testing.AllocsPerRun(200, func() { w.Poll() }); a != 0 {
				t.Fatalf("%v allocations per poll with a capture, want 0", a)
			}
			n := cs[0].Drain(func(*dp.CapRecord) {})
			if tc.name == "nomatch" && n != 0 {
				t.Fatalf("a filter that matches nothing captured %d", n)
			}
			if tc.name != "nomatch" && n+int(cs[0].Drops()) == 0 {
				t.Fatal("the capture saw nothing")
			}
			if s.Sent() == 0 {
				t.Fatal("nothing forwarded")
			}
		})
	}
}

// BenchmarkCaptureTap: forwarding with no capture, with a tap whose
// filter matches nothing, and with one that copies every packet.
func BenchmarkCaptureTap(b *testing.B) {
	for _, bc := range []struct {
		name string
		q    *control.CaptureRequest
	}{
		{"none", nil},
		{"nomatch", &control.CaptureRequest{Rx: true, Filter: "tcp port 22"}},
		{"match", &control.CaptureRequest{Rx: true}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			w, _, _, r := allocRouter(b, bench.Frames(allocPrefixes, 4096, 64))
			if bc.q != nil {
				s, err := r.ResolveCapture(*bc.q)
				if err != nil {
					b.Fatal(err)
				}
				cs, err := r.StartCaptures(s)
				if err != nil {
					b.Fatal(err)
				}
				stop := make(chan struct{})
				defer close(stop)
				go func() { // the reader, as the API's
					for {
						select {
						case <-stop:
							return
						case <-time.After(100 * time.Microsecond):
							cs[0].Drain(func(*dp.CapRecord) {})
						}
					}
				}()
			}
			w.Poll()
			pkts := 0
			for b.Loop() {
				pkts += w.Poll()
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(max(pkts, 1)), "ns/pkt")
		})
	}
}

// process runs frames, received on interface iface, through w.
func process(t *testing.T, w *dp.Worker, iface int, frames ...[]byte) {
	t.Helper()
	var v pkt.Batch
	for _, f := range frames {
		b := w.Pool().Get()
		if b == nil {
			t.Fatal("pool empty")
		}
		copy(b.Reset(len(f)), f)
		b.InPort = uint16(iface)
		v.B[v.N] = b.Index()
		v.N++
	}
	w.Process(iface, &v)
}
