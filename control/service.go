package control

import (
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
	if now.Sub(r.lastAge) >= 100*time.Millisecond || now.Before(r.lastAge) {
		r.lastAge = now
		for _, act := range r.neigh.Age(now) {
			r.handleAge(act)
			did = true
		}
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

// Run serves until stop is closed.
func (r *Router) Run(stop <-chan struct{}) {
	t := time.NewTicker(time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
			for r.Service() {
			}
		}
	}
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
		if m.kind == dp.InjectLookup {
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
	}
}

// requeue sends packets that waited for a neighbour that failed back into
// the graph after the next publish.
func (r *Router) requeue(k neigh.Key, frames [][]byte) {
	for _, f := range frames {
		r.outbox = append(r.outbox, outMsg{kind: dp.InjectLookup, iface: uint16(k.Iface), frame: f})
		r.stats.Unreachable++
	}
	if len(frames) > 0 {
		r.dirty = true
	}
}

// queueResolved sends packets that waited for k back into the graph.
func (r *Router) queueResolved(w *dp.Worker, k neigh.Key, frames [][]byte) {
	for _, f := range frames {
		r.outbox = append(r.outbox, outMsg{w: w, kind: dp.InjectLookup, iface: uint16(k.Iface), frame: f})
		r.stats.Resolved++
	}
	if len(frames) > 0 {
		r.dirty = true // publish before injecting, even if nothing else changed
	}
}
