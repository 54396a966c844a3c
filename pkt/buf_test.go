package pkt

import (
	"bytes"
	"testing"
	"unsafe"
)

// TestMetaSize keeps the metadata record one cache line: fields added must
// fit in its padding or be argued for.
func TestMetaSize(t *testing.T) {
	if n := unsafe.Sizeof(Meta{}); n != 40 {
		t.Errorf("Meta is %d bytes, want 40", n)
	}
	if n := unsafe.Sizeof(Buf{}); n != RecordSize || RecordSize != 64 {
		t.Errorf("Buf is %d bytes, want %d (64)", n, RecordSize)
	}
	if a := unsafe.Alignof(Buf{}); 64%a != 0 {
		t.Errorf("Buf alignment %d does not divide 64", a)
	}
	if n := unsafe.Sizeof(Meta{}.Dst); n != 16 {
		t.Errorf("Meta.Dst is %d bytes, want 16 (an IPv6 address)", n)
	}
}

func TestPoolAccounting(t *testing.T) {
	const n = 8
	p := NewPool(n)
	if p.Size() != n || p.Free() != n {
		t.Fatalf("new pool: Size %d Free %d, want %d %d", p.Size(), p.Free(), n, n)
	}
	seen := make(map[*Buf]bool)
	var got []*Buf
	for i := range n {
		b := p.Get()
		if b == nil {
			t.Fatalf("Get %d: nil with %d free", i, p.Free())
		}
		if seen[b] {
			t.Fatalf("Get %d: buffer handed out twice", i)
		}
		seen[b] = true
		got = append(got, b)
		if want := n - i - 1; p.Free() != want {
			t.Fatalf("after Get %d: Free %d, want %d", i, p.Free(), want)
		}
	}
	if b := p.Get(); b != nil {
		t.Fatal("Get on an empty pool: want nil")
	}
	if p.Free() != 0 || p.Size() != n {
		t.Fatalf("empty pool: Free %d Size %d", p.Free(), p.Size())
	}
	for i, b := range got {
		p.Put(b)
		if p.Free() != i+1 {
			t.Fatalf("after Put %d: Free %d, want %d", i, p.Free(), i+1)
		}
	}
	if p.Size() != n {
		t.Fatalf("Size changed to %d", p.Size())
	}
}

func TestPoolGetN(t *testing.T) {
	tests := []struct {
		name      string
		pool, dst int
		want      int
	}{
		{"fits", 8, 5, 5},
		{"exact", 8, 8, 8},
		{"short", 8, 12, 8},
		{"empty dst", 8, 0, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := NewPool(tc.pool)
			dst := make([]uint32, tc.dst)
			got := p.GetN(dst)
			if got != tc.want {
				t.Fatalf("GetN(%d) from %d: %d, want %d", tc.dst, tc.pool, got, tc.want)
			}
			if p.Free() != tc.pool-tc.want {
				t.Fatalf("Free %d, want %d", p.Free(), tc.pool-tc.want)
			}
			seen := make(map[*Buf]bool)
			for i, x := range dst[:got] {
				b := At(x)
				if x == 0 || seen[b] {
					t.Fatalf("dst[%d] zero or duplicate", i)
				}
				seen[b] = true
			}
			for i, x := range dst[got:] {
				if x != 0 {
					t.Fatalf("dst[%d] beyond the count was written", got+i)
				}
			}
			// What GetN took must not still be in the pool.
			for p.Free() > 0 {
				if b := p.Get(); seen[b] {
					t.Fatal("buffer returned by GetN is still in the pool")
				}
			}
			if n := p.GetN(dst); n != 0 {
				t.Fatalf("GetN on an empty pool: %d, want 0", n)
			}
		})
	}
}

func TestPoolPutBatch(t *testing.T) {
	p := NewPool(10)
	var v Batch
	v.N = p.GetN(v.B[:7])
	if v.N != 7 || p.Free() != 3 {
		t.Fatalf("GetN: N %d Free %d, want 7 3", v.N, p.Free())
	}
	p.PutBatch(&v)
	if v.N != 0 {
		t.Fatalf("PutBatch left N = %d", v.N)
	}
	for i, x := range v.B[:7] {
		if x != 0 {
			t.Fatalf("PutBatch left slot %d set: the batch would still reference a freed buffer", i)
		}
	}
	if p.Free() != 10 {
		t.Fatalf("Free %d after PutBatch, want 10", p.Free())
	}
	p.PutBatch(&v) // empty batch: no-op
	if p.Free() != 10 {
		t.Fatalf("Free %d after an empty PutBatch, want 10", p.Free())
	}
}

