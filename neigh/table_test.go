package neigh_test

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/softnet/softnet/neigh"
)

var (
	t0   = time.Unix(1_000_000, 0)
	macA = [6]byte{0x02, 0, 0, 0, 0, 0x0a}
	macB = [6]byte{0x02, 0, 0, 0, 0, 0x0b}
	keyA = neigh.Key{Iface: 1, Addr: netip.MustParseAddr("10.0.2.2")}
	keyB = neigh.Key{Iface: 1, Addr: netip.MustParseAddr("10.0.2.3")}
)

func at(d time.Duration) time.Time { return t0.Add(d) }

func frame(i int) []byte { return []byte(fmt.Sprintf("pkt-%d", i)) }

func frames(fs [][]byte) []string {
	var out []string
	for _, f := range fs {
		out = append(out, string(f))
	}
	return out
}

// actions returns Age's actions as "kind addr" strings, sorted: Age walks a
// map, so its order is not specified.
func actions(as []neigh.Action) []string {
	var out []string
	for _, a := range as {
		out = append(out, fmt.Sprintf("%s %v", []string{"request", "probe", "fail", "remove"}[a.Kind], a.Entry.Addr))
	}
	slices.Sort(out)
	return out
}

func wantActions(t *testing.T, when string, got []neigh.Action, want ...string) {
	t.Helper()
	slices.Sort(want)
	if g := actions(got); !slices.Equal(g, want) {
		t.Fatalf("%s: actions %q, want %q", when, g, want)
	}
}

func wantState(t *testing.T, tb *neigh.Table, k neigh.Key, s neigh.State) *neigh.Entry {
	t.Helper()
	e := tb.Get(k)
	if e == nil {
		t.Fatalf("%v: no entry, want %v", k.Addr, s)
	}
	if e.State != s {
		t.Fatalf("%v: state %v, want %v", k.Addr, e.State, s)
	}
	return e
}

func TestTableDefaults(t *testing.T) {
	o := neigh.New(neigh.Options{}).Options()
	want := neigh.Options{
		MaxPending: 4, ReachableTime: 30 * time.Second, RetransTime: time.Second,
		MaxProbes: 3, FailedTime: 5 * time.Second, DelayTime: 5 * time.Second, MaxEntries: 16384,
	}
	if o != want {
		t.Fatalf("defaults %+v, want %+v", o, want)
	}
	custom := neigh.Options{MaxPending: 2, ReachableTime: time.Minute, RetransTime: 2 * time.Second, MaxProbes: 5, FailedTime: time.Second, DelayTime: 3 * time.Second, MaxEntries: 10}
	if o := neigh.New(custom).Options(); o != custom {
		t.Fatalf("custom options changed: %+v", o)
	}
}

func TestTableStateNames(t *testing.T) {
	tests := []struct {
		s    neigh.State
		want string
	}{
		{neigh.Incomplete, "incomplete"}, {neigh.Reachable, "reachable"}, {neigh.Stale, "stale"},
		{neigh.Failed, "failed"}, {neigh.Static, "static"}, {neigh.State(200), "unknown"},
	}
	for _, tc := range tests {
		if got := tc.s.String(); got != tc.want {
			t.Errorf("State(%d).String() = %q, want %q", tc.s, got, tc.want)
		}
	}
}

func TestTableQueueCreatesIncomplete(t *testing.T) {
	tb := neigh.New(neigh.Options{})
	e, created, request, queued := tb.Queue(keyA, frame(0), t0)
	if e == nil || !created || !request || !queued {
		t.Fatalf("first Queue: entry %v created %v request %v queued %v, want all set", e != nil, created, request, queued)
	}
	if e.State != neigh.Incomplete || e.Probes != 1 || !e.Sent.Equal(t0) || e.Key != keyA {
		t.Fatalf("entry %+v: want Incomplete, 1 probe sent at t0", e)
	}
	// The next packets queue without a second request or a new entry.
	for i := 1; i < 3; i++ {
		e2, created, request, queued := tb.Queue(keyA, frame(i), at(time.Duration(i)*time.Millisecond))
		if e2 != e || created || request || !queued {
			t.Fatalf("Queue %d: same entry %v created %v request %v queued %v", i, e2 == e, created, request, queued)
		}
	}
	if e.Probes != 1 {
		t.Fatalf("Probes %d after 3 Queues, want 1", e.Probes)
	}
	if got := frames(e.Pending); !slices.Equal(got, []string{"pkt-0", "pkt-1", "pkt-2"}) {
		t.Fatalf("Pending %q", got)
	}
	if tb.Len() != 1 {
		t.Fatalf("Len %d, want 1", tb.Len())
	}
}

