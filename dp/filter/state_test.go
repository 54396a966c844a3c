package filter

import (
	"math/rand/v2"
	"testing"
)

func seg(seq, ack uint32, fl uint8, win uint16, n uint32) *Segment {
	return &Segment{Seq: seq, Ack: ack, Flags: fl, Win: win, Len: n, WScale: -1}
}

// TestTCPTrack: a handshake, data both ways and a close move the peers
// through pf's states and timeout classes; segments outside the window
// and RSTs with an unexpected sequence number are refused.
func TestTCPTrack(t *testing.T) {
	to := &Timeouts{TCPOpening: 1, TCPEstablished: 2, TCPClosing: 3, TCPClosed: 4}
	s := &State{}
	const c, sv = 0, 1 // client side 0, server side 1
	tcpStart(s, c, seg(1000, 0, fSYN, 65535, 0))
	if tcpTimeout(s, to) != 1 {
		t.Fatal("a SYN alone is opening")
	}
	// SYN-ACK, ACK.
	if !tcpTrack(s, sv, seg(5000, 1001, fSYN|fACK, 65535, 0)) {
		t.Fatal("SYN-ACK refused")
	}
	if !tcpTrack(s, c, seg(1001, 5001, fACK, 65535, 0)) {
		t.Fatal("ACK refused")
	}
	if s.Peer[c].State != TCPEstablished || s.Peer[sv].State != TCPEstablished || tcpTimeout(s, to) != 2 {
		t.Fatalf("after the handshake: %v %v", s.Peer[c].State, s.Peer[sv].State)
	}
	// Data both ways.
	if !tcpTrack(s, c, seg(1001, 5001, fACK|0x08, 65535, 1000)) || !tcpTrack(s, sv, seg(5001, 2001, fACK, 65535, 500)) {
		t.Fatal("data refused")
	}
	// A segment far beyond the window the other side allows.
	if tcpTrack(s, c, seg(1001+10_000_000, 5501, fACK, 65535, 100)) {
		t.Fatal("segment 10 MB past the window passed")
	}
	// An ACK for data never sent (ack skew beyond MAXACKWINDOW).
	if tcpTrack(s, c, seg(2001, 5501+200_000, fACK, 65535, 0)) {
		t.Fatal("ACK of unsent data passed")
	}
	// An RST in the window but not at the expected sequence number.
	if tcpTrack(s, sv, seg(5501+1000, 0, fRST, 0, 0)) {
		t.Fatal("blind RST passed")
	}
	if tcpTrack(s, sv, seg(5501+1_000_000, 0, fRST, 0, 0)) {
		t.Fatal("out-of-window RST passed")
	}
	if s.Peer[c].State != TCPEstablished {
		t.Fatal("a refused RST changed the state")
	}
	// FIN from the client, ACK and FIN from the server, last ACK.
	if !tcpTrack(s, c, seg(2001, 5501, fFIN|fACK, 65535, 0)) {
		t.Fatal("FIN refused")
	}
	if s.Peer[c].State != TCPClosing || tcpTimeout(s, to) != 3 {
		t.Fatalf("after FIN: %v, timeout %d", s.Peer[c].State, tcpTimeout(s, to))
	}
	if !tcpTrack(s, sv, seg(5501, 2002, fFIN|fACK, 65535, 0)) || !tcpTrack(s, c, seg(2002, 5502, fACK, 65535, 0)) {
		t.Fatal("close refused")
	}
	if s.Peer[c].State < TCPFinWait2 || s.Peer[sv].State < TCPFinWait2 || tcpTimeout(s, to) != 4 {
		t.Fatalf("after the close: %v %v", s.Peer[c].State, s.Peer[sv].State)
	}
}

// TestTCPRST: an RST at the expected sequence number ends the state.
func TestTCPRST(t *testing.T) {
	s := &State{}
	tcpStart(s, 1, seg(7, 0, fSYN, 1000, 0))
	if !tcpTrack(s, 0, seg(900, 8, fSYN|fACK, 1000, 0)) || !tcpTrack(s, 1, seg(8, 901, fACK, 1000, 0)) {
		t.Fatal("handshake refused")
	}
	if !tcpTrack(s, 0, seg(901, 0, fRST, 0, 0)) {
		t.Fatal("RST at the expected sequence number refused")
	}
	if s.Peer[0].State != TCPTimeWait || s.Peer[1].State != TCPTimeWait {
		t.Fatal("RST did not close the state")
	}
}

