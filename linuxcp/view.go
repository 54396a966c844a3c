package linuxcp

import (
	"net/netip"

	"github.com/softnet/softnet/control"
	"github.com/softnet/softnet/fib"
)

// The mirror's view of each prefix (the kernel's routes to it, and what
// softnet was given for it) is one entry in a chunked slab, found through
// one table from a compact key (pkey) to the entry's index, a
// fib.PrefixMap: a route costs one probe however many times a batch
// looks at the prefix (Upsert finds or inserts), note prefetches the
// slots of the events ahead, the table holds no pointers (the garbage
// collector does not scan it) and its slots are 24 bytes, on huge pages
// once large (a map keyed by netip.Prefix with the routes in it moved
// 150-byte slots each time it grew, and there were two such maps and a
// third for the batch's prefixes; a Go map from pkey took a lookup, then
// an assignment, for each new prefix). A batch's prefixes are a list of
// indexes, an entry stamped with the batch not listed twice.

// pkey is a prefix as a map key (pointer-free: see fib.PrefixKey).
type pkey = fib.PrefixKey

func pkeyOf(p netip.Prefix) pkey { return fib.KeyOf(p) }

// pent is the mirror's state of one prefix.
type pent struct {
	p  netip.Prefix
	pr prefixRoutes // the kernel's routes to p (kern)
	// What softnet was given for p (given): the route's protocol and
	// next hops.
	proto string
	hops  []control.NextHop
	kern  bool
	given bool
	live  bool   // in use (else on the free list)
	stamp uint32 // the last batch that touched it
}

// chunkBits sizes the slab's chunks (4096 entries): the slab grows a
// chunk at a time, never copied.
const chunkBits = 12

// view is the mirror's per-prefix state.
type view struct {
	idx    fib.PrefixMap[int32]
	chunks [][]pent
	n      int32   // entries made (live or free)
	free   []int32 // entries to reuse
	given  int     // entries given to softnet
	stamp  uint32  // the current batch
	tl     []int32 // the current batch's touched entries
}

func newView() view { return view{} }

func (v *view) at(i int32) *pent { return &v.chunks[i>>chunkBits][i&(1<<chunkBits-1)] }

// find returns p's entry, if it has one.
func (v *view) find(p netip.Prefix) (int32, *pent) {
	i, ok := v.idx.Get(pkeyOf(p))
	if !ok {
		return -1, nil
	}
	return i, v.at(i)
}

// get returns p's entry, made if new.
func (v *view) get(p netip.Prefix) (int32, *pent) {
	slot, ok := v.idx.Upsert(pkeyOf(p))
	if ok {
		return *slot, v.at(*slot)
	}
	var i int32
	if n := len(v.free); n > 0 {
		i, v.free = v.free[n-1], v.free[:n-1]
	} else {
		if int(v.n>>chunkBits) == len(v.chunks) {
			v.chunks = append(v.chunks, make([]pent, 1<<chunkBits))
		}
		i = v.n
		v.n++
	}
	*slot = i
	e := v.at(i)
	*e = pent{p: p, live: true}
	return i, e
}

// touch lists entry i in the current batch (once).
func (v *view) touch(i int32) {
	if e := v.at(i); e.stamp != v.stamp {
		e.stamp = v.stamp
		v.tl = append(v.tl, i)
	}
}

// begin starts a batch: nothing touched.
func (v *view) begin() {
	v.stamp++
	if v.stamp == 0 { // wrapped: no entry may keep a stamp that looks current
		for i := range v.n {
			v.at(i).stamp = 0
		}
		v.stamp = 1
	}
	v.tl = v.tl[:0]
}

// release frees entry i if it holds nothing (no kernel route, nothing
// given to softnet).
func (v *view) release(i int32) {
	e := v.at(i)
	if !e.live || e.kern || e.given {
		return
	}
	v.idx.Delete(pkeyOf(e.p))
	*e = pent{stamp: e.stamp}
	v.free = append(v.free, i)
}

// each calls f for every entry with kernel routes.
// gave reports whether softnet was given route kr for e's prefix.
func (e *pent) gave(kr control.KernelRoute) bool {
	return e.given && control.KernelRoute{Prefix: kr.Prefix, Proto: e.proto, NextHops: e.hops}.Equal(kr)
}

func (v *view) each(f func(i int32, e *pent)) {
	for i := range v.n {
		if e := v.at(i); e.kern {
			f(i, e)
		}
	}
}
