package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestBenchPlotFlags: misused --plot, --repeat and --peers are refused
// before anything is measured, with what to do instead.
func TestBenchPlotFlags(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.json")
	if err := os.WriteFile(bad, []byte(`{"scenario": 1}`), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--scenario", "overload", "--plot", filepath.Join(dir, "o.png")}, "apply to the ip4-forward and rss scenarios"},
		{[]string{"--scenario", "veth", "--repeat", "3"}, "apply to the ip4-forward and rss scenarios"},
		{[]string{"--peers", bad}, "give --plot FILE.png too"},
		{[]string{"--plot", filepath.Join(dir, "p.png"), "--peers", filepath.Join(dir, "missing.json")}, "--peers: open"},
		{[]string{"--plot", filepath.Join(dir, "p.png"), "--peers", bad}, "bench/peers"},
		{[]string{"--repeat", "0", "--duration", "1ms"}, "--repeat 0: give a number of runs from 1 to 100"},
	} {
		cmd := benchCmd()
		var out bytes.Buffer
		cmd.SetOut(&out)
		cmd.SetErr(&out)
		cmd.SetArgs(tc.args)
		cmd.SilenceUsage, cmd.SilenceErrors = true, true
		err := cmd.Execute()
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("bench %v: %v, want %q", tc.args, err, tc.want)
		}
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("files left in %s: %v", dir, entries)
	}
}
