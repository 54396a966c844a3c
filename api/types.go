package api

import (
	"github.com/softnet/softnet/dp/tracefmt"
	"github.com/softnet/softnet/linuxcp"
	"github.com/softnet/softnet/run"
)

// The JSON the endpoints return. Field names are stable: scripts use
// them (softnet show ... --json prints these).

// Status is GET /v1/status.
type Status struct {
	PID        int     `json:"pid"`
	Config     string  `json:"config"`
	Started    string  `json:"started"` // RFC 3339
	UptimeS    float64 `json:"uptime_s"`
	Workers    int     `json:"workers"`
	Interfaces int     `json:"interfaces"`
	FIBRoutes  int     `json:"fib_routes"`
	Static     int     `json:"static_routes"`
	// Occupancy, for watching a long run (softnet bench --scenario
	// soak): adjacencies in use and the table's capacity, packet
	// buffers in use and in all the workers' pools, goroutines, the live
	// heap after the last GC, and open file descriptors (-1 where
	// /proc/self/fd cannot be read).
	Adjacencies    int    `json:"adjacencies"`
	AdjacenciesMax int    `json:"adjacencies_max"`
	BuffersInUse   int    `json:"buffers_in_use"`
	Buffers        int    `json:"buffers"`
	Goroutines     int    `json:"goroutines"`
	HeapLiveBytes  uint64 `json:"heap_live_bytes"`
	OpenFDs        int    `json:"open_fds"`
}

// Interface is one entry of GET /v1/interfaces.
type Interface struct {
	Name      string   `json:"name"`
	Backend   string   `json:"backend"`
	Device    string   `json:"device,omitempty"`
	Admin     string   `json:"admin"` // up, down
	Link      string   `json:"link"`  // up, down
	MAC       string   `json:"mac"`
	MTU       int      `json:"mtu"`
	Addresses []string `json:"addresses"`
	Queues    int      `json:"queues"`
	RxPackets uint64   `json:"rx_packets"`
	RxBytes   uint64   `json:"rx_bytes"`
	TxPackets uint64   `json:"tx_packets"`
	TxBytes   uint64   `json:"tx_bytes"`
	// Drops is what the port itself dropped or failed to send (the sum of
	// PortDrops); IfqDrops what the kernel or the ring dropped before
	// softnet saw it (AF_PACKET ring drops).
	Drops     uint64            `json:"drops"`
	IfqDrops  uint64            `json:"ifq_drops"`
	PortDrops map[string]uint64 `json:"port_drops,omitempty"`
	// PortCounters is what the port did to frames it passed on (not
	// drops), by kind, e.g. {"rx-csum-finished": 12}.
	PortCounters map[string]uint64 `json:"port_counters,omitempty"`
	LastError    string            `json:"last_error,omitempty"`
}

// RouteSummary is GET /v1/routes without a match.
type RouteSummary struct {
	Total    int           `json:"total"`  // IPv4 routes
	Static   int           `json:"static"` // configured (config, route files, route add), both families
	ByLength []LengthCount `json:"by_length"`
	// Total6 and ByLength6 are the IPv6 routes'; by_length6 is absent
	// when there are none.
	Total6    int           `json:"total6"`
	ByLength6 []LengthCount `json:"by_length6,omitempty"`
}

// LengthCount is the number of routes of one prefix length.
type LengthCount struct {
	Length int `json:"length"`
	Routes int `json:"routes"`
}

// RouteMatch is GET /v1/routes?match=ADDR|PREFIX: the longest route that
// holds the address (or all of the prefix) and where it goes.
type RouteMatch struct {
	Query     string `json:"query"`
	Found     bool   `json:"found"`
	Prefix    string `json:"prefix,omitempty"`
	Kind      string `json:"kind,omitempty"` // forward, incomplete, connected, local, broadcast, blackhole, unreachable
	Interface string `json:"interface,omitempty"`
	Via       string `json:"via,omitempty"`
	Static    bool   `json:"static"` // a configured route, not one of the router's own
	// Origin is where the route came from: static (configured), local,
	// connected, neighbor (a neighbour's host route), or the protocol of
	// a route mirrored from Linux (linux_cp): bgp, ospf, kernel, boot,
	// kernel-static, ...
	Origin string `json:"origin,omitempty"`
	// NextHops are an ECMP route's next hops (kind ecmp).
	NextHops []RouteHop `json:"next_hops,omitempty"`
}

