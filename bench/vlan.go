package bench

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"runtime"
	"slices"
	"time"

	"github.com/softnet/softnet/control"
	"github.com/softnet/softnet/dp"
	"github.com/softnet/softnet/hdr"
)

// The VLAN scenarios. Each is ip4-forward (the same table, next hops and
// destinations) with VLAN sub-interfaces:
//
//   - ip4-forward-vlan: frames arrive in VLAN 100 on in0 (sub-interface
//     in0.100, which has InAddr) and leave in VLAN 200 on out0 (out0.200,
//     which has OutAddr and the next hops): demux, and a tag pushed on
//     output, on every packet.
//   - vlan-1: the same with the ingress traffic in VLAN 1 (one
//     sub-interface on in0).
//   - vlan-4094: 4094 sub-interfaces on in0 (VLANs 1..4094, each with an
//     address), the frames spread round-robin across all of them: the
//     demux table and the per-sub-interface counters are touched all over.
//
// The ratios to compare, measured in one run: ip4-forward-vlan over
// ip4-forward (the cost of VLANs), vlan-4094 over vlan-1 (the cost of
// many VLANs).
const (
	ScenarioForward  = "ip4-forward"
	ScenarioVLAN     = "ip4-forward-vlan"
	ScenarioVLAN1    = "vlan-1"
	ScenarioVLAN4094 = "vlan-4094"
)

// ratioBase maps a scenario to the one its rate is compared with.
var ratioBase = map[string]string{ScenarioVLAN: ScenarioForward, ScenarioVLAN4094: ScenarioVLAN1, ScenarioBridge: ScenarioForward, ScenarioForward6: ScenarioForward, ScenarioFilter: ScenarioForward}

// NewForwardVLAN builds a VLAN scenario's topology (see ScenarioVLAN):
// vids are the ingress VLANs on in0 (the first has InAddr, the others an
// address of their own), and frames (untagged ip4-forward frames, 4 bytes
// shorter than the tagged frames wanted) are tagged with them
// round-robin.
func NewForwardVLAN(prefixes []netip.Prefix, frames [][]byte, vids []int, workers int) (*Forward, error) {
	r := control.New(control.Options{})
	in, err := r.AddInterface(control.IfaceConfig{Name: "in0", MAC: InMAC})
	if err != nil {
		return nil, err
	}
	out, err := r.AddInterface(control.IfaceConfig{Name: "out0", MAC: OutMAC})
	if err != nil {
		return nil, err
	}
	for i, v := range vids {
		a := InAddr
		if i > 0 {
			// 10.x.y.1/30 per VLAN: private space, not in the table.
			a = netip.PrefixFrom(netip.AddrFrom4([4]byte{10, byte(v >> 6), byte(v&63) << 2, 1}), 30)
		}
		if _, err := r.AddInterface(control.IfaceConfig{Name: fmt.Sprintf("in0.%d", v), Parent: "in0", VLAN: v, Addrs: []netip.Prefix{a}}); err != nil {
			return nil, err
		}
	}
	egress, err := r.AddInterface(control.IfaceConfig{Name: "out0.200", Parent: "out0", VLAN: 200, Addrs: []netip.Prefix{OutAddr}})
	if err != nil {
		return nil, err
	}
	if err := routeThrough(r, egress, prefixes); err != nil {
		return nil, err
	}
	f := &Forward{Router: r, Routes: r.Routes(), frames: TagFrames(frames, vids), in: in, out: out, txIf: egress}
	f.attach(workers, nil, false)
	return f, nil
}

// TagFrames returns copies of frames with an 802.1Q tag, frame i in VLAN
// vids[i%len(vids)].
func TagFrames(frames [][]byte, vids []int) [][]byte {
	if len(frames) == 0 {
		return nil
	}
	size := len(frames[0]) + dp.TagLen
	buf := make([]byte, len(frames)*size)
	out := make([][]byte, len(frames))
	for i, f := range frames {
		t := buf[i*size : (i+1)*size : (i+1)*size]
		copy(t, f[:12])
		binary.BigEndian.PutUint16(t[12:], hdr.EtherTypeVLAN)
		binary.BigEndian.PutUint16(t[14:], uint16(vids[i%len(vids)]))
		copy(t[16:], f[12:])
		out[i] = t
	}
	return out
}

// vidRange returns 1..n.
func vidRange(n int) []int {
	v := make([]int, n)
	for i := range v {
		v[i] = i + 1
	}
	return v
}

// knownScenario says whether Run knows scenario s.
func knownScenario(s string) error {
	switch s {
	case ScenarioForward, "rss", ScenarioVLAN, ScenarioVLAN1, ScenarioVLAN4094, ScenarioBridge, ScenarioForward6, ScenarioEarlyDrop, ScenarioFilter,
		ScenarioTaps0, ScenarioTaps1, ScenarioTaps4094:
		return nil
	}
	return fmt.Errorf("unknown scenario %q: choose %s, rss, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, taps, filter-setup, veth, overload or veth-overload (softnet bench --help)", s, ScenarioForward, ScenarioVLAN, ScenarioVLAN1, ScenarioVLAN4094, ScenarioBridge, ScenarioForward6, ScenarioEarlyDrop, ScenarioTaps0, ScenarioTaps1, ScenarioTaps4094, ScenarioFilter)
}

