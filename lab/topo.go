package lab

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/softnet/softnet/internal/netns"
	"github.com/softnet/softnet/port/afpacket"
)

// Prefix starts the name of every namespace the lab creates.
const Prefix = "sn-lab-"

// Device names inside the namespaces. Names only need to be unique within
// one namespace, so they are short and fixed.
const (
	DevA  = "a0" // host A's end of the A link
	DevRA = "ra" // the router's end of the A link
	DevRB = "rb" // the router's end of the B link
	DevB  = "b0" // host B's end of the B link
)

// Fixed, locally administered MACs (02:...), so a re-created veth keeps
// its address and trafgen's frames can be built up front.
const (
	MACA  = "02:53:4e:01:00:02"
	MACRA = "02:53:4e:01:00:01"
	MACRB = "02:53:4e:02:00:01"
	MACB  = "02:53:4e:02:00:02"

	// softnet's own MACs on ra and rb, different from the veths': the
	// devices are promiscuous, so frames to softnet reach its AF_PACKET
	// rings while the router namespace's kernel sees them as "for
	// another host" and drops them at once, instead of routing each one a
	// second time (AF_PACKET receives a copy; the stack still runs).
	MACSoftnetA = "02:53:4e:01:01:01"
	MACSoftnetB = "02:53:4e:02:01:01"
)

// Addresses of the lab. NoRoute is a destination host A sends to the
// router but the router has no route for (net unreachable).
var (
	AddrA   = netip.MustParsePrefix("10.11.1.2/24")
	AddrRA  = netip.MustParsePrefix("10.11.1.1/24")
	AddrRB  = netip.MustParsePrefix("10.11.2.1/24")
	AddrB   = netip.MustParsePrefix("10.11.2.2/24")
	NoRoute = netip.MustParseAddr("10.99.0.1")

	// IPv6 (Topology.EnableIPv6, Extra.IPv6): unique local addresses
	// (RFC 4193) on the same two links.
	AddrA6  = netip.MustParsePrefix("fd11:1::2/64")
	AddrRA6 = netip.MustParsePrefix("fd11:1::1/64")
	AddrRB6 = netip.MustParsePrefix("fd11:2::1/64")
	AddrB6  = netip.MustParsePrefix("fd11:2::2/64")

	// The flood's destination: FloodNet, routed (by Linux and by softnet
	// alike) through Sink, a next hop on B's link with a static neighbour
	// entry whose MAC (SinkMAC) no host has. Frames cross the rb→b0 veth
	// and are counted there, then host B's kernel drops them at once as
	// "for another host", before any IP processing. A flood to B itself
	// would make B's kernel route each packet and answer it with ICMP
	// port unreachable, and that work runs on the forwarder's CPU (veth
	// delivers in the sender's softirq), so the benchmark would measure B.
	FloodNet = netip.MustParsePrefix("10.11.9.0/24")
	FloodDst = netip.MustParseAddr("10.11.9.1")
	Sink     = netip.MustParseAddr("10.11.2.99")
)

// SinkMAC is the flood next hop's MAC: on B's link, owned by no host.
const SinkMAC = "02:53:4e:02:00:99"

var seq atomic.Int64

var nameRE = regexp.MustCompile(`^` + regexp.QuoteMeta(Prefix) + `(\d+)-(\d+)-[arb]$`)

// Topology is one lab: three namespaces and two veth pairs.
type Topology struct {
	ID      string // "<pid>-<n>"
	A, R, B string // namespace names
	MTU     int
	// OffloadsOff: the four veths have TSO, GSO, GRO, LRO and checksum
	// offloads off (DisableOffloads). By default they keep the kernel's
	// defaults, as hosts do: TCP super-packets and partial checksums
	// reach the router, which must cope as Linux does.
	OffloadsOff bool
	Dir         string // a temporary directory for configs, removed by Close
	Extra       Extra  // added to the router's config by StartSoftnet
	// ExtraTop is YAML appended to the router's config at the top level
	// (e.g. a bridges section).
	ExtraTop string
	// Backend is the router interfaces' backend in StartSoftnet's config:
	// "afpacket" (also when empty) or "afxdp".
	Backend string
	// StackDrop adds stack_drop: true to the router interfaces (afpacket
	// only): the router namespace's stack no longer processes its copy
	// of each frame softnet takes.
	StackDrop bool
}

// New builds a topology with links of mtu bytes (1500 when 0): namespaces A, R and B, veths A<->R and R<->B,
// host addresses and routes (A and B reach each other, and NoRoute, via
// the router), the veths' offloads left at the kernel's defaults (TSO,
// GSO and tx-checksumming on, as on any host: see NewOffloadsOff), IPv6
// off (no router solicitations or DAD in the counters). The router
// namespace has no addresses and no forwarding: a softnet process or
// KernelForwarding fills that role. On error it removes what it made.
func New(ctx context.Context, mtu int) (t *Topology, err error) {
	return newTopology(ctx, mtu, false)
}

