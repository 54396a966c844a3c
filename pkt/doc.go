// Package pkt owns packet buffers, batches and per-worker buffer pools.
//
// Hot path: yes. Nothing here allocates after a Pool is built, and nothing
// takes a lock: a Pool and the Batches filled from it belong to one worker.
//
// # Buffers
//
// A Pool pre-allocates one slab of packet memory and one array of Buf
// metadata blocks. Each buffer owns Stride bytes of the slab: Headroom bytes
// in front of the packet for encapsulation (VLAN tags, ICMP error headers
// built in place) and the rest for the frame. Stride is 1984, not 2048:
// buffers on 2048-byte boundaries alias in the same cache sets (design.md,
// lesson 4). 1984 is 31 cache lines, an odd number, so the headers of a
// batch's consecutive buffers fall in every one of L1's 64 sets; 1920 (30
// lines) would use only the even half. Metadata lives
// in its own array, apart from the packet bytes, so a stage that only reads
// metadata does not pull packet lines into the cache.
//
// # Ownership
//
// A buffer is always in exactly one place: a Pool's free list, one slot of
// one Batch, or a port or ring that took it. Functions that take packets say
// whether they take ownership (the caller must not touch the buffers again)
// or borrow them (the caller still owns them when the call returns). A
// buffer taken from one worker's Pool may be returned to another's: Pools
// are free lists of *Buf and do not care where a buffer came from.
package pkt
