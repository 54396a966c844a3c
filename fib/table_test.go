package fib

import (
	"errors"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

func mustAdd(t *testing.T, tab *Table, p string, nh uint16) {
	t.Helper()
	if err := tab.Add(netip.MustParsePrefix(p), nh); err != nil {
		t.Fatalf("add %s: %v", p, err)
	}
}

func mustDelete(t *testing.T, tab *Table, p string) {
	t.Helper()
	if err := tab.Delete(netip.MustParsePrefix(p)); err != nil {
		t.Fatalf("delete %s: %v", p, err)
	}
}

// expect checks lookups of address → next hop on a fresh snapshot.
func expect(t *testing.T, tab *Table, step string, want map[string]uint16) {
	t.Helper()
	s := tab.Snapshot()
	for a, nh := range want {
		if got := s.Lookup(u32(netip.MustParseAddr(a))); got != nh {
			t.Errorf("%s: lookup %s = %d, want %d", step, a, got, nh)
		}
	}
}

func TestEdgeCases(t *testing.T) {
	tab := NewTable()
	expect(t, tab, "empty", map[string]uint16{"0.0.0.0": 0, "10.1.2.3": 0, "255.255.255.255": 0})

	mustAdd(t, tab, "0.0.0.0/0", 1)
	expect(t, tab, "default route", map[string]uint16{"0.0.0.0": 1, "10.1.2.3": 1, "255.255.255.255": 1})

	mustAdd(t, tab, "10.1.2.3/32", 2)
	mustAdd(t, tab, "255.255.255.255/32", 9)
	mustAdd(t, tab, "0.0.0.0/32", 10)
	expect(t, tab, "host routes", map[string]uint16{
		"10.1.2.3": 2, "10.1.2.2": 1, "10.1.2.4": 1,
		"255.255.255.255": 9, "255.255.255.254": 1, "0.0.0.0": 10, "0.0.0.1": 1,
	})

	// A /25 added before its /24 keeps winning inside its half.
	mustAdd(t, tab, "10.1.2.128/25", 4)
	mustAdd(t, tab, "10.1.2.0/24", 3)
	at24 := map[string]uint16{
		"10.1.2.0": 3, "10.1.2.3": 2, "10.1.2.127": 3, "10.1.2.128": 4, "10.1.2.255": 4,
		"10.1.1.255": 1, "10.1.3.0": 1,
	}
	expect(t, tab, "/24 and /25", at24)
	if tab.Groups() != 3 {
		t.Errorf("groups = %d, want 3 (10.1.2/24, 0.0.0/24, 255.255.255/24)", tab.Groups())
	}

	// A shorter route painted over a /24 that holds a group.
	mustAdd(t, tab, "10.0.0.0/8", 5)
	expect(t, tab, "/8 over /24", map[string]uint16{
		"10.1.2.0": 3, "10.1.2.3": 2, "10.1.2.200": 4, "10.1.3.0": 5, "10.255.255.255": 5, "11.0.0.0": 1,
	})

	// Deletes restore the covering route; the group goes once it only holds ≤/24 routes.
	mustDelete(t, tab, "10.1.2.128/25")
	expect(t, tab, "delete /25", map[string]uint16{"10.1.2.128": 3, "10.1.2.255": 3, "10.1.2.3": 2})
	if tab.Groups() != 3 {
		t.Errorf("groups = %d, want 3 (the /32 still needs its group)", tab.Groups())
	}
	mustDelete(t, tab, "10.1.2.3/32")
	expect(t, tab, "delete /32", map[string]uint16{"10.1.2.3": 3, "10.1.2.128": 3})
	if tab.Groups() != 2 {
		t.Errorf("groups = %d, want 2 after the last long route of 10.1.2/24 went", tab.Groups())
	}
	mustDelete(t, tab, "10.1.2.0/24")
	expect(t, tab, "delete /24", map[string]uint16{"10.1.2.3": 5, "10.1.2.128": 5})
	mustDelete(t, tab, "10.0.0.0/8")
	expect(t, tab, "delete /8", map[string]uint16{"10.1.2.3": 1})
	mustDelete(t, tab, "0.0.0.0/0")
	expect(t, tab, "delete /0", map[string]uint16{"10.1.2.3": 0, "0.0.0.0": 10, "0.0.0.1": 0, "255.255.255.255": 9})

	// Re-adding, replacing, and masking the input.
	mustAdd(t, tab, "10.1.2.99/24", 6) // masked to 10.1.2.0/24
	if nh, ok := tab.Get(netip.MustParsePrefix("10.1.2.0/24")); !ok || nh != 6 {
		t.Errorf("Get after masked add = %d, %v", nh, ok)
	}
	n := tab.Len()
	mustAdd(t, tab, "10.1.2.0/24", MaxNextHop)
	if nh, _ := tab.Get(netip.MustParsePrefix("10.1.2.0/24")); nh != MaxNextHop || tab.Len() != n {
		t.Errorf("replace: Get = %d, Len = %d, want %d, %d", nh, tab.Len(), MaxNextHop, n)
	}
	expect(t, tab, "replace", map[string]uint16{"10.1.2.3": MaxNextHop})
	if _, ok := tab.Get(netip.MustParsePrefix("10.1.0.0/16")); ok {
		t.Error("Get of a missing route succeeded")
	}
	if c := tab.Counts(); c[24] != 1 || c[32] != 2 || c[0] != 0 || tab.Len() != 3 {
		t.Errorf("Counts = %v, Len = %d", c, tab.Len())
	}

	// Errors leave the table unchanged.
	s := tab.Snapshot()
	for _, tc := range []struct {
		name, want string
		err        error
	}{
		{"IPv6", "not an IPv4 prefix", tab.Add(netip.MustParsePrefix("2001:db8::/32"), 1)},
		{"IPv4-mapped IPv6", "not an IPv4 prefix", tab.Add(netip.MustParsePrefix("::ffff:10.0.0.0/104"), 1)},
		{"invalid prefix", "invalid prefix", tab.Add(netip.Prefix{}, 1)},
		{"next hop 0", "next hop 0 out of range", tab.Add(netip.MustParsePrefix("10.9.0.0/16"), 0)},
		{"next hop too big", "next hop 32768 out of range", tab.Add(netip.MustParsePrefix("10.9.0.0/16"), MaxNextHop+1)},
		{"delete missing", "no such route", tab.Delete(netip.MustParsePrefix("10.9.0.0/16"))},
		{"delete IPv6", "not an IPv4 prefix", tab.Delete(netip.MustParsePrefix("2001:db8::/32"))},
	} {
		if tc.err == nil || !strings.Contains(tc.err.Error(), tc.want) {
			t.Errorf("%s: error %v, want one containing %q", tc.name, tc.err, tc.want)
		}
	}
	if tab.Snapshot() != s || tab.Len() != 3 {
		t.Error("failed operations changed the table")
	}
}

func TestSnapshotCheapAndImmutable(t *testing.T) {
	tab := NewTable()
	mustAdd(t, tab, "192.0.2.0/24", 1)
	s1 := tab.Snapshot()
	if s2 := tab.Snapshot(); s2 != s1 {
		t.Fatal("Snapshot without changes returned a new snapshot")
	}
	mustAdd(t, tab, "192.0.2.0/24", 2)
	mustAdd(t, tab, "192.0.2.7/32", 3)
	s3 := tab.Snapshot()
	if s3 == s1 {
		t.Fatal("Snapshot after a change returned the old snapshot")
	}
	a := u32(netip.MustParseAddr("192.0.2.7"))
	if s1.Lookup(a) != 1 || s3.Lookup(a) != 3 || s1.Routes() != 1 || s3.Routes() != 2 {
		t.Fatalf("s1 = %d (%d routes), s3 = %d (%d routes)", s1.Lookup(a), s1.Routes(), s3.Lookup(a), s3.Routes())
	}
	// Only the touched chunk was copied.
	shared := 0
	for c := range s1.tbl24 {
		if s1.tbl24[c] == s3.tbl24[c] {
			shared++
		}
	}
	if shared != chunkCount-1 {
		t.Fatalf("%d chunks shared between snapshots, want %d", shared, chunkCount-1)
	}
	// Changing a group copies the group, not the chunk.
	mustAdd(t, tab, "192.0.2.7/32", 4)
	s4 := tab.Snapshot()
	if s4.tbl24 != s3.tbl24 || s4.tbl8[0] == s3.tbl8[0] || s3.Lookup(a) != 3 || s4.Lookup(a) != 4 {
		t.Fatal("replacing a /32 did not copy exactly its group")
	}
}

func TestGroupExhaustion(t *testing.T) {
	if testing.Short() {
		t.Skip("fills all 32767 tbl8 groups")
	}
	tab := NewTable()
	for i := range MaxGroups {
		if err := tab.Add(pfx(uint32(i)<<8|0x80, 25), 1); err != nil {
			t.Fatalf("add %d: %v", i, err)
		}
	}
	p := pfx(uint32(MaxGroups)<<8|0x80, 25)
	err := tab.Add(p, 1)
	if !errors.Is(err, ErrNoGroup) || !strings.Contains(err.Error(), p.String()) {
		t.Fatalf("add beyond the last group: %v, want ErrNoGroup naming %v", err, p)
	}
	if _, ok := tab.Get(p); ok || tab.Len() != MaxGroups {
		t.Fatal("failed add changed the table")
	}
	// Routes that need no new group still go in, and a freed group is reused.
	mustAdd(t, tab, "0.0.0.0/25", 2)
	mustDelete(t, tab, "0.0.1.128/25")
	if err := tab.Add(p, 3); err != nil {
		t.Fatal(err)
	}
	s := tab.Snapshot()
	for a, want := range map[uint32]uint16{0: 2, 0x80: 1, 0x180: 0, u32(p.Addr()): 3, u32(p.Addr()) - 1: 0} {
		if got := s.Lookup(a); got != want {
			t.Errorf("lookup %v = %d, want %d", addrOf(a), got, want)
		}
	}
}

func TestLookupDoesNotAllocate(t *testing.T) {
	tab := NewTable()
	mustAdd(t, tab, "10.0.0.0/8", 1)
	mustAdd(t, tab, "10.1.2.128/25", 2)
	s := tab.Snapshot()
	addrs := make([]uint32, 256)
	for i := range addrs {
		addrs[i] = 0x0a010200 + uint32(i)
	}
	out := make([]uint16, len(addrs))
	var sink uint16
	if n := testing.AllocsPerRun(1000, func() { sink += s.Lookup(addrs[sink&0xff]) }); n != 0 {
		t.Errorf("Lookup: %v allocations per run", n)
	}
	if n := testing.AllocsPerRun(1000, func() { s.LookupBatch(addrs, out) }); n != 0 {
		t.Errorf("LookupBatch: %v allocations per run", n)
	}
	if out[0] != 1 || out[255] != 2 {
		t.Errorf("batch = %d…%d, want 1…2", out[0], out[255])
	}
}

// TestConcurrentReaders runs workers reading published snapshots while the
// control goroutine updates the table (meaningful under -race): every
// snapshot must keep answering what it answered when published.
func TestConcurrentReaders(t *testing.T) {
	var cur atomic.Pointer[Snapshot]
	tab := NewTable()
	mustAdd(t, tab, "10.0.0.0/8", 1)
	cur.Store(tab.Snapshot())
	probe := []uint32{0x0a000001, 0x0a010203, 0x0a0102ff, 0x0b000000}
	var stop atomic.Bool
	var wg sync.WaitGroup
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			out := make([]uint16, len(probe))
			for !stop.Load() {
				s := cur.Load()
				s.LookupBatch(probe, out)
				for i, a := range probe {
					if s.Lookup(a) != out[i] {
						t.Errorf("snapshot changed under a reader at %v", addrOf(a))
						return
					}
				}
			}
		}()
	}
	for i := range 2000 {
		p := pfx(0x0a010200|uint32(i%256), 25+i%8)
		if i%3 == 2 {
			tab.Delete(p) // may be missing
		} else {
			mustAdd(t, tab, p.String(), uint16(1+i%MaxNextHop))
		}
		mustAdd(t, tab, "10.1.0.0/16", uint16(1+i%7))
		cur.Store(tab.Snapshot())
	}
	stop.Store(true)
	wg.Wait()
}
