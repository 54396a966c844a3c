package e2e

import (
	"os"
	"regexp"
	"sort"
	"strings"
	"testing"
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

// TestCLIDocs fails when README.md documents a softnet command that the
// CLI tests do not exercise (cliCovered): a new documented command gets a
// line in the CLI test in the same change.
func TestCLIDocs(t *testing.T) {
	b, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	doc := readmeCommands(string(b))
	// The parser must see the table and the code blocks, or the test
	// proves nothing.
	for _, p := range []string{"show interfaces", "show routes", "route del", "neighbor del", "vlan del", "show bridge", "completion", "trace", "reload", "bench", "run", "check"} {
		if !doc[p] {
			t.Errorf("readmeCommands does not find `softnet %s` in README.md (found %q): fix the parser", p, sorted(doc))
		}
	}
	var missing []string
	for p := range doc {
		covered := false
		for c := range cliCovered {
			if c == p || strings.HasPrefix(c, p+" ") {
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
	t.Logf("documented: %q", sorted(doc))
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
