package ip4

import (
	"bytes"
	"testing"

	"github.com/softnet/softnet/dp"
	"github.com/softnet/softnet/hdr"
	"github.com/softnet/softnet/pkt"
)

// TestWriteL2Headroom: writeL2 puts the adjacency's header (untagged,
// 802.1Q, QinQ) right in front of the IPv4 packet and makes it the frame,
// with the 22-byte store when there are 22 bytes before the IPv4 header
// and with a copy of the header alone when there are fewer (a frame at
// the very start of its buffer), never touching the packet.
func TestWriteL2Headroom(t *testing.T) {
	pool := pkt.NewPool(1)
	b := pool.Get()
	defer pool.Put(b)
	ip := bytes.Repeat([]byte{0x45, 1, 2, 3}, 5)
	dst, src := [6]byte{2, 0, 0, 0, 0, 0xb}, [6]byte{2, 0, 0, 0, 0, 0xa}
	for _, tags := range [][]byte{nil, {0x81, 0, 0, 100}, {0x88, 0xa8, 0, 10, 0x81, 0, 0, 20}} {
		var adj dp.Adj
		adj.SetL2(dst, src, tags, hdr.EtherTypeIPv4)
		adj.Iface = 3
		l2 := hdr.EthernetLen + len(tags)
		want := append(append(append(append(dst[:0:0], dst[:]...), src[:]...), tags...), 0x08, 0x00)
		want = append(want, ip...)
		for _, l3 := range []int{l2, l2 + 1, 21, 22, 23, 200} {
			if l3 < l2 {
				continue
			}
			b.Reset(0)
			raw := b.Raw()
			for i := range raw[:256] {
				raw[i] = 0xee
			}
			copy(raw[l3:], ip)
			// A frame whose IPv4 header is at l3 in the buffer (its L2
			// header about to be written in front).
			b.SetFrame(l3-hdr.EthernetLen, hdr.EthernetLen+len(ip))
			b.L3 = hdr.EthernetLen
			start := l3 - l2
			writeL2(b, &adj, start, len(ip))
			if int(b.Off) != start || int(b.L3) != l2 || int(b.Len) != l2+len(ip) || b.OutPort != 3 {
				t.Fatalf("tags %x, IPv4 at %d: Off %d L3 %d Len %d OutPort %d, want %d %d %d 3", tags, l3, b.Off, b.L3, b.Len, b.OutPort, start, l2, l2+len(ip))
			}
			if !bytes.Equal(b.Bytes(), want) {
				t.Fatalf("tags %x, IPv4 at %d: frame % x, want % x", tags, l3, b.Bytes(), want)
			}
			if !bytes.Equal(raw[l3+len(ip):l3+len(ip)+8], bytes.Repeat([]byte{0xee}, 8)) {
				t.Fatalf("tags %x, IPv4 at %d: bytes past the packet written", tags, l3)
			}
		}
	}
}
