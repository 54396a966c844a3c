package dp_test

import (
	"sync/atomic"
	"testing"

	"github.com/softnet/softnet/dp"
	"github.com/softnet/softnet/pkt"
	"github.com/softnet/softnet/port"
	"github.com/softnet/softnet/port/mem"
)

// TestInjectLongerThanBuffers: a worker whose pool is a slice of an arena
// of 2048-byte chunks (Options.Pool) takes a control-plane frame longer
// than its buffers without writing past a chunk: the frame is dropped and
// the buffer goes back; a frame that fits is sent.
func TestInjectLongerThanBuffers(t *testing.T) {
	a, err := pkt.NewArena(pkt.ArenaOptions{Frames: 512, Chunk: 2048})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	pool := pkt.NewPoolIn(a, 0, 512)
	sink := mem.NewSink("out0")
	var cfg atomic.Pointer[dp.Config]
	cfg.Store(&dp.Config{Ifaces: []dp.Iface{{Up: true}}})
	w := dp.NewWorker(0, &cfg, []port.Port{sink}, nil, dp.Options{Pool: pool})
	if w.Pool() != pool {
		t.Fatal("the worker did not take Options.Pool")
	}
	for _, n := range []int{3000, 60} {
		m := w.Inject().Reserve()
		m.Kind, m.Iface = dp.InjectTx, 0
		m.SetFrame(make([]byte, n))
		w.Inject().Commit()
	}
	w.Poll()
	if s := sink.Sent(); s != 1 {
		t.Fatalf("sent %d frames, want 1 (the 60-byte one)", s)
	}
	if pool.Free() != pool.Size() {
		t.Fatalf("pool %d/%d", pool.Free(), pool.Size())
	}
}