// TestWindowScale: with window scaling on both SYNs, data within the
// scaled window passes; without it, the same data is beyond the window.
func TestWindowScale(t *testing.T) {
	for _, scaled := range []bool{true, false} {
		s := &State{}
		ws := int8(-1)
		if scaled {
			ws = 7
		}
		g := seg(100, 0, fSYN, 1000, 0)
		g.WScale = ws
		tcpStart(s, 0, g)
		g = seg(500, 101, fSYN|fACK, 1000, 0)
		g.WScale = ws
		if !tcpTrack(s, 1, g) || !tcpTrack(s, 0, seg(101, 501, fACK, 1000, 0)) {
			t.Fatal("handshake refused")
		}
		// The server ACKs with window 1000 << 7 = 128000 (scaled).
		if !tcpTrack(s, 1, seg(501, 101, fACK, 1000, 0)) {
			t.Fatal("ACK refused")
		}
		ok := tcpTrack(s, 0, seg(101, 501, fACK, 1000, 100_000))
		if ok != scaled {
			t.Fatalf("scaled %v: 100 kB within a 128 kB window passed %v", scaled, ok)
		}
	}
}

// TestTableRandom: random inserts, finds, deletions (by expiry and the
// sweep) agree with a map; the table never exceeds its limit.
func TestTableRandom(t *testing.T) {
	tb := NewTable(500)
	ref := map[Key]int64{}
	rng := rand.New(rand.NewPCG(1, 2))
	now := int64(1000)
	for i := 0; i < 200_000; i++ {
		var k Key
		k.A[15] = byte(rng.IntN(40))
		k.B[15] = byte(rng.IntN(40))
		k.PA = uint16(rng.IntN(3))
		k.Proto, k.Fam = 6, 4
		switch rng.IntN(4) {
		case 0, 1:
			exp, live := ref[k]
			if live && exp < now {
				delete(ref, k)
				live = false
			}
			s := tb.Find(&k, now)
			if (s != nil) != live {
				t.Fatalf("op %d: find %v live %v", i, s != nil, live)
			}
			if s == nil {
				if s = tb.Insert(&k); s == nil {
					if tb.Len() < tb.Limit() {
						t.Fatalf("op %d: refused below the limit", i)
					}
					continue
				}
				s.Expire = now + int64(rng.IntN(50))
				ref[k] = s.Expire
			}
		case 2:
			now++
		case 3:
			tb.Sweep(16, now)
		}
		if tb.Len() > tb.Limit() {
			t.Fatal("over the limit")
		}
	}
	n := 0
	tb.Each(now, func(s *State) {
		n++
		if exp, ok := ref[s.K]; !ok || exp != s.Expire {
			t.Fatalf("state %v not in the reference", s.K)
		}
	})
	live := 0
	for _, e := range ref {
		if e >= now {
			live++
		}
	}
	if n != live {
		t.Fatalf("%d live states, want %d", n, live)
	}
}

// TestKeySymmetric: both directions of a flow give the same key.
func TestKeySymmetric(t *testing.T) {
	var f, g Flow
	f.Fam, f.Proto, f.SPort, f.DPort = 4, 6, 40000, 80
	f.Src[15], f.Dst[15] = 9, 3
	g = f
	g.Src, g.Dst, g.SPort, g.DPort = f.Dst, f.Src, f.DPort, f.SPort
	var a, b Key
	sa, sb := f.key(&a), g.key(&b)
	if a != b || sa == sb {
		t.Fatalf("keys %v %v sides %d %d", a, b, sa, sb)
	}
}

// TestSweepDue: the per-vector sweep looks at the table's limit of
// entries per second of clock, whatever the vectors' rate (a vector every
// millisecond or every 25 µs), at most sweepMax in one vector; after a
// long gap one vector sweeps sweepMax; every entry is looked at within
// about a second, so expired states go without a lookup.
func TestSweepDue(t *testing.T) {
	for _, c := range []struct {
		limit int
		step  int64
	}{{1000, 1_000_000}, {100_000, 25_000}, {200_000, 1_000}, {16, 7_000_000}} {
		tb := NewTable(c.limit)
		now := int64(5e9)
		if n := tb.sweepDue(now); n != min(sweepMax, c.limit) {
			t.Errorf("limit %d: first sweep %d entries, want %d", c.limit, n, min(sweepMax, c.limit))
		}
		total := 0
		for end := now + 10*sweepPeriod; now < end; {
			now += c.step
			n := tb.sweepDue(now)
			if n > sweepMax {
				t.Fatalf("limit %d: %d entries in one vector", c.limit, n)
			}
			total += n
		}
		if want := 10 * c.limit; total < want-2 || total > want+2 {
			t.Errorf("limit %d, a vector every %d ns: %d entries swept in 10 s, want %d", c.limit, c.step, total, want)
		}
	}
	// The sweep at run's rate removes an expired state without a lookup.
	tb := NewTable(1000)
	var k Key
	k.Proto, k.Fam = 17, 4
	tb.Insert(&k).Expire = 10
	now := int64(1e9)
	tb.sweepDue(now)
	for i := 0; i < 1100 && tb.Len() > 0; i++ {
		now += 1_000_000
		tb.Sweep(tb.sweepDue(now), now)
	}
	if tb.Len() != 0 || tb.stats.expired.Load() != 1 {
		t.Fatalf("after 1.1 s of sweeps: %d states, %d expired; want 0, 1", tb.Len(), tb.stats.expired.Load())
	}
}
