package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/softnet/softnet/api"
)

// realRouter is softnet run (this test binary re-executed as the real
// command, main and exit code included) on a copy of
// examples/operate-mem.yaml, with its API on a socket of the test's.
type realRouter struct {
	dir, sock string
	cmd       *exec.Cmd
	done      chan error
	stdout    bytes.Buffer
	stderr    *syncBuffer
	c         *api.Client
}

// startRealRouter starts it (with flags added to softnet run's) and waits
// until its API answers; the test's end stops it with SIGTERM and checks
// that it exits 0.
func startRealRouter(t *testing.T, flags ...string) *realRouter {
	t.Helper()
	r := &realRouter{dir: t.TempDir(), stderr: &syncBuffer{}, done: make(chan error, 1)}
	file := operateMemConfig(t, r.dir, func(src []byte) []byte {
		return bytes.Replace(src, []byte("rate: 30000"), []byte("rate: 1000"), 1)
	})
	r.sock = filepath.Join(r.dir, "sn.sock")
	r.cmd = softnetCmd(strings.Join(append([]string{"run -c " + file + " --api " + r.sock}, flags...), " "))
	r.cmd.Stdout, r.cmd.Stderr = &r.stdout, r.stderr
	if err := r.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { r.done <- r.cmd.Wait() }()
	t.Cleanup(func() {
		r.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case err := <-r.done:
			if err != nil {
				t.Errorf("softnet run: %v\nstderr:\n%.4000s", err, r.stderr.String())
			}
		case <-time.After(30 * time.Second):
			r.cmd.Process.Kill()
			t.Errorf("softnet run did not stop on SIGTERM")
		}
	})
	r.c = api.NewClient(r.sock)
	waitFor(t, r.done, func() bool { _, err := r.c.Status(context.Background()); return err == nil }, "the API to answer")
	return r
}

// alive fails the test if the router has stopped (a crash).
func (r *realRouter) alive(t *testing.T, after string) {
	t.Helper()
	select {
	case err := <-r.done:
		r.done <- err
		t.Fatalf("softnet run died after %s: %v\nstderr:\n%.4000s", after, err, r.stderr.String())
	default:
	}
	if _, err := r.c.Status(context.Background()); err != nil {
		t.Fatalf("API not answering after %s: %v", after, err)
	}
}

// post sends body to path on the router's socket and returns the status
// and at most 1 MiB of the answer.
func (r *realRouter) post(t *testing.T, path string, body []byte) (int, string) {
	t.Helper()
	hc := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, "unix", r.sock)
	}}, Timeout: 60 * time.Second}
	resp, err := hc.Post("http://softnet"+path, "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatalf("POST %s: %v", path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	return resp.StatusCode, string(b)
}

