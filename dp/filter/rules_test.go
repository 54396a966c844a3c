package filter

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/softnet/softnet/dp/filter/pf"
)

// linear is eval without the index: every rule in order.
func (rs *Ruleset) linear(f *Flow, dir pf.Dir, ifc int) (int, pf.Action, bool) {
	idx, act, keep := -1, rs.Default, false
	for i := range rs.rules {
		c := &rs.rules[i]
		if !c.match(f, dir, ifc) {
			continue
		}
		idx, act, keep = i, c.action, c.keep
		if c.quick {
			break
		}
	}
	return idx, act, keep
}

func compileTest(t testing.TB, lines []string) *Ruleset {
	t.Helper()
	var rules []pf.Rule
	for _, l := range lines {
		r, err := pf.Parse(l)
		if err != nil {
			t.Fatalf("%s: %v", l, err)
		}
		rules = append(rules, r)
	}
	rs, err := Compile(rules, pf.Block, Timeouts{}, func(s string) (int, bool) {
		if s == "if0" || s == "if1" {
			return int(s[2] - '0'), true
		}
		return 0, false
	}, nil, 1)
	if err != nil {
		t.Fatal(err)
	}
	return rs
}

// TestRuleIndex: eval over the rules its index leaves (per family,
// direction and protocol) decides as a scan of every rule does, for
// random rule lists and flows; and the ip4-filter bench's UDP flows are
// checked against one rule each way, not 1,000.
func TestRuleIndex(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	pick := func(s ...string) string { return s[rng.IntN(len(s))] }
	for round := 0; round < 300; round++ {
		var lines []string
		for n := 1 + rng.IntN(12); n > 0; n-- {
			parts := []string{pick("pass", "block"), pick("", "in", "out"), pick("", "", "quick"), pick("", "on if0", "on if1", "on ! if0"),
				pick("", "inet", "inet6"), pick("", "proto tcp", "proto udp", "proto icmp", "proto ipv6-icmp", "proto {tcp, udp}", "proto 47")}
			lines = append(lines, strings.Join(strings.Fields(strings.Join(parts, " ")), " "))
		}
		rs := compileTest(t, lines)
		for k := 0; k < 200; k++ {
			f := Flow{Fam: uint8(pick("4", "6")[0] - '0'), Proto: []uint8{6, 17, 1, 58, 47, 50}[rng.IntN(6)]}
			dir := []pf.Dir{pf.In, pf.Out}[rng.IntN(2)]
			ifc := rng.IntN(3)
			ai, aa, ak := rs.eval(&f, dir, ifc)
			bi, ba, bk := rs.linear(&f, dir, ifc)
			if ai != bi || aa != ba || ak != bk {
				t.Fatalf("rules %q, flow fam %d proto %d dir %v on %d: indexed (%d %v %v), scan (%d %v %v)",
					lines, f.Fam, f.Proto, dir, ifc, ai, aa, ak, bi, ba, bk)
			}
		}
	}
	var lines []string
	for i := 0; i < 998; i++ {
		lines = append(lines, fmt.Sprintf("block in on if0 proto tcp from 10.%d.%d.0/24 to any port %d", i/250, i%250, 1+i%1000))
	}
	rs := compileTest(t, append(lines, "pass in on if0 proto udp", "pass out"))
	f := Flow{Fam: 4, Proto: 17}
	in, _ := rs.candidates(&f, pf.In)
	out, _ := rs.candidates(&f, pf.Out)
	if len(in) != 1 || len(out) != 1 {
		t.Fatalf("a UDP flow's first packet is checked against %d rules in and %d out, want 1 and 1", len(in), len(out))
	}
}

// TestRuleIdentityAcrossReload: a state or a drop records its rule's
// identity, so after a reload that moves the rule it is named by its new
// number, and by "removed or changed" once a reload drops it; the
// default policy stays the default policy.
func TestRuleIdentityAcrossReload(t *testing.T) {
	a := compileTest(t, []string{"block in proto udp", "block in proto tcp"})
	tcp := a.ruleID(1)
	h := &Holder{}
	h.SetRules(a)
	drop := func(id int32) string {
		s, ok := h.DropRule(reasons4.Blocked, uint32(id+1))
		if !ok {
			t.Fatalf("DropRule(blocked): not the filter's")
		}
		return s
	}
	if got := drop(tcp); got != "rule 2 (block in proto tcp)" || a.RuleNumber(tcp) != 2 {
		t.Errorf("before the reload: %q, number %d", got, a.RuleNumber(tcp))
	}
	b := compileTest(t, []string{"pass in proto icmp", "block in proto udp", "block in proto tcp"})
	b.ShareCounters(a)
	h.SetRules(b)
	if got := drop(tcp); got != "rule 3 (block in proto tcp)" || b.RuleNumber(tcp) != 3 {
		t.Errorf("after a rule was added before it: %q, number %d", got, b.RuleNumber(tcp))
	}
	c := compileTest(t, []string{"block in proto udp"})
	c.ShareCounters(b)
	h.SetRules(c)
	if got := drop(tcp); got != "a rule a reload removed or changed" || c.RuleNumber(tcp) != -1 {
		t.Errorf("after it was removed: %q, number %d", got, c.RuleNumber(tcp))
	}
	if got := drop(-1); got != "default policy block" || c.RuleNumber(-1) != 0 {
		t.Errorf("default policy: %q, number %d", got, c.RuleNumber(-1))
	}
}
