package dp

import "sync/atomic"

// Counters are one worker's statistics. The worker updates a private copy
// with plain increments and publishes it every few polls (and once per
// idle streak) with one atomic store per field; readers load the published
// copies and sum them. The data path never executes a locked instruction
// for a counter and never shares a written cache line with another worker.
type Counters struct {
	Drops [MaxReasons]uint64

	// Per stage: calls (batches), packets, and the time spent measured on a
	// sample of the calls (every 16th poll) with the packets of those calls.
	Calls, Packets            [MaxStages]uint64
	SampledNanos, SampledPkts [MaxStages]uint64
	ICMPErrors                [NumICMPErrors]uint64
	ICMPEchoReplies           uint64
	Punts, PuntFull, Injected uint64
	Fragments                 uint64
	// l2-bridge: MACs that moved between members, flooded frames, and
	// MACs not learned because the table was full.
	BridgeMoves, BridgeFloods, BridgeLearnFull uint64
	Polls, BusyPolls, Batches                  uint64
	// Livelocks counts polls at their budget while the ring kept
	// filling: Recv filled the whole batch and the port (a
	// port.Backlogger) still held at least a batch, no fewer frames than
	// after the previous poll, for the third full poll in a row or more.
	// The worker is not gaining on its input: it is at capacity and the
	// NIC drops at the ring tail. A ring that filled during a pause of
	// the worker's thread and then drains does not count.
	Livelocks uint64
	// Spread counts packets this worker received and handed to another
	// worker by software RSS (see Spread); that worker counts them as
	// received on the interface.
	Spread uint64

	// For the packet accounting (see the package doc): ARP packets
	// consumed after the control plane got its copy (replies, gratuitous
	// ARP: nothing to send back); packets handed to the control plane to
	// wait for ARP (ip4-arp); packets cut into fragments (each replaced by
	// its Fragments); flood copies the bridge made or tried to make (a
	// copy without a buffer counts under l2-bridge/no-buffer); frames the
	// control plane sent as they are (ARP requests; Injected counts them
	// too, with the packets it released after ARP).
	ARPConsumed, Resolves, Fragmented, FloodCopies, InjectedTx uint64

	// Per interface (index = interface index).
	RxPackets, RxBytes, TxPackets, TxBytes []uint64

	// The worker's private copy only (see publish): publishes since the
	// per-interface counters were last published.
	ifSkipped uint64
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
	storeAll(p.Drops[:], c.Drops[:])
	storeAll(p.Calls[:], c.Calls[:])
	storeAll(p.Packets[:], c.Packets[:])
	storeAll(p.SampledNanos[:], c.SampledNanos[:])
	storeAll(p.SampledPkts[:], c.SampledPkts[:])
	storeAll(p.ICMPErrors[:], c.ICMPErrors[:])
	atomic.StoreUint64(&p.ICMPEchoReplies, c.ICMPEchoReplies)
	atomic.StoreUint64(&p.Punts, c.Punts)
	atomic.StoreUint64(&p.PuntFull, c.PuntFull)
	atomic.StoreUint64(&p.Fragments, c.Fragments)
	atomic.StoreUint64(&p.BridgeMoves, c.BridgeMoves)
	atomic.StoreUint64(&p.BridgeFloods, c.BridgeFloods)
	atomic.StoreUint64(&p.BridgeLearnFull, c.BridgeLearnFull)
	atomic.StoreUint64(&p.Injected, c.Injected)
	atomic.StoreUint64(&p.Polls, c.Polls)
	atomic.StoreUint64(&p.BusyPolls, c.BusyPolls)
	atomic.StoreUint64(&p.Batches, c.Batches)
	atomic.StoreUint64(&p.Livelocks, c.Livelocks)
	atomic.StoreUint64(&p.Spread, c.Spread)
	atomic.StoreUint64(&p.ARPConsumed, c.ARPConsumed)
	atomic.StoreUint64(&p.Resolves, c.Resolves)
	atomic.StoreUint64(&p.Fragmented, c.Fragmented)
	atomic.StoreUint64(&p.FloodCopies, c.FloodCopies)
	atomic.StoreUint64(&p.InjectedTx, c.InjectedTx)
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
	loadAdd(c.Drops[:], p.Drops[:])
	loadAdd(c.Calls[:], p.Calls[:])
	loadAdd(c.Packets[:], p.Packets[:])
	loadAdd(c.SampledNanos[:], p.SampledNanos[:])
	loadAdd(c.SampledPkts[:], p.SampledPkts[:])
	loadAdd(c.ICMPErrors[:], p.ICMPErrors[:])
	c.ICMPEchoReplies += atomic.LoadUint64(&p.ICMPEchoReplies)
	c.Punts += atomic.LoadUint64(&p.Punts)
	c.PuntFull += atomic.LoadUint64(&p.PuntFull)
	c.Fragments += atomic.LoadUint64(&p.Fragments)
	c.BridgeMoves += atomic.LoadUint64(&p.BridgeMoves)
	c.BridgeFloods += atomic.LoadUint64(&p.BridgeFloods)
	c.BridgeLearnFull += atomic.LoadUint64(&p.BridgeLearnFull)
	c.Injected += atomic.LoadUint64(&p.Injected)
	c.Polls += atomic.LoadUint64(&p.Polls)
	c.BusyPolls += atomic.LoadUint64(&p.BusyPolls)
	c.Batches += atomic.LoadUint64(&p.Batches)
	c.Livelocks += atomic.LoadUint64(&p.Livelocks)
	c.Spread += atomic.LoadUint64(&p.Spread)
	c.ARPConsumed += atomic.LoadUint64(&p.ARPConsumed)
	c.Resolves += atomic.LoadUint64(&p.Resolves)
	c.Fragmented += atomic.LoadUint64(&p.Fragmented)
	c.FloodCopies += atomic.LoadUint64(&p.FloodCopies)
	c.InjectedTx += atomic.LoadUint64(&p.InjectedTx)
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
