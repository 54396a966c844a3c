package procstat

import (
	"os"
	"runtime"
	"testing"

	"github.com/softnet/softnet/internal/testenv"
)

// TestParse: fields counted from the last ')' (a command name with
// spaces and parentheses), a short or odd line refused.
func TestParse(t *testing.T) {
	line := "4242 (soft (net) x) S 1 4242 4242 0 -1 4194560 100 0 0 0 37 12 0 0 30 -10 3 0 100 0 0\n"
	st, err := Parse([]byte(line))
	if err != nil || st != (Stat{UTime: 37, STime: 12, Nice: -10}) {
		t.Errorf("Parse: %+v %v; want utime 37, stime 12, nice -10", st, err)
	}
	for _, bad := range []string{"", "4242 (x", "4242 (x) S 1 2 3"} {
		if _, err := Parse([]byte(bad)); err == nil {
			t.Errorf("Parse(%q): no error", bad)
		}
	}
}

// TestThread: this process's threads are listed and its main thread's
// stat reads back.
func TestThread(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("/proc/PID/task is Linux's")
	}
	tids, err := Tasks(0)
	if err != nil || len(tids) == 0 {
		if testenv.CI() || err == nil {
			t.Fatalf("Tasks(0): %v %v", tids, err)
		}
		t.Skipf("no /proc: %v", err)
	}
	st, err := Thread(os.Getpid(), os.Getpid())
	if err != nil || st.UTime < 0 || st.STime < 0 {
		t.Errorf("Thread(self's main): %+v %v", st, err)
	}
}
