package main

import (
	"strings"
	"testing"
)

// TestListEntriesNeedName: softnet blocklist show and softnet table show
// refuse --entries without a NAME before asking the router anything, and
// say which command to run.
func TestListEntriesNeedName(t *testing.T) {
	for _, c := range []struct{ cmd, want string }{
		{"blocklist", "--entries needs a list NAME: softnet blocklist show NAME --entries 5"},
		{"table", "--entries needs a table NAME: softnet table show NAME --entries 5"},
	} {
		_, _, err := cli(t, c.cmd, "show", "--entries", "5", "--api", "/nonexistent/softnet.sock")
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("softnet %s show --entries 5: %v, want %q", c.cmd, err, c.want)
		}
	}
}

// TestListEntriesNegative: a negative --entries is refused before the
// router is asked (it listed nothing, as if the list were empty).
func TestListEntriesNegative(t *testing.T) {
	for _, c := range []string{"blocklist", "table"} {
		_, _, err := cli(t, c, "show", "a", "--entries", "-5", "--api", "/nonexistent/softnet.sock")
		if want := "--entries -5: give how many entries to list, at most (0: all)"; err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("softnet %s show a --entries -5: %v, want %q", c, err, want)
		}
	}
}
