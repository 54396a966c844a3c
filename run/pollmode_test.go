package run

import (
	"strings"
	"testing"
	"time"

	"github.com/softnet/softnet/dp"
)

const pollConfig = `workers: 2
poll_mode: MODE
interfaces:
  - {name: lan0, backend: mem, addresses: [10.0.1.1/24]}
  - {name: wan0, backend: mem, addresses: [10.0.2.1/24]}
`

// TestPollModeFromConfig: every worker runs in the config's poll mode
// (poll_mode, poll_window), and a reload that changes it is refused with
// how to apply it (a restart).
func TestPollModeFromConfig(t *testing.T) {
	for _, tc := range []struct {
		src    string
		mode   dp.PollMode
		window time.Duration
	}{
		{strings.Replace(pollConfig, "MODE", "polling", 1), dp.PollPolling, dp.DefaultPollWindow},
		{strings.Replace(pollConfig, "MODE", "interrupt", 1), dp.PollInterrupt, dp.DefaultPollWindow},
		{strings.Replace(pollConfig, "MODE", "adaptive\npoll_window: 2ms", 1), dp.PollAdaptive, 2 * time.Millisecond},
		{strings.Replace(pollConfig, "poll_mode: MODE\n", "", 1), dp.PollInterrupt, dp.DefaultPollWindow},
	} {
		dir := t.TempDir()
		r, err := Start(writeConfig(t, dir, tc.src), Options{})
		if err != nil {
			t.Fatal(err)
		}
		for i, w := range r.workers {
			if m, win := w.PollMode(); m != tc.mode || win != tc.window {
				t.Errorf("config:\n%sworker %d runs %v (window %v), want %v (window %v)", tc.src, i, m, win, tc.mode, tc.window)
			}
		}
		other := strings.Replace(pollConfig, "MODE", "interrupt", 1)
		if tc.mode == dp.PollInterrupt {
			other = strings.Replace(pollConfig, "MODE", "polling", 1)
		}
		writeConfig(t, dir, other)
		if _, err := r.Reload(""); err == nil || !strings.Contains(err.Error(), "poll_mode or poll_window changed") || !strings.Contains(err.Error(), "needs a restart of softnet run") {
			t.Errorf("reload to another poll mode: %v, want a restart asked for", err)
		}
		r.Stop()
	}
}
