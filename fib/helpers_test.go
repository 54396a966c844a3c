package fib

import (
	"bytes"
	"math/rand/v2"
	"net/netip"
	"sync"
	"testing"

	"github.com/softnet/softnet"
)

// Counts in testdata/bgp-prefixes.txt.gz (see testdata/README.md).
const (
	fullV4 = 901899
	fullV6 = 160147
	// nextHops is the number of distinct next hops tests and benchmarks spread
	// the full table over: a large router's adjacency count.
	nextHops = 1024
)

var full struct {
	once sync.Once
	v4   []netip.Prefix
	v6   int
	v6p  []netip.Prefix
	err  error
}

// fullTable returns the IPv4 prefixes of the embedded full table.
func fullTable(tb testing.TB) []netip.Prefix {
	tb.Helper()
	full.once.Do(func() {
		ps, err := ReadPrefixes(bytes.NewReader(softnet.FullTableGz))
		if err != nil {
			full.err = err
			return
		}
		for _, p := range ps {
			if p.Addr().Is4() {
				full.v4 = append(full.v4, p)
			} else {
				full.v6++
				full.v6p = append(full.v6p, p)
			}
		}
	})
	if full.err != nil {
		tb.Fatal(full.err)
	}
	return full.v4
}

// fullTable6 returns the IPv6 prefixes of the embedded full table.
func fullTable6(tb testing.TB) []netip.Prefix {
	tb.Helper()
	fullTable(tb)
	return full.v6p
}

func u32(a netip.Addr) uint32 {
	b := a.As4()
	return uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
}

func addrOf(a uint32) netip.Addr {
	return netip.AddrFrom4([4]byte{byte(a >> 24), byte(a >> 16), byte(a >> 8), byte(a)})
}

func pfx(a uint32, bits int) netip.Prefix {
	return netip.PrefixFrom(addrOf(a&mask(bits)), bits)
}

// hostIn returns a random address inside p.
func hostIn(rng *rand.Rand, p netip.Prefix) uint32 {
	return u32(p.Addr()) | rng.Uint32()&^mask(p.Bits())
}

// destinations returns n addresses drawn from ps: a random prefix, random
// host bits.
func destinations(rng *rand.Rand, ps []netip.Prefix, n int) []uint32 {
	d := make([]uint32, n)
	for i := range d {
		d[i] = hostIn(rng, ps[rng.IntN(len(ps))])
	}
	return d
}

// ref is the naive reference model: one map per prefix length, searched from
// /32 down.
type ref [33]map[uint32]uint16

func newRef() *ref {
	var r ref
	for i := range r {
		r[i] = make(map[uint32]uint16)
	}
	return &r
}

func (r *ref) lookup(a uint32) uint16 {
	for l := 32; l >= 0; l-- {
		if len(r[l]) == 0 {
			continue
		}
		if nh, ok := r[l][a&mask(l)]; ok {
			return nh
		}
	}
	return 0
}

func (r *ref) len() int {
	n := 0
	for _, m := range r {
		n += len(m)
	}
	return n
}
