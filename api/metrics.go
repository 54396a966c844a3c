package api

import (
	"reflect"
	"strconv"
	"strings"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/softnet/softnet/control"
	"github.com/softnet/softnet/dp"
)

// Collector exports a router's counters to Prometheus. It sums the
// workers' published counters at scrape time (dp.Sum, per-worker copies
// loaded atomically): the data path has nothing added for it.
type Collector struct {
	src Source

	rxPackets, rxBytes, txPackets, txBytes, ifqDrops, portDrops, up *prometheus.Desc
	portCounters                                                    *prometheus.Desc

	calls, packets, sampledNanos, sampledPkts *prometheus.Desc
	drops, icmpErrors, echoReplies            *prometheus.Desc
	// Per worker: the dp.Scalars with a worker tag, in their order.
	workerScalars                      []workerScalar
	fibRoutes, staticRoutes, neighbors *prometheus.Desc
	blDrops, blEntries                 *prometheus.Desc
	fStates, fInserts, fExpired        *prometheus.Desc
	fRefused, fRulePkts, fRuleStates   *prometheus.Desc
	arpRequests, publishes, cpDrops    *prometheus.Desc
	ndSolicits, ndAdverts, ras         *prometheus.Desc
	adjacencies, buffersInUse          *prometheus.Desc
	pollGapMax                         *prometheus.Desc
}

// NewCollector returns a Collector of src's counters.
func NewCollector(src Source) *Collector {
	d := func(name, help string, labels ...string) *prometheus.Desc {
		return prometheus.NewDesc("softnet_"+name, help, labels, nil)
	}
	return &Collector{
		src:           src,
		rxPackets:     d("interface_rx_packets_total", "Packets received on the interface, counted by the workers.", "interface"),
		rxBytes:       d("interface_rx_bytes_total", "Bytes received on the interface.", "interface"),
		txPackets:     d("interface_tx_packets_total", "Packets sent on the interface.", "interface"),
		txBytes:       d("interface_tx_bytes_total", "Bytes sent on the interface.", "interface"),
		ifqDrops:      d("interface_ifq_drops_total", "Frames the kernel or receive ring dropped before softnet saw them.", "interface"),
		portDrops:     d("interface_port_drops_total", "Frames the port itself dropped or failed to send, by kind.", "interface", "kind"),
		portCounters:  d("interface_port_counters_total", "Frames the port handled specially and passed on (not drops), by kind: rx-csum-finished, rx-gso-split.", "interface", "kind"),
		up:            d("interface_up", "1 if the interface is administratively and link up.", "interface"),
		calls:         d("stage_calls_total", "Calls (batches) of the stage.", "stage"),
		packets:       d("stage_packets_total", "Packets through the stage.", "stage"),
		sampledNanos:  d("stage_sampled_nanoseconds_total", "Time in the stage on the sampled polls (every 16th); divide by stage_sampled_packets_total for ns per packet.", "stage"),
		sampledPkts:   d("stage_sampled_packets_total", "Packets of the sampled polls.", "stage"),
		drops:         d("drops_total", "Packets dropped, by stage and reason (softnet show errors): the data plane's and the control plane's (stage arp-queue); a port's own drops are interface_port_drops_total.", "stage", "reason"),
		icmpErrors:    d("icmp_errors_sent_total", "ICMP errors sent, by kind.", "kind"),
		echoReplies:   d("icmp_echo_replies_total", "ICMP echo replies sent."),
		workerScalars: workerScalars(d),
		fibRoutes:     d("fib_routes", "Routes in the FIB (configured and the router's own)."),
		blDrops:       d("blocklist_drops_total", "Frames the early-drop stage dropped, by blocklist (all lists: drops_total stage early-drop).", "list"),
		blEntries:     d("blocklist_entries", "Entries (addresses and prefixes) of each early-drop blocklist.", "list"),
		fStates:       d("filter_states", "States in the filter's tables, all workers."),
		fInserts:      d("filter_state_inserts_total", "States the filter made."),
		fExpired:      d("filter_state_evictions_total", "States removed: expired (lazily or by the sweep) or flushed.", "cause"),
		fRefused:      d("filter_state_limit_drops_total", "New flows refused because the worker's state table was full."),
		fRulePkts:     d("filter_rule_packets_total", "First packets of flows each rule decided (rule 0: the default policy).", "rule"),
		fRuleStates:   d("filter_rule_states_total", "States each rule made.", "rule"),
		staticRoutes:  d("fib_static_routes", "Configured routes (config, route files, route add)."),
		neighbors:     d("neighbors", "Neighbour entries, by state (kernel: mirrored from Linux by linux_cp).", "state"),
		arpRequests:   d("control_arp_requests_total", "ARP requests the control plane sent."),
		ndSolicits:    d("control_nd_solicitations_total", "IPv6 Neighbor Solicitations the control plane sent (resolution and probes)."),
		ndAdverts:     d("control_nd_advertisements_total", "IPv6 Neighbor Advertisements the control plane sent (answers for the router's addresses)."),
		ras:           d("control_router_advertisements_total", "IPv6 Router Advertisements the control plane sent (periodic and solicited)."),
		publishes:     d("control_publishes_total", "Snapshots the control plane published."),
		cpDrops:       d("control_queue_drops_total", "Packets the control plane dropped while they waited for ARP: the sum of drops_total{stage=\"arp-queue\"}."),
		adjacencies:   d("adjacencies", "Adjacencies in use (next hops, neighbours, the router's own)."),
		buffersInUse:  d("buffers_in_use", "Packet buffers in use, over all the workers' pools."),
		pollGapMax:    d("worker_poll_gap_max_seconds", "The longest time between two polls of the worker's receive queues since start, not counting its sleeps waiting for frames.", "worker"),
	}
}

