// Package blocklist holds the early-drop stage's address tables: sets of
// IPv4 and IPv6 addresses and prefixes, millions of them, built once and
// then read by the workers without locks (a Table never changes after
// Build; a change builds a new one, swapped in atomically by its holder).
//
// Data structures, picked for the size (see TestLoad6M and
// BenchmarkLookup, which measures them against bart):
//
//   - IPv4 prefixes of /24 or shorter: a direct-indexed verdict array of
//     2^24 bytes (16 MiB), indexed by the top 24 bits of the address: one
//     byte load decides every packet whose /24 holds no longer entry.
//   - IPv4 hosts and prefixes longer than /24 (expanded to their hosts,
//     128 at most each): an open-addressing hash of 32-bit keys, probed
//     only when the verdict byte says so. A list with no IPv4 prefix of
//     /24 or shorter (hosts only, an attackers' list) has no verdict
//     array: the hash alone decides, one memory access a lookup.
//   - IPv6: one open-addressing hash per prefix length present (a /128
//     is a host), probed from the most populated length; a list has few
//     distinct lengths in practice.
//
// The verdict array and the host hash are allocated outside the Go heap
// on transparent huge pages (internal/hugepage; a 6M-host list's hash is
// 64 MiB read at random, which with 4 KiB pages would also miss the TLB at
// nearly every lookup), and unmapped when the Table is garbage.
// Lookup4Batch, the node's, issues the loads of a whole vector before it
// uses any.
//
// Lookups allocate nothing and take no lock.
package blocklist

import (
	"encoding/binary"
	"fmt"
	"math/bits"
	"net/netip"
	"runtime"
	"unsafe"

	"github.com/softnet/softnet/internal/hugepage"
	"slices"
)

// Verdict bytes of the IPv4 direct array.
const (
	v4Miss  = 0 // nothing in this /24
	v4Hit   = 1 // a prefix of /24 or shorter covers this /24
	v4Hosts = 2 // consult the host hash
)

// MaxExpand bounds the prefixes longer than /24 (expanded to hosts): a
// /25 is 128 hosts.
const maxV4Host = 24

// Table is an immutable set of IPv4 and IPv6 prefixes (a host is a /32 or
// a /128).
type Table struct {
	v4  []uint64 // sorted, unique: addr<<8 | bits
	v6  []Prefix6
	dir []uint8 // 1<<24 verdicts, nil without IPv4 prefixes of /24 or shorter
	h4  hash4
	// hostsOnly: the IPv4 entries are all longer than /24 (hosts, the
	// usual attackers' list): no verdict array, the host hash alone
	// decides, one memory access a lookup instead of two.
	hostsOnly bool
	l6        []hash6 // one per prefix length present, most populated first
}

// Prefix6 is an IPv6 prefix in two words (masked).
type Prefix6 struct {
	Hi, Lo uint64
	Bits   uint8
}

// Len is the number of entries (unique prefixes and hosts, both families).
func (t *Table) Len() int {
	if t == nil {
		return 0
	}
	return len(t.v4) + len(t.v6)
}

// Len4 and Len6 are the IPv4 and IPv6 entries.
func (t *Table) Len4() int { return len(t.v4) }
func (t *Table) Len6() int { return len(t.v6) }

// Bytes estimates the memory the lookup structures hold.
func (t *Table) Bytes() int {
	n := len(t.dir) + 4*len(t.h4.slot) + 8*len(t.v4) + 24*len(t.v6)
	for i := range t.l6 {
		n += 16 * len(t.l6[i].slot)
	}
	return n
}

// Entries are a Table's entries, appended to, or removed from, by
// Add/Del and turned into a Table by Build.
type Entries struct {
	V4 []uint64 // addr<<8 | bits, any order, duplicates allowed
	V6 []Prefix6
	// Masked counts the prefixes Parse read with host bits set
	// (10.1.2.3/8), taken masked (10.0.0.0/8), as a list file of millions
	// of lines is taken; FirstMasked quotes the first, "FILE:LINE:
	// 10.1.2.3/8 as 10.0.0.0/8". An entry typed by hand is refused
	// instead (CheckEntry).
	Masked      int
	FirstMasked string
}

// MaskedNote says how many entries the file's load masked and quotes the
// first; "" when none.
func (e Entries) MaskedNote() string {
	if e.Masked == 0 {
		return ""
	}
	n := "entries"
	if e.Masked == 1 {
		n = "entry"
	}
	return fmt.Sprintf("%d %s with host bits set taken masked (the first: %s)", e.Masked, n, e.FirstMasked)
}

// Add adds p, masked (an IPv4-mapped IPv6 prefix is IPv4).
func (e *Entries) Add(p netip.Prefix) {
	p = norm(p)
	if p.Addr().Is4() {
		e.V4 = append(e.V4, key4(p))
		return
	}
	e.V6 = append(e.V6, key6(p))
}

