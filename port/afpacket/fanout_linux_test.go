package afpacket

import (
	"encoding/binary"
	"fmt"
	"testing"
	"time"

	"github.com/softnet/softnet/pkt"
)

// flowQueues sends per frames of each of flows UDP flows from the peer
// and returns the queue each flow arrived on (failing the test if a flow
// arrived on two, or frames went missing).
func flowQueues(t *testing.T, l *lab, p *Port, pool *pkt.Pool, flows, per int) map[uint16]int {
	t.Helper()
	for i := 0; i < per; i++ {
		for f := 0; f < flows; f++ {
			l.peerSend(udpFrame(p.MAC(), uint16(1000+f), i))
		}
	}
	seen := map[uint16]int{}
	total := 0
	var v pkt.Batch
	for end := time.Now().Add(10 * time.Second); total < flows*per && time.Now().Before(end); {
		idle := true
		for q := 0; q < p.dataQueues(); q++ {
			if p.Recv(q, &v, pool) == 0 {
				continue
			}
			idle = false
			for _, x := range v.B[:v.N] {
				f := pkt.At(x).Bytes()
				if len(f) < 42 || binary.BigEndian.Uint16(f[12:]) != 0x0800 {
					continue
				}
				sport := binary.BigEndian.Uint16(f[34:])
				if prev, ok := seen[sport]; ok && prev != q {
					t.Errorf("flow %d on queues %d and %d", sport, prev, q)
				}
				seen[sport] = q
				total++
			}
			pool.PutBatch(&v)
		}
		if idle {
			time.Sleep(time.Millisecond)
		}
	}
	if total != flows*per || len(seen) != flows {
		t.Fatalf("got %d frames of %d flows, want %d of %d: %+v", total, len(seen), flows*per, flows, p.Stats())
	}
	return seen
}

// pollUntil calls Recv on the queues listed until cond holds or d passes,
// and reports whether it held.
func pollUntil(p *Port, pool *pkt.Pool, queues []int, d time.Duration, cond func() bool) bool {
	var v pkt.Batch
	for end := time.Now().Add(d); ; time.Sleep(time.Millisecond) {
		if cond() {
			return true
		}
		if time.Now().After(end) {
			return false
		}
		for _, q := range queues {
			p.Recv(q, &v, pool)
			pool.PutBatch(&v)
		}
	}
}

// fanoutCases are the ports the fanout order tests open: run opens its
// AF_PACKET ports with a control queue (ARP only, not in the group).
var fanoutCases = []struct {
	name string
	Options
}{
	{"queues=2", Options{Queues: 2}},
	{"queues=4", Options{Queues: 4}},
	{"queues=2+control", Options{Queues: 2, ControlQueue: true}},
}

// fanoutLab opens a port of n queues on a lab's veth and learns which
// queue each of its flows arrives on. same checks the flows arrive there
// still.
func fanoutLab(t *testing.T, o Options) (l *lab, p *Port, pool *pkt.Pool, all []int, same func(what string)) {
	l = newLab(t)
	p = openPort(t, l.devA, o)
	n := p.dataQueues()
	pool = pkt.NewPool(4096)
	const flows, per = 32, 4
	before := flowQueues(t, l, p, pool, flows, per)
	used := map[int]bool{}
	for _, q := range before {
		used[q] = true
	}
	if len(used) < 2 {
		t.Fatalf("%d flows all on one queue: %v", flows, before)
	}
	all = make([]int, n)
	for i := range all {
		all[i] = i
	}
	same = func(what string) {
		t.Helper()
		after := flowQueues(t, l, p, pool, flows, per)
		moved := 0
		for f, q := range before {
			if after[f] != q {
				moved++
			}
		}
		if moved > 0 {
			t.Errorf("%s: %d of %d flows moved to another queue (fanout members no longer in queue order)\nbefore %v\nafter  %v",
				what, moved, flows, before, after)
		}
	}
	return l, p, pool, all, same
}

// TestFanoutOrderAfterReopen: PACKET_FANOUT_HASH numbers a group's
// members in join order, and both directions of a flow reach the same
// worker only if queue i is member i on every port. The queues of a
// re-created device reopen each at the time its worker notices, in any
// order; here the test makes them reopen last queue first (it polls one
// queue at a time, from the last). Every flow must then arrive on the
// queue it arrived on before. Before the fix each queue joined the new
// group as it reopened, so the members came in reverse and every flow
// moved.
func TestFanoutOrderAfterReopen(t *testing.T) {
	for _, o := range fanoutCases {
		t.Run(o.name, func(t *testing.T) {
			l, p, pool, all, same := fanoutLab(t, o.Options)
			n := len(all)
			for round := 0; round < 3; round++ {
				run(t, "ip", "-n", l.nsB, "link", "del", l.devB)
				if !pollUntil(p, pool, all, 30*time.Second, func() bool {
					for i := range all {
						if !p.q[i].down {
							return false
						}
					}
					return true
				}) {
					t.Fatalf("queues still up 30 s after the device was deleted: %+v", p.Stats())
				}
				l.makeVeth()
				// Last queue first: each is polled alone until it is up,
				// or for at most 1 s (with the fix it waits for the
				// others, up to here not polled, to join after it).
				for i := n - 1; i >= 0; i-- {
					q := &p.q[i]
					pollUntil(p, pool, []int{i}, time.Second, func() bool { return q.up.Load() })
				}
				if !pollUntil(p, pool, all, 30*time.Second, func() bool { return p.Stats().Up }) {
					t.Fatalf("re-creation %d: port not up 30 s after the device came back: %+v", round, p.Stats())
				}
				same(fmt.Sprintf("re-creation %d", round))
			}
		})
	}
}

// TestFanoutOrderLoneReopen: one queue's sockets fail and are reopened
// while the others' stay (the V2 watchdog does this). Before the fix the
// new socket joined the group again as its last member, taking the place
// of the last queue, which had taken the failed one's place.
func TestFanoutOrderLoneReopen(t *testing.T) {
	for _, o := range fanoutCases {
		t.Run(o.name, func(t *testing.T) {
			_, p, pool, all, same := fanoutLab(t, o.Options)
			for round := 0; round < 3; round++ {
				p.q[0].fail("test", fmt.Errorf("a lone failure"))
				if !pollUntil(p, pool, all, 30*time.Second, func() bool { return p.Stats().Up }) {
					t.Fatalf("port not up 30 s after queue 0 failed: %+v", p.Stats())
				}
				same(fmt.Sprintf("queue 0 reopened alone, %d", round))
			}
		})
	}
}
