// Command peers runs softnet's forwarding benchmark workload ("ip4-forward":
// 64-byte IPv4/UDP frames forwarded between two in-memory ports with the full
// Internet table loaded) through gVisor's netstack, so that the figures can be
// compared with `softnet bench --json`.
//
// It lives in its own module so that softnet itself never depends on gVisor.
//
// gVisor keeps its route table as a linked list sorted by prefix length,
// longest first, and FindRoute walks it from the front until the first entry
// that contains the destination: a lookup costs O(routes). With the full table
// that is hundreds of thousands of entries per packet, and that cost is what
// this program reports.
package main

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	snbench "github.com/softnet/softnet/bench"
	"hash/fnv"
	"io"
	"net/netip"
	"os"
	"reflect"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"sort"
	"strconv"
	"strings"
	"time"
	"unsafe"

	"github.com/softnet/softnet"
	"gvisor.dev/gvisor/pkg/buffer"
	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/link/channel"
	"gvisor.dev/gvisor/pkg/tcpip/link/ethernet"
	"gvisor.dev/gvisor/pkg/tcpip/network/arp"
	"gvisor.dev/gvisor/pkg/tcpip/network/ipv4"
	"gvisor.dev/gvisor/pkg/tcpip/stack"
)

const (
	packetSize = 64
	numFrames  = 65536
	numHops    = 16
	mtu        = 1500
	queueLen   = 1024
	// batch is how many frames are injected between two drains of the egress
	// queue and two clock reads.
	batch = 16

	ingressNIC tcpip.NICID = 1
	egressNIC  tcpip.NICID = 2

	// publicLoadLimit is the largest table loaded with the public
	// Stack.SetRouteTable. Above it the list is built directly; see loadRoutes.
	publicLoadLimit = 16384
)

var (
	ingressMAC = tcpip.LinkAddress("\x02\x00\x00\x00\x00\x01")
	egressMAC  = tcpip.LinkAddress("\x02\x00\x00\x00\x01\x01")
	peerMAC    = [6]byte{0x02, 0, 0, 0, 0, 0x02} // source MAC of injected frames

	ingressAddr = netip.MustParsePrefix("192.0.2.1/24")
	egressAddr  = netip.MustParsePrefix("198.51.100.1/24")
	srcIP       = netip.MustParseAddr("192.0.2.2")
)

// hopAddr is next hop i (0-based): 198.51.100.10+i.
func hopAddr(i int) tcpip.Address { return tcpip.AddrFrom4([4]byte{198, 51, 100, byte(10 + i)}) }

// hopMAC is next hop i's link address: 02:00:00:00:02:(0x10+i).
func hopMAC(i int) tcpip.LinkAddress {
	return tcpip.LinkAddress([]byte{0x02, 0, 0, 0, 0x02, byte(0x10 + i)})
}

// nextHop is softnet's next-hop choice for prefix p: index 1 + FNV-1a-32 of the
// four address bytes and the prefix length, mod 16. It returns the 0-based hop.
func nextHop(p netip.Prefix) int {
	h := fnv.New32a()
	a := p.Addr().As4()
	h.Write(a[:])
	h.Write([]byte{byte(p.Bits())})
	return int(h.Sum32() % numHops) // index-1
}

// readTable returns the IPv4 prefixes of softnet.FullTableGz in file order,
// the first limit of them if limit > 0.
func readTable(limit int) ([]netip.Prefix, error) {
	zr, err := gzip.NewReader(bytes.NewReader(softnet.FullTableGz))
	if err != nil {
		return nil, err
	}
	var out []netip.Prefix
	sc := bufio.NewScanner(zr)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' {
			continue
		}
		p, err := netip.ParsePrefix(line)
		if err != nil {
			return nil, fmt.Errorf("table: %q: %v", line, err)
		}
		if !p.Addr().Is4() {
			continue
		}
		out = append(out, p.Masked())
		if limit > 0 && len(out) == limit {
			break
		}
	}
	if err := sc.Err(); err != nil && !errors.Is(err, io.EOF) {
		return nil, err
	}
	return out, nil
}

func subnet(p netip.Prefix) tcpip.Subnet {
	return tcpip.AddressWithPrefix{Address: tcpip.AddrFrom4(p.Addr().As4()), PrefixLen: p.Bits()}.Subnet()
}

