package bench

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/softnet/softnet/internal/procstat"
)

// NetlinkCPU is where the machine's CPU time went over a window of the
// netlink-full-table scenario, in CPU seconds (from /proc: each thread's
// utime+stime, and /proc/stat for the softirqs and the idle time; the
// kernel counts in ticks of 10 ms). The parties (SoftnetWorker to
// Other) and Idle make about WallS times the CPUs; a thread that ended
// within the window is in Other.
type NetlinkCPU struct {
	WallS float64 `json:"wall_s"`
	// SoftnetWorker is the worker's thread (softnet's busiest thread
	// during the flood before the burst); SoftnetOther every other
	// thread of softnet: linux_cp's reader and applier, the collector,
	// the API, the Go runtime's.
	SoftnetWorker float64 `json:"softnet_worker"`
	SoftnetOther  float64 `json:"softnet_other"`
	// Trafgen is the flood's source (its own time: the softirqs that
	// carry its frames into softnet's ring are in Softirq).
	Trafgen float64 `json:"trafgen"`
	// Writer is the bench process: the route writer, whose sendmsg calls
	// are the kernel's insertion of the routes and its notifications to
	// softnet, and the bench's polling of softnet's API.
	Writer float64 `json:"writer"`
	// Softirq is every CPU's softirq time (/proc/stat: the veth links'
	// deliveries), not a party of its own: the kernel charges it to the
	// thread it interrupted (trafgen's sends carry its frames into
	// softnet's ring, the worker's into host B) or to ksoftirqd (Other).
	// That holds on a kernel without CONFIG_IRQ_TIME_ACCOUNTING (the lab
	// machine's 6.18 has it off); with it the kernel keeps softirq time
	// out of every thread's utime+stime, so the parties shrink by it and
	// Other, the rest of the busy time, takes it.
	Softirq float64 `json:"softirq"`
	// Other is the rest of the busy time: other processes (on a shared
	// machine, other people's), kernel threads.
	Other float64 `json:"other"`
	Idle  float64 `json:"idle"`
}

// cpuSnap is a snapshot of the CPU time of the scenario's parties, in
// ticks.
type cpuSnap struct {
	at      time.Time
	softnet map[int]int64 // by thread
	trafgen int64
	self    int64
	stat    []int64 // /proc/stat's "cpu" line: user nice system idle iowait irq softirq steal
}

// takeCPUSnap reads the CPU time of softnet (pid), every trafgen process,
// this process and the machine.
func takeCPUSnap(softnet int) cpuSnap {
	s := cpuSnap{at: time.Now(), softnet: taskTicks(softnet)}
	for _, t := range taskTicks(os.Getpid()) {
		s.self += t
	}
	if ents, err := os.ReadDir("/proc"); err == nil {
		for _, e := range ents {
			pid, err := strconv.Atoi(e.Name())
			if err != nil {
				continue
			}
			if b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "comm")); err == nil && strings.TrimSpace(string(b)) == "trafgen" {
				for _, t := range taskTicks(pid) {
					s.trafgen += t
				}
			}
		}
	}
	if b, err := os.ReadFile("/proc/stat"); err == nil {
		line, _, _ := strings.Cut(string(b), "\n")
		if f := strings.Fields(line); len(f) > 8 && f[0] == "cpu" {
			for _, x := range f[1:9] {
				v, _ := strconv.ParseInt(x, 10, 64)
				s.stat = append(s.stat, v)
			}
		}
	}
	return s
}

// taskTicks is utime+stime of each thread of process pid (none if it is
// gone).
func taskTicks(pid int) map[int]int64 {
	out := map[int]int64{}
	tids, err := procstat.Tasks(pid)
	if err != nil {
		return out
	}
	for _, tid := range tids {
		st, err := procstat.Thread(pid, tid)
		if err != nil {
			continue // ended meanwhile
		}
		out[tid] = st.UTime + st.STime
	}
	return out
}

// busiest is the thread of b that used the most CPU since a.
func busiest(a, b cpuSnap) int {
	best, most := 0, int64(-1)
	for tid, t := range b.softnet {
		if d := t - a.softnet[tid]; d > most {
			best, most = tid, d
		}
	}
	return best
}

// userHZ is the kernel's clock tick for /proc's CPU times (USER_HZ, 100
// on every Linux architecture softnet builds for).
const userHZ = 100

// cpuBetween is where the CPU time went from a to b, the worker being
// thread worker of softnet.
func cpuBetween(a, b cpuSnap, worker int) NetlinkCPU {
	sec := func(t int64) float64 { return float64(t) / userHZ }
	c := NetlinkCPU{WallS: b.at.Sub(a.at).Seconds()}
	for tid, t := range b.softnet {
		d := sec(t - a.softnet[tid])
		if tid == worker {
			c.SoftnetWorker += d
		} else {
			c.SoftnetOther += d
		}
	}
	c.Trafgen, c.Writer = sec(b.trafgen-a.trafgen), sec(b.self-a.self)
	if len(a.stat) == 8 && len(b.stat) == 8 {
		d := make([]float64, 8)
		var busy float64
		for i := range d {
			d[i] = sec(b.stat[i] - a.stat[i])
			if i != 3 && i != 4 { // idle, iowait
				busy += d[i]
			}
		}
		c.Softirq, c.Idle = d[6], d[3]+d[4]
		c.Other = max(busy-c.SoftnetWorker-c.SoftnetOther-c.Trafgen-c.Writer, 0)
	}
	round := func(x *float64) { *x = float64(int64(*x*100+0.5)) / 100 }
	for _, x := range []*float64{&c.WallS, &c.SoftnetWorker, &c.SoftnetOther, &c.Trafgen, &c.Writer, &c.Softirq, &c.Other, &c.Idle} {
		round(x)
	}
	return c
}
