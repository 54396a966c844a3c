package main

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/softnet/softnet/api"
	"github.com/softnet/softnet/run"
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
	sock := filepath.Join(t.TempDir(), "softnet.sock")
	ctx, cancel := context.WithCancel(context.Background())
	var stdout, logs bytes.Buffer
	done := make(chan error)
	go func() {
		done <- runRouter(ctx, slog.New(slog.NewTextHandler(&logs, nil)), &stdout, &logs, file, 0, run.Options{}, serveOpts{socketSet: true, socket: sock})
	}()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	}()
	c := api.NewClient(sock)
	var ifs []api.Interface
	var err error
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		if ifs, err = c.Interfaces(ctx); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("router not up: %v\n%s", err, logs.String())
		}
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
