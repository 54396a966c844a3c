package run

import (
	"testing"

	"github.com/softnet/softnet/config"
	"github.com/softnet/softnet/port/afxdp"
)

// TestArenaForAFXDP: a config with an afxdp interface gets an arena of
// 4096-byte chunks (a UMEM), others the default; and the MTU limit the
// config enforces is what such a chunk receives.
func TestArenaForAFXDP(t *testing.T) {
	c := &config.Config{Interfaces: []config.Interface{{Name: "a", Backend: config.AFPacket}, {Name: "b", Backend: config.AFXDP}}}
	if o := arenaOptions(c, 100); o.Chunk != 4096 || o.Frames != 100 {
		t.Errorf("with an afxdp interface: %+v, want 100 frames of 4096 bytes", o)
	}
	c.Interfaces = c.Interfaces[:1]
	if o := arenaOptions(c, 100); o.Chunk != 0 {
		t.Errorf("without afxdp: %+v, want the default chunk", o)
	}
	if got := afxdp.MaxFrame(4096) - 14 - 8; got != config.AFXDPMaxMTU {
		t.Errorf("afxdp.MaxFrame(4096) holds an MTU of %d, config.AFXDPMaxMTU is %d", got, config.AFXDPMaxMTU)
	}
	if _, ok := umemOpeners[config.AFXDP]; !ok {
		t.Error("backend afxdp is not registered")
	}
}

// TestPoolForAFXDP: each afxdp interface lends the kernel a whole ring of
// a worker's buffers (afxdp.DefaultFillFrames), and the worker's pool
// grows by that much, so the default pool stays free for forwarding and
// the control plane.
func TestPoolForAFXDP(t *testing.T) {
	c := &config.Config{Interfaces: []config.Interface{{Name: "a", Backend: config.AFXDP}, {Name: "b", Backend: config.AFXDP}, {Name: "c", Backend: config.AFPacket}}}
	if got, want := lentBuffers(c, 2, 2), 2*afxdp.DefaultFillFrames; got != want {
		t.Errorf("lent buffers with two afxdp interfaces: %d, want %d", got, want)
	}
	// --queues above the workers: a worker serves several queues of each
	// port (queue q: worker q%workers), each lending its ring.
	for _, tc := range []struct{ queues, workers, perWorker int }{{4, 2, 2}, {3, 2, 2}, {8, 2, 4}, {5, 5, 1}, {1, 1, 1}} {
		if got, want := lentBuffers(c, tc.queues, tc.workers), 2*tc.perWorker*afxdp.DefaultFillFrames; got != want {
			t.Errorf("lent buffers with two afxdp interfaces, %d queues, %d workers: %d, want %d (%d queues a worker)",
				tc.queues, tc.workers, got, want, tc.perWorker)
		}
	}
	if afxdp.DefaultFillFrames != afxdp.DefaultRingSize {
		t.Errorf("an afxdp queue lends %d buffers by default, want a whole ring (%d)", afxdp.DefaultFillFrames, afxdp.DefaultRingSize)
	}
}