// Remove deletes from e every entry of rm (as Add stored them), in time
// linear in both: a del of 60,000 entries from a 3,000,000-entry list
// looked each one up in rm (minutes of CPU under the list's lock).
func (e *Entries) Remove(rm Entries) {
	if len(rm.V4) > 0 {
		del := make(map[uint64]struct{}, len(rm.V4))
		for _, k := range rm.V4 {
			del[k] = struct{}{}
		}
		e.V4 = slices.DeleteFunc(e.V4, func(k uint64) bool { _, ok := del[k]; return ok })
	}
	if len(rm.V6) > 0 {
		del := make(map[Prefix6]struct{}, len(rm.V6))
		for _, k := range rm.V6 {
			del[k] = struct{}{}
		}
		e.V6 = slices.DeleteFunc(e.V6, func(k Prefix6) bool { _, ok := del[k]; return ok })
	}
}

func norm(p netip.Prefix) netip.Prefix {
	a := p.Addr()
	if a.Is4In6() && p.Bits() >= 96 {
		p = netip.PrefixFrom(a.Unmap(), p.Bits()-96)
	}
	return p.Masked()
}

func key4(p netip.Prefix) uint64 {
	b := p.Addr().As4()
	return uint64(binary.BigEndian.Uint32(b[:]))<<8 | uint64(p.Bits())
}

func key6(p netip.Prefix) Prefix6 {
	b := p.Addr().As16()
	return Prefix6{binary.BigEndian.Uint64(b[:8]), binary.BigEndian.Uint64(b[8:]), uint8(p.Bits())}
}

// Prefixes returns t's entries as prefixes, IPv4 first, in order.
func (t *Table) Prefixes() []netip.Prefix {
	out := make([]netip.Prefix, 0, t.Len())
	for _, k := range t.v4 {
		var b [4]byte
		binary.BigEndian.PutUint32(b[:], uint32(k>>8))
		out = append(out, netip.PrefixFrom(netip.AddrFrom4(b), int(k&0xff)))
	}
	for _, p := range t.v6 {
		var b [16]byte
		binary.BigEndian.PutUint64(b[:8], p.Hi)
		binary.BigEndian.PutUint64(b[8:], p.Lo)
		out = append(out, netip.PrefixFrom(netip.AddrFrom16(b), int(p.Bits)))
	}
	return out
}

// Entries returns a copy of t's entries, to change and Build again.
func (t *Table) Entries() Entries {
	if t == nil {
		return Entries{}
	}
	return Entries{V4: slices.Clone(t.v4), V6: slices.Clone(t.v6)}
}

// Contains reports whether the prefix p itself is an entry of t.
func (t *Table) Contains(p netip.Prefix) bool {
	p = norm(p)
	if p.Addr().Is4() {
		_, ok := slices.BinarySearch(t.v4, key4(p))
		return ok
	}
	_, ok := slices.BinarySearchFunc(t.v6, key6(p), cmp6)
	return ok
}

func cmp6(a, b Prefix6) int {
	switch {
	case a.Hi != b.Hi:
		return cmpU(a.Hi, b.Hi)
	case a.Lo != b.Lo:
		return cmpU(a.Lo, b.Lo)
	}
	return int(a.Bits) - int(b.Bits)
}

func cmpU(a, b uint64) int {
	if a < b {
		return -1
	}
	return 1
}

// Build makes the Table of e's entries; it takes ownership of e's slices
// (sorts and deduplicates them in place).
func Build(e Entries) *Table {
	t := &Table{}
	slices.Sort(e.V4)
	t.v4 = slices.Compact(e.V4)
	slices.SortFunc(e.V6, cmp6)
	t.v6 = slices.Compact(e.V6)
	if len(t.v4) > 0 {
		t.build4()
	}
	if len(t.v6) > 0 {
		t.build6()
	}
	return t
}

func (t *Table) build4() {
	hosts, short := 0, 0
	for _, k := range t.v4 {
		if b := int(k & 0xff); b <= maxV4Host {
			short++
		} else {
			hosts += 1 << (32 - b)
		}
	}
	if short == 0 {
		t.hostsOnly = true
		t.h4 = newHash4(t, hosts)
		for _, k := range t.v4 {
			a, b := uint32(k>>8), int(k&0xff)
			for i := uint32(0); i < 1<<(32-b); i++ {
				t.h4.insert(a + i)
			}
		}
		return
	}
	t.dir = allocT[uint8](t, 1<<24)
	hosts = 0
	for _, k := range t.v4 {
		a, b := uint32(k>>8), int(k&0xff)
		if b <= maxV4Host {
			lo := a >> 8
			n := uint32(1) << (24 - b)
			clear8(t.dir[lo:uint64(lo)+uint64(n)], v4Hit)
		} else {
			hosts += 1 << (32 - b)
		}
	}
	t.h4 = newHash4(t, hosts)
	for _, k := range t.v4 {
		a, b := uint32(k>>8), int(k&0xff)
		if b <= maxV4Host || t.dir[a>>8] == v4Hit {
			continue
		}
		t.dir[a>>8] = v4Hosts
		n := uint32(1) << (32 - b)
		for i := uint32(0); i < n; i++ {
			t.h4.insert(a + i)
		}
	}
}

