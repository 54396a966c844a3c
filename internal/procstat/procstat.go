// Package procstat reads a thread's /proc/PID/task/TID/stat: the
// kernel's per-thread CPU time and nice value, for the bench's CPU
// breakdown (where a window's CPU went) and the tests that check the
// workers' nice values. Linux only; elsewhere the files are missing and
// the calls return their errors.
package procstat

import (
	"bytes"
	"fmt"
	"os"
	"strconv"
)

// Stat is the fields of a thread's stat line that softnet reads.
type Stat struct {
	UTime, STime int64 // CPU time in user and kernel mode, in clock ticks (fields 14, 15)
	Nice         int   // field 19
}

// dir is /proc/PID (pid 0: /proc/self).
func dir(pid int) string {
	if pid == 0 {
		return "/proc/self"
	}
	return "/proc/" + strconv.Itoa(pid)
}

// Thread reads thread tid of process pid (0: this process).
func Thread(pid, tid int) (Stat, error) {
	p := fmt.Sprintf("%s/task/%d/stat", dir(pid), tid)
	b, err := os.ReadFile(p)
	if err != nil {
		return Stat{}, err
	}
	st, err := Parse(b)
	if err != nil {
		return Stat{}, fmt.Errorf("%s: %w", p, err)
	}
	return st, nil
}

// Tasks lists the thread IDs of process pid (0: this process).
func Tasks(pid int) ([]int, error) {
	ents, err := os.ReadDir(dir(pid) + "/task")
	if err != nil {
		return nil, err
	}
	var out []int
	for _, e := range ents {
		if tid, err := strconv.Atoi(e.Name()); err == nil {
			out = append(out, tid)
		}
	}
	return out, nil
}

// Parse parses a stat line. The command name (field 2) is in
// parentheses and may hold spaces and parentheses itself: the fields
// are counted from the last ')'.
func Parse(b []byte) (Stat, error) {
	i := bytes.LastIndexByte(b, ')')
	if i < 0 || i+2 > len(b) {
		return Stat{}, fmt.Errorf("not a stat line: no ')' after the command")
	}
	f := bytes.Fields(b[i+2:]) // from field 3, state
	if len(f) <= 19-3 {
		return Stat{}, fmt.Errorf("%d fields after the command, want at least %d", len(f), 19-2)
	}
	var st Stat
	var err error
	if st.UTime, err = strconv.ParseInt(string(f[14-3]), 10, 64); err != nil {
		return Stat{}, fmt.Errorf("utime: %w", err)
	}
	if st.STime, err = strconv.ParseInt(string(f[15-3]), 10, 64); err != nil {
		return Stat{}, fmt.Errorf("stime: %w", err)
	}
	if st.Nice, err = strconv.Atoi(string(f[19-3])); err != nil {
		return Stat{}, fmt.Errorf("nice: %w", err)
	}
	return st, nil
}
