package blocklist

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"os"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gaissmai/bart"
)

func build(t testing.TB, lines ...string) *Table {
	t.Helper()
	var e Entries
	if err := Parse("t", []byte(strings.Join(lines, "\n")), &e); err != nil {
		t.Fatal(err)
	}
	return Build(e)
}

// TestLookup: prefixes of every size class (direct array, host hash,
// expanded /25../31, per-length IPv6 hashes, the zero addresses) match
// what they cover and nothing else.
func TestLookup(t *testing.T) {
	tb := build(t,
		"# a comment", "",
		"10.0.0.0/8", "192.0.2.1", "  198.51.100.128/25  # trailing comment", "203.0.113.7/32",
		"0.0.0.0", "2001:db8::1", "2001:db8:1::/48", "fe80::/10", "::ffff:100.64.0.1", "::/128")
	for _, c := range []struct {
		a    string
		want bool
	}{
		{"10.1.2.3", true}, {"11.0.0.0", false}, {"9.255.255.255", false},
		{"192.0.2.1", true}, {"192.0.2.2", false}, {"192.0.2.0", false},
		{"198.51.100.128", true}, {"198.51.100.255", true}, {"198.51.100.127", false},
		{"203.0.113.7", true}, {"203.0.113.6", false},
		{"0.0.0.0", true}, {"0.0.0.1", false}, {"100.64.0.1", true},
		{"2001:db8::1", true}, {"2001:db8::2", false}, {"2001:db8:1:ffff::9", true}, {"2001:db8:2::", false},
		{"fe80::1", true}, {"fec0::1", false}, {"::", true}, {"::1", false},
	} {
		if got := tb.Lookup(netip.MustParseAddr(c.a)); got != c.want {
			t.Errorf("Lookup(%s) = %v, want %v", c.a, got, c.want)
		}
	}
	if tb.Len4() != 6 || tb.Len6() != 4 {
		t.Errorf("%d IPv4 and %d IPv6 entries, want 6 and 4", tb.Len4(), tb.Len6())
	}
	if !tb.Contains(netip.MustParsePrefix("10.0.0.0/8")) || tb.Contains(netip.MustParsePrefix("10.0.0.0/9")) {
		t.Error("Contains: 10.0.0.0/8 must be an entry, 10.0.0.0/9 not")
	}
	// Empty tables match nothing.
	if e := Build(Entries{}); e.Lookup(netip.MustParseAddr("1.2.3.4")) || e.Lookup(netip.MustParseAddr("::1")) {
		t.Error("an empty table matched")
	}
}

// TestLookupRandom compares random tables against bart.
func TestLookupRandom(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	var e Entries
	var ref bart.Lite
	for i := 0; i < 20000; i++ {
		var p netip.Prefix
		if i%2 == 0 {
			var b [4]byte
			binary.BigEndian.PutUint32(b[:], r.Uint32()&0x0fffffff) // dense in 0/4 so lookups hit
			p = netip.PrefixFrom(netip.AddrFrom4(b), 8+r.IntN(25)).Masked()
		} else {
			var b [16]byte
			binary.BigEndian.PutUint64(b[:], 0x20010db800000000|r.Uint64()&0xffff)
			binary.BigEndian.PutUint64(b[8:], r.Uint64())
			p = netip.PrefixFrom(netip.AddrFrom16(b), []int{32, 48, 64, 128}[r.IntN(4)]).Masked()
		}
		e.Add(p)
		ref.Insert(p)
	}
	tb := Build(e)
	var batch []uint32
	var want []bool
	for i := 0; i < 200000; i++ {
		var a netip.Addr
		if i%2 == 0 {
			var b [4]byte
			binary.BigEndian.PutUint32(b[:], r.Uint32()&0x0fffffff)
			a = netip.AddrFrom4(b)
		} else {
			var b [16]byte
			binary.BigEndian.PutUint64(b[:], 0x20010db800000000|r.Uint64()&0xffff)
			binary.BigEndian.PutUint64(b[8:], r.Uint64()&0xff)
			a = netip.AddrFrom16(b)
		}
		if got, want := tb.Lookup(a), ref.Contains(a); got != want {
			t.Fatalf("Lookup(%s) = %v, bart says %v", a, got, want)
		}
		if a.Is4() {
			b := a.As4()
			batch = append(batch, binary.BigEndian.Uint32(b[:]))
			want = append(want, ref.Contains(a))
		}
	}
	batch = append(batch, 0) // 0.0.0.0, kept aside by the hash
	want = append(want, ref.Contains(netip.IPv4Unspecified()))
	hit := make([]bool, len(batch))
	tb.Lookup4Batch(batch, hit) // more than one vector of 256
	for i := range batch {
		if hit[i] != want[i] {
			t.Fatalf("Lookup4Batch: %08x = %v, bart says %v", batch[i], hit[i], want[i])
		}
	}
}