func TestTableQueueCopiesFrame(t *testing.T) {
	tb := neigh.New(neigh.Options{})
	f := []byte("abc")
	e, _, _, _ := tb.Queue(keyA, f, t0)
	f[0] = 'X'
	if string(e.Pending[0]) != "abc" {
		t.Fatalf("queued frame %q changed with the caller's buffer", e.Pending[0])
	}
}

func TestTableQueueBound(t *testing.T) {
	tests := []struct {
		maxPending, sent int
		wantDropped      uint64
		want             []string
	}{
		{4, 3, 0, []string{"pkt-0", "pkt-1", "pkt-2"}},
		{4, 4, 0, []string{"pkt-0", "pkt-1", "pkt-2", "pkt-3"}},
		{4, 10, 6, []string{"pkt-6", "pkt-7", "pkt-8", "pkt-9"}},
		{1, 3, 2, []string{"pkt-2"}},
	}
	for _, tc := range tests {
		t.Run(fmt.Sprintf("max%d-sent%d", tc.maxPending, tc.sent), func(t *testing.T) {
			tb := neigh.New(neigh.Options{MaxPending: tc.maxPending})
			for i := range tc.sent {
				if _, _, _, queued := tb.Queue(keyA, frame(i), t0); !queued {
					t.Fatalf("Queue %d: not queued (the oldest is dropped instead)", i)
				}
			}
			e := tb.Get(keyA)
			if e.Dropped != tc.wantDropped {
				t.Errorf("Dropped %d, want %d", e.Dropped, tc.wantDropped)
			}
			if got := frames(e.Pending); !slices.Equal(got, tc.want) {
				t.Errorf("Pending %q, want %q", got, tc.want)
			}
			_, changed, pending := tb.Learn(keyA, macA, false, t0)
			if !changed || !slices.Equal(frames(pending), tc.want) {
				t.Errorf("Learn: changed %v pending %q, want true %q", changed, frames(pending), tc.want)
			}
		})
	}
}

func TestTableQueueOnUsableOrFailedEntry(t *testing.T) {
	for _, s := range []neigh.State{neigh.Reachable, neigh.Stale, neigh.Static, neigh.Failed} {
		t.Run(s.String(), func(t *testing.T) {
			tb := neigh.New(neigh.Options{})
			makeState(t, tb, keyA, s)
			e, created, request, queued := tb.Queue(keyA, frame(0), at(time.Hour))
			if e == nil || e.State != s || created || request || queued {
				t.Fatalf("Queue on %v: entry %v created %v request %v queued %v", s, e, created, request, queued)
			}
			if len(e.Pending) != 0 {
				t.Fatalf("Queue on %v kept the packet", s)
			}
		})
	}
}

// makeState brings k into state s at t0 (Failed and Stale by aging, from
// an earlier time).
func makeState(t *testing.T, tb *neigh.Table, k neigh.Key, s neigh.State) {
	t.Helper()
	o := tb.Options()
	switch s {
	case neigh.Incomplete:
		tb.Queue(k, frame(0), t0)
	case neigh.Reachable:
		tb.Learn(k, macA, true, t0)
	case neigh.Stale:
		tb.Learn(k, macA, true, t0.Add(-o.ReachableTime))
		tb.Age(t0)
	case neigh.Failed:
		start := t0.Add(-time.Duration(o.MaxProbes) * o.RetransTime)
		tb.Queue(k, frame(0), start)
		for i := 1; i <= o.MaxProbes; i++ {
			tb.Age(start.Add(time.Duration(i) * o.RetransTime))
		}
	case neigh.Static:
		if _, err := tb.AddStatic(k, macA, t0); err != nil {
			t.Fatal(err)
		}
	}
	wantState(t, tb, k, s)
}

