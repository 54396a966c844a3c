package e2e

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/softnet/softnet/api"
	"github.com/softnet/softnet/internal/netns"
	"github.com/softnet/softnet/internal/testenv"
	"github.com/softnet/softnet/lab"
)

// hostIfTopo is the host interface lab: host A (10.0.1.2) on wan0 and
// host B (10.0.2.2) on wan1 of router namespace R, where softnet runs on
// AF_XDP (R's kernel sees none of the frames, and its veths have no
// addresses), and namespace H, linux_cp's, where softnet makes its host
// interfaces (TAPs with its MACs and addresses). Offloads are off on
// every veth (an AF_XDP frame carries no partial-checksum metadata).
type hostIfTopo struct {
	R, H, A, B string
}

func newHostIfTopo(t *testing.T) hostIfTopo {
	t.Helper()
	ctx := context.Background()
	id := fmt.Sprintf("sn-hif-%d-%d", os.Getpid(), time.Now().UnixNano()%100000)
	tp := hostIfTopo{R: id + "-r", H: id + "-h", A: id + "-a", B: id + "-b"}
	for _, ns := range []string{tp.R, tp.H, tp.A, tp.B} {
		if err := netns.Add(ctx, ns); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { netns.Delete(context.Background(), ns) })
	}
	for _, l := range []struct{ host, dev, rdev, haddr, gw string }{
		{tp.A, "a0", "wan0", "10.0.1.2/24", "10.0.1.1"},
		{tp.B, "b0", "wan1", "10.0.2.2/24", "10.0.2.1"},
	} {
		if err := netns.AddVeth(ctx, netns.End{NS: l.host, Name: l.dev}, netns.End{NS: tp.R, Name: l.rdev}, 1500); err != nil {
			t.Fatal(err)
		}
		lcpIP(t, l.host, "addr", "add", l.haddr, "dev", l.dev)
		lcpIP(t, l.host, "route", "add", "default", "via", l.gw)
		lcpIP(t, l.host, "link", "set", "lo", "up")
		for _, e := range []struct{ ns, dev string }{{l.host, l.dev}, {tp.R, l.rdev}} {
			if err := lab.DisableOffloads(ctx, e.ns, e.dev); err != nil {
				t.Fatal(err)
			}
		}
	}
	lcpIP(t, tp.H, "link", "set", "lo", "up")
	return tp
}

// hostIfConfig is softnet on afxdp in R with host interfaces in H: wan0's
// under its own name, wan1's as host-wan1.
func hostIfConfig(h string, extra string) string {
	return `workers: 1
interfaces:
  - {name: wan0, backend: afxdp, device: wan0, addresses: [10.0.1.1/24]}
  - {name: wan1, backend: afxdp, device: wan1, addresses: [10.0.2.1/24]}
linux_cp:
  namespace: ` + h + `
  host_interfaces: [wan0, {interface: wan1, name: host-wan1}]
` + extra
}

// startHostIfRouter writes the config and starts softnet in R, waiting
// until it answers ping from A.
func startHostIfRouter(t *testing.T, tp hostIfTopo, extra string) (*cliRouter, *api.Client) {
	t.Helper()
	dir := t.TempDir()
	os.Chmod(dir, 0o755)
	if err := os.WriteFile(filepath.Join(dir, "r.yaml"), []byte(hostIfConfig(tp.H, extra)), 0o644); err != nil {
		t.Fatal(err)
	}
	r := startCLIRouter(t, dir, "r.yaml", tp.R)
	for deadline := time.Now().Add(20 * time.Second); ; {
		if p := ping(t, tp.A, "10.0.1.1", 1); p.Received == 1 {
			break
		}
		r.mustAlive(t, "start")
		if time.Now().After(deadline) {
			t.Fatalf("softnet on afxdp does not answer ping on 10.0.1.1 20 s after start:\n%s", r.Stderr())
		}
	}
	return r, api.NewClient(r.Sock)
}

