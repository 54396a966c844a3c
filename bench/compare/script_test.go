package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// scriptRepo makes a git repository with scripts/bench-compare.sh and
// two commits on main, and returns its directory and a function running
// git in it.
func scriptRepo(t *testing.T) (string, func(args ...string) string) {
	t.Helper()
	if _, err := exec.LookPath("git"); err != nil {
		t.Fatal("git is not installed: the script needs it (apt-get install git)")
	}
	dir := t.TempDir()
	script, err := os.ReadFile("../../scripts/bench-compare.sh")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(dir, "scripts"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "scripts", "bench-compare.sh"), script, 0o755); err != nil {
		t.Fatal(err)
	}
	git := func(args ...string) string {
		t.Helper()
		cmd := exec.Command("git", append([]string{"-c", "user.name=t", "-c", "user.email=t@example.com", "-c", "commit.gpgsign=false"}, args...)...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "GIT_CONFIG_GLOBAL=/dev/null", "GIT_CONFIG_NOSYSTEM=1")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
		return strings.TrimSpace(string(out))
	}
	git("init", "-q", "-b", "main")
	git("add", ".")
	git("commit", "-q", "-m", "one")
	if err := os.WriteFile(filepath.Join(dir, "f"), []byte("2"), 0o644); err != nil {
		t.Fatal(err)
	}
	git("add", ".")
	git("commit", "-q", "-m", "two")
	return dir, git
}

// runScript runs the script in dir in dry-run mode and returns its output
// and exit code.
func runScript(t *testing.T, dir string, args ...string) (string, int) {
	t.Helper()
	cmd := exec.Command("bash", append([]string{filepath.Join(dir, "scripts", "bench-compare.sh")}, args...)...)
	cmd.Env = append(os.Environ(), "BENCH_COMPARE_DRY_RUN=1", "GIT_CONFIG_GLOBAL=/dev/null", "GIT_CONFIG_NOSYSTEM=1")
	out, err := cmd.CombinedOutput()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return string(out), code
}

// TestScriptBase: scripts/bench-compare.sh picks the base revision as it
// documents (HEAD~1 on a clean main, the merge-base with main on a branch
// or with changes, the one given) and passes the rounds and the bench's
// arguments on.
func TestScriptBase(t *testing.T) {
	dir, git := scriptRepo(t)
	one, two := git("rev-parse", "HEAD~1"), git("rev-parse", "HEAD")

	out, code := runScript(t, dir)
	if code != 0 || !strings.Contains(out, "base "+one+" ") || !strings.Contains(out, "rounds 3\n") {
		t.Errorf("clean main: exit %d\n%s\nwant base %s (HEAD~1)", code, out, one)
	}

	if err := os.WriteFile(filepath.Join(dir, "f"), []byte("changed"), 0o644); err != nil {
		t.Fatal(err)
	}
	out, code = runScript(t, dir, "-n", "5", "--", "--scenario", "ip4-forward,ip4-forward-vlan", "--duration", "2s")
	if code != 0 || !strings.Contains(out, "base "+two+" ") || !strings.Contains(out, "+changes)") ||
		!strings.Contains(out, "rounds 5\n") || !strings.Contains(out, "bench args: --scenario ip4-forward,ip4-forward-vlan --duration 2s\n") {
		t.Errorf("main with changes: exit %d\n%s\nwant base %s (HEAD), 5 rounds, the bench args", code, out, two)
	}
	git("checkout", "-q", "--", "f")

	git("checkout", "-q", "-b", "feature")
	if err := os.WriteFile(filepath.Join(dir, "g"), []byte("3"), 0o644); err != nil {
		t.Fatal(err)
	}
	git("add", ".")
	git("commit", "-q", "-m", "three")
	out, code = runScript(t, dir, "--rounds=2")
	if code != 0 || !strings.Contains(out, "base "+two+" ") || strings.Contains(out, "+changes") || !strings.Contains(out, "rounds 2\n") {
		t.Errorf("branch: exit %d\n%s\nwant base %s (the merge-base with main)", code, out, two)
	}
	out, code = runScript(t, dir, one[:7], "--", "--workers", "1,2")
	if code != 0 || !strings.Contains(out, "base "+one+" ") || !strings.Contains(out, "bench args: --workers 1,2\n") {
		t.Errorf("explicit base: exit %d\n%s", code, out)
	}
}

// TestScriptArgs: wrong arguments are refused before anything is built,
// with what to do instead; --help prints the usage.
func TestScriptArgs(t *testing.T) {
	dir, _ := scriptRepo(t)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"-n", "0"}, "-n 0: give a number of rounds from 1 to 100"},
		{[]string{"-n", "x"}, "-n x: give a number of rounds from 1 to 100"},
		{[]string{"--rounds=101"}, "-n 101: give a number of rounds"},
		{[]string{"-n"}, "-n needs a number of rounds"},
		{[]string{"--scenario", "ip4-forward"}, "unknown option --scenario: the options are -n ROUNDS and --help; softnet bench's arguments go after --"},
		{[]string{"main", "ip4-forward"}, "two base revisions, main and ip4-forward: give one"},
		{[]string{"nope"}, "base revision nope is not a commit of this repository"},
	} {
		out, code := runScript(t, dir, tc.args...)
		if code != 2 || !strings.Contains(out, tc.want) {
			t.Errorf("bench-compare.sh %q: exit %d, %q; want exit 2 and %q", tc.args, code, out, tc.want)
		}
	}
	out, code := runScript(t, dir, "--help")
	if code != 0 || !strings.Contains(out, "bash scripts/bench-compare.sh [-n ROUNDS] [BASE_REV] [-- BENCH ARGS...]") || strings.Contains(out, "set -euo") {
		t.Errorf("--help: exit %d\n%s", code, out)
	}
}