func TestTableLearnCreate(t *testing.T) {
	tb := neigh.New(neigh.Options{})
	e, changed, pending := tb.Learn(keyA, macA, false, t0)
	if e != nil || changed || pending != nil || tb.Len() != 0 {
		t.Fatalf("Learn(create=false) on a missing entry: %v %v %v, Len %d; want nothing", e, changed, pending, tb.Len())
	}
	e, changed, pending = tb.Learn(keyA, macA, true, t0)
	if e == nil || !changed || pending != nil {
		t.Fatalf("Learn(create=true): entry %v changed %v pending %v", e, changed, pending)
	}
	if e.State != neigh.Reachable || e.MAC != macA || !e.Updated.Equal(t0) || e.Probes != 0 {
		t.Fatalf("learned entry %+v", e)
	}
	// Confirmation with the same MAC: not a change; a new MAC is.
	if _, changed, _ = tb.Learn(keyA, macA, false, at(time.Second)); changed {
		t.Fatal("same MAC reported as changed")
	}
	if !e.Updated.Equal(at(time.Second)) {
		t.Fatalf("Updated %v not refreshed by a confirmation", e.Updated)
	}
	if _, changed, _ = tb.Learn(keyA, macB, false, at(2*time.Second)); !changed || e.MAC != macB {
		t.Fatalf("new MAC: changed %v MAC %x", changed, e.MAC)
	}
}

func TestTableLearnResolves(t *testing.T) {
	tb := neigh.New(neigh.Options{})
	for i := range 3 {
		tb.Queue(keyA, frame(i), t0)
	}
	// create=false still updates an existing (Incomplete) entry: we asked.
	e, changed, pending := tb.Learn(keyA, macA, false, at(500*time.Millisecond))
	if e == nil || !changed {
		t.Fatalf("Learn on Incomplete: entry %v changed %v", e, changed)
	}
	if got := frames(pending); !slices.Equal(got, []string{"pkt-0", "pkt-1", "pkt-2"}) {
		t.Fatalf("pending %q, want in queue order", got)
	}
	if e.State != neigh.Reachable || e.Pending != nil || e.Probes != 0 || e.MAC != macA {
		t.Fatalf("entry after Learn %+v", e)
	}
	// Nothing left to send twice.
	if _, _, pending = tb.Learn(keyA, macA, false, at(time.Second)); pending != nil {
		t.Fatalf("second Learn returned %q", frames(pending))
	}
}

func TestTableIncompleteRetransmitsThenFails(t *testing.T) {
	tb := neigh.New(neigh.Options{})
	tb.Queue(keyA, frame(0), t0)
	tb.Queue(keyA, frame(1), t0)
	wantActions(t, "just after the request", tb.Age(at(999*time.Millisecond)))
	wantActions(t, "1 s", tb.Age(at(time.Second)), "request 10.0.2.2")
	if e := wantState(t, tb, keyA, neigh.Incomplete); e.Probes != 2 || !e.Sent.Equal(at(time.Second)) {
		t.Fatalf("after the 2nd request: Probes %d Sent %v", e.Probes, e.Sent)
	}
	wantActions(t, "1.5 s", tb.Age(at(1500*time.Millisecond)))
	wantActions(t, "2 s", tb.Age(at(2*time.Second)), "request 10.0.2.2")
	// Packets queued meanwhile are also dropped on failure.
	tb.Queue(keyA, frame(2), at(2500*time.Millisecond))
	wantActions(t, "2.9 s", tb.Age(at(2900*time.Millisecond)))
	acts := tb.Age(at(3 * time.Second))
	wantActions(t, "3 s", acts, "fail 10.0.2.2")
	if got := frames(acts[0].Dropped); !slices.Equal(got, []string{"pkt-0", "pkt-1", "pkt-2"}) {
		t.Fatalf("Fail dropped %q", got)
	}
	e := wantState(t, tb, keyA, neigh.Failed)
	if len(e.Pending) != 0 || !e.Updated.Equal(at(3*time.Second)) {
		t.Fatalf("failed entry: %d pending, Updated %v", len(e.Pending), e.Updated)
	}
	// Failed: no more requests; removed FailedTime after failing.
	wantActions(t, "7.9 s", tb.Age(at(7900*time.Millisecond)))
	wantState(t, tb, keyA, neigh.Failed)
	wantActions(t, "8 s", tb.Age(at(8*time.Second)), "remove 10.0.2.2")
	if tb.Get(keyA) != nil || tb.Len() != 0 {
		t.Fatal("failed entry not removed")
	}
	// A new packet starts over.
	if _, created, request, _ := tb.Queue(keyA, frame(3), at(9*time.Second)); !created || !request {
		t.Fatalf("Queue after removal: created %v request %v", created, request)
	}
}

