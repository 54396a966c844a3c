package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/softnet/softnet/api"
	"github.com/softnet/softnet/internal/netns"
	"github.com/softnet/softnet/lab"
)

// cliCovered is every command path of the softnet CLI that the CLI tests
// (cli_test.go, cli_veth_test.go) exercise, and the test that runs it.
// TestCLIDocs fails when README.md documents a command that is not here;
// each test's "all-commands-ran" subtest fails when a path declared here
// for it was not actually run. A new documented command gets a line here
// and a call in its test, in the same change.
var cliCovered = map[string]string{
	"run":             "TestCLIMem",
	"check":           "TestCLIMem",
	"completion":      "TestCLIMem",
	"bench":           "TestCLIMem",
	"show interfaces": "TestCLIMem",
	"show routes":     "TestCLIMem",
	"show neighbors":  "TestCLIMem",
	"show runtime":    "TestCLIMem",
	"show errors":     "TestCLIMem",
	"show vlans":      "TestCLIMem",
	"show bridge":     "TestCLIMem",
	"route add":       "TestCLIMem",
	"route del":       "TestCLIMem",
	"neighbor add":    "TestCLIMem",
	"neighbor del":    "TestCLIMem",
	"reload":          "TestCLIMem",
	"vlan add":        "TestCLIMem",
	"vlan del":        "TestCLIMem",
	"blocklist load":  "TestCLIMem",
	"blocklist add":   "TestCLIMem",
	"blocklist del":   "TestCLIMem",
	"blocklist show":  "TestCLIMem",
	"trace":           "TestCLIMem",
	"lab":             "TestCLIVeth",
	"config save":     "TestCLIConfigSave",
	"show linuxcp":    "TestLinuxCP",
	"show captures":   "TestCLIFlight",
	"capture":         "TestCLICapture",
}

// cliRan records the command paths the CLI tests ran (cmdPath of each
// call), for the "all-commands-ran" subtests.
var cliRan sync.Map

// cmdPath is the command path of a softnet argument list: its leading
// lowercase words ("show routes" for show routes 10.0.0.1 --json), at
// most two.
func cmdPath(args []string) string {
	var p []string
	for _, a := range args {
		if len(p) == 2 || !cmdWordRE.MatchString(a) {
			break
		}
		p = append(p, a)
	}
	return strings.Join(p, " ")
}

var cmdWordRE = regexp.MustCompile(`^[a-z]+$`)

// checkAllRan fails t when a command path cliCovered assigns to test was
// not run.
func checkAllRan(t *testing.T, test string) {
	t.Helper()
	var missing []string
	for path, owner := range cliCovered {
		if owner != test {
			continue
		}
		ran := false
		cliRan.Range(func(k, _ any) bool {
			s := k.(string)
			if s == path || strings.HasPrefix(s, path+" ") {
				ran = true
				return false
			}
			return true
		})
		if !ran {
			missing = append(missing, path)
		}
	}
	sort.Strings(missing)
	if len(missing) > 0 {
		t.Errorf("cliCovered says %s runs these commands, but it did not: %q", test, missing)
	}
}

// goFormatRE matches Go's %v formatting leaking into what users read: a
// slice "[a b]", a map, a struct "{Name:x}" or "&{", and JSON's HTML
// escapes (\u003e for ">").
var goFormatRE = regexp.MustCompile(`map\[|&\{|\{[A-Z][A-Za-z]*:|\\u00[0-9a-f]{2}|\[[^\[\]\s|]+(?: [^\[\]\s|]+)+\]`)

// noGoFormat fails t when s (what a command printed) shows Go formatting.
func noGoFormat(t *testing.T, what, s string) {
	t.Helper()
	if m := goFormatRE.FindString(s); m != "" {
		t.Errorf("%s: Go formatting %q in the output (users should read plain words and numbers):\n%s", what, m, clip(s, 2000))
	}
}

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "\n[...]"
}

// cliResult is what one softnet command printed and its exit code.
type cliResult struct {
	Out, Err string
	Code     int
}

func (r cliResult) String() string {
	return "exit " + strconv.Itoa(r.Code) + "\nstdout:\n" + clip(r.Out, 3000) + "\nstderr:\n" + clip(r.Err, 3000)
}