// TestLookupRandomHosts compares tables of IPv4 hosts and prefixes longer
// than /24 (no verdict array: the host hash alone decides) against bart,
// with and without 0.0.0.0 listed, one at a time and in batches.
func TestLookupRandomHosts(t *testing.T) {
	for _, zero := range []bool{false, true} {
		r := rand.New(rand.NewPCG(3, 4))
		var e Entries
		var ref bart.Lite
		add := func(p netip.Prefix) { e.Add(p); ref.Insert(p) }
		for i := 0; i < 20000; i++ {
			var b [4]byte
			binary.BigEndian.PutUint32(b[:], r.Uint32()&0x0003ffff) // dense in 0.0.0.0/14 so lookups hit
			add(netip.PrefixFrom(netip.AddrFrom4(b), 25+r.IntN(8)).Masked())
		}
		if zero {
			add(netip.MustParsePrefix("0.0.0.0/32"))
		}
		tb := Build(e)
		if !tb.hostsOnly || tb.dir != nil {
			t.Fatalf("a table of hosts has a verdict array (hostsOnly %v)", tb.hostsOnly)
		}
		var batch []uint32
		var want []bool
		for i := 0; i < 100000; i++ {
			x := r.Uint32() & 0x0003ffff
			if i%1000 == 0 {
				x = 0
			}
			var b [4]byte
			binary.BigEndian.PutUint32(b[:], x)
			a := netip.AddrFrom4(b)
			w := ref.Contains(a)
			if got := tb.Lookup(a); got != w {
				t.Fatalf("zero %v: Lookup(%s) = %v, bart says %v", zero, a, got, w)
			}
			batch, want = append(batch, x), append(want, w)
		}
		hit := make([]bool, len(batch))
		n := tb.Lookup4Batch(batch, hit)
		hits := 0
		for i := range batch {
			if hit[i] != want[i] {
				t.Fatalf("zero %v: Lookup4Batch: %08x = %v, bart says %v", zero, batch[i], hit[i], want[i])
			}
			if want[i] {
				hits++
			}
		}
		if n != hits || hits == 0 {
			t.Fatalf("Lookup4Batch returned %d hits, %d expected", n, hits)
		}
	}
}

// TestParseErrors: a bad line is reported with file:line and an example.
func TestParseErrors(t *testing.T) {
	var e Entries
	err := Parse("list.txt", []byte("10.0.0.1\n# ok\n10.0.0.300\n"), &e)
	if err == nil || !strings.HasPrefix(err.Error(), "list.txt:3: ") || !strings.Contains(err.Error(), "want e.g.") {
		t.Fatalf("error %v, want list.txt:3: ... want e.g. ...", err)
	}
	err = Parse("l", []byte("10.0.0.0/33"), &e)
	if err == nil || !strings.Contains(err.Error(), "l:1: \"10.0.0.0/33\" is not an IPv4 or IPv6 prefix") {
		t.Fatalf("error %v", err)
	}
	err = Parse("l", []byte{0x1f, 0x8b, 0, 0}, &e)
	if err == nil || !strings.Contains(err.Error(), "bad gzip data") {
		t.Fatalf("error %v", err)
	}
}

// TestParseGzip: gzip files are read by their magic bytes.
func TestParseGzip(t *testing.T) {
	var buf bytes.Buffer
	z := gzip.NewWriter(&buf)
	fmt.Fprintf(z, "192.0.2.0/24\n2001:db8::/32 # doc\n")
	z.Close()
	var e Entries
	if err := Parse("l.gz", buf.Bytes(), &e); err != nil {
		t.Fatal(err)
	}
	tb := Build(e)
	if tb.Len() != 2 || !tb.Lookup(netip.MustParseAddr("192.0.2.9")) || !tb.Lookup(netip.MustParseAddr("2001:db8::9")) {
		t.Fatalf("gzip list: %v", tb)
	}
}

