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
	"syscall"
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
// With C (newHostIfTopo3), host C (10.0.3.2) is on wan2 too, and softnet's
// wan2 has the host interface host-wan2.
type hostIfTopo struct {
	R, H, A, B, C string
}

func newHostIfTopo(t *testing.T) hostIfTopo { return newHostIfTopoWith(t, false) }

// newHostIfTopo3 is newHostIfTopo with host C on wan2.
func newHostIfTopo3(t *testing.T) hostIfTopo { return newHostIfTopoWith(t, true) }

func newHostIfTopoWith(t *testing.T, withC bool) hostIfTopo {
	t.Helper()
	ctx := context.Background()
	id := fmt.Sprintf("sn-hif-%d-%d", os.Getpid(), time.Now().UnixNano()%100000)
	tp := hostIfTopo{R: id + "-r", H: id + "-h", A: id + "-a", B: id + "-b"}
	nss := []string{tp.R, tp.H, tp.A, tp.B}
	links := []struct{ host, dev, rdev, haddr, gw string }{
		{tp.A, "a0", "wan0", "10.0.1.2/24", "10.0.1.1"},
		{tp.B, "b0", "wan1", "10.0.2.2/24", "10.0.2.1"},
	}
	if withC {
		tp.C = id + "-c"
		nss = append(nss, tp.C)
		links = append(links, struct{ host, dev, rdev, haddr, gw string }{tp.C, "c0", "wan2", "10.0.3.2/24", "10.0.3.1"})
	}
	for _, ns := range nss {
		if err := netns.Add(ctx, ns); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { netns.Delete(context.Background(), ns) })
	}
	for _, l := range links {
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
// under its own name, wan1's as host-wan1 (and with C, wan2's as
// host-wan2).
func hostIfConfig(tp hostIfTopo, extra string) string {
	wan2, host2 := "", ""
	if tp.C != "" {
		wan2 = "  - {name: wan2, backend: afxdp, device: wan2, addresses: [10.0.3.1/24]}\n"
		host2 = ", {interface: wan2, name: host-wan2}"
	}
	return `workers: 1
interfaces:
  - {name: wan0, backend: afxdp, device: wan0, addresses: [10.0.1.1/24]}
  - {name: wan1, backend: afxdp, device: wan1, addresses: [10.0.2.1/24]}
` + wan2 + `linux_cp:
  namespace: ` + tp.H + `
  host_interfaces: [wan0, {interface: wan1, name: host-wan1}` + host2 + `]
` + extra
}

// startHostIfRouter writes the config and starts softnet in R, waiting
// until it answers ping from A.
func startHostIfRouter(t *testing.T, tp hostIfTopo, extra string) (*cliRouter, *api.Client) {
	t.Helper()
	dir := t.TempDir()
	os.Chmod(dir, 0o755)
	if err := os.WriteFile(filepath.Join(dir, "r.yaml"), []byte(hostIfConfig(tp, extra)), 0o644); err != nil {
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
// counted per class; iperf3 TCP from A to H's listener on 10.0.1.1 moves
// data through the host interface (its rate is logged).
func TestHostIfTCP(t *testing.T) {
	need(t, "iperf3")
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
	// Bulk TCP to the host interface's address: every segment goes
	// through the punt path (the data plane's per-class rate limit, the
	// control plane's service loop, the TAP) and every ACK back through
	// the TAP's reader and a worker's inject ring.
	ictx, cancel := context.WithTimeout(ctx, 30*time.Second)
	ip, err := lab.RunIperf(ictx, tp.A, tp.H, "10.0.1.1", 2*time.Second, "")
	cancel()
	if err != nil || ip.Gbps <= 0 {
		t.Fatalf("iperf3 TCP from A to H's 10.0.1.1 through softnet's host interface: %+v (%v)", ip, err)
	}
	t.Logf("iperf3 TCP A → 10.0.1.1 (H, through the host interface wan0): %.3f Gbit/s, %d retransmits", ip.Gbps, ip.Retransmits)
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

// TestHostIfBGP (issue 15, its Tests section as written): BIRD in H
// peers over BGP with GoBGP in B and in C THROUGH softnet's host
// interfaces host-wan1 and host-wan2 (softnet on AF_XDP: R's kernel sees
// nothing, so the sessions can only come up through the TAPs). B and C
// announce the same 100,000 prefixes (gobgp mrt inject may stop a few
// short); BIRD installs them in H's kernel merged into two-path routes,
// linux_cp mirrors them onto softnet's wan1 and wan2: the FIB equals the
// kernel's, each route ECMP over B and C; flows to sampled prefixes are
// forwarded and spread over both paths; a withdrawal removes a prefix; a
// BIRD restart (its routes leave the kernel and come back, the sessions
// again through softnet) and a forced ENOBUFS (a burst of route changes
// made while softnet is stopped, into its 4 KiB netlink buffer) each end
// in a FIB equal to the kernel's.
func TestHostIfBGP(t *testing.T) {
	need(t)
	testenv.Tools(t, "bird", "gobgpd", "gobgp")
	tp := newHostIfTopo3(t)
	r, c := startHostIfRouter(t, tp, "  protocols: [bird]\n  rcvbuf: 4096\n")
	ctx := context.Background()
	dir := t.TempDir()
	os.Chmod(dir, 0o755)

	// scan time 600: BIRD's periodic kernel scan would delete the routes
	// of its protocol it did not make (the ENOBUFS burst's) mid-test.
	bird := `router id 10.0.2.1;
protocol device { scan time 10; }
protocol kernel { ipv4 { import none; export all; }; merge paths on; scan time 600; }
protocol bgp b { local 10.0.2.1 as 65001; neighbor 10.0.2.2 as 65002; ipv4 { import all; export none; }; }
protocol bgp c { local 10.0.3.1 as 65001; neighbor 10.0.3.2 as 65003; ipv4 { import all; export none; }; }
`
	birdConf := filepath.Join(dir, "bird.conf")
	os.WriteFile(birdConf, []byte(bird), 0o644)
	startBird := func() func() {
		return daemon(t, tp.H, dir, "bird", "-f", "-c", birdConf, "-s", filepath.Join(dir, "bird.ctl"))
	}
	stopBird := startBird()
	for _, g := range []struct{ ns, as, id, peer string }{{tp.B, "65002", "10.0.2.2", "10.0.2.1"}, {tp.C, "65003", "10.0.3.2", "10.0.3.1"}} {
		conf := filepath.Join(dir, "gobgp-"+g.ns+".toml")
		os.WriteFile(conf, []byte(fmt.Sprintf(`[global.config]
  as = %s
  router-id = "%s"
[[neighbors]]
  [neighbors.config]
    neighbor-address = "%s"
    peer-as = 65001
`, g.as, g.id, g.peer)), 0o644)
		daemon(t, g.ns, dir, "gobgpd", "-f", conf, "-t", "toml", "--pprof-disable")
	}
	start := time.Now()
	established := func(what string) {
		for _, ns := range []string{tp.B, tp.C} {
			poll(t, 90*time.Second, "the BGP session "+ns+" ↔ H through softnet's host interface "+what, func() (bool, string) {
				out, _ := netns.Output(ctx, ns, "gobgp", "neighbor")
				return strings.Contains(out, "Establ"), out
			})
		}
	}
	established("")
	t.Logf("BGP sessions B ↔ H and C ↔ H established %.1f s after the daemons started", time.Since(start).Seconds())
	mrt := filepath.Join(dir, "table.mrt")
	writeMRT(t, mrt, bgpPrefixes)
	start = time.Now()
	nb := inject(t, tp.B, "10.0.2.2", mrt, bgpPrefixes)
	nc := inject(t, tp.C, "10.0.3.2", mrt, bgpPrefixes)
	t.Logf("GoBGP announces %d prefixes from B, %d from C (injected in %.1f s)", nb, nc, time.Since(start).Seconds())
	lastN := -1
	poll(t, 300*time.Second, "softnet to mirror BIRD's routes from H", fibEqual(t, c, tp.H, min(nb, nc), &lastN))
	t.Logf("%d prefixes (%d from both peers), their BGP through the TAPs: in softnet's FIB, equal to H's kernel, %.1f s after the injection began",
		lastN, min(nb, nc), time.Since(start).Seconds())

	// Flows to sampled ECMP prefixes are forwarded, over both paths.
	var sample []netip.Prefix
	for p, hops := range kernelBird(t, tp.H) {
		if hops == 2 {
			if sample = append(sample, p); len(sample) == 50 {
				break
			}
		}
	}
	if len(sample) < 50 {
		t.Fatalf("H's kernel has %d two-path routes of BIRD's, want 50 at least", len(sample))
	}
	for _, p := range sample[:3] {
		m, err := c.Route(ctx, p.Addr().Next().String())
		if err != nil || !m.Found || m.Prefix != p.String() || m.Origin != "bird" || m.Kind != "ecmp" || len(m.NextHops) != 2 {
			t.Fatalf("show routes %v: %+v (%v): want BIRD's ECMP route via 10.0.2.2 and 10.0.3.2", p, m, err)
		}
	}
	const flows = 400
	udpFlowsTo(t, tp.A, sample, 50) // the first ones wait for ARP
	waitResolved(t, c, "10.0.2.2", "10.0.3.2")
	b0, c0 := iface(t, c, "wan1").TxPackets, iface(t, c, "wan2").TxPackets
	udpFlowsTo(t, tp.A, sample, flows)
	var db, dc uint64
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if db, dc = iface(t, c, "wan1").TxPackets-b0, iface(t, c, "wan2").TxPackets-c0; db+dc >= flows {
			break
		}
	}
	// (BGP's own frames leave by wan1 and wan2 too: they only add.)
	if db+dc < flows || db < flows/5 || dc < flows/5 {
		t.Fatalf("%d flows to %d of BGP's ECMP prefixes: %d out of wan1 (B), %d out of wan2 (C): want them spread over both", flows, len(sample), db, dc)
	}
	t.Logf("%d flows to %d BGP prefixes: %d out of wan1 (B), %d out of wan2 (C)", flows, len(sample), db, dc)
	host := sample[0].Addr().Next() // anycast on B and C
	for _, h := range []string{tp.B, tp.C} {
		lcpIP(t, h, "addr", "add", host.String()+"/32", "dev", "lo")
	}
	if p := ping(t, tp.A, host.String(), 3); p.Received == 0 {
		t.Fatalf("A cannot ping %v along the BGP route:\n%s", host, p.Output)
	}

	// A prefix announced by B alone, then withdrawn.
	nsOut(t, tp.B, "gobgp", "global", "rib", "add", "-a", "ipv4", "30.0.0.0/24", "nexthop", "10.0.2.2")
	waitRoute(t, c, "30.0.0.1", "the route B announced", func(m api.RouteMatch) bool {
		return m.Found && m.Origin == "bird" && m.Via == "10.0.2.2"
	})
	nsOut(t, tp.B, "gobgp", "global", "rib", "del", "-a", "ipv4", "30.0.0.0/24")
	waitRoute(t, c, "30.0.0.1", "no route after B's withdrawal", func(m api.RouteMatch) bool { return !m.Found })
	before := len(kernelBird(t, tp.H))

	// BIRD restarts: its routes leave the kernel and softnet, and come
	// back once its sessions are up again through softnet.
	stopBird()
	poll(t, 120*time.Second, "BIRD's routes to leave H's kernel and softnet", func() (bool, string) {
		st, err := c.LinuxCP(ctx)
		k := len(kernelBird(t, tp.H))
		return err == nil && k == 0 && st.Routes == 0, fmt.Sprintf("kernel %d, softnet %d (%v)", k, st.Routes, err)
	})
	start = time.Now()
	startBird()
	established("after BIRD's restart")
	lastN = -1
	poll(t, 300*time.Second, "softnet equal to H's kernel after BIRD's restart", fibEqual(t, c, tp.H, before, &lastN))
	t.Logf("BIRD restarted: %d routes back in softnet's FIB, equal to H's kernel, %.1f s after its start", lastN, time.Since(start).Seconds())

	// A forced ENOBUFS: softnet is stopped (SIGSTOP) while 5,000 routes
	// of BIRD's protocol are added in H and 2,000 of BIRD's replaced by
	// single-path ones (metric 32, BIRD's, or the kernel would add a
	// second route beside BIRD's): the burst overflows its 4 KiB buffer
	// for certain.
	st0, err := c.LinuxCP(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var batch strings.Builder
	for i := range 5000 {
		fmt.Fprintf(&batch, "route add 40.%d.%d.0/24 via 10.0.3.2 dev host-wan2 proto bird\n", i>>8, i&255)
	}
	for i := range 2000 {
		fmt.Fprintf(&batch, "route replace %v via 10.0.2.2 dev host-wan1 proto bird metric 32\n", bgpPrefix(i*7))
	}
	batchFile := filepath.Join(dir, "burst.batch")
	os.WriteFile(batchFile, []byte(batch.String()), 0o644)
	if err := r.cmd.Process.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	out, berr := netns.IP(ctx, "-n", tp.H, "-batch", batchFile)
	if err := r.cmd.Process.Signal(syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
	if berr != nil {
		t.Fatalf("ip -batch in H: %v\n%s", berr, clip(out, 2000))
	}
	lastN = -1
	poll(t, 300*time.Second, "softnet equal to H's kernel after the burst", fibEqual(t, c, tp.H, before+5000, &lastN))
	for _, q := range []struct{ addr, via string }{{"40.0.0.1", "10.0.3.2"}, {bgpPrefix(7).Addr().Next().String(), "10.0.2.2"}} {
		waitRoute(t, c, q.addr, "the burst's route via "+q.via, func(m api.RouteMatch) bool {
			return m.Found && m.Origin == "bird" && m.Kind != "ecmp" && m.Via == q.via
		})
	}
	st, err := c.LinuxCP(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("show linuxcp: routes %d, overflows %d, resyncs %d; host interfaces %+v", st.Routes, st.Overflows, st.Resyncs, st.HostInterfaces)
	if st.Overflows <= st0.Overflows || st.Resyncs <= st0.Resyncs {
		t.Errorf("show linuxcp: %+v, before the burst %+v: a burst into a 4 KiB buffer must have overflowed (ENOBUFS) and resynced", st, st0)
	}
	if p := ping(t, tp.A, host.String(), 3); p.Received == 0 {
		t.Fatalf("A cannot ping %v after BIRD's restart and the burst:\n%s", host, p.Output)
	}
	r.mustAlive(t, "the BGP test")
}

// udpFlowsTo sends one UDP datagram per source port from host A to the
// first address of dsts[i%len(dsts)]: n flows.
func udpFlowsTo(t *testing.T, a string, dsts []netip.Prefix, n int) {
	t.Helper()
	err := netns.Do(a, func() error {
		for i := range n {
			src := &net.UDPAddr{IP: net.IPv4(10, 0, 1, 2), Port: 20000 + i}
			dst := net.UDPAddrFromAddrPort(netip.AddrPortFrom(dsts[i%len(dsts)].Addr().Next(), 9))
			c, err := net.DialUDP("udp4", src, dst)
			if err != nil {
				return err
			}
			c.Write([]byte("softnet ecmp"))
			c.Close()
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
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