// RouteHop is one next hop of an ECMP route.
type RouteHop struct {
	Via       string `json:"via,omitempty"` // absent: on-link
	Interface string `json:"interface"`
	Weight    int    `json:"weight"`
	Live      bool   `json:"live"` // carries traffic: its neighbour is not unreachable and its interface is up
}

// RouteRequest is POST /v1/routes and DELETE /v1/routes.
type RouteRequest struct {
	Prefix    string `json:"prefix"`
	Via       string `json:"via,omitempty"`
	Blackhole bool   `json:"blackhole,omitempty"`
}

// Neighbor is one entry of GET /v1/neighbors.
type Neighbor struct {
	Interface string  `json:"interface"`
	Address   string  `json:"address"`
	MAC       string  `json:"mac,omitempty"` // empty while incomplete
	State     string  `json:"state"`         // incomplete, reachable, stale, failed, static; IPv6 also delay, probe; a kernel one's the kernel's (permanent, noarp, reachable, ...)
	AgeS      float64 `json:"age_s"`         // since the last confirmation or state change
	// Source says where it came from: learned (ARP, Neighbor
	// Discovery), static (config, softnet neighbor add) or kernel
	// (mirrored from Linux by linux_cp, ip neigh).
	Source string `json:"source"`
}

// NeighborRequest is POST /v1/neighbors and DELETE /v1/neighbors.
type NeighborRequest struct {
	Interface string `json:"interface"`
	Address   string `json:"address"`
	MAC       string `json:"mac,omitempty"`
}

// Runtime is GET /v1/runtime: per stage and per worker, since start.
type Runtime struct {
	Stages  []StageRuntime  `json:"stages"`
	Workers []WorkerRuntime `json:"workers"`
	// PollMode is what the workers do when idle (config poll_mode):
	// "adaptive", "interrupt" or "polling"; PollWindowUs is adaptive's
	// window (poll_window, or its default), 0 in the other modes.
	PollMode     string  `json:"poll_mode"`
	PollWindowUs float64 `json:"poll_window_us"`
	// Go is the Go runtime's scheduling and collection figures, since
	// start (runtime/metrics).
	Go GoRuntime `json:"go"`
}

// GoRuntime is the Go runtime's view since start: GOMAXPROCS; the
// latency from runnable to running of goroutines (runtime/metrics
// /sched/latencies:seconds; a worker waking from poll(2) waits this long
// for a P), its p99 and maximum; the stop-the-world pauses of the
// collector (/sched/pauses/total/gc:seconds), p99 and maximum; and the
// collections (/gc/cycles/total:gc-cycles) and the collector's target
// (/gc/gogc:percent: GOGC; softnet run sets 400 unless GOGC is given), and
// the soft memory limit (/gc/gomemlimit:bytes, 0 for none: softnet run sets
// half the memory of the machine or its cgroup unless GOMEMLIMIT is given), and
// the CPU time the collector used (/cpu/classes/gc/total:cpu-seconds, an
// estimate the runtime keeps: its mark workers' and assists' time). The p99 and maximum are
// bucket bounds of the runtime's histograms (within about 10 %).
type GoRuntime struct {
	GOMAXPROCS        int     `json:"gomaxprocs"`
	SchedLatencyP99Ms float64 `json:"sched_latency_p99_ms"`
	SchedLatencyMaxMs float64 `json:"sched_latency_max_ms"`
	GCPauseP99Ms      float64 `json:"gc_pause_p99_ms"`
	GCPauseMaxMs      float64 `json:"gc_pause_max_ms"`
	GCCycles          uint64  `json:"gc_cycles"`
	GCPercent         int     `json:"gc_percent"`
	MemoryLimitBytes  uint64  `json:"memory_limit_bytes"`
	GCCPUSeconds      float64 `json:"gc_cpu_s"`
}

// StageRuntime is one stage's counters (VPP's show runtime): calls
// (batches), packets, and the time per packet measured on a sample of
// the polls (every 16th).
type StageRuntime struct {
	Name           string  `json:"name"`
	Calls          uint64  `json:"calls"`
	Packets        uint64  `json:"packets"`
	PacketsPerCall float64 `json:"packets_per_call"`
	NsPerPacket    float64 `json:"ns_per_packet"`
}