func TestPoolMigration(t *testing.T) {
	// Buffers may move between pools (doc.go, Ownership).
	a, b := NewPool(4), NewPool(4)
	x := a.Get()
	b.Put(x)
	if a.Free() != 3 || b.Free() != 5 {
		t.Fatalf("Free a %d b %d, want 3 5", a.Free(), b.Free())
	}
	if a.Size() != 4 || b.Size() != 4 {
		t.Fatal("Size must not follow migrations")
	}
}

func TestBufReset(t *testing.T) {
	p := NewPool(1)
	b := p.Get()
	b.Off, b.Len, b.L3 = 3, 4, 5
	b.InPort, b.OutPort, b.NH, b.Reason = 1, 2, 3, 4
	b.Flags, b.ICMPType, b.ICMPCode, b.Aux = FlagLocal|FlagL2Multicast, 11, 0, 99
	for _, n := range []int{0, 60, 1514, MaxFrame} {
		f := b.Reset(n)
		if len(f) != n {
			t.Fatalf("Reset(%d): len %d", n, len(f))
		}
		if b.Off != Headroom || int(b.Len) != n || b.L3 != 0 {
			t.Fatalf("Reset(%d): Off %d Len %d L3 %d", n, b.Off, b.Len, b.L3)
		}
		if b.InPort|b.OutPort|b.NH|b.Reason != 0 || b.Flags|b.ICMPType|b.ICMPCode != 0 || b.Aux != 0 {
			t.Fatalf("Reset(%d) left metadata: %+v", n, *b)
		}
		if n > 0 && &f[0] != &b.Raw()[Headroom] {
			t.Fatalf("Reset(%d): frame does not start at Headroom", n)
		}
		if n > 0 && &b.Bytes()[0] != &f[0] {
			t.Fatalf("Reset(%d): Bytes differs from the returned frame", n)
		}
	}
	if len(b.Raw()) != Stride || cap(b.Raw()) != Stride {
		t.Fatalf("Raw: len %d cap %d, want %d", len(b.Raw()), cap(b.Raw()), Stride)
	}
	if MaxFrame+Headroom != Stride {
		t.Fatalf("MaxFrame %d + Headroom %d != Stride %d", MaxFrame, Headroom, Stride)
	}
	defer func() {
		if recover() == nil {
			t.Fatal("Reset(MaxFrame+1) did not panic: the frame would run into the next buffer")
		}
	}()
	b.Reset(MaxFrame + 1)
}

func TestBufPrepend(t *testing.T) {
	tests := []struct {
		name    string
		off     int
		n       int
		ok      bool
		wantOff int
	}{
		{"vlan tag", Headroom, 4, true, Headroom - 4},
		{"icmp error headers", Headroom, 28, true, Headroom - 28},
		{"all headroom", Headroom, Headroom, true, 0},
		{"one too many", Headroom, Headroom + 1, false, Headroom},
		{"small headroom fits", 4, 4, true, 0},
		{"small headroom", 3, 4, false, 3},
		{"zero", 0, 0, true, 0},
	}
	p := NewPool(1)
	b := p.Get()
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b.Reset(100)
			b.SetFrame(tc.off, 100)
			ok := b.Prepend(tc.n)
			if ok != tc.ok {
				t.Fatalf("Prepend(%d) at %d: %v, want %v", tc.n, tc.off, ok, tc.ok)
			}
			wantLen := 100
			if ok {
				wantLen += tc.n
			}
			if int(b.Off) != tc.wantOff || int(b.Len) != wantLen {
				t.Fatalf("Off %d Len %d, want %d %d", b.Off, b.Len, tc.wantOff, wantLen)
			}
		})
	}
}

