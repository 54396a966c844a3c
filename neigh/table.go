package neigh

import (
	"fmt"
	"net/netip"
	"slices"
	"time"
)

// State is a neighbour entry's state.
type State uint8

const (
	// Incomplete: an ARP request was sent, no answer yet; packets queue.
	Incomplete State = iota
	// Reachable: confirmed within ReachableTime.
	Reachable
	// Stale: not confirmed for ReachableTime; still used, being probed.
	Stale
	// Failed: no answer after MaxProbes requests; packets to it get ICMP
	// host unreachable until the entry is removed after FailedTime.
	Failed
	// Static: configured; never ages.
	Static
	// Delay and Probing ("probe") are IPv6's (RFC 4861 §7.3.2): a Stale IPv6 entry
	// goes to Delay at the next ageing pass (RFC 4861 moves it on the
	// first packet sent to it; the data plane reports no packets, so an
	// entry still routed to is taken as used), waits DelayTime for a
	// confirmation, then goes to Probing: unicast solicitations every
	// RetransTime, MaxProbes of them, then the entry is removed. Both
	// still forward. An IPv4 (ARP) entry goes from Stale to probing at
	// once, as before.
	Delay
	Probing // "probe"
	// Kernel: mirrored from a Linux kernel's neighbour table (package
	// linuxcp, ip neigh): the kernel resolves and ages it and says when
	// it changes or goes (Entry.KernelState is the kernel's NUD state).
	// It never ages here, and ARP and Neighbor Discovery do not change
	// it (like Static); a Static entry replaces it (SetKernel does not
	// replace a Static one).
	Kernel
)

var stateNames = [...]string{"incomplete", "reachable", "stale", "failed", "static", "delay", "probe", "kernel"}

func (s State) String() string {
	if int(s) < len(stateNames) {
		return stateNames[s]
	}
	return "unknown"
}

// Key identifies a neighbour: an interface and an IPv4 or IPv6 address.
// An IPv4 address is a 4-byte one (netip.Addr.Is4), never IPv4-mapped
// (::ffff:a.b.c.d), so that one neighbour has one key (dp.Msg.IP unmaps).
type Key struct {
	Iface int
	Addr  netip.Addr
}

// Entry is one neighbour.
type Entry struct {
	Key
	MAC     [6]byte
	State   State
	Updated time.Time // last confirmation, or when the state last changed
	Probes  int       // requests sent in the current Incomplete/Stale period
	Sent    time.Time // when the last request was sent
	Pending [][]byte  // packets waiting for resolution, oldest first
	Dropped uint64    // packets dropped because the queue was full
	// KernelState is a Kernel entry's state in the kernel (permanent,
	// noarp, reachable, stale, delay, probe); empty for others.
	KernelState string
}

// Source says where an entry came from: static (configured), kernel
// (mirrored from Linux, State Kernel) or learned (ARP, Neighbor
// Discovery).
func (e *Entry) Source() string {
	switch e.State {
	case Static:
		return "static"
	case Kernel:
		return "kernel"
	}
	return "learned"
}

// Options are the table's timers and limits (zero means the default).
type Options struct {
	MaxPending    int           // packets queued per neighbour (default 4)
	ReachableTime time.Duration // default 30 s
	RetransTime   time.Duration // between requests, default 1 s
	MaxProbes     int           // requests before Failed, default 3
	FailedTime    time.Duration // how long a Failed entry stays, default 5 s
	DelayTime     time.Duration // IPv6 Delay before probing (RFC 4861 DELAY_FIRST_PROBE_TIME), default 5 s
	MaxEntries    int           // default 16384 (each entry takes an adjacency; fib.MaxNextHop is 32767)
}

// Table is the neighbour table.
type Table struct {
	o       Options
	entries map[Key]*Entry
	// next is at or before the earliest timer of any entry (see Next);
	// timed says whether there is one.
	next  time.Time
	timed bool
}

