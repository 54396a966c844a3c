package pcapfile

import (
	"bufio"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sync/atomic"
	"time"

	"github.com/softnet/softnet/pkt"
)

// Options tune a pcap port.
type Options struct {
	Loop    bool    // replay the file again and again
	Rate    float64 // packets per second received; 0 = as fast as Recv is called
	Limit   uint64  // receive at most this many frames in all (0 = the whole file, or forever with Loop)
	SnapLen int     // bytes of each sent frame written (default DefaultSnapLen)
}

// Stats are a port's counters; Port.Stats reads them atomically.
type Stats struct {
	RxPackets, RxBytes uint64 // frames delivered by Recv
	TxPackets, TxBytes uint64 // frames written (or counted by the sink) by Send; bytes as sent, before SnapLen
	Skipped            uint64 // file frames longer than pkt.MaxFrame, not delivered (once per pass over the file)
	Errors             uint64 // frames lost to write errors
	LastError          string // the most recent write error
}

const (
	// maxTxQueues bounds the transmit queues (TxQueues; softnet gives
	// worker i queue i, and dp refuses a worker whose queue is beyond).
	maxTxQueues = 64
	// txBuffer is a transmit queue's buffer: 256 KiB holds a batch of 256
	// frames of 1024 bytes, so a busy queue writes about once per batch.
	txBuffer = 256 << 10
	// flushAge bounds how long a record waits in a queue's buffer while
	// the queue keeps sending, so readers of a growing file see it.
	flushAge = time.Second
)

// Port is a pcap file port. See the package doc for its rules.
type Port struct {
	name string
	o    Options

	// Receive side, owned by the worker polling queue 0.
	data      []byte // the whole receive file
	recs      []rec  // frames that fit a buffer
	oversized uint64 // frames per pass that do not
	next      int    // next frame of recs
	delivered uint64
	tokens    float64 // rate limiter: frames that may be delivered now
	burst     float64
	last      time.Duration // clock of the last refill, since start
	start     time.Time
	done      atomic.Bool

	rxPackets, rxBytes, skipped atomic.Uint64

	// Transmit side.
	f    *os.File // nil: counting sink
	snap int
	tx   [maxTxQueues]atomic.Pointer[txq]

	lastErr atomic.Pointer[string]
	closed  atomic.Bool
}

// txq is one transmit queue: its own buffered writer and counters, so
// workers sending on different queues share nothing but the file.
type txq struct {
	w       *bufio.Writer
	hdr     [recordHeaderLen]byte
	oldest  time.Time // wall clock of the oldest buffered record
	packets atomic.Uint64
	bytes   atomic.Uint64
	errors  atomic.Uint64
	_       [64]byte // keep queues' counters on their own cache lines
}

// Open makes a port replaying rxPath (read into memory now; "" receives
// nothing) and writing what it is sent to txPath (created or truncated; ""
// counts and discards).
func Open(rxPath, txPath string, o Options) (*Port, error) {
	if o.Rate < 0 || math.IsNaN(o.Rate) || math.IsInf(o.Rate, 0) {
		return nil, fmt.Errorf("pcapfile: rate %v packets/s: want a finite number >= 0 (0 = full speed)", o.Rate)
	}
	if o.SnapLen == 0 {
		o.SnapLen = DefaultSnapLen
	}
	if o.SnapLen < 0 || o.SnapLen > MaxSnapLen {
		return nil, fmt.Errorf("pcapfile: snapshot length %d: want 1 to %d", o.SnapLen, MaxSnapLen)
	}
	p := &Port{o: o, snap: o.SnapLen, start: time.Now()}
	switch {
	case rxPath != "":
		p.name = "pcap:" + filepath.Base(rxPath)
	case txPath != "":
		p.name = "pcap:" + filepath.Base(txPath)
	default:
		p.name = "pcap:none"
	}
	if rxPath != "" {
		data, err := os.ReadFile(rxPath)
		if err != nil {
			return nil, fmt.Errorf("pcapfile: %w", err)
		}
		all, err := index(data, rxPath)
		if err != nil {
			return nil, err
		}
		p.data = data
		p.recs = all[:0] // filter in place
		for _, r := range all {
			if r.n > pkt.MaxFrame {
				p.oversized++
				continue
			}
			p.recs = append(p.recs, r)
		}
		p.skipped.Add(p.oversized)
	}
	if len(p.recs) == 0 {
		p.done.Store(true)
	}
	if o.Rate > 0 {
		// Burst: 10 ms worth of frames, between 1 and a batch, so a slow
		// rate is smooth and a fast one still fills batches.
		p.burst = max(1, min(pkt.BatchSize, o.Rate/100))
	}
	if txPath != "" {
		f, err := os.OpenFile(txPath, os.O_WRONLY|os.O_CREATE|os.O_TRUNC|os.O_APPEND, 0o644)
		if err != nil {
			return nil, fmt.Errorf("pcapfile: %w", err)
		}
		if _, err := f.Write(appendHeader(nil, p.snap)); err != nil {
			f.Close()
			return nil, fmt.Errorf("pcapfile: writing the header of %s: %w", txPath, err)
		}
		p.f = f
	}
	return p, nil
}

