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
// built in place) and the rest for the frame, up to MaxFrame = 9280 bytes:
// a 9000-byte jumbo MTU (up to 9258) with its Ethernet header and two
// VLAN tags. Every buffer is that large, so any frame of any port fits
// any buffer of any worker's pool, whatever MTU the device has or gets at
// run time. Stride is 9408, not a power of two: buffers on 2048-byte
// (or 8192-byte) boundaries alias in the same cache sets (design.md,
// lesson 4). 9408 is 147 cache lines, an odd number, so the headers of a
// batch's consecutive buffers fall in every one of L1's 64 sets; an even
// number would use at most half of them. It was 1984 (31 lines, MTU up
// to 1834); the larger stride costs memory (a 4096-buffer pool is 37 MiB
// instead of 8), not speed: a worker touches only the first lines of a
// small frame's buffer, and the free list is LIFO, so the buffers in use
// stay few and hot. Measured with `softnet bench --duration 2s`
// (64-byte ip4-forward, 1 worker) on a 2-vCPU VM shared with other
// work (about one CPU busy elsewhere), old and new binaries alternating,
// Mpps: 1984-byte stride 28.3 27.7 26.6 28.2 27.0 17.2 15.7 15.7 15.7
// 11.7; 9408-byte stride 26.7 25.5 26.5 27.6 23.6 17.0 14.2 17.6 23.5
// 14.8: within the noise of the machine (the first five pairs, the
// quietest, put the new median 4% lower; the last five favour it).
// Metadata lives
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