// New returns an empty table.
func New(o Options) *Table {
	if o.MaxPending == 0 {
		o.MaxPending = 4
	}
	if o.ReachableTime == 0 {
		o.ReachableTime = 30 * time.Second
	}
	if o.RetransTime == 0 {
		o.RetransTime = time.Second
	}
	if o.MaxProbes == 0 {
		o.MaxProbes = 3
	}
	if o.FailedTime == 0 {
		o.FailedTime = 5 * time.Second
	}
	if o.DelayTime == 0 {
		o.DelayTime = 5 * time.Second
	}
	if o.MaxEntries == 0 {
		o.MaxEntries = 16384
	}
	return &Table{o: o, entries: make(map[Key]*Entry)}
}

// Options returns the table's effective options.
func (t *Table) Options() Options { return t.o }

// Get returns the entry for k, or nil.
func (t *Table) Get(k Key) *Entry { return t.entries[k] }

// Len is the number of entries.
func (t *Table) Len() int { return len(t.entries) }

// Held is the number of packets waiting for resolution, over all entries.
func (t *Table) Held() int {
	n := 0
	for _, e := range t.entries {
		n += len(e.Pending)
	}
	return n
}

// All returns the entries sorted by interface and address.
func (t *Table) All() []*Entry {
	out := make([]*Entry, 0, len(t.entries))
	for _, e := range t.entries {
		out = append(out, e)
	}
	slices.SortFunc(out, func(a, b *Entry) int {
		if a.Iface != b.Iface {
			return a.Iface - b.Iface
		}
		return a.Addr.Compare(b.Addr)
	})
	return out
}

// AddStatic adds or replaces a static entry. Queued packets of a previous
// dynamic entry are returned for sending.
func (t *Table) AddStatic(k Key, mac [6]byte, now time.Time) (pending [][]byte, err error) {
	if !k.Addr.IsValid() {
		return nil, fmt.Errorf("neighbor: no address: give the neighbour's IPv4 or IPv6 address")
	}
	if k.Addr.Is4In6() {
		return nil, fmt.Errorf("neighbor %v: an IPv4-mapped address: give the IPv4 address itself (%v)", k.Addr, k.Addr.Unmap())
	}
	e := t.entries[k]
	if e == nil {
		if len(t.entries) >= t.o.MaxEntries {
			return nil, fmt.Errorf("neighbor table full (%d entries): remove entries or raise the limit", t.o.MaxEntries)
		}
		e = &Entry{Key: k}
		t.entries[k] = e
	}
	pending, e.Pending = e.Pending, nil
	e.MAC, e.State, e.Updated, e.Probes, e.KernelState = mac, Static, now, 0, ""
	return pending, nil
}

// SetKernel adds or replaces a Kernel entry (a neighbour of a mirrored
// Linux kernel, in the kernel's state kstate) unless k is Static: then
// it changes nothing and static is true (configured entries win). A
// learned entry becomes the kernel's; the packets that waited for it are
// returned for sending.
func (t *Table) SetKernel(k Key, mac [6]byte, kstate string, now time.Time) (pending [][]byte, static bool, err error) {
	if e := t.entries[k]; e != nil && e.State == Static {
		return nil, true, nil
	}
	if !k.Addr.IsValid() || k.Addr.Is4In6() {
		return nil, false, fmt.Errorf("neighbor %v: not an IPv4 or IPv6 address", k.Addr)
	}
	e := t.entries[k]
	if e == nil {
		if len(t.entries) >= t.o.MaxEntries {
			return nil, false, fmt.Errorf("neighbor table full (%d entries): remove entries or raise the limit", t.o.MaxEntries)
		}
		e = &Entry{Key: k}
		t.entries[k] = e
	}
	if e.State != Kernel || e.MAC != mac || e.KernelState != kstate {
		e.Updated = now
	}
	pending, e.Pending = e.Pending, nil
	e.MAC, e.State, e.Probes, e.KernelState = mac, Kernel, 0, kstate
	return pending, false, nil
}

