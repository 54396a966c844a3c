package afpacket

import (
	"os/exec"
	"testing"
	"time"

	"github.com/softnet/softnet/internal/testenv"
	"github.com/softnet/softnet/pkt"
)

// TestStackDrop: with StackDrop the namespace's own stack no longer sees
// the device's frames (it answers neither ARP nor ping for its address on
// vA) while the port still receives every one (the ARP requests); without
// it, and once the port is closed, the stack answers again.
func TestStackDrop(t *testing.T) {
	testenv.Tools(t, "ping")
	l := newLab(t)
	run(t, "ip", "-n", l.nsA, "addr", "add", "10.77.0.1/24", "dev", l.devA)
	run(t, "ip", "-n", l.nsB, "addr", "add", "10.77.0.2/24", "dev", l.devB)
	ping := func() bool {
		_ = exec.Command("ip", "-n", l.nsB, "neigh", "flush", "dev", l.devB).Run()
		return exec.Command("ip", "netns", "exec", l.nsB, "ping", "-c", "2", "-i", "0.2", "-W", "1", "10.77.0.1").Run() == nil
	}
	pool := pkt.NewPool(1024)

	p := openPort(t, l.devA, Options{})
	if !ping() {
		t.Fatal("without StackDrop the stack in A does not answer ping on vA")
	}
	p.Close()

	p = openPort(t, l.devA, Options{StackDrop: true})
	if ping() {
		t.Error("with StackDrop the stack in A still answers ping on vA")
	}
	if got := recvFrames(p, 0, pool, 1, 0x0806, 10*time.Second); len(got) == 0 {
		t.Errorf("with StackDrop the port received none of B's ARP requests: %+v", p.Stats())
	}
	p.Close()
	if !ping() {
		t.Error("after Close the stack in A does not answer ping: the drop program is still attached")
	}
}
