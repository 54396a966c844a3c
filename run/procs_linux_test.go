package run

import (
	"fmt"
	"runtime"
	"testing"

	"github.com/softnet/softnet/internal/testenv"
)

// TestLinuxCPGivesTheWorkersAProc: softnet started with linux_cp in a
// runtime of one P (softnet pinned to one CPU by taskset) raises
// GOMAXPROCS to the workers and one, so that a worker never waits for
// the applier to give the P back: in the full table's burst it lost 22%
// of the flood, and 1.3% with the P of its own.
func TestLinuxCPGivesTheWorkersAProc(t *testing.T) {
	testenv.Root(t) // linux_cp's netlink socket (SO_RCVBUFFORCE)
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	cfg := writeConfig(t, t.TempDir(), fmt.Sprintf(twoPort, 1, "mem", "mem")+"linux_cp:\n  interfaces: [lan0, wan0]\n  protocols: [bgp]\n")
	r, err := Start(cfg, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Stop()
	if _, ok := r.LinuxCP(); !ok {
		t.Fatal("linux_cp not started")
	}
	if n := runtime.GOMAXPROCS(0); n < 2 {
		t.Errorf("GOMAXPROCS %d with one worker and linux_cp, want at least 2", n)
	}
}

// TestWorkersGetAProcEveryConfig: every config, not only linux_cp's, has
// control-plane work that holds a P (a reload building a full table, a
// blocklist load, the API): started in a runtime of one P, with two
// workers, softnet raises GOMAXPROCS to three; it never lowers it.
func TestWorkersGetAProcEveryConfig(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	cfg := writeConfig(t, t.TempDir(), fmt.Sprintf(twoPort, 2, "mem", "mem"))
	r, err := Start(cfg, Options{})
	if err != nil {
		t.Fatal(err)
	}
	r.Stop()
	if n := runtime.GOMAXPROCS(0); n != 3 {
		t.Errorf("GOMAXPROCS %d with two workers, want 3", n)
	}
	runtime.GOMAXPROCS(8)
	r, err = Start(cfg, Options{})
	if err != nil {
		t.Fatal(err)
	}
	r.Stop()
	if n := runtime.GOMAXPROCS(0); n != 8 {
		t.Errorf("GOMAXPROCS %d after a start with 8, want 8 (never lowered)", n)
	}
}
