package e2e

import (
	"context"
	be "encoding/binary"
	"fmt"
	"maps"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/softnet/softnet/api"
	"github.com/softnet/softnet/internal/netns"
	"github.com/softnet/softnet/internal/testenv"
)

// bgpPrefixes is how many /24s GoBGP announces: 20.0.0.0/24 onwards.
const bgpPrefixes = 100_000

func bgpPrefix(i int) netip.Prefix {
	v := uint32(20)<<24 + uint32(i)<<8
	return netip.PrefixFrom(netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), 0}), 24)
}

// writeMRT writes an MRT TABLE_DUMP_V2 file (RFC 6396) of n IPv4 /24s
// with an empty AS path (GoBGP prepends its AS), for gobgp mrt inject.
func writeMRT(t *testing.T, path string, n int) {
	t.Helper()
	var b []byte
	rec := func(sub uint16, body []byte) {
		b = be.BigEndian.AppendUint32(b, 1700000000)
		b = be.BigEndian.AppendUint16(b, 13) // TABLE_DUMP_V2
		b = be.BigEndian.AppendUint16(b, sub)
		b = be.BigEndian.AppendUint32(b, uint32(len(body)))
		b = append(b, body...)
	}
	// PEER_INDEX_TABLE: collector id, no view name, one IPv4 peer with a
	// 4-byte AS.
	pit := []byte{10, 0, 2, 2, 0, 0, 0, 1, 0x02, 10, 0, 2, 2, 10, 0, 2, 2}
	pit = be.BigEndian.AppendUint32(pit, 65002)
	rec(1, pit)
	attrs := []byte{
		0x40, 1, 1, 0, // ORIGIN IGP
		0x40, 2, 0, // AS_PATH, empty
		0x40, 3, 4, 10, 0, 2, 2, // NEXT_HOP (gobgp mrt inject --nexthop overrides)
	}
	for i := range n {
		p := bgpPrefix(i).Addr().As4()
		var e []byte
		e = be.BigEndian.AppendUint32(e, uint32(i))
		e = append(e, 24, p[0], p[1], p[2])
		e = be.BigEndian.AppendUint16(e, 1) // one entry
		e = be.BigEndian.AppendUint16(e, 0) // peer 0
		e = be.BigEndian.AppendUint32(e, 1700000000)
		e = be.BigEndian.AppendUint16(e, uint16(len(attrs)))
		e = append(e, attrs...)
		rec(2, e) // RIB_IPV4_UNICAST
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// daemon starts a process in namespace ns, stopped (SIGTERM, then
// SIGKILL 90 s later) when the test ends or by the returned stop.
func daemon(t *testing.T, ns, dir, name string, args ...string) (stop func()) {
	t.Helper()
	logf, err := os.Create(filepath.Join(dir, filepath.Base(name)+"-"+ns+".log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd := netns.Command(context.Background(), ns, name, args...)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); logf.Close(); close(done) }()
	stopped := false
	stop = func() {
		if stopped {
			return
		}
		stopped = true
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(90 * time.Second): // BIRD takes its 100,000 routes out of the kernel first
			cmd.Process.Kill()
			<-done
		}
	}
	t.Cleanup(func() {
		stop()
		if t.Failed() {
			out, _ := os.ReadFile(logf.Name())
			t.Logf("%s in %s:\n%s", name, ns, clip(string(out), 3000))
		}
	})
	return stop
}

func nsOut(t *testing.T, ns, name string, args ...string) string {
	t.Helper()
	out, err := netns.Output(context.Background(), ns, name, args...)
	if err != nil {
		t.Fatalf("%s %s in %s: %v\n%s", name, strings.Join(args, " "), ns, err, out)
	}
	return out
}

// poll calls ok until it is true or the deadline passes.
func poll(t *testing.T, d time.Duration, what string, ok func() (bool, string)) {
	t.Helper()
	why := ""
	for deadline := time.Now().Add(d); time.Now().Before(deadline); time.Sleep(250 * time.Millisecond) {
		var done bool
		if done, why = ok(); done {
			return
		}
	}
	t.Fatalf("timed out waiting for %s: %s", what, why)
}

// kernelBird returns BIRD's IPv4 routes in R's main table, each with its
// number of next hops.
func kernelBird(t *testing.T, r string) map[netip.Prefix]int {
	t.Helper()
	out, err := netns.Output(context.Background(), r, "ip", "-4", "route", "show", "proto", "bird")
	if err != nil {
		t.Fatalf("ip route show: %v", err)
	}
	m := map[netip.Prefix]int{}
	var last netip.Prefix
	for _, l := range strings.Split(out, "\n") {
		switch {
		case l == "":
		case l[0] == ' ' || l[0] == '\t': // a multipath route's nexthop line
			if strings.Contains(l, "nexthop") {
				m[last]++
			}
		default:
			f := strings.Fields(l)
			p, err := netip.ParsePrefix(f[0])
			if err != nil {
				p = netip.PrefixFrom(netip.MustParseAddr(f[0]), 32)
			}
			last = p
			if strings.Contains(l, " via ") {
				m[p] = 1
			} else {
				m[p] = 0
			}
		}
	}
	return m
}

// inject has GoBGP in ns announce the MRT file's prefixes with next hop
// nh, again while its RIB holds fewer than n (gobgp mrt inject can stop
// short under load).
func inject(t *testing.T, ns, nh, mrt string, n int) int {
	t.Helper()
	have := 0
	count := func() int {
		out := nsOut(t, ns, "gobgp", "global", "rib", "summary")
		c := 0
		if i := strings.Index(out, "Destination:"); i >= 0 {
			fmt.Sscanf(out[i:], "Destination: %d", &c)
		}
		return c
	}
	for range 2 {
		nsOut(t, ns, "gobgp", "mrt", "inject", "global", "--nexthop", nh, mrt)
		// gobgp mrt inject may return before gobgpd has taken every path
		// (a CI run read 450 of 1,000 right after it): wait until the RIB
		// has them all or stops growing for 2 s.
		last, since := -1, time.Now()
		for deadline := time.Now().Add(2 * time.Minute); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
			if have = count(); have >= n {
				return have
			}
			if have != last {
				last, since = have, time.Now()
			} else if time.Since(since) > 2*time.Second {
				break
			}
		}
	}
	return have
}

// TestLinuxCPBGP (issue 15) runs Debian's daemons: BIRD in the router's
// namespace R peers over BGP (on R's kernel interfaces, which softnet's
// AF_PACKET ports share) with GoBGP in B and in C, which announce the
// same 100,000 prefixes (gobgp mrt inject may stop a few short). BIRD installs them in R's main table (merged
// into two-path routes), softnet mirrors them: traffic to sampled
// prefixes is forwarded, each route is ECMP over B and C, a withdrawal
// removes a prefix, and a BIRD restart (its routes leave the kernel and
// come back while softnet is stopped, so that its 4 KiB netlink buffer
// overflows) ends in a FIB equal to the kernel's.
func TestLinuxCPBGP(t *testing.T) {
	need(t)
	testenv.Tools(t, "bird", "gobgpd", "gobgp")
	tp := newLCPTopo(t)
	dir := t.TempDir()
	os.Chmod(dir, 0o755)
	cfg := `interfaces:
  - {name: wan0, backend: afpacket, device: wan0, addresses: [10.0.1.1/24]}
  - {name: wan1, backend: afpacket, device: wan1, addresses: [10.0.2.1/24]}
  - {name: wan2, backend: afpacket, device: wan2, addresses: [10.0.3.1/24]}
linux_cp:
  protocols: [bird]
  rcvbuf: 4096
`
	if err := os.WriteFile(filepath.Join(dir, "r.yaml"), []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	r := startCLIRouter(t, dir, "r.yaml", tp.R)
	c := api.NewClient(r.Sock)
	ctx := context.Background()

	bird := `router id 10.0.2.1;
protocol device { scan time 10; }
protocol kernel { ipv4 { import none; export all; }; merge paths on; }
protocol bgp b { local 10.0.2.1 as 65001; neighbor 10.0.2.2 as 65002; ipv4 { import all; export none; }; }
protocol bgp c { local 10.0.3.1 as 65001; neighbor 10.0.3.2 as 65003; ipv4 { import all; export none; }; }
`
	birdConf := filepath.Join(dir, "bird.conf")
	os.WriteFile(birdConf, []byte(bird), 0o644)
	startBird := func() func() {
		return daemon(t, tp.R, dir, "bird", "-f", "-c", birdConf, "-s", filepath.Join(dir, "bird.ctl"))
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
	for _, ns := range []string{tp.B, tp.C} {
		poll(t, 60*time.Second, "the BGP session of "+ns, func() (bool, string) {
			out, _ := netns.Output(ctx, ns, "gobgp", "neighbor")
			return strings.Contains(out, "Establ"), out
		})
	}
	mrt := filepath.Join(dir, "table.mrt")
	writeMRT(t, mrt, bgpPrefixes)
	start := time.Now()
	nb := inject(t, tp.B, "10.0.2.2", mrt, bgpPrefixes)
	nc := inject(t, tp.C, "10.0.3.2", mrt, bgpPrefixes)
	t.Logf("GoBGP announces %d prefixes from B, %d from C", nb, nc)

	// softnet equal to the kernel: as many mirrored routes as the kernel
	// has of BIRD's (the same for two polls: BIRD is done), and 300 of
	// them sampled each with the kernel's next hops (ECMP where the
	// kernel has two).
	lastN := -1
	equal := func(min int) func() (bool, string) {
		return func() (bool, string) {
			k := kernelBird(t, tp.R)
			if n := len(k); n < min || n != lastN {
				lastN = n
				return false, fmt.Sprintf("the kernel has %d of BIRD's routes (want %d at least, and the same twice)", n, min)
			}
			st, err := c.LinuxCP(ctx)
			if err != nil || st.Routes != len(k) {
				return false, fmt.Sprintf("softnet mirrors %d routes (%v), the kernel has %d", st.Routes, err, len(k))
			}
			ps := slices.SortedFunc(maps.Keys(k), func(a, b netip.Prefix) int { return a.Addr().Compare(b.Addr()) })
			ecmp := 0
			for i := 0; i < len(ps); i += max(1, len(ps)/300) {
				p := ps[i]
				m, err := c.Route(ctx, p.String())
				if err != nil || !m.Found || m.Prefix != p.String() || m.Origin != "bird" {
					return false, fmt.Sprintf("%v: %+v (%v)", p, m, err)
				}
				if hops := k[p]; hops > 1 && (m.Kind != "ecmp" || len(m.NextHops) != hops) || hops == 1 && m.Via == "" {
					return false, fmt.Sprintf("%v: %+v, the kernel has %d next hops", p, m, hops)
				}
				if m.Kind == "ecmp" {
					ecmp++
				}
			}
			if ecmp < 100 {
				return false, fmt.Sprintf("%d of the sampled routes are ECMP: want most (B and C announce the same)", ecmp)
			}
			return true, ""
		}
	}
	poll(t, 300*time.Second, "softnet to mirror BIRD's routes", equal(min(nb, nc)))
	t.Logf("%d prefixes (%d from both peers): in softnet's FIB %.1f s after the injection began", lastN, min(nb, nc), time.Since(start).Seconds())
	// Traffic to a prefix both announce (its first address anycast on B
	// and C) is forwarded.
	var target netip.Prefix
	for p, hops := range kernelBird(t, tp.R) {
		if hops == 2 {
			target = p
			break
		}
	}
	host := target.Addr().Next()
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
	lastN = len(kernelBird(t, tp.R))

	// BIRD restarts: its routes leave the kernel and come back.
	stopBird()
	poll(t, 120*time.Second, "BIRD's routes to leave the kernel and softnet", func() (bool, string) {
		st, err := c.LinuxCP(ctx)
		k := len(kernelBird(t, tp.R))
		return err == nil && k == 0 && st.Routes == 0, fmt.Sprintf("kernel %d, softnet %d (%v)", k, st.Routes, err)
	})
	// softnet is stopped (SIGSTOP) while BIRD comes back and installs
	// its routes: the burst overflows its 4 KiB buffer for certain.
	if err := r.cmd.Process.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	startBird()
	before := lastN
	poll(t, 240*time.Second, "BIRD's routes back in the kernel", func() (bool, string) {
		k := len(kernelBird(t, tp.R))
		return k == before, fmt.Sprintf("kernel %d, want %d", k, before)
	})
	if err := r.cmd.Process.Signal(syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
	lastN = -1
	poll(t, 240*time.Second, "softnet equal to the kernel after BIRD's restart", equal(before))
	st, err := c.LinuxCP(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("show linuxcp: %+v", st)
	if st.Overflows == 0 || st.Resyncs < 2 {
		t.Errorf("show linuxcp: %+v: BIRD's bursts into a 4 KiB buffer must have overflowed (ENOBUFS) and resynced", st)
	}
	if p := ping(t, tp.A, host.String(), 3); p.Received == 0 {
		t.Fatalf("A cannot ping %v after BIRD's restart:\n%s", host, p.Output)
	}
}
