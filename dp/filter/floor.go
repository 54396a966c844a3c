package filter

import (
	"encoding/binary"
	"os"
	"unsafe"

	"github.com/softnet/softnet/dp"
	"github.com/softnet/softnet/dp/ip4"
	"github.com/softnet/softnet/pkt"
)

// A throwaway experiment (2026-12-08, reverted at once; docs/history-filter.md,
// "tenth session"): where the ip4-filter stage's time goes in the real
// pipeline, by environment variables read at start-up.
//
//	SOFTNET_FLOOR=1     the least a hit can do: a 64-byte slot at the key's
//	                    hash (2^18 of them, linear probing), expiry, counter
//	                    and cached next hop; misses take the node's path and
//	                    are mirrored into the slots.
//	SOFTNET_EXP=4       the stage does nothing but set a next hop (before the sweep);
//	SOFTNET_EXP=5       the same after the serve and the sweep;
//	SOFTNET_EXP=6       + the header's key fields read;
//	SOFTNET_EXP=7       + hash4 stored (SOFTNET_EXPLOOKUP=1: + LookupBatch);
//	SOFTNET_EXP=3       the whole first pass; SOFTNET_EXP=2: + LookupBatch.
//	SOFTNET_CHUNK=N     the vector keyed, looked up and decided N at a time.
//	SOFTNET_ALIGN=1     the bucket index aligned on 2 MiB (huge pages).
//	SOFTNET_STATES=N    the ip4-filter scenario with N flows and states;
//	SOFTNET_LIMIT=N     its table's limit.

var floorOn = os.Getenv("SOFTNET_FLOOR") != ""

type floorSlot struct {
	k0, k1 uint64
	exp    int64
	pkts   [2]uint32
	rgen   [2]uint16
	rnh    [2]uint16
	_      [24]byte
}

const floorN = 1 << 18

var floorTab = func() []floorSlot {
	if !floorOn {
		return nil
	}
	s := make([]floorSlot, floorN)
	adviseHuge(unsafe.Slice((*byte)(unsafe.Pointer(&s[0])), floorN*64))
	return s
}()

type floorW struct {
	k0, k1 [pkt.BatchSize]uint64
	h      [pkt.BatchSize]uint64
	side   [pkt.BatchSize]uint8
	ok     [pkt.BatchSize]bool
}

var floorWS floorW
var floorSlow int

