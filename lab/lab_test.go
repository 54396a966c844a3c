package lab

import (
	"net/netip"
	"strings"
	"testing"

	"github.com/softnet/softnet/config"
)

// The generated router config is one softnet's config package accepts,
// with the lab's devices, MACs and addresses.
func TestRouterConfig(t *testing.T) {
	c, err := config.Parse("router.yaml", []byte(RouterConfig(1)))
	if err != nil {
		t.Fatalf("%v\n%s", err, RouterConfig(1))
	}
	// Hosts A and B are resolved by ARP: the only static neighbour and
	// route are the flood's sink.
	if c.Workers != 1 || len(c.Interfaces) != 2 || len(c.Neighbors) != 1 || len(c.Routes) != 1 ||
		c.Neighbors[0].Address != Sink || c.Routes[0].Prefix != FloodNet || c.Routes[0].Via != Sink {
		t.Fatalf("config: %+v", c)
	}
	for i, want := range []struct {
		dev  string
		addr netip.Prefix
	}{{DevRA, AddrRA}, {DevRB, AddrRB}} {
		ic := c.Interfaces[i]
		if ic.Backend != config.AFPacket || ic.Device != want.dev || len(ic.Addresses) != 1 || ic.Addresses[0] != want.addr {
			t.Errorf("interface %d: %+v", i, ic)
		}
	}
}

func TestParseCounters(t *testing.T) {
	out := `  interface  rx packets   rx bytes  tx packets   tx bytes  kernel drops
         ra      629200  952444876       42332    2820546             7
         rb       42328    2820098      629196  952444502             3

drops:
  interface-output/tx-full                 1639691
  ip4-arp/punt-queue-full                  12
icmp errors sent: net-unreachable 1, ttl-exceeded 2
icmp echo replies: 22
polls: 1000 busy 200 livelocks 17 spread 0
`
	c := ParseCounters(out)
	if len(c.Interfaces) != 2 || c.Interfaces[1].Name != "rb" || c.Interfaces[1].TxPackets != 629196 || c.KernelDrops != 10 {
		t.Errorf("interfaces: %+v, kernel drops %d", c.Interfaces, c.KernelDrops)
	}
	if c.Drops["interface-output/tx-full"] != 1639691 || c.Drops["ip4-arp/punt-queue-full"] != 12 || len(c.Drops) != 2 {
		t.Errorf("drops: %v", c.Drops)
	}
	if c.ICMPErrors["ttl-exceeded"] != 2 || c.ICMPErrors["net-unreachable"] != 1 || c.EchoReplies != 22 {
		t.Errorf("icmp: %v, echo replies %d", c.ICMPErrors, c.EchoReplies)
	}
	if c.Polls != 1000 || c.BusyPolls != 200 || c.Livelocks != 17 {
		t.Errorf("polls %d busy %d livelocks %d", c.Polls, c.BusyPolls, c.Livelocks)
	}
	if c := ParseCounters("interface  rx packets  rx bytes  tx packets  tx bytes  kernel drops\n\ndrops: none\n"); len(c.Drops) != 0 || len(c.Interfaces) != 0 {
		t.Errorf("empty report: %+v", c)
	}
}

func TestCheckTools(t *testing.T) {
	err := CheckTools("surely-not-a-tool-xyz")
	if err == nil {
		t.Fatal("no error for a missing tool")
	}
	Packages["surely-not-a-tool-xyz"] = "xyz-pkg"
	defer delete(Packages, "surely-not-a-tool-xyz")
	if err := CheckTools("surely-not-a-tool-xyz"); err == nil || !strings.Contains(err.Error(), "apt-get install -y xyz-pkg") {
		t.Fatalf("want the Debian package named, got %v", err)
	}
}
