package main

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/softnet/softnet/api"
	"github.com/softnet/softnet/config"
	"github.com/softnet/softnet/control"
	"github.com/softnet/softnet/logs"
)

// cli runs softnet with args and returns its stdout, stderr and error.
func cli(t *testing.T, args ...string) (string, string, error) {
	t.Helper()
	root := newRoot()
	var o, e bytes.Buffer
	root.SetOut(&o)
	root.SetErr(&e)
	root.SetArgs(args)
	err := root.Execute()
	return o.String(), e.String(), err
}

// TestCLI runs examples/two-port-mem.yaml with its API on a socket and
// drives it with the show, route, neighbor and reload commands.
func TestCLI(t *testing.T) {
	ctx := context.Background()
	c, sock, stderr := startRouter(t, "../../examples/two-port-mem.yaml")
	deadline := time.Now().Add(10 * time.Second)
	for {
		ifs, err := c.Interfaces(ctx)
		// Tx bytes too: a worker stores them last when it publishes.
		if err == nil && ifs[1].TxPackets == 3 && ifs[1].TxBytes == 180 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("router not up or pcap not replayed: %v\n%s", err, stderr.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	a := "--api=" + sock

	out, _, err := cli(t, "show", "interfaces", a)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 3 || !strings.HasPrefix(lines[0], "NAME  ADMIN  LINK  MAC") ||
		strings.Join(strings.Fields(lines[2]), " ") != "wan0 up up 02:52:00:00:00:02 1500 10.0.2.1/24 0 0 3 180 0 0" {
		t.Errorf("show interfaces:\n%s", out)
	}
	out, _, _ = cli(t, "show", "routes", "198.18.0.1", a)
	if !strings.Contains(out, "198.18.0.0/15  forward  10.0.2.2  wan0") {
		t.Errorf("show routes 198.18.0.1:\n%s", out)
	}
	out, _, _ = cli(t, "show", "routes", a)
	if !strings.Contains(out, "total   12") {
		t.Errorf("show routes:\n%s", out)
	}
	out, _, _ = cli(t, "show", "neighbors", a)
	if !strings.Contains(out, "wan0       10.0.2.2  02:bb:00:00:00:02  static") {
		t.Errorf("show neighbors:\n%s", out)
	}
	out, _, _ = cli(t, "show", "runtime", a, "--json")
	var rt api.Runtime
	err = json.Unmarshal([]byte(out), &rt)
	eth := slices.IndexFunc(rt.Stages, func(s api.StageRuntime) bool { return s.Name == "ethernet-input" }) // after early-drop, a device-input feature
	if err != nil || eth < 0 || rt.Stages[eth].Packets != 3 {
		t.Errorf("show runtime --json: %v\n%s", err, out)
	}
	out, _, _ = cli(t, "show", "runtime", a)
	if !strings.Contains(out, "poll mode: interrupt\n") {
		t.Errorf("show runtime does not give the poll mode:\n%s", out)
	}
	out, _, _ = cli(t, "show", "errors", a)
	if !strings.Contains(out, "total drops: 0") || !strings.Contains(out, "accounting: received 3 + generated 0 = sent 3 + dropped 0 + consumed 0 + held 0") {
		t.Errorf("show errors:\n%s", out)
	}
	out, _, _ = cli(t, "show", "errors", "--all", a)
	if f := strings.Join(strings.Fields(out), " "); !strings.Contains(f, "0 ip4-lookup/blackhole route to a blackhole next hop") ||
		!strings.Contains(f, "0 arp-queue/queue-full waiting for ARP") {
		t.Errorf("show errors --all:\n%s", out)
	}

	if out, _, err = cli(t, "route", "add", "192.0.2.0/24", "via", "10.0.2.2", a); err != nil || out != "route 192.0.2.0/24 added\n" {
		t.Errorf("route add: %q %v", out, err)
	}
	if _, _, err = cli(t, "route", "add", "192.0.2.0/24", "10.0.2.2", a); err == nil || !strings.Contains(err.Error(), "usage: softnet route add PREFIX via GATEWAY") {
		t.Errorf("route add without via: %v", err)
	}
	if out, _, err = cli(t, "neighbor", "add", "10.0.2.3", "02:bb:00:00:00:03", "dev", "wan0", a); err != nil {
		t.Errorf("neighbor add: %q %v", out, err)
	}
	if out, _, err = cli(t, "neighbor", "del", "10.0.2.3", "dev", "wan0", a); err != nil {
		t.Errorf("neighbor del: %q %v", out, err)
	}

	// A bad file is rejected with check's messages; the added route stays.
	_, errOut, err := cli(t, "reload", "-c", "../../examples/bad.yaml", a)
	if err == nil || err.Error() != "reload rejected: 17 config errors, nothing changed" || !strings.Contains(errOut, "bad.yaml:4:10: workers: 0 is out of range: use 1..64") {
		t.Errorf("bad reload: %v\n%s", err, errOut)
	}
	out, _, _ = cli(t, "show", "routes", "192.0.2.1", a)
	if !strings.Contains(out, "192.0.2.0/24") {
		t.Errorf("route gone after a rejected reload:\n%s", out)
	}
	// A good reload puts the routes back to the file's.
	out, _, err = cli(t, "reload", a)
	if err != nil || !strings.Contains(out, "two-port-mem.yaml: reloaded (2 interfaces, 2 routes, 2 neighbors, 1 worker)") || !strings.Contains(out, "routes: 0 added, 0 changed, 1 removed") {
		t.Errorf("reload: %v\n%s", err, out)
	}

	// A VLAN sub-interface created and deleted at run time; a reload
	// keeps it (the config does not list it).
	out, _, err = cli(t, "vlan", "add", "v9", "--parent", "lan0", "--vlan", "9", "--address", "10.0.9.1/24", a)
	if err != nil || !strings.Contains(out, "vlan v9 added on lan0") {
		t.Errorf("vlan add: %v\n%s", err, out)
	}
	if _, _, err = cli(t, "vlan", "add", "v10", "--parent", "lan0", a); err == nil || !strings.Contains(err.Error(), "--vlan") {
		t.Errorf("vlan add without --vlan: %v", err)
	}
	out, _, _ = cli(t, "show", "vlans", a)
	if !strings.Contains(out, "v9") || !strings.Contains(out, "10.0.9.1/24") {
		t.Errorf("show vlans:\n%s", out)
	}
	if out, _, err = cli(t, "reload", a); err != nil {
		t.Errorf("reload with a run-time VLAN: %v\n%s", err, out)
	}
	out, _, _ = cli(t, "show", "routes", "10.0.9.7", a)
	if !strings.Contains(out, "10.0.9.0/24") {
		t.Errorf("v9's subnet after a reload:\n%s", out)
	}
	out, _, err = cli(t, "vlan", "del", "v9", a)
	if err != nil || !strings.Contains(out, "vlan v9 deleted") {
		t.Errorf("vlan del: %v\n%s", err, out)
	}
	if out, _, _ = cli(t, "show", "vlans", a); strings.Contains(out, "v9") {
		t.Errorf("show vlans after del:\n%s", out)
	}

	// A trace that times out says how many it saw, not "context deadline
	// exceeded" (nothing arrives after the pcap's three packets).
	out, _, err = cli(t, "trace", "2", "--timeout", "300ms", a)
	if err == nil || err.Error() != "trace: 0 of 2 packets seen in 300ms (timeout)" {
		t.Errorf("trace 2 --timeout 300ms: %v\n%s", err, out)
	}

	out, _, err = cli(t, "completion", "bash")
	if err != nil || !strings.Contains(out, "__start_softnet") {
		t.Errorf("completion bash: %v (%d bytes)", err, len(out))
	}
	for _, sh := range []string{"zsh", "fish"} {
		if out, _, err := cli(t, "completion", sh); err != nil || !strings.Contains(out, "softnet") {
			t.Errorf("completion %s: %v", sh, err)
		}
	}
}

func TestCLINoRouter(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "none.sock")
	_, _, err := cli(t, "show", "interfaces", "--api", sock)
	if want := "no softnet router listening on " + sock + ": start one with softnet run -c FILE, or pass --api"; err == nil || err.Error() != want {
		t.Errorf("got %v, want %q", err, want)
	}
}

func TestServeOpts(t *testing.T) {
	cfg := func(sock, metrics string) *config.Config {
		return &config.Config{API: config.API{Socket: sock, Metrics: metrics}}
	}
	for _, c := range []struct {
		so                  serveOpts
		cfg                 *config.Config
		socket, metricsAddr string
	}{
		{serveOpts{}, cfg("", ""), config.DefaultSocket, ""},
		{serveOpts{}, cfg("/tmp/a.sock", "127.0.0.1:9977"), "/tmp/a.sock", "127.0.0.1:9977"},
		{serveOpts{}, cfg("off", ""), "", ""},
		{serveOpts{socketSet: true, socket: ""}, cfg("/tmp/a.sock", ""), "", ""},
		{serveOpts{socketSet: true, socket: "off"}, cfg("", ""), "", ""},
		{serveOpts{socketSet: true, socket: "/tmp/b.sock", metricsSet: true, metrics: ""}, cfg("/tmp/a.sock", "127.0.0.1:9977"), "/tmp/b.sock", ""},
	} {
		s, m := c.so.resolve(c.cfg)
		if s != c.socket || m != c.metricsAddr {
			t.Errorf("%+v with api %+v: %q %q, want %q %q", c.so, c.cfg.API, s, m, c.socket, c.metricsAddr)
		}
	}
}

// TestLogControl: control-plane trouble is logged through the sampler: a
// storm of ARP failures gives a few lines a second, then one with the
// count of those suppressed.
func TestLogControl(t *testing.T) {
	var buf bytes.Buffer
	now := time.Unix(0, 0)
	ev := logs.NewSampler(slog.New(slog.NewTextHandler(&buf, nil)), 2)
	ev.Now = func() time.Time { return now }
	var prev control.Stats
	for i := range 10 {
		cur := prev
		cur.Unreachable += 3
		if i == 0 {
			cur.InjectFull = 1
		}
		logControl(ev, prev, cur)
		prev = cur
	}
	now = now.Add(time.Second)
	cur := prev
	cur.Unreachable++
	logControl(ev, prev, cur)
	out := buf.String()
	if n := strings.Count(out, "event=arp-failed"); n != 3 {
		t.Errorf("%d arp-failed lines, want 2 in the first second and 1 after:\n%s", n, out)
	}
	if !strings.Contains(out, "event=arp-failed new=1 total=31 suppressed=8") {
		t.Errorf("no suppressed count:\n%s", out)
	}
	if !strings.Contains(out, "event=inject-full") {
		t.Errorf("inject-full not logged:\n%s", out)
	}
}

// TestUnknownSubcommand: an unknown subcommand of any command group fails
// naming the valid ones (it used to print the help and exit 0); the
// aliases show neighbours and show interface work.
func TestUnknownSubcommand(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "none.sock")
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"show", "foo"}, `unknown command "foo" for "softnet show": give one of bridge, captures, errors, interfaces, linuxcp, neighbors, routes, rules, runtime, states, vlans`},
		{[]string{"vlan", "foo"}, `unknown command "foo" for "softnet vlan": give one of add, del`},
		{[]string{"route", "foo", "bar"}, `unknown command "foo" for "softnet route": give one of add, del`},
		{[]string{"neighbor", "list"}, `unknown command "list" for "softnet neighbor": give one of add, del`},
		{[]string{"neighbour", "list"}, `unknown command "list" for "softnet neighbor": give one of add, del`},
		{[]string{"foo"}, `unknown command "foo" for "softnet"`},
	} {
		out, _, err := cli(t, append(tc.args, "--api", sock)...)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("softnet %v: %v (stdout %d bytes), want an error with %q", tc.args, err, len(out), tc.want)
		}
	}
	// help of an unknown topic fails too (cobra's printed the help, exit 0).
	for args, want := range map[string]string{"help foo": `no help topic "foo": softnet --help lists the commands`, "help show foo": `no help topic "show foo"`} {
		if _, _, err := cli(t, strings.Fields(args)...); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("softnet %s: %v, want an error with %q", args, err, want)
		}
	}
	// The aliases reach the command (and so fail for want of a router).
	for _, args := range [][]string{{"show", "neighbours"}, {"show", "interface"}, {"show", "neighbors"}, {"show", "interfaces"}} {
		_, _, err := cli(t, append(args, "--api", sock)...)
		if err == nil || !strings.Contains(err.Error(), "no softnet router listening on") {
			t.Errorf("softnet %v: %v, want the command to run", args, err)
		}
	}
	// A group alone still prints its help.
	if out, _, err := cli(t, "show"); err != nil || !strings.Contains(out, "Available Commands") {
		t.Errorf("softnet show: %v\n%s", err, out)
	}
}

// TestPrintJSONNoEscape: --json writes <, > and & as they are.
func TestPrintJSONNoEscape(t *testing.T) {
	var b bytes.Buffer
	if err := printJSON(&b, map[string]string{"detail": "ttl <= 1 & len > 64"}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), `"ttl <= 1 & len > 64"`) {
		t.Errorf("printJSON: %s", b.String())
	}
	b.Reset()
	if err := jsonEncoder(&b).Encode([]string{"<a>"}); err != nil || b.String() != "[\"<a>\"]\n" {
		t.Errorf("jsonEncoder: %q %v", b.String(), err)
	}
}
