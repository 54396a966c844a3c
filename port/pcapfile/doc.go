// Package pcapfile is a port backed by classic pcap files: it replays a
// capture as received traffic and records what the router sends. It also has
// a small reader and writer (ReadFile, WriteFile) for tests and tools.
//
// Format: classic libpcap files only (not pcapng), in either byte order,
// with microsecond (0xa1b2c3d4) or nanosecond (0xa1b23c4d) timestamps, and
// link type Ethernet (1). Files the port writes are little-endian with
// microsecond timestamps, the most widely read variant.
//
// Hot path: yes, although a file is not a fast device. Open reads the
// whole receive file into memory (one flat []byte and an index of frame
// offsets), so Recv copies frames into pool buffers without a syscall or an
// allocation. Rate limiting is a token bucket that reads the clock once per
// Recv call. Send appends records through a buffered writer per transmit
// queue, so the file sees one write(2) per buffer-full of records (about one
// per batch of full-size frames, fewer for small ones), never one per packet;
// it reads the wall clock once per batch, so the frames of a batch share a
// timestamp.
//
// Ownership: Recv appends buffers it takes from the pool to the batch (the
// batch owns them); Send takes ownership of every buffer in the batch and
// returns each to the pool.
//
// Concurrency: the file is replayed on queue 0, which one worker polls;
// other queues receive nothing. Send may be called by several workers at
// once as long as each uses its own queue number (softnet passes the worker
// ID): each queue has its own buffer, and a buffer is written to the file
// (opened O_APPEND) only in whole records, so records of different queues
// never interleave inside a record. Stats and Done may be called from any
// goroutine. Flush and Close must not run concurrently with Send (call them
// after the workers stopped); records stay in memory until a queue's buffer
// fills, a second has passed since its oldest unwritten record, or Flush.
package pcapfile
