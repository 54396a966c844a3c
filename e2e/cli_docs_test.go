package e2e

import (
	"os"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"
)

// readmeCommands returns the softnet command paths README.md documents:
// those in its code spans (the "Operating a running router" table among
// them, where a span such as `route del PREFIX` continues the row's
// `softnet route add ...`) and on the command lines of its code blocks
// (every line of a sh block, the "$ " lines of the others). A path is the
// leading lowercase words after "softnet", at most two: "show routes" for
// `softnet show routes [PREFIX|ADDRESS]`, "trace" for `softnet trace N`.
func readmeCommands(readme string) map[string]bool {
	paths := map[string]bool{}
	add := func(s string) {
		for _, m := range softnetCmdRE.FindAllStringSubmatch(s, -1) {
			if p := cmdPath(strings.Fields(m[1])); p != "" {
				paths[p] = true
			}
		}
	}
	inBlock, shBlock := false, false
	for _, l := range strings.Split(readme, "\n") {
		if strings.HasPrefix(l, "```") {
			inBlock, shBlock = !inBlock, strings.TrimPrefix(l, "```") == "sh"
			continue
		}
		if inBlock {
			if shBlock {
				add(l)
			} else if cmd, ok := strings.CutPrefix(l, "$ "); ok {
				add(cmd)
			}
			continue
		}
		if strings.HasPrefix(l, "| `softnet ") {
			cell := l[2:]
			if i := strings.Index(cell, " | "); i >= 0 {
				cell = cell[:i]
			}
			for _, m := range codeSpanRE.FindAllStringSubmatch(cell, -1) {
				if !strings.HasPrefix(m[1], "softnet ") {
					add("softnet " + m[1]) // `route del PREFIX` after `softnet route add ...`
				}
			}
		}
		for _, m := range codeSpanRE.FindAllStringSubmatch(l, -1) {
			add(m[1])
		}
	}
	return paths
}

var (
	codeSpanRE   = regexp.MustCompile("`([^`]+)`")
	softnetCmdRE = regexp.MustCompile(`(?:^|[\s/])softnet((?: +\S+)+)`)
)

// commandTree is the real binary's command tree, from cobra's hidden
// __complete command: each top-level command and its subcommands' names
// (none for a command without subcommands).
func commandTree(t *testing.T) map[string][]string {
	t.Helper()
	names := func(args ...string) []string {
		res := softnet(t, ".", "", time.Minute, append([]string{"__complete"}, append(args, "")...)...)
		if res.Code != 0 {
			t.Fatalf("softnet __complete %s: %s", strings.Join(args, " "), res)
		}
		var out []string
		for _, l := range strings.Split(res.Out, "\n") {
			if l == "" || strings.HasPrefix(l, ":") {
				continue
			}
			name, _, _ := strings.Cut(l, "\t")
			out = append(out, name)
		}
		return out
	}
	tree := map[string][]string{}
	for _, c := range names() {
		if c != "help" {
			tree[c] = names(c)
		}
	}
	return tree
}

// TestCLIDocs fails when README.md documents a softnet command that the
// CLI tests do not exercise (cliCovered): a new documented command gets a
// line in the CLI test in the same change. What README shows after
// "softnet" is resolved against the binary's own command tree, so that
// arguments, aliases and examples of unknown commands ("softnet show
// foo") are not taken for commands.
func TestCLIDocs(t *testing.T) {
	need(t)
	b, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	tree := commandTree(t)
	if len(tree["show"]) < 5 || len(tree) < 8 {
		t.Fatalf("the command tree from softnet __complete looks wrong: %v", tree)
	}
	doc := map[string]bool{}
	var ignored []string
	for p := range readmeCommands(string(b)) {
		w := strings.Fields(p)
		subs, ok := tree[w[0]]
		switch {
		case !ok:
			ignored = append(ignored, p)
		case len(subs) == 0 || len(w) == 1:
			doc[w[0]] = true
		case slices.Contains(subs, w[1]):
			doc[w[0]+" "+w[1]] = true
		default:
			ignored = append(ignored, p)
		}
	}
	// The parser must see the table and the code blocks, or the test
	// proves nothing.
	for _, p := range []string{"show interfaces", "show routes", "route del", "neighbor del", "vlan del", "show bridge", "completion", "trace", "reload", "bench", "run", "check"} {
		if !doc[p] {
			t.Errorf("TestCLIDocs does not find `softnet %s` in README.md (found %q): fix readmeCommands", p, sorted(doc))
		}
	}
	var missing []string
	for p := range doc {
		covered := false
		for c := range cliCovered {
			if c == p || strings.HasPrefix(c, p+" ") || strings.HasPrefix(p, c+" ") {
				covered = true
			}
		}
		if !covered {
			missing = append(missing, p)
		}
	}
	sort.Strings(missing)
	for _, p := range missing {
		t.Errorf("README.md documents `softnet %s`, which the CLI tests do not run: add it to cliCovered (e2e/cli_helpers_test.go) and a call to it in TestCLIMem or TestCLIVeth that checks its answer", p)
	}
	sort.Strings(ignored)
	t.Logf("documented: %q; not commands of the binary (arguments, aliases, examples): %q", sorted(doc), ignored)
}

func sorted(m map[string]bool) []string {
	var s []string
	for k := range m {
		s = append(s, k)
	}
	sort.Strings(s)
	return s
}

func TestReadmeCommandsParser(t *testing.T) {
	got := readmeCommands("| `softnet route add PREFIX via GW`, `route del PREFIX` | change a `route` |\n" +
		"| `softnet completion bash\\|zsh\\|fish` | shell |\n" +
		"Run `softnet lab --kernel` or `softnet show`.\n" +
		"```sh\ngo run ./cmd/softnet bench   # x\n./softnet check -c examples/x.yaml\n```\n" +
		"```\n$ ./softnet show routes 192.0.2.1\nsoftnet ra     rx 4588902\n$ curl --unix-socket /tmp/softnet.sock http://softnet/metrics\n```\n")
	want := []string{"bench", "check", "completion", "lab", "route add", "route del", "show", "show routes"}
	if s := sorted(got); strings.Join(s, ",") != strings.Join(want, ",") {
		t.Errorf("readmeCommands: got %q, want %q", s, want)
	}
}
