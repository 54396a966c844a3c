package run

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/softnet/softnet/config"
	"github.com/softnet/softnet/port/mem"
	"github.com/softnet/softnet/port/pcapfile"
)

// TestTxQueuesPerWorker: Start gives worker i transmit queue i on every
// port, explicitly, so two workers on a port never share a queue.
func TestTxQueuesPerWorker(t *testing.T) {
	dir := t.TempDir()
	if err := pcapfile.WriteFile(filepath.Join(dir, "in.pcap"), udp(5)); err != nil {
		t.Fatal(err)
	}
	cfg := writeConfig(t, dir, fmt.Sprintf(twoPort, 2, "pcap\n    rx: in.pcap", "pcap\n    tx: out.pcap"))
	r, err := Start(cfg, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Stop()
	if len(r.workers) != 2 || len(r.ports) != 2 {
		t.Fatalf("%d workers, %d ports", len(r.workers), len(r.ports))
	}
	for j := range r.ports {
		for i, w := range r.workers {
			if q := w.TxQueue(j); q != i {
				t.Errorf("worker %d transmits on queue %d of %s, want %d", i, q, r.ports[j].Name(), i)
			}
		}
	}
}

// TestTxQueuesTooFew: a port with fewer transmit queues than workers is
// refused at Start, against the interface's line, with the fix; every
// port opened is closed again.
func TestTxQueuesTooFew(t *testing.T) {
	cfg := writeConfig(t, t.TempDir(), fmt.Sprintf(twoPort, 2, "mem", "mem"))
	orig := openers[config.Mem]
	t.Cleanup(func() { openers[config.Mem] = orig })
	opens, closes := 0, 0
	openers[config.Mem] = func(c *config.Config, ic *config.Interface, q int) (*opened, error) {
		op, err := orig(c, ic, q)
		if err != nil {
			return nil, err
		}
		opens++
		if ic.Name == "wan0" {
			op.port = mem.NewSinkQueues(ic.Name, 1) // one transmit queue
		}
		inner := op.close
		op.close = func() error { closes++; return inner() }
		return op, nil
	}
	r, err := Start(cfg, Options{})
	if err == nil {
		r.Stop()
		t.Fatal("Start succeeded with a one-queue port and two workers")
	}
	want := "interface wan0: mem port has 1 transmit queues for 2 workers (one each): set workers to at most 1"
	if !strings.HasPrefix(err.Error(), cfg.File+":") || !strings.Contains(err.Error(), want) {
		t.Errorf("error\n got %v\nwant %s:LINE:COL: ...%s", err, cfg.File, want)
	}
	if opens != 2 || closes != 2 {
		t.Errorf("%d ports opened, %d closed", opens, closes)
	}
}
