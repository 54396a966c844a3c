// Package mem provides in-memory ports: a traffic generator and a counting
// sink for benchmarks (pkt-gen style), and a queue port for tests.
//
// Hot path: Gen and Sink, yes: no allocation, no lock, no syscall; a Gen
// copies pre-built template frames into pool buffers, so a benchmark
// measures the pipeline, not the generator. Queue takes a mutex per burst
// and copies frames out on transmit: it is for tests, not benchmarks.
//
// Concurrency: a Gen or Sink is used by one worker; read its counters
// after the worker stopped (or use the worker's published counters). A
// Queue may be fed and drained by a test goroutine while a worker polls it.
package mem