// Name implements port.Port.
func (p *Port) Name() string { return p.name }

// TxQueues implements port.TxQueuer: Send may run on queues 0 to
// maxTxQueues-1 at once, one worker each.
func (p *Port) TxQueues() int { return maxTxQueues }

// Recv implements port.Port: it copies up to v.Room() frames of the file
// into buffers from pool (fewer when the rate limiter or Limit says so). No
// syscall, no allocation; the clock is read once per call, only with a Rate.
func (p *Port) Recv(queue int, v *pkt.Batch, pool *pkt.Pool) int {
	var now time.Duration
	if p.o.Rate > 0 {
		now = time.Since(p.start)
	}
	return p.recvAt(queue, v, pool, now)
}

// recvAt is Recv at time now since Open (read only with a Rate), so tests
// can drive the rate limiter with a clock of their own.
func (p *Port) recvAt(queue int, v *pkt.Batch, pool *pkt.Pool, now time.Duration) int {
	if queue != 0 || p.done.Load() {
		return 0
	}
	want := v.Room()
	if p.o.Limit > 0 {
		want = int(min(uint64(want), p.o.Limit-p.delivered))
	}
	if p.o.Rate > 0 {
		p.tokens = min(p.burst, p.tokens+float64(now-p.last)*p.o.Rate/1e9)
		p.last = now
		want = min(want, int(p.tokens))
	}
	n, bytes := 0, 0
	for n < want {
		if p.next == len(p.recs) {
			if !p.o.Loop {
				break
			}
			p.next = 0
			if p.oversized > 0 {
				p.skipped.Add(p.oversized)
			}
		}
		b := pool.Get()
		if b == nil {
			break
		}
		r := p.recs[p.next]
		copy(b.Reset(r.n), p.data[r.off:r.off+r.n])
		v.B[v.N] = b
		v.N++
		p.next++
		n++
		bytes += r.n
	}
	if p.o.Rate > 0 {
		p.tokens -= float64(n)
	}
	p.delivered += uint64(n)
	if (!p.o.Loop && p.next == len(p.recs)) || (p.o.Limit > 0 && p.delivered >= p.o.Limit) {
		p.done.Store(true)
	}
	if n > 0 {
		p.rxPackets.Add(uint64(n))
		p.rxBytes.Add(uint64(bytes))
	}
	return n
}

// Done reports whether the replay is over: a non-looping replay delivered
// every frame, or Limit frames were delivered. A port without a receive
// file is done from the start.
func (p *Port) Done() bool { return p.done.Load() }

