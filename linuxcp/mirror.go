package linuxcp

import (
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/softnet/softnet/control"
	"github.com/softnet/softnet/fib"
)

// Hop is one next hop of a kernel route, as netlink gives it.
type Hop struct {
	Link   int        // kernel interface index
	Via    netip.Addr // gateway; invalid: on-link
	Weight int        // rtnh_hops + 1
	Dead   bool       // RTNH_F_DEAD or RTNH_F_LINKDOWN: the kernel does not use it
}

// Route is one kernel route, as netlink gives it.
type Route struct {
	Prefix netip.Prefix
	Table  int
	Proto  int // RTPROT_*
	Metric int
	// Blackhole: a blackhole, unreachable or prohibit route (no next hop).
	Blackhole bool
	Hops      []Hop
	// Append: an IPv6 RTM_NEWROUTE with NLM_F_APPEND, adding Hops to the
	// route's next hops rather than replacing them.
	Append bool
	// NH is the nexthop object the route uses (RTA_NH_ID; 0: none): its
	// next hops are the object's (Nexthop), whatever Hops says (the
	// kernel's expansion of it in nexthop_compat_mode, or nothing).
	NH uint32
}

// Nexthop is a kernel nexthop object (ip nexthop, RTM_NEWNEXTHOP): one
// next hop, a blackhole, or a group of other objects.
type Nexthop struct {
	ID        uint32
	Link      int        // kernel interface index (not for a group or a blackhole)
	Via       netip.Addr // gateway; invalid: on-link
	Blackhole bool
	Dead      bool            // RTNH_F_DEAD or RTNH_F_LINKDOWN
	Group     []NexthopMember // a group's members; nil: not a group
}

// NexthopMember is one member of a nexthop group: another object's id
// and its weight (1..).
type NexthopMember struct {
	ID     uint32
	Weight int
}

// NexthopDumper is a Source that also dumps the kernel's nexthop objects
// (RTM_GETNEXTHOP); the mirror's resync asks it before the routes.
type NexthopDumper interface {
	DumpNexthops() ([]Nexthop, error)
}

// key is a kernel route's identity in its table.
type key struct {
	p      netip.Prefix
	table  int
	metric int
}

// Link is a kernel interface.
type Link struct {
	Index int
	Name  string
	Up    bool // IFF_UP and IFF_RUNNING
}

// EventKind says what an Event carries.
type EventKind uint8

const (
	RouteAdd EventKind = iota
	RouteDel
	LinkSet
	LinkDel
	NexthopSet // RTM_NEWNEXTHOP: an object added or replaced
	NexthopDel // RTM_DELNEXTHOP
	NeighSet   // RTM_NEWNEIGH: a neighbour added or changed (any state)
	NeighDel   // RTM_DELNEIGH
	AddrSet    // RTM_NEWADDR
	AddrDel    // RTM_DELADDR
)

// Event is one netlink notification.
type Event struct {
	Kind    EventKind
	Route   Route
	Link    Link
	Nexthop Nexthop
	Neigh   Neigh // NeighSet, NeighDel
	Addr    Addr  // AddrSet, AddrDel
}

// Source is where the mirror reads the kernel's state: a netlink socket
// in a namespace (Open), or a fake in tests.
type Source interface {
	// Dump returns the kernel's links and routes now (all tables).
	Dump() ([]Link, []Route, error)
	// Read blocks for the next notifications and returns them (none,
	// with no error, when it woke up with nothing to read). It
	// returns ErrOverflow when the socket lost notifications (ENOBUFS),
	// having discarded what it still held (older than the loss): the
	// mirror then resyncs with Dump, and what Read returns afterwards is
	// newer than the discarded. After Close it returns
	// ErrClosed.
	Read() ([]Event, error)
	Close() error
}

// Recycler is a Source that takes back the slices its Read returned once
// the mirror has applied them, to read into again: a full table's burst
// is then not a million events allocated, written, copied into a batch
// and collected.
type Recycler interface {
	Recycle([]Event)
}

// ErrOverflow is Source.Read's error when notifications were lost.
var ErrOverflow = fmt.Errorf("netlink: notifications lost (ENOBUFS): resync")

