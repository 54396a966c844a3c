// Package pkt owns packet buffers (arenas of frames and metadata records,
// named by uint32 indices), batches and per-worker buffer pools.
//
// Hot path: yes. Nothing here allocates after a Pool is built, and nothing
// takes a lock: a Pool and the Batches filled from it belong to one worker.
// NewArena and Close take a lock (the index space); they are set-up calls.
//
// # Arena
//
// Buffers live in an Arena (NewArena), made before the ports that fill
// them (run.Start, bench), and handed out by Pools over slices of it
// (NewPoolIn; NewPool makes a pool over an arena of its own, for tests
// and tools, never unmapped). An arena is two mappings, both off the Go
// heap, so the GC neither scans nor moves them:
//
//   - the frame region: one contiguous mmap of Frames chunks (Region),
//     2 MiB aligned and advised MADV_HUGEPAGE (plain pages where THP is
//     off), buffer i's chunk at offset i*Chunk: the layout of an AF_XDP
//     UMEM, which Addr and Lookup translate to and from;
//   - the records: one 64-byte, cache-line-aligned Buf per buffer (its
//     frame pointer, its index, its chunk size and headroom, and Meta),
//     apart from the packet bytes, so a stage that only reads metadata
//     does not pull packet lines into the cache.
//
// Vectors (Batch), pool free lists, software RSS lanes (dp.BufRing) and
// port rings hold uint32 indices, not pointers: a store runs no GC write
// barrier (there were 4-5 per forwarded packet with *Buf vectors) and
// the GC has nothing to scan. At(x) turns an index into its record with
// one load and an add: the records of every arena live in one reserved,
// uncommitted range of address space (64 Mi records, 4 GiB of address
// space, none of it committed until an arena maps its part), so an index
// is global and needs no arena argument. Index 0 is never handed out: a
// zero slot names no buffer. Close unmaps an arena and returns its
// indices for reuse. A loop over a batch takes the base once,
// recs := Records() (a Recs), and calls recs.At(x): a shift and an add
// in registers, without At's load of the global base per packet (the
// compiler cannot hoist it out of a loop that stores through pointers).
// dp's fast loops do; TestFastLoopsHoistRecords there checks it.
//
// Design note: the lead's brief offered a small table of arenas indexed
// by the top bits of the index, or one reserved range. The range was
// chosen: At is one load instead of two, and no bits are split between
// an arena number and a frame number (tests make thousands of small
// arenas with NewPool; a table of 256 or 4096 would run out).
//
// # Chunk size and stagger
//
// The default chunk is Stride = 9408 bytes: Headroom bytes in front of
// the packet for encapsulation (VLAN tags, ICMP error headers built in
// place) and the rest for the frame, up to MaxFrame = 9280 bytes: a
// 9000-byte jumbo MTU (up to 9258) with its Ethernet header and two VLAN
// tags. Every buffer is that large, so any frame of any port fits any
// buffer of any worker's pool, whatever MTU the device has or gets at run
// time. 9408 is 147 cache lines, an odd number, and not a power of two:
// the headers of a batch's consecutive buffers fall in every one of L1's
// 64 sets, where buffers on 2048-byte (or 8192-byte) boundaries alias in
// the same few sets (design.md, lesson 4). The larger stride costs
// memory (a 4096-buffer pool is 37 MiB), not speed: a worker touches only
// the first lines of a small frame's buffer, and the free list is LIFO,
// so the buffers in use stay few and hot.
//
// An AF_XDP UMEM in aligned mode needs 2048- or 4096-byte chunks
// (ArenaOptions.Chunk). To keep their headers out of the same cache sets,
// Stagger N starts buffer i's data at Headroom + (i%N)*64 (as unaligned
// chunk mode allows), at the cost of (N-1)*64 bytes of frame: MaxFrame is
// Chunk - Headroom - (N-1)*64 and must hold a 1500-byte MTU frame with
// two tags (NewArena says so otherwise). Stagger is refused for chunks
// that are not a power of two: 9408 already spreads. Ports must not
// write frames longer than their pool's MaxFrame (Pool.MaxFrame); Reset
// panics rather than run into the next chunk. Measured with
// `go test -run X -bench ForwardArena -benchtime 200ms ./bench/`
// (full table, one worker, 64-byte frames, a 2-vCPU VM shared with six
// other builds, so the spread is mostly noise), Mpps over three runs:
// 9408 10.8 12.6 9.7; 2048 13.3 13.2 12.0; 2048 stagger 4 7.8 8.8 11.1;
// 4096 12.1 8.1 7.8; 4096 stagger 8 15.1 12.7 10.7. No layout allocates;
// no layout stands out beyond the noise of that machine.
//
// Against the pointer engine (main before this change, same machine,
// `BenchmarkForward` in ./bench, 10-12 runs of 500 ms alternating): median
// Mpps 27.4 vs 27.8 and 26.6 vs 29.6, best 30.2-30.6 vs 32.0-36.0: no
// clear difference in the medians, the old engine's best runs ahead. A
// batch's records are 256 x 64 bytes = 256 lines where 256 x 40-byte
// records took 160 (straddling some): more metadata lines per stage is
// the likely price of one line per record. Holding the record base in a
// register in the fast loops (instead of At's load) measured no gain and
// was not kept. The router keeps 9408 (jumbo frames in any pool);
// an AF_XDP backend picks 2048 or 4096, with stagger, per port.
//
// # Ownership
//
// A buffer index is always in exactly one place: a Pool's free list, one
// slot of one Batch (a stage's input vector or a port's transmit vector),
// a software RSS lane ring (dp.BufRing: forward or return), or a port or
// ring that took it (a port's Send takes ownership; an AF_XDP port's fill
// and completion rings will hold indices too). Functions that take
// packets say whether they take ownership (the caller must not touch the
// buffers again) or borrow them (the caller still owns them when the call
// returns). A *Buf is a short-lived local (At, Batch.Buf, Pool.Get): it
// is never stored in a vector. Indices are global, so a buffer taken from
// one worker's Pool may be returned to another's (software RSS hands
// received buffers to the owning worker, which pays back as many of its
// own): a pool is a free list of indices and does not care which arena
// an index belongs to. The arena outlives every pool and port that holds
// its indices: run.Router unmaps it after its workers stop and its ports
// close.
package pkt