// buildRoutes returns the gVisor route table: every table prefix via its next
// hop on the egress NIC plus the two connected subnets, sorted longest prefix
// first (stable), so that the first match of a linear search is the longest.
func buildRoutes(prefixes []netip.Prefix) []tcpip.Route {
	routes := make([]tcpip.Route, 0, len(prefixes)+2)
	routes = append(routes,
		tcpip.Route{Destination: subnet(ingressAddr.Masked()), NIC: ingressNIC},
		tcpip.Route{Destination: subnet(egressAddr.Masked()), NIC: egressNIC},
	)
	for _, p := range prefixes {
		routes = append(routes, tcpip.Route{Destination: subnet(p), Gateway: hopAddr(nextHop(p)), NIC: egressNIC})
	}
	sort.SliceStable(routes, func(i, j int) bool {
		return routes[i].Destination.Prefix() > routes[j].Destination.Prefix()
	})
	return routes
}

// loadRoutes installs routes (sorted longest first) into s.
//
// Stack.SetRouteTable inserts each route with an O(n) walk of the list (it
// keeps the list sorted), so loading n routes costs O(n²): hours for the
// full table. For small tables the public call is used. For larger ones the
// list is built directly with PushBack in the same order, which yields the same
// list SetRouteTable would build from input already sorted longest first (each
// such insert lands at the tail). TestFastLoadMatchesSetRouteTable checks that.
func loadRoutes(s *stack.Stack, routes []tcpip.Route) {
	loadRoutesWith(s, routes, len(routes) > publicLoadLimit)
}

func loadRoutesWith(s *stack.Stack, routes []tcpip.Route, direct bool) {
	if !direct {
		s.SetRouteTable(routes)
		return
	}
	f := reflect.ValueOf(s).Elem().FieldByName("routeTable")
	if !f.IsValid() || f.Type() != reflect.TypeOf(tcpip.RouteList{}) {
		fmt.Fprintln(os.Stderr, "peers: gVisor's route table layout changed; falling back to SetRouteTable (O(n²))")
		s.SetRouteTable(routes)
		return
	}
	// No traffic has been sent yet, so nothing else holds routeMu.
	l := (*tcpip.RouteList)(unsafe.Pointer(f.UnsafeAddr()))
	l.Reset()
	for i := range routes {
		r := new(tcpip.Route)
		*r = routes[i]
		l.PushBack(r)
	}
}

type bench struct {
	s       *stack.Stack
	ingress *channel.Endpoint
	egress  *channel.Endpoint
}

func newBench(routes []tcpip.Route) (*bench, error) {
	s := stack.New(stack.Options{
		NetworkProtocols: []stack.NetworkProtocolFactory{ipv4.NewProtocol, arp.NewProtocol},
	})
	b := &bench{
		s:       s,
		ingress: channel.New(queueLen, mtu, ingressMAC),
		egress:  channel.New(queueLen, mtu, egressMAC),
	}
	for _, n := range []struct {
		id   tcpip.NICID
		ep   *channel.Endpoint
		addr netip.Prefix
	}{{ingressNIC, b.ingress, ingressAddr}, {egressNIC, b.egress, egressAddr}} {
		if err := s.CreateNIC(n.id, ethernet.New(n.ep)); err != nil {
			return nil, fmt.Errorf("CreateNIC %d: %s", n.id, err)
		}
		pa := tcpip.ProtocolAddress{
			Protocol:          ipv4.ProtocolNumber,
			AddressWithPrefix: tcpip.AddressWithPrefix{Address: tcpip.AddrFrom4(n.addr.Addr().As4()), PrefixLen: n.addr.Bits()},
		}
		if err := s.AddProtocolAddress(n.id, pa, stack.AddressProperties{}); err != nil {
			return nil, fmt.Errorf("AddProtocolAddress %d: %s", n.id, err)
		}
	}
	if err := s.SetForwardingDefaultAndAllNICs(ipv4.ProtocolNumber, true); err != nil {
		return nil, fmt.Errorf("forwarding: %s", err)
	}
	for i := 0; i < numHops; i++ {
		if err := s.AddStaticNeighbor(egressNIC, ipv4.ProtocolNumber, hopAddr(i), hopMAC(i)); err != nil {
			return nil, fmt.Errorf("neighbour %d: %s", i, err)
		}
	}
	loadRoutes(s, routes)
	return b, nil
}

