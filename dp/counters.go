package dp

import (
	"reflect"
	"sync/atomic"
	"unsafe"
)

// Counters are one worker's statistics. The worker updates a private copy
// with plain increments and publishes it every few polls (and once per
// idle streak) with one atomic store per field; readers load the published
// copies and sum them. The data path never executes a locked instruction
// for a counter and never shares a written cache line with another worker.
type Counters struct {
	Drops [MaxReasons]uint64 // index = Reason

	// Per stage (index = Stage): calls (batches), packets, and the time
	// spent measured on a sample of the calls (every 16th poll) with the
	// packets of those calls.
	Calls, Packets            [MaxStages]uint64
	SampledNanos, SampledPkts [MaxStages]uint64
	ICMPErrors                [NumICMPErrors]uint64

	// The scalar counters, one list (see Scalars): read as fields
	// (c.Punts), iterated by index (Scalar, ScalarInfo).
	Scalars

	// Per interface (index = interface index).
	RxPackets, RxBytes, TxPackets, TxBytes []uint64

	// The worker's private copy only (see publish): publishes since the
	// per-interface counters were last published.
	ifSkipped uint64
}

// Scalars are a worker's scalar counters. The struct is the one list of
// them: its fields are uint64 only, laid out as an array indexed by
// Scalar (see array), each named by its json tag (the name in the API
// and metrics); a worker tag makes it a per-worker Prometheus counter
// softnet_worker_<name>_total with that help text. publish, Sum, the API
// and the metrics iterate it: add a field, and it is published, summed
// and exported.
type Scalars struct {
	ICMPEchoReplies uint64 `json:"icmp_echo_replies"`
	Punts           uint64 `json:"punts" worker:"Packets punted to the control plane."`
	PuntFull        uint64 `json:"punt_full" worker:"Punts lost because the ring to the control plane was full."`
	Injected        uint64 `json:"injected"`
	Fragments       uint64 `json:"fragments"`
	// l2-bridge: MACs that moved between members, flooded frames, and
	// MACs not learned because the table was full.
	BridgeMoves     uint64 `json:"bridge_moves"`
	BridgeFloods    uint64 `json:"bridge_floods"`
	BridgeLearnFull uint64 `json:"bridge_learn_full"`
	Polls           uint64 `json:"polls" worker:"Polls of the worker's receive queues."`
	BusyPolls       uint64 `json:"busy_polls" worker:"Polls that filled a whole batch (at the budget)."`
	Batches         uint64 `json:"batches"`
	// Livelocks counts polls at their budget while the ring kept
	// filling: Recv filled the whole batch and the port (a
	// port.Backlogger) still held at least a batch, no fewer frames than
	// after the previous poll, for the third full poll in a row or more.
	// The worker is not gaining on its input: it is at capacity and the
	// NIC drops at the ring tail. A ring that filled during a pause of
	// the worker's thread and then drains does not count.
	Livelocks uint64 `json:"livelocks" worker:"Polls at the budget while the ring kept filling: the worker is at capacity."`
	// Spread counts packets this worker received and handed to another
	// worker by software RSS (see Spread); that worker counts them as
	// received on the interface.
	Spread uint64 `json:"spread" worker:"Packets the worker received and handed to the worker owning their flow (software RSS)."`

	// For the packet accounting (see the package doc): ARP packets
	// consumed after the control plane got its copy (replies, gratuitous
	// ARP; ND messages nd-input punted: the control plane answers); packets handed to the control plane to
	// wait for ARP (ip4-arp); packets cut into fragments (each replaced by
	// its Fragments); flood copies the bridge made or tried to make (a
	// copy without a buffer counts under l2-bridge/no-buffer); frames the
	// control plane sent as they are (ARP requests; Injected counts them
	// too, with the packets it released after ARP).
	ARPConsumed uint64 `json:"arp_consumed"`
	Resolves    uint64 `json:"resolves"`
	Fragmented  uint64 `json:"fragmented"`
	FloodCopies uint64 `json:"flood_copies"`
	InjectedTx  uint64 `json:"injected_tx"`

	// Poll gaps (see gap.go): the longest time between two polls since
	// the worker started, in ns, not counting its sleeps waiting for
	// frames (a maximum: summed over workers it means nothing), and the
	// gaps longer than PollGapLong.
	PollGapMaxNs uint64 `json:"poll_gap_max_ns"`
	PollGaps     uint64 `json:"poll_gaps" worker:"Gaps longer than 100 ms between two polls of the worker's receive queues (not counting sleeps waiting for frames): its ring filled meanwhile."`

	// Packets host-punt copied to the control plane for a host interface
	// (linux_cp), by class: TCP, UDP, ICMP other than echo, other
	// protocols (OSPF, VRRP, ...), link-local multicast. Like
	// ARPConsumed, the data plane's part of them ends there.
	HostPuntTCP       uint64 `json:"host_punt_tcp" worker:"Packets punted to a host interface (linux_cp): TCP."`
	HostPuntUDP       uint64 `json:"host_punt_udp" worker:"Packets punted to a host interface (linux_cp): UDP."`
	HostPuntICMP      uint64 `json:"host_punt_icmp" worker:"Packets punted to a host interface (linux_cp): ICMP other than echo."`
	HostPuntOther     uint64 `json:"host_punt_other" worker:"Packets punted to a host interface (linux_cp): other protocols (OSPF, VRRP, ...)."`
	HostPuntMulticast uint64 `json:"host_punt_multicast" worker:"Packets punted to a host interface (linux_cp): link-local multicast."`
}