func TestTableMaxProbesOption(t *testing.T) {
	for _, probes := range []int{1, 2, 5} {
		t.Run(fmt.Sprint(probes), func(t *testing.T) {
			tb := neigh.New(neigh.Options{MaxProbes: probes, RetransTime: 100 * time.Millisecond})
			tb.Queue(keyA, frame(0), t0)
			requests := 1
			for i := 1; ; i++ {
				acts := tb.Age(at(time.Duration(i) * 100 * time.Millisecond))
				if len(acts) != 1 {
					t.Fatalf("step %d: %d actions", i, len(acts))
				}
				if acts[0].Kind == neigh.Fail {
					break
				}
				if acts[0].Kind != neigh.Request {
					t.Fatalf("step %d: %v", i, actions(acts))
				}
				requests++
			}
			if requests != probes {
				t.Fatalf("%d requests before failing, want MaxProbes %d", requests, probes)
			}
		})
	}
}

func TestTableLearnAfterFail(t *testing.T) {
	tb := neigh.New(neigh.Options{})
	makeState(t, tb, keyA, neigh.Failed)
	e, changed, _ := tb.Learn(keyA, macA, false, t0)
	if e == nil || !changed || e.State != neigh.Reachable {
		t.Fatalf("Learn on Failed: %v changed %v", e, changed)
	}
}

func TestTableReachableStaleRemove(t *testing.T) {
	tb := neigh.New(neigh.Options{ReachableTime: 30 * time.Second})
	tb.Learn(keyA, macA, true, t0)
	wantActions(t, "29.9 s", tb.Age(at(29900*time.Millisecond)))
	wantState(t, tb, keyA, neigh.Reachable)
	acts := tb.Age(at(30 * time.Second))
	wantActions(t, "30 s", acts, "probe 10.0.2.2")
	e := wantState(t, tb, keyA, neigh.Stale)
	if acts[0].Entry.MAC != macA || e.Probes != 1 {
		t.Fatalf("probe for MAC %x, Probes %d; want the entry's MAC, 1", acts[0].Entry.MAC, e.Probes)
	}
	wantActions(t, "30.5 s", tb.Age(at(30500*time.Millisecond)))
	wantActions(t, "31 s", tb.Age(at(31*time.Second)), "probe 10.0.2.2")
	wantActions(t, "32 s", tb.Age(at(32*time.Second)), "probe 10.0.2.2")
	wantState(t, tb, keyA, neigh.Stale)
	wantActions(t, "33 s", tb.Age(at(33*time.Second)), "remove 10.0.2.2")
	if tb.Get(keyA) != nil {
		t.Fatal("unanswered stale entry not removed")
	}
}

func TestTableStaleConfirmed(t *testing.T) {
	tb := neigh.New(neigh.Options{})
	tb.Learn(keyA, macA, true, t0)
	tb.Age(at(30 * time.Second))
	wantState(t, tb, keyA, neigh.Stale)
	tb.Age(at(31 * time.Second)) // second probe
	e, changed, _ := tb.Learn(keyA, macA, false, at(31500*time.Millisecond))
	if changed {
		t.Fatal("Stale → Reachable with the same MAC reported as a change: the adjacency is the same")
	}
	if e.State != neigh.Reachable || e.Probes != 0 || !e.Updated.Equal(at(31500*time.Millisecond)) {
		t.Fatalf("confirmed entry %+v", e)
	}
	// Its timers start over: no probe until ReachableTime after the answer.
	wantActions(t, "40 s", tb.Age(at(40*time.Second)))
	wantActions(t, "61 s", tb.Age(at(61*time.Second)))
	wantActions(t, "61.5 s", tb.Age(at(61500*time.Millisecond)), "probe 10.0.2.2")
}