// ErrClosed is Source.Read's error after Close.
var ErrClosed = fmt.Errorf("netlink: source closed")

// Router is what the mirror applies routes to: *control.Router.
type Router interface {
	ApplyKernel(set []control.KernelRoute, del []netip.Prefix) control.KernelResult
	InterfaceIndex(name string) int
}

// Options are the linux_cp config's choices.
type Options struct {
	// Interfaces are the kernel interface names whose routes are
	// mirrored (each must be a softnet interface of the same name);
	// empty: every kernel interface that softnet has.
	Interfaces []string
	// Names maps a kernel interface name to the softnet interface it
	// stands for when the two differ (a host interface given a name of
	// its own, linux_cp's host_interfaces); others keep their name.
	Names map[string]string
	// Tables are the kernel routing tables mirrored; empty: main (254).
	Tables []int
	// Protocols are the route protocols mirrored (RTPROT_* numbers);
	// empty: all.
	Protocols []int
	// MaxBatch bounds the notifications applied in one batch (one
	// snapshot); default 65536.
	MaxBatch int
	// Log, if set, is told of resyncs and refused routes.
	Log func(format string, args ...any)
}

// Stats are the mirror's counters.
type Stats struct {
	Routes    int    `json:"routes"`    // routes mirrored now (applied to softnet)
	Events    uint64 `json:"events"`    // netlink notifications read
	Batches   uint64 `json:"batches"`   // batches applied (one snapshot each)
	Overflows uint64 `json:"overflows"` // ENOBUFS: notifications lost
	Resyncs   uint64 `json:"resyncs"`   // full dumps (the first one, and one per overflow)
	Added     uint64 `json:"added"`     // route changes applied: added, changed, deleted
	Changed   uint64 `json:"changed"`
	Deleted   uint64 `json:"deleted"`
	Refused   uint64 `json:"refused"` // routes, neighbours and addresses softnet refused (LastError says why)
	// Neighbors are the kernel's neighbours mirrored now (usable, on
	// mirrored interfaces); Addresses the kernel's addresses of the
	// mirrored interfaces (softnet's configured ones among them: the
	// kernel has those too).
	Neighbors int `json:"neighbors"`
	Addresses int `json:"addresses"`
	// Synced is true once the first dump is applied.
	Synced    bool   `json:"synced"`
	LastError string `json:"last_error,omitempty"`
}

// Mirror follows a kernel's routing tables into a softnet router: a
// reader goroutine that never waits on the router (it queues what it
// reads), and an applier goroutine that applies the queue in batches.
type Mirror struct {
	src Source
	r   Router
	o   Options

	mu       sync.Mutex // the queue, between reader and applier
	queue    [][]Event  // what each Read returned, in order (not copied into one slice)
	overflow bool
	wake     chan struct{}
	done     chan struct{}
	wg       sync.WaitGroup
	closed   atomic.Bool

	// The applier's own (no lock: one goroutine).
	links map[int]Link
	nhs   map[uint32]Nexthop // the kernel's nexthop objects
	// v holds, by prefix, the kernel's routes of the mirrored tables and
	// what softnet was given (view.go), and the batch's touched prefixes.
	v  view
	ns nstate // neighbours and addresses (neigh.go)
	// A batch's scratch, kept from one batch to the next (a full table's
	// burst is some twenty batches of 65,536: their slices are not grown
	// anew each time). setIdx and delIdx are the entries of set and del.
	set     []control.KernelRoute
	del     []netip.Prefix
	setIdx  []int32
	delIdx  []int32
	hopBuf  []control.NextHop
	ifIndex map[string]int // a batch's InterfaceIndex answers (the router's lock once a name, not once a route)
	// oneHop are the next hop lists of one next hop given to softnet,
	// shared by the routes through it (bounded: cleared when it grows
	// past oneHopMax).
	oneHop map[control.NextHop][]control.NextHop

	statsMu sync.Mutex
	stats   Stats
}

