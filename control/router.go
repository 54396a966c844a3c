package control

import (
	"encoding/binary"
	"net/netip"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/softnet/softnet/control/adj"
	"github.com/softnet/softnet/dp"
	"github.com/softnet/softnet/fib"
	"github.com/softnet/softnet/internal/pcapfilter"
	"github.com/softnet/softnet/internal/rules"
	"github.com/softnet/softnet/neigh"
)

// Options tune a Router.
type Options struct {
	ICMPRate  int // ICMP errors per second per worker (default 1000)
	ICMPBurst int // default 100
	Neigh     neigh.Options
	Now       func() time.Time // clock, for tests (default time.Now)
	// RAInterval is the time between periodic Router Advertisements on
	// interfaces that send them (IfaceConfig.RA): default 200 s (RFC
	// 4861 §6.2.1's MaxRtrAdvInterval is 600 s, its minimum a third of
	// that); the first 3 are at most 16 s apart (§6.2.4).
	RAInterval time.Duration
}

// Router is the control plane. See the package doc.
type Router struct {
	mu  serviceMu // its Unlock wakes the service loop when work was left
	cur atomic.Pointer[dp.Config]

	o         Options
	ifaces    []dp.Iface
	fib       *fib.Table
	fib6      *fib.Table6 // the IPv6 routes (ip6-lookup's Config.FIB6)
	adj       *adj.Table
	local     uint16
	drop      uint16   // blackhole
	admin     []bool   // per interface: administratively up
	link      []bool   // per interface: link up, as the port reports
	glean     []uint16 // per interface
	bcast     []uint16 // per interface
	bridges   []dp.Bridge
	vlans     []*dp.VLANTable    // per port interface: its published VLAN table (copy on write)
	ifaceMemo map[netip.Addr]int // during AddRoutes: checked gateway -> interface (see gateway)
	ownMemo   *rules.Own         // during AddRoutes: the router's own prefixes
	nbrAdj    map[neigh.Key]uint16
	host      map[neigh.Key]bool // neighbours whose /32 host route we installed
	static    statics            // configured routes, as opposed to the router's own (replace.go)
	neigh     *neigh.Table
	workers   []*dp.Worker
	outbox    []outMsg
	dirty     bool
	lastAge   time.Time
	raNext    time.Time         // when the next periodic Router Advertisements go out (nd.go)
	raSent    int               // periodic rounds sent: the first few are closer together
	raAnswer  map[int]time.Time // per interface: the last RA that answered a solicitation
	bell      *dp.Bell          // the service loop's: punt rings and API calls ring it (service.go)
	wakeAt    time.Time         // when the sleeping service loop's timer fires; zero: no timer
	wakes     atomic.Uint64
	stats     Stats
	lastErr   string
	rr        int
	freed     []freedIface            // VLAN indices deleted at run time, waiting to be reused (vlan.go)
	parked    map[routeKey]uint16     // routes through a down interface, out of the FIB (down.go)
	parked6   map[netip.Prefix]uint16 // the same for IPv6 routes, out of the IPv6 FIB
	parkLooks uint64                  // routes park has looked at (tests: what taking an interface down costs)
	bl        blocklistState          // the early-drop stage's blocklists (blocklist.go)
	kern      fib.PrefixMap[kroute]   // kernel routes mirrored from Linux (kernel.go)
	protos    []string                // their protocols' names (kroute.proto)
	lastProto uint16                  // the last protoIndex answer
	// kernCount is kern's installed and shadowed routes, kept as kern
	// changes (setKern, dropKern), read without mu (KernelRoutes).
	kernCount [2]atomic.Int64
	groups    map[string]*group // ECMP groups by members and weights (kernel.go)
	groupOf   map[uint16]*group // ECMP groups by adjacency
	filt      filterState       // the stateful filter (filter.go)

	// Neighbours and addresses mirrored from Linux (kmirror.go): the
	// kernel's neighbours, installed or shadowed by a static one; per
	// interface the addresses the kernel added.
	kneigh map[neigh.Key]KernelNeighbor
	kaddrs map[int][]netip.Prefix

	// Host interfaces (hostif.go): per interface index whether it has
	// one, where their frames go, and the punt rate limit.
	hostIf              []bool
	hostSink            HostSink
	hostRate, hostBurst int
	hostNeigh           bool // Linux answers ARP requests and NS (SetHostNeighbors)

	// Packet capture (capture.go): the running captures, and their
	// compiled filters, shared by expression.
	captures []*dp.Capture
	progs    map[string]*pcapfilter.Program
	// gone: captures on a VLAN sub-interface that DeleteVLAN deleted,
	// removed then (its index may go to another VLAN), by the
	// interface's name, until StopCaptures (see CaptureGone). Under
	// goneMu (with mu too when written): a capture's stream asks every
	// 5 ms and should not wait for mu behind a long route change.
	goneMu sync.Mutex
	gone   map[*dp.Capture]string
	flight Flight // the config's always-on captures (flight.go)

	// A full-table replace lets go of mu between chunks (replace.go).
	replaceMu      sync.Mutex // one replace (ReplaceRoutes, Reconfigure) at a time
	replacing      bool       // a replace is under way: publishing waits for its end
	ifaceGen       uint64     // bumped when interfaces or their addresses change
	replaceLog     []routeOp  // route changes made while a replace let go of mu
	dirtyMeanwhile bool       // something to publish changed while a replace let go of mu
	replaceHook    func()     // tests: called each time a replace let go of mu
}

