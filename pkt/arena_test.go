package pkt

import (
	"reflect"
	"runtime"
	"strings"
	"testing"
	"unsafe"

	"github.com/softnet/softnet/internal/testenv"
)

// TestArenaLayouts checks every layout the router and an AF_XDP UMEM use:
// chunk sizes, stagger, UMEM addresses and 64-byte-aligned records.
func TestArenaLayouts(t *testing.T) {
	tests := []struct {
		chunk, stagger int
		maxFrame       int
	}{
		{0, 0, MaxFrame},
		{2048, 0, 2048 - Headroom},
		{2048, 4, 2048 - Headroom - 3*64},
		{4096, 0, 4096 - Headroom},
		{4096, 8, 4096 - Headroom - 7*64},
	}
	for _, tc := range tests {
		a, err := NewArena(ArenaOptions{Frames: 100, Chunk: tc.chunk, Stagger: tc.stagger})
		if err != nil {
			t.Fatalf("chunk %d stagger %d: %v", tc.chunk, tc.stagger, err)
		}
		chunk := tc.chunk
		if chunk == 0 {
			chunk = Stride
		}
		if a.Chunk() != chunk || a.MaxFrame() != tc.maxFrame || len(a.Region()) != 100*chunk {
			t.Fatalf("chunk %d stagger %d: Chunk %d MaxFrame %d Region %d, want %d %d %d",
				tc.chunk, tc.stagger, a.Chunk(), a.MaxFrame(), len(a.Region()), chunk, tc.maxFrame, 100*chunk)
		}
		region := a.Region()
		stagger := max(tc.stagger, 1)
		for i := range a.Len() {
			b := a.Buf(i)
			if uintptr(unsafe.Pointer(b))%64 != 0 {
				t.Fatalf("record %d at %p: not 64-byte aligned", i, b)
			}
			if At(b.Index()) != b || b.Index() != a.First()+uint32(i) {
				t.Fatalf("buffer %d: index %d does not lead back to it", i, b.Index())
			}
			raw := b.Raw()
			if len(raw) != chunk || cap(raw) != chunk || &raw[0] != &region[i*chunk] {
				t.Fatalf("buffer %d: Raw len %d cap %d, not chunk %d of the region", i, len(raw), cap(raw), i)
			}
			head := Headroom + (i%stagger)*64
			f := b.Reset(60)
			if b.Head() != head || int(b.Off) != head || &f[0] != &raw[head] {
				t.Fatalf("buffer %d: frame starts at %d, want %d", i, b.Off, head)
			}
			if got := a.Addr(b); got != uint64(i*chunk+head) {
				t.Fatalf("buffer %d: UMEM address %d, want %d", i, got, i*chunk+head)
			}
			if lb, off, ok := a.Lookup(a.Addr(b)); !ok || lb != b || off != head {
				t.Fatalf("buffer %d: Lookup(Addr) = %p %d %v", i, lb, off, ok)
			}
			b.Reset(a.MaxFrame()) // fits
			func() {
				defer func() {
					if recover() == nil {
						t.Fatalf("chunk %d stagger %d buffer %d: Reset past the chunk did not panic: the frame would run into the next chunk", chunk, stagger, i)
					}
				}()
				b.Reset(chunk - head + 1)
			}()
		}
		if _, _, ok := a.Lookup(uint64(len(region))); ok {
			t.Fatal("Lookup past the region: ok")
		}
		if err := a.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

func TestArenaOptionErrors(t *testing.T) {
	tests := []struct {
		o    ArenaOptions
		want string
	}{
		{ArenaOptions{Frames: 0}, "want at least 1"},
		{ArenaOptions{Frames: 8, Chunk: 1024}, "2048 or 4096"},
		{ArenaOptions{Frames: 8, Chunk: 2050}, "multiple of 64"},
		{ArenaOptions{Frames: 8, Chunk: 3072, Stagger: 2}, "power-of-two"},
		{ArenaOptions{Frames: 8, Chunk: 2048, Stagger: 8}, "smaller stagger"},
	}
	for _, tc := range tests {
		a, err := NewArena(tc.o)
		if err == nil {
			a.Close()
			t.Errorf("%+v: no error", tc.o)
			continue
		}
		if !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: %v, want it to say %q", tc.o, err, tc.want)
		}
	}
}

// TestArenaIndicesGlobal: indices of different arenas never collide, so a
// buffer can move from one worker's pool to another's and be found with
// At alone; a closed arena's indices are handed out again.
func TestArenaIndicesGlobal(t *testing.T) {
	a, _ := NewArena(ArenaOptions{Frames: 10})
	b, _ := NewArena(ArenaOptions{Frames: 10, Chunk: 2048})
	if a.First() == 0 || b.First() == 0 {
		t.Fatal("index 0 handed out: it must name no buffer")
	}
	if a.First() < b.First()+10 && b.First() < a.First()+10 {
		t.Fatalf("index ranges overlap: %d+10 and %d+10", a.First(), b.First())
	}
	pa, pb := NewPoolIn(a, 0, 10), NewPoolIn(b, 0, 10)
	x := pa.Get()
	pb.Put(x)
	if got := pb.Get(); got != x || &got.Raw()[0] != &a.Region()[int(x.Index()-a.First())*Stride] {
		t.Fatal("a migrated buffer is not the same buffer")
	}
	first := a.First()
	a.Close()
	c, _ := NewArena(ArenaOptions{Frames: 10})
	defer c.Close()
	defer b.Close()
	if c.First() != first {
		t.Fatalf("closed arena's indices not reused: new first %d, freed %d", c.First(), first)
	}
}

// TestVectorsHoldNoPointers: a Batch and a Pool's free list hold indices,
// not pointers, so storing a buffer into a vector runs no GC write barrier
// and the GC does not scan vectors or free lists.
func TestVectorsHoldNoPointers(t *testing.T) {
	if testenv.HasPointers(reflect.TypeFor[Batch]()) {
		t.Error("pkt.Batch has pointer fields: every vector store runs a write barrier")
	}
	f, _ := reflect.TypeFor[Pool]().FieldByName("free")
	if testenv.HasPointers(f.Type.Elem()) {
		t.Errorf("Pool.free holds %v: the GC scans free lists", f.Type.Elem())
	}
	if testenv.HasPointers(reflect.TypeFor[Meta]()) {
		t.Error("pkt.Meta has pointer fields")
	}
}

// TestArenaOffHeap: a 64 MiB arena does not grow the Go heap, so the GC
// neither scans nor counts it.
func TestArenaOffHeap(t *testing.T) {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	const n = 64 << 20 / Stride
	a, err := NewArena(ArenaOptions{Frames: n})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	for i := range n {
		a.Buf(i).Reset(64)[0] = 1 // touch frames and records
	}
	runtime.ReadMemStats(&after)
	if grew := int64(after.HeapSys) - int64(before.HeapSys); grew > 4<<20 {
		t.Fatalf("Go heap grew by %d bytes for a %d-byte arena: the arena is on the heap", grew, n*Stride)
	}
	if grew := int64(after.HeapAlloc) - int64(before.HeapAlloc); grew > 1<<20 {
		t.Fatalf("Go heap allocation grew by %d bytes for a %d-byte arena", grew, n*Stride)
	}
}

func TestDst4(t *testing.T) {
	var m Meta
	m.SetDst4(0xc0a80102)
	if m.Dst4() != 0xc0a80102 {
		t.Fatalf("Dst4 %#x", m.Dst4())
	}
	want := [16]byte{10: 0xff, 11: 0xff, 12: 192, 13: 168, 14: 1, 15: 2}
	if m.Dst != want {
		t.Fatalf("Dst %v, want the IPv4-mapped address %v", m.Dst, want)
	}
}

func TestAtAllocsNothing(t *testing.T) {
	p := NewPool(4)
	var v Batch
	v.N = p.GetN(v.B[:4])
	if a := testing.AllocsPerRun(100, func() {
		for i := range v.N {
			v.Buf(i).Len++
		}
	}); a != 0 {
		t.Fatalf("%v allocations", a)
	}
}