// New returns a mirror of src into r; Start runs it.
func New(src Source, r Router, o Options) *Mirror {
	if len(o.Tables) == 0 {
		o.Tables = []int{254}
	}
	if o.MaxBatch <= 0 {
		o.MaxBatch = 65536
	}
	return &Mirror{
		src: src, r: r, o: o,
		wake:    make(chan struct{}, 1),
		done:    make(chan struct{}),
		links:   map[int]Link{},
		nhs:     map[uint32]Nexthop{},
		v:       newView(),
		ifIndex: map[string]int{},
		oneHop:  map[control.NextHop][]control.NextHop{},
		ns: nstate{neighs: map[nkey]Neigh{}, haveN: map[nkey]control.KernelNeighbor{}, addrs: map[Addr]bool{},
			haveA: map[int][]netip.Prefix{}, touchN: map[nkey]bool{}},
	}
}

// Start dumps the kernel's tables, applies them (mark and sweep), and
// starts the reader and the applier. The reader is started first, so
// nothing that changes during the dump is lost.
func (m *Mirror) Start() error {
	m.wg.Add(1)
	go m.reader()
	if err := m.resync(); err != nil {
		m.Close()
		return err
	}
	m.wg.Add(1)
	go m.applier()
	return nil
}

// Close stops the mirror. The routes it installed stay.
func (m *Mirror) Close() error {
	if m.closed.Swap(true) {
		return nil
	}
	close(m.done)
	err := m.src.Close()
	m.wg.Wait()
	return err
}

// Stats returns the counters.
func (m *Mirror) Stats() Stats {
	m.statsMu.Lock()
	defer m.statsMu.Unlock()
	return m.stats
}

// reader queues what the source reads, and never waits on the router.
func (m *Mirror) reader() {
	defer m.wg.Done()
	for {
		evs, err := m.src.Read()
		if m.closed.Load() || err == ErrClosed {
			return
		}
		m.mu.Lock()
		if err == ErrOverflow {
			// What is queued is superseded by the dump the applier makes.
			m.queue, m.overflow = nil, true
		} else if err == nil && len(evs) > 0 {
			m.queue = append(m.queue, evs)
		}
		m.mu.Unlock()
		if err != nil && err != ErrOverflow {
			m.setErr("netlink read: " + err.Error())
			time.Sleep(100 * time.Millisecond)
			continue
		}
		m.count(func(s *Stats) {
			s.Events += uint64(len(evs))
			if err == ErrOverflow {
				s.Overflows++
			}
		})
		select {
		case m.wake <- struct{}{}:
		default:
		}
	}
}

// applier applies the queue in batches; after an overflow it resyncs.
func (m *Mirror) applier() {
	defer m.wg.Done()
	var batch, taken [][]Event // reused
	rec, _ := m.src.(Recycler)
	for {
		select {
		case <-m.done:
			return
		case <-m.wake:
		}
		for {
			// The whole queue at once (the reader starts a new one), applied
			// MaxBatch at a time: the queue is not copied down after each
			// batch. Events taken before an overflow that comes meanwhile
			// are applied, and the resync after them supersedes them.
			m.mu.Lock()
			over := m.overflow
			m.overflow = false
			queue := m.queue
			m.queue = nil
			m.mu.Unlock()
			if over {
				if err := m.resync(); err != nil {
					m.setErr("resync: " + err.Error())
				}
			}
			if len(queue) == 0 {
				break
			}
			// A batch is the queued slices themselves (not copied into
			// one), the last one cut at MaxBatch events.
			taken = append(taken[:0], queue...)
			for len(queue) > 0 {
				batch = batch[:0]
				for k := 0; len(queue) > 0 && k < m.o.MaxBatch; {
					n := min(len(queue[0]), m.o.MaxBatch-k)
					batch, k = append(batch, queue[0][:n]), k+n
					if queue[0] = queue[0][n:]; len(queue[0]) == 0 {
						queue = queue[1:]
					}
				}
				m.apply(batch...)
			}
			if rec != nil {
				for _, evs := range taken {
					rec.Recycle(evs)
				}
			}
			clear(taken)
			clear(batch)
		}
	}
}

