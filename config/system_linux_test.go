package config

import (
	"context"
	"fmt"
	"github.com/softnet/softnet/internal/testenv"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/softnet/softnet/internal/netns"
)

// TestCheckAPIGroup (issue 17, defect 11): softnet check refuses an
// api.group that softnet run could not give the socket to, at its line,
// with the message the API's listener gives.
func TestCheckAPIGroup(t *testing.T) {
	file := filepath.Join(t.TempDir(), "g.yaml")
	src := "interfaces:\n  - {name: lan0, backend: mem, addresses: [10.0.1.1/24]}\napi:\n  group: softnet-no-such-group\n"
	if err := os.WriteFile(file, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	_, _, err := Check(file)
	_, lerr := LookupGroup("softnet-no-such-group")
	if lerr == nil {
		t.Fatal("the group exists")
	}
	if want := file + ":4:10: api.group: " + lerr.Error(); err == nil || err.Error() != want {
		t.Fatalf("got %v, want %s", err, want)
	}
	if !strings.Contains(lerr.Error(), `group "softnet-no-such-group": `) || !strings.Contains(lerr.Error(), "create it, or set api: {group: ...} to an existing group") {
		t.Errorf("message %q", lerr)
	}
}

// needRoot skips a test that needs root, or fails it under CI=true.
func needRoot(t *testing.T) {
	t.Helper()
	testenv.Root(t)
	testenv.Tools(t, "ip")
}

// TestCheckDeviceMTU (issue 17, defect 11): softnet check refuses an mtu
// that softnet run and reload refuse: above the afpacket device's MTU, and
// a VLAN sub-interface's above its device-MTU parent's minus the tag. The
// devices are veths in a network namespace of the test's own.
func TestCheckDeviceMTU(t *testing.T) {
	needRoot(t)
	ctx := context.Background()
	ns := fmt.Sprintf("sncfg%d", os.Getpid())
	if err := netns.Add(ctx, ns); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { netns.Delete(context.Background(), ns) })
	for _, args := range [][]string{
		{"-n", ns, "link", "add", "d0", "mtu", "1400", "type", "veth", "peer", "name", "d0p"},
		{"-n", ns, "link", "add", "d1", "mtu", "1400", "type", "veth", "peer", "name", "d1p"},
	} {
		if _, err := netns.IP(ctx, args...); err != nil {
			t.Fatal(err)
		}
	}
	file := filepath.Join(t.TempDir(), "m.yaml")
	src := `interfaces:
  - {name: lan0, backend: afpacket, device: d0, mtu: 1500, addresses: [10.0.1.1/24]}
  - {name: wan0, backend: afpacket, device: d1, addresses: [10.0.2.1/24]}
  - {name: wan0.7, parent: wan0, vlan: 7, mtu: 1400, addresses: [10.0.3.1/24]}
  - {name: wan0.8, parent: wan0, vlan: 8, mtu: 1396, addresses: [10.0.4.1/24]}
`
	if err := os.WriteFile(file, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	var err error
	if nerr := netns.Do(ns, func() error { _, _, err = Check(file); return nil }); nerr != nil {
		t.Fatal(nerr)
	}
	want := []string{
		file + ":2:54: interfaces[0].mtu: 1500 is above the MTU of device d0 (1400): lower it, or raise the device's (ip link set d0 mtu 1500)",
		file + ":4:48: interfaces[2].mtu: 1400 is above the MTU of parent wan0 (1400) minus 4 tag bytes: use at most 1396, or leave it out (the default)",
	}
	if err == nil || err.Error() != strings.Join(want, "\n") {
		t.Fatalf("got:\n%v\nwant:\n%s", err, strings.Join(want, "\n"))
	}
}
