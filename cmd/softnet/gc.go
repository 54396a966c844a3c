package main

import (
	"bufio"
	"os"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"strings"
)

// gcPercent is the garbage collector's target (GOGC) softnet sets unless
// GOGC is in its environment (issue 16, the soak's lost packets).
//
// Each collection stops the world twice, and a worker that returns from
// poll(2) while the world is stopped waits for it to start again. On a
// loaded machine stopping the world waits for every thread that holds a
// P to get a CPU, and the soak's pauses reached 40 ms to 1.3 s (more with
// GOMAXPROCS 4 than 2: more threads to stop), which is as long as an
// AF_PACKET ring lasts at 5000 frames a second. A full-table reload or
// replace allocates hundreds of MB, so at the default 100 a 90 s soak made
// about 45 collections; at 400 the heap may grow to five times what is
// live before one starts (a full table: about 200 MB live) and there are
// a fraction as many pauses. The live heap is what it was.
const gcPercent = 400

// tuneGC sets the collector's target to gcPercent unless GOGC is set, and
// a soft memory limit of memLimitShare of the memory the process may use
// unless GOMEMLIMIT is set (the operator's choice wins).
func tuneGC() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(gcPercent)
	}
	if os.Getenv("GOMEMLIMIT") == "" {
		if limit := defaultMemLimit(); limit > 0 {
			debug.SetMemoryLimit(limit)
		}
	}
}

// memLimitShare is the share of the memory available to softnet (the
// machine's, or its cgroup's limit if lower) that the heap may reach
// before the collector works harder to stay below it. GOGC 400 lets the
// heap grow to five times what is live (a full table: about 200 MB live,
// so up to about 1 GB) between collections; on a small box that is the
// difference between a reload and the OOM killer. It is a soft limit: a
// live heap above it is not refused, it is collected more often.
const memLimitShare = 0.5

// defaultMemLimit is memLimitShare of min(MemTotal, the lowest cgroup v2
// memory.max above the process), or 0 if neither can be read.
func defaultMemLimit() int64 {
	avail := memTotal()
	if c := cgroupMemMax(); c > 0 && (avail == 0 || c < avail) {
		avail = c
	}
	return int64(float64(avail) * memLimitShare)
}

// memTotal reads MemTotal from /proc/meminfo, in bytes.
func memTotal() int64 {
	f, err := os.Open("/proc/meminfo")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "MemTotal:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			if err != nil {
				return 0
			}
			return kb << 10
		}
	}
	return 0
}

// cgroupMemMax is the lowest cgroup v2 memory.max on the path from this
// process's cgroup up to the root (a systemd slice may set the limit
// above the service), in bytes; 0 if none is set ("max") or it cannot be
// read.
func cgroupMemMax() int64 {
	b, err := os.ReadFile("/proc/self/cgroup")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		path, ok := strings.CutPrefix(line, "0::")
		if !ok {
			continue
		}
		return lowestMemMax("/sys/fs/cgroup", path)
	}
	return 0
}

// lowestMemMax is the lowest memory.max of cgroup path (below root) and
// its ancestors; 0 if none has a number there.
func lowestMemMax(root, path string) int64 {
	var low int64
	for p := filepath.Clean("/" + path); ; p = filepath.Dir(p) {
		if v, err := os.ReadFile(filepath.Join(root, p, "memory.max")); err == nil {
			if n, err := strconv.ParseInt(strings.TrimSpace(string(v)), 10, 64); err == nil && n > 0 && (low == 0 || n < low) {
				low = n
			}
		}
		if p == "/" {
			return low
		}
	}
}

// memLimitText is a memory limit for show runtime: "none" or MiB.
func memLimitText(b uint64) string {
	if b == 0 {
		return "none"
	}
	return strconv.FormatUint(b>>20, 10) + " MiB"
}