func TestTableStatic(t *testing.T) {
	tb := neigh.New(neigh.Options{})
	// A static entry takes over an Incomplete one and hands back its queue.
	tb.Queue(keyA, frame(0), t0)
	tb.Queue(keyA, frame(1), t0)
	pending, err := tb.AddStatic(keyA, macA, t0)
	if err != nil {
		t.Fatal(err)
	}
	if got := frames(pending); !slices.Equal(got, []string{"pkt-0", "pkt-1"}) {
		t.Fatalf("AddStatic returned %q", got)
	}
	e := wantState(t, tb, keyA, neigh.Static)
	if e.MAC != macA || e.Probes != 0 || len(e.Pending) != 0 {
		t.Fatalf("static entry %+v", e)
	}
	for _, d := range []time.Duration{time.Second, time.Minute, time.Hour, 1000 * time.Hour} {
		wantActions(t, d.String(), tb.Age(at(d)))
	}
	wantState(t, tb, keyA, neigh.Static)
	e2, changed, pending := tb.Learn(keyA, macB, true, at(time.Second))
	if e2 != e || changed || pending != nil || e.MAC != macA || e.State != neigh.Static {
		t.Fatalf("Learn overrode a static entry: changed %v MAC %x state %v", changed, e.MAC, e.State)
	}
	// AddStatic replaces a static entry's MAC.
	if _, err := tb.AddStatic(keyA, macB, t0); err != nil || e.MAC != macB {
		t.Fatalf("AddStatic replace: %v, MAC %x", err, e.MAC)
	}
}

// TestTableIPv6: the table is not IPv4's alone: an IPv6 neighbour is
// added, learnt and queued for like an IPv4 one, under its own key (an
// IPv4 and an IPv6 neighbour on one interface are two entries, IPv4
// first in All). Which families are resolved is the control plane's
// choice (control refuses IPv6 neighbours: TestRouterAddNeighbor). An
// invalid or IPv4-mapped address is refused, saying what to give.
func TestTableIPv6(t *testing.T) {
	tb := neigh.New(neigh.Options{})
	key6 := neigh.Key{Iface: 1, Addr: netip.MustParseAddr("2001:db8::1")}
	if _, err := tb.AddStatic(key6, macA, t0); err != nil {
		t.Fatalf("AddStatic of an IPv6 neighbour: %v", err)
	}
	if e := tb.Get(key6); e == nil || e.State != neigh.Static || e.MAC != macA {
		t.Fatalf("IPv6 static entry %+v", e)
	}
	e, changed, _ := tb.Learn(keyA, macB, true, t0)
	if e == nil || !changed || tb.Len() != 2 {
		t.Fatalf("an IPv4 neighbour next to the IPv6 one: entry %+v changed %v, %d entries", e, changed, tb.Len())
	}
	if all := tb.All(); len(all) != 2 || all[0].Key != keyA || all[1].Key != key6 {
		t.Fatalf("All: %v, want %v then %v", all, keyA, key6)
	}
	q6 := neigh.Key{Iface: 1, Addr: netip.MustParseAddr("2001:db8::2")}
	e, created, request, queued := tb.Queue(q6, []byte{1, 2, 3}, t0)
	if e == nil || !created || !request || !queued || e.State != neigh.Incomplete {
		t.Fatalf("Queue for an IPv6 neighbour: %+v created %v request %v queued %v", e, created, request, queued)
	}
	e, changed, pending := tb.Learn(q6, macB, false, at(time.Millisecond))
	if e == nil || !changed || len(pending) != 1 || e.State != neigh.Reachable {
		t.Fatalf("Learn resolving the IPv6 neighbour: %+v changed %v pending %d", e, changed, len(pending))
	}
	for _, c := range []struct {
		addr netip.Addr
		want string
	}{
		{netip.Addr{}, "give the neighbour's IPv4 or IPv6 address"},
		{netip.MustParseAddr("::ffff:10.0.2.2"), "give the IPv4 address itself (10.0.2.2)"},
	} {
		_, err := tb.AddStatic(neigh.Key{Iface: 1, Addr: c.addr}, macA, t0)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("AddStatic(%v): %v, want an error containing %q", c.addr, err, c.want)
		}
	}
	if tb.Len() != 3 {
		t.Fatalf("%d entries after refused AddStatics, want 3", tb.Len())
	}
}