// softnet runs the softnet binary with args (cwd dir, SOFTNET_API=sock
// when sock is not "") within timeout, and records its command path.
func softnet(t *testing.T, dir, sock string, timeout time.Duration, args ...string) cliResult {
	t.Helper()
	if p := cmdPath(args); p != "" {
		cliRan.Store(p, true)
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary, args...)
	cmd.Dir = dir
	cmd.Env = os.Environ()
	if sock != "" {
		cmd.Env = append(cmd.Env, "SOFTNET_API="+sock)
	}
	var out, errb strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	r := cliResult{Out: out.String(), Err: errb.String()}
	var ee *exec.ExitError
	switch {
	case ctx.Err() != nil:
		r.Code = -1
		r.Err += "\n(killed: still running after " + timeout.String() + ")"
	case errors.As(err, &ee):
		r.Code = ee.ExitCode()
	case err != nil:
		t.Fatalf("softnet %s: %v", strings.Join(args, " "), err)
	}
	return r
}

// cliRouter is `softnet run -c CONFIG --api SOCK` as a user starts it: a
// subprocess of the real binary, in its own directory, in a network
// namespace or not.
type cliRouter struct {
	Dir, Config, Sock string
	stdout, stderr    string // files
	cmd               *exec.Cmd
	done              chan struct{}
	err               error
}

// startCLIRouter starts the router of config (a path relative to dir or
// absolute) with its API on dir/sn.sock, in namespace ns unless it is "",
// and waits until the API answers. It is stopped (SIGTERM, then SIGKILL)
// when the test ends; its output is logged if the test failed.
func startCLIRouter(t *testing.T, dir, config, ns string, extra ...string) *cliRouter {
	t.Helper()
	r := &cliRouter{Dir: dir, Config: config, Sock: filepath.Join(dir, "sn.sock"),
		stdout: filepath.Join(dir, "run.out"), stderr: filepath.Join(dir, "run.err"), done: make(chan struct{})}
	os.Remove(r.Sock)
	outf, err := os.Create(r.stdout)
	if err != nil {
		t.Fatal(err)
	}
	defer outf.Close()
	errf, err := os.Create(r.stderr)
	if err != nil {
		t.Fatal(err)
	}
	defer errf.Close()
	args := append([]string{"run", "-c", config, "--api", r.Sock}, extra...)
	cliRan.Store("run", true)
	if ns != "" {
		r.cmd = netns.Command(context.Background(), ns, binary, args...)
	} else {
		r.cmd = exec.Command(binary, args...)
	}
	r.cmd.Dir = dir
	r.cmd.Stdout, r.cmd.Stderr = outf, errf
	if err := r.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { r.err = r.cmd.Wait(); close(r.done) }()
	t.Cleanup(func() {
		if r.Alive() {
			r.cmd.Process.Signal(syscall.SIGTERM)
			if !r.wait(5 * time.Second) {
				r.cmd.Process.Kill()
				<-r.done
			}
		}
		if t.Failed() {
			t.Logf("softnet run -c %s: %v\nstderr:\n%s\nstdout:\n%s", config, r.err, clip(r.Stderr(), 6000), clip(r.Stdout(), 3000))
		}
	})
	c := api.NewClient(r.Sock)
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		_, err := c.Status(ctx)
		cancel()
		if err == nil {
			return r
		}
		if !r.Alive() || time.Now().After(deadline) {
			t.Fatalf("softnet run -c %s: API not answering on %s (alive %v, %v): %v\n%s", config, r.Sock, r.Alive(), r.err, err, r.Stderr())
		}
	}
}

func (r *cliRouter) Alive() bool {
	select {
	case <-r.done:
		return false
	default:
		return true
	}
}

// wait waits up to d for the process to exit and reports whether it did.
func (r *cliRouter) wait(d time.Duration) bool {
	select {
	case <-r.done:
		return true
	case <-time.After(d):
		return false
	}
}

func (r *cliRouter) Stdout() string { b, _ := os.ReadFile(r.stdout); return string(b) }
func (r *cliRouter) Stderr() string { b, _ := os.ReadFile(r.stderr); return string(b) }

// waitForwards waits (15 s at most) for a ping from namespace ns to addr
// to come back through the router, failing the test if the router exits
// or the time runs out.
func (r *cliRouter) waitForwards(t *testing.T, ns, addr string) {
	t.Helper()
	for deadline := time.Now().Add(15 * time.Second); ; {
		if p := ping(t, ns, addr, 1); p.Received == 1 {
			return
		}
		r.mustAlive(t, "start")
		if time.Now().After(deadline) {
			t.Fatalf("no ping through softnet 15 s after start:\n%s", r.Stderr())
		}
	}
}

// mustAlive fails the test now if the router exited, with why.
func (r *cliRouter) mustAlive(t *testing.T, after string) {
	t.Helper()
	if !r.Alive() {
		t.Fatalf("softnet run exited (%v) after %s; stderr:\n%s", r.err, after, clip(r.Stderr(), 6000))
	}
}

