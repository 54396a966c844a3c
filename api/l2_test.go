package api_test

import (
	"context"
	"strings"
	"testing"

	"github.com/softnet/softnet/dp/dptest"
	"github.com/softnet/softnet/port/mem"
)

// l2Config has a VLAN, a QinQ sub-interface and a bridge of lan1 and
// lan1's VLAN 7 with a routed interface.
const l2Config = `interfaces:
  - {name: lan0, backend: mem, mac: 02:52:00:00:00:01, addresses: [10.0.1.1/24]}
  - {name: lan0.100, parent: lan0, vlan: 100, addresses: [10.1.0.1/24]}
  - {name: lan0.qinq, parent: lan0, outer_vlan: 10, vlan: 20, tpid: 0x9100}
  - {name: lan1, backend: mem, mac: 02:52:00:00:00:03}
  - {name: lan1.7, parent: lan1, vlan: 7}
  - {name: irb0, bridge: br0, mac: 02:52:00:00:00:09, addresses: [10.5.0.1/24]}
bridges:
  - {name: br0, members: [lan1, lan1.7]}
`

func TestL2Endpoints(t *testing.T) {
	r, _, c, _ := start(t, l2Config)
	ctx := context.Background()
	// A frame from a host on lan1 is learned in br0.
	r.Port("lan1").(*mem.Queue).Push(dptest.IPv4Frame([6]byte{2, 0xcc, 0, 0, 0, 1}, hostA, srcAddr, srcAddr.Next(), 17, 64, false, dptest.UDP(1, 2, 8)))
	waitFor(t, "the MAC learned", func() bool {
		bs, err := c.Bridges(ctx, "br0")
		return err == nil && len(bs) == 1 && len(bs[0].MACs) == 1
	})
	bs, err := c.Bridges(ctx, "br0")
	if err != nil {
		t.Fatal(err)
	}
	if b := bs[0]; b.Name != "br0" || b.BVI != "irb0" || strings.Join(b.Members, ",") != "lan1,lan1.7" || b.MACs[0].MAC != "02:aa:00:00:00:02" || b.MACs[0].Member != "lan1" {
		t.Fatalf("bridge %+v", b)
	}
	if _, err := c.Bridges(ctx, "br9"); err == nil || !strings.Contains(err.Error(), `no bridge "br9": the router has br0`) {
		t.Fatalf("unknown bridge: %v", err)
	}
	vs, err := c.VLANs(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(vs) != 3 || vs[0].Name != "lan0.100" || vs[0].VLAN != 100 || vs[0].MTU != 1496 || strings.Join(vs[0].Addresses, ",") != "10.1.0.1/24" ||
		vs[1].OuterVLAN != 10 || vs[1].TPID != "0x9100" || vs[1].MTU != 1492 || vs[2].Parent != "lan1" || vs[0].State != "up" {
		t.Fatalf("vlans %+v", vs)
	}
}