func TestTableDelete(t *testing.T) {
	tb := neigh.New(neigh.Options{})
	tb.Learn(keyA, macA, true, t0)
	if !tb.Delete(keyA) || tb.Get(keyA) != nil || tb.Len() != 0 {
		t.Fatal("Delete of an existing entry")
	}
	if tb.Delete(keyA) {
		t.Fatal("Delete of a missing entry reported true")
	}
}

func TestTableMaxEntries(t *testing.T) {
	tb := neigh.New(neigh.Options{MaxEntries: 2})
	tb.Learn(keyA, macA, true, t0)
	tb.Queue(keyB, frame(0), t0)
	keyC := neigh.Key{Iface: 1, Addr: netip.MustParseAddr("10.0.2.4")}
	if e, changed, _ := tb.Learn(keyC, macA, true, t0); e != nil || changed {
		t.Fatal("Learn created an entry beyond MaxEntries")
	}
	if e, created, request, queued := tb.Queue(keyC, frame(1), t0); e != nil || created || request || queued {
		t.Fatal("Queue created an entry beyond MaxEntries")
	}
	if _, err := tb.AddStatic(keyC, macA, t0); err == nil {
		t.Fatal("AddStatic beyond MaxEntries: no error")
	}
	if tb.Len() != 2 {
		t.Fatalf("Len %d, want 2", tb.Len())
	}
	// Existing entries still work at the limit.
	if _, err := tb.AddStatic(keyA, macB, t0); err != nil {
		t.Fatalf("AddStatic replacing an entry at the limit: %v", err)
	}
	if e, _, pending := tb.Learn(keyB, macB, false, t0); e == nil || len(pending) != 1 {
		t.Fatal("Learn of an existing entry at the limit")
	}
	tb.Delete(keyA)
	if e, _, _ := tb.Learn(keyC, macA, true, t0); e == nil {
		t.Fatal("Learn after Delete freed a slot")
	}
}

func TestTableAllSorted(t *testing.T) {
	tb := neigh.New(neigh.Options{})
	keys := []neigh.Key{
		{Iface: 2, Addr: netip.MustParseAddr("10.0.0.1")},
		{Iface: 0, Addr: netip.MustParseAddr("10.0.1.10")},
		{Iface: 1, Addr: netip.MustParseAddr("10.0.2.2")},
		{Iface: 0, Addr: netip.MustParseAddr("10.0.1.9")},
		{Iface: 0, Addr: netip.MustParseAddr("10.0.1.200")},
		{Iface: 1, Addr: netip.MustParseAddr("9.255.255.255")},
	}
	for i, k := range keys {
		if i%2 == 0 {
			tb.Learn(k, macA, true, t0)
		} else {
			tb.Queue(k, frame(i), t0)
		}
	}
	var got []string
	for _, e := range tb.All() {
		got = append(got, fmt.Sprintf("%d/%v", e.Iface, e.Addr))
	}
	want := []string{"0/10.0.1.9", "0/10.0.1.10", "0/10.0.1.200", "1/9.255.255.255", "1/10.0.2.2", "2/10.0.0.1"}
	if !slices.Equal(got, want) {
		t.Fatalf("All: %q, want %q", got, want)
	}
}

// TestAgeMany checks that Age handles each entry on its own timers.
func TestTableAgeMany(t *testing.T) {
	tb := neigh.New(neigh.Options{})
	tb.Learn(keyA, macA, true, t0)
	tb.Queue(keyB, frame(0), at(29*time.Second))
	wantActions(t, "30 s", tb.Age(at(30*time.Second)), "probe 10.0.2.2", "request 10.0.2.3")
	wantState(t, tb, keyA, neigh.Stale)
	wantState(t, tb, keyB, neigh.Incomplete)
}

