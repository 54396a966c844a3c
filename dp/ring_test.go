package dp_test

import (
	"encoding/binary"
	"net/netip"
	"runtime"
	"testing"

	"github.com/softnet/softnet/dp"
)

// push puts one message with sequence number seq in r and reports whether
// the ring had room.
func push(r *dp.Ring, seq uint64) bool {
	m := r.Reserve()
	if m == nil {
		return false
	}
	m.Kind, m.Iface = dp.PuntARP, uint16(seq)
	m.SetAddr4(uint32(seq))
	binary.BigEndian.PutUint64(m.Data[:8], seq)
	m.Len = 8
	r.Commit()
	return true
}

// pop takes the oldest message's sequence number.
func pop(r *dp.Ring) (uint64, bool) {
	m := r.Peek()
	if m == nil {
		return 0, false
	}
	seq := binary.BigEndian.Uint64(m.Frame())
	r.Release()
	return seq, true
}

func TestRingSize(t *testing.T) {
	tests := []struct{ ask, slots int }{
		{1, 1}, {2, 2}, {3, 4}, {4, 4}, {5, 8}, {256, 256}, {257, 512},
	}
	for _, tc := range tests {
		r := dp.NewRing(tc.ask)
		n := 0
		for push(r, uint64(n)) {
			n++
			if n > 2*tc.slots {
				break
			}
		}
		if n != tc.slots {
			t.Errorf("NewRing(%d) holds %d messages, want %d", tc.ask, n, tc.slots)
		}
		if r.Len() != tc.slots {
			t.Errorf("NewRing(%d) full: Len %d, want %d", tc.ask, r.Len(), tc.slots)
		}
	}
}

func TestRingFIFO(t *testing.T) {
	r := dp.NewRing(8)
	if r.Len() != 0 || r.Peek() != nil {
		t.Fatal("new ring is not empty")
	}
	if _, ok := pop(r); ok {
		t.Fatal("pop from an empty ring succeeded")
	}
	for i := range 8 {
		if !push(r, uint64(100+i)) {
			t.Fatalf("push %d into a ring of 8 failed", i)
		}
		if r.Len() != i+1 {
			t.Fatalf("Len %d after %d pushes", r.Len(), i+1)
		}
	}
	if r.Reserve() != nil {
		t.Fatal("Reserve on a full ring returned a slot")
	}
	if r.Len() != 8 {
		t.Fatalf("Len %d after a refused Reserve, want 8", r.Len())
	}
	// Peek is idempotent until Release.
	if a, b := r.Peek(), r.Peek(); a != b || binary.BigEndian.Uint64(a.Frame()) != 100 {
		t.Fatal("Peek does not return the oldest message twice")
	}
	for i := range 8 {
		seq, ok := pop(r)
		if !ok || seq != uint64(100+i) {
			t.Fatalf("pop %d: %d %v, want %d", i, seq, ok, 100+i)
		}
		if r.Len() != 7-i {
			t.Fatalf("Len %d after %d pops", r.Len(), i+1)
		}
	}
	if r.Peek() != nil {
		t.Fatal("drained ring not empty")
	}
}

// TestRingWrap runs the indices many times around a small ring with every
// fill level, so slot reuse and the index mask are exercised.
func TestRingWrap(t *testing.T) {
	r := dp.NewRing(4)
	var in, out uint64
	for round := range 100 {
		burst := round%4 + 1
		for range burst {
			if !push(r, in) {
				t.Fatalf("round %d: push %d refused with Len %d", round, in, r.Len())
			}
			in++
		}
		if r.Len() != burst {
			t.Fatalf("round %d: Len %d, want %d", round, r.Len(), burst)
		}
		if burst == 4 && r.Reserve() != nil {
			t.Fatalf("round %d: full ring accepted a message", round)
		}
		for range burst {
			seq, ok := pop(r)
			if !ok || seq != out {
				t.Fatalf("round %d: pop %d %v, want %d", round, seq, ok, out)
			}
			out++
		}
	}
	// Half-full rings that wrap mid-way.
	for i := range 50 {
		for range 2 {
			if !push(r, in) {
				t.Fatalf("step %d: push %d refused with Len %d", i, in, r.Len())
			}
			in++
		}
		if seq, _ := pop(r); seq != out {
			t.Fatalf("step %d: got %d want %d", i, seq, out)
		}
		out++
		if r.Len() > 2 {
			for r.Len() > 0 {
				if seq, _ := pop(r); seq != out {
					t.Fatalf("step %d drain: got %d want %d", i, seq, out)
				}
				out++
			}
		}
	}
}

