//go:build linux

package bench

import (
	"bytes"
	"os"
	"strconv"
	"syscall"
	"time"
)

// cpuTimes is a reading of the machine's and this process's CPU time, to
// tell how much of the machine other processes used during a run (the
// development machines are shared, and a busy neighbour halves a
// two-worker figure).
type cpuTimes struct {
	busy, steal time.Duration // all CPUs, from /proc/stat
	self        time.Duration // this process, user + system
	ok          bool
}

// clockTick is USER_HZ, the unit of /proc/stat: 100 on every Linux ABI
// Go supports.
const clockTick = 10 * time.Millisecond

func readCPUTimes() cpuTimes {
	var t cpuTimes
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return t
	}
	line, _, _ := bytes.Cut(b, []byte("\n"))
	f := bytes.Fields(line)
	if len(f) < 9 || string(f[0]) != "cpu" {
		return t
	}
	var v [8]int64
	for i := range v {
		if v[i], err = strconv.ParseInt(string(f[1+i]), 10, 64); err != nil {
			return t
		}
	}
	// user nice system idle iowait irq softirq steal
	t.busy = time.Duration(v[0]+v[1]+v[2]+v[5]+v[6]) * clockTick
	t.steal = time.Duration(v[7]) * clockTick
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return t
	}
	t.self = time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	t.ok = true
	return t
}

// otherLoad returns the CPUs' worth of time other processes used, and the
// hypervisor stole, between a and b over elapsed (1.0 = one whole CPU).
func otherLoad(a, b cpuTimes, elapsed time.Duration) (other, steal float64) {
	if !a.ok || !b.ok || elapsed <= 0 {
		return 0, 0
	}
	o := (b.busy - a.busy) - (b.self - a.self)
	return max(0, o.Seconds()/elapsed.Seconds()), (b.steal - a.steal).Seconds() / elapsed.Seconds()
}

// cpuSeconds is process pid's CPU time so far, user + system, every
// thread (fields 14 and 15 of /proc/PID/stat, in clock ticks).
func cpuSeconds(pid int) (float64, bool) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, false
	}
	// The fields after the parenthesised command name start at the
	// state, field 3.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, false
	}
	f := bytes.Fields(b[i+1:])
	if len(f) < 13 {
		return 0, false
	}
	u, err1 := strconv.ParseInt(string(f[11]), 10, 64)
	s, err2 := strconv.ParseInt(string(f[12]), 10, 64)
	if err1 != nil || err2 != nil {
		return 0, false
	}
	return (time.Duration(u+s) * clockTick).Seconds(), true
}