// inject hands one frame to the ingress NIC as a driver would: copied into a
// pooled gVisor buffer, wrapped in a pooled PacketBuffer.
func (b *bench) inject(frame []byte) {
	pkt := stack.NewPacketBuffer(stack.PacketBufferOptions{Payload: buffer.MakeWithData(frame)})
	b.ingress.InjectInbound(0, pkt) // the ethernet wrapper reads the type from the frame
	pkt.DecRef()
}

// drain empties the egress queue and returns how many frames it held. The
// ingress queue (ICMP errors, if any) is emptied too, uncounted.
func (b *bench) drain() int {
	n := 0
	for pkt := b.egress.Read(); pkt != nil; pkt = b.egress.Read() {
		pkt.DecRef()
		n++
	}
	b.ingress.Drain()
	return n
}

// makeFrames pre-builds n frames with softnet's own generator code
// (snbench.Frames), so both benchmarks replay the same destinations, source
// ports and bytes.
func makeFrames(prefixes []netip.Prefix, n int) [][]byte {
	return snbench.Frames(prefixes, n, packetSize)
}

func csum(sum uint32, b []byte) uint16 {
	for i := 0; i+1 < len(b); i += 2 {
		sum += uint32(b[i])<<8 | uint32(b[i+1])
	}
	if len(b)%2 == 1 {
		sum += uint32(b[len(b)-1]) << 8
	}
	for sum>>16 != 0 {
		sum = sum&0xffff + sum>>16
	}
	return uint16(sum)
}

// lpm is a slow reference lookup used only by the self-check.
func lpm(prefixes []netip.Prefix, a netip.Addr) (netip.Prefix, bool) {
	best, ok := netip.Prefix{}, false
	for _, p := range prefixes {
		if p.Contains(a) && (!ok || p.Bits() > best.Bits()) {
			best, ok = p, true
		}
	}
	return best, ok
}

// selfCheck forwards a few frames and checks the output against a reference
// longest-prefix match: right next-hop MAC, our source MAC, TTL 63, valid
// IPv4 checksum, same length.
func (b *bench) selfCheck(prefixes []netip.Prefix, frames [][]byte) error {
	for i := 0; i < 8 && i < len(frames); i++ {
		in := frames[i]
		b.inject(in)
		pkt := b.egress.Read()
		if pkt == nil {
			return fmt.Errorf("frame %d was not forwarded (stats: %v)", i, dropStats(b.s.Stats()))
		}
		out := pkt.ToView().AsSlice()
		out = append([]byte(nil), out...)
		pkt.DecRef()
		dst := netip.AddrFrom4([4]byte(in[30:34]))
		p, ok := lpm(prefixes, dst)
		if !ok {
			return fmt.Errorf("frame %d: %v not in table", i, dst)
		}
		want := hopMAC(nextHop(p))
		switch {
		case len(out) != len(in):
			return fmt.Errorf("frame %d: out length %d, want %d", i, len(out), len(in))
		case tcpip.LinkAddress(out[0:6]) != want:
			return fmt.Errorf("frame %d to %v (%v): dst MAC %v, want %v", i, dst, p, tcpip.LinkAddress(out[0:6]), want)
		case tcpip.LinkAddress(out[6:12]) != egressMAC:
			return fmt.Errorf("frame %d: src MAC %v", i, tcpip.LinkAddress(out[6:12]))
		case out[22] != 63:
			return fmt.Errorf("frame %d: TTL %d", i, out[22])
		case csum(0, out[14:34]) != 0xffff:
			return fmt.Errorf("frame %d: bad IPv4 checksum", i)
		case !bytes.Equal(out[34:], in[34:]):
			return fmt.Errorf("frame %d: L4 bytes changed", i)
		}
	}
	b.drain()
	return nil
}

