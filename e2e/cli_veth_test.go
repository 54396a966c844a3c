package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/softnet/softnet/api"
	"github.com/softnet/softnet/internal/netns"
	"github.com/softnet/softnet/lab"
)

// vethSeq numbers the namespaces TestCLIVeth makes (lab's own names,
// lab.Prefix + "<pid>-<n>-a|r|b", so that lab.CleanStale removes them if a
// run is killed; from 900 so they never meet the lab package's).
var vethSeq atomic.Int64

const (
	macH1 = "02:53:4e:0a:00:02"
	macH2 = "02:53:4e:0b:00:02"
)

// vethRouterTopo builds the topology of examples/veth-router.yaml:
//
//	ns h1 [veth-h1 10.0.1.2/24] ── [veth-r0] softnet [veth-r1] ── [veth-h2 10.0.2.2/24] ns h2
//
// with the veths' DEFAULT offloads (checksum offload and segmentation on,
// as a user's veths have them), h2 also holding 198.18.0.1 (the example's
// routed prefix) and 198.51.100.1 on its loopback. It returns the
// namespaces h1, router and h2; they are removed when the test ends.
func vethRouterTopo(t *testing.T) (h1, r, h2 string) {
	t.Helper()
	ctx := context.Background()
	id := fmt.Sprintf("%d-%d", os.Getpid(), 900+vethSeq.Add(1))
	h1, r, h2 = lab.Prefix+id+"-a", lab.Prefix+id+"-r", lab.Prefix+id+"-b"
	for _, ns := range []string{h1, r, h2} {
		if err := netns.Add(ctx, ns); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			if err := netns.Delete(context.Background(), ns); err != nil {
				t.Error(err)
			}
		})
		for _, k := range []string{"net.ipv6.conf.all.disable_ipv6", "net.ipv6.conf.default.disable_ipv6"} {
			if err := netns.Sysctl(ctx, ns, k, "1"); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := netns.AddVeth(ctx, netns.End{NS: h1, Name: "veth-h1", MAC: macH1}, netns.End{NS: r, Name: "veth-r0"}, 1500); err != nil {
		t.Fatal(err)
	}
	if err := netns.AddVeth(ctx, netns.End{NS: r, Name: "veth-r1"}, netns.End{NS: h2, Name: "veth-h2", MAC: macH2}, 1500); err != nil {
		t.Fatal(err)
	}
	for _, c := range [][]string{
		{"-n", h1, "addr", "add", "10.0.1.2/24", "dev", "veth-h1"},
		{"-n", h1, "route", "add", "default", "via", "10.0.1.1"},
		{"-n", h2, "addr", "add", "10.0.2.2/24", "dev", "veth-h2"},
		{"-n", h2, "route", "add", "default", "via", "10.0.2.1"},
		{"-n", h2, "link", "set", "lo", "up"},
		{"-n", h2, "addr", "add", "198.18.0.1/32", "dev", "lo"},
		{"-n", h2, "addr", "add", "198.51.100.1/32", "dev", "lo"},
	} {
		if _, err := netns.IP(ctx, c...); err != nil {
			t.Fatal(err)
		}
	}
	return h1, r, h2
}

