package dp_test

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"net/netip"
	"testing"

	"github.com/softnet/softnet/bench"
	"github.com/softnet/softnet/control"
	"github.com/softnet/softnet/dp"
	"github.com/softnet/softnet/dp/dptest"
)

// tcpSeg is a 20-byte TCP header from sport to dport with flags.
func tcpSeg(sport, dport uint16, flags byte) []byte {
	s := make([]byte, 20)
	binary.BigEndian.PutUint16(s[0:], sport)
	binary.BigEndian.PutUint16(s[2:], dport)
	s[12] = 5 << 4
	s[13] = flags
	return s
}

// tapCorpus is frames of many filter classes: IPv4 UDP, TCP (a SYN to
// port 22, an ACK to port 80), ICMP, a later fragment, ARP, IPv6/UDP,
// an unknown EtherType and a runt.
func tapCorpus() [][]byte {
	src, dst := bench.SrcAddr, netip.MustParseAddr("8.8.8.8")
	v4 := func(proto uint8, payload []byte) []byte {
		return dptest.IPv4Frame(bench.InMAC, bench.PeerMAC, src, dst, proto, 64, false, payload)
	}
	frag := v4(17, dptest.UDP(1000, 53, 30))
	binary.BigEndian.PutUint16(frag[14+6:], 185) // offset 185*8: a later fragment
	v6 := make([]byte, 14+40+8+10)
	copy(v6, bench.InMAC[:])
	copy(v6[6:], bench.PeerMAC[:])
	binary.BigEndian.PutUint16(v6[12:], 0x86dd)
	v6[14] = 0x60
	binary.BigEndian.PutUint16(v6[14+4:], 18)
	v6[14+6], v6[14+7] = 17, 64
	v6[14+8], v6[14+24] = 0x20, 0x20
	copy(v6[14+40:], dptest.UDP(1000, 22, 10))
	other := bytes.Clone(v4(17, dptest.UDP(1, 2, 30)))
	binary.BigEndian.PutUint16(other[12:], 0x88b5)
	return [][]byte{
		v4(17, dptest.UDP(1000, 53, 30)),
		v4(6, tcpSeg(1000, 22, 0x02)),
		v4(6, tcpSeg(1000, 80, 0x10)),
		v4(1, dptest.Echo(1, 2, 30)),
		frag,
		dptest.ARPFrame(1, dptest.Broadcast, bench.PeerMAC, src, [6]byte{}, bench.InAddr.Addr()),
		v6,
		other,
		v4(17, dptest.UDP(1000, 53, 30))[:16], // a runt: EtherType, no IP header
	}
}

// vlanRouter is allocRouter with VLAN sub-interfaces in0.1 .. in0.n;
// it returns their interface indices, [v] for VID v.
func vlanRouter(t *testing.T, n int) (*dp.Worker, *control.Router, []int) {
	t.Helper()
	w, _, _, r := allocRouter(t, nil)
	ifs := make([]int, n+1)
	for v := 1; v <= n; v++ {
		i, err := r.AddInterface(control.IfaceConfig{Name: fmt.Sprintf("in0.%d", v), Parent: "in0", VLAN: v,
			Addrs: []netip.Prefix{netip.PrefixFrom(netip.AddrFrom4([4]byte{10, 100, byte(v), 1}), 24)}})
		if err != nil {
			t.Fatal(err)
		}
		ifs[v] = i
	}
	r.Publish()
	return w, r, ifs
}

// TestTapCostFlat: a received packet of a class that no capture filter
// on its port can accept ("tcp port 22" on UDP) is offered to no tap
// entry at all, whether one sub-interface or every one has a tap (the
// per-VLAN entry was the 4,094-tap scenario's cache miss); a packet of
// a class the filter may accept visits its own interface's entry once.
func TestTapCostFlat(t *testing.T) {
	const vlans = 64
	udp := dptest.IPv4Frame(bench.InMAC, bench.PeerMAC, bench.SrcAddr, netip.MustParseAddr("8.8.8.8"), 17, 64, false, dptest.UDP(1000, 53, 30))
	for _, taps := range []int{1, vlans} {
		t.Run(fmt.Sprintf("taps-%d", taps), func(t *testing.T) {
			w, r, ifs := vlanRouter(t, vlans)
			var specs []dp.CaptureSpec
			for v := 1; v <= taps; v++ {
				specs = append(specs, capSpec(t, r, control.CaptureRequest{Interface: fmt.Sprintf("in0.%d", v), Rx: true, Filter: "tcp port 22"}))
			}
			cs, err := r.StartCaptures(specs...)
			if err != nil {
				t.Fatal(err)
			}
			frames := [][]byte{udp}
			for v := 1; v <= vlans; v++ {
				frames = append(frames, dptest.Tag(udp, 0x8100, uint16(v)))
			}
			process(t, w, 0, frames...)
			if n := dp.TapVisits(w); n != 0 {
				t.Fatalf("%d UDP frames on VLANs with %d taps filtering \"tcp port 22\": %d offered to a tap entry, want 0", len(frames), taps, n)
			}
			src, dst := bench.SrcAddr, netip.MustParseAddr("8.8.8.8")
			tcp80 := dptest.Tag(dptest.IPv4Frame(bench.InMAC, bench.PeerMAC, src, dst, 6, 64, false, tcpSeg(1000, 80, 0x10)), 0x8100, 1)
			tcp22 := dptest.Tag(dptest.IPv4Frame(bench.InMAC, bench.PeerMAC, src, dst, 6, 64, false, tcpSeg(1000, 22, 0x02)), 0x8100, 1)
			process(t, w, 0, tcp80, tcp22)
			if n := dp.TapVisits(w); n != 2 {
				t.Fatalf("two TCP frames on in0.1: %d tap entry visits, want 2", n)
			}
			got := drainAll(cs[0])
			if len(got) != 1 || got[0].Iface != ifs[1] || !bytes.Equal(got[0].Data, tcp22) {
				t.Fatalf("in0.1's capture of \"tcp port 22\": %+v, want the one frame to port 22", got)
			}
		})
	}
}