// TestHostIfTCP (issue 15, host interfaces): softnet on AF_XDP makes a
// TAP in namespace H for each interface of linux_cp's host_interfaces,
// with the interface's MAC, MTU and addresses, up with carrier; a TCP
// connection from A and from B to a listener in H (on softnet's
// addresses, which softnet does not serve: only H's kernel answers them)
// goes through softnet's host interfaces both ways, and the punts are
// counted per class.
func TestHostIfTCP(t *testing.T) {
	need(t)
	tp := newHostIfTopo(t)
	r, c := startHostIfRouter(t, tp, "")
	ctx := context.Background()

	// The TAPs: names, addresses, MTU, MAC (softnet's, as show interfaces
	// says), carrier.
	ifs, err := c.Interfaces(ctx)
	if err != nil {
		t.Fatal(err)
	}
	macs := map[string]string{}
	for _, i := range ifs {
		macs[i.Name] = strings.ToLower(i.MAC)
	}
	for _, h := range []struct{ dev, iface, addr string }{{"wan0", "wan0", "10.0.1.1/24"}, {"host-wan1", "wan1", "10.0.2.1/24"}} {
		var out string
		poll(t, 10*time.Second, "host interface "+h.dev+" with carrier in "+tp.H, func() (bool, string) {
			out, _ = netns.IP(ctx, "-n", tp.H, "addr", "show", "dev", h.dev)
			return strings.Contains(out, "LOWER_UP") && strings.Contains(out, "inet "+h.addr), out
		})
		if !strings.Contains(out, "mtu 1500") || macs[h.iface] == "" || !strings.Contains(out, "link/ether "+macs[h.iface]) {
			t.Errorf("host interface %s: want mtu 1500 and %s's MAC %q:\n%s", h.dev, h.iface, macs[h.iface], out)
		}
	}

	// A listener in H, on every address of H (softnet's two).
	var ln net.Listener
	if err := netns.Do(tp.H, func() (err error) { ln, err = net.Listen("tcp4", ":7777"); return err }); err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer conn.Close()
				line, _ := bufio.NewReader(conn).ReadString('\n')
				fmt.Fprintf(conn, "H heard %s", line)
			}()
		}
	}()
	for _, h := range []struct{ ns, addr string }{{tp.A, "10.0.1.1:7777"}, {tp.B, "10.0.2.1:7777"}} {
		var got string
		err := netns.Do(h.ns, func() error {
			conn, err := net.DialTimeout("tcp4", h.addr, 10*time.Second)
			if err != nil {
				return err
			}
			defer conn.Close()
			conn.SetDeadline(time.Now().Add(10 * time.Second))
			fmt.Fprintf(conn, "hello from %s\n", h.ns)
			got, err = bufio.NewReader(conn).ReadString('\n')
			return err
		})
		if err != nil || got != "H heard hello from "+h.ns+"\n" {
			t.Fatalf("TCP from %s to %s (H's listener, through softnet's host interface): %q, %v", h.ns, h.addr, got, err)
		}
		t.Logf("TCP %s → %s: %q", h.ns, h.addr, strings.TrimSpace(got))
	}
	// softnet still answers ping itself, and forwards A → B.
	if p := ping(t, tp.A, "10.0.2.2", 3); p.Received == 0 {
		t.Errorf("A cannot ping B through softnet:\n%s", p.Output)
	}

	st, err := c.LinuxCP(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(st.HostInterfaces) != 2 {
		t.Fatalf("show linuxcp: host interfaces %+v, want wan0 and host-wan1", st.HostInterfaces)
	}
	for _, h := range st.HostInterfaces {
		if !h.Up || h.ToKernel == 0 || h.ToPort == 0 {
			t.Errorf("show linuxcp: host interface %+v: want carrier and frames both ways", h)
		}
	}
	m, err := c.Metrics(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !hasPositiveMetric(string(m), "host_punt_tcp") {
		t.Errorf("metrics: no host_punt_tcp above 0:\n%s", clip(grepLines(string(m), "host_punt"), 2000))
	}
	r.mustAlive(t, "the TCP test")
}

// hasPositiveMetric reports whether a metric line naming name has a value
// other than 0.
func hasPositiveMetric(m, name string) bool {
	for _, l := range strings.Split(m, "\n") {
		if strings.HasPrefix(l, "#") || !strings.Contains(l, name) {
			continue
		}
		if f := strings.Fields(l); len(f) >= 2 && f[len(f)-1] != "0" {
			return true
		}
	}
	return false
}

func grepLines(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// TestHostIfBGP (issue 15, host interfaces): BIRD in H peers over BGP
// with GoBGP in B through softnet's host interface host-wan1 (softnet on
// AF_XDP: R's kernel sees nothing, so the session can only come up
// through the TAP); GoBGP announces 1,000 prefixes, BIRD installs them in
// H's kernel through host-wan1, linux_cp mirrors them onto softnet's
// wan1, and A's traffic to one of them is forwarded to B.
func TestHostIfBGP(t *testing.T) {
	need(t)
	testenv.Tools(t, "bird", "gobgpd", "gobgp")
	tp := newHostIfTopo(t)
	_, c := startHostIfRouter(t, tp, "  protocols: [bird]\n")
	ctx := context.Background()
	dir := t.TempDir()
	os.Chmod(dir, 0o755)

	bird := `router id 10.0.2.1;
protocol device { scan time 10; }
protocol kernel { ipv4 { import none; export all; }; }
protocol bgp b { local 10.0.2.1 as 65001; neighbor 10.0.2.2 as 65002; ipv4 { import all; export none; }; }
`
	birdConf := filepath.Join(dir, "bird.conf")
	os.WriteFile(birdConf, []byte(bird), 0o644)
	daemon(t, tp.H, dir, "bird", "-f", "-c", birdConf, "-s", filepath.Join(dir, "bird.ctl"))
	conf := filepath.Join(dir, "gobgp.toml")
	os.WriteFile(conf, []byte(`[global.config]
  as = 65002
  router-id = "10.0.2.2"
[[neighbors]]
  [neighbors.config]
    neighbor-address = "10.0.2.1"
    peer-as = 65001
`), 0o644)
	daemon(t, tp.B, dir, "gobgpd", "-f", conf, "-t", "toml", "--pprof-disable")
	start := time.Now()
	poll(t, 90*time.Second, "the BGP session B ↔ H through softnet", func() (bool, string) {
		out, _ := netns.Output(ctx, tp.B, "gobgp", "neighbor")
		return strings.Contains(out, "Establ"), out
	})
	t.Logf("BGP established %.1f s after the daemons started: %s", time.Since(start).Seconds(),
		strings.TrimSpace(nsOut(t, tp.B, "gobgp", "neighbor")))
	const n = 1000
	mrt := filepath.Join(dir, "table.mrt")
	writeMRT(t, mrt, n)
	got := inject(t, tp.B, "10.0.2.2", mrt, n) // gobgp mrt inject may stop a few short
	if got < n/2 {
		t.Fatalf("GoBGP announces %d prefixes, want %d", got, n)
	}
	var k map[netip.Prefix]int
	poll(t, 120*time.Second, "softnet to mirror BIRD's routes from H", func() (bool, string) {
		k = kernelBird(t, tp.H)
		st, err := c.LinuxCP(ctx)
		return err == nil && len(k) == got && st.Routes == got, fmt.Sprintf("GoBGP announces %d, H's kernel has %d of BIRD's routes, softnet mirrors %d (%v)", got, len(k), st.Routes, err)
	})
	t.Logf("%d prefixes from GoBGP in B: in H's kernel (BIRD) and mirrored by softnet %.1f s after the daemons started", got, time.Since(start).Seconds())
	var sample []netip.Prefix
	for p := range k {
		if sample = append(sample, p); len(sample) == 3 {
			break
		}
	}
	for _, p := range sample {
		m, err := c.Route(ctx, p.Addr().Next().String())
		if err != nil || !m.Found || m.Prefix != p.String() || m.Origin != "bird" || m.Via != "10.0.2.2" {
			t.Fatalf("show routes %v: %+v (%v): want BIRD's route via 10.0.2.2", p, m, err)
		}
	}
	host := sample[0].Addr().Next()
	lcpIP(t, tp.B, "addr", "add", host.String()+"/32", "dev", "lo")
	if p := ping(t, tp.A, host.String(), 3); p.Received == 0 {
		t.Fatalf("A cannot ping %v along the BGP route:\n%s", host, p.Output)
	} else {
		t.Logf("A → %v along BIRD's route: %d/%d replies", host, p.Received, p.Sent)
	}
	st, _ := c.LinuxCP(ctx)
	t.Logf("show linuxcp: routes %d, host interfaces %+v", st.Routes, st.HostInterfaces)
}

// TestHostIfLinuxARP (issue 15, host interfaces, arp_nd: linux): Linux
// behind the host interfaces owns ARP: softnet passes A's ARP request for
// 10.0.1.1 to H's kernel, which answers through the TAP (softnet does
// not), and learns A from it; ping (answered by softnet once A has
// resolved) and forwarding to B work.
func TestHostIfLinuxARP(t *testing.T) {
	need(t)
	tp := newHostIfTopo(t)
	_, c := startHostIfRouter(t, tp, "  arp_nd: linux\n") // waits for A's ping of 10.0.1.1
	ctx := context.Background()
	poll(t, 10*time.Second, "H's kernel to learn A from its ARP request", func() (bool, string) {
		out, _ := netns.IP(ctx, "-n", tp.H, "neigh", "show", "10.0.1.2")
		return strings.Contains(out, "lladdr"), out
	})
	if p := ping(t, tp.A, "10.0.2.2", 3); p.Received == 0 {
		t.Errorf("A cannot ping B through softnet:\n%s", p.Output)
	}
	st, err := c.LinuxCP(ctx)
	if err != nil || len(st.HostInterfaces) == 0 || st.HostInterfaces[0].ToKernel == 0 || st.HostInterfaces[0].ToPort == 0 {
		t.Errorf("show linuxcp: %+v (%v): want ARP through wan0's host interface both ways", st.HostInterfaces, err)
	}
	out, _ := netns.IP(ctx, "-n", tp.A, "neigh", "show", "10.0.1.1")
	t.Logf("A's neighbour 10.0.1.1 (answered by H's kernel): %s; H's neighbour 10.0.1.2: %s", strings.TrimSpace(out),
		strings.TrimSpace(func() string { o, _ := netns.IP(ctx, "-n", tp.H, "neigh", "show", "10.0.1.2"); return o }()))
}
