package testenv

import (
	"fmt"
	"testing"
)

// fakeTB records what Need does to a test instead of stopping it.
type fakeTB struct {
	testing.TB
	skipped, failed bool
	msg             string
}

func (f *fakeTB) Helper() {}
func (f *fakeTB) Skip(args ...any) {
	if !f.failed { // a real Fatalf stops the test before Need's Skip
		f.skipped, f.msg = true, fmt.Sprint(args...)
	}
}
func (f *fakeTB) Fatalf(format string, args ...any) {
	f.failed, f.msg = true, fmt.Sprintf(format, args...)
}

// TestNeed: a missing prerequisite skips on a developer's machine and
// fails under CI=true, saying why either way; a present one does nothing.
func TestNeed(t *testing.T) {
	for _, c := range []struct {
		ci, ok     string
		skip, fail bool
		wantInMsg  string
	}{
		{ci: "", ok: "no", skip: true, wantInMsg: "needs a thing"},
		{ci: "false", ok: "no", skip: true, wantInMsg: "needs a thing"},
		{ci: "true", ok: "no", fail: true, wantInMsg: "missing prerequisite under CI=true: needs a thing"},
		{ci: "", ok: "yes"},
		{ci: "true", ok: "yes"},
	} {
		t.Setenv("CI", c.ci)
		f := &fakeTB{TB: t}
		Need(f, c.ok == "yes", "needs a thing")
		if f.skipped != c.skip || f.failed != c.fail {
			t.Errorf("CI=%q ok=%s: skipped %v failed %v, want %v %v", c.ci, c.ok, f.skipped, f.failed, c.skip, c.fail)
		}
		if c.wantInMsg != "" && f.msg != c.wantInMsg {
			t.Errorf("CI=%q ok=%s: message %q, want %q", c.ci, c.ok, f.msg, c.wantInMsg)
		}
		if CI() != (c.ci == "true") {
			t.Errorf("CI=%q: CI() = %v", c.ci, CI())
		}
	}
}

// TestTools: a tool that is not on $PATH fails under CI=true and
// names the tool; one that is does nothing.
func TestTools(t *testing.T) {
	t.Setenv("CI", "true")
	f := &fakeTB{TB: t}
	Tools(f, "softnet-no-such-tool-xyz")
	if !f.failed || f.msg != "missing prerequisite under CI=true: needs softnet-no-such-tool-xyz on $PATH (bash scripts/deps.sh installs it)" {
		t.Errorf("missing tool under CI: failed %v, %q", f.failed, f.msg)
	}
	f = &fakeTB{TB: t}
	Tools(f, "go")
	if f.failed || f.skipped {
		t.Errorf("go on $PATH: %q", f.msg)
	}
}