func TestBufPrependKeepsFrame(t *testing.T) {
	p := NewPool(1)
	b := p.Get()
	copy(b.Reset(4), "abcd")
	if !b.Prepend(2) {
		t.Fatal("Prepend(2) failed")
	}
	copy(b.Bytes()[:2], "xy")
	if got := string(b.Bytes()); got != "xyabcd" {
		t.Fatalf("frame %q, want %q", got, "xyabcd")
	}
}

func TestBufSetFrameAndL3(t *testing.T) {
	p := NewPool(1)
	b := p.Get()
	raw := b.Raw()
	for i := range raw {
		raw[i] = byte(i)
	}
	tests := []struct{ off, n, l3 int }{
		{Headroom, 60, 14},
		{Headroom - 4, 64, 18},
		{0, 100, 0},
		{100, 50, 50}, // L3 at the end: empty L3
		{Stride - 10, 10, 4},
	}
	for _, tc := range tests {
		b.SetFrame(tc.off, tc.n)
		b.L3 = uint16(tc.l3)
		if !bytes.Equal(b.Bytes(), raw[tc.off:tc.off+tc.n]) {
			t.Errorf("SetFrame(%d, %d): Bytes wrong", tc.off, tc.n)
		}
		if !bytes.Equal(b.L3Bytes(), raw[tc.off+tc.l3:tc.off+tc.n]) {
			t.Errorf("SetFrame(%d, %d), L3 %d: L3Bytes wrong", tc.off, tc.n, tc.l3)
		}
		if len(b.L3Bytes()) != tc.n-tc.l3 {
			t.Errorf("L3Bytes len %d, want %d", len(b.L3Bytes()), tc.n-tc.l3)
		}
	}
}

func TestBatchPushRoom(t *testing.T) {
	p := NewPool(BatchSize + 1)
	var v Batch
	if v.Room() != BatchSize {
		t.Fatalf("empty batch Room %d, want %d", v.Room(), BatchSize)
	}
	var first *Buf
	for i := range BatchSize {
		b := p.Get()
		if i == 0 {
			first = b
		}
		if !v.Push(b) {
			t.Fatalf("Push %d failed with Room %d", i, v.Room())
		}
		if v.N != i+1 || v.Room() != BatchSize-i-1 || v.B[i] != b.Index() || v.Buf(i) != b {
			t.Fatalf("after Push %d: N %d Room %d", i, v.N, v.Room())
		}
	}
	extra := p.Get()
	if v.Push(extra) {
		t.Fatal("Push into a full batch succeeded")
	}
	if v.N != BatchSize || v.Room() != 0 || v.Buf(0) != first {
		t.Fatalf("failed Push changed the batch: N %d Room %d", v.N, v.Room())
	}
	p.PutBatch(&v)
	p.Put(extra)
	if p.Free() != BatchSize+1 {
		t.Fatalf("Free %d, want %d", p.Free(), BatchSize+1)
	}
}

// TestBuffersDoNotOverlap fills every buffer's whole Raw() with its own
// pattern and checks that no buffer sees another's bytes, and that the
// buffers are Stride apart in one slab.
func TestBuffersDoNotOverlap(t *testing.T) {
	const n = 64
	p := NewPool(n)
	xs := make([]uint32, n)
	if got := p.GetN(xs); got != n {
		t.Fatalf("GetN: %d", got)
	}
	bufs := make([]*Buf, n)
	for i, x := range xs {
		bufs[i] = At(x)
	}
	for i, b := range bufs {
		raw := b.Raw()
		if len(raw) != Stride || cap(raw) != Stride {
			t.Fatalf("buffer %d: len %d cap %d, want %d (append must not reach the next buffer)", i, len(raw), cap(raw), Stride)
		}
		for j := range raw {
			raw[j] = byte(i*7 + 1)
		}
	}
	for i, b := range bufs {
		for j, c := range b.Raw() {
			if c != byte(i*7+1) {
				t.Fatalf("buffer %d byte %d is %#x, want %#x: another buffer overlaps it", i, j, c, byte(i*7+1))
			}
		}
	}
	// Stride 1920 apart: sort the start addresses by buffer index in the slab.
	slab := p.Arena().Region()
	base := &slab[0]
	for i, b := range bufs {
		off := -1
		for k := range n {
			if &slab[k*Stride] == &b.Raw()[0] {
				off = k
			}
		}
		if off < 0 {
			t.Fatalf("buffer %d does not start on a Stride boundary of the slab (slab %p)", i, base)
		}
	}
}

