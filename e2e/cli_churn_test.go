package e2e

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/softnet/softnet/api"
)

// TestCLIChurn is a bounded churn loop against the real binary running
// examples/operate-mem.yaml while its pcap traffic flows: route add/del,
// neighbor add/del, vlan add/del, reload and every show --json, in a
// random (seeded) order, for 200 commands or 20 s, whichever comes first.
// Every command must succeed, the router's state must match what the loop
// did (checked every 25 commands), and at the end the router is alive,
// still forwarding, and its final counters (after SIGTERM) balance
// exactly: every packet received was sent or dropped under a reason.
func TestCLIChurn(t *testing.T) {
	need(t)
	d := copyExample(t, "operate-mem.yaml")
	r := startCLIRouter(t, d, "operate-mem.yaml", "")
	r.waitTxGrows(t, "wan0")

	// What the loop has added and not deleted; a reload removes the routes
	// and neighbours added at run time, and keeps the VLANs.
	routes, neighs, vlans := map[int]bool{}, map[int]bool{}, map[int]bool{}
	shows := [][]string{{"show", "interfaces"}, {"show", "routes"}, {"show", "routes", "198.18.0.1"}, {"show", "neighbors"},
		{"show", "runtime"}, {"show", "errors"}, {"show", "vlans"}, {"show", "bridge"}}
	toggle := func(m map[int]bool, j int) {
		if m[j] {
			delete(m, j)
		} else {
			m[j] = true
		}
	}
	rng := rand.New(rand.NewPCG(17, 17))
	check := func(after string) {
		t.Helper()
		var s api.RouteSummary
		if r.json(t, &s, "show", "routes") && s.Static != 2+len(routes) {
			t.Errorf("after %s: %d configured routes, want %d (2 from the file, %d added)", after, s.Static, 2+len(routes), len(routes))
		}
		var ns []api.Neighbor
		if r.json(t, &ns, "show", "neighbors") && len(ns) != 2+len(neighs) {
			t.Errorf("after %s: %d neighbours, want %d: %+v", after, len(ns), 2+len(neighs), ns)
		}
		var vs []api.VLAN
		if r.json(t, &vs, "show", "vlans") {
			var got, want []string
			for _, v := range vs {
				got = append(got, v.Name)
			}
			for j := range vlans {
				want = append(want, fmt.Sprintf("wan0.%d", 100+j))
			}
			sort.Strings(got)
			sort.Strings(want)
			if !slices.Equal(got, want) {
				t.Errorf("after %s: VLANs %q, want %q", after, got, want)
			}
		}
		if m := r.route(t, "198.18.0.1"); m.Kind != "forward" || m.Via != "10.0.2.2" {
			t.Errorf("after %s: show routes 198.18.0.1 %+v", after, m)
		}
	}

	start := time.Now()
	n, counts := 0, map[string]int{}
	var last string
	var history []string
	for ; n < 200 && time.Since(start) < 20*time.Second && !t.Failed(); n++ {
		j := rng.IntN(8)
		var args []string
		switch op := rng.IntN(20); {
		case op < 4:
			p := fmt.Sprintf("192.0.2.%d/28", 16*j)
			if args = []string{"route", "add", p, "via", "10.0.2.2"}; routes[j] {
				args = []string{"route", "del", p}
			}
			toggle(routes, j)
		case op < 8:
			a := fmt.Sprintf("10.0.2.%d", 10+j)
			if args = []string{"neighbor", "add", a, fmt.Sprintf("02:cc:00:00:00:%02x", 10+j), "dev", "wan0"}; neighs[j] {
				args = []string{"neighbor", "del", a, "dev", "wan0"}
			}
			toggle(neighs, j)
		case op < 12:
			name := fmt.Sprintf("wan0.%d", 100+j)
			if args = []string{"vlan", "add", name, "--parent", "wan0", "--vlan", fmt.Sprint(100 + j), "--address", fmt.Sprintf("10.%d.0.1/24", 100+j)}; vlans[j] {
				args = []string{"vlan", "del", name}
			}
			toggle(vlans, j)
		case op < 13:
			args = []string{"reload"}
			clear(routes)
			clear(neighs)
		default:
			args = append(shows[rng.IntN(len(shows))], "--json")
		}
		last = strings.Join(args, " ")
		history = append(history, last)
		counts[cmdPath(args)]++
		r.ok(t, args...)
		r.mustAlive(t, fmt.Sprintf("command %d, softnet %s", n+1, last))
		if n%25 == 24 {
			check(fmt.Sprintf("command %d (softnet %s)", n+1, last))
		}
	}
	t.Logf("%d commands in %v: %v", n, time.Since(start).Round(time.Millisecond), counts)
	if t.Failed() {
		t.Fatalf("stopped after command %d: softnet %s; the commands:\n%s", n, last, strings.Join(history, "\n"))
	}
	check("the loop")
	// A blocklist of one of the traffic's destinations: early-drop drops
	// a third of it before ethernet-input, and those frames must count as
	// received (the final balance below).
	list := filepath.Join(d, "churn-list.txt")
	if err := os.WriteFile(list, []byte("198.18.0.2\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	r.ok(t, "blocklist", "load", "churn", list, "--match", "dst")
	for deadline := time.Now().Add(10 * time.Second); ; {
		if ls, err := api.NewClient(r.Sock).Blocklists(context.Background(), "churn", -1); err == nil && len(ls) == 1 && ls[0].Drops > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the blocklist of 198.18.0.2 dropped nothing in 10 s:\n%s", r.ok(t, "blocklist", "show"))
		}
		time.Sleep(50 * time.Millisecond)
	}
	// softnet capture sees early-drop's drops (they are freed without the
	// drop node unless a capture of them is armed).
	if out := r.ok(t, "capture", "--drop=blocklisted", "-c", "3", "--timeout", "10s"); strings.Count(out, "198.18.0.2") != 3 || !strings.Contains(out, "early-drop/blocklisted") {
		t.Errorf("softnet capture --drop=blocklisted -c 3: want 3 lines of packets to 198.18.0.2, dropped by early-drop/blocklisted:\n%s", out)
	}
	r.waitTxGrows(t, "wan0")

	var e api.Errors
	r.json(t, &e, "show", "errors")
	before := r.ifaces(t)
	r.cmd.Process.Signal(syscall.SIGTERM)
	if !r.wait(10 * time.Second) {
		t.Fatal("softnet run still running 10 s after SIGTERM")
	}
	if r.err != nil {
		t.Errorf("softnet run after SIGTERM: %v, want exit 0", r.err)
	}
	c := finalBalance(t, r.Stdout())
	drops := finalDrops(r.Stdout(), c)
	if len(c.Interfaces) < 2 || c.Interfaces[0].RxPackets < before["lan0"].RxPackets || c.Interfaces[1].TxPackets < before["wan0"].TxPackets || drops < e.Total {
		t.Errorf("final counters %+v (drops %d) below the API's just before: %+v (drops %d)", c.Interfaces, drops, before, e.Total)
	}
}
