package filter

import (
	"encoding/binary"
	"math/rand/v2"
	"testing"
)

// TestFastKey4: fastKey4 (run's key without a parse, for unfragmented
// IPv4 UDP without options) gives the key and side that parse and
// Flow.key give, for random headers that include equal addresses, equal
// ports, options, fragments, other protocols and short packets; it takes
// every unfragmented option-less UDP datagram and refuses the rest.
func TestFastKey4(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	took := 0
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
		copy(ip, full)

		var k Key
		side, ok := fastKey4(ip, &k)
		var f Flow
		parse(ip, &f)
		want := ihl == 5 && full[9] == 17 && len(ip) >= 28 && binary.BigEndian.Uint16(full[6:])&0x1fff == 0
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
		if k.hash() != wk.hash() {
			t.Fatalf("equal keys, different hashes")
		}
	}
	if took < 50_000 {
		t.Fatalf("fastKey4 took only %d of the packets", took)
	}
	var k Key
	if _, ok := fastKey4(make([]byte, 60), &k); ok {
		t.Errorf("fastKey4 took a packet that is not IPv4")
	}
	six := make([]byte, 60)
	six[0] = 0x60
	if _, ok := fastKey4(six, &k); ok {
		t.Errorf("fastKey4 took an IPv6 packet")
	}
}
