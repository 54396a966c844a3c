// Package fib is softnet's IPv4 forwarding table: longest-prefix match from a
// destination address to a next-hop index, sized for full Internet tables.
//
// # What it owns
//
// The route table (prefix → next-hop index) and its lookup structures. It
// knows nothing of interfaces or neighbours: a next-hop index is an opaque
// 1..32767 number that the caller maps to an adjacency (package neigh). It
// also reads prefix lists (ReadPrefixes) for tests, benchmarks and tools.
//
// # Hot path
//
// Only Snapshot.Lookup and Snapshot.LookupBatch run on the data path. They
// take no lock, write no shared memory and never allocate (proven by
// TestLookupDoesNotAllocate). Lookup is inlined into the caller; LookupBatch
// reads the tbl24 entries of a whole batch before resolving any tbl8 group so
// that the cache misses of the batch overlap. A worker loads the current
// *Snapshot once per batch (from the control plane's atomic pointer) and uses
// it for the whole batch.
//
// # Algorithm and entry encoding
//
// DIR-24-8, as in DPDK rte_lpm. tbl24 has one entry per /24 (2^24 entries);
// an entry whose /24 holds prefixes longer than /24 points instead to a tbl8
// group of 256 entries, one per address of the /24. Entries are uint16:
//
//	bit 15 clear: bits 0–14 are the next-hop index; 0 means no route
//	bit 15 set:   bits 0–14 are the index of a tbl8 group
//
// So a lookup is one memory access, or two for the rare /24s with longer
// prefixes (451 of them in the real full table).
//
// # Snapshots, copy-on-write and RCU
//
// Table is the control plane's mutable view; one goroutine owns it. Snapshot
// publishes an immutable *Snapshot that any number of workers may read with no
// lock. tbl24 is split into 256 chunks of 65536 entries (128 KiB, one per /8)
// and tbl8 into groups of 256 entries (512 B), each held by pointer. Chunks and
// groups are shared between the table and every snapshot published since they
// last changed. The rule: nothing reachable from a published snapshot is ever
// written again. The table tracks, per chunk and per group, the generation in
// which it last copied it; after a snapshot is published the first write to a
// chunk or group copies it (and the first change to the tbl8 pointer array
// copies that array). An update therefore costs the chunks and groups it
// touches, not the table. Old snapshots are reclaimed by Go's garbage
// collector once no worker holds them: that is the grace period of RCU.
//
// On the control side only, Table keeps the depth (prefix length + 1, 0 = no
// route) of the route behind each tbl24 and tbl8 entry and a map of routes per
// prefix length. Add overwrites only entries whose depth is not greater than
// its own; Delete hands the entries of the deleted route to the longest route
// that covers it. A tbl8 group is recycled as soon as no route longer than /24
// remains in its /24: the tbl24 entry then takes back the covering route. A
// recycled group gets a fresh array, since old snapshots may still read the
// previous one.
//
// # Limits and costs
//
//   - 32767 next hops (1..MaxNextHop) and 32767 tbl8 groups (MaxGroups):
//     at most 32767 /24s may hold prefixes longer than /24; Add returns
//     ErrNoGroup beyond that.
//   - A snapshot of the full table takes about 28 MiB (the chunks of /8s with
//     no route share one zero chunk); the control side adds 16 MiB of tbl24
//     depths plus the route maps.
//   - Loading the 901,899 IPv4 prefixes of the full table takes about 0.2 s.
//     Add + Snapshot of a /24 on the full table costs one chunk copy
//     (~35 µs with its allocation); of a /32, one group copy and a copy of
//     the tbl8 pointer array (~4 µs).
//   - Adding or deleting a short prefix walks every tbl24 entry it covers
//     (65536 for a /8, 2^24 for /0) and may copy many chunks.
//   - IPv4 only.
package fib