// TestCLIVeth runs examples/veth-router.yaml itself, unchanged, as the
// router between two hosts in namespaces whose veths keep their default
// offloads, and drives it with the CLI: pings both ways and through the
// example's route, iperf3 TCP (defect 2: partial checksums), the show
// commands, route add/del under ping traffic, trace, a second router on
// the same devices (defect 7), carrier loss (defect 6), an MTU change
// (defect 4), the device re-created with a new MAC (defect 8), softnet
// lab, and SIGTERM's final counters.
func TestCLIVeth(t *testing.T) {
	need(t, "iperf3", "ethtool", "trafgen", "taskset")
	h1, rns, h2 := vethRouterTopo(t)
	dir := copyExample(t, "veth-router.yaml")
	r := startCLIRouter(t, dir, "veth-router.yaml", rns)
	for deadline := time.Now().Add(15 * time.Second); ; {
		if p := ping(t, h1, "10.0.1.1", 1); p.Received == 1 {
			break
		}
		r.mustAlive(t, "start")
		if time.Now().After(deadline) {
			t.Fatalf("softnet does not answer ping on 10.0.1.1 15 s after start:\n%s", r.Stderr())
		}
	}

	t.Run("offloads-default", func(t *testing.T) {
		for _, c := range []struct{ ns, dev string }{{h1, "veth-h1"}, {h2, "veth-h2"}} {
			out, err := netns.Output(context.Background(), c.ns, "ethtool", "-k", c.dev)
			if err != nil || !strings.Contains(out, "tx-checksumming: on") {
				t.Errorf("%s: want the default offloads (tx-checksumming: on): %v\n%s", c.dev, err, clip(out, 500))
			}
		}
	})

	t.Run("ping", func(t *testing.T) {
		for _, c := range []struct{ name, ns, dst string }{
			{"h1→h2", h1, "10.0.2.2"}, {"h2→h1", h2, "10.0.1.2"}, {"h1→router", h1, "10.0.1.1"}, {"h2→router", h2, "10.0.2.1"},
			{"h1→198.18.0.1 (the example's route)", h1, "198.18.0.1"},
		} {
			if p := ping(t, c.ns, c.dst, 5); p.Received < 4 || strings.Contains(p.Output, "DUP!") {
				t.Errorf("ping %s: %d/%d\n%s", c.name, p.Received, p.Sent, p.Output)
			}
		}
		if p := ping(t, h1, "10.99.0.1", 1); !strings.Contains(p.Output, "From 10.0.1.1") || !strings.Contains(p.Output, "Net Unreachable") {
			t.Errorf("ping 10.99.0.1 (no route): want net unreachable from 10.0.1.1:\n%s", p.Output)
		}
	})

	// Defect 2: TCP through softnet with the hosts' default offloads.
	t.Run("iperf3-tcp", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		res, err := lab.RunIperf(ctx, h1, h2, "10.0.2.2", 2*time.Second, "")
		if err != nil {
			t.Fatalf("iperf3 TCP h1 → h2 through softnet, default offloads: %v", err)
		}
		t.Logf("TCP h1 → h2: %.2f Gbit/s, %d retransmits", res.Gbps, res.Retransmits)
		if res.Gbps <= 0 {
			t.Errorf("TCP h1 → h2: %.3f Gbit/s", res.Gbps)
		}
	})

	t.Run("show", func(t *testing.T) {
		out := r.ok(t, "show", "interfaces")
		if !regexp.MustCompile(`(?m)^lan0\s+up\s+up\s`).MatchString(out) || !regexp.MustCompile(`(?m)^wan0\s+up\s+up\s`).MatchString(out) {
			t.Errorf("show interfaces:\n%s", out)
		}
		ifs := r.ifaces(t)
		for name, dev := range map[string]string{"lan0": "veth-r0", "wan0": "veth-r1"} {
			i := ifs[name]
			link, _ := netns.IP(context.Background(), "-n", rns, "link", "show", dev)
			if i.Backend != "afpacket" || i.Device != dev || i.Link != "up" || i.RxPackets == 0 || i.TxPackets == 0 || !strings.Contains(link, "link/ether "+i.MAC) {
				t.Errorf("%s: %+v (device: %s)", name, i, link)
			}
		}
		r.ok(t, "show", "neighbors")
		var ns []api.Neighbor
		learned := map[string]string{}
		if r.json(t, &ns, "show", "neighbors") {
			for _, n := range ns {
				learned[n.Interface+" "+n.Address] = n.MAC
			}
		}
		if learned["lan0 10.0.1.2"] != macH1 || learned["wan0 10.0.2.2"] != macH2 {
			t.Errorf("neighbours learned by ARP: %+v", ns)
		}
		if m := r.route(t, "198.18.0.1"); m.Kind != "forward" || m.Via != "10.0.2.2" || m.Interface != "wan0" {
			t.Errorf("show routes 198.18.0.1: %+v", m)
		}
		r.ok(t, "show", "runtime")
		var e api.Errors
		if r.json(t, &e, "show", "errors") {
			unreach := uint64(0)
			for _, k := range e.ICMPErrors {
				if k.Kind == "net-unreachable" {
					unreach = k.Count
				}
			}
			if unreach == 0 || e.ICMPEchoReplies == 0 {
				t.Errorf("show errors --json: net unreachable %d, echo replies %d: %+v", unreach, e.ICMPEchoReplies, e)
			}
		}
		r.ok(t, "show", "errors")
	})

	t.Run("route-add-del-under-ping", func(t *testing.T) {
		bg := make(chan lab.Ping, 1)
		go func() {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			p, _ := lab.RunPing(ctx, h1, "10.0.2.2", 100, 20*time.Millisecond)
			bg <- p
		}()
		for i := 0; i < 8; i++ {
			r.ok(t, "route", "add", "198.51.100.0/24", "via", "10.0.2.2")
			if p := ping(t, h1, "198.51.100.1", 1); p.Received != 1 {
				t.Errorf("round %d: ping 198.51.100.1 after route add:\n%s", i, p.Output)
			}
			r.ok(t, "route", "del", "198.51.100.0/24")
			if p := ping(t, h1, "198.51.100.1", 1); p.Received != 0 || !strings.Contains(p.Output, "Net Unreachable") {
				t.Errorf("round %d: ping 198.51.100.1 after route del: want net unreachable:\n%s", i, p.Output)
			}
		}
		p := <-bg
		if p.Sent != 100 || p.Received < 95 || strings.Contains(p.Output, "DUP!") {
			t.Errorf("ping h1 → h2 during the route changes: %d/%d\n%s", p.Received, p.Sent, clip(p.Output, 1500))
		}
	})

	t.Run("trace", func(t *testing.T) {
		bg := make(chan struct{})
		go func() {
			defer close(bg)
			ping(t, h1, "10.0.2.2", 10)
		}()
		out := r.ok(t, "trace", "3", "--timeout", "10s")
		<-bg
		if n := len(regexp.MustCompile(`(?m)^Packet \d+ .* rx (lan0|wan0) `).FindAllString(out, -1)); n != 3 || strings.Count(out, "fate: ") != 3 {
			t.Errorf("trace 3 under ping: want 3 packets:\n%s", clip(out, 3000))
		}
	})

	// Defect 7: a second router on the same devices is refused.
	t.Run("second-router-refused", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		defer cancel()
		cmd := netns.Command(ctx, rns, binary, "run", "-c", "veth-router.yaml", "--api", filepath.Join(dir, "second.sock"), "--duration", "3s")
		cmd.Dir = dir
		out, err := cmd.CombinedOutput()
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() <= 0 || !strings.Contains(string(out), "veth-r") {
			t.Errorf("a second softnet run on veth-r0/veth-r1: want a refusal naming the device, got %v:\n%s", err, clip(string(out), 2000))
		}
		if p := ping(t, h1, "10.0.2.2", 3); p.Received < 2 || strings.Contains(p.Output, "DUP!") {
			t.Errorf("ping h1 → h2 after the second router: %d/%d\n%s", p.Received, p.Sent, p.Output)
		}
	})

	// Defect 6: link is carrier: the far end down makes wan0 link down.
	t.Run("carrier", func(t *testing.T) {
		ctx := context.Background()
		link := func(want string) {
			t.Helper()
			var got api.Interface
			for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
				if got = r.ifaces(t)["wan0"]; got.Link == want {
					return
				}
			}
			t.Errorf("wan0 link %q 10 s after the change, want %q: %+v", got.Link, want, got)
		}
		if _, err := netns.IP(ctx, "-n", h2, "link", "set", "veth-h2", "down"); err != nil {
			t.Fatal(err)
		}
		link("down")
		if _, err := netns.IP(ctx, "-n", h2, "link", "set", "veth-h2", "up"); err != nil {
			t.Fatal(err)
		}
		link("up")
		// Linux removed h2's default route with its device: put it back.
		if _, err := netns.IP(ctx, "-n", h2, "route", "replace", "default", "via", "10.0.2.1"); err != nil {
			t.Fatal(err)
		}
		var p lab.Ping
		for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); {
			if p = ping(t, h1, "10.0.2.2", 1); p.Received == 1 {
				break
			}
		}
		if p.Received != 1 {
			t.Errorf("ping h1 → h2 after veth-h2 came back:\n%s", p.Output)
		}
		if i := r.ifaces(t)["wan0"]; i.LastError != "" {
			t.Errorf("wan0 still shows an error after recovery: %q", i.LastError)
		}
	})

	// Defect 4: the router follows a device's MTU change at run time:
	// raised to 1800 on h1's link, full-size packets still pass and a DF
	// packet too big for h2's 1500-byte link gets "fragmentation needed".
	t.Run("mtu-change", func(t *testing.T) {
		ctx := context.Background()
		setMTU := func(mtu int) {
			t.Helper()
			for _, c := range []struct{ ns, dev string }{{rns, "veth-r0"}, {h1, "veth-h1"}} {
				if _, err := netns.IP(ctx, "-n", c.ns, "link", "set", c.dev, "mtu", fmt.Sprint(mtu)); err != nil {
					t.Fatal(err)
				}
			}
			var got int
			for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
				if got = r.ifaces(t)["lan0"].MTU; got == mtu {
					return
				}
			}
			t.Errorf("lan0's MTU is %d 10 s after veth-r0's became %d", got, mtu)
		}
		setMTU(1800)
		defer setMTU(1500)
		if p := ping(t, h1, "10.0.2.2", 3, "-M", "do", "-s", "1472"); p.Received < 2 {
			t.Errorf("1500-byte pings h1 → h2 after h1's link went to MTU 1800: %d/%d\n%s", p.Received, p.Sent, p.Output)
		}
		if p := ping(t, h1, "10.0.2.2", 1, "-M", "do", "-s", "1700"); !strings.Contains(p.Output, "mtu = 1500") {
			t.Errorf("a 1728-byte DF ping to h2's 1500-byte link: want \"Frag needed and DF set (mtu = 1500)\" from the router, got:\n%s", p.Output)
		}
	})

	// Defect 8: h2's device is deleted and re-created with a new MAC: the
	// router forgets the old one (device gone) and resolves the new one
	// within seconds, not at the old entry's ageing 30 s later.
	t.Run("device-recreated", func(t *testing.T) {
		ctx := context.Background()
		mac := r.ifaces(t)["wan0"].MAC
		if _, err := netns.IP(ctx, "-n", h2, "link", "del", "veth-h2"); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Second) // the router sees the device go
		const newMAC = "02:53:4e:0b:00:03"
		if err := netns.AddVeth(ctx, netns.End{NS: rns, Name: "veth-r1", MAC: mac}, netns.End{NS: h2, Name: "veth-h2", MAC: newMAC}, 1500); err != nil {
			t.Fatal(err)
		}
		for _, c := range [][]string{{"-n", h2, "addr", "add", "10.0.2.2/24", "dev", "veth-h2"}, {"-n", h2, "route", "add", "default", "via", "10.0.2.1"}} {
			if _, err := netns.IP(ctx, c...); err != nil {
				t.Fatal(err)
			}
		}
		var p lab.Ping
		start := time.Now()
		for time.Since(start) < 30*time.Second { // a deadline, not a threshold
			if p = ping(t, h1, "10.0.2.2", 1); p.Received == 1 {
				break
			}
		}
		if p.Received != 1 {
			t.Errorf("ping h1 → h2 30 s after h2's device came back with a new MAC:\n%s", p.Output)
		}
		var ns []api.Neighbor
		r.json(t, &ns, "show", "neighbors")
		for _, n := range ns {
			if n.Interface == "wan0" && n.Address == "10.0.2.2" && n.MAC != newMAC {
				t.Errorf("show neighbors: 10.0.2.2 at %s (state %s), h2's MAC is now %s", n.MAC, n.State, newMAC)
			}
		}
		r.mustAlive(t, "the device's re-creation")
	})

	// softnet lab: with no --backend it uses AF_XDP (this kernel allows
	// it) and says so; --backend afpacket picks AF_PACKET; a backend it
	// does not know is refused with the choices.
	for _, c := range []struct{ flag, want string }{{"", "afxdp"}, {"afpacket", "afpacket"}} {
		t.Run("lab/"+c.want, func(t *testing.T) {
			args := []string{"lab", "--duration", "1s", "--json"}
			if c.flag != "" {
				args = append(args, "--backend", c.flag)
			}
			res := softnet(t, dir, "", 2*time.Minute, args...)
			var l lab.Summary
			if res.Code != 0 || json.Unmarshal([]byte(res.Out[max(0, strings.Index(res.Out, "{")):]), &l) != nil {
				t.Fatalf("softnet %s: %s", strings.Join(args, " "), res)
			}
			if l.PingAB.Received < 8 || l.PingBA.Received < 8 || l.TCP.Gbps <= 0 || l.Flood.Received == 0 || l.Softnet == nil || len(l.Softnet.Interfaces) != 2 {
				t.Errorf("softnet lab: %+v\n%s", l, clip(res.Out, 2000))
			}
			if l.Backend != c.want || !strings.Contains(res.Err, "backend: "+c.want+"\n") {
				t.Errorf("softnet %s: backend %q in the JSON, want %q, and the log line \"backend: %s\":\n%s", strings.Join(args, " "), l.Backend, c.want, c.want, clip(res.Err, 2000))
			}
		})
	}
	t.Run("lab/bad-backend", func(t *testing.T) {
		res := softnet(t, dir, "", time.Minute, "lab", "--backend", "dpdk")
		if res.Code == 0 || !strings.Contains(res.Err, `backend "dpdk": want afxdp or afpacket`) {
			t.Errorf("softnet lab --backend dpdk: want an error naming the choices: %s", res)
		}
	})

	t.Run("sigterm", func(t *testing.T) {
		r.mustAlive(t, "the tests above")
		r.cmd.Process.Signal(syscall.SIGTERM)
		if !r.wait(10 * time.Second) {
			t.Fatal("softnet run still running 10 s after SIGTERM")
		}
		if r.err != nil {
			t.Errorf("softnet run after SIGTERM: %v, want exit 0", r.err)
		}
		if _, err := os.Stat(r.Sock); !os.IsNotExist(err) {
			t.Errorf("API socket %s still there after SIGTERM (%v)", r.Sock, err)
		}
		out := r.Stdout()
		c := parseFinal(out)
		byName := map[string]lab.IfaceCounters{}
		for _, i := range c.Interfaces {
			byName[i.Name] = i
		}
		if byName["wan0"].TxPackets == 0 || byName["wan0"].RxPackets == 0 || byName["lan0"].RxPackets == 0 || byName["lan0"].TxPackets == 0 ||
			c.ICMPErrors["net-unreachable"] == 0 || c.EchoReplies == 0 {
			t.Errorf("final counters: %+v\n%s", c, out)
		}
		noGoFormat(t, "final counters", out)
	})

	t.Run("all-commands-ran", func(t *testing.T) { checkAllRan(t, "TestCLIVeth") })
}
