package linuxcp

import (
	"bytes"
	"context"
	"encoding/binary"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/softnet/softnet/internal/netns"
)

// TestHostIfs: OpenHostIfs makes a TAP in the namespace with the MAC, MTU
// and addresses asked for, carrier following SetUp; a frame written to it
// (an ARP request for its address) reaches the kernel, whose answer comes
// back through send; a name taken in the namespace is refused with the
// fix, and Close deletes the TAPs.
func TestHostIfs(t *testing.T) {
	ns := kernelNS(t) // has wan0 and wan1 already
	mac := [6]byte{0x02, 0x53, 0, 0, 0, 7}
	got := make(chan []byte, 64)
	send := func(iface int, f []byte) error {
		if iface == 3 {
			got <- bytes.Clone(f)
		}
		return nil
	}
	if _, err := OpenHostIfs(ns, []HostIf{{Name: "wan0", Iface: 0, MAC: mac}}, send); err == nil || !strings.Contains(err.Error(), "give the host interface another name") {
		t.Fatalf("a TAP named as an existing interface: %v", err)
	}
	h, err := OpenHostIfs(ns, []HostIf{{Name: "host-wan3", Iface: 3, MAC: mac, MTU: 1400,
		Addrs: []netip.Prefix{netip.MustParsePrefix("10.0.3.1/24"), netip.MustParsePrefix("2001:db8:3::1/64")}}}, send)
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	show := func() string {
		out, _ := netns.IP(context.Background(), "-n", ns, "addr", "show", "dev", "host-wan3")
		return out
	}
	out := show()
	for _, want := range []string{"mtu 1400", "link/ether 02:53:00:00:00:07", "inet 10.0.3.1/24", "inet6 2001:db8:3::1/64", "NO-CARRIER"} {
		if !strings.Contains(out, want) {
			t.Errorf("host-wan3 lacks %q:\n%s", want, out)
		}
	}
	h.SetUp(3, true)
	if out := show(); !strings.Contains(out, "LOWER_UP") {
		t.Errorf("after SetUp(true): no carrier:\n%s", out)
	}
	// An ARP request for 10.0.3.1 from 10.0.3.2.
	peer := [6]byte{0x02, 0xaa, 0, 0, 0, 9}
	f := make([]byte, 42)
	copy(f[0:6], []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff})
	copy(f[6:12], peer[:])
	binary.BigEndian.PutUint16(f[12:], 0x0806)
	copy(f[14:22], []byte{0, 1, 8, 0, 6, 4, 0, 1})
	copy(f[22:28], peer[:])
	copy(f[28:32], []byte{10, 0, 3, 2})
	copy(f[38:42], []byte{10, 0, 3, 1})
	h.Write(3, f)
	deadline := time.After(10 * time.Second)
	for {
		select {
		case r := <-got:
			if len(r) >= 42 && bytes.Equal(r[0:6], peer[:]) && bytes.Equal(r[6:12], mac[:]) && r[12] == 0x08 && r[13] == 0x06 && r[21] == 2 {
				// The reader counts a frame (ToPort) after send returns,
				// and send handed it here: wait for the count.
				waitFor(t, "the reply counted in to_port", func() bool { st := h.Stats(); return len(st) == 1 && st[0].ToPort != 0 })
				st := h.Stats()
				if len(st) != 1 || st[0].ToKernel != 1 || st[0].ToPort == 0 || !st[0].Up {
					t.Errorf("stats %+v", st)
				}
				h.SetUp(3, false)
				if out := show(); !strings.Contains(out, "NO-CARRIER") {
					t.Errorf("after SetUp(false): carrier still:\n%s", out)
				}
				h.Close()
				if out, _ := netns.IP(context.Background(), "-n", ns, "link", "show", "host-wan3"); strings.Contains(out, "host-wan3") {
					t.Errorf("after Close: host-wan3 still there:\n%s", out)
				}
				return
			}
		case <-deadline:
			t.Fatalf("no ARP reply from the kernel through the TAP in 10 s; stats %+v", h.Stats())
		}
	}
}