func clear8(s []uint8, v uint8) {
	for i := range s {
		s[i] = v
	}
}

func (t *Table) build6() {
	var count [129]int
	for _, p := range t.v6 {
		count[p.Bits]++
	}
	var lens []int
	for b, n := range count {
		if n > 0 {
			lens = append(lens, b)
		}
	}
	slices.SortStableFunc(lens, func(a, b int) int { return count[b] - count[a] })
	idx := map[int]int{}
	for i, b := range lens {
		idx[b] = i
		t.l6 = append(t.l6, newHash6(count[b], uint8(b)))
	}
	for _, p := range t.v6 {
		t.l6[idx[int(p.Bits)]].insert(p.Hi, p.Lo)
	}
}

// Lookup4 reports whether the IPv4 address a (host order) is in t.
func (t *Table) Lookup4(a uint32) bool {
	if t.hostsOnly {
		h := t.h4.has(a)
		runtime.KeepAlive(t)
		return h
	}
	if t.dir == nil {
		return false
	}
	h := false
	switch t.dir[a>>8] {
	case v4Hit:
		h = true
	case v4Hosts:
		h = t.h4.has(a)
	}
	runtime.KeepAlive(t) // its arrays are unmapped when t is garbage
	return h
}

// Lookup6 reports whether the IPv6 address hi:lo is in t.
func (t *Table) Lookup6(hi, lo uint64) bool {
	for i := range t.l6 {
		h := &t.l6[i]
		if h.has(hi&h.mhi, lo&h.mlo) {
			return true
		}
	}
	return false
}

// Lookup reports whether a is in t (for the control plane and tests).
func (t *Table) Lookup(a netip.Addr) bool {
	a = a.Unmap()
	if a.Is4() {
		b := a.As4()
		return t.Lookup4(binary.BigEndian.Uint32(b[:]))
	}
	b := a.As16()
	return t.Lookup6(binary.BigEndian.Uint64(b[:8]), binary.BigEndian.Uint64(b[8:]))
}

// hash4 is an open-addressing set of uint32 with linear probing; slot
// value 0 is empty, so the address 0.0.0.0 is kept aside.
type hash4 struct {
	slot  []uint32
	shift uint8
	zero  bool
}

func size(n int) (int, uint8) {
	s := 16
	for s < 2*n {
		s <<= 1
	}
	return s, uint8(64 - bits.TrailingZeros(uint(s)))
}

func newHash4(t *Table, n int) hash4 {
	s, sh := size(n)
	return hash4{slot: allocT[uint32](t, s), shift: sh}
}

// allocT allocates the n-element array of a table t, in memory of its own
// advised to use huge pages (a 6M-host list's hash is 64 MiB read at random:
// with 4 KiB pages nearly every lookup would also miss the TLB). The
// memory is unmapped when t is garbage: the lookups keep t alive
// (runtime.KeepAlive) while they read it.
func allocT[T any](t *Table, n int) []T {
	var zero T
	if n*int(unsafe.Sizeof(zero)) < 4<<20 {
		return make([]T, n) // small: the heap's
	}
	s, free := hugepage.AllocFree[T](n)
	if free != nil {
		runtime.AddCleanup(t, func(f func()) { f() }, free)
	}
	return s
}

func (h *hash4) at(a uint32) uint64 { return (uint64(a) * 0x9E3779B97F4A7C15) >> h.shift }

func (h *hash4) insert(a uint32) {
	if a == 0 {
		h.zero = true
		return
	}
	m := uint64(len(h.slot) - 1)
	for i := h.at(a); ; i = (i + 1) & m {
		switch h.slot[i] {
		case 0:
			h.slot[i] = a
			return
		case a:
			return
		}
	}
}

func (h *hash4) has(a uint32) bool {
	if a == 0 {
		return h.zero
	}
	m := uint64(len(h.slot) - 1)
	for i := h.at(a); ; i = (i + 1) & m {
		switch h.slot[i] {
		case a:
			return true
		case 0:
			return false
		}
	}
}

// hash6 is the set of the IPv6 prefixes of one length, masked; the zero
// key (::/len) is kept aside.
type hash6 struct {
	slot     []slot6
	shift    uint8
	zero     bool
	mhi, mlo uint64
}