// HostPunts is the packets host-punt handed to the control plane, all
// classes together.
func (s *Scalars) HostPunts() uint64 {
	return s.HostPuntTCP + s.HostPuntUDP + s.HostPuntICMP + s.HostPuntOther + s.HostPuntMulticast
}

// Scalar indexes Scalars as an array.
type Scalar int

// NumScalars is the number of scalar counters.
const NumScalars = Scalar(unsafe.Sizeof(Scalars{}) / 8)

// ScalarInfo names a scalar counter: Name its json name, WorkerHelp the
// help of its per-worker metric ("" for none).
type ScalarInfo struct {
	Field, Name, WorkerHelp string
}

var scalarInfo = func() (t [NumScalars]ScalarInfo) {
	st := reflect.TypeFor[Scalars]()
	for i := range st.NumField() {
		f := st.Field(i)
		if f.Type.Kind() != reflect.Uint64 || f.Offset != uintptr(i)*8 {
			panic("dp: Scalars must hold uint64 fields only: " + f.Name)
		}
		t[i] = ScalarInfo{Field: f.Name, Name: f.Tag.Get("json"), WorkerHelp: f.Tag.Get("worker")}
	}
	return t
}()

// Info returns the counter's names.
func (k Scalar) Info() ScalarInfo { return scalarInfo[k] }

// Get returns the counter k.
func (s *Scalars) Get(k Scalar) uint64 { return s.array()[k] }

// array views s as an array indexed by Scalar (the fields are uint64
// only, checked at init).
func (s *Scalars) array() *[NumScalars]uint64 {
	return (*[NumScalars]uint64)(unsafe.Pointer(s))
}

// ifPublishEvery bounds the per-interface counters published per
// publish: with n interfaces, they are published on one publish in
// n/ifPublishEvery (and on every publish when the worker is idle). With
// 4094 VLANs carrying traffic nearly every counter changes between two
// publishes, and publishing each costs a locked store: 4 per interface
// every 16 polls would be ~2 per packet.
const ifPublishEvery = 64

// ICMP errors the router sends, by kind.
const (
	ICMPErrNetUnreach = iota
	ICMPErrHostUnreach
	ICMPErrProtoUnreach
	ICMPErrPortUnreach
	ICMPErrFragNeeded
	ICMPErrTTLExceeded
	NumICMPErrors
)

// ICMPErrorNames are the stable names of the ICMP error kinds.
var ICMPErrorNames = [NumICMPErrors]string{
	"net-unreachable", "host-unreachable", "protocol-unreachable",
	"port-unreachable", "fragmentation-needed", "ttl-exceeded",
}

