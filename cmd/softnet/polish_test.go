package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/softnet/softnet/api"
	"github.com/softnet/softnet/internal/testenv"
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

// TestRunWorkerNiceRefused: softnet run without CAP_SYS_NICE (root with
// it dropped from the bounding set, as setpriv does) under nice -n 5 logs
// one warning for its 2 workers, not one each, with the nice value they
// really run at (5, not 0) and --worker-nice 0 to silence it; a
// --worker-nice -10 given is an error that names the same way out. Real
// binary.
func TestRunWorkerNiceRefused(t *testing.T) {
	setpriv, err := exec.LookPath("setpriv")
	if err != nil {
		if testenv.CI() {
			t.Fatalf("setpriv (util-linux) is needed to drop CAP_SYS_NICE: %v", err)
		}
		t.Skipf("setpriv: %v", err)
	}
	dir := t.TempDir()
	cfg := filepath.Join(dir, "r.yaml")
	y := "workers: 2\ninterfaces:\n  - {name: lan0, backend: mem, addresses: [10.0.1.1/24]}\n  - {name: wan0, backend: mem, addresses: [10.0.2.1/24]}\n"
	if err := os.WriteFile(cfg, []byte(y), 0o644); err != nil {
		t.Fatal(err)
	}
	unprivileged := func(args string) *exec.Cmd {
		cmd := softnetCmd(args)
		cmd.Path = setpriv
		cmd.Args = []string{"setpriv", "--bounding-set", "-sys_nice", "nice", "-n", "5", os.Args[0]}
		return cmd
	}
	cmd := unprivileged("run -c " + cfg + " --api off --duration 1s")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("softnet run without CAP_SYS_NICE: %v\n%s", err, out)
	}
	warn := `the workers run at nice 5, the process's, level with the control plane: run as root for nice -10, or pass --worker-nice 0 to leave them there without this warning`
	if n := strings.Count(string(out), warn); n != 1 || !strings.Contains(string(out), "workers=2") {
		t.Errorf("softnet run without CAP_SYS_NICE: the warning %d times, want once for workers=2; output:\n%s", n, out)
	}
	if strings.Contains(string(out), "at nice 0") {
		t.Errorf("softnet run under nice 5: says nice 0:\n%s", out)
	}
	out, err = unprivileged("run -c " + cfg + " --api off --duration 1s --worker-nice -10").CombinedOutput()
	if want := "run as root, or without --worker-nice (or with --worker-nice 0) to leave the workers at nice 5"; err == nil || !strings.Contains(string(out), want) {
		t.Errorf("softnet run --worker-nice -10 without CAP_SYS_NICE: %v\n%s\nwant %s", err, out, want)
	}
	if out, err := unprivileged("run -c " + cfg + " --api off --duration 1s --worker-nice 0").CombinedOutput(); err != nil || strings.Contains(string(out), "nice") {
		t.Errorf("softnet run --worker-nice 0 without CAP_SYS_NICE: %v, want no word of nice:\n%s", err, out)
	}
}

// TestRunWorkerNiceHelp: softnet run --help says what --worker-nice needs
// (root only below the current nice) and what it trades. Real binary.
func TestRunWorkerNiceHelp(t *testing.T) {
	out, err := softnetCmd("run --help").CombinedOutput()
	for _, want := range []string{
		"A value below the current nice needs root (CAP_SYS_NICE)",
		"converged about twice as slowly (quiet host: 20.7-24.2 s against 9.0-11.0 s at 0; the control plane gets about 10 % of a busy worker's CPU) and the flood lost 0.5-2 % during it, not 38-47 %.",
	} {
		if err != nil || !strings.Contains(string(out), want) {
			t.Errorf("softnet run --help: %v, want %q in:\n%s", err, want, out)
		}
	}
	if strings.Contains(string(out), "Needs root") {
		t.Errorf("softnet run --help: still says --worker-nice needs root whatever the value:\n%s", out)
	}
}