// FuzzParse: the list file parser never panics, and what it accepts
// builds a table that holds every entry it parsed.
func FuzzParse(f *testing.F) {
	f.Add([]byte("10.0.0.0/8\n192.0.2.1 # c\n2001:db8::/32\n::ffff:1.2.3.4\n"))
	f.Add([]byte("#\n\n\t1.2.3.4/31\n"))
	f.Add([]byte{0x1f, 0x8b})
	f.Fuzz(func(t *testing.T, data []byte) {
		var e Entries
		if err := Parse("f", data, &e); err != nil {
			return
		}
		tb := Build(e)
		for _, p := range tb.Prefixes() {
			if !tb.Lookup(p.Addr()) || !tb.Contains(p) {
				t.Fatalf("%s parsed but not found", p)
			}
		}
	})
}

// hostsFile writes n distinct pseudo-random IPv4 host lines (a
// blocklist file): i times an odd constant is a permutation of 2^32.
func hostsFile(n int, seed uint64) ([]byte, []uint32) {
	addrs := make([]uint32, n)
	buf := make([]byte, 0, 16*n)
	for i := range addrs {
		a := uint32(uint64(i)+seed) * 0x9E3779B1
		addrs[i] = a
		buf = strconv.AppendUint(buf, uint64(a>>24), 10)
		buf = append(buf, '.')
		buf = strconv.AppendUint(buf, uint64(a>>16&0xff), 10)
		buf = append(buf, '.')
		buf = strconv.AppendUint(buf, uint64(a>>8&0xff), 10)
		buf = append(buf, '.')
		buf = strconv.AppendUint(buf, uint64(a&0xff), 10)
		buf = append(buf, '\n')
	}
	return buf, addrs
}

// cpuTime is the process's user+system CPU time: on a shared machine the
// wall clock of a load says little, its CPU seconds say what it costs.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// TestLoad6M loads a file of 6,000,000 IPv4 hosts and reports the
// seconds it took and the memory the table holds; every host is found.
func TestLoad6M(t *testing.T) {
	if testing.Short() {
		t.Skip("6M entries: not in -short")
	}
	const n = 6_000_000
	data, addrs := hostsFile(n, 1)
	path := t.TempDir() + "/6m.txt"
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	data = nil
	runtime.GC()
	var m0, m1 runtime.MemStats
	runtime.ReadMemStats(&m0)
	start, cpu0 := time.Now(), cpuTime()
	e, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	tb := Build(e)
	took, cpu := time.Since(start), cpuTime()-cpu0
	runtime.GC()
	runtime.ReadMemStats(&m1)
	t.Logf("load_s %.2f (CPU %.2f s) for %d entries; table %d MiB, heap after load %d MiB more", took.Seconds(), cpu.Seconds(), tb.Len(), tb.Bytes()>>20, (int64(m1.HeapAlloc)-int64(m0.HeapAlloc))>>20)
	if tb.Len() != n {
		t.Fatalf("%d entries, want %d", tb.Len(), n)
	}
	// The CPU time, not the wall clock: the test machine is shared. (The
	// GC's background workers count too: a generous bound.)
	if cpu > 15*time.Second {
		t.Errorf("loading %d entries took %v of CPU (%v wall), want a few seconds", n, cpu, took)
	}
	for i, a := range addrs {
		if !tb.Lookup4(a) {
			t.Fatalf("host %d (%08x) not found", i, a)
		}
	}
	runtime.KeepAlive(tb)
}

