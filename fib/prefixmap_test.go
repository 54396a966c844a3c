package fib

import (
	"math/rand/v2"
	"net/netip"
	"runtime"
	"testing"
	"unsafe"
)

// TestPrefixMapDifferential drives a PrefixMap and a Go map with the same
// random upserts, gets and deletes (keys from a small space, so that runs
// form, wrap around the table's end and are shifted back on delete, and
// the table grows through several sizes) and requires the same answers
// and contents.
func TestPrefixMapDifferential(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	var m PrefixMap[int32]
	ref := map[PrefixKey]int32{}
	key := func() PrefixKey {
		if r.IntN(2) == 0 {
			return KeyOf(netip.PrefixFrom(netip.AddrFrom4([4]byte{10, byte(r.IntN(8)), byte(r.IntN(256)), 0}), 24))
		}
		return KeyOf(netip.PrefixFrom(netip.AddrFrom16([16]byte{0x20, 1, 0xd, 0xb8, byte(r.IntN(8)), byte(r.IntN(64))}), 48))
	}
	for step := range 200000 {
		k := key()
		switch op := r.IntN(10); {
		case op < 5:
			v := int32(r.Uint32())
			p, existed := m.Upsert(k)
			if _, ok := ref[k]; ok != existed {
				t.Fatalf("step %d: Upsert(%v) existed %v, want %v", step, k.Prefix(), existed, ok)
			}
			if existed && *p != ref[k] {
				t.Fatalf("step %d: Upsert(%v) holds %d, want %d", step, k.Prefix(), *p, ref[k])
			}
			*p, ref[k] = v, v
		case op < 8:
			v, ok := m.Delete(k)
			w, wok := ref[k]
			if ok != wok || v != w {
				t.Fatalf("step %d: Delete(%v) = %d, %v; want %d, %v", step, k.Prefix(), v, ok, w, wok)
			}
			delete(ref, k)
		default:
			v, ok := m.Get(k)
			w, wok := ref[k]
			if ok != wok || v != w {
				t.Fatalf("step %d: Get(%v) = %d, %v; want %d, %v", step, k.Prefix(), v, ok, w, wok)
			}
		}
		if m.Len() != len(ref) {
			t.Fatalf("step %d: Len %d, want %d", step, m.Len(), len(ref))
		}
		if step%20000 == 0 || step == 199999 {
			n := 0
			for k, v := range m.All() {
				if w, ok := ref[k]; !ok || v != w {
					t.Fatalf("step %d: All yields %v=%d, the map has %d (%v)", step, k.Prefix(), v, w, ok)
				}
				n++
			}
			if n != len(ref) {
				t.Fatalf("step %d: All yields %d keys, want %d", step, n, len(ref))
			}
		}
	}
	m.Clear()
	if _, ok := m.Get(key()); ok || m.Len() != 0 {
		t.Fatalf("after Clear: Len %d", m.Len())
	}
}

// TestPrefixMapSlot: a key and a 4-byte value take 24 bytes, and a hit
// allocates nothing.
func TestPrefixMapSlot(t *testing.T) {
	var m PrefixMap[int32]
	m.Set(KeyOf(netip.MustParsePrefix("10.0.0.0/8")), 1)
	if s := unsafe.Sizeof(m.slots[0]); s != 24 {
		t.Errorf("PrefixMap[int32] slot is %d bytes, want 24", s)
	}
	if n := testing.AllocsPerRun(100, func() {
		p, _ := m.Upsert(KeyOf(netip.MustParsePrefix("10.0.0.0/8")))
		*p++
		m.Prefetch(KeyOf(netip.MustParsePrefix("10.1.0.0/16")))
		m.Get(KeyOf(netip.MustParsePrefix("10.1.0.0/16")))
	}); n != 0 {
		t.Errorf("%v allocations to upsert, prefetch and get a present key, want 0", n)
	}
}

// TestPrefixMapLarge grows a table past hugeSlots (its slots then a
// mapping of their own, unmapped as it grows again) and checks every key.
func TestPrefixMapLarge(t *testing.T) {
	var m PrefixMap[int32]
	const n = 300000
	k := func(i int) PrefixKey {
		return KeyOf(netip.PrefixFrom(netip.AddrFrom4([4]byte{byte(i >> 16), byte(i >> 8), byte(i), 0}), 24+i%9))
	}
	for i := range n {
		m.Set(k(i), int32(i))
	}
	if size := uintptr(len(m.slots)) * unsafe.Sizeof(m.slots[0]); size < hugeSlots || m.Len() != n {
		t.Fatalf("%d keys in %d bytes of slots, want %d in at least %d", m.Len(), size, n, hugeSlots)
	}
	for i := range n {
		if i%2 == 0 {
			if v, ok := m.Delete(k(i)); !ok || v != int32(i) {
				t.Fatalf("Delete key %d: %d, %v", i, v, ok)
			}
		}
	}
	for i := range n {
		v, ok := m.Get(k(i))
		if want := i%2 == 1; ok != want || (ok && v != int32(i)) {
			t.Fatalf("key %d: %d, %v; want present %v", i, v, ok, want)
		}
	}
}

// TestPrefixMapPointersStayOnHeap: a table whose values hold pointers
// keeps its slots on the Go heap however large it grows (the collector
// does not scan a mapping of its own, so the pointers' targets would be
// freed), and its values survive a collection.
func TestPrefixMapPointersStayOnHeap(t *testing.T) {
	var m PrefixMap[*int]
	const n = 200000
	k := func(i int) PrefixKey {
		return KeyOf(netip.PrefixFrom(netip.AddrFrom4([4]byte{byte(i >> 16), byte(i >> 8), byte(i), 0}), 24))
	}
	for i := range n {
		v := i
		m.Set(k(i), &v)
	}
	if size := uintptr(len(m.slots)) * unsafe.Sizeof(m.slots[0]); size < hugeSlots {
		t.Fatalf("%d bytes of slots, want at least %d for the test to mean anything", size, hugeSlots)
	}
	if m.mem != nil {
		t.Fatal("a table of pointers was given memory outside the Go heap")
	}
	runtime.GC()
	for i := range n {
		if v, ok := m.Get(k(i)); !ok || *v != i {
			t.Fatalf("key %d: %v, %v", i, v, ok)
		}
	}
}
