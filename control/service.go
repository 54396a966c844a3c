package control

import (
	"sync"
	"time"

	"github.com/softnet/softnet/dp"
	"github.com/softnet/softnet/neigh"
)

// outMsg is a message for a worker's inject ring, sent after the publish
// it may depend on (Service). A nil w means any worker (round robin).
type outMsg struct {
	w     *dp.Worker
	kind  dp.MsgKind
	iface uint16
	frame []byte
}

// Service does the control plane's pending work: the workers' punts, the
// neighbour timers, publishing, and messages to the workers. It returns
// whether there was anything to do. Run calls it in a loop; tests call it
// directly.
func (r *Router) Service() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	now := r.o.Now()
	did := false
	for _, w := range r.workers {
		ring := w.Punt()
		for i := 0; i < 1024; i++ {
			m := ring.Peek()
			if m == nil {
				break
			}
			r.handlePunt(w, m, now)
			ring.Release()
			r.stats.PuntsHandled++
			did = true
		}
	}
	if now.Sub(r.lastAge) >= agePeriod || now.Before(r.lastAge) {
		r.lastAge = now
		for _, act := range r.neigh.Age(now) {
			r.handleAge(act)
			did = true
		}
	}
	if r.periodicRAs(now) {
		did = true
	}
	if r.replacing {
		// A replace let go of the lock midway: publishing waits for its
		// end, and so do the messages, which may depend on a publish.
		return did
	}
	if r.dirty {
		r.publish()
		did = true
	}
	// Messages go out after the publish they may depend on.
	for _, m := range r.outbox {
		r.send(m)
	}
	if len(r.outbox) > 0 {
		did = true
		clear(r.outbox)
		r.outbox = r.outbox[:0]
	}
	return did
}

// agePeriod is the shortest time between two ageing passes (Service
// calls neigh.Table.Age at most this often): the granularity of the
// neighbour timers, and the most the service loop wakes for them.
const agePeriod = 100 * time.Millisecond

// Run serves until stop is closed. It sleeps until there is work, without
// a ticker: a worker punted (a punt ring rings r.bell once per poll that
// punted, dp.Ring.Notify), an API call left a snapshot to publish, messages
// to send or an earlier neighbour timer (serviceMu), a neighbour timer is
// due (nextTimer), or stop. An idle router with no neighbour timers does
// not wake at all.
func (r *Router) Run(stop <-chan struct{}) {
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	defer timer.Stop()
	for {
		for r.Service() {
		}
		r.bell.Sleep()
		d, wait := r.idle()
		if !wait {
			r.bell.Awake()
			continue
		}
		if d > 0 {
			timer.Reset(d)
		}
		select {
		case <-stop:
			r.bell.Awake()
			return
		case <-r.bell.C():
		case <-timer.C:
		}
		timer.Stop() // Go 1.23 timers: no stale tick after Stop
		r.bell.Awake()
		r.wakes.Add(1)
	}
}

// idle is called by Run after r.bell.Sleep: whether the loop may wait (no
// punt waiting, nothing to publish or send: a producer that came before
// Sleep is seen here, one after it rings the bell), and for how long (0:
// until rung). It records the timer in r.wakeAt for serviceMu.
func (r *Router) idle() (time.Duration, bool) {
	r.mu.Lock()
	defer r.mu.Mutex.Unlock() // not r.mu.Unlock: the loop does not ring itself
	r.wakeAt = time.Time{}
	if (r.dirty || len(r.outbox) > 0) && !r.replacing {
		return 0, false
	}
	for _, w := range r.workers {
		if w.Punt().Len() > 0 {
			return 0, false
		}
	}
	at, ok := r.nextTimer()
	if !ok {
		return 0, true
	}
	r.wakeAt = at
	// At least 1 ms: a timer due now waits that long rather than let a
	// clock that stands still (a test's) make the loop spin.
	return max(at.Sub(r.o.Now()), time.Millisecond), true
}

