package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/softnet/softnet/lab"
)

// VethOverloadOptions configure RunVethOverload.
type VethOverloadOptions struct {
	Binary   string        // the softnet binary
	Duration time.Duration // per load (5 s when 0)
	// Quota is the share of one CPU softnet may use (cgroup v1 cpu
	// controller, 10 ms periods): 0.25 when 0. On veth the sender, not
	// the forwarder, is the bottleneck (see the veth scenario), so
	// softnet's capacity is lowered until trafgen can offer twice it.
	Quota    float64
	Progress io.Writer
}

// VethOverloadRun is one load level on veth.
type VethOverloadRun struct {
	Load         float64           `json:"load"` // offered over capacity asked for (0: full rate, the capacity run)
	OfferedMpps  float64           `json:"offered_mpps"`
	ForwardMpps  float64           `json:"forwarded_mpps"`
	Sent         uint64            `json:"sent"`
	Received     uint64            `json:"received"`     // at host B
	IfqDrops     uint64            `json:"ifq_drops"`    // AF_PACKET ring drops (PACKET_STATISTICS), both interfaces
	Livelocks    uint64            `json:"livelocks"`    // polls at budget while the ring kept filling
	BusyPolls    uint64            `json:"busy_polls"`   // polls that filled a batch
	Polls        uint64            `json:"polls"`        // all polls
	ARPSent      int               `json:"arp_sent"`     // ARP requests host A sent for the router during the flood
	ARPAnswered  int               `json:"arp_answered"` // replies host A got
	Drops        map[string]uint64 `json:"drops"`        // softnet's, by stage/reason
	SoftnetRxPkt uint64            `json:"softnet_rx"`   // frames softnet read from ra
	TrafgenMpps  float64           `json:"trafgen_mpps"` // what trafgen reached (= offered)
}

// VethOverloadReport is the veth overload measurement.
type VethOverloadReport struct {
	Scenario  string             `json:"scenario"` // "veth-overload"
	Quota     float64            `json:"quota"`
	Capacity  float64            `json:"capacity_mpps"` // forwarded at full offered rate
	Runs      []*VethOverloadRun `json:"runs"`
	Plateau   float64            `json:"plateau"` // forwarded at 2× over forwarded at 1×
	DurationS float64            `json:"duration_s"`
	Method    string             `json:"method"`
}

// cpuCgroup is a cgroup v1 cpu group with a quota.
type cpuCgroup string

func newCPUCgroup(quota float64) (cpuCgroup, error) {
	base := "/sys/fs/cgroup/cpu"
	if _, err := os.Stat(filepath.Join(base, "cpu.cfs_quota_us")); err != nil {
		return "", fmt.Errorf("no cgroup v1 cpu controller at %s (needed to cap softnet's CPU share): %w", base, err)
	}
	dir := filepath.Join(base, "softnet-overload-"+strconv.Itoa(os.Getpid()))
	if err := os.Mkdir(dir, 0o755); err != nil && !errors.Is(err, os.ErrExist) {
		return "", err
	}
	const period = 10000
	if err := os.WriteFile(filepath.Join(dir, "cpu.cfs_period_us"), []byte(strconv.Itoa(period)), 0o644); err != nil {
		return "", err
	}
	if err := os.WriteFile(filepath.Join(dir, "cpu.cfs_quota_us"), []byte(strconv.Itoa(int(quota*period))), 0o644); err != nil {
		return "", err
	}
	return cpuCgroup(dir), nil
}

func (c cpuCgroup) add(pid int) error {
	return os.WriteFile(filepath.Join(string(c), "cgroup.procs"), []byte(strconv.Itoa(pid)), 0o644)
}

func (c cpuCgroup) remove() error { return os.Remove(string(c)) }

