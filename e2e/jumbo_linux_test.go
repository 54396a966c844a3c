package e2e

import (
	"context"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/softnet/softnet/api"
	"github.com/softnet/softnet/internal/netns"
	"github.com/softnet/softnet/lab"
)

// TestJumbo: softnet between hosts on 9000-byte veths (the hosts' offloads
// at their defaults) forwards at that MTU: TCP moves data and an 8000-byte
// DF ping crosses. Then A's link is lowered to 1800 at run time, on both
// ends: 1500-byte pings still cross both ways, a 2000-byte DF ping from
// B gets "fragmentation needed" with MTU 1800 from softnet, and with the
// link back at 9000 8000-byte DF pings cross again both ways; no
// restart, and no frame dropped at the ports as oversize or bad length.
func TestJumbo(t *testing.T) {
	need(t, "iperf3")
	topo, sn := routerWith(t, lab.New, 9000)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	a, b := lab.AddrA.Addr().String(), lab.AddrB.Addr().String()

	// pingUntil pings from ns until ok(output) or 10 s have passed (the
	// router reads its devices' MTUs once a second).
	pingUntil := func(what, ns, dst string, ok func(lab.Ping) bool, args ...string) {
		t.Helper()
		var p lab.Ping
		for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(300 * time.Millisecond) {
			if p = ping(t, ns, dst, 1, args...); ok(p) {
				return
			}
		}
		out, _ := netns.IP(ctx, "-n", ns, "route", "get", dst)
		t.Fatalf("%s: ping %s %s:\n%s\nip route get: %s", what, dst, strings.Join(args, " "), p.Output, out)
	}
	replied := func(p lab.Ping) bool { return p.Received == 1 }
	setA := func(mtu string) {
		t.Helper()
		if _, err := netns.IP(ctx, "-n", topo.R, "link", "set", lab.DevRA, "mtu", mtu); err != nil {
			t.Fatal(err)
		}
		if _, err := netns.IP(ctx, "-n", topo.A, "link", "set", lab.DevA, "mtu", mtu); err != nil {
			t.Fatal(err)
		}
		// softnet reads its devices' MTUs once a second: wait until its
		// API shows the new one (a DF packet sent before would be
		// answered with the old MTU, which the sender would remember).
		want, _ := strconv.Atoi(mtu)
		for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(100 * time.Millisecond) {
			ifs, err := api.NewClient(sn.API).Interfaces(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if i := slices.IndexFunc(ifs, func(i api.Interface) bool { return i.Name == lab.DevRA }); i >= 0 && ifs[i].MTU == want {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("softnet's %s MTU is not %d 10 s after the device's changed: %+v", lab.DevRA, want, ifs)
			}
		}
	}

	pingUntil("MTU 9000", topo.A, b, replied, "-M", "do", "-s", "8000")
	pingUntil("MTU 9000", topo.B, a, replied, "-M", "do", "-s", "8972")
	r, err := lab.RunIperf(ctx, topo.A, topo.B, b, 2*time.Second, "")
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("TCP A→B over 9000-byte links: %.2f Gbit/s, %d retransmits", r.Gbps, r.Retransmits)
	if r.Gbps <= 0 {
		t.Fatalf("TCP A→B over 9000-byte links moved nothing")
	}

	setA("1800")
	pingUntil("A's link at 1800", topo.B, a, func(p lab.Ping) bool {
		return strings.Contains(p.Output, "mtu = 1800")
	}, "-M", "do", "-s", "2000")
	pingUntil("A's link at 1800", topo.A, b, replied, "-s", "1500")
	pingUntil("A's link at 1800", topo.B, a, replied, "-s", "1500")
	pingUntil("A's link at 1800", topo.A, b, replied, "-M", "do", "-s", "1772")

	setA("9000")
	// B learnt path MTU 1800 to A's address from softnet's ICMP and
	// keeps it for 10 minutes, per destination: from B, test the path to
	// a second address of A's.
	a2 := "10.11.1.3"
	if _, err := netns.IP(ctx, "-n", topo.A, "addr", "add", a2+"/24", "dev", lab.DevA); err != nil {
		t.Fatal(err)
	}
	pingUntil("A's link back at 9000", topo.A, b, replied, "-M", "do", "-s", "8000")
	pingUntil("A's link back at 9000", topo.B, a2, replied, "-M", "do", "-s", "8000")

	for _, dev := range []string{lab.DevRA, lab.DevRB} {
		drops, _ := portCounters(t, sn, dev)
		if drops["rx-oversize"] != 0 || drops["tx-bad-length"] != 0 {
			t.Errorf("%s: port drops %v", dev, drops)
		}
	}
}
