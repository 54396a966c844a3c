// Package fib is softnet's forwarding tables, IPv4 (Table, Snapshot) and IPv6
// (Table6, Snapshot6): longest-prefix match from a destination address to a
// next-hop index, sized for full Internet tables. The control plane owns
// one of each (package control) and the data plane reads their snapshots
// (ip4-lookup, ip6-lookup).
//
// # What it owns
//
// The route table (prefix → next-hop index) and its lookup structures. It
// knows nothing of interfaces or neighbours: a next-hop index is an opaque
// 1..32767 number that the caller maps to an adjacency (package neigh). It
// also reads prefix lists (ReadPrefixes) for tests, benchmarks and tools.
//
// It also has the control plane's table for a million prefixes, PrefixMap
// (prefixmap.go: control's kernel routes and linux_cp's view of the
// kernel use it): pointer-free, one probe to insert or find, prefetchable,
// its slots on huge pages once large.
//
// # Hot path
//
// Only Snapshot.Lookup and Snapshot.LookupBatch (and their IPv6 twins, see
// below) run on the data path. They
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
//
// # IPv6: Table6 and Snapshot6
//
// Same next-hop type (1..MaxNextHop, 0 = no route), same publish model:
// Table6 is the control plane's, Snapshot6 is immutable and read with no
// lock; Lookup([16]byte) and LookupBatch take addresses in network byte
// order, never allocate (TestLookup6DoesNotAllocate) and touch no shared
// state. The prefixes of a full IPv6 table are mostly /29–/48 (47% are /48)
// and fall in 59 of the 65536 /16s.
//
// The trie: a root of 65536 entries, one per /16, then nodes of 256 entries,
// one per 8 bits (a node per /16, /24, …, /120 block that holds a longer
// prefix: 38,155 for the full table). Entries are uint32:
//
//	bit 31 clear: bits 0–14 are the next-hop index; 0 means no route
//	bit 31 set:   bits 0–30 are the offset of a node in the node array
//
// A lookup reads the root entry, then one entry per 8 bits while the entry
// points at a node: 1 to 5 reads for the prefixes up to /48 (99.8% of the
// real table), 15 at most. The control side (Table6) keeps every node as 256
// entries plus the depth of each, and adds and deletes as Table does (paint
// by depth, hand entries to the covering route, recycle a node once no longer
// route remains in it). What it publishes is smaller: the /16 nodes as 256 entries,
// every other node compressed, poptrie-style, as a 256-bit bitmap of where
// runs of equal entries start and one entry per run. The bitmap is 4 groups
// of 3 words, one per 64 entries: the group's 64 bits and the offset in the
// node array of the entry before its first run, so that a step is one
// group (12 bytes), a popcount and an entry. Compression was chosen by
// measuring: the same trie with 256 entries per node takes 37.9 MiB on the
// full table and looked up 4x slower than compressed (2.8 MiB) in the same
// run.
//
// LookupBatch walks up to 64 addresses level by level, over the list of
// those not yet at a next hop, in two passes per compressed level: one
// reads each address's group and computes where its entry is, the other
// reads the entries, drops the addresses that reached a next hop and
// computes the next level's group; each software-prefetches (PREFETCHT0)
// what the other reads next. A load that misses holds up retirement, so
// with loads only a few addresses' misses overlap before the reorder
// buffer fills; prefetches do not, so all of a level's do. On amd64 the
// two passes, the root pass before them and the prefetches are assembly
// with POPCNT (prefetch6_amd64.s; the root pass in assembly measured 4–7%
// faster than in Go); elsewhere, or without POPCNT, the same passes in Go
// with no prefetch. Node array words are read through unsafe.Pointer with
// no bounds check: every offset an entry holds is where Table6.emit wrote
// that node in the same array (children first; the array is append-only),
// and a step stays inside the node (see entry6); the differential and fuzz
// tests compare both passes' answers, assembly and Go, with bart.
//
// Copy-on-write: the published root is 256 chunks of 256 entries held by
// pointer, copied on their first write after a publication, as Table's
// chunks. The compressed nodes live in one append-only []uint32 that
// snapshots share: Table6.Snapshot appends a new copy of every node changed
// since the last snapshot and of its ancestors (their entries hold the new
// offsets) and never writes a word that a published snapshot can read. When
// the replaced copies outweigh the live ones, Snapshot compacts: it writes the
// live nodes into a new array, and old snapshots keep the old one until the
// garbage collector sees no worker holds them, as for Table.
//
// Measured here (go test -bench 'Lookup6|Update6|Load6' ./fib, and the same
// lookups timed in thread CPU time to discount preemption) on a 2-core AMD
// EPYC VM shared with seven other busy builds: figures moved 3-5x from run to
// run, so they are ranges, and only figures from one run compare:
//
//   - Memory: 3.5 MiB for a snapshot of the full IPv6 table (root chunks and
//     node array with its append slack; 2.8 MiB with the 10-word headers
//     of bitmap words and byte counts this layout replaced), 38,155 nodes;
//     the control side adds 1.25 KiB per node (about 48 MiB) and the route
//     map. 0 allocations per lookup.
//   - Lookup of destinations drawn from the table's prefixes
//     (BenchmarkLookup6FullTable, BenchmarkLookup6CPU), December 2026, at
//     load 7–9 on the 2 cores, the commit before this layout and this one
//     run in turn three times: in CPU time LookupBatch 13.7–18.3 ns (before:
//     30.4–79.5 ns), Lookup 65–122 ns (74–182 ns), bart 312–618 ns, the
//     IPv4 LookupBatch 9.0–11.3 ns: LookupBatch 22–34x bart and 1.5–1.6x
//     IPv4 (before: 3.3–7x IPv4); with the root pass in assembly too,
//     14.5–15.3 ns against IPv4's 9.3–10.0 ns (before: 37.8–44.3 ns).
//     Wall clock at that load is mostly other processes: LookupBatch
//     15.3–62 ns against bart's 308–1210 ns (15.3 ns and 26x bart in the
//     best run; before: 101–221 ns, 7–27x). Over 256
//     destinations whose nodes sit in L1 it costs ~8 ns (the Go steps
//     with the same prefetches 10.5 ns, the earlier LookupBatch ~24 ns);
//     with 256 other cache lines touched between batches of 256, as the
//     rest of a poll does, 26–43 ns against the IPv4 table's 20–26 ns.
//     Uniformly random destinations in 2000::/3 (BenchmarkLookup6Random)
//     mostly stop at the root or the /16 node.
//   - softnet bench --scenario ip4-forward,ip6-forward at that load (other
//     processes using 0.7–1.5 of the 2 CPUs, so Mpps moved 2x run to run):
//     ip6-lookup 41–107 ns a packet against ip4-lookup's 23–51 ns in the
//     same runs (before: 66–105 ns against 17–43 ns), ip6-forward
//     0.44–0.79x ip4-forward (before 0.37–0.62x). Issue 12's targets (at
//     most 15 ns a lookup, at least 4x bart: met in CPU time, not
//     measurable in wall clock at this load; ip6-forward at least 0.9x
//     ip4-forward: not shown) want a quiet machine to check. What is left
//     is cache misses: a /48 still reads a /16-node entry and three
//     (group, entry) pairs, where IPv4 reads one tbl24 entry.
//   - Around the lookup (dp/ip6), December 2026, at load 1 on the 2 cores,
//     the binaries before and after run in turn: ip6-input and ip6-lookup
//     got IPv4's fast loops (ip6InputFast: one test of the header for a
//     plain packet; lookupFast: the route kind, flags, Hop Limit and both
//     link-local rules at once). Stage ns a packet, bench --duration 3s,
//     two runs each: ip6-input 6.9 and 6.1 before, 4.4 and 4.0 after
//     (ip4-input 5.2–7.7); ip6-lookup 17.7 and 16.9 before, 15.3 and 15.7
//     after (ip4-lookup 9.8–14.2); ip6-forward 0.83–0.98x ip4-forward
//     before, 0.91–0.94x after (the ratio moves with the other load; the
//     stage figures are steadier). Not tried for lack of time: fewer cold
//     lines per /48 (a node with one or two runs folded into its parent's
//     entry, a node's entries on its group header's line).
//   - Both together, quiet (no other work on the VM, load average 0.2–1.1;
//     the host itself slower than in the morning: ip4-forward 19–21 Mpps
//     against 31–35), December 7 13:40: BenchmarkLookup6FullTable -count 3
//     wall clock LookupBatch (impl=softnet-batch) 10.8 ns, Lookup
//     (impl=softnet) 38.8–40.1 ns, bart 145.6–177.9 ns (LookupBatch
//     13–16x bart, Lookup 3.7–4.6x); BenchmarkLookup6CPU LookupBatch
//     15.3 ns, Lookup 64.6, bart 374.1, IPv4 LookupBatch 10.5. softnet
//     bench --scenario ip4-forward,ip6-forward, four runs: ratio 0.894,
//     0.955, 0.959, 0.947, interleaved 0.946, 0.923, 0.945, 0.941
//     (ip6-lookup 21.6–22.9 ns a packet, ip4-lookup 15.2–17.5; ip6-input
//     5.3–5.5, ip4-input 6.9–7.6). At 13:12, faster host, before the fast
//     loops: 0.79 and 0.77, interleaved 0.87. At 14:10, the host fast
//     again (ip4-forward rounds 30.7–36.6 Mpps), two runs: ratio (best
//     rounds) 0.895 and 0.856, interleaved 0.944 and 0.942 (ip6-lookup
//     12.5–12.7 ns a packet, ip4-lookup 7.1–7.3; ip6-input 4.0, ip4-input
//     4.9–5.0).
//   - Tried with the prefetching LookupBatch and not kept (no difference
//     beyond the noise): batches of 128 or 256 addresses instead of 64,
//     a separate prefetch of the entry's line only (the group's line and
//     the next one are prefetched together instead, 7–10% faster with
//     other lines touched between batches), and a Lookup with four
//     branch-free steps through a sink node. Before the prefetching
//     LookupBatch, these were measured no faster and not kept: steps with
//     no branch on whether an address is done (a sink node and masks),
//     8-byte aligned (bitmap word, count) pairs, each level as two passes
//     of loads (headers, then entries), and the node array on huge pages
//     (no TLB effect: the misses are cache misses).
//   - Fewer levels for the /48s, tried (before the prefetching LookupBatch)
//     and measured slower, so not kept (issue 12 item 5): a node index, a hash table from every /32 and /40
//     block that has a node to that node's offset (29,984 keys, buckets of
//     4 slots in one 64-byte cache line, 1 MiB, pages copied on write as
//     the root chunks are), probed for the /40 block then the /32 block
//     after the /16 node's entry, so that a /48 costs one probe and one
//     compressed step instead of three steps (and /40s the same). Correct
//     against bart, and the probe missed 1.06 lines on average, but
//     LookupBatch took 46–108 ns against this trie's 34–78 ns in the same
//     interleaved runs, and 292–720 ms against 145–710 ms per 2^20 lookups
//     in alternating ones; with both probes branch-free (so the misses of a
//     batch overlap) 52–69 ns against 21–31 ns. Lookup was no better
//     (within the noise in four runs, 47–72 ns against 36–61 ns in the
//     two with branch-free probes), nor did huge pages for the index
//     help. perf put the time on the loads of the node reached through
//     the index: the index only
//     replaces the /24 and /32 steps, whose nodes (7,224 and 10,906, about
//     1 MiB) stay mostly in cache, by probes into a colder 1 MiB, while the
//     /40 node (19,078 of them) is a miss either way. Aligning nodes so that
//     a header and its first 6 entries share a cache line (most nodes hold
//     at most 6 runs) changed nothing measurable either. So what a /48
//     costs here is cache lines that miss, not levels: the next candidates
//     are layouts with fewer cold lines per lookup (a /40 node of 2 or 3
//     runs folded into its parent's entry, which needs 64-bit entries; or
//     the index's bucket holding the /40 node's header), measured on a
//     quiet machine.
//   - BenchmarkLookup6CPU (Linux) times Lookup, LookupBatch, bart and the
//     IPv4 LookupBatch in thread CPU time, interleaved round by round, for
//     when the machine is too busy for wall-clock figures (the figures
//     above).
//   - Loading the 160,147 IPv6 prefixes of the full table and publishing
//     them (LoadIPv6 + Snapshot, BenchmarkLoad6FullTable): 0.2–1.3 s.
//   - One route change and Snapshot on the full table (BenchmarkUpdate6):
//     a /48, ~50 µs (its node and its 3 ancestors appended, one root chunk
//     copied, compaction amortized); a /32 with 279 longer prefixes below
//     (2a02:26f0::/32), ~1 ms; a /16, ~12 ms (the same, within the noise,
//     with the 12-word headers: at load 6–7, /48 170–200 µs against
//     100–250 µs before, /32 0.9 ms against 0.4–1.2 ms, /16 6–12 ms
//     against 8–19 ms, 3–11% more bytes allocated): like Table, a short prefix repaints
//     every entry it covers that holds no longer route, so every node below
//     it is re-emitted.
//   - Limits: 2^31-1 nodes (Add returns ErrNoNode) and 2^31 words (8 GiB)
//     of node array (Snapshot panics beyond).
package fib
