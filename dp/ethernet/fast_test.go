package ethernet

import (
	"encoding/binary"
	"slices"
	"testing"
	"time"

	"github.com/softnet/softnet/dp"
	"github.com/softnet/softnet/hdr"
	"github.com/softnet/softnet/pkt"
)

var fastMAC = [6]byte{2, 0, 0, 0, 0, 1}

// fastBatch fills a batch of 64-byte IPv4 frames to fastMAC from pool,
// frame i in one 802.1Q tag of VLAN vid(i) (untagged for 0).
func fastBatch(pool *pkt.Pool, vid func(i int) int) *pkt.Batch {
	in := &pkt.Batch{}
	for i := range pkt.BatchSize {
		buf := pool.Get()
		f := buf.Reset(64)
		copy(f[0:6], fastMAC[:])
		l := 12
		if v := vid(i); v != 0 {
			binary.BigEndian.PutUint16(f[12:], hdr.EtherTypeVLAN)
			binary.BigEndian.PutUint16(f[14:], uint16(v))
			l = 16
		}
		binary.BigEndian.PutUint16(f[l:], hdr.EtherTypeIPv4)
		in.Push(buf)
	}
	return in
}

// fastTable maps VLAN v to interface v+1 (interface 1 is the port).
func fastTable() *dp.VLANTable {
	vt := &dp.VLANTable{}
	for v := 1; v <= dp.MaxVLAN; v++ {
		vt.Dot1Q[v] = uint16(v + 1)
	}
	return vt
}

func fastMACWord() uint64 {
	return uint64(binary.BigEndian.Uint32(fastMAC[0:4]))<<16 | uint64(binary.BigEndian.Uint16(fastMAC[4:6]))
}

// TestEtherVLANFastCounts: etherVLANFast passes the frames of runs of one
// VLAN and of alternating VLANs, counts each on its sub-interface
// (packets and bytes), sets InPort and L3, and stops at the first frame
// with no sub-interface (here VLAN 7, unset in the table).
func TestEtherVLANFastCounts(t *testing.T) {
	pool := pkt.NewPool(pkt.BatchSize)
	vids := []int{1, 1, 2, 1, 2, 2, 2, 3, 7, 1}
	in := fastBatch(pool, func(i int) int { return vids[i%len(vids)] })
	defer pool.PutBatch(in)
	vt := fastTable()
	vt.Dot1Q[7] = 0
	rxp, rxb := make([]uint64, dp.MaxVLAN+2), make([]uint64, dp.MaxVLAN+2)
	i, k := etherVLANFast(in, 0, 0, vt, fastMACWord(), hdr.EtherTypeIPv4, rxp, rxb)
	if i != 8 || k != 8 {
		t.Fatalf("stopped at %d with %d passed, want 8 and 8 (at VLAN 7)", i, k)
	}
	want := map[int]uint64{2: 3, 3: 4, 4: 1} // interface (VLAN+1): frames
	for e := range rxp {
		if rxp[e] != want[e] || rxb[e] != 64*want[e] {
			t.Errorf("interface %d: %d packets %d bytes, want %d and %d", e, rxp[e], rxb[e], want[e], 64*want[e])
		}
	}
	for j := range k {
		b := pkt.At(in.B[j])
		if int(b.InPort) != vids[j]+1 || b.L3 != hdr.EthernetLen+dp.TagLen {
			t.Errorf("frame %d: InPort %d L3 %d, want %d and 18", j, b.InPort, b.L3, vids[j]+1)
		}
	}
}

// BenchmarkEtherFast times ethernet-input's fast loops alone on batches
// of 64-byte IPv4 frames (every frame passes, so a batch is the same on
// every call): untagged (etherFast), in one 802.1Q VLAN and spread over
// 4094 (etherVLANFast); the node's VLAN cost is the difference. The
// three are called in turn, each call timed, and the medians reported:
// robust to load from elsewhere on a shared machine.
func BenchmarkEtherFast(b *testing.B) {
	pool := pkt.NewPool(3 * pkt.BatchSize)
	vt := fastTable()
	rxp, rxb := make([]uint64, dp.MaxVLAN+2), make([]uint64, dp.MaxVLAN+2)
	mac := fastMACWord()
	cases := []struct {
		name string
		vid  func(i int) int
		in   *pkt.Batch
		ns   []float64
	}{
		{name: "untagged", vid: func(int) int { return 0 }},
		{name: "vlan-1", vid: func(int) int { return 1 }},
		{name: "vlan-4094", vid: func(i int) int { return 1 + i%dp.MaxVLAN }},
	}
	for i := range cases {
		cases[i].in = fastBatch(pool, cases[i].vid)
	}
	for b.Loop() {
		for j := range cases {
			c := &cases[j]
			t0 := time.Now()
			var i, k int
			if j == 0 {
				i, k, _ = etherFast(c.in, 0, 0, 0, 1, mac, hdr.EtherTypeIPv4)
			} else {
				i, k = etherVLANFast(c.in, 0, 0, vt, mac, hdr.EtherTypeIPv4, rxp, rxb)
			}
			c.ns = append(c.ns, float64(time.Since(t0).Nanoseconds())/float64(c.in.N))
			if i != c.in.N || k != c.in.N {
				b.Fatalf("%s: passed %d/%d of %d", c.name, i, k, c.in.N)
			}
		}
	}
	for _, c := range cases {
		slices.Sort(c.ns)
		b.ReportMetric(c.ns[len(c.ns)/2], c.name+"-ns/pkt")
	}
}