// TestRunBadPlacementAtOnce: --worker-cpus with --control-cpus, or a
// worker CPU the process may not use, was refused only after the ports
// opened and the full table installed. Now softnet run refuses them
// before it reads the config: no "starting" line, no table. Real binary.
func TestRunBadPlacementAtOnce(t *testing.T) {
	dir := t.TempDir()
	file := fullTableConfig(t, dir)
	for flags, want := range map[string]string{
		"--worker-cpus 0 --control-cpus 1": "worker CPUs [0] and 1 control CPUs: two ways to place the workers; give one",
		"--worker-cpus 4095":               "worker CPU 4095: not a CPU this process may use",
	} {
		out, err := runMustExit(t, "run -c "+file+" --api off --log-level debug "+flags)
		if err == nil || !strings.Contains(string(out), want) {
			t.Errorf("run %s: %v\n%s\nwant %s", flags, err, out, want)
		}
		if strings.Contains(string(out), "msg=starting") || strings.Contains(string(out), "config checked") {
			t.Errorf("run %s: refused after reading the config, want before:\n%s", flags, out)
		}
	}
}

// TestCheckFilterTableBadAddressOnly: a filter table whose one address is
// refused (host bits) got a second error, "has neither file nor
// addresses". Now softnet check says the first alone; a table with
// neither still gets the second. Real binary.
func TestCheckFilterTableBadAddressOnly(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "r.yaml")
	base := "interfaces:\n  - {name: lan0, backend: mem, addresses: [10.0.1.1/24]}\nfilter:\n  default: pass\n  tables:\n    - {name: lan%s}\n  rules:\n    - pass in from <lan>\n"
	for _, tc := range []struct{ table, want, not string }{
		{", addresses: [10.0.3.3/24]", `"10.0.3.3/24" has host bits set: write 10.0.3.0/24`, "neither file nor addresses"},
		{"", `table "lan" has neither file nor addresses: give one`, "host bits"},
	} {
		if err := os.WriteFile(cfg, []byte(fmt.Sprintf(base, tc.table)), 0o644); err != nil {
			t.Fatal(err)
		}
		out, err := softnetCmd("check -c " + cfg).CombinedOutput()
		if err == nil || !strings.Contains(string(out), tc.want) || strings.Contains(string(out), tc.not) {
			t.Errorf("check of table {name: lan%s}: %v\n%s\nwant %q and not %q", tc.table, err, out, tc.want, tc.not)
		}
	}
}

// TestShowCapturesVLANDeleted: a config capture (captures:) on a VLAN
// sub-interface deleted at run time was ended silently while softnet show
// captures went on listing it as running. Now it says it ended and why.
// Real binary.
func TestShowCapturesVLANDeleted(t *testing.T) {
	dir := t.TempDir()
	cfg, sock := filepath.Join(dir, "r.yaml"), filepath.Join(dir, "sn.sock")
	y := "interfaces:\n  - {name: wan0, backend: mem, addresses: [10.0.2.1/24]}\n  - {name: wan0.7, parent: wan0, vlan: 7, addresses: [10.0.7.1/24]}\ncaptures:\n  - {name: c7, interface: wan0.7, path: " + filepath.Join(dir, "c7.pcapng") + "}\n"
	if err := os.WriteFile(cfg, []byte(y), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := softnetCmd("run -c " + cfg + " --api " + sock)
	stderr := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = &syncBuffer{}, stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	defer func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		<-done
	}()
	c := api.NewClient(sock)
	waitFor(t, done, func() bool { _, err := c.Status(context.Background()); return err == nil }, "the API to answer")
	cli := func(args string) string {
		out, err := softnetCmd(args + " --api " + sock).CombinedOutput()
		if err != nil {
			t.Fatalf("%s: %v\n%s", args, err, out)
		}
		return string(out)
	}
	if out := cli("show captures"); !strings.Contains(out, "c7") || strings.Contains(out, "ended") {
		t.Errorf("show captures before vlan del:\n%s", out)
	}
	cli("vlan del wan0.7")
	want := "c7 ended: its interface wan0.7 was deleted (vlan del): nothing more is captured; the file keeps what was"
	if out := cli("show captures"); !strings.Contains(out, want) {
		t.Errorf("show captures after vlan del:\n%s\nwant %s", out, want)
	}
}