// resync dumps the kernel and brings softnet to it by mark and sweep:
// the dump replaces the mirror's view of the kernel, then every prefix
// softnet has or the kernel has is compared, and only those that differ
// are changed: routes that did not change are not touched.
func (m *Mirror) resync() error {
	// Nexthop objects before the routes that use them: one made between
	// the two dumps comes as a notification, applied after.
	var nhs []Nexthop
	if d, ok := m.src.(NexthopDumper); ok {
		var err error
		if nhs, err = d.DumpNexthops(); err != nil {
			return err
		}
	}
	links, routes, err := m.src.Dump()
	if err != nil {
		return err
	}
	// Neighbours and addresses after the links they are on.
	var neighs []Neigh
	var addrs []Addr
	nd, dumpNeighs := m.src.(NeighDumper)
	if dumpNeighs {
		if neighs, addrs, err = nd.DumpNeighbors(); err != nil {
			return err
		}
	}
	m.nhs = map[uint32]Nexthop{}
	for _, nh := range nhs {
		m.nhs[nh.ID] = nh
	}
	m.links = map[int]Link{}
	for _, l := range links {
		m.links[l.Index] = l
	}
	m.v.begin()
	for i := range m.v.n { // the dump replaces the view of the kernel
		if e := m.v.at(i); e.kern {
			e.pr, e.kern = prefixRoutes{}, false
		}
	}
	for _, r := range routes {
		if m.wanted(r) {
			m.setRoute(key{r.Prefix, r.Table, r.Metric}, r)
		}
	}
	for i := range m.v.n { // mark (what the kernel has) and sweep (what softnet has)
		if m.v.at(i).live {
			m.v.touch(i)
		}
	}
	if dumpNeighs {
		m.resetNeighs(neighs, addrs)
	}
	m.syncAddrs() // before the routes: a connected route of a new address is shadowed, not installed
	m.sync()
	m.syncNeighs() // after them: a neighbour must be on a subnet of its interface
	m.count(func(s *Stats) { s.Resyncs++; s.Synced = true })
	return nil
}

// oneHopMax bounds Mirror.oneHop: next hops (gateways) are few, even
// with a full table.
const oneHopMax = 4096

// wanted reports whether route r is of a mirrored table and protocol.
func (m *Mirror) wanted(r Route) bool {
	if !slices.Contains(m.o.Tables, r.Table) {
		return false
	}
	if len(m.o.Protocols) > 0 && !slices.Contains(m.o.Protocols, r.Proto) {
		return false
	}
	a := r.Prefix.Addr()
	return !a.IsLinkLocalUnicast() && !a.IsMulticast()
}

// apply applies a batch of notifications (parts, in order) as one change
// to softnet.
func (m *Mirror) apply(parts ...[]Event) {
	m.v.begin()
	for _, evs := range parts {
		m.note(evs)
	}
	m.syncAddrs() // before the routes: a connected route of a new address is shadowed, not installed
	m.sync()
	m.syncNeighs() // after them: a neighbour must be on a subnet of its interface
}

