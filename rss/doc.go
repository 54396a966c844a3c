// Package rss owns receive-side scaling: the Toeplitz hash NICs use to
// spread flows over receive queues (Microsoft NDIS RSS specification), done
// in software over IPv4/IPv6 tuples and whole Ethernet frames, and the
// 128-entry redirection Table that maps a hash to a queue.
//
// Hot path: yes. A port or the worker loop calls Hasher.Frame per received
// packet to pick the worker (queue) that owns its flow. Frame, Sum and the
// tuple methods never allocate (AllocsPerRun tests, ReportAllocs
// benchmarks) and Frame never panics (FuzzFrame).
//
// # Why symmetric
//
// Design lesson 5: keep a flow on one core, so flow state, locks and caches
// stay core-local. With an ordinary key the two directions of a connection
// hash differently and land on different workers; a stateful filter would
// then need a state table shared between workers, with the locks or
// shared written cache lines lessons 1 and 2 forbid. SymmetricKey, 0x6d5a
// repeated (Woo and Park, KAIST 2012), has a 16-bit period, and a Toeplitz
// hash with a 16-bit-periodic key depends only on the XOR of the input's
// 16-bit words; swapping source and destination addresses and ports does
// not change that XOR, so both directions get the same hash and the same
// queue. New uses whatever key it is given; SymmetricKey is the default the
// rest of softnet passes.
//
// # The price of the symmetric key
//
// The same property is its weakness: the hash is a fixed linear function of
// the 16-bit XOR fold of the tuple (src ^ dst ^ sport ^ dport, folded to 16
// bits), so
//
//   - it takes at most 65536 values (exactly 65536: the map is injective,
//     TestSpread checks it), not 2^32: 10 000 random flows give ~9 290
//     distinct hashes, where a random 32-bit hash gives ~10 000;
//   - flows whose fields XOR-fold alike collide, whatever their addresses:
//     a.b.c.d and c.d.a.b against the same peer, or two flows whose source
//     ports differ by the same bits as their destination ports. An attacker
//     who can choose ports can aim all flows at one queue (so can one who
//     knows any fixed key; real NICs share the weakness);
//   - only 16 input bits of spread reach the queue choice. For queue
//     selection this is enough: the redirection table uses 7 bits.
//
// Measured spread (TestSpread, go test -v -run Spread): with NewTable(2),
// 10 000 flows split 4969/5031 (49.7/50.3 %) for random IPv4 5-tuples,
// 4982/5018 for random IPv6 5-tuples, 5054/4946 for clients in a /16 with
// ephemeral ports to one server:443, and 4999/5001 for one client with
// sequential source ports; with NewTable(4) every queue holds between
// 24.2 % and 25.8 % of the flows. The test fails beyond 3 % (6 standard
// deviations of a fair split).
//
// # Tables, not bit loops
//
// The hash is linear over GF(2), so the contribution of each input byte
// position (0..35) and byte value is precomputed: New builds 36 × 256
// uint32s (36 KiB), and a hash is one load and XOR per input byte. When the
// key is 16-bit periodic (detected in New: every row equals row p%2) the
// tuple methods XOR-fold the tuple to 16 bits first and do two loads for any
// tuple, IPv4 or IPv6. One table per 16-bit chunk was measured and
// rejected: for the 12-byte IPv4 tuple with the Microsoft key it needs
// 1.5 MiB and ran at ~4.8-5.7 ns on random flows against ~4.8-7 ns per byte
// (BenchmarkChunk16IPv4 vs BenchmarkIPv4/microsoft; noisy shared 2-core
// machine) — no gain worth 40× the cache footprint, and the symmetric
// key's folded path (~3.3 ns) beats both.
//
// Benchmarks on this 2-core machine (best of 3, ns per packet, 4096 random
// flows): IPv4 3.3 (symmetric) / 4.8 (Microsoft key); IPv6 4.4 / 13.8;
// Frame on an untagged IPv4 TCP frame 8.5 / 11.7, IPv6 TCP 13.3.
//
// # Tuples
//
// As NDIS defines them: the input is source address, destination address,
// then source and destination port for TCP/UDP (the 4-tuple, 12 or 36
// bytes); other protocols and all fragments hash the addresses alone (8 or
// 32 bytes), so every fragment of a datagram and the ICMP of a host pair
// stay on one queue. The tests reproduce Microsoft's published vectors
// ("Verifying the RSS Hash Calculation") for all four inputs.
//
// Concurrency: a Hasher is immutable after New and safe for concurrent use;
// build one per key at startup (New fills 9216 table entries) and share it. A
// Table is a 128-byte value: the control plane builds or edits a copy and
// publishes it with its snapshot; workers only call Queue.
package rss
