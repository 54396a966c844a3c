package main

import (
	"context"
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