// RunVethOverload measures overload on veth: host A ─ softnet ─ host B in
// namespaces, softnet (one worker, pinned to CPU 1) held to o.Quota of a
// CPU, trafgen on CPU 0. First trafgen floods at full rate: softnet's
// forwarded rate then is its capacity C. Then it offers C (1×) and 2C
// (2×), each with a fresh softnet. Each run reports the offered and
// forwarded rates, the AF_PACKET ring drops (ifq drops), livelocks, and
// ARP: host A asks for the router's MAC 50 times a second during the
// flood and counts the replies.
func RunVethOverload(ctx context.Context, o VethOverloadOptions) (rep *VethOverloadReport, err error) {
	if o.Duration <= 0 {
		o.Duration = 5 * time.Second
	}
	if o.Quota == 0 {
		o.Quota = 0.25
	}
	if o.Quota <= 0 || o.Quota > 1 {
		return nil, fmt.Errorf("quota %v: use a share of one CPU in (0, 1]", o.Quota)
	}
	if o.Binary == "" {
		return nil, errors.New("veth-overload scenario: no softnet binary")
	}
	logf := func(format string, a ...any) {
		if o.Progress != nil {
			fmt.Fprintf(o.Progress, format+"\n", a...)
		}
	}
	t, err := freshLab(ctx)
	if err != nil {
		return nil, err
	}
	defer func() {
		if cerr := t.Close(); cerr != nil && err == nil {
			err = cerr
		}
	}()
	cg, err := newCPUCgroup(o.Quota)
	if err != nil {
		return nil, err
	}
	defer func() {
		if cerr := cg.remove(); cerr != nil && err == nil {
			err = fmt.Errorf("removing cgroup %s: %w", cg, cerr)
		}
	}()
	rep = &VethOverloadReport{Scenario: "veth-overload", Quota: o.Quota, DurationS: o.Duration.Seconds(),
		Method: fmt.Sprintf("softnet (1 worker, cpu 1) capped at %.0f%% of a CPU by a cgroup cpu quota so that trafgen (cpu 0) can offer twice its capacity; capacity = forwarded rate at trafgen's full rate; 1x and 2x offered with trafgen --rate", 100*o.Quota)}

	one := func(load, pps float64) (*VethOverloadRun, error) {
		sn, err := t.StartSoftnet(ctx, o.Binary, 1, 1)
		if err != nil {
			return nil, err
		}
		stopped := false
		defer func() {
			if !stopped {
				sn.Stop()
			}
		}()
		if err := cg.add(sn.Pid()); err != nil {
			return nil, fmt.Errorf("capping softnet's CPU: %w", err)
		}
		// Resolve host B before the flood, as the veth scenario does.
		if p, err := lab.RunPing(ctx, t.A, lab.AddrB.Addr().String(), 3, 100*time.Millisecond); err != nil || p.Received == 0 {
			return nil, fmt.Errorf("softnet does not forward between the namespaces (%v): %s", err, p.Output)
		}
		type probe struct {
			p   lab.ARPProbe
			err error
		}
		pc := make(chan probe, 1)
		go func() {
			time.Sleep(600 * time.Millisecond) // inside the flood's measured window
			n := int((o.Duration - 200*time.Millisecond) / (20 * time.Millisecond))
			p, err := t.ProbeARP(ctx, max(n, 1), 20*time.Millisecond)
			pc <- probe{p, err}
		}()
		f, ferr := t.RunFloodAt(ctx, o.Duration, 64, 0, pps)
		pr := <-pc
		alive := sn.Alive()
		out, serr := sn.Stop()
		stopped = true
		if ferr != nil {
			return nil, ferr
		}
		if pr.err != nil {
			return nil, pr.err
		}
		if !alive || serr != nil {
			return nil, fmt.Errorf("softnet died or failed (%v); its output:\n%s", serr, out)
		}
		c := sn.Counters()
		r := &VethOverloadRun{Load: load, OfferedMpps: f.SentMpps, TrafgenMpps: f.SentMpps, ForwardMpps: f.Mpps,
			Sent: f.Sent, Received: f.Received, IfqDrops: c.KernelDrops, Livelocks: c.Livelocks,
			BusyPolls: c.BusyPolls, Polls: c.Polls, ARPSent: pr.p.Sent, ARPAnswered: pr.p.Answered, Drops: c.Drops}
		if len(c.Interfaces) > 0 {
			r.SoftnetRxPkt = c.Interfaces[0].RxPackets
		}
		logf("  load %.1fx: offered %.3f Mpps, forwarded %.3f Mpps, ifq drops %d, livelocks %d, ARP %d/%d answered",
			load, r.OfferedMpps, r.ForwardMpps, r.IfqDrops, r.Livelocks, r.ARPAnswered, r.ARPSent)
		return r, nil
	}

	logf("veth-overload: capacity (trafgen at full rate), softnet capped at %.0f%% of cpu 1", 100*o.Quota)
	capRun, err := one(0, 0)
	if err != nil {
		return rep, err
	}
	rep.Capacity = capRun.ForwardMpps
	rep.Runs = append(rep.Runs, capRun)
	if rep.Capacity <= 0 {
		return rep, errors.New("veth-overload: nothing forwarded at full rate")
	}
	for _, load := range []float64{1, 2} {
		logf("veth-overload: %.0fx (%.3f Mpps offered)", load, load*rep.Capacity)
		r, err := one(load, load*rep.Capacity*1e6)
		if err != nil {
			return rep, err
		}
		rep.Runs = append(rep.Runs, r)
	}
	if f1 := rep.Runs[1].ForwardMpps; f1 > 0 {
		rep.Plateau = rep.Runs[2].ForwardMpps / f1
	}
	return rep, nil
}

// Print writes the report as a table.
func (r *VethOverloadReport) Print(w io.Writer) {
	fmt.Fprintf(w, "scenario     veth-overload (%.1f s per load)\nmethod       %s\ncapacity     %.3f Mpps\n\n", r.DurationS, r.Method, r.Capacity)
	fmt.Fprintf(w, "%8s %9s %9s %10s %10s %10s %9s\n", "load", "offered", "forwarded", "ifq drops", "livelocks", "busy polls", "ARP")
	for _, x := range r.Runs {
		load := fmt.Sprintf("%.0fx", x.Load)
		if x.Load == 0 {
			load = "full"
		}
		fmt.Fprintf(w, "%8s %9.3f %9.3f %10d %10d %10d %4d/%-4d\n", load, x.OfferedMpps, x.ForwardMpps, x.IfqDrops, x.Livelocks, x.BusyPolls, x.ARPAnswered, x.ARPSent)
	}
	fmt.Fprintf(w, "\nplateau      %.2f (forwarded at 2x over forwarded at 1x; 1 = flat)\n", r.Plateau)
}
