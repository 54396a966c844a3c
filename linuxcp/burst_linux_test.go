package linuxcp

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"net/netip"
	"os"
	"strconv"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/softnet/softnet"
	"github.com/softnet/softnet/control"
	"github.com/softnet/softnet/fib"
	"github.com/softnet/softnet/internal/netns"
	"github.com/softnet/softnet/internal/testenv"
)

// burstTable is n prefixes of the embedded full table (IPv4 then IPv6, in
// the table's proportion), without link-local, multicast and the test
// namespace's own subnets.
func burstTable(tb testing.TB, n int) []netip.Prefix {
	tb.Helper()
	all, err := fib.ReadPrefixes(bytes.NewReader(softnet.FullTableGz))
	if err != nil {
		tb.Fatal(err)
	}
	own := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/16"), netip.MustParsePrefix("2001:db8::/32")}
	seen := make(map[netip.Prefix]bool, len(all))
	var v4, v6 []netip.Prefix
	for _, p := range all {
		a := p.Addr()
		if seen[p] || a.IsLinkLocalUnicast() || a.IsMulticast() || own[0].Overlaps(p) || own[1].Overlaps(p) {
			continue
		}
		seen[p] = true
		if a.Is4() {
			v4 = append(v4, p)
		} else {
			v6 = append(v6, p)
		}
	}
	if n > 0 && n < len(v4)+len(v6) {
		k := max(n*len(v4)/(len(v4)+len(v6)), 1)
		v4, v6 = v4[:min(k, len(v4))], v6[:max(min(n-k, len(v6)), 0)]
	}
	return append(v4, v6...)
}

