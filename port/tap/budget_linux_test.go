package tap

import (
	"net"
	"testing"
	"time"

	"github.com/softnet/softnet/pkt"
)

// TestRecvBudgetDropped: frames Recv drops (too long for the pool's
// buffers) count against its budget: one call reads at most a batch's
// worth, so a stream of bad frames cannot hold a worker in its receive
// loop; the next calls read the rest.
func TestRecvBudgetDropped(t *testing.T) {
	p, ns := setup(t, Options{MTU: 9000})
	run(t, "ip", "-n", ns, "link", "set", "sntap0", "txqueuelen", "1000")
	run(t, "ip", "-n", ns, "neigh", "replace", "10.199.0.2", "lladdr", "02:00:00:00:00:02", "dev", "sntap0")
	a, err := pkt.NewArena(pkt.ArenaOptions{Frames: 256, Chunk: 2048, Stagger: 4})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	pool := pkt.NewPoolIn(a, 0, 256)
	const n = 3 * pkt.BatchSize / 2
	err = inNS(ns, func() error {
		c, err := net.DialUDP("udp4", nil, &net.UDPAddr{IP: net.IPv4(10, 199, 0, 2), Port: 9})
		if err != nil {
			return err
		}
		defer c.Close()
		big := make([]byte, 2100) // a 2142-byte frame: longer than a 2048-byte chunk
		for range n {
			if _, err := c.Write(big); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	var v pkt.Batch
	p.Recv(0, &v, pool)
	pool.PutBatch(&v)
	if e := p.Stats().Errors; e == 0 || e > pkt.BatchSize {
		t.Fatalf("one Recv dropped %d frames, want 1..%d (its budget)", e, pkt.BatchSize)
	}
	for end := time.Now().Add(10 * time.Second); p.Stats().Errors < n && time.Now().Before(end); {
		p.Recv(0, &v, pool)
		pool.PutBatch(&v)
	}
	if s := p.Stats(); s.Errors != n || pool.Free() != pool.Size() {
		t.Errorf("errors %d, want %d; pool %d of %d", s.Errors, n, pool.Free(), pool.Size())
	}
}