// Delete removes an entry and reports whether it existed.
func (t *Table) Delete(k Key) bool {
	_, ok := t.entries[k]
	delete(t.entries, k)
	return ok
}

// Learn records that k is at mac (an ARP request or reply from it).
// create says whether to add an entry that does not exist (RFC 826: add
// the sender when we are the target; only update otherwise). It returns
// the entry (nil if none), whether its MAC or usability changed (the
// caller must republish its adjacency), and the packets that were waiting
// for it, to send now.
func (t *Table) Learn(k Key, mac [6]byte, create bool, now time.Time) (e *Entry, changed bool, pending [][]byte) {
	return t.Confirm(k, mac, Reachable, create, now)
}

// Confirm is Learn into state st: Reachable (a confirmation: an ARP
// packet, a solicited Neighbor Advertisement) or Stale (RFC 4861 §7.2.3,
// §7.2.5: a MAC learnt from a solicitation or an unsolicited
// advertisement, not a proof of reachability).
func (t *Table) Confirm(k Key, mac [6]byte, st State, create bool, now time.Time) (e *Entry, changed bool, pending [][]byte) {
	e = t.entries[k]
	if e == nil {
		if !create || len(t.entries) >= t.o.MaxEntries {
			return nil, false, nil
		}
		e = &Entry{Key: k}
		t.entries[k] = e
		changed = true
	}
	if e.State == Static || e.State == Kernel {
		return e, false, nil
	}
	if e.MAC != mac || e.State == Incomplete || e.State == Failed {
		changed = true
	}
	e.MAC, e.State, e.Updated, e.Probes, e.Sent = mac, st, now, 0, now
	if at, ok := t.deadline(e); ok {
		t.lower(at)
	}
	pending, e.Pending = e.Pending, nil
	return e, changed, pending
}

// Queue holds frame (copied) until k resolves, creating an Incomplete
// entry if there is none. It returns the entry, whether the entry was
// created (the caller installs its adjacency), whether an ARP request must
// be sent now, and whether the frame was queued (false: the entry is
// usable or failed, or the table is full; the caller decides). When the
// queue is full the oldest packet is dropped, as Linux does.
func (t *Table) Queue(k Key, frame []byte, now time.Time) (e *Entry, created, request, queued bool) {
	e = t.entries[k]
	if e == nil {
		if len(t.entries) >= t.o.MaxEntries {
			return nil, false, false, false
		}
		e = &Entry{Key: k, State: Incomplete, Updated: now}
		t.entries[k] = e
		created = true
	}
	if e.State != Incomplete {
		return e, created, false, false
	}
	if len(e.Pending) >= t.o.MaxPending {
		e.Pending = e.Pending[1:]
		e.Dropped++
	}
	e.Pending = append(e.Pending, append([]byte(nil), frame...))
	if e.Probes == 0 {
		e.Probes, e.Sent, request = 1, now, true
		t.lower(now.Add(t.o.RetransTime))
	}
	return e, created, request, true
}

// Next returns when Age next has something to do, or false if no entry
// has a timer (no entries, or static ones only): a time at or before the
// earliest deadline (an Incomplete or Stale entry's next request after
// RetransTime, a Reachable one going Stale after ReachableTime, a Failed
// one's removal after FailedTime). It may be early, never late: an entry
// confirmed, made static or deleted since the last Age keeps its old
// deadline here, and Age at that time does nothing for it but computes
// the next deadline afresh. It costs nothing (Age computes it; Learn and
// Queue bring it forward), so a caller can sleep until it instead of
// calling Age on a period.
func (t *Table) Next() (time.Time, bool) { return t.next, t.timed }

// lower brings Next forward to at if at is earlier.
func (t *Table) lower(at time.Time) {
	if !t.timed || at.Before(t.next) {
		t.next, t.timed = at, true
	}
}

