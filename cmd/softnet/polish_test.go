package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestRouteFileMapped: a route file's ::ffff:5.6.7.0/120 passed softnet
// check, then softnet run exited 1 ("not a route prefix"). Now check and
// run refuse it alike, with the file, the line and the IPv4 prefix to
// write (rules.Mapped, as for config routes and the API). Real binary.
func TestRouteFileMapped(t *testing.T) {
	dir := t.TempDir()
	tbl := filepath.Join(dir, "t.txt")
	if err := os.WriteFile(tbl, []byte("198.51.100.0/24\n::ffff:5.6.7.0/120\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	want := tbl + `: fib: line 2: "::ffff:5.6.7.0/120" is an IPv4-mapped IPv6 prefix: softnet routes IPv4 as IPv4: write 5.6.7.0/24`
	for _, via6 := range []string{", via6: 2001:db8:2::2", ""} { // without via6 it is not skipped as IPv6
		cfg := filepath.Join(dir, "r.yaml")
		y := "interfaces:\n  - {name: lan0, backend: mem, addresses: [10.0.1.1/24]}\n  - {name: wan0, backend: mem, addresses: [10.0.2.1/24, 2001:db8:2::1/64]}\nroute_files:\n  - {path: t.txt, via: 10.0.2.2" + via6 + "}\n"
		if err := os.WriteFile(cfg, []byte(y), 0o644); err != nil {
			t.Fatal(err)
		}
		out, err := softnetCmd("check -c " + cfg).CombinedOutput()
		if err == nil || !strings.Contains(string(out), "route_files[0].path: "+want) {
			t.Errorf("check (via6 %q): %v\n%s\nwant %s", via6, err, out, want)
		}
		out, err = runMustExit(t, "run -c "+cfg+" --api "+filepath.Join(dir, "sn.sock"))
		if err == nil || !strings.Contains(string(out), want) || strings.Contains(string(out), "softnet started") {
			t.Errorf("run (via6 %q): %v\n%s\nwant %s", via6, err, out, want)
		}
	}
}

// runMustExit runs softnet with args, expecting it to exit by itself (a
// refused start): one that runs on is killed after a minute and reported.
func runMustExit(t *testing.T, args string) ([]byte, error) {
	t.Helper()
	cmd := softnetCmd(args)
	var out syncBuffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		return []byte(out.String()), err
	case <-time.After(time.Minute):
		_ = cmd.Process.Kill()
		<-done
		t.Errorf("softnet %s: still running after a minute, want it refused at start", args)
		return []byte(out.String()), nil
	}
}