// NewOffloadsOff is New with offloads off on all four veths
// (DisableOffloads): every frame MTU-sized with its checksums computed by
// the sender's stack. The benchmark uses it, so its figures do not depend
// on the hosts' offloads; tests use it to cover both cases.
func NewOffloadsOff(ctx context.Context, mtu int) (t *Topology, err error) {
	return newTopology(ctx, mtu, true)
}

func newTopology(ctx context.Context, mtu int, offloadsOff bool) (t *Topology, err error) {
	if mtu == 0 {
		mtu = 1500
	}
	id := fmt.Sprintf("%d-%d", os.Getpid(), seq.Add(1))
	t = &Topology{ID: id, A: Prefix + id + "-a", R: Prefix + id + "-r", B: Prefix + id + "-b", MTU: mtu, OffloadsOff: offloadsOff}
	defer func() {
		if err != nil {
			t.Close()
			t = nil
		}
	}()
	if t.Dir, err = os.MkdirTemp("", Prefix+id+"-"); err != nil {
		return t, err
	}
	for _, ns := range []string{t.A, t.R, t.B} {
		if err = netns.Add(ctx, ns); err != nil {
			return t, err
		}
		for _, k := range []string{"net.ipv6.conf.all.disable_ipv6", "net.ipv6.conf.default.disable_ipv6"} {
			if err = netns.Sysctl(ctx, ns, k, "1"); err != nil {
				return t, err
			}
		}
	}
	if err = netns.AddVeth(ctx, netns.End{NS: t.A, Name: DevA, MAC: MACA}, netns.End{NS: t.R, Name: DevRA, MAC: MACRA}, mtu); err != nil {
		return t, err
	}
	if t.OffloadsOff {
		if err = DisableOffloads(ctx, t.A, DevA); err != nil {
			return t, err
		}
		if err = DisableOffloads(ctx, t.R, DevRA); err != nil {
			return t, err
		}
	}
	if err = t.addB(ctx); err != nil {
		return t, err
	}
	if _, err = netns.IP(ctx, "-n", t.A, "addr", "add", AddrA.String(), "dev", DevA); err != nil {
		return t, err
	}
	for _, dst := range []string{netip.PrefixFrom(AddrB.Addr(), AddrB.Bits()).Masked().String(), netip.PrefixFrom(NoRoute, 16).Masked().String()} {
		if _, err = netns.IP(ctx, "-n", t.A, "route", "add", dst, "via", AddrRA.Addr().String()); err != nil {
			return t, err
		}
	}
	return t, nil
}

// addB creates the R<->B veth and configures host B's side.
func (t *Topology) addB(ctx context.Context) error {
	if err := netns.AddVeth(ctx, netns.End{NS: t.R, Name: DevRB, MAC: MACRB}, netns.End{NS: t.B, Name: DevB, MAC: MACB}, t.MTU); err != nil {
		return err
	}
	if t.OffloadsOff {
		if err := DisableOffloads(ctx, t.B, DevB); err != nil {
			return err
		}
		if err := DisableOffloads(ctx, t.R, DevRB); err != nil {
			return err
		}
	}
	if _, err := netns.IP(ctx, "-n", t.B, "addr", "add", AddrB.String(), "dev", DevB); err != nil {
		return err
	}
	_, err := netns.IP(ctx, "-n", t.B, "route", "add", AddrA.Masked().String(), "via", AddrRB.Addr().String())
	return err
}

// DeleteB deletes host B's veth (and so the router's rb, its peer), as a
// cable pull or a hot-unplugged NIC would.
func (t *Topology) DeleteB(ctx context.Context) error {
	_, err := netns.IP(ctx, "-n", t.B, "link", "del", DevB)
	return err
}

// RestoreB re-creates the R<->B veth deleted by DeleteB, with the same
// names, MACs, address and route.
func (t *Topology) RestoreB(ctx context.Context) error { return t.addB(ctx) }

// KernelForwarding makes Linux the router: the router's addresses on ra
// and rb and ip_forward=1 (on), or none of that (off, the state New
// leaves, for softnet). Host A's and B's neighbour caches are flushed so
// each mode resolves the router afresh.
func (t *Topology) KernelForwarding(ctx context.Context, on bool) error {
	v, op := "0", "del"
	if on {
		v, op = "1", "add"
	}
	if err := netns.Sysctl(ctx, t.R, "net.ipv4.ip_forward", v); err != nil {
		return err
	}
	for _, a := range []struct {
		p   netip.Prefix
		dev string
	}{{AddrRA, DevRA}, {AddrRB, DevRB}} {
		if _, err := netns.IP(ctx, "-n", t.R, "addr", op, a.p.String(), "dev", a.dev); err != nil && on {
			return err
		}
	}
	if on {
		if _, err := netns.IP(ctx, "-n", t.R, "neigh", "replace", Sink.String(), "lladdr", SinkMAC, "dev", DevRB, "nud", "permanent"); err != nil {
			return err
		}
		if _, err := netns.IP(ctx, "-n", t.R, "route", "replace", FloodNet.String(), "via", Sink.String(), "dev", DevRB); err != nil {
			return err
		}
	}
	for _, h := range []struct{ ns, dev string }{{t.A, DevA}, {t.B, DevB}} {
		netns.IP(ctx, "-n", h.ns, "neigh", "flush", "dev", h.dev)
	}
	return nil
}