// note takes notifications into the mirror's view of the kernel, the
// prefixes they change touched.
func (m *Mirror) note(evs []Event) {
	for i := range evs {
		if j := i + fib.PrefetchAhead; j < len(evs) && (evs[j].Kind == RouteAdd || evs[j].Kind == RouteDel) {
			m.v.idx.Prefetch(pkeyOf(evs[j].Route.Prefix))
		}
		e := &evs[i]
		switch e.Kind {
		case RouteAdd:
			if !m.wanted(e.Route) {
				continue
			}
			k := key{e.Route.Prefix, e.Route.Table, e.Route.Metric}
			r := e.Route
			if r.Append {
				if old, ok := m.route(k); ok {
					r.Hops = append(slices.Clone(old.Hops), r.Hops...)
				}
			}
			m.v.touch(m.setRoute(k, r))
		case RouteDel:
			k := key{e.Route.Prefix, e.Route.Table, e.Route.Metric}
			old, ok := m.route(k)
			if !ok {
				continue
			}
			// An IPv6 multipath route loses one next hop at a time.
			var i int32
			if rest := withoutHops(old.Hops, e.Route.Hops); len(rest) > 0 && len(e.Route.Hops) > 0 && len(rest) < len(old.Hops) {
				old.Hops = rest
				i = m.setRoute(k, old)
			} else {
				i = m.delRoute(k)
			}
			m.v.touch(i)
		case LinkSet, LinkDel:
			old, had := m.links[e.Link.Index]
			if e.Kind == LinkDel {
				delete(m.links, e.Link.Index)
			} else {
				m.links[e.Link.Index] = e.Link
			}
			if had && e.Kind == LinkSet && old.Up == e.Link.Up && old.Name == e.Link.Name {
				continue
			}
			m.noteLink(e.Link.Index)
			// Next hops on the link come or go at once, whatever the
			// kernel says of its routes (it does not always tell).
			m.v.each(func(i int32, e2 *pent) {
				if e2.pr.any(func(r Route) bool {
					return slices.ContainsFunc(m.hops(r), func(h Hop) bool { return h.Link == e.Link.Index })
				}) {
					m.v.touch(i)
				}
			})
			// A link that goes down takes its nexthop objects with it
			// (the kernel deletes them, and the routes that use them,
			// without a notification); a daemon adds them again.
			if e.Kind == LinkDel || !e.Link.Up {
				for id, nh := range m.nhs {
					if nh.Group == nil && !nh.Blackhole && nh.Link == e.Link.Index {
						m.delNexthop(id)
					}
				}
			}
		case NexthopSet:
			m.nhs[e.Nexthop.ID] = e.Nexthop
			m.touchNexthop(e.Nexthop.ID)
		case NexthopDel:
			m.delNexthop(e.Nexthop.ID)
		case NeighSet, NeighDel, AddrSet, AddrDel:
			m.noteNeigh(*e)
		}
	}
}

// prefixRoutes are the kernel's routes to one prefix (of its tables,
// with its metrics): one, the common case, stored in place, and the
// others.
type prefixRoutes struct {
	one  Route
	more []Route
}

// any reports whether f is true of one of the routes.
func (e prefixRoutes) any(f func(Route) bool) bool {
	return f(e.one) || slices.ContainsFunc(e.more, f)
}

func keyOf(r Route) key { return key{r.Prefix, r.Table, r.Metric} }

// route returns the kernel route of key k.
func (m *Mirror) route(k key) (Route, bool) {
	_, x := m.v.find(k.p)
	if x == nil || !x.kern {
		return Route{}, false
	}
	e := x.pr
	if keyOf(e.one) == k {
		return e.one, true
	}
	if i := slices.IndexFunc(e.more, func(r Route) bool { return keyOf(r) == k }); i >= 0 {
		return e.more[i], true
	}
	return Route{}, false
}

// setRoute sets the kernel route of key k (r's own) and returns the
// prefix's entry.
func (m *Mirror) setRoute(k key, r Route) int32 {
	i, x := m.v.get(k.p)
	e, ok := x.pr, x.kern
	switch {
	case !ok || keyOf(e.one) == k:
		e.one = r
	default:
		if i := slices.IndexFunc(e.more, func(x Route) bool { return keyOf(x) == k }); i >= 0 {
			e.more[i] = r
		} else {
			e.more = append(e.more, r)
		}
	}
	x.pr, x.kern = e, true
	return i
}

// delRoute deletes the kernel route of key k and returns the prefix's
// entry (-1: none). The entry stays until sync (softnet may have the
// route yet).
func (m *Mirror) delRoute(k key) int32 {
	i, x := m.v.find(k.p)
	if x == nil || !x.kern {
		return -1
	}
	e := x.pr
	if keyOf(e.one) == k {
		if len(e.more) == 0 {
			x.pr, x.kern = prefixRoutes{}, false
			return i
		}
		e.one, e.more = e.more[0], slices.Clone(e.more[1:])
	} else {
		j := slices.IndexFunc(e.more, func(x Route) bool { return keyOf(x) == k })
		if j < 0 {
			return i
		}
		e.more = slices.Delete(slices.Clone(e.more), j, j+1)
	}
	if len(e.more) == 0 {
		e.more = nil
	}
	x.pr = e
	return i
}

// touchNexthop marks the routes that use nexthop object id, directly or
// through a group.
func (m *Mirror) touchNexthop(id uint32) {
	m.v.each(func(i int32, e *pent) {
		if e.pr.any(func(r Route) bool {
			return r.NH != 0 && (r.NH == id || slices.ContainsFunc(m.nhs[r.NH].Group, func(g NexthopMember) bool { return g.ID == id }))
		}) {
			m.v.touch(i)
		}
	})
}