// deadline is when Age next acts on e, or false for a static entry.
func (t *Table) deadline(e *Entry) (time.Time, bool) {
	switch e.State {
	case Reachable:
		return e.Updated.Add(t.o.ReachableTime), true
	case Stale, Incomplete:
		if e.State == Stale && e.Addr.Is6() {
			return e.Updated, true // to Delay at the next pass
		}
		return e.Sent.Add(t.o.RetransTime), true
	case Delay:
		return e.Updated.Add(t.o.DelayTime), true
	case Probing:
		return e.Sent.Add(t.o.RetransTime), true
	case Failed:
		return e.Updated.Add(t.o.FailedTime), true
	}
	return time.Time{}, false
}

// ActionKind is what Age asks the caller to do.
type ActionKind uint8

const (
	// Request: send an ARP request for the entry (broadcast).
	Request ActionKind = iota
	// Probe: send a unicast ARP request to the entry's MAC (Stale).
	Probe
	// Fail: the entry did not answer; its adjacency becomes unreachable
	// and the packets that waited (returned in the action, Pending is
	// cleared) are the caller's: softnet answers each with ICMP host
	// unreachable.
	Fail
	// Remove: the entry is gone; withdraw its adjacency.
	Remove
)

// Action is one thing Age asks the caller to do.
type Action struct {
	Kind    ActionKind
	Entry   *Entry
	Dropped [][]byte // with Fail: the packets that waited in vain
}

// Age advances every entry's timers to now and returns the actions due,
// and computes Next afresh.
func (t *Table) Age(now time.Time) []Action {
	var out []Action
	for k, e := range t.entries {
		if e.Addr.Is6() {
			// RFC 4861 §7.3.3's Reachable, Stale, Delay, Probe.
			switch e.State {
			case Reachable:
				if now.Sub(e.Updated) >= t.o.ReachableTime {
					e.State, e.Updated = Stale, now
				}
				continue
			case Stale:
				e.State, e.Updated = Delay, now
				continue
			case Delay:
				if now.Sub(e.Updated) >= t.o.DelayTime {
					e.State, e.Updated, e.Probes, e.Sent = Probing, now, 1, now
					out = append(out, Action{Kind: Probe, Entry: e})
				}
				continue
			case Probing:
				if now.Sub(e.Sent) < t.o.RetransTime {
					continue
				}
				if e.Probes >= t.o.MaxProbes {
					delete(t.entries, k)
					out = append(out, Action{Kind: Remove, Entry: e})
					continue
				}
				e.Probes++
				e.Sent = now
				out = append(out, Action{Kind: Probe, Entry: e})
				continue
			}
		}
		switch e.State {
		case Reachable:
			if now.Sub(e.Updated) >= t.o.ReachableTime {
				e.State, e.Updated, e.Probes, e.Sent = Stale, now, 1, now
				out = append(out, Action{Kind: Probe, Entry: e})
			}
		case Stale, Incomplete:
			if now.Sub(e.Sent) < t.o.RetransTime {
				continue
			}
			if e.Probes >= t.o.MaxProbes {
				if e.State == Stale {
					delete(t.entries, k)
					out = append(out, Action{Kind: Remove, Entry: e})
					continue
				}
				dropped := e.Pending
				e.Pending, e.State, e.Updated = nil, Failed, now
				out = append(out, Action{Kind: Fail, Entry: e, Dropped: dropped})
				continue
			}
			e.Probes++
			e.Sent = now
			kind := Request
			if e.State == Stale {
				kind = Probe
			}
			out = append(out, Action{Kind: kind, Entry: e})
		case Failed:
			if now.Sub(e.Updated) >= t.o.FailedTime {
				delete(t.entries, k)
				out = append(out, Action{Kind: Remove, Entry: e})
			}
		}
	}
	t.timed = false
	for _, e := range t.entries {
		if at, ok := t.deadline(e); ok {
			t.lower(at)
		}
	}
	return out
}