// TestCaptureDeepFilterKeepsRouter: a capture filter of a million "("
// (one API request) overflowed the stack of the router's compiler, a
// fatal error that killed softnet run; softnet check died the same way on
// a config capture's filter. Now both refuse it with the nesting limit.
func TestCaptureDeepFilterKeepsRouter(t *testing.T) {
	r := startRealRouter(t)
	body, _ := json.Marshal(api.CaptureRequest{Filter: strings.Repeat("(", 1_000_000), Count: 1})
	code, out := r.post(t, "/v1/capture", body)
	r.alive(t, "a capture filter of a million (")
	if code != http.StatusBadRequest || !strings.Contains(out, "nested more than 100 levels deep") {
		t.Errorf("POST /v1/capture: %d %.300s", code, out)
	}

	// softnet check on a config whose capture filter nests too deep.
	cfg := filepath.Join(t.TempDir(), "deep.yaml")
	y := "interfaces:\n  - {name: wan0, backend: mem, addresses: [10.0.2.1/24]}\ncaptures:\n  - {name: c, path: /tmp/c.pcapng, filter: '" +
		strings.Repeat("(", 200_000) + "udp" + strings.Repeat(")", 200_000) + "'}\n"
	if err := os.WriteFile(cfg, []byte(y), 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := softnetCmd("check -c " + cfg).CombinedOutput()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 1 || !strings.Contains(string(got), "nested more than 100 levels deep") {
		t.Errorf("softnet check: %v\n%.1000s", err, got)
	}
}

// TestBlocklistLoadBomb: softnet blocklist load of a 16 KB gzip file
// (16 MiB of zero bytes, one line) made the router decompress it whole
// and answer with the line quoted whole (64 MiB of \x00, a 194 KB file took
// it to 9 GB and the CLI timed out). Now the load is refused at the first
// long line with a short error, nothing is loaded and the router runs on.
func TestBlocklistLoadBomb(t *testing.T) {
	r := startRealRouter(t)
	var buf bytes.Buffer
	z, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	z.Write(make([]byte, 16<<20))
	z.Close()
	bomb := filepath.Join(r.dir, "bomb.txt.gz")
	if err := os.WriteFile(bomb, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := softnetCmd("blocklist load zb " + bomb + " --api " + r.sock)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 1 || stderr.Len() > 500 ||
		!strings.Contains(stderr.String(), bomb+":1: a line longer than 4096 bytes") {
		t.Errorf("softnet blocklist load of a gzip bomb: %v, %d bytes on stderr: %.500s", err, stderr.Len(), stderr.String())
	}
	r.alive(t, "a gzip bomb")
	if bs, err := r.c.Blocklists(context.Background(), "", -1); err != nil || len(bs) != 0 {
		t.Errorf("blocklists after the refused load: %+v %v", bs, err)
	}
}

// TestBlocklistNames: a run-time blocklist's name is a config name (1..32
// letters, digits, '-', '_', '.'). softnet blocklist load took any name:
// "a&entries=5" or "x y" loaded, then softnet blocklist show could not
// name them (the query was not escaped: "no blocklist \"a\"", or "400 Bad
// Request: 400 Bad Request"), and no config could hold them.
func TestBlocklistNames(t *testing.T) {
	r := startRealRouter(t)
	list := filepath.Join(r.dir, "l.txt")
	if err := os.WriteFile(list, []byte("192.0.2.7\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ args, want string }{
		{"blocklist load a&entries=5 " + list, `softnet: blocklist "a&entries=5": a name is 1..32 letters, digits, '-', '_' and '.' (as in the config), e.g. attackers`},
		{"blocklist load " + strings.Repeat("n", 33) + " " + list, "a name is 1..32 letters"},
		{"blocklist show x&entries=1", `softnet: no blocklist "x&entries=1"`},
	} {
		out, err := softnetCmd(tc.args + " --api " + r.sock).CombinedOutput()
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() != 1 || !strings.Contains(string(out), tc.want) {
			t.Errorf("softnet %s: %v\n%s\nwant %s", tc.args, err, out, tc.want)
		}
	}
	if bs, err := r.c.Blocklists(context.Background(), "", -1); err != nil || len(bs) != 0 {
		t.Errorf("blocklists after refused loads: %+v %v", bs, err)
	}
	if out, err := softnetCmd("blocklist load a-1.b_2 " + list + " --api " + r.sock).CombinedOutput(); err != nil {
		t.Errorf("a valid name: %v\n%s", err, out)
	}
}

// TestRouteFileBomb: a route file of 170 KB (gzip of 16,777,217 times
// "1.0.0.0/8") made softnet check (and run, and reload) hold every line
// as a prefix: 1.7 GB, and a 6 MB file would take 30 GB. A route file now
// holds at most config.MaxRouteFilePrefixes prefixes (as many as IPv4 has
// /24s); a binary line is quoted 64 bytes at most.
func TestRouteFileBomb(t *testing.T) {
	if testing.Short() {
		t.Skip("16 M lines: not in -short")
	}
	dir := t.TempDir()
	var buf bytes.Buffer
	z, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	line := bytes.Repeat([]byte("1.0.0.0/8\n"), 1<<16)
	for i := 0; i < (1<<24)/(1<<16); i++ {
		z.Write(line)
	}
	z.Write([]byte("2.0.0.0/8\n"))
	z.Close()
	if err := os.WriteFile(filepath.Join(dir, "bomb.gz"), buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	bin := append(bytes.Repeat([]byte{0xfe, 'x', 0, 0x81}, 10000), '\n')
	if err := os.WriteFile(filepath.Join(dir, "bin.txt"), bin, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ file, want string }{
		{"bomb.gz", "bomb.gz: fib: line 16777217: more than 16777216 prefixes: a route file holds at most that"},
		{"bin.txt", `bin.txt: fib: line 1: "\xfex\x00\x81`},
	} {
		cfg := filepath.Join(dir, "r.yaml")
		y := "interfaces:\n  - {name: wan0, backend: mem, addresses: [10.0.2.1/24]}\nroute_files:\n  - {path: " + tc.file + ", via: 10.0.2.2}\n"
		if err := os.WriteFile(cfg, []byte(y), 0o644); err != nil {
			t.Fatal(err)
		}
		out, err := softnetCmd("check -c " + cfg).CombinedOutput()
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() != 1 || !strings.Contains(string(out), tc.want) || len(out) > 1000 {
			t.Errorf("softnet check with route file %s: %v, %d bytes:\n%.1000s\nwant %s", tc.file, err, len(out), out, tc.want)
		}
	}
}

// TestBlocklistDelMany: softnet blocklist del (POST /v1/blocklists/entries)
// of 60,000 entries from a 2,000,000-host list looked each list entry up
// in the deleted ones: about 2 minutes of the router's CPU holding the
// blocklists' lock (the CLI gave up first). Now it is linear: seconds.
func TestBlocklistDelMany(t *testing.T) {
	if testing.Short() {
		t.Skip("2 M entries: not in -short")
	}
	r := startRealRouter(t)
	const n, del = 2_000_000, 60_000
	buf := make([]byte, 0, 16*n)
	var entries []string
	for i := 0; i < n; i++ {
		a := uint32(i+1) * 0x9E3779B1
		s := netip.AddrFrom4([4]byte{byte(a >> 24), byte(a >> 16), byte(a >> 8), byte(a)}).String()
		buf = append(append(buf, s...), '\n')
		if i%(n/del) == 0 {
			entries = append(entries, s)
		}
	}
	list := filepath.Join(r.dir, "hosts.txt")
	if err := os.WriteFile(list, buf, 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	b, err := r.c.LoadBlocklist(ctx, api.BlocklistLoad{Name: "hosts", File: list})
	if err != nil || b.Entries != n {
		t.Fatalf("load: %+v %v", b, err)
	}
	start := time.Now()
	b, err = r.c.EditBlocklist(ctx, api.BlocklistEdit{Name: "hosts", Op: "del", Entries: entries})
	if err != nil || b.Entries != n-len(entries) {
		t.Fatalf("del of %d entries after %v: %+v %v", len(entries), time.Since(start), b, err)
	}
	t.Logf("del of %d entries from %d: %v", len(entries), n, time.Since(start))
}

// TestBenchPlotPathFirst: softnet bench --plot into a missing directory, or
// onto a directory, measured for the whole run and then failed to write
// the chart, printing no result: the run was lost. Now it is refused
// before anything is measured, saying why.
func TestBenchPlotPathFirst(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct{ plot, want string }{
		{filepath.Join(dir, "missing", "x.png"), "/missing/x.png: cannot write there ("},
		{dir, ": is a directory: give a file name such as " + filepath.Join(dir, "bench.png")},
	} {
		cmd := softnetCmd("bench --workers 1 --repeat 1 --duration 2s --plot " + tc.plot)
		out, err := cmd.CombinedOutput()
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() != 1 || !strings.Contains(string(out), tc.want) {
			t.Errorf("softnet bench --plot %s: %v\n%s\nwant %s", tc.plot, err, out, tc.want)
		}
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("files left in %s: %v", dir, entries)
	}
}

// TestCaptureRefusedKeepsFile: softnet capture -w FILE truncated FILE
// before asking the router, so a capture it refused (an unknown
// interface, a filter error, no router at all) replaced a previous
// capture with an empty one. Now FILE is replaced only once the router
// took the capture; a file the refused capture created is removed.
func TestCaptureRefusedKeepsFile(t *testing.T) {
	r := startRealRouter(t)
	dir := t.TempDir()
	old := filepath.Join(dir, "old.pcapng")
	for _, tc := range []struct{ args, want string }{
		{"-i nope", `no interface "nope"`},
		{"port (((", "expected a value after"},
		{"--api " + filepath.Join(dir, "none.sock"), "no softnet router listening"},
	} {
		if err := os.WriteFile(old, []byte("yesterday's capture"), 0o644); err != nil {
			t.Fatal(err)
		}
		args := "capture -c 1 -w " + old + " " + tc.args
		if !strings.Contains(tc.args, "--api") {
			args += " --api " + r.sock
		}
		out, err := softnetCmd(args).CombinedOutput()
		if b, _ := os.ReadFile(old); err == nil || !strings.Contains(string(out), tc.want) || string(b) != "yesterday's capture" {
			t.Errorf("softnet %s: %v\n%s\nfile now %q", args, err, out, b)
		}
		fresh := filepath.Join(dir, "new.pcapng")
		softnetCmd(strings.Replace(args, old, fresh, 1)).Run()
		if _, err := os.Stat(fresh); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("softnet %s left %s: %v", args, fresh, err)
		}
	}
	// A capture the router takes replaces the file.
	args := "capture -c 2 --timeout 20s -w " + old + " --api " + r.sock
	if out, err := softnetCmd(args).CombinedOutput(); err != nil || !strings.Contains(string(out), "2 packets captured") {
		t.Fatalf("softnet %s: %v\n%s", args, err, out)
	}
	if b, _ := os.ReadFile(old); len(b) < 100 || !bytes.HasPrefix(b, []byte{0x0a, 0x0d, 0x0d, 0x0a}) {
		t.Errorf("captured file: %d bytes %.8q", len(b), b)
	}
	if out, err := softnetCmd("capture -c 1 --timeout 20s -w /dev/null --api " + r.sock).CombinedOutput(); err != nil {
		t.Errorf("-w /dev/null: %v\n%s", err, out)
	}
}

// TestCheckCapturePaths: softnet check said "ok" to a capture whose file
// softnet run then could not open (its directory missing) and to path:
// "" (run then wrote a file named ".0" in its working directory); run's
// errors are check's (run --help). Now check names them.
func TestCheckCapturePaths(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct{ capture, want string }{
		{`{name: c, path: ` + filepath.Join(dir, "missing", "c.pcapng") + `}`, "captures[0].path: directory " + filepath.Join(dir, "missing") + " does not exist: create it or fix the path"},
		{`{name: c, path: "", max_size: 10MB}`, `captures[0].path: empty: a capture needs a file to write, e.g. path: /var/log/softnet/c.pcapng`},
		{`{name: c, path: ` + dir + `}`, "captures[0].path: " + dir + " is a directory: give a file in it, e.g. " + filepath.Join(dir, "c.pcapng")},
	} {
		cfg := filepath.Join(dir, "r.yaml")
		y := "interfaces:\n  - {name: wan0, backend: mem, addresses: [10.0.2.1/24]}\ncaptures:\n  - " + tc.capture + "\napi: {socket: off}\n"
		if err := os.WriteFile(cfg, []byte(y), 0o644); err != nil {
			t.Fatal(err)
		}
		for _, cmd := range []string{"check -c " + cfg, "run --duration 1s -c " + cfg} {
			out, err := softnetCmd(cmd).CombinedOutput()
			var ee *exec.ExitError
			if !errors.As(err, &ee) || ee.ExitCode() != 1 || !strings.Contains(string(out), tc.want) {
				t.Errorf("softnet %s with capture %s: %v\n%s\nwant %s", cmd, tc.capture, err, out, tc.want)
			}
		}
	}
	if _, err := os.Stat(".0"); !errors.Is(err, os.ErrNotExist) {
		os.Remove(".0")
		t.Errorf("a capture file .0 in the working directory: %v", err)
	}
}

// TestAPISocketErrors: what the CLI and softnet run said about sockets
// they could not use did not say what was wrong: a path over the 107
// bytes a Unix socket path holds ("bind: invalid argument", after run had
// created its directory; "connect: invalid argument"), --api= ("dial unix:
// missing address"), a router that closed the connection without an
// answer (`Get "http://softnet/v1/interfaces": EOF`).
func TestAPISocketErrors(t *testing.T) {
	dir := t.TempDir()
	long := filepath.Join(dir, strings.Repeat("d", 60), strings.Repeat("s", 60)+".sock")
	want := "is " + strconv.Itoa(len(long)) + " bytes long: a Unix socket path holds at most 107"
	closer := filepath.Join(dir, "closer.sock")
	l, err := net.Listen("unix", closer)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			c.Read(make([]byte, 4096))
			c.Close()
		}
	}()
	for _, tc := range []struct{ args, want string }{
		{"run -c ../../examples/two-port-mem.yaml --duration 1s --api " + long, "softnet: api: " + long + " " + want},
		{"show interfaces --api " + long, "softnet: " + long + " " + want},
		{"show interfaces --api=", "softnet: no API socket given: pass --api PATH or set SOFTNET_API"},
		{"show interfaces --api " + closer, "softnet: the router on " + closer + " closed the connection without an answer: is it stopping? (softnet run logs why)"},
	} {
		out, err := softnetCmd(tc.args).CombinedOutput()
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() != 1 || !strings.Contains(string(out), tc.want) {
			t.Errorf("softnet %s: %v\n%s\nwant %s", tc.args, err, out, tc.want)
		}
	}
	if _, err := os.Stat(filepath.Dir(long)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("softnet run created %s for a socket it cannot have: %v", filepath.Dir(long), err)
	}
}

// TestStateWordsOnce: softnet states flush (and show states) took the
// last of two addresses, ports or protocols and dropped the other without
// a word: "states flush 10.0.1.2 10.0.1.3" flushed every state of
// 10.0.1.3, "tcp 22 udp" those of UDP. Each kind is given once.
func TestStateWordsOnce(t *testing.T) {
	r := startRealRouter(t)
	for _, tc := range []struct{ args, want string }{
		{"states flush 10.0.1.2 10.0.1.3", `softnet: "10.0.1.3": a second address (after 10.0.1.2): give at most one address, one port and one protocol`},
		{"states flush tcp 22 udp", `softnet: "udp": a second protocol (after tcp): give at most one address, one port and one protocol`},
		{"show states 22 53", `softnet: "53": a second port (after 22): give at most one address, one port and one protocol`},
		{"states flush 10.0.0.0/8", `softnet: "10.0.0.0/8" is not an address: give one address of either side, e.g. 10.0.1.2 (prefixes are not matched)`},
	} {
		out, err := softnetCmd(tc.args + " --api " + r.sock).CombinedOutput()
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() != 1 || !strings.Contains(string(out), tc.want) {
			t.Errorf("softnet %s: %v\n%s\nwant %s", tc.args, err, out, tc.want)
		}
	}
}

// TestConfigSaveKeepsBlocklists: softnet config save wrote the config's
// blocklists only: a list loaded at run time (softnet blocklist load) was
// left out without a word, so softnet run -c on the saved file dropped
// nothing of what the router had been dropping. Now the saved file has it,
// with its file, match and interfaces, as it runs.
func TestConfigSaveKeepsBlocklists(t *testing.T) {
	r := startRealRouter(t)
	list := filepath.Join(r.dir, "l.txt")
	if err := os.WriteFile(list, []byte("192.0.2.7\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := softnetCmd("blocklist load extra " + list + " --match dst --interface wan0 --api " + r.sock).CombinedOutput(); err != nil {
		t.Fatalf("blocklist load: %v\n%s", err, out)
	}
	saved := filepath.Join(r.dir, "saved.yaml")
	if out, err := softnetCmd("config save " + saved + " --api " + r.sock).CombinedOutput(); err != nil {
		t.Fatalf("config save: %v\n%s", err, out)
	}
	b, _ := os.ReadFile(saved)
	if !strings.Contains(string(b), "blocklists:") || !strings.Contains(string(b), "name: extra") || !strings.Contains(string(b), "file: "+list) ||
		!strings.Contains(string(b), "match: dst") || !strings.Contains(string(b), "wan0") {
		t.Errorf("saved config without the run-time blocklist:\n%s", b)
	}
	if out, err := softnetCmd("check -c " + saved).CombinedOutput(); err != nil {
		t.Errorf("softnet check of the saved file: %v\n%s", err, out)
	}
}

// TestRouteFileLongLine: a route file with a line over 1 MiB (a binary
// file, a file of zeros) made softnet check say "fib: reading prefixes:
// bufio.Scanner: token too long": neither where nor what to do.
func TestRouteFileLongLine(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "zeros"), append([]byte("192.0.2.0/24\n"), make([]byte, 2<<20)...), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(dir, "r.yaml")
	y := "interfaces:\n  - {name: wan0, backend: mem, addresses: [10.0.2.1/24]}\nroute_files:\n  - {path: zeros, via: 10.0.2.2}\n"
	if err := os.WriteFile(cfg, []byte(y), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := softnetCmd("check -c " + cfg).CombinedOutput()
	want := "zeros: fib: line 2: a line longer than 1 MiB: not a prefix (give one CIDR prefix a line, plain or gzip)"
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 1 || !strings.Contains(string(out), want) {
		t.Errorf("softnet check: %v\n%.1000s\nwant %s", err, out, want)
	}
}

// TestCheckLongSocket: softnet check said ok to api.socket longer than a
// Unix socket path holds, which softnet run then could not listen on.
func TestCheckLongSocket(t *testing.T) {
	dir := t.TempDir()
	sock := "/run/" + strings.Repeat("s", 110) + ".sock"
	cfg := filepath.Join(dir, "r.yaml")
	y := "interfaces:\n  - {name: wan0, backend: mem, addresses: [10.0.2.1/24]}\napi: {socket: " + sock + "}\n"
	if err := os.WriteFile(cfg, []byte(y), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := softnetCmd("check -c " + cfg).CombinedOutput()
	want := "api.socket: \"" + sock + "\" is 120 bytes long: a Unix socket path holds at most 107: choose a shorter one"
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 1 || !strings.Contains(string(out), want) {
		t.Errorf("softnet check: %v\n%s\nwant %s", err, out, want)
	}
}

// operateMemConfig writes examples/operate-mem.yaml, changed by edit, to
// dir/r.yaml with the pcap it reads (testdata/udp.pcap) beside it, and
// returns the config's path.
func operateMemConfig(t *testing.T, dir string, edit func([]byte) []byte) string {
	t.Helper()
	src, err := os.ReadFile("../../examples/operate-mem.yaml")
	if err != nil {
		t.Fatal(err)
	}
	pcap, err := os.ReadFile("../../examples/testdata/udp.pcap")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(dir, "testdata"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "testdata", "udp.pcap"), pcap, 0o644); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dir, "r.yaml")
	if err := os.WriteFile(file, edit(src), 0o644); err != nil {
		t.Fatal(err)
	}
	return file
}
