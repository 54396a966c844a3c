package fib

import (
	"net/netip"
	"testing"

	"github.com/gaissmai/bart"
)

// fuzzOp6 is the size of one operation in a FuzzTable6 input: kind (bit 0
// clear: add, set: delete; bit 1: publish a snapshot after it), prefix
// length (mod 129), 4 address bytes x0..x3 and the next hop (mod
// MaxNextHop, plus 1). The address repeats x0..x3 over its 16 bytes, so a
// few distinct x give nested prefixes at every length.
const fuzzOp6 = 7

// fuzzMaxOps6 bounds the operations of one input.
const fuzzMaxOps6 = 200

func fuzzPrefix6(op []byte) netip.Prefix {
	var a [16]byte
	for i := range a {
		a[i] = op[2+i%4]
	}
	p, _ := netip.AddrFrom16(a).Prefix(int(op[1]) % 129)
	return p
}

// FuzzTable6 applies adds and deletes to a Table6 and to bart, and checks
// that every snapshot answers as bart does at the edges of every prefix
// touched, that a snapshot taken midway never changes, and that deleting
// every route leaves no node behind.
func FuzzTable6(f *testing.F) {
	f.Add([]byte{0, 0, 0, 0, 0, 0, 1}) // ::/0
	f.Add([]byte{
		2, 128, 0x20, 0x01, 0x0d, 0xb8, 2, // a /128, published
		0, 32, 0x20, 0x01, 0x0d, 0xb8, 3, // its /32
		2, 0, 0, 0, 0, 0, 4, // the default route
		1, 128, 0x20, 0x01, 0x0d, 0xb8, 0, // delete the /128
		3, 32, 0x20, 0x01, 0x0d, 0xb8, 0, // delete the /32, published
	})
	f.Add([]byte{
		0, 48, 0x20, 0x01, 0x0d, 0xb8, 5,
		0, 20, 0x20, 0x01, 0xff, 0xff, 6,
		2, 57, 0x20, 0x01, 0x0d, 0xb8, 7,
		1, 48, 0x20, 0x01, 0x0d, 0xb8, 0,
		2, 127, 0xff, 0xff, 0xff, 0xff, 8,
	})
	f.Fuzz(func(t *testing.T, data []byte) {
		tab := NewTable6()
		ref := new(bart.Table[uint16])
		var touched []netip.Prefix
		var mid *Snapshot6
		var midAddrs [][16]byte
		var midWant []uint16
		probe := func(s *Snapshot6) {
			for _, p := range touched {
				first, last := p.Masked().Addr(), lastOf(p)
				for _, a := range []netip.Addr{first, first.Prev(), last, last.Next()} {
					if !a.IsValid() {
						continue
					}
					want, _ := ref.Lookup(a)
					if got := s.Lookup(a.As16()); got != want {
						t.Fatalf("lookup %v = %d, want %d", a, got, want)
					}
				}
			}
		}
		nops := min(len(data)/fuzzOp6, fuzzMaxOps6)
		for k := range nops {
			op := data[k*fuzzOp6 : (k+1)*fuzzOp6]
			p := fuzzPrefix6(op)
			touched = append(touched, p)
			if op[0]&1 == 0 {
				nh := uint16(1 + int(op[6])%MaxNextHop)
				if err := tab.Add(p, nh); err != nil {
					t.Fatalf("add %v: %v", p, err)
				}
				ref.Insert(p, nh)
			} else {
				_, ok := ref.Get(p)
				if err := tab.Delete(p); (err == nil) != ok {
					t.Fatalf("delete %v: %v, route present: %v", p, err, ok)
				}
				ref.Delete(p)
			}
			if op[0]&2 != 0 {
				s := tab.Snapshot()
				probe(s)
				if mid == nil && k >= nops/2 {
					mid = s
					for _, q := range touched {
						midAddrs = append(midAddrs, q.Addr().As16(), lastOf(q).As16())
					}
					midWant = make([]uint16, len(midAddrs))
					s.LookupBatch(midAddrs, midWant)
				}
			}
		}
		s := tab.Snapshot()
		probe(s)
		if tab.Len() != ref.Size() || s.Routes() != ref.Size() {
			t.Fatalf("Len %d, Routes %d, want %d", tab.Len(), s.Routes(), ref.Size())
		}
		for _, p := range touched {
			if _, ok := ref.Get(p); ok {
				if err := tab.Delete(p); err != nil {
					t.Fatalf("delete %v: %v", p, err)
				}
				ref.Delete(p)
			}
		}
		if tab.Len() != 0 || tab.Nodes() != 0 || tab.Snapshot().Nodes() != 0 {
			t.Fatalf("after deleting every route: %d routes, %d nodes", tab.Len(), tab.Nodes())
		}
		for i, a := range midAddrs {
			if got := mid.Lookup(a); got != midWant[i] {
				t.Fatalf("snapshot changed after publication: lookup %v = %d, was %d", netip.AddrFrom16(a), got, midWant[i])
			}
		}
	})
}