// nextTimer is when Service next has timer work: the neighbour table's
// next deadline, no earlier than agePeriod after the last ageing pass.
// False: no timer (no neighbours, or static ones only). Caller holds mu.
func (r *Router) nextTimer() (time.Time, bool) {
	at, ok := r.neigh.Next()
	if len(r.workers) > 0 && r.raOn() && (!ok || r.raNext.Before(at)) {
		at, ok = r.raNext, true // periodic Router Advertisements
	}
	if !ok {
		return time.Time{}, false
	}
	if first := r.lastAge.Add(agePeriod); at.Before(first) {
		at = first
	}
	return at, true
}

// serviceMu is the router's mutex. Its Unlock wakes the service loop if
// the holder left it work: an API call that changed state leaves the
// publish (and any messages to the workers) to the loop, and may have
// started a neighbour timer earlier than the one the loop sleeps until.
// While the loop is awake that costs one atomic load (dp.Bell.Ring).
type serviceMu struct {
	sync.Mutex
	r *Router
}

// Unlock unlocks, then rings the service loop's bell if work was left.
func (m *serviceMu) Unlock() {
	r := m.r
	ring := r != nil && r.workLeft()
	m.Mutex.Unlock()
	if ring {
		r.bell.Ring()
	}
}

// workLeft reports whether the service loop has work the holder of mu
// left it (see serviceMu). Caller holds mu.
func (r *Router) workLeft() bool {
	if (r.dirty || len(r.outbox) > 0) && !r.replacing {
		return true
	}
	at, ok := r.nextTimer()
	return ok && (r.wakeAt.IsZero() || at.Before(r.wakeAt))
}

// send puts m in its worker's inject ring, counting it lost when the
// ring is full (the router never waits for a worker).
func (r *Router) send(m outMsg) {
	w := m.w
	if w == nil {
		if len(r.workers) == 0 {
			return
		}
		w = r.workers[r.rr%len(r.workers)]
		r.rr++
	}
	slot := w.Inject().Reserve()
	if slot == nil {
		r.stats.InjectFull++
		if m.kind == dp.InjectLookup || m.kind == dp.InjectLookup6 {
			r.stats.Drops[DropInjectFull]++ // a packet; else an ARP request
		}
		return
	}
	slot.Kind, slot.Iface, slot.Addr = m.kind, m.iface, [16]byte{}
	slot.SetFrame(m.frame)
	w.Inject().Commit()
}

// handlePunt serves one message from worker w's punt ring: ARP to learn
// from (arp.go) or a packet waiting for resolution (neighbor.go).
func (r *Router) handlePunt(w *dp.Worker, m *dp.Msg, now time.Time) {
	if int(m.Iface) >= len(r.ifaces) || r.ifaces[m.Iface].Deleted {
		if m.Kind == dp.PuntResolve {
			r.stats.Drops[DropIfaceGone]++
		}
		return // a late punt from before a VLAN was deleted
	}
	switch m.Kind {
	case dp.PuntARP:
		r.handleARP(w, m, now)
	case dp.PuntResolve:
		r.handleResolve(w, m, now)
	case dp.PuntND:
		r.handleND(w, m, now)
	case dp.PuntHost:
		r.toHost(int(m.Iface), m.Frame())
	}
}

// requeue sends packets that waited for a neighbour that failed back into
// the graph after the next publish.
func (r *Router) requeue(k neigh.Key, frames [][]byte) {
	for _, f := range frames {
		r.outbox = append(r.outbox, outMsg{kind: injectKind(k), iface: uint16(k.Iface), frame: f})
		r.stats.Unreachable++
	}
	if len(frames) > 0 {
		r.dirty = true
	}
}

// injectKind is the message that routes a packet that waited for
// neighbour k again: from ip4-lookup, or ip6-lookup for an IPv6 one.
func injectKind(k neigh.Key) dp.MsgKind {
	if k.Addr.Is6() {
		return dp.InjectLookup6
	}
	return dp.InjectLookup
}

// queueResolved sends packets that waited for k back into the graph.
func (r *Router) queueResolved(w *dp.Worker, k neigh.Key, frames [][]byte) {
	for _, f := range frames {
		r.outbox = append(r.outbox, outMsg{w: w, kind: injectKind(k), iface: uint16(k.Iface), frame: f})
		r.stats.Resolved++
	}
	if len(frames) > 0 {
		r.dirty = true // publish before injecting, even if nothing else changed
	}
}