// dropStats returns the stack's drop counters by reason.
func dropStats(st tcpip.Stats) map[string]uint64 {
	f := st.IP.Forwarding
	return map[string]uint64{
		"stack_dropped":                   st.DroppedPackets.Value(),
		"ip_malformed":                    st.IP.MalformedPacketsReceived.Value(),
		"ip_invalid_destination":          st.IP.InvalidDestinationAddressesReceived.Value(),
		"ip_invalid_source":               st.IP.InvalidSourceAddressesReceived.Value(),
		"ip_disabled":                     st.IP.DisabledPacketsReceived.Value(),
		"ip_outgoing_errors":              st.IP.OutgoingPacketErrors.Value(),
		"ip_delivered_locally":            st.IP.PacketsDelivered.Value(),
		"fwd_no_route":                    f.Unrouteable.Value(),
		"fwd_ttl_exceeded":                f.ExhaustedTTL.Value(),
		"fwd_link_local_source":           f.LinkLocalSource.Value(),
		"fwd_link_local_destination":      f.LinkLocalDestination.Value(),
		"fwd_initializing_source":         f.InitializingSource.Value(),
		"fwd_packet_too_big":              f.PacketTooBig.Value(),
		"fwd_host_unreachable":            f.HostUnreachable.Value(),
		"fwd_unknown_output_endpoint":     f.UnknownOutputEndpoint.Value(),
		"fwd_outgoing_device_no_buffer":   f.OutgoingDeviceNoBufferSpace.Value(),
		"fwd_outgoing_device_closed":      f.OutgoingDeviceClosedForSend.Value(),
		"nic_tx_dropped_no_buffer":        st.NICs.TxPacketsDroppedNoBufferSpace.Value(),
		"fwd_errors_total":                f.Errors.Value(),
		"nic_malformed_l4":                st.NICs.MalformedL4RcvdPackets.Value(),
		"ip_iptables_forward_dropped":     st.IP.IPTablesForwardDropped.Value(),
		"ip_iptables_prerouting_dropped":  st.IP.IPTablesPreroutingDropped.Value(),
		"ip_iptables_postrouting_dropped": st.IP.IPTablesPostroutingDropped.Value(),
	}
}

// diffDrops returns after-before for the counters that moved.
func diffDrops(before, after map[string]uint64) map[string]uint64 {
	out := map[string]uint64{}
	for k, v := range after {
		if d := v - before[k]; d != 0 {
			out[k] = d
		}
	}
	return out
}

type result struct {
	Scenario        string            `json:"scenario"`
	Impl            string            `json:"impl"`
	ImplVersion     string            `json:"impl_version"`
	Workers         int               `json:"workers"`
	PacketSize      int               `json:"packet_size"`
	Routes          int               `json:"routes"`
	RouteLookup     string            `json:"route_lookup"`
	DurationS       float64           `json:"duration_s"`
	Injected        uint64            `json:"injected"`
	Packets         uint64            `json:"packets"`
	Mpps            float64           `json:"mpps"`
	NsPerPacket     float64           `json:"ns_per_packet"`
	AllocsPerPacket float64           `json:"allocs_per_packet"`
	BytesPerPacket  float64           `json:"bytes_per_packet"`
	Drops           map[string]uint64 `json:"drops"`
	GoVersion       string            `json:"go_version"`
	GOMAXPROCS      int               `json:"gomaxprocs"`
	SetupS          float64           `json:"setup_s"`
}

func gvisorVersion() string {
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, d := range bi.Deps {
			if d.Path == "gvisor.dev/gvisor" {
				return d.Path + " " + d.Version
			}
		}
	}
	return "gvisor.dev/gvisor (unknown version)"
}

