package run

import (
	"bytes"
	"encoding/binary"
	"net/netip"
	"runtime"
	"testing"

	"github.com/softnet/softnet/dp/dptest"
	"github.com/softnet/softnet/hdr"
	"github.com/softnet/softnet/port/mem"
)

// bridgeConfig: lan0 and lan1's VLAN 7 switched by br0, whose routed
// interface irb0 routes to wan0.
const bridgeConfig = `interfaces:
  - {name: irb0, bridge: br0, mac: 02:52:00:00:00:09, addresses: [10.5.0.1/24]}
  - {name: lan0, backend: mem, mac: 02:52:00:00:00:01}
  - {name: lan1, backend: mem, mac: 02:52:00:00:00:03}
  - {name: lan1.7, parent: lan1, vlan: 7}
  - {name: wan0, backend: mem, mac: 02:52:00:00:00:02, addresses: [10.0.2.1/24]}
bridges:
  - {name: br0, members: [lan0, lan1.7], ageing: 60}
routes:
  - {prefix: 198.18.0.0/15, via: 10.0.2.2}
neighbors:
  - {interface: wan0, address: 10.0.2.2, mac: 02:bb:00:00:00:02}
`

// TestBridgeRun starts a router with a bridge from a config: a frame
// between the members is switched (and tagged for lan1.7), one to the
// routed interface's MAC is routed out of wan0.
func TestBridgeRun(t *testing.T) {
	cfg := writeConfig(t, t.TempDir(), bridgeConfig)
	n0 := runtime.NumGoroutine()
	r, err := Start(cfg, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer noLeak(t, n0)
	defer r.Stop()
	lan0, lan1, wan0 := r.Port("lan0").(*mem.Queue), r.Port("lan1").(*mem.Queue), r.Port("wan0").(*mem.Queue)
	irb := [6]byte{0x02, 0x52, 0, 0, 0, 9}
	hostX := [6]byte{0x02, 0xcc, 0, 0, 0, 1}
	f := dptest.IPv4Frame(hostX, hostA, netip.MustParseAddr("10.5.0.2"), netip.MustParseAddr("10.5.0.3"), hdr.ProtoUDP, 64, false, dptest.UDP(1, 2, 8))
	lan0.Push(f)
	var out [][]byte
	waitFor(t, "the frame flooded to lan1 in VLAN 7", func() bool { out = append(out, lan1.Take()...); return len(out) > 0 })
	// Tagged, and padded to 60 bytes (dp.MinFrame) as it leaves.
	want := dptest.Tag(f, hdr.EtherTypeVLAN, 7)
	want = append(want, make([]byte, max(0, 60-len(want)))...)
	if !bytes.Equal(out[0], want) {
		t.Fatalf("lan1 got % x", out[0][:20])
	}
	routed := dptest.IPv4Frame(irb, hostA, netip.MustParseAddr("10.5.0.2"), netip.MustParseAddr("198.18.0.1"), hdr.ProtoUDP, 64, false, dptest.UDP(1, 2, 8))
	lan0.Push(routed)
	out = nil
	waitFor(t, "the routed frame out of wan0", func() bool { out = append(out, wan0.Take()...); return len(out) > 0 })
	if !bytes.Equal(out[0][0:6], hostB[:]) || binary.BigEndian.Uint16(out[0][12:]) != hdr.EtherTypeIPv4 || hdr.IPv4(out[0][14:]).TTL() != 63 {
		t.Fatalf("wan0 got % x", out[0][:34])
	}
	// The routed interface counts what it received from the bridge and
	// routed (issue 17, defect 10: it stayed at zero); wan0's reply
	// would come back through it.
	waitFor(t, "irb0's counters", func() bool {
		for _, s := range r.Status() {
			if s.Name == "irb0" {
				return s.Backend == "bvi" && s.RxPackets == 1 && s.RxBytes == uint64(len(routed))
			}
		}
		return false
	})
	back := dptest.IPv4Frame(wanMAC, hostB, netip.MustParseAddr("198.18.0.1"), netip.MustParseAddr("10.5.0.2"), hdr.ProtoUDP, 64, false, dptest.UDP(2, 1, 8))
	wan0.Push(back)
	// 10.5.0.2 is not resolved: the packet waits for ARP, and the ARP
	// request goes out of irb0 into the bridge.
	waitFor(t, "irb0 sends", func() bool {
		for _, s := range r.Status() {
			if s.Name == "irb0" {
				return s.TxPackets > 0 && s.TxBytes > 0
			}
		}
		return false
	})
	// Every packet accounted for: the flood's copy is generated, the
	// routed interface's frames are not counted twice.
	waitFor(t, "the accounting to balance", func() bool { a := r.Accounting(); return a.Balance() == 0 && a.Received == 3 })
	if a := r.Accounting(); a.Generated < 1 {
		t.Errorf("accounting %v: the flood copy is not generated", a)
	}
	br := r.Control().Bridges()
	if len(br) != 1 || br[0].Name != "br0" || br[0].BVI != "irb0" || len(br[0].Members) != 2 || len(br[0].MACs) != 1 || br[0].MACs[0].Member != "lan0" {
		t.Fatalf("Bridges() = %+v", br)
	}
}