func runFloor(w *dp.Worker, cfg *dp.Config, in *pkt.Batch, stage dp.Stage, rs *reasons, set *Ruleset, st *wstate, t *Table, slot int, now int64, gen uint16) {
	fw := &floorWS
	tab := floorTab
	be := binary.BigEndian
	for i, x := range in.B[:in.N] {
		ip := pkt.At(x).L3Bytes()
		if !udp4(ip) || !routable(ip) {
			fw.ok[i] = false
			fw.h[i] = 0
			continue
		}
		ka := uint64(be.Uint32(ip[12:16]))<<16 | uint64(be.Uint16(ip[20:22]))
		kb := uint64(be.Uint32(ip[16:20]))<<16 | uint64(be.Uint16(ip[22:24]))
		side := uint8(0)
		if ka > kb {
			side = 1
		}
		lo, hi := min(ka, kb), max(ka, kb)
		k0 := lo>>16 | hi>>16<<32
		k1 := lo&0xffff | (hi&0xffff)<<16 | 17<<32
		fw.k0[i], fw.k1[i], fw.side[i], fw.ok[i] = k0, k1, side, true
		fw.h[i] = mum(k0^hashSeed[0], k1^hashSeed[1])
	}
	prefetchLines(uintptr(unsafe.Pointer(&tab[0])), 6, floorN-1, fw.h[:in.N])
	udpTimeout := set.Timeouts.UDP
	recs := pkt.Records()
	adjs := cfg.Adj
	k, m := 0, 0
	for i, x := range in.B[:in.N] {
		b := recs.At(x)
		if fw.ok[i] {
			h := fw.h[i] & (floorN - 1)
			e := &tab[h]
			for e.k1 != 0 && (e.k0 != fw.k0[i] || e.k1 != fw.k1[i]) {
				h = (h + 1) & (floorN - 1)
				e = &tab[h]
			}
			side := fw.side[i] & 1
			if e.k1 != 0 && e.exp >= now && e.pkts[side] != 0 && e.rgen[side] == gen {
				e.exp = now + udpTimeout
				e.pkts[side]++
				if nh := e.rnh[side]; int(nh) < len(adjs) {
					if kind := adjs[nh].Kind; (kind == dp.AdjForward || kind == dp.AdjIncomplete || kind == dp.AdjGlean) &&
						b.Flags&(pkt.FlagLocal|pkt.FlagL2Multicast) == 0 {
						b.NH = nh
						in.B[k] = x
						k++
						continue
					}
				}
			}
		}
		// Slow: the real node's path for this packet.
		if floorSlow++; floorSlow&(1<<20-1) == 0 {
			println("floor slow", floorSlow, fw.ok[i])
		}
		ip := b.L3Bytes()
		st.parsed[i] = false
		sd, hh, ok := fastKey4w(ip, &st.k4[i], &st.flows[i].Seg)
		if !ok {
			st.parsed[i] = true
			st.l4s[i] = int32(parse(ip, &st.flows[i]))
			if st.flows[i].Short {
				w.Drop(b, rs.Short)
				continue
			}
			sd = st.flows[i].key(&st.keys[i])
			hh = st.keys[i].hash()
		} else {
			st.k4[i].key(&st.keys[i])
		}
		st.sides[i], st.hashes[i], st.hints[i] = uint8(sd), hh, -1
		st.hit = nil
		if r := decide(cfg, set, t, st, b, i, slot, now, rs); r != dp.ReasonNone {
			w.Drop(b, r)
			continue
		}
		s := st.hit
		if s != nil && routable(ip) {
			if s.rgen[sd] != gen {
				cacheRoute(cfg, s, sd, gen, b)
			}
			if fw.ok[i] {
				// Mirror into the floor table.
				hf := fw.h[i] & (floorN - 1)
				e := &tab[hf]
				for e.k1 != 0 && (e.k0 != fw.k0[i] || e.k1 != fw.k1[i]) {
					hf = (hf + 1) & (floorN - 1)
					e = &tab[hf]
				}
				e.k0, e.k1, e.exp = fw.k0[i], fw.k1[i], s.Expire
				e.pkts = s.pkts
				e.rgen, e.rnh = s.rgen, s.rnh
			}
			if nh := s.rnh[sd]; int(nh) < len(adjs) {
				if kind := adjs[nh].Kind; (kind == dp.AdjForward || kind == dp.AdjIncomplete || kind == dp.AdjGlean) &&
					b.Flags&(pkt.FlagLocal|pkt.FlagL2Multicast) == 0 {
					b.NH = nh
					in.B[k] = x
					k++
					continue
				}
			}
		}
		st.rest[m] = x
		m++
	}
	w.Pass(stage, ip4.StageRewrite, k)
	w.ToAll(ip4.StageLookup, st.rest[:m])
}

var floorExp = func() int {
	switch os.Getenv("SOFTNET_EXP") {
	case "2":
		return 2
	case "3":
		return 3
	case "4":
		return 4
	case "5":
		return 5
	case "6":
		return 6
	case "7":
		return 7
	}
	return 0
}()

var expNH uint16 = 0xffff

func expPass(w *dp.Worker, cfg *dp.Config, in *pkt.Batch, stage dp.Stage) {
	recs := pkt.Records()
	if expNH == 0xffff {
		b := recs.At(in.B[0])
		expNH = cfg.FIB.Lookup(b.Dst4())
	}
	for _, x := range in.B[:in.N] {
		recs.At(x).NH = expNH
	}
	w.Pass(stage, ip4.StageRewrite, in.N)
}

var expSink uint64

var floorChunk = func() int {
	n := 0
	for _, c := range os.Getenv("SOFTNET_CHUNK") {
		n = n*10 + int(c-'0')
	}
	if n <= 0 {
		return pkt.BatchSize
	}
	return n
}()

var expLookup = os.Getenv("SOFTNET_EXPLOOKUP") != ""

var alignBuckets = os.Getenv("SOFTNET_ALIGN") != ""
var expMin = 900