func main() {
	duration := flag.Duration("duration", 5*time.Second, "how long to measure")
	routesFlag := flag.String("routes", "full", `table size: "full" or the number N of leading IPv4 prefixes to use`)
	asJSON := flag.Bool("json", false, "print one JSON object")
	cpuProfile := flag.String("cpuprofile", "", "write a CPU profile of the measured run to this file")
	flag.Parse()

	limit := 0
	if *routesFlag != "full" {
		n, err := strconv.Atoi(*routesFlag)
		if err != nil || n < 1 {
			fmt.Fprintf(os.Stderr, "peers: --routes must be \"full\" or a positive number, got %q\n", *routesFlag)
			os.Exit(2)
		}
		limit = n
	}

	setup := time.Now()
	prefixes, err := readTable(limit)
	if err != nil {
		fmt.Fprintln(os.Stderr, "peers:", err)
		os.Exit(1)
	}
	b, err := newBench(buildRoutes(prefixes))
	if err != nil {
		fmt.Fprintln(os.Stderr, "peers:", err)
		os.Exit(1)
	}
	frames := makeFrames(prefixes, numFrames)
	if err := b.selfCheck(prefixes, frames); err != nil {
		fmt.Fprintln(os.Stderr, "peers: self-check failed:", err)
		os.Exit(1)
	}
	setupS := time.Since(setup).Seconds()

	// Warm up (pools, caches) for a short while, then measure.
	run(b, frames, 0, min(*duration/10, 200*time.Millisecond))
	runtime.GC()

	drops0 := dropStats(b.s.Stats())
	var ms0, ms1 runtime.MemStats
	runtime.ReadMemStats(&ms0)
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			fmt.Fprintln(os.Stderr, "peers:", err)
			os.Exit(1)
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			fmt.Fprintln(os.Stderr, "peers:", err)
			os.Exit(1)
		}
	}
	injected, forwarded, elapsed := run(b, frames, 0, *duration)
	if *cpuProfile != "" {
		pprof.StopCPUProfile()
	}
	runtime.ReadMemStats(&ms1)
	drops := diffDrops(drops0, dropStats(b.s.Stats()))

	r := result{
		Scenario:    "ip4-forward",
		Impl:        "gvisor-netstack",
		ImplVersion: gvisorVersion(),
		Workers:     1,
		PacketSize:  packetSize,
		Routes:      len(prefixes),
		RouteLookup: "linear list, longest prefix first: O(routes) per packet",
		DurationS:   elapsed.Seconds(),
		Injected:    injected,
		Packets:     forwarded,
		Drops:       drops,
		GoVersion:   runtime.Version(),
		GOMAXPROCS:  runtime.GOMAXPROCS(0),
		SetupS:      setupS,
	}
	if forwarded > 0 {
		r.Mpps = float64(forwarded) / elapsed.Seconds() / 1e6
		r.NsPerPacket = float64(elapsed.Nanoseconds()) / float64(forwarded)
		r.AllocsPerPacket = float64(ms1.Mallocs-ms0.Mallocs) / float64(forwarded)
		r.BytesPerPacket = float64(ms1.TotalAlloc-ms0.TotalAlloc) / float64(forwarded)
	}

	if *asJSON {
		enc := json.NewEncoder(os.Stdout)
		if err := enc.Encode(r); err != nil {
			fmt.Fprintln(os.Stderr, "peers:", err)
			os.Exit(1)
		}
		return
	}
	printTable(r)
}

// run injects frames round-robin from one goroutine for d, draining the egress
// queue every batch frames, and returns frames injected, frames that came out
// of the egress NIC, and the time taken.
func run(b *bench, frames [][]byte, start int, d time.Duration) (injected, forwarded uint64, elapsed time.Duration) {
	i := start
	t0 := time.Now()
	deadline := t0.Add(d)
	for {
		for k := 0; k < batch; k++ {
			b.inject(frames[i])
			i = (i + 1) & (numFrames - 1)
		}
		injected += batch
		forwarded += uint64(b.drain())
		if now := time.Now(); !now.Before(deadline) {
			return injected, forwarded, now.Sub(t0)
		}
	}
}

func printTable(r result) {
	fmt.Printf("%-18s %s\n", "scenario", r.Scenario)
	fmt.Printf("%-18s %s (%s)\n", "impl", r.Impl, r.ImplVersion)
	fmt.Printf("%-18s %d\n", "workers", r.Workers)
	fmt.Printf("%-18s %d\n", "packet size", r.PacketSize)
	fmt.Printf("%-18s %d (%s)\n", "routes", r.Routes, r.RouteLookup)
	fmt.Printf("%-18s %.3f s\n", "duration", r.DurationS)
	fmt.Printf("%-18s %d\n", "injected", r.Injected)
	fmt.Printf("%-18s %d\n", "forwarded", r.Packets)
	fmt.Printf("%-18s %.6f\n", "Mpps", r.Mpps)
	fmt.Printf("%-18s %.1f\n", "ns/packet", r.NsPerPacket)
	fmt.Printf("%-18s %.2f\n", "allocs/packet", r.AllocsPerPacket)
	fmt.Printf("%-18s %.1f\n", "bytes/packet", r.BytesPerPacket)
	if len(r.Drops) == 0 {
		fmt.Printf("%-18s none\n", "drops")
	} else {
		keys := make([]string, 0, len(r.Drops))
		for k := range r.Drops {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		fmt.Printf("%-18s\n", "drops")
		for _, k := range keys {
			fmt.Printf("  %-32s %d\n", k, r.Drops[k])
		}
	}
	fmt.Printf("%-18s %s, GOMAXPROCS=%d, setup %.1f s\n", "runtime", r.GoVersion, r.GOMAXPROCS, r.SetupS)
}