// WorkerRuntime is one worker's poll counters: polls of its receive
// queues, busy polls (receives that filled a whole batch: at the budget),
// batches (receives that got packets), livelocks (busy polls while the
// ring kept filling), punts to the control plane and punts lost to a full
// ring; and its poll gaps: the longest time between two polls since start
// and the gaps longer than 100 ms, not counting its sleeps waiting for
// frames (a gap longer than the receive ring lasts loses frames).
type WorkerRuntime struct {
	ID        int    `json:"id"`
	Polls     uint64 `json:"polls"`
	BusyPolls uint64 `json:"busy_polls"`
	Batches   uint64 `json:"batches"`
	Livelocks uint64 `json:"livelocks"`
	Punts     uint64 `json:"punts"`
	PuntFull  uint64 `json:"punt_full"`
	// Spread is the packets this worker received and handed to the
	// worker owning their flow (software RSS, for ports with fewer queues
	// than workers).
	Spread uint64 `json:"spread"`
	// PollGapMaxNs is the longest gap between two polls, in ns;
	// PollGaps the gaps longer than 100 ms (dp.PollGapLong).
	PollGapMaxNs uint64 `json:"poll_gap_max_ns"`
	PollGaps     uint64 `json:"poll_gaps"`
}

// Errors is GET /v1/errors: every drop reason with its count (the data
// plane's, the control plane's and the ports'), the ICMP errors sent, and
// where every packet went.
type Errors struct {
	// Total is every drop, parts (Drop.Of) left out.
	Total           uint64      `json:"total"`
	Drops           []Drop      `json:"drops"`
	ICMPErrors      []ICMPCount `json:"icmp_errors"`
	ICMPEchoReplies uint64      `json:"icmp_echo_replies"`
	// Unreachable is the packets that waited for ARP in vain, sent back
	// to be answered with ICMP host unreachable (so counted as sent, or
	// dropped by icmp4-error).
	Unreachable uint64     `json:"arp_unreachable"`
	Accounting  Accounting `json:"accounting"`
}

// Drop is one drop reason: stage/reason (stage "arp-queue" for the
// control plane's, "port" for a port's own count, with its interface).
type Drop struct {
	Stage       string `json:"stage"`
	Reason      string `json:"reason"`
	Interface   string `json:"interface,omitempty"`
	Count       uint64 `json:"count"`
	Description string `json:"description"`
	// Of is the reason this count is part of (a port's transmit failures
	// are interface-output/tx-full): not added to Total again.
	Of string `json:"of,omitempty"`
}

// Accounting is where every packet went (see run.Accounting): when the
// router is idle, received + generated = sent + dropped + consumed + held,
// and Balance is the difference (0).
type Accounting struct {
	Received  uint64 `json:"received"`
	Generated uint64 `json:"generated"`
	Sent      uint64 `json:"sent"`
	Dropped   uint64 `json:"dropped"`
	Consumed  uint64 `json:"consumed"`
	Held      uint64 `json:"held"`
	Balance   int64  `json:"balance"`
}

// ICMPCount is one kind of ICMP error sent.
type ICMPCount struct {
	Kind  string `json:"kind"`
	Count uint64 `json:"count"`
}

// ReloadRequest is POST /v1/reload: the config file to apply ("" for the
// one the router runs).
type ReloadRequest struct {
	File string `json:"file,omitempty"`
}

// ErrorBody is the body of every error response.
type ErrorBody struct {
	Error   string   `json:"error"`
	Details []string `json:"details,omitempty"` // one line per config error
}

// ReloadResult is the answer to POST /v1/reload: the file applied, what it
// holds, and what changed.
type ReloadResult = run.ReloadResult

// SavedConfig is the answer to GET /v1/config: the running state as a
// config file (yaml) and what it cannot say (warnings).
type SavedConfig = run.Saved

// TraceResult is the answer of GET /v1/trace: the packets followed, in
// arrival order (see tracefmt.TracePacket), Complete false and Error set when
// the timeout ended the trace before Requested packets arrived.
type TraceResult struct {
	Requested int                    `json:"requested"`
	Complete  bool                   `json:"complete"`
	Error     string                 `json:"error,omitempty"`
	Packets   []tracefmt.TracePacket `json:"packets"`
}

// LinuxCP is GET /v1/linuxcp: the linux_cp mirror's counters (see
// linuxcp.Stats), and the kernel routes the router holds: installed in
// its FIB, and shadowed (to one of the router's own prefixes or a
// configured route's, remembered but not installed).
type LinuxCP struct {
	linuxcp.Stats
	Installed int `json:"installed"`
	Shadowed  int `json:"shadowed"`
	// HostInterfaces are linux_cp's host interfaces (TAPs) with their
	// counters; none without host_interfaces.
	HostInterfaces []linuxcp.HostIfStats `json:"host_interfaces,omitempty"`
}
