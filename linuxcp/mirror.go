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
)

// Event is one netlink notification.
type Event struct {
	Kind  EventKind
	Route Route
	Link  Link
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
	Refused   uint64 `json:"refused"` // routes softnet refused (LastError says why)
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
	queue    []Event
	overflow bool
	wake     chan struct{}
	done     chan struct{}
	wg       sync.WaitGroup
	closed   atomic.Bool

	// The applier's own (no lock: one goroutine).
	links  map[int]Link
	routes map[key]Route                        // the kernel's routes of the mirrored tables
	have   map[netip.Prefix]control.KernelRoute // what softnet was given

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
		wake:   make(chan struct{}, 1),
		done:   make(chan struct{}),
		links:  map[int]Link{},
		routes: map[key]Route{},
		have:   map[netip.Prefix]control.KernelRoute{},
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
			m.queue, m.overflow = m.queue[:0], true
		} else if err == nil {
			m.queue = append(m.queue, evs...)
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
	for {
		select {
		case <-m.done:
			return
		case <-m.wake:
		}
		for {
			m.mu.Lock()
			over := m.overflow
			m.overflow = false
			n := min(len(m.queue), m.o.MaxBatch)
			batch := slices.Clone(m.queue[:n])
			m.queue = append(m.queue[:0], m.queue[n:]...)
			m.mu.Unlock()
			if over {
				if err := m.resync(); err != nil {
					m.setErr("resync: " + err.Error())
				}
			}
			if len(batch) == 0 {
				break
			}
			m.apply(batch)
		}
	}
}

// resync dumps the kernel and brings softnet to it by mark and sweep:
// the dump replaces the mirror's view of the kernel, then every prefix
// softnet has or the kernel has is compared, and only those that differ
// are changed: routes that did not change are not touched.
func (m *Mirror) resync() error {
	links, routes, err := m.src.Dump()
	if err != nil {
		return err
	}
	m.links = map[int]Link{}
	for _, l := range links {
		m.links[l.Index] = l
	}
	m.routes = map[key]Route{}
	for _, r := range routes {
		if m.wanted(r) {
			m.routes[key{r.Prefix, r.Table, r.Metric}] = r
		}
	}
	touched := map[netip.Prefix]bool{}
	for p := range m.have { // sweep: what softnet has and the kernel no longer does
		touched[p] = true
	}
	for k := range m.routes { // mark
		touched[k.p] = true
	}
	m.sync(touched)
	m.count(func(s *Stats) { s.Resyncs++; s.Synced = true })
	return nil
}

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

// apply applies a batch of notifications as one change to softnet.
func (m *Mirror) apply(evs []Event) {
	touched := map[netip.Prefix]bool{}
	for _, e := range evs {
		switch e.Kind {
		case RouteAdd:
			if !m.wanted(e.Route) {
				continue
			}
			k := key{e.Route.Prefix, e.Route.Table, e.Route.Metric}
			r := e.Route
			if old, ok := m.routes[k]; ok && r.Append {
				r.Hops = append(slices.Clone(old.Hops), r.Hops...)
			}
			m.routes[k] = r
			touched[k.p] = true
		case RouteDel:
			k := key{e.Route.Prefix, e.Route.Table, e.Route.Metric}
			old, ok := m.routes[k]
			if !ok {
				continue
			}
			// An IPv6 multipath route loses one next hop at a time.
			if rest := withoutHops(old.Hops, e.Route.Hops); len(rest) > 0 && len(e.Route.Hops) > 0 && len(rest) < len(old.Hops) {
				old.Hops = rest
				m.routes[k] = old
			} else {
				delete(m.routes, k)
			}
			touched[k.p] = true
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
			// Next hops on the link come or go at once, whatever the
			// kernel says of its routes (it does not always tell).
			for k, r := range m.routes {
				for _, h := range r.Hops {
					if h.Link == e.Link.Index {
						touched[k.p] = true
						break
					}
				}
			}
		}
	}
	m.sync(touched)
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
func (m *Mirror) sync(touched map[netip.Prefix]bool) {
	if len(touched) == 0 {
		return
	}
	best := map[netip.Prefix]Route{}
	for k, r := range m.routes {
		if !touched[k.p] {
			continue
		}
		if b, ok := best[k.p]; !ok || r.Metric < b.Metric || (r.Metric == b.Metric && r.Table < b.Table) {
			best[k.p] = r
		}
	}
	var set []control.KernelRoute
	var del []netip.Prefix
	for p := range touched {
		r, ok := best[p]
		var kr control.KernelRoute
		if ok {
			kr, ok = m.convert(r)
		}
		old, had := m.have[p]
		switch {
		case ok && had && old.Equal(kr):
			// unchanged: not touched
		case ok:
			set = append(set, kr)
		case had:
			del = append(del, p)
		}
	}
	if len(set) == 0 && len(del) == 0 {
		return
	}
	res := m.r.ApplyKernel(set, del)
	for _, kr := range set {
		m.have[kr.Prefix] = kr
	}
	for _, p := range del {
		delete(m.have, p)
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
		s.Routes = len(m.have)
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
	if r.Blackhole {
		return kr, true
	}
	for _, h := range r.Hops {
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
		i := m.r.InterfaceIndex(name)
		if i < 0 {
			continue
		}
		kr.NextHops = append(kr.NextHops, control.NextHop{Iface: i, Via: h.Via, Weight: max(h.Weight, 1)})
	}
	return kr, len(kr.NextHops) > 0
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
