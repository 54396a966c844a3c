package afpacket

import (
	"golang.org/x/sys/unix"
)

// The fanout group. PACKET_FANOUT_HASH sends a frame to member
// hash % n, members numbered in the order they joined (and a member
// that leaves is replaced by the last one). Both directions of a flow
// reach the same worker only if data queue i is member i in every port:
// the sockets must join in queue order, into a group of their own.
//
// Open builds the data queues' sockets one by one and joins them in
// order. A reopen builds each queue's sockets on a goroutine of its own
// (openAside) at the time its worker notices the device is back, so the
// sockets are not joined there: they wait in fanReady until every data
// queue's is in, and the last one in joins them all, in queue order, into
// a fresh group (its id derived from the round), then hands each queue
// its sockets (pending). A queue whose socket is still in the old group
// (it did not fail: a lone queue reopened, say by the V2 watchdog) sees
// the round change at its next Recv (one atomic load per call, none per
// frame), and reopens to join the new group too. Until it has joined, a
// socket's filter drops everything (dropAll): bound outside the group,
// it would get every frame, which another queue's socket may get too.

// dropAll is the classic BPF program "ret #0": drop every frame.
var (
	dropAllInsns = [1]unix.SockFilter{{Code: 0x06, K: 0}}
	dropAll      = unix.SockFprog{Len: uint16(len(dropAllInsns)), Filter: &dropAllInsns[0]}
)

// fanoutID is the group id of round r: different for each port of the
// process (fanoutBase) and each round, so a new group never meets an old
// one whose sockets are still being closed.
func (p *Port) fanoutID(r uint32) uint16 { return p.fanoutBase + uint16(r)*0x2f1 }

// openFanout joins the sockets Open built (fanReady) in queue order and
// installs them, or, if a data queue is down, closes them: every data
// queue then reopens, and they meet in a round. fanMu need not be held:
// no reopen runs yet.
func (p *Port) openFanout() error {
	for _, o := range p.fanReady {
		if o == nil {
			for i, o := range p.fanReady {
				if o != nil {
					o.release()
					p.fanReady[i] = nil
					q := &p.q[i]
					q.down = true // the first Recv or Send retries
				}
			}
			return nil
		}
	}
	r := p.fanRound.Load()
	if err := p.fanJoin(r); err != nil {
		for i, o := range p.fanReady {
			o.release()
			p.fanReady[i] = nil
		}
		return err
	}
	for i, o := range p.fanReady {
		q := &p.q[i]
		q.install(o)
		q.round = r
		q.up.Store(true)
		p.fanReady[i] = nil
	}
	return nil
}

// fanSubmit is openAside's end for a data queue: it leaves o (built, not
// joined) in fanReady, beginning a new round if it is the first, and the
// last one in joins them all (fanJoin) and hands each its result.
func (p *Port) fanSubmit(q *queue, o *opened) {
	i := 0
	for &p.q[i] != q {
		i++
	}
	p.fanMu.Lock()
	defer p.fanMu.Unlock()
	if p.fanN == 0 {
		p.fanRound.Add(1) // the queues still in the old group leave it (Recv)
	}
	if old := p.fanReady[i]; old != nil { // not expected: one reopen at a time per queue
		old.release()
		p.fanN--
	}
	p.fanReady[i] = o
	p.fanN++
	if p.fanN < len(p.fanReady) {
		return
	}
	r := p.fanRound.Load()
	err := p.fanJoin(r)
	for j, o := range p.fanReady {
		if err != nil {
			o.release()
			o = &opened{err: err}
		}
		o.round = r
		p.fanReady[j] = nil
		p.q[j].pending.Store(o)
	}
	p.fanN = 0
}

// fanJoin joins the sockets in fanReady, every data queue's, in queue
// order into round r's group, then gives each its real filter. On error
// the caller closes them all.
func (p *Port) fanJoin(r uint32) error {
	arg := int(uint32(p.fanoutID(r)) | uint32(unix.PACKET_FANOUT_HASH|unix.PACKET_FANOUT_FLAG_DEFRAG)<<16)
	for _, o := range p.fanReady {
		if err := unix.SetsockoptInt(o.rxFd, unix.SOL_PACKET, unix.PACKET_FANOUT, arg); err != nil {
			return explain(p.name, "PACKET_FANOUT", err)
		}
	}
	for _, o := range p.fanReady {
		var err error
		if p.ctl >= 0 {
			// ARP goes to the control queue only (see build).
			err = unix.SetsockoptSockFprog(o.rxFd, unix.SOL_SOCKET, unix.SO_ATTACH_FILTER, &noARP)
		} else {
			err = unix.SetsockoptInt(o.rxFd, unix.SOL_SOCKET, unix.SO_DETACH_FILTER, 0)
		}
		if err != nil {
			return explain(p.name, "SO_ATTACH_FILTER (after the fanout join)", err)
		}
	}
	return nil
}

// regroup takes a data queue whose socket is in an older fanout group than
// the port's latest round down, to reopen at once and join the new one.
// On the owner's goroutine.
func (q *queue) regroup() {
	q.teardown(true)
	q.down = true
	q.up.Store(false)
	q.retryAt = 0
}
