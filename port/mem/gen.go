package mem

import (
	"encoding/binary"

	"github.com/softnet/softnet/pkt"
)

// Gen is a generator port: Recv fills the batch with copies of template
// frames, cycling through them; Send counts and frees (so a Gen is also a
// sink for what the router sends back, such as ICMP errors).
type Gen struct {
	name   string
	frames []byte // count frames of size bytes each, back to back
	size   int
	count  int
	next   int
	limit  uint64 // frames to generate in all; 0 = no limit

	Generated uint64
	Sent      uint64
}

// NewGen makes a generator cycling through frames, which must all have the
// same length.
func NewGen(name string, frames [][]byte) *Gen {
	g := &Gen{name: name, count: len(frames)}
	if len(frames) > 0 {
		g.size = len(frames[0])
	}
	g.frames = make([]byte, 0, g.size*g.count)
	for _, f := range frames {
		if len(f) != g.size {
			panic("mem.NewGen: template frames differ in length")
		}
		g.frames = append(g.frames, f...)
	}
	return g
}

func copy64(d, s *[64]byte) {
	le := binary.LittleEndian
	le.PutUint64(d[0:8], le.Uint64(s[0:8]))
	le.PutUint64(d[8:16], le.Uint64(s[8:16]))
	le.PutUint64(d[16:24], le.Uint64(s[16:24]))
	le.PutUint64(d[24:32], le.Uint64(s[24:32]))
	le.PutUint64(d[32:40], le.Uint64(s[32:40]))
	le.PutUint64(d[40:48], le.Uint64(s[40:48]))
	le.PutUint64(d[48:56], le.Uint64(s[48:56]))
	le.PutUint64(d[56:64], le.Uint64(s[56:64]))
}

// SetLimit makes the generator stop after n frames in all (0: never).
func (g *Gen) SetLimit(n uint64) { g.limit = n }

// Name implements port.Port.
func (g *Gen) Name() string { return g.name }

// Recv implements port.Port: it appends up to v.Room() template frames.
func (g *Gen) Recv(_ int, v *pkt.Batch, pool *pkt.Pool) int {
	if g.count == 0 {
		return 0
	}
	want := v.Room()
	if g.limit > 0 {
		want = int(min(uint64(want), g.limit-g.Generated))
	}
	n := pool.GetN(v.B[v.N : v.N+want])
	size, next := g.size, g.next
	if size == 64 {
		// The benchmark's frame size: eight word moves instead of a call
		// to memmove, so the generator's own cost stays small.
		for _, b := range v.B[v.N : v.N+n] {
			copy64((*[64]byte)(b.Reset(64)), (*[64]byte)(g.frames[next*64:]))
			next++
			if next == g.count {
				next = 0
			}
		}
	} else {
		for _, b := range v.B[v.N : v.N+n] {
			copy(b.Reset(size), g.frames[next*size:(next+1)*size])
			next++
			if next == g.count {
				next = 0
			}
		}
	}
	g.next = next
	v.N += n
	g.Generated += uint64(n)
	return n
}

// Send implements port.Port: counts and frees.
func (g *Gen) Send(_ int, v *pkt.Batch, pool *pkt.Pool) int {
	n := v.N
	g.Sent += uint64(n)
	pool.PutBatch(v)
	return n
}

// Sink is a port that receives nothing and counts the frames it is sent
// (the worker counts bytes per interface).
type Sink struct {
	name string
	Sent uint64
}

// NewSink makes a sink.
func NewSink(name string) *Sink { return &Sink{name: name} }

// Name implements port.Port.
func (s *Sink) Name() string { return s.name }

// Recv implements port.Port: a sink never receives.
func (s *Sink) Recv(int, *pkt.Batch, *pkt.Pool) int { return 0 }

// Send implements port.Port: counts and frees.
func (s *Sink) Send(_ int, v *pkt.Batch, pool *pkt.Pool) int {
	n := v.N
	s.Sent += uint64(n)
	pool.PutBatch(v)
	return n
}