// newScenario builds scenario s's topology on prefixes.
func newScenario(s string, prefixes []netip.Prefix, size int) (*Forward, error) {
	if err := knownScenario(s); err != nil {
		return nil, err
	}
	if s == ScenarioForward6 {
		// The IPv6 table, not the IPv4 prefixes the others take.
		if size < hdr.EthernetLen+hdr.IPv6Len+hdr.UDPLen {
			return nil, fmt.Errorf("packet size %d: an IPv6/UDP frame needs at least 62 bytes", size)
		}
		ps, err := FullTableIPv6()
		if err != nil {
			return nil, err
		}
		return NewForward6(ps, Frames6(ps, Templates, size), 1)
	}
	frames := Frames(prefixes, Templates, size)
	if s == ScenarioVLAN || s == ScenarioVLAN1 || s == ScenarioVLAN4094 || s == ScenarioTaps0 || s == ScenarioTaps1 || s == ScenarioTaps4094 {
		// The same frame size on the wire, tag included (as RFC 2544
		// tests with VLANs count it): the IP packets are 4 bytes
		// shorter, to the same destinations.
		if size-dp.TagLen < 42 {
			return nil, fmt.Errorf("packet size %d: a tagged frame needs at least 46 bytes", size)
		}
		frames = Frames(prefixes, Templates, size-dp.TagLen)
	}
	switch s {
	case ScenarioForward, "rss":
		return NewForward(prefixes, frames, 1)
	case ScenarioVLAN:
		return NewForwardVLAN(prefixes, frames, []int{100}, 1)
	case ScenarioVLAN1:
		return NewForwardVLAN(prefixes, frames, []int{1}, 1)
	case ScenarioVLAN4094:
		return NewForwardVLAN(prefixes, frames, vidRange(dp.MaxVLAN), 1)
	case ScenarioBridge:
		return NewBridge(prefixes, frames, 1)
	case ScenarioEarlyDrop:
		return NewEarlyDrop(prefixes, EarlyDropEntries, size)
	case ScenarioFilter:
		return NewFilter(prefixes, size)
	case ScenarioTaps0:
		return NewTaps(prefixes, frames, 0)
	case ScenarioTaps1:
		return NewTaps(prefixes, frames, 1)
	case ScenarioTaps4094:
		return NewTaps(prefixes, frames, dp.MaxVLAN)
	}
	panic("unreachable")
}

// Multi is a run of several scenarios in one process (one worker each):
// each scenario's topology is built once, then the scenarios are measured
// in turn, Rounds times round-robin, so that a burst of load from other
// processes on a shared machine hits them alike. Runs holds each
// scenario's best round (in the order asked), Mpps every round's rate,
// and Ratios the best rates' ratios of the pairs that compare
// (ip4-forward-vlan/ip4-forward, vlan-4094/vlan-1) present in the run. It
// is the JSON softnet bench --scenario a,b prints.
//
// Interleaved is a second measure made for noisy machines: for each pair
// that compares, one worker per scenario polled in turn on one locked
// thread, one poll (up to 256 packets) each, every poll timed, for
// o.Duration; a burst of load from elsewhere then lands on both alike,
// and a poll that lost the CPU is an outlier the median ignores. It
// holds, per pair ("a/b"), each scenario's Mpps from the median of its
// polls' ns per packet (1000 / median), and InterleavedRatios the pairs'
// ratios.
type Multi struct {
	Runs              []*Result                     `json:"runs"`
	Mpps              map[string][]float64          `json:"mpps"`
	Ratios            map[string]float64            `json:"ratios"`
	Interleaved       map[string]map[string]float64 `json:"interleaved_mpps"` // pair -> scenario -> Mpps
	InterleavedRatios map[string]float64            `json:"interleaved_ratios"`
}

