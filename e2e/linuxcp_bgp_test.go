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

// fibEqual returns a poll function that is true when softnet (c)
// mirrors as many routes as namespace ns's kernel has of BIRD's, at least
// min and the same count on two polls in a row (BIRD is done: *last keeps
// the previous count; set it to -1 before polling), and 300 of them
// sampled each have the kernel's next hops (ECMP where the kernel has
// two), at least 100 of the sample ECMP (two peers announce the same).
func fibEqual(t *testing.T, c *api.Client, ns string, min int, last *int) func() (bool, string) {
	return func() (bool, string) {
		ctx := context.Background()
		k := kernelBird(t, ns)
		if n := len(k); n < min || n != *last {
			*last = n
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