// TestNext: Next is when Age next has work, exactly after Age, never
// later than the true earliest deadline after Learn and Queue, and absent
// when no entry has a timer.
func TestNext(t *testing.T) {
	o := neigh.Options{RetransTime: time.Second, ReachableTime: 30 * time.Second, FailedTime: 5 * time.Second, MaxProbes: 3}
	tb := neigh.New(o)
	t0 := time.Unix(1000, 0)
	kA := neigh.Key{Iface: 1, Addr: netip.MustParseAddr("10.0.0.1")}
	kB := neigh.Key{Iface: 1, Addr: netip.MustParseAddr("10.0.0.2")}
	want := func(at time.Time, what string) {
		t.Helper()
		got, ok := tb.Next()
		if !ok || !got.Equal(at) {
			t.Fatalf("%s: Next %v (%v), want %v", what, got.Sub(t0), ok, at.Sub(t0))
		}
	}
	if at, ok := tb.Next(); ok {
		t.Fatalf("empty table: Next %v, want none", at)
	}
	if _, err := tb.AddStatic(kB, [6]byte{2}, t0); err != nil {
		t.Fatal(err)
	}
	if at, ok := tb.Next(); ok {
		t.Fatalf("static entry only: Next %v, want none", at)
	}
	tb.Queue(kA, []byte{1}, t0)
	want(t0.Add(o.RetransTime), "queued")
	if acts := tb.Age(t0.Add(o.RetransTime - 1)); len(acts) != 0 {
		t.Fatalf("Age before Next: %d actions, want none", len(acts))
	}
	want(t0.Add(o.RetransTime), "after an early Age")
	for i := 1; i < o.MaxProbes; i++ {
		now := t0.Add(time.Duration(i) * o.RetransTime)
		if acts := tb.Age(now); len(acts) != 1 || acts[0].Kind != neigh.Request {
			t.Fatalf("Age at Next (%v): %+v, want one request", now.Sub(t0), acts)
		}
		want(now.Add(o.RetransTime), "after a request")
	}
	tFail := t0.Add(time.Duration(o.MaxProbes) * o.RetransTime)
	if acts := tb.Age(tFail); len(acts) != 1 || acts[0].Kind != neigh.Fail {
		t.Fatalf("Age at Next: %+v, want failure", acts)
	}
	want(tFail.Add(o.FailedTime), "failed")
	if acts := tb.Age(tFail.Add(o.FailedTime)); len(acts) != 1 || acts[0].Kind != neigh.Remove {
		t.Fatalf("Age at Next: %+v, want removal", acts)
	}
	if at, ok := tb.Next(); ok {
		t.Fatalf("after removal (static entry left): Next %v, want none", at.Sub(t0))
	}

	// Learn brings Next forward; a confirmation later leaves it early
	// (never late) until Age computes it afresh.
	t1 := tFail.Add(time.Minute)
	tb.Learn(kA, [6]byte{3}, true, t1)
	want(t1.Add(o.ReachableTime), "learned")
	tb.Learn(kA, [6]byte{3}, true, t1.Add(10*time.Second))
	want(t1.Add(o.ReachableTime), "confirmed: early, not late")
	if acts := tb.Age(t1.Add(o.ReachableTime)); len(acts) != 0 {
		t.Fatalf("Age at an early Next: %+v, want none", acts)
	}
	want(t1.Add(10*time.Second+o.ReachableTime), "recomputed by Age")
	// Queue for a second neighbour: the earlier of the two.
	tb.Queue(neigh.Key{Iface: 2, Addr: kA.Addr}, []byte{1}, t1.Add(20*time.Second))
	want(t1.Add(20*time.Second+o.RetransTime), "two timers")
}

