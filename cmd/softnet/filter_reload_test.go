package main

import (
	"context"
	"fmt"
	"io"
	"maps"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"

	"github.com/softnet/softnet/api"
	"github.com/softnet/softnet/bench"
	"github.com/softnet/softnet/port/pcapfile"
)

// reloadRulesConfig is TestReloadKeepsRuleCounters' config: lan0 replays
// flows.pcap once; %s is the filter's rules.
const reloadRulesConfig = `workers: 1
interfaces:
  - name: lan0
    backend: pcap
    rx: flows.pcap
    mac: 02:52:00:00:00:01
    addresses: [10.0.1.1/24]
  - name: wan0
    backend: mem
    mac: 02:52:00:00:00:02
    addresses: [10.0.2.1/24]
routes:
  - {prefix: 198.18.0.0/15, via: 10.0.2.2}
neighbors:
  - {interface: wan0, address: 10.0.2.2, mac: 02:bb:00:00:00:02}
filter:
  default: block
  rules:
%s`

// TestReloadKeepsRuleCounters (issue 13): softnet reload keeps the
// counters of the rules it leaves unchanged, found by their text and not
// their number (a rule added before them moves them), and starts a
// changed or new rule at 0. It runs the real binary (this test binary,
// re-executed as softnet run and softnet reload); the traffic is ten UDP
// flows replayed once from a pcap, so the counters are exact.
func TestReloadKeepsRuleCounters(t *testing.T) {
	dir := t.TempDir()
	file, sock := filepath.Join(dir, "r.yaml"), filepath.Join(dir, "sn.sock")
	write := func(rules ...string) {
		t.Helper()
		var b strings.Builder
		for _, r := range rules {
			fmt.Fprintf(&b, "    - %s\n", r)
		}
		if err := os.WriteFile(file, []byte(fmt.Sprintf(reloadRulesConfig, b.String())), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// Five flows to 198.18.0.1, three to 198.18.0.2, two to 198.18.0.3
	// (no rule passes them: the default policy blocks them).
	var frames [][]byte
	src := netip.MustParseAddr("10.0.1.2").As4()
	for i, last := range []byte{1, 1, 1, 1, 1, 2, 2, 2, 3, 3} {
		f := make([]byte, 60)
		bench.UDPFrame(f, [6]byte{2, 0x52, 0, 0, 0, 1}, [6]byte{2, 0xaa, 0, 0, 0, 2},
			uint32(src[0])<<24|uint32(src[1])<<16|uint32(src[2])<<8|uint32(src[3]), 198<<24|18<<16|uint32(last), uint16(1001+i), 9, 64)
		frames = append(frames, f)
	}
	if err := pcapfile.WriteFile(filepath.Join(dir, "flows.pcap"), frames); err != nil {
		t.Fatal(err)
	}
	write("pass out",
		"pass in on lan0 proto udp to 198.18.0.1",
		"pass in on lan0 proto udp to 198.18.0.2")
	bin := func(args string) *exec.Cmd {
		cmd := softnetCmd(args)
		cmd.Dir = dir
		return cmd
	}
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
	counters := func() string {
		t.Helper()
		fr, err := c.FilterRules(ctx)
		if err != nil {
			t.Fatalf("show rules: %v", err)
		}
		var b strings.Builder
		for _, r := range fr.Rules {
			fmt.Fprintf(&b, "%d %d %d %s\n", r.Number, r.Packets, r.States, r.Rule)
		}
		return b.String()
	}
	before := "1 8 0 pass out\n" +
		"2 5 5 pass in on lan0 proto udp to 198.18.0.1\n" +
		"3 3 3 pass in on lan0 proto udp to 198.18.0.2\n" +
		"0 2 0 default block\n"
	waitFor(t, done, func() bool {
		_, err := c.Status(ctx)
		return err == nil && counters() == before
	}, "the ten flows' counters")

	// A rule added first (every number moves), two kept but swapped
	// (one with other spacing), one changed.
	write("block in on lan0 proto tcp",
		"pass  in on lan0   proto udp to 198.18.0.2",
		"pass out",
		"pass in on lan0 proto udp to 198.18.0.9")
	out, err := bin("reload --api " + sock).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "reloaded") {
		t.Fatalf("softnet reload: %v\n%s", err, out)
	}
	want := "1 0 0 block in on lan0 proto tcp\n" +
		"2 3 3 pass  in on lan0   proto udp to 198.18.0.2\n" +
		"3 8 0 pass out\n" +
		"4 0 0 pass in on lan0 proto udp to 198.18.0.9\n" +
		"0 2 0 default block\n"
	if got := counters(); got != want {
		t.Errorf("rule counters after the reload:\n%swant (unchanged rules keep theirs, the new and changed ones start at 0):\n%s", got, want)
	}
	// The states name their rule as the rules in force number it: the
	// flows to .2 were made by the rule now 2 (3 before the reload); the
	// rule that made those to .1 is gone (-1).
	rulesOf := func() string {
		t.Helper()
		ss, err := c.FilterStates(ctx, api.StateQuery{}, 0)
		if err != nil {
			t.Fatalf("show states: %v", err)
		}
		n := map[string]int{}
		for _, st := range ss {
			n[fmt.Sprintf("%s rule %d", strings.Split(st.Dst, ":")[0], st.Rule)]++
		}
		keys := slices.Sorted(maps.Keys(n))
		var b strings.Builder
		for _, k := range keys {
			fmt.Fprintf(&b, "%d to %s\n", n[k], k)
		}
		return b.String()
	}
	if got, want := rulesOf(), "5 to 198.18.0.1 rule -1\n3 to 198.18.0.2 rule 2\n"; got != want {
		t.Errorf("states after the reload:\n%swant:\n%s", got, want)
	}

	// Rules removed: those left keep theirs.
	write("pass out")
	if out, err := bin("reload --api " + sock).CombinedOutput(); err != nil {
		t.Fatalf("softnet reload: %v\n%s", err, out)
	}
	if got, want := counters(), "1 8 0 pass out\n0 2 0 default block\n"; got != want {
		t.Errorf("rule counters after the second reload:\n%swant:\n%s", got, want)
	}
	if got, want := rulesOf(), "5 to 198.18.0.1 rule -1\n3 to 198.18.0.2 rule -1\n"; got != want {
		t.Errorf("states after the second reload:\n%swant:\n%s", got, want)
	}
}
