// Package mem provides in-memory ports: a traffic generator and a counting
// sink for benchmarks (pkt-gen style), and a queue port for tests.
//
// Hot path: Gen and Sink, yes: no allocation, no lock, no syscall; a Gen
// copies pre-built template frames into pool buffers, so a benchmark
// measures the pipeline, not the generator. Queue takes a mutex per burst
// and copies frames out on transmit: it is for tests, not benchmarks.
//
// Concurrency: a Gen or Sink has any number of queues, each used by one
// worker (Recv on the queue the worker polls, Send on the transmit queue
// assigned to the worker, dp.Options.TxQueue, checked against TxQueues);
// each queue's cursor and counters sit on their own cache lines, so
// workers on different queues share no written line and the generator
// scales with them. Read the counters after the workers stopped (or use
// the workers' published counters). A Queue may be fed and drained by a
// test goroutine while a worker polls it; it is a port.Waiter (an eventfd
// Push signals only after the worker's Recv found nothing), so an idle
// worker sleeps on it in poll(2). Gen, RateGen and Sink are not: a worker
// polling one naps instead.
package mem