// queue returns transmit queue q, making it on first use.
func (p *Port) queue(q int) *txq {
	slot := &p.tx[uint(q)%maxTxQueues]
	if t := slot.Load(); t != nil {
		return t
	}
	t := &txq{}
	if p.f != nil {
		t.w = bufio.NewWriterSize(p.f, max(txBuffer, 2*(recordHeaderLen+p.snap)))
	}
	if !slot.CompareAndSwap(nil, t) {
		t = slot.Load()
	}
	return t
}

// Send implements port.Port: it takes ownership of every buffer in v,
// appends one record per frame (cut to SnapLen) to the queue's buffer,
// returns the buffers to pool and empties v. The wall clock is read once per
// batch. No allocation after a queue's first use.
func (p *Port) Send(queue int, v *pkt.Batch, pool *pkt.Pool) int {
	t := p.queue(queue)
	n := v.N
	if n == 0 {
		return 0
	}
	sent, bytes := 0, 0
	if t.w == nil { // counting sink
		for _, b := range v.B[:n] {
			bytes += int(b.Len)
		}
		sent = n
	} else {
		now := time.Now()
		if t.w.Buffered() > 0 && now.Sub(t.oldest) > flushAge {
			p.flush(t)
		}
		if t.w.Buffered() == 0 {
			t.oldest = now
		}
		sec, usec := uint32(now.Unix()), uint32(now.Nanosecond()/1000)
		for _, b := range v.B[:n] {
			f := b.Bytes()
			c := min(len(f), p.snap)
			// Write whole records only: the file is shared by the
			// queues, and an O_APPEND write(2) of whole records never
			// interleaves with another queue's.
			if t.w.Available() < recordHeaderLen+c && p.flush(t) != nil {
				break
			}
			putRecordHeader(&t.hdr, sec, usec, c, len(f))
			// The record fits the buffer: these fail only on an earlier
			// (sticky) write error.
			if _, err := t.w.Write(t.hdr[:]); err != nil {
				break
			}
			if _, err := t.w.Write(f[:c]); err != nil {
				break
			}
			sent++
			bytes += len(f)
		}
		if sent < n {
			t.errors.Add(uint64(n - sent))
		}
	}
	t.packets.Add(uint64(sent))
	t.bytes.Add(uint64(bytes))
	pool.PutBatch(v)
	return sent
}

// flush writes out a queue's buffer, noting an error.
func (p *Port) flush(t *txq) error {
	err := t.w.Flush()
	if err != nil {
		s := err.Error()
		if old := p.lastErr.Load(); old == nil || *old != s {
			p.lastErr.Store(&s)
		}
	}
	return err
}

// Flush writes every queue's buffered records to the file. It must not run
// concurrently with Send.
func (p *Port) Flush() error {
	if p.f == nil {
		return nil
	}
	var errs []error
	for i := range p.tx {
		if t := p.tx[i].Load(); t != nil {
			if err := p.flush(t); err != nil {
				errs = append(errs, err)
			}
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("pcapfile: writing %s: %w", p.f.Name(), err)
	}
	return nil
}

// Close flushes and closes the transmit file. It must not run concurrently
// with Recv or Send; the port must not be used after it.
func (p *Port) Close() error {
	p.done.Store(true)
	if p.f == nil || p.closed.Swap(true) {
		return nil
	}
	err := p.Flush()
	if cerr := p.f.Close(); err == nil && cerr != nil && !errors.Is(cerr, os.ErrClosed) {
		err = fmt.Errorf("pcapfile: %w", cerr)
	}
	return err
}

// Stats returns the port's counters. Safe from any goroutine.
func (p *Port) Stats() Stats {
	s := Stats{
		RxPackets: p.rxPackets.Load(),
		RxBytes:   p.rxBytes.Load(),
		Skipped:   p.skipped.Load(),
	}
	for i := range p.tx {
		if t := p.tx[i].Load(); t != nil {
			s.TxPackets += t.packets.Load()
			s.TxBytes += t.bytes.Load()
			s.Errors += t.errors.Load()
		}
	}
	if e := p.lastErr.Load(); e != nil {
		s.LastError = *e
	}
	return s
}
