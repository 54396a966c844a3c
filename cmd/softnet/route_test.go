package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestCLIOwnRoutes (issue 17, defect 3) runs the sequences with
// the CLI against examples/two-port-mem.yaml: `route add`/`route del` of
// the router's own address and of its connected subnet are refused, and
// the router keeps its local and connected routes; a neighbour's /32 can
// be blackholed and given back; reload reports what it changed and the
// routes are the file's again.
func TestCLIOwnRoutes(t *testing.T) {
	ctx := context.Background()
	c, sock, _ := startRouter(t, "../../examples/two-port-mem.yaml")
	a := "--api=" + sock
	// The routes are read through the API (what show routes prints).
	show := func(q string) string {
		t.Helper()
		m, err := c.Route(ctx, q)
		if err != nil {
			t.Fatalf("route %s: %v", q, err)
		}
		return strings.Join([]string{m.Prefix, m.Kind, m.Via, m.Interface}, " ")
	}
	wantLocal, wantGlean, wantHost := show("10.0.1.1"), show("10.0.1.77"), show("10.0.2.2")
	if wantLocal != "10.0.1.1/32 local  " || wantGlean != "10.0.1.0/24 connected 10.0.1.77 lan0" || wantHost != "10.0.2.2/32 forward 10.0.2.2 wan0" {
		t.Fatalf("before: %q, %q, %q", wantLocal, wantGlean, wantHost)
	}
	for _, p := range []string{"10.0.1.1/32", "10.0.1.0/24"} {
		if _, _, err := cli(t, "route", "add", p, "blackhole", a); err == nil || !strings.Contains(err.Error(), "belongs to the interface") {
			t.Errorf("route add %s blackhole: %v", p, err)
		}
		if _, _, err := cli(t, "route", "del", p, a); err == nil || !strings.Contains(err.Error(), "cannot be deleted") {
			t.Errorf("route del %s: %v", p, err)
		}
	}
	if got := show("10.0.1.1"); got != wantLocal {
		t.Errorf("10.0.1.1: %q, want %q", got, wantLocal)
	}
	if got := show("10.0.1.77"); got != wantGlean {
		t.Errorf("10.0.1.77: %q, want %q", got, wantGlean)
	}
	if out, _, err := cli(t, "route", "add", "10.0.2.2/32", "blackhole", a); err != nil || out != "route 10.0.2.2/32 added\n" {
		t.Fatalf("route add 10.0.2.2/32 blackhole: %q %v", out, err)
	}
	if got := show("10.0.2.2"); got != "10.0.2.2/32 blackhole  " {
		t.Errorf("10.0.2.2 blackholed: %q", got)
	}
	if _, _, err := cli(t, "route", "del", "10.0.2.2/32", a); err != nil {
		t.Fatal(err)
	}
	if got := show("10.0.2.2"); got != wantHost {
		t.Errorf("10.0.2.2 after the delete: %q, want %q", got, wantHost)
	}
	// Left blackholed: the reload takes it away again.
	if _, _, err := cli(t, "route", "add", "10.0.2.2/32", "blackhole", a); err != nil {
		t.Fatal(err)
	}
	out, _, err := cli(t, "reload", a)
	if err != nil || !strings.Contains(out, "routes: 0 added, 0 changed, 1 removed") {
		t.Errorf("reload: %v\n%s", err, out)
	}
	if got := show("10.0.2.2"); got != wantHost {
		t.Errorf("10.0.2.2 after the reload: %q, want %q", got, wantHost)
	}
	if got := show("10.0.1.1"); got != wantLocal {
		t.Errorf("10.0.1.1 after the reload: %q, want %q", got, wantLocal)
	}
}

// TestRouteMappedPrefix: `route add ::ffff:A.B.C.D/N` said the prefix was
// "not an IPv4 or IPv6 prefix", which it is, in a form softnet does not
// route. Now route add and del, and a config's route (softnet check), say
// it is an IPv4-mapped IPv6 prefix and give the IPv4 prefix to write.
// Real binary.
func TestRouteMappedPrefix(t *testing.T) {
	r := startRealRouter(t)
	for _, tc := range []struct{ args, want string }{
		{"route add ::ffff:198.51.100.0/120 via 10.0.2.2", `prefix "::ffff:198.51.100.0/120" is an IPv4-mapped IPv6 prefix: softnet routes IPv4 as IPv4: write 198.51.100.0/24`},
		{"route add ::ffff:198.51.100.7/120 blackhole", `write 198.51.100.0/24`},
		{"route del ::ffff:198.51.100.0/120", `is an IPv4-mapped IPv6 prefix: softnet routes IPv4 as IPv4: write 198.51.100.0/24`},
		{"route add ::ffff:198.51.100.0/24 via 10.0.2.2", `"::ffff:198.51.100.0/24" is an IPv4-mapped IPv6 address with a /24 length: write an IPv4 prefix as A.B.C.D/N (such as 198.51.100.0/24)`},
	} {
		out, err := softnetCmd(tc.args + " --api " + r.sock).CombinedOutput()
		if err == nil || !strings.Contains(string(out), tc.want) {
			t.Errorf("softnet %s: %v\n%s\nwant %s", tc.args, err, out, tc.want)
		}
	}
	// A config route: softnet check says the same.
	file := filepath.Join(r.dir, "mapped.yaml")
	src := "interfaces:\n  - {name: wan0, backend: mem, addresses: [10.0.2.1/24]}\nroutes:\n  - {prefix: \"::ffff:198.51.100.0/120\", via: 10.0.2.2}\n"
	if err := os.WriteFile(file, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := softnetCmd("check -c " + file).CombinedOutput()
	if want := `routes[0].prefix: "::ffff:198.51.100.0/120" is an IPv4-mapped IPv6 prefix: softnet routes IPv4 as IPv4: write 198.51.100.0/24`; err == nil || !strings.Contains(string(out), want) {
		t.Errorf("softnet check: %v\n%s\nwant %s", err, out, want)
	}
	r.alive(t, "mapped prefixes")
}