// EnableIPv6 turns IPv6 on in hosts A and B (New leaves it off
// everywhere) and gives them AddrA6 and AddrB6 (no DAD) and a route to
// each other's subnet through the router: host A via the router's global
// address (AddrRA6), host B via its link-local one on rb (routerLL, as
// softnet derives it from MACSoftnetB), so both resolve the router by
// Neighbor Discovery. The router namespace keeps IPv6 off: its kernel
// must not answer Neighbor Discovery for softnet. Start softnet with
// Extra.IPv6 set.
func (t *Topology) EnableIPv6(ctx context.Context, routerLL netip.Addr) error {
	for _, h := range []struct {
		ns, dev string
		addr    netip.Prefix
		args    []string
	}{
		{t.A, DevA, AddrA6, []string{"route", "add", AddrB6.Masked().String(), "via", AddrRA6.Addr().String(), "dev", DevA}},
		{t.B, DevB, AddrB6, []string{"route", "add", AddrA6.Masked().String(), "via", routerLL.String(), "dev", DevB}},
	} {
		for _, k := range []string{"net.ipv6.conf.all.disable_ipv6", "net.ipv6.conf.default.disable_ipv6", "net.ipv6.conf." + h.dev + ".disable_ipv6"} {
			if err := netns.Sysctl(ctx, h.ns, k, "0"); err != nil {
				return err
			}
		}
		if _, err := netns.IP(ctx, "-n", h.ns, "addr", "add", h.addr.String(), "dev", h.dev, "nodad"); err != nil {
			return err
		}
		if _, err := netns.IP(ctx, append([]string{"-n", h.ns, "-6"}, h.args...)...); err != nil {
			return err
		}
	}
	return nil
}

// Close removes the namespaces (killing what still runs in them, which
// destroys the veths) and the temporary directory. It uses its own
// context so that it also works after the caller's was cancelled.
func (t *Topology) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var errs []error
	for _, ns := range []string{t.A, t.R, t.B} {
		if err := netns.Delete(ctx, ns); err != nil {
			errs = append(errs, err)
		}
	}
	if t.Dir != "" {
		os.RemoveAll(t.Dir)
	}
	return errors.Join(errs...)
}

// CleanStale removes the namespaces (and temporary directories) that
// earlier lab runs left behind: those whose creating process is gone. It
// returns the names it removed.
func CleanStale(ctx context.Context) ([]string, error) {
	names, err := netns.List()
	if err != nil {
		return nil, err
	}
	var gone []string
	var errs []error
	for _, n := range names {
		m := nameRE.FindStringSubmatch(n)
		if m == nil {
			continue
		}
		pid, _ := strconv.Atoi(m[1])
		if alive(pid) {
			continue
		}
		if err := netns.Delete(ctx, n); err != nil {
			errs = append(errs, err)
			continue
		}
		gone = append(gone, n)
	}
	dirs, _ := filepath.Glob(filepath.Join(os.TempDir(), Prefix+"*"))
	for _, d := range dirs {
		f := strings.SplitN(strings.TrimPrefix(filepath.Base(d), Prefix), "-", 2)
		if pid, err := strconv.Atoi(f[0]); err == nil && !alive(pid) {
			os.RemoveAll(d)
		}
	}
	return gone, errors.Join(errs...)
}

func alive(pid int) bool {
	if pid == os.Getpid() {
		return true
	}
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}

// DisableAllOffloads turns the offloads off on the topology's four veths
// (as NewOffloadsOff does) and sets OffloadsOff.
func (t *Topology) DisableAllOffloads(ctx context.Context) error {
	for _, d := range [][2]string{{t.A, DevA}, {t.R, DevRA}, {t.R, DevRB}, {t.B, DevB}} {
		if err := DisableOffloads(ctx, d[0], d[1]); err != nil {
			return err
		}
	}
	t.OffloadsOff = true
	return nil
}

// DisableOffloads turns off segmentation, receive coalescing and checksum
// offloads on dev in namespace ns (afpacket.DisableOffloads, run inside
// ns). Over veth, offloads mean TCP segments of 64 KiB and checksums left
// to "the hardware"; softnet's AF_PACKET port splits and finishes them
// (port/afpacket doc.go, Offloads), so this is only for measuring without
// that work (NewOffloadsOff).
func DisableOffloads(ctx context.Context, ns, dev string) error {
	return netns.Do(ns, func() error { return afpacket.DisableOffloads(dev) })
}