// RunScenarios measures scenarios as Multi describes, each round for
// o.Duration (o.Scenario and o.Workers are ignored); rounds < 1 means 3.
func RunScenarios(scenarios []string, rounds int, o Options) (*Multi, error) {
	if rounds < 1 {
		rounds = 3
	}
	if o.Duration <= 0 {
		o.Duration = 5 * time.Second
	}
	if o.PacketSize == 0 {
		o.PacketSize = 64
	}
	if o.PacketSize < 42 || o.PacketSize > 1514 {
		return nil, fmt.Errorf("packet size %d: use 42..1514 bytes (an Ethernet/IPv4/UDP frame without FCS)", o.PacketSize)
	}
	for i, s := range scenarios {
		if err := knownScenario(s); err != nil {
			return nil, err
		}
		if slices.Contains(scenarios[:i], s) {
			return nil, fmt.Errorf("scenario %s is listed twice: list each once", s)
		}
	}
	prefixes, err := FullTableIPv4()
	if err != nil {
		return nil, err
	}
	var cpus []int
	if a := dp.AllowedCPUs(); len(a) > 0 {
		cpus = a[:1]
	}
	setups := make([]*Forward, len(scenarios))
	setupS := make([]float64, len(scenarios))
	for i, s := range scenarios {
		t0 := time.Now()
		f, err := newScenario(s, prefixes, o.PacketSize)
		if err != nil {
			return nil, err
		}
		setups[i], setupS[i] = f, time.Since(t0).Seconds()
	}
	m := &Multi{Runs: make([]*Result, len(scenarios)), Mpps: map[string][]float64{}, Ratios: map[string]float64{}}
	for range rounds {
		for i, s := range scenarios {
			o.Scenario = s
			res, err := measure(setups[i].WithWorkers(1, cpus), o)
			if err != nil {
				return nil, err
			}
			res.PacketSize, res.SetupS, res.CPUs = o.PacketSize, setupS[i], cpus
			m.Mpps[s] = append(m.Mpps[s], res.Mpps)
			if m.Runs[i] == nil || res.Mpps > m.Runs[i].Mpps {
				m.Runs[i] = res
			}
		}
	}
	byName := map[string]*Result{}
	for i, s := range scenarios {
		byName[s] = m.Runs[i]
	}
	for s, base := range ratioBase {
		if a, b := byName[s], byName[base]; a != nil && b != nil && b.Mpps > 0 {
			m.Ratios[s+"/"+base] = a.Mpps / b.Mpps
		}
	}
	// Interleave the pairs that compare, each pair alone (the other
	// scenarios' tables would only evict both from the caches).
	m.Interleaved, m.InterleavedRatios = map[string]map[string]float64{}, map[string]float64{}
	for _, s := range scenarios {
		base, ok := ratioBase[s]
		j := slices.Index(scenarios, base)
		if !ok || j < 0 {
			continue
		}
		i := slices.Index(scenarios, s)
		r := interleave([]string{s, base}, []*Forward{setups[i], setups[j]}, o.Duration)
		m.Interleaved[s+"/"+base] = r
		if r[s] > 0 && r[base] > 0 {
			m.InterleavedRatios[s+"/"+base] = r[s] / r[base]
		}
	}
	return m, nil
}

// interleave polls a fresh worker of each setup in turn on this (locked)
// thread for d, timing every poll, and returns each scenario's rate from
// the median of its polls' ns per packet (1000 / median ns = Mpps). A
// poll during which the thread lost its CPU to another process is an
// outlier the median ignores; a sum of poll times (the rate over the
// polling time) takes its whole wait, so that on a loaded machine one
// preemption moved a ratio by a percent or more.
func interleave(scenarios []string, setups []*Forward, d time.Duration) map[string]float64 {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	fs := make([]*Forward, len(setups))
	hs := make([]nsHist, len(setups))
	for i, f := range setups {
		fs[i] = f.WithWorkers(1, nil)
		for range 16 {
			fs[i].Worker.Poll() // warm up
		}
	}
	// The order alternates, so that neither scenario always follows the
	// other (and finds the caches as the other left them).
	for start, k := time.Now(), 0; time.Since(start) < d; k++ {
		for j := range fs {
			i := j
			if k&1 != 0 {
				i = len(fs) - 1 - j
			}
			t0 := time.Now()
			n := fs[i].Worker.Poll()
			hs[i].add(time.Since(t0), n)
		}
	}
	out := map[string]float64{}
	for i, s := range scenarios {
		if m := hs[i].median(); m > 0 {
			out[s] = 1e3 / m
		}
	}
	return out
}

// nsHist is a histogram of polls by ns per packet, in steps of
// nsHistStep up to nsHistMax (slower polls count in the last bin): the
// median of hundreds of thousands of polls without storing them.
type nsHist struct {
	bins [nsHistMax / nsHistStep]uint32
	n    uint64
}

const (
	nsHistStep = 1.0 / 64 // ns
	nsHistMax  = 512      // ns per packet
)

// add counts a poll of pkts packets (none: not counted) that took d.
func (h *nsHist) add(d time.Duration, pkts int) {
	if pkts <= 0 {
		return
	}
	b := int(float64(d.Nanoseconds()) / float64(pkts) / nsHistStep)
	h.bins[min(b, len(h.bins)-1)]++
	h.n++
}

// median returns the median poll's ns per packet (the middle of its
// bin), 0 if no poll was counted.
func (h *nsHist) median() float64 {
	var c uint64
	for i, k := range h.bins {
		if c += uint64(k); 2*c > h.n {
			return (float64(i) + 0.5) * nsHistStep
		}
	}
	return 0
}