func TestRingMsgFrame(t *testing.T) {
	var m dp.Msg
	m.SetFrame([]byte("hello"))
	if m.Len != 5 || string(m.Frame()) != "hello" {
		t.Fatalf("Frame %q Len %d", m.Frame(), m.Len)
	}
	big := make([]byte, len(m.Data)+10)
	for i := range big {
		big[i] = byte(i)
	}
	m.SetFrame(big)
	if int(m.Len) != len(m.Data) || m.Frame()[len(m.Data)-1] != big[len(m.Data)-1] {
		t.Fatalf("oversize SetFrame: Len %d, want truncation to %d", m.Len, len(m.Data))
	}
}

// TestRingConcurrent passes numbered messages from one producer goroutine
// to one consumer goroutine and checks order and loss. Run it under -race:
// the slot contents are plain memory published by the index atomics.
func TestRingConcurrent(t *testing.T) {
	n := uint64(1_000_000)
	if testing.Short() {
		n = 50_000
	}
	r := dp.NewRing(256) // the workers' default ring size
	done := make(chan struct{})
	go func() {
		defer close(done)
		for seq := uint64(0); seq < n; {
			m := r.Reserve()
			if m == nil {
				runtime.Gosched()
				continue
			}
			m.Kind, m.Iface = dp.InjectTx, uint16(seq)
			m.SetAddr4(uint32(seq))
			binary.LittleEndian.PutUint64(m.Data[:8], seq)
			// A word at the far end of the slot too, to catch a torn read.
			binary.LittleEndian.PutUint64(m.Data[len(m.Data)-8:], ^seq)
			m.Len = uint16(len(m.Data))
			r.Commit()
			seq++
		}
	}()
	var got uint64
	for got < n {
		m := r.Peek()
		if m == nil {
			runtime.Gosched()
			continue
		}
		seq := binary.LittleEndian.Uint64(m.Data[:8])
		tail := binary.LittleEndian.Uint64(m.Data[len(m.Data)-8:])
		if seq != got || tail != ^got || m.Addr != mapped4(uint32(got)) || m.Iface != uint16(got) || m.Kind != dp.InjectTx || int(m.Len) != len(m.Data) {
			t.Fatalf("message %d: seq %d tail %#x addr %x iface %d kind %d len %d", got, seq, tail, m.Addr, m.Iface, m.Kind, m.Len)
		}
		r.Release()
		got++
	}
	<-done
	if r.Len() != 0 || r.Peek() != nil {
		t.Fatalf("ring not empty after %d messages: Len %d", n, r.Len())
	}
}

func TestRingDoesNotAllocate(t *testing.T) {
	r := dp.NewRing(16)
	var seq uint64
	a := testing.AllocsPerRun(1000, func() {
		m := r.Reserve()
		m.SetAddr4(uint32(seq))
		r.Commit()
		p := r.Peek()
		_ = p.IP()
		r.Release()
		seq++
	})
	if a != 0 {
		t.Fatalf("Reserve/Commit/Peek/Release: %v allocations per message, want 0", a)
	}
}

// mapped4 is v as an IPv4-mapped IPv6 address.
func mapped4(v uint32) [16]byte {
	var b [4]byte
	binary.BigEndian.PutUint32(b[:], v)
	return netip.AddrFrom4(b).As16()
}

// TestMsgAddr: a message carries IPv4 and IPv6 addresses alike in its 16
// bytes; SetAddr4 stores an IPv4 one mapped (RFC 4291 §2.5.5.2) and IP
// gives it back as IPv4, not as ::ffff:a.b.c.d.
func TestMsgAddr(t *testing.T) {
	m := new(dp.Msg)
	m.SetAddr4(0x0a000102)
	if got := m.IP(); got != netip.MustParseAddr("10.0.1.2") || !got.Is4() {
		t.Fatalf("SetAddr4(10.0.1.2): IP() = %v (Is4 %v)", got, got.Is4())
	}
	if m.Addr != mapped4(0x0a000102) {
		t.Fatalf("SetAddr4(10.0.1.2): Addr % x, want ::ffff:10.0.1.2", m.Addr)
	}
	v6 := netip.MustParseAddr("2001:db8::1")
	m.Addr = v6.As16()
	if got := m.IP(); got != v6 {
		t.Fatalf("Addr %v: IP() = %v", v6, got)
	}
}