func newCounters(nifaces int) Counters {
	return Counters{
		RxPackets: lineSlice(nifaces),
		RxBytes:   lineSlice(nifaces),
		TxPackets: lineSlice(nifaces),
		TxBytes:   lineSlice(nifaces),
	}
}

// lineSlice returns n counters in an allocation of whole cache lines
// (64-byte size classes are 64-byte aligned), so two workers' per-interface
// counters never share a line.
func lineSlice(n int) []uint64 {
	return make([]uint64, n, (n+7)&^7)
}

// storeAll publishes src into dst, storing only the counters that changed:
// an atomic store is a locked instruction on x86, and with thousands of
// VLAN sub-interfaces most per-interface counters stand still between two
// publishes. Reading dst plainly is safe: only its worker writes it.
func storeAll(dst, src []uint64) {
	for i := range src {
		if dst[i] != src[i] {
			atomic.StoreUint64(&dst[i], src[i])
		}
	}
}

func loadAdd(dst, src []uint64) {
	for i := range src {
		if i < len(dst) {
			dst[i] += atomic.LoadUint64(&src[i])
		}
	}
}

// publish copies c into p with atomic stores. All of it when full (the
// worker is idle or stopping, so counters read then are exact); otherwise
// the per-interface counters only every so often (see ifPublishEvery).
func (c *Counters) publish(p *Counters, full bool) {
	storeAll(p.Drops[:NumReasons], c.Drops[:NumReasons])
	storeAll(p.Calls[:NumStages], c.Calls[:NumStages])
	storeAll(p.Packets[:NumStages], c.Packets[:NumStages])
	storeAll(p.SampledNanos[:NumStages], c.SampledNanos[:NumStages])
	storeAll(p.SampledPkts[:NumStages], c.SampledPkts[:NumStages])
	storeAll(p.ICMPErrors[:], c.ICMPErrors[:])
	storeAll(p.Scalars.array()[:], c.Scalars.array()[:])
	if n := uint64(len(c.RxPackets)); !full && c.ifSkipped+1 < n/ifPublishEvery {
		c.ifSkipped++
		return
	}
	c.ifSkipped = 0
	storeAll(p.RxPackets, c.RxPackets)
	storeAll(p.RxBytes, c.RxBytes)
	storeAll(p.TxPackets, c.TxPackets)
	storeAll(p.TxBytes, c.TxBytes)
}

// addFrom adds the published counters p into c with atomic loads.
func (c *Counters) addFrom(p *Counters) {
	loadAdd(c.Drops[:NumReasons], p.Drops[:NumReasons])
	loadAdd(c.Calls[:NumStages], p.Calls[:NumStages])
	loadAdd(c.Packets[:NumStages], p.Packets[:NumStages])
	loadAdd(c.SampledNanos[:NumStages], p.SampledNanos[:NumStages])
	loadAdd(c.SampledPkts[:NumStages], p.SampledPkts[:NumStages])
	loadAdd(c.ICMPErrors[:], p.ICMPErrors[:])
	loadAdd(c.Scalars.array()[:], p.Scalars.array()[:])
	for len(c.RxPackets) < len(p.RxPackets) {
		c.RxPackets = append(c.RxPackets, 0)
		c.RxBytes = append(c.RxBytes, 0)
		c.TxPackets = append(c.TxPackets, 0)
		c.TxBytes = append(c.TxBytes, 0)
	}
	loadAdd(c.RxPackets, p.RxPackets)
	loadAdd(c.RxBytes, p.RxBytes)
	loadAdd(c.TxPackets, p.TxPackets)
	loadAdd(c.TxBytes, p.TxBytes)
}

// Sum returns the sum of the published counters of workers.
func Sum(workers []*Worker) Counters {
	var c Counters
	for _, w := range workers {
		w.pubMu.Lock() // the per-interface slices may be replaced (grow)
		c.addFrom(&w.pub)
		w.pubMu.Unlock()
	}
	return c
}

// TotalDrops is the sum of all drop counters.
func (c *Counters) TotalDrops() uint64 {
	var n uint64
	for _, d := range c.Drops {
		n += d
	}
	return n
}