// delNexthop deletes nexthop object id as the kernel does: the routes
// that use it are deleted, it leaves the groups it is in, and a group
// left empty is deleted in turn.
func (m *Mirror) delNexthop(id uint32) {
	if _, ok := m.nhs[id]; !ok {
		return
	}
	m.touchNexthop(id)
	delete(m.nhs, id)
	var gone []key
	m.v.each(func(_ int32, x *pent) {
		e := x.pr
		if e.one.NH == id {
			gone = append(gone, keyOf(e.one))
		}
		for _, r := range e.more {
			if r.NH == id {
				gone = append(gone, keyOf(r))
			}
		}
	})
	for _, k := range gone {
		m.delRoute(k)
	}
	for gid, g := range m.nhs {
		if !slices.ContainsFunc(g.Group, func(x NexthopMember) bool { return x.ID == id }) {
			continue
		}
		g.Group = slices.DeleteFunc(slices.Clone(g.Group), func(x NexthopMember) bool { return x.ID == id })
		m.nhs[gid] = g
		if len(g.Group) == 0 {
			m.delNexthop(gid)
		}
	}
}

// hops are route r's next hops: its nexthop object's when it uses one
// the mirror knows, else those of the route's message.
func (m *Mirror) hops(r Route) []Hop {
	nh, ok := m.nhs[r.NH]
	if r.NH == 0 || !ok {
		return r.Hops
	}
	if nh.Group == nil {
		if nh.Blackhole {
			return nil
		}
		return []Hop{{Link: nh.Link, Via: nh.Via, Weight: 1, Dead: nh.Dead}}
	}
	hs := make([]Hop, 0, len(nh.Group))
	for _, g := range nh.Group {
		if x, ok := m.nhs[g.ID]; ok && x.Group == nil && !x.Blackhole {
			hs = append(hs, Hop{Link: x.Link, Via: x.Via, Weight: g.Weight, Dead: x.Dead})
		}
	}
	return hs
}

// withoutHops returns hs less the next hops in del (same link and gateway).
func withoutHops(hs, del []Hop) []Hop {
	var out []Hop
	for _, h := range hs {
		if !slices.ContainsFunc(del, func(d Hop) bool { return d.Link == h.Link && d.Via == h.Via }) {
			out = append(out, h)
		}
	}
	return out
}

// sync makes softnet's routes to the touched prefixes what the kernel's
// are, in one ApplyKernel (one snapshot).
func (m *Mirror) sync() {
	touched := m.v.tl
	if len(touched) == 0 {
		return
	}
	set, del, setIdx, delIdx := m.set[:0], m.del[:0], m.setIdx[:0], m.delIdx[:0]
	clear(m.ifIndex)
	if len(m.oneHop) > oneHopMax {
		clear(m.oneHop)
	}
	defer func() {
		clear(set) // their next hops, for the collector
		m.set, m.del, m.setIdx, m.delIdx = set[:0], del[:0], setIdx[:0], delIdx[:0]
		for _, i := range touched { // entries left with nothing go
			m.v.release(i)
		}
		m.v.tl = touched[:0]
	}()
	for _, i := range touched {
		x := m.v.at(i)
		// The best of the prefix's routes (tables, metrics).
		e, ok := x.pr, x.kern
		r := e.one
		for _, y := range e.more {
			if y.Metric < r.Metric || (y.Metric == r.Metric && y.Table < r.Table) {
				r = y
			}
		}
		var kr control.KernelRoute
		if ok {
			kr, ok = m.convert(r)
		}
		switch {
		case ok && x.gave(kr):
			// unchanged: not touched
		case ok:
			set, setIdx = append(set, kr), append(setIdx, i)
		case x.given:
			del, delIdx = append(del, x.p.Masked()), append(delIdx, i)
		}
	}
	if len(set) == 0 && len(del) == 0 {
		return
	}
	res := m.r.ApplyKernel(set, del)
	for j, i := range setIdx {
		x := m.v.at(i)
		if !x.given {
			m.v.given++
		}
		x.proto, x.hops, x.given = set[j].Proto, set[j].NextHops, true
	}
	for _, i := range delIdx {
		x := m.v.at(i)
		x.proto, x.hops, x.given = "", nil, false
		m.v.given--
	}
	for _, e := range res.Errors {
		m.logf("linux_cp: route %s refused", e)
	}
	m.count(func(s *Stats) {
		s.Batches++
		s.Added += uint64(res.Added)
		s.Changed += uint64(res.Changed)
		s.Deleted += uint64(res.Deleted)
		s.Refused += uint64(len(res.Errors))
		s.Routes = m.v.given
		if len(res.Errors) > 0 {
			s.LastError = "route " + res.Errors[len(res.Errors)-1]
		}
	})
}