// workerScalar is a per-worker metric of a dp scalar counter.
type workerScalar struct {
	k dp.Scalar
	d *prometheus.Desc
}

// workerScalars makes softnet_worker_<name>_total of every dp.Scalars
// counter with a worker help text.
func workerScalars(d func(name, help string, labels ...string) *prometheus.Desc) []workerScalar {
	var out []workerScalar
	for k := range dp.NumScalars {
		if in := k.Info(); in.WorkerHelp != "" {
			out = append(out, workerScalar{k, d("worker_"+in.Name+"_total", in.WorkerHelp, "worker")})
		}
	}
	return out
}

// workerRuntimeFields maps each counter field of WorkerRuntime (all but
// ID) to the dp scalar of the same json name, so GET /v1/runtime fills
// them from dp's one list of scalars.
var workerRuntimeFields = func() (out []struct {
	field int
	k     dp.Scalar
}) {
	byName := map[string]dp.Scalar{}
	for k := range dp.NumScalars {
		byName[k.Info().Name] = k
	}
	t := reflect.TypeFor[WorkerRuntime]()
	for i := range t.NumField() {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
		if name == "id" {
			continue
		}
		k, ok := byName[name]
		if !ok || t.Field(i).Type.Kind() != reflect.Uint64 {
			panic("api: WorkerRuntime." + t.Field(i).Name + " is not a uint64 dp.Scalars counter named " + name)
		}
		out = append(out, struct {
			field int
			k     dp.Scalar
		}{i, k})
	}
	return out
}()

// workerRuntime is worker id's poll counters from its counters c.
func workerRuntime(id int, c *dp.Counters) WorkerRuntime {
	wr := WorkerRuntime{ID: id}
	v := reflect.ValueOf(&wr).Elem()
	for _, f := range workerRuntimeFields {
		v.Field(f.field).SetUint(c.Get(f.k))
	}
	return wr
}

// Describe sends every metric's description.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.rxPackets, c.rxBytes, c.txPackets, c.txBytes, c.ifqDrops, c.portDrops, c.portCounters, c.up,
		c.calls, c.packets, c.sampledNanos, c.sampledPkts, c.drops, c.icmpErrors, c.echoReplies,
		c.fibRoutes, c.staticRoutes, c.neighbors, c.blDrops, c.blEntries, c.fStates, c.fInserts, c.fExpired, c.fRefused, c.fRulePkts, c.fRuleStates, c.arpRequests, c.ndSolicits, c.ndAdverts, c.ras, c.publishes, c.cpDrops, c.adjacencies, c.buffersInUse, c.pollGapMax} {
		ch <- d
	}
	for _, m := range c.workerScalars {
		ch <- m.d
	}
}

