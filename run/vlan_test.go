package run

import (
	"bytes"
	"encoding/binary"
	"net/netip"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/softnet/softnet/config"
	"github.com/softnet/softnet/dp/dptest"
	"github.com/softnet/softnet/hdr"
	"github.com/softnet/softnet/port/mem"
)

// vlanConfig lists a VLAN before the ports it uses: the router numbers
// ports first whatever the order.
const vlanConfig = `workers: 2
interfaces:
  - {name: lan0.100, parent: lan0, vlan: 100, addresses: [10.1.0.1/24]}
  - name: lan0
    backend: mem
    mac: 02:52:00:00:00:01
    addresses: [10.0.1.1/24]
  - name: wan0
    backend: mem
    mac: 02:52:00:00:00:02
    addresses: [10.0.2.1/24]
  - {name: wan0.qinq, parent: wan0, outer_vlan: 10, vlan: 20, addresses: [10.2.0.1/24]}
routes:
  - {prefix: 198.18.0.0/15, via: 10.2.0.2}
neighbors:
  - {interface: wan0.qinq, address: 10.2.0.2, mac: 02:bb:00:00:00:02}
  - {interface: lan0.100, address: 10.1.0.2, mac: 02:aa:00:00:00:02}
`

// TestVLANRun starts a router with VLAN sub-interfaces from a config and
// forwards from a VLAN to a QinQ sub-interface over mem ports.
func TestVLANRun(t *testing.T) {
	cfg := writeConfig(t, t.TempDir(), vlanConfig)
	n0 := runtime.NumGoroutine()
	r, err := Start(cfg, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer noLeak(t, n0)
	defer r.Stop()
	src := netip.MustParseAddr("10.1.0.2")
	var in [][]byte
	for i := 1; i <= 5; i++ {
		f := dptest.IPv4Frame(lanMAC, hostA, src, netip.AddrFrom4([4]byte{198, 18, 0, byte(i)}), hdr.ProtoUDP, 64, false, dptest.UDP(1000, 9, 18))
		in = append(in, dptest.Tag(f, hdr.EtherTypeVLAN, 100))
	}
	r.Port("lan0").(*mem.Queue).Push(in...)
	var out [][]byte
	waitFor(t, "5 frames out of wan0", func() bool { out = append(out, r.Port("wan0").(*mem.Queue).Take()...); return len(out) == 5 })
	for _, f := range out {
		if binary.BigEndian.Uint16(f[12:]) != hdr.EtherTypeQinQ || binary.BigEndian.Uint16(f[14:]) != 10 ||
			binary.BigEndian.Uint16(f[16:]) != hdr.EtherTypeVLAN || binary.BigEndian.Uint16(f[18:]) != 20 ||
			binary.BigEndian.Uint16(f[20:]) != hdr.EtherTypeIPv4 || !bytes.Equal(f[0:6], hostB[:]) || !bytes.Equal(f[6:12], wanMAC[:]) {
			t.Fatalf("frame out % x", f[:24])
		}
	}
	var vs []string
	waitFor(t, "the VLAN counters", func() bool {
		vs = vs[:0]
		ok := true
		for _, v := range r.Control().VLANs() {
			vs = append(vs, v.Name)
			switch v.Name {
			case "lan0.100":
				ok = ok && v.RxPackets == 5 && v.Parent == "lan0" && v.MTU == 1496
			case "wan0.qinq":
				ok = ok && v.TxPackets == 5 && v.OuterVLAN == 10 && v.VLAN == 20 && v.TPID == hdr.EtherTypeQinQ && v.MTU == 1492
			}
		}
		return ok
	})
	if strings.Join(vs, ",") != "lan0.100,wan0.qinq" {
		t.Errorf("VLANs %v", vs)
	}
	if st := r.Status(); len(st) != 4 || st[0].Name != "lan0" || st[1].Name != "wan0" || st[0].RxPackets != 0 ||
		st[2].Name != "lan0.100" || st[2].Backend != "vlan" || st[2].RxPackets != 5 || st[3].Name != "wan0.qinq" || st[3].TxPackets != 5 || !st[3].Up || !st[3].AdminUp {
		t.Errorf("status %+v", st)
	}
}

// TestVLANRunMTU: a VLAN MTU above what its parent allows is reported
// against the config's line, by the config's check (softnet check), which
// softnet run and reload apply first.
func TestVLANRunMTU(t *testing.T) {
	src := strings.Replace(vlanConfig, "vlan: 20, addresses", "vlan: 20, mtu: 1600, addresses", 1)
	file := filepath.Join(t.TempDir(), "r.yaml")
	if err := os.WriteFile(file, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	_, _, err := config.Check(file)
	var es config.Errors
	if err == nil || !errorsAs(err, &es) || !strings.Contains(err.Error(), "r.yaml:12:") || !strings.Contains(err.Error(), "1492") {
		t.Fatalf("got %v", err)
	}
}

func errorsAs(err error, es *config.Errors) bool {
	e, ok := err.(config.Errors)
	*es = e
	return ok
}

// TestVLANReload: a reload applies a VLAN sub-interface's addresses and
// neighbours; changing its tag needs a restart.
func TestVLANReload(t *testing.T) {
	dir := t.TempDir()
	cfg := writeConfig(t, dir, vlanConfig)
	r, err := Start(cfg, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Stop()
	src := strings.Replace(vlanConfig, "10.1.0.1/24", "10.1.1.1/24", 1)
	src = strings.Replace(src, "address: 10.1.0.2", "address: 10.1.1.2", 1)
	writeConfig(t, dir, src)
	if _, err := r.Reload(""); err != nil {
		t.Fatalf("reload: %v", err)
	}
	vs := r.Control().VLANs()
	if len(vs) != 2 || len(vs[0].Addrs) != 1 || vs[0].Addrs[0].Addr4() != 0x0a010101 {
		t.Fatalf("after reload: %+v", vs)
	}
	writeConfig(t, dir, strings.Replace(src, "vlan: 100", "vlan: 101", 1))
	if _, err := r.Reload(""); err == nil || !strings.Contains(err.Error(), "a VLAN setting (parent, vlan, outer_vlan, tpid) changed") {
		t.Fatalf("reload with a new VLAN ID: %v", err)
	}
}

// TestVLANReloadDeleted: a reload whose config still has a neighbour (or a
// route) on a VLAN deleted at run time explains what was deleted and how
// to go on, instead of "no interface -1"; without them, the reload works.
func TestVLANReloadDeleted(t *testing.T) {
	dir := t.TempDir()
	cfg := writeConfig(t, dir, vlanConfig)
	r, err := Start(cfg, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Stop()
	if err := r.Control().DeleteVLAN("lan0.100"); err != nil {
		t.Fatal(err)
	}
	_, err = r.Reload("")
	if err == nil || strings.Contains(err.Error(), "-1") || !strings.Contains(err.Error(), "lan0.100") ||
		!strings.Contains(err.Error(), "deleted at run time") || !strings.Contains(err.Error(), "10.1.0.2") {
		t.Fatalf("reload with a neighbour on the deleted VLAN: %v", err)
	}
	// A route through a gateway on the deleted VLAN's subnet.
	src := strings.Replace(vlanConfig, "  - {interface: lan0.100, address: 10.1.0.2, mac: 02:aa:00:00:00:02}\n", "", 1)
	src = strings.Replace(src, "routes:\n", "routes:\n  - {prefix: 172.16.0.0/12, via: 10.1.0.9}\n", 1)
	writeConfig(t, dir, src)
	_, err = r.Reload("")
	if err == nil || !strings.Contains(err.Error(), "lan0.100") || !strings.Contains(err.Error(), "deleted at run time") ||
		!strings.Contains(err.Error(), "172.16.0.0/12") {
		t.Fatalf("reload with a route via the deleted VLAN: %v", err)
	}
	src = strings.Replace(src, "  - {prefix: 172.16.0.0/12, via: 10.1.0.9}\n", "", 1)
	writeConfig(t, dir, src)
	if _, err := r.Reload(""); err != nil {
		t.Fatalf("reload without references to the deleted VLAN: %v", err)
	}
}

// TestReloadWarnsRuntimeChanges: a reload of a config without the route
// and the static neighbour added at run time (the API) removes them and
// says so, naming each; the config's own are not named.
func TestReloadWarnsRuntimeChanges(t *testing.T) {
	dir := t.TempDir()
	r, err := Start(writeConfig(t, dir, vlanConfig), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Stop()
	ctl := r.Control()
	if err := ctl.AddRoute(netip.MustParsePrefix("203.0.113.0/24"), netip.MustParseAddr("10.0.2.9")); err != nil {
		t.Fatal(err)
	}
	if err := ctl.AddNeighbor(ctl.InterfaceIndex("lan0"), netip.MustParseAddr("10.0.1.77"), [6]byte{2, 0xcc, 0, 0, 0, 1}); err != nil {
		t.Fatal(err)
	}
	res, err := r.Reload("")
	if err != nil {
		t.Fatal(err)
	}
	w := strings.Join(res.Warnings, "\n")
	if len(res.Warnings) != 2 || !strings.Contains(w, "route 203.0.113.0/24 removed") || !strings.Contains(w, "neighbor 10.0.1.77 on lan0 removed") ||
		!strings.Contains(w, "r.yaml") {
		t.Fatalf("warnings %q, want the run-time route and neighbour", res.Warnings)
	}
	if res, err := r.Reload(""); err != nil || len(res.Warnings) != 0 {
		t.Fatalf("second reload: %v, warnings %q", err, res.Warnings)
	}
}
