package e2e

import (
	"bufio"
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/softnet/softnet/api"
	"github.com/softnet/softnet/internal/netns"
	"github.com/softnet/softnet/lab"
)

// csumErrors reads Tcp InCsumErrors and Udp InCsumErrors from
// /proc/net/snmp in namespace ns: segments and datagrams its stack
// dropped for a bad checksum.
func csumErrors(t *testing.T, ns string) (tcp, udp uint64) {
	t.Helper()
	out, err := netns.Command(context.Background(), ns, "cat", "/proc/net/snmp").Output()
	if err != nil {
		t.Fatal(err)
	}
	heads := map[string][]string{}
	sc := bufio.NewScanner(strings.NewReader(string(out)))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 2 {
			continue
		}
		h, ok := heads[f[0]]
		if !ok {
			heads[f[0]] = f
			continue
		}
		for i := 1; i < len(f) && i < len(h); i++ {
			if h[i] == "InCsumErrors" {
				n, _ := strconv.ParseUint(f[i], 10, 64)
				switch f[0] {
				case "Tcp:":
					tcp = n
				case "Udp:":
					udp = n
				}
			}
		}
	}
	return tcp, udp
}

// portCounters returns interface name's port drops and port counters as
// softnet's API reports them.
func portCounters(t *testing.T, sn *lab.Softnet, name string) (drops, counters map[string]uint64) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ifs, err := api.NewClient(sn.API).Interfaces(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, i := range ifs {
		if i.Name == name {
			return i.PortDrops, i.PortCounters
		}
	}
	t.Fatalf("no interface %s in the API's list", name)
	return nil, nil
}

// TestOffloads: iperf3 TCP and UDP through softnet with the hosts' veth
// offloads at the kernel's defaults (TSO, GSO, tx-checksumming on: the
// hosts send 64 KiB TCP super-packets and partial checksums) and with
// them off. Either way the data arrive, host B's stack counts no
// checksum error, and softnet drops nothing at its ports; with the
// defaults it counts the super-packets it split and the checksums it
// finished as port counters, not drops.
func TestOffloads(t *testing.T) {
	need(t, "iperf3")
	for _, tc := range []struct {
		name    string
		newTopo func(context.Context, int) (*lab.Topology, error)
		off     bool
	}{{"default-offloads", lab.New, false}, {"offloads-off", lab.NewOffloadsOff, true}} {
		t.Run(tc.name, func(t *testing.T) {
			topo, sn := routerWith(t, tc.newTopo, 0)
			b := lab.AddrB.Addr().String()
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			tcp, err := lab.RunIperf(ctx, topo.A, topo.B, b, 2*time.Second, "")
			if err != nil {
				t.Fatal(err)
			}
			udp, err := lab.RunIperf(ctx, topo.A, topo.B, b, 2*time.Second, "100M")
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("TCP A→B %.2f Gbit/s (%d retransmits); UDP A→B %.3f Gbit/s, %d of %d lost", tcp.Gbps, tcp.Retransmits, udp.Gbps, udp.Lost, udp.Packets)
			if tcp.Gbps <= 0 {
				t.Errorf("TCP A→B moved nothing: %.3f Gbit/s", tcp.Gbps)
			}
			// The loss at 100 Mbit/s depends on the shared machine's
			// load (`softnet lab` prints it): here datagrams must arrive.
			if udp.Packets == 0 || udp.Lost >= udp.Packets {
				t.Errorf("UDP A→B: %d of %d datagrams lost (%.1f%%), want some through", udp.Lost, udp.Packets, udp.LossPct)
			}
			if te, ue := csumErrors(t, topo.B); te != 0 || ue != 0 {
				t.Errorf("host B counted checksum errors: TcpInCsumErrors %d, UdpInCsumErrors %d", te, ue)
			}
			drops, counters := portCounters(t, sn, lab.DevRA)
			t.Logf("%s: port drops %v, port counters %v", lab.DevRA, drops, counters)
			for _, k := range []string{"rx-oversize", "rx-csum-partial"} {
				if drops[k] != 0 {
					t.Errorf("%s: %s %d", lab.DevRA, k, drops[k])
				}
			}
			if !tc.off && (counters["rx-gso-split"] == 0 || counters["rx-csum-finished"] == 0) {
				t.Errorf("%s: port counters %v: want rx-gso-split and rx-csum-finished counted", lab.DevRA, counters)
			}
			if !tc.off {
				m, err := api.NewClient(sn.API).Metrics(ctx)
				if err != nil {
					t.Fatal(err)
				}
				if want := `softnet_interface_port_counters_total{interface="ra",kind="rx-gso-split"}`; !strings.Contains(string(m), want) {
					t.Errorf("metrics lack %s", want)
				}
			}
			if tc.off && len(counters) != 0 {
				t.Errorf("%s: port counters %v with the hosts' offloads off", lab.DevRA, counters)
			}
		})
	}
}