// TestIPv6States: an IPv6 entry follows RFC 4861 §7.3.2: Reachable for
// ReachableTime, then Stale (no probe), Delay at the next pass, Probe
// (unicast) after DelayTime, MaxProbes probes RetransTime apart, then
// removed; Confirm into Stale (a MAC learnt from a solicitation) moves
// the same way, and a confirmation in Probe makes it Reachable. An IPv4
// entry still probes as soon as it is Stale.
func TestIPv6States(t *testing.T) {
	tb := neigh.New(neigh.Options{})
	k6 := neigh.Key{Iface: 1, Addr: netip.MustParseAddr("2001:db8:2::2")}
	if _, _, _, q := tb.Queue(k6, frame(1), t0); !q {
		t.Fatal("not queued")
	}
	if e, changed, pending := tb.Learn(k6, macA, false, at(time.Second/2)); e == nil || !changed || len(pending) != 1 {
		t.Fatalf("Learn: %v %v %v", e, changed, pending)
	}
	tb.Learn(keyA, macA, true, at(time.Second/2))
	wantActions(t, "30 s later", tb.Age(at(31*time.Second)), "probe 10.0.2.2")
	wantState(t, tb, k6, neigh.Stale)
	wantState(t, tb, keyA, neigh.Stale)
	if next, ok := tb.Next(); !ok || next.After(at(31*time.Second)) {
		t.Errorf("Next %v %v: the IPv6 entry goes to Delay at the next pass", next, ok)
	}
	wantActions(t, "next pass", tb.Age(at(31*time.Second+100*time.Millisecond)))
	wantState(t, tb, k6, neigh.Delay)
	wantActions(t, "4 s in Delay", tb.Age(at(35*time.Second)), "probe 10.0.2.2")
	wantState(t, tb, k6, neigh.Delay)
	wantActions(t, "5 s in Delay", tb.Age(at(36*time.Second+100*time.Millisecond)), "probe 10.0.2.2", "probe 2001:db8:2::2")
	wantState(t, tb, k6, neigh.Probing)
	wantActions(t, "probe 2", tb.Age(at(37*time.Second+100*time.Millisecond)), "remove 10.0.2.2", "probe 2001:db8:2::2")
	wantActions(t, "probe 3", tb.Age(at(38*time.Second+100*time.Millisecond)), "probe 2001:db8:2::2")
	wantActions(t, "no answer", tb.Age(at(39*time.Second+100*time.Millisecond)), "remove 2001:db8:2::2")
	if tb.Get(k6) != nil {
		t.Fatal("entry still there after 3 unanswered probes")
	}

	// Stale from a solicitation, then confirmed while probing.
	if e, _, _ := tb.Confirm(k6, macB, neigh.Stale, true, at(40*time.Second)); e == nil {
		t.Fatal("Confirm did not create")
	}
	tb.Age(at(40*time.Second + 100*time.Millisecond))
	wantState(t, tb, k6, neigh.Delay)
	wantActions(t, "delay over", tb.Age(at(46*time.Second)), "probe 2001:db8:2::2")
	tb.Confirm(k6, macB, neigh.Reachable, false, at(46*time.Second+500*time.Millisecond))
	if e := wantState(t, tb, k6, neigh.Reachable); e.MAC != macB || e.Probes != 0 {
		t.Errorf("after the confirmation: %+v", e)
	}
}

// TestKernelEntries: SetKernel makes a Kernel entry of a learned one
// (handing back its queued packets) but not of a static one; learning
// does not change a Kernel entry, ageing leaves it alone, and AddStatic
// replaces it.
func TestKernelEntries(t *testing.T) {
	now := time.Unix(1000, 0)
	tb := neigh.New(neigh.Options{})
	k := neigh.Key{Iface: 1, Addr: netip.MustParseAddr("10.0.2.2")}
	kmac, lmac := [6]byte{2, 0, 0, 0, 0, 0x0b}, [6]byte{2, 0, 0, 0, 0, 1}
	tb.Queue(k, []byte{1, 2, 3}, now)
	pending, static, err := tb.SetKernel(k, kmac, "permanent", now)
	if err != nil || static || len(pending) != 1 {
		t.Fatalf("SetKernel over an incomplete entry: %d pending, static %v, %v", len(pending), static, err)
	}
	e := tb.Get(k)
	if e.State != neigh.Kernel || e.MAC != kmac || e.KernelState != "permanent" || e.Source() != "kernel" {
		t.Fatalf("kernel entry %+v", e)
	}
	if _, changed, _ := tb.Learn(k, lmac, true, now); changed || tb.Get(k).MAC != kmac {
		t.Fatalf("Learn changed a kernel entry: %+v", tb.Get(k))
	}
	if acts := tb.Age(now.Add(time.Hour)); len(acts) != 0 || tb.Get(k) == nil {
		t.Fatalf("Age acted on a kernel entry: %+v", acts)
	}
	if _, timed := tb.Next(); timed {
		t.Fatal("a kernel entry has a timer")
	}
	if _, err := tb.AddStatic(k, lmac, now); err != nil {
		t.Fatal(err)
	}
	if e := tb.Get(k); e.State != neigh.Static || e.KernelState != "" || e.Source() != "static" {
		t.Fatalf("static over kernel: %+v", e)
	}
	if _, static, _ := tb.SetKernel(k, kmac, "reachable", now); !static || tb.Get(k).MAC != lmac {
		t.Fatalf("SetKernel replaced a static entry: %+v", tb.Get(k))
	}
}