// burstRoutes writes RTM_NEWROUTE for each prefix (main table, protocol
// bgp, via 10.0.1.2 or 2001:db8:1::2 on link oif) into namespace ns's
// kernel, many messages to a sendmsg, no acknowledgement asked, and
// returns when the kernel has taken them all.
func burstRoutes(tb testing.TB, ns string, oif int, ps []netip.Prefix) {
	tb.Helper()
	var chunks [][]byte
	var cur []byte
	via4, via6 := netip.MustParseAddr("10.0.1.2"), netip.MustParseAddr("2001:db8:1::2")
	attr := func(b []byte, typ uint16, v []byte) []byte {
		b = binary.NativeEndian.AppendUint16(b, uint16(4+len(v)))
		b = binary.NativeEndian.AppendUint16(b, typ)
		b = append(b, v...)
		for len(b)%4 != 0 {
			b = append(b, 0)
		}
		return b
	}
	for i, p := range ps {
		fam, via := byte(unix.AF_INET), via4
		if p.Addr().Is6() {
			fam, via = unix.AF_INET6, via6
		}
		m := make([]byte, unix.NLMSG_HDRLEN, 128)
		binary.NativeEndian.PutUint16(m[4:], unix.RTM_NEWROUTE)
		binary.NativeEndian.PutUint16(m[6:], unix.NLM_F_REQUEST|unix.NLM_F_CREATE|unix.NLM_F_REPLACE)
		binary.NativeEndian.PutUint32(m[8:], uint32(i))
		m = append(m, fam, byte(p.Bits()), 0, 0, unix.RT_TABLE_MAIN, unix.RTPROT_BGP, unix.RT_SCOPE_UNIVERSE, unix.RTN_UNICAST, 0, 0, 0, 0)
		m = attr(m, unix.RTA_DST, p.Addr().AsSlice())
		m = attr(m, unix.RTA_GATEWAY, via.AsSlice())
		m = attr(m, unix.RTA_OIF, binary.NativeEndian.AppendUint32(nil, uint32(oif)))
		binary.NativeEndian.PutUint32(m, uint32(len(m)))
		if len(cur)+len(m) > 256<<10 {
			chunks, cur = append(chunks, cur), nil
		}
		cur = append(cur, m...)
	}
	chunks = append(chunks, cur)
	err := netns.Do(ns, func() error {
		fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.NETLINK_ROUTE)
		if err != nil {
			return err
		}
		defer unix.Close(fd)
		unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_SNDBUFFORCE, 4<<20)
		if err := unix.Bind(fd, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
			return err
		}
		for _, c := range chunks {
			if err := unix.Sendto(fd, c, 0, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		tb.Fatal(err)
	}
}

// burstNS is kernelNS for a benchmark: namespace with link wan0 up
// (10.0.1.1/24, 2001:db8:1::1/64).
func burstNS(tb testing.TB) string {
	tb.Helper()
	testenv.Root(tb)
	testenv.Tools(tb, "ip")
	ctx := context.Background()
	ns := fmt.Sprintf("sn-lcb-%d-%d", os.Getpid(), time.Now().UnixNano()%100000)
	if err := netns.Add(ctx, ns); err != nil {
		testenv.Need(tb, false, "ip netns add: "+err.Error())
	}
	tb.Cleanup(func() { netns.Delete(context.Background(), ns) })
	for _, c := range [][]string{
		{"link", "add", "wan0", "type", "veth", "peer", "name", "wan0p"}, {"link", "set", "wan0p", "up"},
		{"addr", "add", "10.0.1.1/24", "dev", "wan0"}, {"addr", "add", "2001:db8:1::1/64", "dev", "wan0", "nodad"},
		{"link", "set", "wan0", "up"},
	} {
		if out, err := netns.IP(ctx, append([]string{"-n", ns}, c...)...); err != nil {
			tb.Fatalf("ip %v: %v %s", c, err, out)
		}
	}
	return ns
}

// BenchmarkMirrorBurst is the netlink-full-table scenario without the
// traffic, in one process to profile: SOFTNET_BURST routes (default
// 100,000; 0 the whole table) into a namespace's kernel in one burst,
// mirrored into a real router, timed to the router holding them all.
// Root: go test -run X -bench MirrorBurst -benchtime 1x ./linuxcp.
func BenchmarkMirrorBurst(b *testing.B) {
	n := 100000
	if s := os.Getenv("SOFTNET_BURST"); s != "" {
		n, _ = strconv.Atoi(s)
	}
	ps := burstTable(b, n)
	for range b.N {
		b.StopTimer()
		ns := burstNS(b)
		r := control.New(control.Options{})
		if _, err := r.AddInterface(control.IfaceConfig{Name: "wan0", MAC: [6]byte{2, 0, 0, 0, 0, 1},
			Addrs: []netip.Prefix{netip.MustParsePrefix("10.0.1.1/24"), netip.MustParsePrefix("2001:db8:1::1/64")}}); err != nil {
			b.Fatal(err)
		}
		src, err := Open(ns, 0)
		if err != nil {
			b.Fatal(err)
		}
		m := New(src, r, Options{Protocols: []int{unix.RTPROT_BGP}})
		if err := m.Start(); err != nil {
			b.Fatal(err)
		}
		var oif int
		for _, l := range m.links {
			if l.Name == "wan0" {
				oif = l.Index
			}
		}
		b.StartTimer()
		t0 := time.Now()
		burstRoutes(b, ns, oif, ps)
		kernel := time.Since(t0)
		for {
			if in, _ := r.KernelRoutes(); in == len(ps) && m.Stats().Routes == len(ps) {
				break
			}
			if time.Since(t0) > 10*time.Minute {
				b.Fatalf("not converged: %+v", m.Stats())
			}
			time.Sleep(10 * time.Millisecond)
		}
		conv := time.Since(t0)
		b.StopTimer()
		st := m.Stats()
		b.ReportMetric(kernel.Seconds(), "kernel_s")
		b.ReportMetric(conv.Seconds(), "converge_s")
		b.ReportMetric(float64(st.Overflows), "overflows")
		b.ReportMetric(float64(st.Batches), "batches")
		m.Close()
	}
}