// Collect reads the counters and sends them.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	counter := func(d *prometheus.Desc, v uint64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), labels...)
	}
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	for _, st := range c.src.Status() {
		counter(c.rxPackets, st.RxPackets, st.Name)
		counter(c.rxBytes, st.RxBytes, st.Name)
		counter(c.txPackets, st.TxPackets, st.Name)
		counter(c.txBytes, st.TxBytes, st.Name)
		counter(c.ifqDrops, st.KernelDrops, st.Name)
		for k, n := range st.PortDrops {
			counter(c.portDrops, n, st.Name, k)
		}
		for k, n := range st.PortCounters {
			counter(c.portCounters, n, st.Name, k)
		}
		up := 0.0
		if st.Up && st.AdminUp {
			up = 1
		}
		gauge(c.up, up, st.Name)
	}
	t := c.src.Counters()
	for _, s := range dp.Stages() {
		n := s.String()
		counter(c.calls, t.Calls[s], n)
		counter(c.packets, t.Packets[s], n)
		counter(c.sampledNanos, t.SampledNanos[s], n)
		counter(c.sampledPkts, t.SampledPkts[s], n)
	}
	for _, r := range dp.Reasons() {
		counter(c.drops, t.Drops[r], r.Stage().String(), r.Name())
	}
	cs := c.src.Control().Stats()
	for d := control.Drop(0); d < control.NumDrops; d++ {
		counter(c.drops, cs.Drops[d], control.DropStage, d.Name())
	}
	for k := range dp.NumICMPErrors {
		counter(c.icmpErrors, t.ICMPErrors[k], dp.ICMPErrorNames[k])
	}
	counter(c.echoReplies, t.ICMPEchoReplies)
	for i, w := range c.src.WorkerCounters() {
		id := strconv.Itoa(i)
		for _, m := range c.workerScalars {
			counter(m.d, w.Get(m.k), id)
		}
		gauge(c.pollGapMax, float64(w.PollGapMaxNs)/1e9, id)
	}
	ctl := c.src.Control()
	gauge(c.fibRoutes, float64(ctl.Routes()))
	for _, b := range ctl.Blocklists() {
		counter(c.blDrops, b.Drops, b.Name)
		gauge(c.blEntries, float64(b.Entries), b.Name)
	}
	if st, ok := ctl.FilterStats(); ok {
		gauge(c.fStates, float64(st.States))
		counter(c.fInserts, st.Inserts)
		counter(c.fExpired, st.Expired, "expired")
		counter(c.fExpired, st.Flushed, "flushed")
		counter(c.fRefused, st.Refused)
		for _, r := range ctl.FilterRules() {
			counter(c.fRulePkts, r.Packets, strconv.Itoa(r.Number))
			counter(c.fRuleStates, r.States, strconv.Itoa(r.Number))
		}
	}
	gauge(c.staticRoutes, float64(ctl.StaticRoutes()))
	states := map[string]float64{"incomplete": 0, "reachable": 0, "stale": 0, "failed": 0, "static": 0, "delay": 0, "probe": 0, "kernel": 0}
	for _, e := range ctl.Neighbors() {
		states[e.State.String()]++
	}
	for s, n := range states {
		gauge(c.neighbors, n, s)
	}
	counter(c.arpRequests, cs.ARPRequests)
	counter(c.ndSolicits, cs.NDSolicits)
	counter(c.ndAdverts, cs.NDAdverts)
	counter(c.ras, cs.RAs)
	counter(c.publishes, cs.Publishes)
	counter(c.cpDrops, cs.QueueDrops)
	adjs, _ := ctl.Adjacencies()
	gauge(c.adjacencies, float64(adjs))
	if b, ok := c.src.(interface{ Buffers() (int, int) }); ok {
		inUse, _ := b.Buffers()
		gauge(c.buffersInUse, float64(inUse))
	}
}
