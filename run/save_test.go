package run

import (
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/softnet/softnet/config"
	"github.com/softnet/softnet/control"
)

// saveIfaces are added to vlanConfig: a bridge with a routed interface
// and a member that is down.
const saveIfaces = `  - {name: lan1, backend: mem, mac: 02:52:00:00:00:03}
  - {name: lan2, backend: mem, mac: 02:52:00:00:00:04, down: true}
  - {name: irb0, bridge: br0, addresses: [10.5.0.1/24]}
bridges:
  - {name: br0, members: [lan1, lan2]}
`

// state is what a router runs, by name: interfaces (addresses, admin
// state, VLAN tags), bridges, routes and static neighbours.
func state(r *Router) []string {
	ctl := r.Control()
	d := ctl.Running()
	ifs := ctl.Interfaces()
	var out []string
	for i, ifc := range ifs {
		if ifc.Deleted {
			continue
		}
		out = append(out, fmt.Sprintf("iface %s vlan %d/%d addrs %v down %v", ifc.Name, ifc.VLAN, ifc.OuterVLAN, d.Ifaces[i].Addrs, d.Ifaces[i].Down))
	}
	for _, b := range ctl.Bridges() {
		out = append(out, fmt.Sprintf("bridge %s %v bvi %s", b.Name, b.Members, b.BVI))
	}
	for i, p := range d.Routes {
		out = append(out, fmt.Sprintf("route %v via %v", p, d.Via(i)))
	}
	for _, n := range d.Neighbors {
		out = append(out, fmt.Sprintf("neighbor %s %v %x", ifs[n.Iface].Name, n.Addr, n.MAC))
	}
	slices.Sort(out)
	return out
}

// TestConfigSaveRoundTrip: a router changed at run time (routes and
// neighbours added and deleted, a VLAN added, one of the config's deleted,
// a route file's route deleted) writes its running state as a config that
// config.Check accepts and that starts a router in the same state, but
// for the two route-file routes changed at run time, which a route file
// cannot say: those are warnings.
func TestConfigSaveRoundTrip(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "table.txt"), []byte("100.64.0.0/16\n100.65.0.0/16\n100.66.0.0/16\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	src := strings.Replace(vlanConfig, "routes:\n", saveIfaces+"routes:\n", 1)
	src = strings.Replace(src, "neighbors:", "  - {prefix: 203.0.113.128/25, blackhole: true}\nroute_files:\n  - {path: table.txt, via: 10.0.2.9}\nneighbors:", 1)
	r, err := Start(writeConfig(t, dir, src), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Stop()
	ctl := r.Control()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	lan0 := ctl.InterfaceIndex("lan0")
	must(ctl.AddRoute(netip.MustParsePrefix("203.0.113.0/25"), netip.MustParseAddr("10.0.2.9")))
	must(ctl.AddRoute(netip.MustParsePrefix("100.66.0.0/16"), netip.MustParseAddr("10.0.2.7"))) // a route file's, another next hop
	must(ctl.DeleteRoute(netip.MustParsePrefix("100.65.0.0/16")))                               // a route file's
	must(ctl.DeleteRoute(netip.MustParsePrefix("198.18.0.0/15")))                               // the config's
	must(ctl.AddNeighbor(lan0, netip.MustParseAddr("10.0.1.77"), [6]byte{2, 0xcc, 0, 0, 0, 1}))
	must(ctl.DeleteNeighbor(ctl.InterfaceIndex("lan0.100"), netip.MustParseAddr("10.1.0.2")))
	must(ctl.DeleteVLAN("lan0.100"))
	_, err = ctl.AddInterface(control.IfaceConfig{Name: "wan0.300", Parent: "wan0", VLAN: 300,
		Addrs: []netip.Prefix{netip.MustParsePrefix("10.30.0.1/24")}, Down: true})
	must(err)
	must(ctl.AddRoute(netip.MustParsePrefix("192.0.2.0/24"), netip.MustParseAddr("10.30.0.2")))
	ctl.Publish()
	want := state(r)

	saved, err := r.RunningConfig()
	must(err)
	w := strings.Join(saved.Warnings, "\n")
	if len(saved.Warnings) != 2 || !strings.Contains(w, "route 100.65.0.0/16 was deleted at run time") ||
		!strings.Contains(w, "route 100.66.0.0/16 is via 10.0.2.7 now, but route file table.txt gives it via 10.0.2.9") {
		t.Fatalf("warnings %q, want the two route-file routes changed at run time", saved.Warnings)
	}
	file := filepath.Join(t.TempDir(), "saved.yaml") // another directory: the route file's path is absolute
	must(os.WriteFile(file, []byte(saved.YAML), 0o644))
	cfg, _, err := config.Check(file)
	if err != nil {
		t.Fatalf("softnet check of the saved config: %v\n%s", err, saved.YAML)
	}
	r2, err := Start(cfg, Options{})
	if err != nil {
		t.Fatalf("starting from the saved config: %v\n%s", err, saved.YAML)
	}
	defer r2.Stop()
	got := state(r2)
	// What the warnings said: the route file gives its routes back.
	want[slices.Index(want, "route 100.66.0.0/16 via 10.0.2.7")] = "route 100.66.0.0/16 via 10.0.2.9"
	want = append(want, "route 100.65.0.0/16 via 10.0.2.9")
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Fatalf("started from the saved config:\n%s\nthe router that saved it:\n%s\nconfig:\n%s",
			strings.Join(got, "\n"), strings.Join(want, "\n"), saved.YAML)
	}
	for _, s := range []string{"wan0.300", "203.0.113.0/25", "10.0.1.77", "192.0.2.0/24"} {
		if !strings.Contains(strings.Join(want, "\n"), s) {
			t.Fatalf("the state compared lacks %s:\n%s", s, strings.Join(want, "\n"))
		}
	}
}

