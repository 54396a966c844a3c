package filter

import (
	"encoding/binary"
	"math/rand/v2"
	"testing"
)

// TestFastKey4: fastKey4 (run's key without a parse, for unfragmented
// IPv4 UDP and TCP without IP options) gives the key and side that parse
// and Flow.key give, and for TCP the segment parse gives, for random
// headers that include equal addresses, equal ports, options, fragments,
// other protocols, TCP data offsets and flags of every kind and short
// packets; it takes every unfragmented option-less UDP datagram and TCP
// segment without SYN, FIN or RST and refuses the rest.
func TestFastKey4(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	took, tcp := 0, 0
	for n := 0; n < 200_000; n++ {
		ihl := 5
		if rng.IntN(8) == 0 {
			ihl = 6 + rng.IntN(3)
		}
		ip := make([]byte, ihl*4+8+rng.IntN(32))
		if rng.IntN(16) == 0 {
			ip = ip[:rng.IntN(len(ip))]
		}
		full := make([]byte, ihl*4+40)
		full[0] = byte(0x40 | ihl)
		full[9] = []byte{17, 17, 17, 6, 1, 47}[rng.IntN(6)]
		if rng.IntN(8) == 0 {
			binary.BigEndian.PutUint16(full[6:], uint16(rng.IntN(0x4000)))
		}
		// Few distinct values, so equal addresses and ports are common.
		binary.BigEndian.PutUint32(full[12:], uint32(rng.IntN(3))<<30|uint32(rng.IntN(2)))
		binary.BigEndian.PutUint32(full[16:], uint32(rng.IntN(3))<<30|uint32(rng.IntN(2)))
		l4 := full[ihl*4:]
		binary.BigEndian.PutUint16(l4, uint16(rng.IntN(3))<<14|uint16(rng.IntN(2)))
		binary.BigEndian.PutUint16(l4[2:], uint16(rng.IntN(3))<<14|uint16(rng.IntN(2)))
		l4[12] = 0x50
		if full[9] == 6 {
			// TCP: any data offset (options past the 40 bytes are
			// short), flags with and without SYN, FIN, RST.
			if rng.IntN(4) == 0 {
				l4[12] = byte(rng.IntN(16)) << 4
			}
			l4[13] = byte(rng.Uint32())
			if rng.IntN(2) == 0 {
				l4[13] &^= fSYN | fFIN | fRST
			}
			binary.BigEndian.PutUint32(l4[4:], rng.Uint32())
			binary.BigEndian.PutUint32(l4[8:], rng.Uint32())
			binary.BigEndian.PutUint16(l4[14:], uint16(rng.Uint32()))
			if ihl == 5 && rng.IntN(2) == 0 {
				ip = make([]byte, 40+rng.IntN(40))
			}
		}
		copy(ip, full)

		var k Key
		var g Segment
		side, h, ok := fastKey4(ip, &k, &g)
		var f Flow
		parse(ip, &f)
		doff := int(l4[12]>>4) * 4
		tcpOK := full[9] == 6 && len(ip) >= 40 && l4[13]&(fSYN|fFIN|fRST) == 0 && doff >= 20 && 20+doff <= len(ip)
		want := ihl == 5 && (full[9] == 17 && len(ip) >= 28 || tcpOK) && binary.BigEndian.Uint16(full[6:])&0x1fff == 0
		if ok != want {
			t.Fatalf("fastKey4(% x) ok %v, want %v", ip, ok, want)
		}
		if !ok {
			continue
		}
		took++
		if f.Short || f.Frag || f.Fam != 4 {
			t.Fatalf("fastKey4 took % x, which parse reads as short %v, fragment %v, family %d", ip, f.Short, f.Frag, f.Fam)
		}
		var wk Key
		ws := f.key(&wk)
		if k != wk || side != ws {
			t.Fatalf("fastKey4(% x) = %+v side %d, parse and key give %+v side %d", ip, k, side, wk, ws)
		}
		if k.hash() != wk.hash() || h != wk.hash() {
			t.Fatalf("fastKey4(% x) hash %#x, key's %#x, parse's key's %#x", ip, h, k.hash(), wk.hash())
		}
		if k.Proto == 6 {
			tcp++
			if g != f.Seg {
				t.Fatalf("fastKey4(% x) segment %+v, parse gives %+v", ip, g, f.Seg)
			}
		}
	}
	if took < 50_000 || tcp < 5_000 {
		t.Fatalf("fastKey4 took only %d of the packets, %d TCP", took, tcp)
	}
	if took < 50_000 {
		t.Fatalf("fastKey4 took only %d of the packets", took)
	}
	var k Key
	var g Segment
	if _, _, ok := fastKey4(make([]byte, 60), &k, &g); ok {
		t.Errorf("fastKey4 took a packet that is not IPv4")
	}
	six := make([]byte, 60)
	six[0] = 0x60
	if _, _, ok := fastKey4(six, &k, &g); ok {
		t.Errorf("fastKey4 took an IPv6 packet")
	}
}

// fastKey4 is fastKey4w with the Key made from the words (what the
// tests compare with parse and Flow.key).
func fastKey4(ip []byte, k *Key, g *Segment) (side int, h uint64, ok bool) {
	var w key4
	side, h, ok = fastKey4w(ip, &w, g)
	if ok {
		w.key(k)
	}
	return side, h, ok
}