// TestCaptureIndexSound: whatever the taps' index skips, every rx and
// tx capture records exactly the frames its filter accepts on its
// interfaces: rx against the filter run directly on each frame, on
// the interface the frame's tags select; tx against an unfiltered tx
// capture of the same port.
func TestCaptureIndexSound(t *testing.T) {
	w, r, ifs := vlanRouter(t, 4)
	in0 := 0
	filters := []string{"", "tcp port 22", "udp", "icmp", "arp", "ip6", "not udp", "tcp[13] & 2 != 0",
		"vlan 3", "ip[6:2] & 0x1fff = 0", "greater 100", "ether proto 0x88b5", "udp port 22 or tcp port 80"}
	type want struct {
		filter string
		ifaces []int // nil: every interface
		spec   dp.CaptureSpec
	}
	var ws []want
	for k, f := range filters {
		for _, place := range []string{"in0", fmt.Sprintf("in0.%d", 1+k%4), ""} {
			if place == "" && k%3 != 0 {
				continue
			}
			s := capSpec(t, r, control.CaptureRequest{Interface: place, Rx: true, Tx: true, Filter: f})
			ws = append(ws, want{f, s.Ifaces, s})
		}
	}
	txAll := capSpec(t, r, control.CaptureRequest{Tx: true})
	specs := []dp.CaptureSpec{txAll}
	for _, x := range ws {
		specs = append(specs, x.spec)
	}
	cs, err := r.StartCaptures(specs...)
	if err != nil {
		t.Fatal(err)
	}
	// Each frame untagged, tagged for each sub-interface, for no
	// sub-interface (VID 99), and double-tagged (0x88a8 2, 0x8100 3).
	var frames [][]byte
	type rxAt struct {
		iface int
		f     []byte
	}
	var rx []rxAt
	for _, f := range tapCorpus() {
		frames = append(frames, f)
		rx = append(rx, rxAt{in0, f})
		for v := 1; v <= 4; v++ {
			g := dptest.Tag(f, 0x8100, uint16(v))
			frames = append(frames, g)
			rx = append(rx, rxAt{ifs[v], g})
		}
		for _, g := range [][]byte{dptest.Tag(f, 0x8100, 99), dptest.Tag(f, 0x88a8, 2, 0x8100, 3)} {
			frames = append(frames, g)
			rx = append(rx, rxAt{in0, g})
		}
	}
	process(t, w, 0, frames...)
	tx := drainAll(cs[0])
	if len(tx) == 0 {
		t.Fatal("nothing sent: the tx half checks nothing")
	}
	seen := 0
	for k, x := range ws {
		c := cs[1+k]
		on := func(i int) bool {
			if x.ifaces == nil {
				return true
			}
			for _, j := range x.ifaces {
				if j == i {
					return true
				}
			}
			return false
		}
		accepts := func(f []byte) bool { return x.spec.Filter == nil || x.spec.Filter.Run(f, len(f)) != 0 }
		var wantRx, wantTx []rxAt
		for _, p := range rx {
			if on(p.iface) && accepts(p.f) {
				wantRx = append(wantRx, p)
			}
		}
		for _, p := range tx {
			if on(p.Iface) && accepts(p.Data) {
				wantTx = append(wantTx, rxAt{p.Iface, p.Data})
			}
		}
		var gotRx, gotTx []rxAt
		for _, g := range drainAll(c) {
			switch g.Point {
			case dp.CapRx:
				gotRx = append(gotRx, rxAt{g.Iface, g.Data})
			case dp.CapTx:
				gotTx = append(gotTx, rxAt{g.Iface, g.Data})
			}
		}
		check := func(point string, got, want []rxAt) {
			t.Helper()
			ok := len(got) == len(want)
			for i := 0; ok && i < len(got); i++ {
				ok = got[i].iface == want[i].iface && bytes.Equal(got[i].f, want[i].f)
			}
			if !ok {
				t.Errorf("capture %d (filter %q, interfaces %v) %s: %d records, want %d", k, x.filter, x.ifaces, point, len(got), len(want))
			}
		}
		seen += len(wantRx) + len(wantTx)
		check("rx", gotRx, wantRx)
		check("tx", gotTx, wantTx)
	}
	if seen < len(frames) {
		t.Fatalf("%d records wanted over all captures of %d frames: the corpus checks too little", seen, len(frames))
	}
}