// BenchmarkLookup measures the lookups of a 6,000,000-host table (the
// early-drop scenario's size) against bart's (bart.Lite, the same
// hosts): one at a time (edrop), a vector of 256 at a time as the node
// does (edrop-batch), and bart.Lite.Contains. The addresses looked up
// are 1M of the hosts, in random order, the same for all three.
func BenchmarkLookup(b *testing.B) {
	const n = 6_000_000
	data, addrs := hostsFile(n, 3)
	var e Entries
	if err := Parse("b", data, &e); err != nil {
		b.Fatal(err)
	}
	data = nil
	tb := Build(e)
	rng := rand.New(rand.NewPCG(1, 2))
	probe := make([]uint32, 1<<20)
	for i := range probe {
		probe[i] = addrs[rng.IntN(len(addrs))]
	}
	runtime.GC()
	b.Run("edrop", func(b *testing.B) {
		defer cpuPerOp(b)()
		n := 0
		for i := 0; i < b.N; i++ {
			if tb.Lookup4(probe[i&(len(probe)-1)]) {
				n++
			}
		}
		if n != b.N {
			b.Fatal("miss")
		}
	})
	b.Run("edrop-batch", func(b *testing.B) {
		defer cpuPerOp(b)()
		var hit [256]bool
		n, j := 0, 0
		for i := 0; i < b.N; i += 256 {
			n += tb.Lookup4Batch(probe[j:j+256], hit[:])
			j = (j + 256) & (len(probe) - 1)
		}
		if n < b.N {
			b.Fatal("miss")
		}
	})
	var ref bart.Lite
	for _, a := range addrs {
		var x [4]byte
		binary.BigEndian.PutUint32(x[:], a)
		ref.Insert(netip.PrefixFrom(netip.AddrFrom4(x), 32))
	}
	ips := make([]netip.Addr, len(probe))
	for i, a := range probe {
		var x [4]byte
		binary.BigEndian.PutUint32(x[:], a)
		ips[i] = netip.AddrFrom4(x)
	}
	runtime.GC() // no garbage of the builds left to collect while measuring
	b.Run("bart", func(b *testing.B) {
		b.ResetTimer()
		defer cpuPerOp(b)()
		n := 0
		for i := 0; i < b.N; i++ {
			if ref.Contains(ips[i&(len(ips)-1)]) {
				n++
			}
		}
		if n != b.N {
			b.Fatal("miss")
		}
	})
}

// cpuPerOp starts counting the process's CPU time; the function it
// returns reports it per op (cpu-ns/op): on a shared machine the wall
// time of a benchmark is mostly waiting for a CPU.
func cpuPerOp(b *testing.B) func() {
	t0 := cpuTime()
	return func() {
		b.ReportMetric(float64((cpuTime()-t0).Nanoseconds())/float64(b.N), "cpu-ns/op")
	}
}

func TestLookupZeroAlloc(t *testing.T) {
	tb := build(t, "10.0.0.1", "2001:db8::/64")
	if a := testing.AllocsPerRun(100, func() {
		tb.Lookup4(0x0a000001)
		tb.Lookup6(0x20010db800000000, 1)
	}); a != 0 {
		t.Fatalf("%v allocations per lookup", a)
	}
}

// TestTablesFreed: the lookup arrays of a table that is no longer used
// are unmapped (they live outside the Go heap, on huge pages): building
// 40 tables that each touch 8 MiB of the verdict array, one after the
// other, does not keep 320 MiB.
func TestTablesFreed(t *testing.T) {
	rss := func() int {
		b, err := os.ReadFile("/proc/self/status")
		if err != nil {
			t.Skip("no /proc/self/status")
		}
		for _, l := range strings.Split(string(b), "\n") {
			if f := strings.Fields(l); len(f) >= 2 && f[0] == "VmRSS:" {
				n, _ := strconv.Atoi(f[1])
				return n << 10
			}
		}
		t.Fatal("no VmRSS")
		return 0
	}
	runtime.GC()
	before := rss()
	for i := range 40 {
		tb := build(t, "0.0.0.0/1", "10.1.2.3")
		if !tb.Lookup(netip.MustParseAddr("1.2.3.4")) || tb.Lookup(netip.MustParseAddr("200.1.1.1")) {
			t.Fatalf("table %d: wrong verdicts", i)
		}
		runtime.GC()
	}
	runtime.GC()
	runtime.GC()
	if grew := rss() - before; grew > 100<<20 {
		t.Fatalf("RSS grew by %d MiB after 40 tables of 8 MiB each were dropped: their arrays are not freed", grew>>20)
	}
}
