package e2e

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/softnet/softnet/api"
	"github.com/softnet/softnet/internal/netns"
)

// blocklistConfig is examples/veth-router.yaml with a blocklist on lan0
// (issue 13 item 3: blocklists in the config).
const blocklistConfig = `workers: 1
interfaces:
  - name: wan0
    backend: afpacket
    device: veth-r1
    addresses: [10.0.2.1/24]
  - name: lan0
    backend: afpacket
    device: veth-r0
    addresses: [10.0.1.1/24]
routes:
  - {prefix: 198.18.0.0/15, via: 10.0.2.2}
blocklists:
  - {name: attackers, file: attackers.txt, interfaces: [lan0]}
`

// TestBlocklistConfig runs the real binary with a config that has a
// blocklist: h1 pings h2 from two addresses; the listed source's pings
// are dropped and counted in the list's drops, the other's pass. softnet
// check reports a bad line of the list at the config's line and the
// list's. A reload with the file unchanged leaves the list as it runs; a
// reload after the file changed (now listing the other source) swaps it:
// the blocking turns around, the counters carry on.
func TestBlocklistConfig(t *testing.T) {
	need(t)
	h1, rns, _ := vethRouterTopo(t)
	ctx := context.Background()
	if _, err := netns.IP(ctx, "-n", h1, "addr", "add", "10.0.1.3/24", "dev", "veth-h1"); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	list := filepath.Join(dir, "attackers.txt")
	write := func(path, s string) {
		t.Helper()
		if err := os.WriteFile(path, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(list, "# the flood's sources\n10.0.1.3\n192.0.2.0/24\n")
	write(filepath.Join(dir, "router.yaml"), blocklistConfig)
	r := startCLIRouter(t, dir, "router.yaml", rns)
	for deadline := time.Now().Add(15 * time.Second); ping(t, h1, "10.0.1.1", 1).Received != 1; {
		r.mustAlive(t, "start")
		if time.Now().After(deadline) {
			t.Fatalf("softnet does not answer ping on 10.0.1.1 15 s after start:\n%s", r.Stderr())
		}
	}
	drops := func() uint64 {
		t.Helper()
		c := api.NewClient(r.Sock)
		l, err := c.Blocklists(ctx, "attackers", -1)
		if err != nil || len(l) != 1 {
			t.Fatalf("blocklists: %v %v", l, err)
		}
		return l[0].Drops
	}
	// pass and blocked ping h2 from the two sources.
	check := func(when, pass, blocked string) {
		t.Helper()
		before := drops()
		if p := ping(t, h1, "10.0.2.2", 5, "-I", pass); p.Received < 4 {
			t.Errorf("%s: ping from %s (not listed): %d/%d\n%s", when, pass, p.Received, p.Sent, p.Output)
		}
		if p := ping(t, h1, "10.0.2.2", 3, "-I", blocked); p.Received != 0 {
			t.Errorf("%s: ping from %s (listed) got %d replies, want none\n%s", when, blocked, p.Received, p.Output)
		}
		if d := drops() - before; d < 3 {
			t.Errorf("%s: the list counted %d drops for 3 listed pings", when, d)
		}
	}
	check("at start", "10.0.1.2", "10.0.1.3")
	if out := r.ok(t, "blocklist", "show"); !strings.Contains(out, "attackers") || !strings.Contains(out, "lan0") {
		t.Errorf("blocklist show:\n%s", out)
	}

	// softnet check reads the list: a bad line is reported at both lines.
	bad := filepath.Join(dir, "bad.txt")
	write(bad, "10.0.1.3\n10.0.1.999\n")
	write(filepath.Join(dir, "bad.yaml"), strings.Replace(blocklistConfig, "attackers.txt", "bad.txt", 1))
	// in the router's namespace, where its veths are
	out, err := netns.Command(ctx, rns, binary, "check", "-c", filepath.Join(dir, "bad.yaml")).CombinedOutput()
	if want := "bad.yaml:14:29: blocklists[0].file: " + bad + `:2: "10.0.1.999" is not an IPv4 or IPv6 address`; err == nil || !strings.Contains(string(out), want) {
		t.Errorf("softnet check with a bad list line: %v\n%s\nwant %s", err, out, want)
	}

	if out := r.ok(t, "reload"); !strings.Contains(out, "blocklist attackers: unchanged") {
		t.Errorf("reload, list unchanged:\n%s", out)
	}
	n := drops()
	write(list, "10.0.1.2\n")
	if out := r.ok(t, "reload"); !strings.Contains(out, "blocklist attackers: reloaded (1 entries from "+list) {
		t.Errorf("reload, list changed:\n%s", out)
	}
	if d := drops(); d < n {
		t.Errorf("drops went from %d to %d across the reload: the counters should carry over", n, d)
	}
	check("after the reload", "10.0.1.3", "10.0.1.2")
}