// New returns a router with no interfaces and an empty table, and
// publishes its first (empty) config.
func New(o Options) *Router {
	if o.ICMPRate == 0 {
		o.ICMPRate = 1000
	}
	if o.ICMPBurst == 0 {
		o.ICMPBurst = 100
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	r := &Router{
		o:      o,
		fib:    fib.NewTable(),
		fib6:   fib.NewTable6(),
		adj:    adj.New(),
		nbrAdj: make(map[neigh.Key]uint16),
		host:   make(map[neigh.Key]bool),
		neigh:  neigh.New(o.Neigh),
		bell:   dp.NewBell(),
	}
	r.mu.r = r
	r.local, _ = r.adj.Alloc(dp.Adj{Kind: dp.AdjLocal}) // cannot fail on an empty table
	r.drop, _ = r.adj.Alloc(dp.Adj{Kind: dp.AdjDrop})
	r.mu.Lock()
	r.publish()
	r.mu.Unlock()
	return r
}

// Config is the pointer workers load their snapshot from. Callers only
// Load it; the router alone stores, and a loaded Config is read-only.
func (r *Router) Config() *atomic.Pointer[dp.Config] { return &r.cur }

// AttachWorkers tells the router which workers' rings to serve, and makes
// their punt rings wake its service loop (Run). Call it before the
// workers start.
func (r *Router) AttachWorkers(ws []*dp.Worker) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.workers = slices.Clone(ws)
	for _, w := range ws {
		w.Punt().SetBell(r.bell)
	}
}

// publish builds and publishes a new Config. Caller holds mu.
func (r *Router) publish() {
	if r.replacing { // published when the replace ends (replace.go)
		r.dirty = true
		return
	}
	ifaces := slices.Clone(r.ifaces)
	for i := range ifaces {
		ifaces[i].Addrs = slices.Clone(ifaces[i].Addrs)
		ifaces[i].LinkLocal = dp.LinkLocalOf(&ifaces[i])
		ifaces[i].Host = r.hasHost(i)
		ifaces[i].HostNeigh = r.hostOwnsNeigh(i)
	}
	adjs := r.adj.Snapshot()
	cfg := &dp.Config{
		FIB:       r.fib.Snapshot(),
		FIB6:      r.fib6.Snapshot(),
		Adj:       adjs,
		ECMP:      r.ecmpBuckets(adjs),
		Ifaces:    ifaces,
		VLANs:     slices.Clone(r.vlans),
		Bridges:   slices.Clone(r.bridges),
		ICMPRate:  r.o.ICMPRate,
		ICMPBurst: r.o.ICMPBurst,
		HostRate:  r.hostRate,
		HostBurst: r.hostBurst,
		EarlyDrop: &r.bl.hold,
		Filter:    r.filterFeatures(ifaces),
	}
	cfg.Taps = dp.BuildTaps(cfg, r.captures)
	r.cur.Store(cfg)
	r.dirty = false
	r.stats.Publishes++
}

// Publish publishes pending changes now.
func (r *Router) Publish() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.dirty {
		r.publish()
	}
}

// u32 converts at the edge of the IPv4 FIB (fib's IPv4 prefixes) and for
// IPv4 subnet arithmetic only. What control shares with the data plane and
// the rest (dp.IfaceAddr, dp.Adj.Addr, neigh.Key, dp.Msg.Addr, arp.Packet)
// is a netip.Addr or 16 bytes, IPv4 and IPv6 alike. u32 panics on an IPv6
// address: nothing IPv6 gets that far (AddRoute refuses an IPv6 route;
// an IPv6 interface address or neighbour installs no IPv4 route).
func u32(a netip.Addr) uint32 {
	b := a.As4()
	return binary.BigEndian.Uint32(b[:])
}