// cli runs a softnet command against this router (SOFTNET_API).
func (r *cliRouter) cli(t *testing.T, args ...string) cliResult {
	t.Helper()
	return softnet(t, r.Dir, r.Sock, time.Minute, args...)
}

// ok runs a command that must succeed and print plain text; it returns
// its standard output.
func (r *cliRouter) ok(t *testing.T, args ...string) string {
	t.Helper()
	res := r.cli(t, args...)
	if res.Code != 0 {
		t.Errorf("softnet %s: want exit 0, got %s", strings.Join(args, " "), res)
	}
	noGoFormat(t, "softnet "+strings.Join(args, " "), res.Out+res.Err)
	return res.Out
}

// fails runs a command that must fail: non-zero exit and a message on
// stderr containing each of want.
func (r *cliRouter) fails(t *testing.T, args []string, want ...string) cliResult {
	t.Helper()
	res := r.cli(t, args...)
	if res.Code == 0 {
		t.Errorf("softnet %s: want a non-zero exit, got %s", strings.Join(args, " "), res)
		return res
	}
	for _, w := range want {
		if !strings.Contains(res.Err, w) {
			t.Errorf("softnet %s: want %q in the error, got %s", strings.Join(args, " "), w, res)
		}
	}
	noGoFormat(t, "softnet "+strings.Join(args, " "), res.Err)
	return res
}

// json runs args with --json, which must succeed, and decodes its output
// into v; it reports whether it did.
func (r *cliRouter) json(t *testing.T, v any, args ...string) bool {
	t.Helper()
	args = append(args, "--json")
	res := r.cli(t, args...)
	if res.Code != 0 {
		t.Errorf("softnet %s: want exit 0, got %s", strings.Join(args, " "), res)
		return false
	}
	noGoFormat(t, "softnet "+strings.Join(args, " "), res.Out)
	if err := json.Unmarshal([]byte(res.Out), v); err != nil {
		t.Errorf("softnet %s: not JSON: %v\n%s", strings.Join(args, " "), err, clip(res.Out, 2000))
		return false
	}
	return true
}

// ifaces returns show interfaces --json by name.
func (r *cliRouter) ifaces(t *testing.T) map[string]api.Interface {
	t.Helper()
	var l []api.Interface
	m := map[string]api.Interface{}
	if r.json(t, &l, "show", "interfaces") {
		for _, i := range l {
			m[i.Name] = i
		}
	}
	return m
}

// route returns show routes Q --json.
func (r *cliRouter) route(t *testing.T, q string) api.RouteMatch {
	t.Helper()
	var m api.RouteMatch
	r.json(t, &m, "show", "routes", q)
	return m
}

// waitTxGrows waits (up to 10 s) until iface's tx packets grow past
// what they are now: the router is forwarding.
func (r *cliRouter) waitTxGrows(t *testing.T, iface string) {
	t.Helper()
	before := r.ifaces(t)[iface].TxPackets
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		r.mustAlive(t, "show interfaces")
		if r.ifaces(t)[iface].TxPackets > before {
			return
		}
	}
	t.Errorf("%s tx packets stuck at %d for 10 s: the router does not forward", iface, before)
}

// metrics GETs /metrics over the API socket with a plain HTTP client and
// returns each sample line's value by its name{labels}.
func metrics(t *testing.T, sock string) map[string]float64 {
	t.Helper()
	hc := &http.Client{Timeout: 20 * time.Second, Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", sock)
		}}}
	resp, err := hc.Get("http://softnet/metrics")
	if err != nil {
		t.Fatalf("GET /metrics on %s: %v", sock, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain") {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("GET /metrics: %s, Content-Type %q\n%s", resp.Status, resp.Header.Get("Content-Type"), clip(string(b), 500))
	}
	m := map[string]float64{}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		l := sc.Text()
		if l == "" || strings.HasPrefix(l, "#") {
			continue
		}
		i := strings.LastIndexByte(l, ' ')
		v, err := strconv.ParseFloat(l[i+1:], 64)
		if i < 0 || err != nil {
			t.Errorf("/metrics: bad sample line %q", l)
			continue
		}
		m[l[:i]] = v
	}
	return m
}

// metric sums the samples of m named name whose labels include every one
// of labels (`key="value"`), and reports whether there was any.
func metric(m map[string]float64, name string, labels ...string) (float64, bool) {
	var sum float64
	found := false
	for k, v := range m {
		n, ls, _ := strings.Cut(k, "{")
		if n != name {
			continue
		}
		all := true
		for _, l := range labels {
			if !strings.Contains("{"+ls, "{"+l) && !strings.Contains(ls, ","+l) {
				all = false
			}
		}
		if all {
			sum += v
			found = true
		}
	}
	return sum, found
}