// TestConfigSaveIPv6Routes: IPv6 routes added through the API are saved
// in the file's routes (via a next hop, or blackhole) with no warning, and
// the saved file checks and gives them back.
func TestConfigSaveIPv6Routes(t *testing.T) {
	dir := t.TempDir()
	src := strings.Replace(vlanConfig, "addresses: [10.0.2.1/24]", "addresses: [10.0.2.1/24, 2001:db8:2::1/64]", 1)
	r, err := Start(writeConfig(t, dir, src), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Stop()
	ctl := r.Control()
	if err := ctl.AddRoute(netip.MustParsePrefix("2001:db8:100::/48"), netip.MustParseAddr("2001:db8:2::2")); err != nil {
		t.Fatal(err)
	}
	if err := ctl.AddRoute(netip.MustParsePrefix("2001:db8:bad::/48"), netip.Addr{}); err != nil {
		t.Fatal(err)
	}
	saved, err := r.RunningConfig()
	if err != nil {
		t.Fatal(err)
	}
	if len(saved.Warnings) != 0 {
		t.Errorf("warnings %q, want none", saved.Warnings)
	}
	// The rest is saved as before, and checks.
	file := filepath.Join(dir, "saved.yaml")
	if err := os.WriteFile(file, []byte(saved.YAML), 0o644); err != nil {
		t.Fatal(err)
	}
	c, _, err := config.Check(file)
	if err != nil {
		t.Fatalf("softnet check of the saved config: %v\n%s", err, saved.YAML)
	}
	got := map[netip.Prefix]config.Route{}
	for _, rt := range c.Routes {
		got[rt.Prefix] = rt
	}
	if rt := got[netip.MustParsePrefix("2001:db8:100::/48")]; rt.Via != netip.MustParseAddr("2001:db8:2::2") {
		t.Errorf("saved route 2001:db8:100::/48: %+v, want via 2001:db8:2::2\n%s", rt, saved.YAML)
	}
	if rt := got[netip.MustParsePrefix("2001:db8:bad::/48")]; !rt.Blackhole {
		t.Errorf("saved route 2001:db8:bad::/48: %+v, want blackhole\n%s", rt, saved.YAML)
	}
	if !strings.Contains(saved.YAML, "2001:db8:2::1/64") || !strings.Contains(saved.YAML, "198.18.0.0/15") {
		t.Errorf("saved config lacks wan0's IPv6 address or the IPv4 route:\n%s", saved.YAML)
	}
}

// TestConfigSaveReAddedVLAN: a VLAN of the config deleted and added again
// at run time under the same name with other tags is saved as it runs,
// not with the config's old tags.
func TestConfigSaveReAddedVLAN(t *testing.T) {
	dir := t.TempDir()
	r, err := Start(writeConfig(t, dir, vlanConfig), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Stop()
	ctl := r.Control()
	if err := ctl.DeleteNeighbor(ctl.InterfaceIndex("lan0.100"), netip.MustParseAddr("10.1.0.2")); err != nil {
		t.Fatal(err)
	}
	if err := ctl.DeleteVLAN("lan0.100"); err != nil {
		t.Fatal(err)
	}
	if _, err := ctl.AddInterface(control.IfaceConfig{Name: "lan0.100", Parent: "lan0", VLAN: 101,
		Addrs: []netip.Prefix{netip.MustParsePrefix("10.1.0.1/24")}}); err != nil {
		t.Fatal(err)
	}
	// And the QinQ one with another outer tag and TPID.
	if err := ctl.DeleteRoute(netip.MustParsePrefix("198.18.0.0/15")); err != nil {
		t.Fatal(err)
	}
	if err := ctl.DeleteNeighbor(ctl.InterfaceIndex("wan0.qinq"), netip.MustParseAddr("10.2.0.2")); err != nil {
		t.Fatal(err)
	}
	if err := ctl.DeleteVLAN("wan0.qinq"); err != nil {
		t.Fatal(err)
	}
	if _, err := ctl.AddInterface(control.IfaceConfig{Name: "wan0.qinq", Parent: "wan0", OuterVLAN: 11, VLAN: 20, TPID: 0x8100,
		Addrs: []netip.Prefix{netip.MustParsePrefix("10.2.0.1/24")}}); err != nil {
		t.Fatal(err)
	}
	ctl.Publish()
	want := state(r)
	saved, err := r.RunningConfig()
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dir, "saved.yaml")
	if err := os.WriteFile(file, []byte(saved.YAML), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, _, err := config.Check(file)
	if err != nil {
		t.Fatalf("softnet check of the saved config: %v\n%s", err, saved.YAML)
	}
	tags := map[string][3]int{}
	for _, ic := range cfg.Interfaces {
		if _, dup := tags[ic.Name]; dup {
			t.Errorf("%s saved twice:\n%s", ic.Name, saved.YAML)
		}
		tags[ic.Name] = [3]int{ic.VLAN, ic.OuterVLAN, int(ic.TPID)}
	}
	if got := tags["lan0.100"]; got != [3]int{101, 0, 0} {
		t.Errorf("lan0.100 saved with vlan/outer/tpid %v, want 101/0/0 (as it runs):\n%s", got, saved.YAML)
	}
	if got := tags["wan0.qinq"]; got != [3]int{20, 11, 0x8100} {
		t.Errorf("wan0.qinq saved with vlan/outer/tpid %v, want 20/11/0x8100 (as it runs):\n%s", got, saved.YAML)
	}
	r2, err := Start(cfg, Options{})
	if err != nil {
		t.Fatalf("starting from the saved config: %v\n%s", err, saved.YAML)
	}
	defer r2.Stop()
	if got := state(r2); !slices.Equal(got, want) {
		t.Errorf("started from the saved config:\n%s\nthe router that saved it:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// TestConfigSaveDuringVLANAdds: config save while VLANs are added at run
// time reads one snapshot: no index out of range (a VLAN added between
// reading the interfaces and the VLANs), and every saved config checks.
func TestConfigSaveDuringVLANAdds(t *testing.T) {
	dir := t.TempDir()
	r, err := Start(writeConfig(t, dir, vlanConfig), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Stop()
	ctl := r.Control()
	const n = 1000
	done := make(chan error, 1)
	go func() {
		for i := 0; i < n; i++ {
			if _, err := ctl.AddInterface(control.IfaceConfig{Name: fmt.Sprintf("wan0.%d", 1000+i), Parent: "wan0", VLAN: 1000 + i,
				Addrs: []netip.Prefix{netip.PrefixFrom(netip.AddrFrom4([4]byte{10, 100 + byte(i/250), byte(i % 250), 1}), 24)}}); err != nil {
				done <- err
				return
			}
		}
		done <- nil
	}()
	file := filepath.Join(dir, "saved.yaml")
	for saves := 0; ; saves++ {
		saved, err := r.RunningConfig()
		if err != nil {
			t.Fatal(err)
		}
		if saves%20 == 0 {
			if err := os.WriteFile(file, []byte(saved.YAML), 0o644); err != nil {
				t.Fatal(err)
			}
			if _, _, err := config.Check(file); err != nil {
				t.Fatalf("softnet check of a config saved during VLAN adds: %v", err)
			}
		}
		select {
		case err := <-done:
			if err != nil {
				t.Fatal(err)
			}
			saved, err := r.RunningConfig()
			if err != nil {
				t.Fatal(err)
			}
			if c := strings.Count(saved.YAML, "parent: wan0\n"); c < n {
				t.Fatalf("%d VLANs of wan0 saved after %d adds:\n%s", c, n, saved.YAML)
			}
			t.Logf("%d saves during %d VLAN adds", saves+1, n)
			return
		default:
		}
	}
}