func TestPoolDoesNotAllocate(t *testing.T) {
	p := NewPool(2 * BatchSize)
	var v Batch
	dst := make([]uint32, 32)
	tests := []struct {
		name string
		f    func()
	}{
		{"Get/Put", func() { p.Put(p.Get()) }},
		{"GetN/Put", func() {
			n := p.GetN(dst)
			for _, x := range dst[:n] {
				p.Put(At(x))
			}
		}},
		{"GetN/PutBatch", func() {
			v.N = p.GetN(v.B[:BatchSize])
			p.PutBatch(&v)
		}},
		{"Reset/Prepend/Bytes", func() {
			b := p.Get()
			b.Reset(60)
			b.Prepend(4)
			_ = b.Bytes()
			_ = b.L3Bytes()
			p.Put(b)
		}},
	}
	for _, tc := range tests {
		if a := testing.AllocsPerRun(1000, tc.f); a != 0 {
			t.Errorf("%s: %v allocations per run, want 0", tc.name, a)
		}
		if p.Free() != p.Size() {
			t.Fatalf("%s: leaked buffers: Free %d Size %d", tc.name, p.Free(), p.Size())
		}
	}
}

// TestRecsAt checks Records().At resolves every index of an arena to the
// same record as At, the buffer whose Index is that index.
func TestRecsAt(t *testing.T) {
	p := NewPool(100)
	recs := Records()
	xs := make([]uint32, 100)
	if n := p.GetN(xs); n != 100 {
		t.Fatalf("got %d buffers, want 100", n)
	}
	for _, x := range xs {
		if b := recs.At(x); b != At(x) || b.Index() != x {
			t.Fatalf("index %d: Records().At gives %p (index %d), At gives %p", x, b, b.Index(), At(x))
		}
	}
	p.PutN(xs)
}

// TestSetDst4Bytes: the header-bytes form notes the same IPv4-mapped
// destination as SetDst4.
func TestSetDst4Bytes(t *testing.T) {
	var m, want Meta
	m.SetDst4Bytes([4]byte{192, 0, 2, 77})
	want.SetDst4(0xc000024d)
	if m.Dst != want.Dst || m.Dst4() != 0xc000024d {
		t.Errorf("SetDst4Bytes noted %x, want %x (Dst4 %#x)", m.Dst, want.Dst, m.Dst4())
	}
}

// TestHeaderViews: L3Head, EthAt and L2At are the bytes at L3 and at off, and
// panic rather than reach past the buffer's memory.
func TestHeaderViews(t *testing.T) {
	p := NewPool(1)
	b := p.Get()
	raw := b.Raw()
	for i := range raw {
		raw[i] = byte(i)
	}
	b.SetFrame(Headroom, 60)
	b.L3 = 14
	if h := b.L3Head(); !bytes.Equal(h[:], raw[Headroom+14:Headroom+34]) {
		t.Errorf("L3Head: % x", h[:])
	}
	if e := b.EthAt(Headroom); !bytes.Equal(e[:], raw[Headroom:Headroom+14]) {
		t.Errorf("EthAt: % x", e[:])
	}
	panics := func(name string, f func()) {
		t.Helper()
		defer func() {
			if recover() == nil {
				t.Errorf("%s did not panic", name)
			}
		}()
		f()
	}
	b.SetFrame(Stride-10, 10)
	b.L3 = 0
	panics("L3Head 10 bytes before the end", func() { b.L3Head() })
	panics("EthAt 10 bytes before the end", func() { b.EthAt(Stride - 10) })
	panics("EthAt(-1)", func() { b.EthAt(-1) })
	panics("L2At 10 bytes before the end", func() { b.L2At(Stride - 10) })
	if l := b.L2At(Headroom); !bytes.Equal(l[:], raw[Headroom:Headroom+22]) {
		t.Errorf("L2At: % x", l[:])
	}
}
