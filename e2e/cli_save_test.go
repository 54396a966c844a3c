package e2e

import (
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/softnet/softnet/api"
)

// TestCLIConfigSave drives `softnet config save` on the real binary
// (issue 16 c): a router from examples/operate-mem.yaml changed at run
// time (a route added, a config route deleted, a neighbour and a VLAN
// sub-interface added) saves its running state to a file and to stdout;
// softnet check accepts the file, and a second router started from it,
// in another directory, runs the same routes, neighbours and VLANs.
func TestCLIConfigSave(t *testing.T) {
	need(t)
	dir := copyExample(t, "operate-mem.yaml")
	r := startCLIRouter(t, dir, "operate-mem.yaml", "")
	r.ok(t, "route", "add", "192.0.2.0/24", "via", "10.0.2.7")
	r.ok(t, "route", "del", "198.18.0.3/32")
	r.ok(t, "neighbor", "add", "10.0.1.9", "02:cc:00:00:00:09", "dev", "lan0")
	r.ok(t, "vlan", "add", "wan0.300", "--parent", "wan0", "--vlan", "300", "--address", "10.30.0.1/24")
	r.ok(t, "route", "add", "203.0.113.0/24", "via", "10.30.0.2")

	if out := r.ok(t, "config", "save", "saved.yaml"); !strings.HasPrefix(out, "saved.yaml: saved (3 interfaces, 3 routes, 0 route files, 3 neighbors)") {
		t.Errorf("config save saved.yaml: %q", out)
	}
	file, err := os.ReadFile(filepath.Join(dir, "saved.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if out := r.ok(t, "config", "save", "-"); out != string(file) {
		t.Errorf("config save - printed\n%s\nbut the file has\n%s", out, file)
	}
	r.fails(t, []string{"config", "save", filepath.Join(dir, "no-such-dir", "x.yaml")}, "cannot save the running config", "no-such-dir")
	if res := softnet(t, dir, "", time.Minute, "check", "-c", "saved.yaml"); res.Code != 0 || !strings.HasPrefix(res.Out, "saved.yaml: ok (") {
		t.Fatalf("check -c saved.yaml: %s\n%s", res, file)
	}

	// A second router from the saved file, in another directory (the pcap
	// rx path is written absolute).
	dir2, err := os.MkdirTemp("", "sn-cli-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir2) })
	if err := os.WriteFile(filepath.Join(dir2, "saved.yaml"), file, 0o644); err != nil {
		t.Fatal(err)
	}
	r2 := startCLIRouter(t, dir2, "saved.yaml", "")
	for _, q := range []string{"192.0.2.1", "198.18.0.3", "198.18.0.1", "203.0.113.1", "10.30.0.5"} {
		if a, b := r.route(t, q), r2.route(t, q); !reflect.DeepEqual(a, b) || !a.Found {
			t.Errorf("show routes %s: the saved router has %+v, the one started from its file %+v", q, a, b)
		}
	}
	if m := r2.route(t, "198.18.0.3"); m.Kind != "forward" || m.Prefix != "198.18.0.0/15" {
		t.Errorf("198.18.0.3 (its blackhole deleted at run time): %+v", m)
	}
	neighbors := func(r *cliRouter) []string {
		var ns []api.Neighbor
		var out []string
		r.json(t, &ns, "show", "neighbors")
		for _, n := range ns {
			if n.State == "static" {
				out = append(out, n.Interface+" "+n.Address+" "+n.MAC)
			}
		}
		slices.Sort(out)
		return out
	}
	if a, b := neighbors(r), neighbors(r2); !slices.Equal(a, b) || !slices.Contains(a, "lan0 10.0.1.9 02:cc:00:00:00:09") {
		t.Errorf("static neighbours: the saved router has %q, the one started from its file %q", a, b)
	}
	var v1, v2 []api.VLAN
	if r.json(t, &v1, "show", "vlans") && r2.json(t, &v2, "show", "vlans") &&
		(len(v1) != 1 || len(v2) != 1 || v2[0].Name != "wan0.300" || v2[0].VLAN != 300 || !slices.Equal(v1[0].Addresses, v2[0].Addresses)) {
		t.Errorf("vlans: the saved router has %+v, the one started from its file %+v", v1, v2)
	}
	t.Run("all-commands-ran", func(t *testing.T) { checkAllRan(t, "TestCLIConfigSave") })
}