// finalBalance checks a stopped router's final counters: every packet
// received was sent or dropped under a reason, exactly (nothing is
// generated or consumed locally by the in-memory examples' traffic).
func finalBalance(t *testing.T, out string) lab.Counters {
	t.Helper()
	c := parseFinal(out)
	if len(c.Interfaces) == 0 {
		t.Errorf("no interface counters in the final output:\n%s", out)
		return c
	}
	var rx, tx uint64
	for _, i := range c.Interfaces {
		rx += i.RxPackets
		tx += i.TxPackets
	}
	drops := finalDrops(out, c)
	if rx == 0 || rx != tx+drops {
		t.Errorf("final counters do not balance: rx %d != tx %d + drops %d (difference %d)\n%s", rx, tx, drops, int64(rx)-int64(tx+drops), out)
	}
	// An accounting line, where softnet prints one, must balance too.
	if m := accountingRE.FindStringSubmatch(out); m != nil {
		var n [6]uint64
		for i := range n {
			n[i], _ = strconv.ParseUint(m[i+1], 10, 64)
		}
		if n[0]+n[1] != n[2]+n[3]+n[4]+n[5] {
			t.Errorf("the final accounting line does not balance: %s", m[0])
		}
	}
	return c
}

var (
	totalDropsRE = regexp.MustCompile(`(?m)^total drops: (\d+)$`)
	accountingRE = regexp.MustCompile(`(?m)^accounting: received (\d+) \+ generated (\d+) = sent (\d+) \+ dropped (\d+) \+ consumed (\d+) \+ held (\d+)`)
)

// finalDrops is the final counters' total of drops: their "total drops:"
// line where there is one, else the sum of the drop lines.
func finalDrops(out string, c lab.Counters) uint64 {
	if m := totalDropsRE.FindStringSubmatch(out); m != nil {
		n, _ := strconv.ParseUint(m[1], 10, 64)
		return n
	}
	var drops uint64
	for _, n := range c.Drops {
		drops += n
	}
	return drops
}

// parseFinal parses softnet run's final counters (lab.ParseCounters),
// taking only the interface rows (a name and five numbers) as interfaces,
// not the port drop lines under the table.
func parseFinal(out string) lab.Counters {
	c := lab.ParseCounters(out)
	c.Interfaces = nil
	for _, m := range ifaceRowRE.FindAllStringSubmatch(out, -1) {
		var n [5]uint64
		for i := range n {
			n[i], _ = strconv.ParseUint(m[i+2], 10, 64)
		}
		c.Interfaces = append(c.Interfaces, lab.IfaceCounters{Name: m[1], RxPackets: n[0], RxBytes: n[1], TxPackets: n[2], TxBytes: n[3], KernelDrops: n[4]})
	}
	return c
}

var ifaceRowRE = regexp.MustCompile(`(?m)^\s*([a-z][a-z0-9._-]*)\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s*$`)

// copyExample copies examples/NAME (and examples/testdata) into a new
// temporary directory and returns the directory.
// editExample copies examples/name as copyExample does and rewrites the
// copy with each replacement (old, new pairs, each of which must change the
// file: an example that no longer holds old fails the test rather than
// running unchanged). It returns the copy's directory.
func editExample(t *testing.T, name string, oldNew ...string) string {
	t.Helper()
	dir := copyExample(t, name)
	cfg := filepath.Join(dir, name)
	b, err := os.ReadFile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	for i := 0; i+1 < len(oldNew); i += 2 {
		if !strings.Contains(s, oldNew[i]) {
			t.Fatalf("examples/%s no longer has %q:\n%s", name, oldNew[i], b)
		}
		s = strings.ReplaceAll(s, oldNew[i], oldNew[i+1])
	}
	if err := os.WriteFile(cfg, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

func copyExample(t *testing.T, name string) string {
	t.Helper()
	// The socket path must stay under 108 bytes: a short directory.
	dir, err := os.MkdirTemp("", "sn-cli-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	for _, f := range []string{name, "testdata/udp.pcap"} {
		b, err := os.ReadFile(filepath.Join("..", "examples", f))
		if err != nil {
			t.Fatal(err)
		}
		os.MkdirAll(filepath.Dir(filepath.Join(dir, f)), 0o755)
		if err := os.WriteFile(filepath.Join(dir, f), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// editFile writes a copy of dir/from with old replaced by new to dir/to.
func editFile(t *testing.T, dir, from, to, old, new string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, from))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), old) {
		t.Fatalf("%s has no %q", from, old)
	}
	p := filepath.Join(dir, to)
	if err := os.WriteFile(p, []byte(strings.Replace(string(b), old, new, 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}
