package main

import (
	"encoding/binary"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestCaptureVLANDeleted: a capture on a VLAN sub-interface that is
// deleted while it runs kept running with 0 packets (and, once the index
// went to a new VLAN, would have captured that one's packets). Now it
// ends: exit 1, an error naming the interface, and its pcap file complete
// with every packet it counted. Real binary: softnet run, vlan add/del,
// neighbor add, route add/del, capture.
func TestCaptureVLANDeleted(t *testing.T) {
	r := startRealRouter(t)
	cli := func(args string) string {
		t.Helper()
		out, err := softnetCmd(args + " --api " + r.sock).CombinedOutput()
		if err != nil {
			t.Fatalf("softnet %s: %v\n%s", args, err, out)
		}
		return string(out)
	}
	cli("vlan add v7 --parent wan0 --vlan 7 --address 10.0.7.1/24")
	cli("neighbor add 10.0.7.2 02:77:00:00:00:02 dev v7")
	cli("route add 198.18.0.1/32 via 10.0.7.2") // a third of lan0's replay goes out on v7

	file := filepath.Join(r.dir, "v7.pcap")
	capt := softnetCmd("capture -i v7 --tx --format pcap -w " + file + " --api " + r.sock)
	stderr := &syncBuffer{}
	capt.Stderr = stderr
	if err := capt.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- capt.Wait() }()
	defer capt.Process.Kill()
	// Packets written (the capture flushes with each stats event).
	waitFor(t, done, func() bool { st, err := os.Stat(file); return err == nil && st.Size() > 24+16+64 }, "packets in the capture's file")

	cli("route del 198.18.0.1/32")
	cli("vlan del v7")
	var err error
	select {
	case err = <-done:
	case <-time.After(20 * time.Second):
		t.Fatalf("softnet capture -i v7 still running 20 s after v7 was deleted; stderr:\n%s", stderr.String())
	}
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 1 {
		t.Errorf("capture's exit: %v, want exit status 1", err)
	}
	msg := stderr.String()
	t.Logf("capture's stderr:\n%s", msg)
	if !strings.Contains(msg, "interface v7 was deleted while the capture ran") {
		t.Errorf("capture's stderr does not say v7 was deleted:\n%s", msg)
	}
	// The file is whole: the pcap header, then records up to its end,
	// as many as the capture says it captured.
	b, rerr := os.ReadFile(file)
	if rerr != nil {
		t.Fatal(rerr)
	}
	if len(b) < 24 || binary.LittleEndian.Uint32(b) != 0xa1b2c3d4 {
		t.Fatalf("%s: not a pcap file (%d bytes)", file, len(b))
	}
	n := 0
	for off := 24; off < len(b); n++ {
		if off+16 > len(b) {
			t.Fatalf("%s: record %d's header cut at byte %d of %d", file, n, off, len(b))
		}
		off += 16 + int(binary.LittleEndian.Uint32(b[off+8:]))
		if off > len(b) {
			t.Fatalf("%s: record %d cut: ends at byte %d of %d", file, n, off, len(b))
		}
	}
	if n == 0 || !strings.Contains(msg, strconv.Itoa(n)+" packets captured") {
		t.Errorf("%s holds %d packets; capture said:\n%s", file, n, msg)
	}
	r.alive(t, "a capture on a deleted VLAN")
}
