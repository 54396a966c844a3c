package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/softnet/softnet/api"
)

const ipv6Config = `workers: 1
interfaces:
  - name: lan0
    backend: mem
    mac: 02:52:00:00:00:01
    addresses: [10.0.1.1/24, 2001:db8:1::1/64]
  - name: wan0
    backend: mem
    mac: 02:52:00:00:00:02
    addresses: [10.0.2.1/24]
neighbors:
  - {interface: lan0, address: 2001:db8:1::2, mac: 02:aa:00:00:00:02}
  - {interface: wan0, address: 10.0.2.2, mac: 02:bb:00:00:00:02}
`

// TestIPv6Shown: an IPv6 interface address and an IPv6 neighbour go from
// the config through softnet run (package control, the published
// dp.Config) out to the API and softnet show, and through softnet
// neighbor and reload, as IPv4 ones do.
func TestIPv6Shown(t *testing.T) {
	file := filepath.Join(t.TempDir(), "v6.yaml")
	if err := os.WriteFile(file, []byte(ipv6Config), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, stderr, err := runCheck(t, "-c", file); err != nil || !strings.HasSuffix(out, "v6.yaml: ok (2 interfaces, 0 routes, 2 neighbors, 1 worker)\n") {
		t.Fatalf("softnet check with IPv6 on: %v\n%s%s", err, out, stderr)
	}
	ctx := context.Background()
	c, sock, _ := startRouter(t, file)
	ifs, err := c.Interfaces(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"10.0.1.1/24", "2001:db8:1::1/64"}; !slices.Equal(ifs[0].Addresses, want) {
		t.Errorf("GET /v1/interfaces: lan0 addresses %q, want %q", ifs[0].Addresses, want)
	}
	ns, err := c.Neighbors(ctx)
	if err != nil || !slices.ContainsFunc(ns, func(n api.Neighbor) bool {
		return n.Interface == "lan0" && n.Address == "2001:db8:1::2" && n.MAC == "02:aa:00:00:00:02" && n.State == "static"
	}) {
		t.Errorf("GET /v1/neighbors: %v %+v", err, ns)
	}

	a := "--api=" + sock
	fields := func(out string) string { return strings.Join(strings.Fields(out), " ") }
	out, _, err := cli(t, "show", "interfaces", a)
	if err != nil || !strings.Contains(fields(out), "lan0 up up 02:52:00:00:00:01 1500 10.0.1.1/24,2001:db8:1::1/64 ") {
		t.Errorf("show interfaces: %v\n%s", err, out)
	}
	out, _, err = cli(t, "show", "neighbors", a)
	if err != nil || !strings.Contains(fields(out), "lan0 2001:db8:1::2 02:aa:00:00:00:02 static") {
		t.Errorf("show neighbors: %v\n%s", err, out)
	}
	if out, _, err = cli(t, "neighbor", "add", "2001:db8:1::3", "02:aa:00:00:00:03", "dev", "lan0", a); err != nil {
		t.Errorf("neighbor add 2001:db8:1::3: %v %s", err, out)
	}
	if out, _, _ = cli(t, "show", "neighbors", a); !strings.Contains(fields(out), "lan0 2001:db8:1::3 02:aa:00:00:00:03 static") {
		t.Errorf("show neighbors after neighbor add:\n%s", out)
	}
	// A reload of the same file keeps the addresses and puts the
	// neighbours back to the file's.
	out, _, err = cli(t, "reload", a)
	if err != nil || !strings.Contains(out, "v6.yaml: reloaded (2 interfaces, 0 routes, 2 neighbors, 1 worker)") {
		t.Errorf("reload: %v\n%s", err, out)
	}
	if out, _, _ = cli(t, "show", "neighbors", a); strings.Contains(out, "2001:db8:1::3") || !strings.Contains(fields(out), "lan0 2001:db8:1::2 02:aa:00:00:00:02 static") {
		t.Errorf("show neighbors after reload:\n%s", out)
	}
	if ifs, err = c.Interfaces(ctx); err != nil || !slices.Equal(ifs[0].Addresses, []string{"10.0.1.1/24", "2001:db8:1::1/64"}) {
		t.Errorf("GET /v1/interfaces after reload: %v %+v", err, ifs)
	}
}

// reloadIPv6Config is the config of TestReloadIPv6Routes: %s is the
// routes' section, %s the route file's via6.
const reloadIPv6Config = `workers: 1
interfaces:
  - name: lan0
    backend: mem
    mac: 02:52:00:00:00:01
    addresses: [10.0.1.1/24, 2001:db8:1::1/64]
  - name: wan0
    backend: mem
    mac: 02:52:00:00:00:02
    addresses: [10.0.2.1/24, 2001:db8:2::1/64]
route_files:
  - {path: table.txt, via: 10.0.2.2, via6: %s}
routes:
%s`

// TestReloadIPv6Routes (issue 12 c) runs the real binary (this test
// binary, re-executed as softnet run, and again as softnet reload) with
// IPv6 routes in its config and in a route file (via6), changes them
// in the file and reloads: the IPv6 routes are replaced as the IPv4
// ones are, by one route replace (control.ReplaceRoutes through
// Reconfigure) published as one snapshot, not deleted and added one by
// one after it in snapshots of their own.
func TestReloadIPv6Routes(t *testing.T) {
	dir := t.TempDir()
	file, sock := filepath.Join(dir, "r.yaml"), filepath.Join(dir, "sn.sock")
	write := func(via6, routes string) {
		t.Helper()
		if err := os.WriteFile(file, []byte(fmt.Sprintf(reloadIPv6Config, via6, routes)), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "table.txt"), []byte("198.51.100.0/24\n2001:db8:f00::/40\n2001:db8:f01::/48\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	write("2001:db8:2::2", `  - {prefix: 192.0.2.0/24, via: 10.0.2.2}
  - {prefix: 2001:db8:100::/40, via: 2001:db8:2::2}
  - {prefix: 2001:db8:300::/48, via: 2001:db8:2::2}
  - {prefix: 2001:db8:500::/48, blackhole: true}
`)
	bin := softnetCmd
	cmd := bin("run -c " + file + " --api " + sock)
	stderr := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = io.Discard, stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	defer func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		<-done
	}()
	ctx := context.Background()
	c := api.NewClient(sock)
	waitFor(t, done, func() bool { _, err := c.Status(ctx); return err == nil }, "the API to answer")
	route := func(q string) string {
		t.Helper()
		m, err := c.Route(ctx, q)
		if err != nil {
			t.Fatalf("route %s: %v", q, err)
		}
		if !m.Found {
			return "none"
		}
		return m.Prefix + " " + m.Kind + " " + m.Via
	}
	for q, want := range map[string]string{
		"2001:db8:100::5": "2001:db8:100::/40 incomplete 2001:db8:2::2",
		"2001:db8:300::5": "2001:db8:300::/48 incomplete 2001:db8:2::2",
		"2001:db8:f01::5": "2001:db8:f01::/48 incomplete 2001:db8:2::2",
		"2001:db8:500::5": "2001:db8:500::/48 blackhole ",
	} {
		if got := route(q); got != want {
			t.Errorf("at start, route %s: %q, want %q", q, got, want)
		}
	}
	publishes := func() int {
		t.Helper()
		b, err := c.Metrics(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(l, "softnet_control_publishes_total "); ok {
				n, err := strconv.ParseFloat(v, 64)
				if err != nil {
					t.Fatal(err)
				}
				return int(n)
			}
		}
		t.Fatalf("no softnet_control_publishes_total in /metrics:\n%s", b)
		return 0
	}

	// Every IPv6 route changes: another next hop (the config's and the
	// route file's), one removed, one added; and an IPv4 one.
	write("2001:db8:2::3", `  - {prefix: 192.0.2.0/24, via: 10.0.2.3}
  - {prefix: 2001:db8:100::/40, via: 2001:db8:2::3}
  - {prefix: 2001:db8:200::/40, via: 2001:db8:2::2}
  - {prefix: 2001:db8:500::/48, blackhole: true}
`)
	before := publishes()
	rl := bin("reload --api " + sock)
	out, err := rl.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "reloaded") {
		t.Fatalf("softnet reload: %v\n%s", err, out)
	}
	for q, want := range map[string]string{
		"2001:db8:100::5": "2001:db8:100::/40 incomplete 2001:db8:2::3",
		"2001:db8:200::5": "2001:db8:200::/40 incomplete 2001:db8:2::2",
		"2001:db8:300::5": "none",
		"2001:db8:f00::5": "2001:db8:f00::/40 incomplete 2001:db8:2::3",
		"2001:db8:f01::5": "2001:db8:f01::/48 incomplete 2001:db8:2::3",
		"2001:db8:500::5": "2001:db8:500::/48 blackhole ",
		"192.0.2.5":       "192.0.2.0/24 incomplete 10.0.2.3",
	} {
		if got := route(q); got != want {
			t.Errorf("after the reload, route %s: %q, want %q", q, got, want)
		}
	}
	// One snapshot for the whole reload. A change left pending by it
	// would be published by the service loop within milliseconds: give
	// it a second to show.
	for deadline := time.Now().Add(time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if n := publishes() - before; n > 1 {
			t.Fatalf("the reload published %d snapshots, want 1 (the IPv6 routes applied apart from the rest)", n)
		}
	}
	if n := publishes() - before; n != 1 {
		t.Errorf("the reload published %d snapshots, want 1", n)
	}
}
