package linuxcp

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"os"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

// TestNetlinkReadBatches: notifications queued on the socket come out
// many to a Read (recvmmsg), each parsed: a burst of a million route
// changes is a million datagrams, and one system call (and one wake of
// the applier) each was the reader's cost.
func TestNetlinkReadBatches(t *testing.T) {
	ns := kernelNS(t)
	src, err := Open(ns, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	const n = 500
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, "route add 198.19.%d.%d/32 via 10.0.1.2 proto bgp\n", i/256, i%256)
	}
	f, err := os.CreateTemp(t.TempDir(), "batch")
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString(b.String())
	f.Close()
	ipns(t, ns, "-batch", f.Name()) // all queued before the first Read
	seen := map[netip.Prefix]bool{}
	most := 0
	for reads := 0; len(seen) < n; reads++ {
		evs, err := src.Read()
		if err != nil || reads > n {
			t.Fatalf("read %d: %v; %d of %d routes seen", reads, err, len(seen), n)
		}
		most = max(most, len(evs))
		for _, e := range evs {
			if e.Kind != RouteAdd || e.Route.Proto != unix.RTPROT_BGP || len(e.Route.Hops) != 1 || e.Route.Hops[0].Via != netip.MustParseAddr("10.0.1.2") {
				t.Fatalf("event %+v: want the route added via 10.0.1.2, proto bgp", e)
			}
			seen[e.Route.Prefix] = true
		}
	}
	if most < 100 {
		t.Errorf("at most %d notifications to a Read, want them batched (up to 256)", most)
	}
}

// TestParseRouteAllocs: a route message is parsed in place, its one
// allocation the next hop it returns; syscall.ParseNetlinkRouteAttr
// allocated the attribute list (and grew it) for every notification.
func TestParseRouteAllocs(t *testing.T) {
	attr := func(b []byte, typ uint16, v []byte) []byte {
		b = binary.NativeEndian.AppendUint16(b, uint16(4+len(v)))
		b = binary.NativeEndian.AppendUint16(b, typ)
		return append(b, v...)
	}
	data := []byte{unix.AF_INET, 24, 0, 0, unix.RT_TABLE_MAIN, unix.RTPROT_BGP, unix.RT_SCOPE_UNIVERSE, unix.RTN_UNICAST, 0, 0, 0, 0}
	data = attr(data, unix.RTA_TABLE, binary.NativeEndian.AppendUint32(nil, 254))
	data = attr(data, unix.RTA_DST, []byte{198, 51, 100, 0})
	data = attr(data, unix.RTA_PRIORITY, binary.NativeEndian.AppendUint32(nil, 20))
	data = attr(data, unix.RTA_GATEWAY, []byte{10, 0, 1, 2})
	data = attr(data, unix.RTA_OIF, binary.NativeEndian.AppendUint32(nil, 7))
	m := syscall.NetlinkMessage{Header: syscall.NlMsghdr{Len: uint32(unix.NLMSG_HDRLEN + len(data)), Type: unix.RTM_NEWROUTE}, Data: data}
	e, ok := parse(&m)
	want := Route{Prefix: netip.MustParsePrefix("198.51.100.0/24"), Table: 254, Proto: unix.RTPROT_BGP, Metric: 20, Hops: []Hop{{Link: 7, Via: netip.MustParseAddr("10.0.1.2"), Weight: 1}}}
	if !ok || e.Kind != RouteAdd || e.Route.Prefix != want.Prefix || e.Route.Table != 254 || e.Route.Metric != 20 || e.Route.Proto != want.Proto || len(e.Route.Hops) != 1 || e.Route.Hops[0] != want.Hops[0] {
		t.Fatalf("parse: %+v %v, want %+v", e, ok, want)
	}
	if a := testing.AllocsPerRun(100, func() { parse(&m) }); a > 1 {
		t.Errorf("%v allocations to parse a route, want at most 1 (its next hop)", a)
	}
	// The reader's parse shares one next hop list among the routes through
	// it: no allocation a route (there was one, its Hops, a million in a
	// full table's burst, each kept in the mirror's view).
	hc := hopCache{}
	e1, _ := parseWith(&m, hc)
	if a := testing.AllocsPerRun(100, func() { parseWith(&m, hc) }); a != 0 {
		t.Errorf("%v allocations to parse a route through a known next hop, want 0", a)
	}
	e2, _ := parseWith(&m, hc)
	if len(e2.Route.Hops) != 1 || e2.Route.Hops[0] != want.Hops[0] || &e1.Route.Hops[0] != &e2.Route.Hops[0] {
		t.Errorf("parseWith: hops %+v (%p, %p), want %+v shared", e2.Route.Hops, &e1.Route.Hops[0], &e2.Route.Hops[0], want.Hops)
	}
}

// TestOpenRcvBufHoldsBurst: the notification socket's receive buffer, as
// the kernel set it, holds over half a full table's IPv4 route
// notifications (832 bytes each as the kernel counts them) unread: 64 MiB
// held some 160,000 and overflowed in the netlink-full-table burst, and
// the resync that follows an overflow costs more than the burst.
func TestOpenRcvBufHoldsBurst(t *testing.T) {
	ns := kernelNS(t)
	src, err := Open(ns, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	got, err := unix.GetsockoptInt(src.(*nlSource).fd, unix.SOL_SOCKET, unix.SO_RCVBUF)
	if err != nil {
		t.Fatal(err)
	}
	if n := got / 832; n < 500000 {
		t.Errorf("receive buffer %d bytes: room for %d IPv4 route notifications, want at least 500,000", got, n)
	}
}

// TestNetlinkTruncatedIsLost: a notification longer than the reader's
// buffer is cut short by the kernel (MSG_TRUNC); Read reports it as lost
// (ErrOverflow), so the mirror resyncs, instead of dropping what it said
// without a word. Here the buffers are 512 bytes and a link notification
// (with its statistics) is longer.
func TestNetlinkTruncatedIsLost(t *testing.T) {
	ns := kernelNS(t)
	old := recvBufLen
	recvBufLen = 512
	defer func() { recvBufLen = old }()
	src, err := Open(ns, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	ipns(t, ns, "link", "add", "trunc0", "type", "veth", "peer", "name", "trunc1")
	for reads := 0; ; reads++ {
		evs, err := src.Read()
		if err == ErrOverflow {
			break
		}
		if err != nil || reads > 100 {
			t.Fatalf("read %d: %v, %d events: want ErrOverflow for the truncated link notification", reads, err, len(evs))
		}
	}
}

// TestReadReusesRecycled: a slice the applier gives back (Recycle) is the
// next one Read fills; a small one is not kept.
func TestReadReusesRecycled(t *testing.T) {
	s := &nlSource{free: make(chan []Event, recvFree)}
	a := append(s.events(recvBatch), Event{Kind: RouteAdd})
	s.Recycle(a)
	b := s.events(200)
	if len(b) != 0 || cap(b) < 200 || &b[:1][0] != &a[0] {
		t.Fatalf("events after Recycle: len %d cap %d, not the recycled slice", len(b), cap(b))
	}
	s.Recycle(make([]Event, 0, 3))
	select {
	case <-s.free:
		t.Fatal("a small slice was kept")
	default:
	}
	if c := s.events(3); cap(c) != 3 {
		t.Fatalf("events(3): cap %d, want a slice of 3", cap(c))
	}
}
