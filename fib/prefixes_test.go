package fib

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"hash/fnv"
	"net/netip"
	"slices"
	"strings"
	"testing"
)

const prefixText = `# a comment
10.0.0.0/8

  192.0.2.0/24   # trailing comment
192.0.2.77/24
2001:db8::/32
0.0.0.0/0
198.51.100.1/32
`

var prefixWant = []netip.Prefix{
	netip.MustParsePrefix("10.0.0.0/8"),
	netip.MustParsePrefix("192.0.2.0/24"),
	netip.MustParsePrefix("192.0.2.0/24"),
	netip.MustParsePrefix("2001:db8::/32"),
	netip.MustParsePrefix("0.0.0.0/0"),
	netip.MustParsePrefix("198.51.100.1/32"),
}

func gz(t testing.TB, s string) []byte {
	var b bytes.Buffer
	w := gzip.NewWriter(&b)
	w.Write([]byte(s))
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestReadPrefixes(t *testing.T) {
	for name, in := range map[string][]byte{"plain": []byte(prefixText), "gzip": gz(t, prefixText)} {
		got, err := ReadPrefixes(bytes.NewReader(in))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if !slices.Equal(got, prefixWant) {
			t.Errorf("%s: got %v, want %v", name, got, prefixWant)
		}
	}
	for _, in := range []string{"", "\n\n# only comments\n", "\x1f"} {
		if got, err := ReadPrefixes(strings.NewReader(in)); len(got) != 0 || (err != nil) != (in == "\x1f") {
			t.Errorf("ReadPrefixes(%q) = %v, %v", in, got, err)
		}
	}
}

func TestReadPrefixesErrors(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"10.0.0.0/8\n# c\n10.0.0.0/33\n", `line 3: "10.0.0.0/33" is not a CIDR prefix`},
		{"10.0.0.0\n", `line 1: "10.0.0.0" is not a CIDR prefix`},
		{"\n\nfoo bar # x\n", `line 3: "foo bar" is not a CIDR prefix`},
		{"1.2.3.4/24\n300.1.1.1/8\n", `line 2: "300.1.1.1/8"`},
	} {
		for name, in := range map[string][]byte{"plain": []byte(tc.in), "gzip": gz(t, tc.in)} {
			_, err := ReadPrefixes(bytes.NewReader(in))
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "want one prefix per line") {
				t.Errorf("%s %q: error %v, want one containing %q", name, tc.in, err, tc.want)
			}
		}
	}
	if _, err := ReadPrefixes(bytes.NewReader(gz(t, prefixText)[:20])); err == nil {
		t.Error("truncated gzip: no error")
	}
	// A gzip file cut anywhere in a long list is reported as cut, never as
	// a bad prefix (the cut line's start).
	var long strings.Builder
	for i := range 20000 {
		fmt.Fprintf(&long, "%d.%d.%d.0/24\n", 1+i>>16&0xff, i>>8&0xff, i&0xff)
	}
	z := gz(t, long.String())
	for _, cut := range []int{len(z) / 3, len(z) / 2, len(z) - 9, len(z) - 1} {
		_, err := ReadPrefixes(bytes.NewReader(z[:cut]))
		if err == nil || !strings.Contains(err.Error(), "bad gzip data after line") || !strings.Contains(err.Error(), "truncated or corrupt") {
			t.Errorf("gzip cut at %d of %d bytes: %v, want bad gzip data", cut, len(z), err)
		}
	}
}

func FuzzReadPrefixes(f *testing.F) {
	f.Add([]byte(prefixText))
	f.Add(gz(f, prefixText))
	f.Add([]byte("10.0.0.0/33\n"))
	f.Fuzz(func(t *testing.T, in []byte) {
		ps, err := ReadPrefixes(bytes.NewReader(in))
		if err != nil {
			return
		}
		tab := NewTable()
		for _, p := range ps {
			if p != p.Masked() {
				t.Fatalf("%v not masked", p)
			}
			if p.Addr().Is4() {
				if err := tab.Add(p, NextHopOf(p, 100)); err != nil {
					t.Fatal(err)
				}
			}
		}
	})
}

func TestNextHopOf(t *testing.T) {
	for _, s := range []string{"10.0.0.0/8", "192.0.2.1/32", "0.0.0.0/0", "2001:db8::/32"} {
		p := netip.MustParsePrefix(s)
		h := fnv.New32a()
		h.Write(p.Addr().AsSlice())
		h.Write([]byte{byte(p.Bits())})
		for _, n := range []int{1, 7, 1024, MaxNextHop} {
			want := uint16(1 + h.Sum32()%uint32(n))
			if got := NextHopOf(p, n); got != want {
				t.Errorf("NextHopOf(%v, %d) = %d, want %d", p, n, got, want)
			}
		}
	}
	// Unmasked input hashes as its masked prefix.
	if NextHopOf(netip.MustParsePrefix("10.1.2.3/8"), 1000) != NextHopOf(netip.MustParsePrefix("10.0.0.0/8"), 1000) {
		t.Error("NextHopOf depends on host bits")
	}
}