// convert turns a kernel route into softnet's: next hops on links that
// are down, dead or not mirrored are left out; a unicast route with none
// left is not mirrored (ok false).
func (m *Mirror) convert(r Route) (control.KernelRoute, bool) {
	kr := control.KernelRoute{Prefix: r.Prefix.Masked(), Proto: ProtoName(r.Proto)}
	if nh, ok := m.nhs[r.NH]; r.Blackhole || (r.NH != 0 && ok && nh.Blackhole) {
		return kr, true
	}
	hs := m.hopBuf[:0]
	for _, h := range m.hops(r) {
		l, ok := m.links[h.Link]
		if !ok || !l.Up || h.Dead {
			continue
		}
		name := l.Name
		if n, ok := m.o.Names[name]; ok {
			name = n // a host interface with a name of its own
		}
		if len(m.o.Interfaces) > 0 && !slices.Contains(m.o.Interfaces, name) {
			continue
		}
		i, ok := m.ifIndex[name]
		if !ok {
			i = m.r.InterfaceIndex(name)
			m.ifIndex[name] = i
		}
		if i < 0 {
			continue
		}
		hs = append(hs, control.NextHop{Iface: i, Via: h.Via, Weight: max(h.Weight, 1)})
	}
	m.hopBuf = hs[:0]
	switch len(hs) {
	case 0:
		return kr, false
	case 1:
		// Shared by every route through the same next hop (nobody
		// writes to a route's next hops): a full table's routes mostly
		// have a handful of next hops among them.
		one, ok := m.oneHop[hs[0]]
		if !ok {
			one = []control.NextHop{hs[0]}
			m.oneHop[hs[0]] = one
		}
		kr.NextHops = one
	default:
		kr.NextHops = slices.Clone(hs)
	}
	return kr, true
}

// ProtoName names a route protocol (RTPROT_*, iproute2's
// /etc/iproute2/rt_protos names); RTPROT_STATIC is kernel-static, so as
// not to be taken for softnet's configured routes.
func ProtoName(p int) string {
	switch p {
	case 1:
		return "redirect"
	case 2:
		return "kernel"
	case 3:
		return "boot"
	case 4:
		return "kernel-static"
	case 11:
		return "zebra"
	case 12:
		return "bird"
	case 16:
		return "dhcp"
	case 9:
		return "ra"
	case 42:
		return "babel"
	case 186:
		return "bgp"
	case 187:
		return "isis"
	case 188:
		return "ospf"
	case 189:
		return "rip"
	case 192:
		return "eigrp"
	}
	return strconv.Itoa(p)
}

// ProtoNumber is ProtoName's inverse (a number is accepted as is); ok
// false for an unknown name.
func ProtoNumber(s string) (int, bool) {
	for p := range 256 {
		if ProtoName(p) == s {
			return p, true
		}
	}
	if s == "static" {
		return 4, true
	}
	return 0, false
}

func (m *Mirror) count(f func(*Stats)) {
	m.statsMu.Lock()
	f(&m.stats)
	m.statsMu.Unlock()
}

func (m *Mirror) setErr(s string) {
	m.count(func(st *Stats) { st.LastError = s })
	m.logf("linux_cp: %s", s)
}

func (m *Mirror) logf(format string, args ...any) {
	if m.o.Log != nil {
		m.o.Log(format, args...)
	}
}