type slot6 struct{ hi, lo uint64 }

func newHash6(n int, b uint8) hash6 {
	s, sh := size(n)
	h := hash6{slot: make([]slot6, s), shift: sh}
	switch {
	case b == 0:
	case b <= 64:
		h.mhi = ^uint64(0) << (64 - b)
	default:
		h.mhi = ^uint64(0)
		h.mlo = ^uint64(0) << (128 - b)
	}
	return h
}

func (h *hash6) at(hi, lo uint64) uint64 {
	x := hi*0x9E3779B97F4A7C15 ^ bits.RotateLeft64(lo*0xC2B2AE3D27D4EB4F, 31)
	return (x * 0x9E3779B97F4A7C15) >> h.shift
}

func (h *hash6) insert(hi, lo uint64) {
	if hi == 0 && lo == 0 {
		h.zero = true
		return
	}
	m := uint64(len(h.slot) - 1)
	for i := h.at(hi, lo); ; i = (i + 1) & m {
		s := &h.slot[i]
		if s.hi == 0 && s.lo == 0 {
			s.hi, s.lo = hi, lo
			return
		}
		if s.hi == hi && s.lo == lo {
			return
		}
	}
}

func (h *hash6) has(hi, lo uint64) bool {
	if hi == 0 && lo == 0 {
		return h.zero
	}
	m := uint64(len(h.slot) - 1)
	for i := h.at(hi, lo); ; i = (i + 1) & m {
		s := &h.slot[i]
		if s.hi == hi && s.lo == lo {
			return true
		}
		if s.hi == 0 && s.lo == 0 {
			return false
		}
	}
}

// String describes t in one line.
func (t *Table) String() string {
	return fmt.Sprintf("%d IPv4 and %d IPv6 entries, %d MiB", t.Len4(), t.Len6(), t.Bytes()>>20)
}

// Lookup4Batch sets hit[i] to whether a[i] is in t, for a vector of
// addresses. The verdict byte and the first host-hash slot of every
// address are loaded in one pass, before any is used: the cache and TLB
// misses of a large table (up to two an address, the 16 MiB verdict array
// and the hash) are all in flight together instead of following one
// another. The verdict itself is branch-free for the common cases (miss,
// prefix hit, host found in its first slot, slot empty); only a collision
// chain walks on. It returns the number of hits.
func (t *Table) Lookup4Batch(a []uint32, hit []bool) int {
	hit = hit[:len(a)]
	if t.hostsOnly {
		return t.hosts4Batch(a, hit)
	}
	if t.dir == nil {
		clear(hit)
		return 0
	}
	dir := t.dir[:1<<24]
	slot := t.h4.slot
	m := uint64(len(slot) - 1)
	sh := t.h4.shift & 63
	var v [256]uint8
	var first [256]uint32
	hits := 0
	for len(a) > 0 {
		n := min(len(a), len(v))
		for i, x := range a[:n] {
			v[i] = dir[x>>8]
			first[i] = slot[((uint64(x)*0x9E3779B97F4A7C15)>>sh)&m]
		}
		for i, x := range a[:n] {
			d := v[i]
			f := first[i]
			// d: 0 miss, 1 hit, 2 hosts: a hit when the first slot holds
			// x (x != 0); a miss when it is empty; else walk the chain
			// (and 0.0.0.0, kept aside, asks has).
			h := d == v4Hit || (d == v4Hosts && f == x && x != 0)
			if d == v4Hosts && (x == 0 || (f != x && f != 0)) {
				h = t.h4.has(x)
			}
			hit[i] = h
			if h {
				hits++
			}
		}
		a, hit = a[n:], hit[n:]
	}
	runtime.KeepAlive(t)
	return hits
}

// hosts4Batch is Lookup4Batch for a table of IPv4 hosts only: one pass
// loads the first hash slot of every address, the next decides (found;
// an empty slot: absent; a collision chain, or 0.0.0.0, asks has).
func (t *Table) hosts4Batch(a []uint32, hit []bool) int {
	slot := t.h4.slot
	m := uint64(len(slot) - 1)
	sh := t.h4.shift & 63
	var first [256]uint32
	hits := 0
	for len(a) > 0 {
		n := min(len(a), len(first))
		for i, x := range a[:n] {
			first[i] = slot[((uint64(x)*0x9E3779B97F4A7C15)>>sh)&m]
		}
		for i, x := range a[:n] {
			f := first[i]
			h := f == x && x != 0
			if x == 0 || (f != x && f != 0) {
				h = t.h4.has(x)
			}
			hit[i] = h
			if h {
				hits++
			}
		}
		a, hit = a[n:], hit[n:]
	}
	runtime.KeepAlive(t)
	return hits
}
