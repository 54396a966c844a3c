package run

import (
	"fmt"
	"hash/fnv"
	"log/slog"
	"net"
	"sort"
	"strings"

	"github.com/softnet/softnet/config"
	"github.com/softnet/softnet/internal/devlock"
	"github.com/softnet/softnet/pkt"
	"github.com/softnet/softnet/port"
)

// opened is a port and what the router needs from its backend.
type opened struct {
	port   port.Port
	queues int     // receive queues
	mac    [6]byte // the device's MAC; zero if the backend has none
	mtu    int     // the device's MTU; 0 if the backend has none
	stats  func() PortStats
	done   func() bool  // pcap: replay over; nil for others
	flush  func() error // nil: nothing to flush
	close  func() error
}

// PortStats is what a backend reports about its port's health.
type PortStats struct {
	Up        bool   // link up: the device up with its carrier (always true for file and memory ports)
	LastError string // afpacket, afxdp, tap: why the port is down ("" once it is up again); pcap: the last I/O error
	// Reopens counts the times the port re-created its device's sockets or
	// the device itself (after the device went down or away): when it
	// grows, the link went and came back, however briefly.
	Reopens     uint64
	KernelDrops uint64 // frames the kernel dropped before softnet saw them
	// Port counts, by name (e.g. "rx-oversize", "tx-busy"): frames the
	// port itself dropped or failed to send, and I/O errors. Only what the
	// backend has; zero counts are left out.
	PortDrops map[string]uint64
	// PortCounters are the port's other work, by name (e.g.
	// "rx-csum-finished"): frames it handled specially and passed on, not
	// drops. Zero counts are left out.
	PortCounters map[string]uint64
}

// portDrops builds PortStats.PortDrops from name/count pairs, leaving out
// zeros (nil when all are zero, so a healthy port costs nothing).
func portDrops(kv ...any) map[string]uint64 {
	var m map[string]uint64
	for i := 0; i+1 < len(kv); i += 2 {
		if n := kv[i+1].(uint64); n > 0 {
			if m == nil {
				m = map[string]uint64{}
			}
			m[kv[i].(string)] = n
		}
	}
	return m
}

// opener opens a port for an interface of the config; queues is the number
// of receive queues wanted (multi-queue backends honour it).
type opener func(c *config.Config, ic *config.Interface, queues int) (*opened, error)

// openers are the backends this build has, registered by backend_*.go.
var openers = map[config.Backend]opener{}

func register(b config.Backend, o opener) { openers[b] = o }

func available() string {
	var s []string
	for b := range openers {
		s = append(s, string(b))
	}
	sort.Strings(s)
	return strings.Join(s, ", ")
}

// openEnv is what a backend that registers the router's buffers with the
// kernel (afxdp: the arena is its UMEM) needs besides the config.
type openEnv struct {
	arena *pkt.Arena
	log   *slog.Logger
}

// umemOpener opens a port whose frames live in the router's arena.
type umemOpener func(c *config.Config, ic *config.Interface, queues int, env openEnv) (*opened, error)

// umemOpeners are the backends of this build that take the arena.
var umemOpeners = map[config.Backend]umemOpener{}

func registerUMEM(b config.Backend, o umemOpener) {
	umemOpeners[b] = o
	openers[b] = nil // listed as available; open calls the umemOpener
}

// arenaOptions is the router's arena of frames buffers: chunks of 4096
// bytes (an AF_XDP UMEM) when an interface uses afxdp, else the default
// (pkt.Stride, any jumbo frame).
func arenaOptions(c *config.Config, frames int) pkt.ArenaOptions {
	o := pkt.ArenaOptions{Frames: frames}
	for i := range c.Interfaces {
		if c.Interfaces[i].Backend == config.AFXDP {
			o.Chunk = 4096
		}
	}
	return o
}

// lentBuffers is how many of a worker's buffers its ports keep lent to
// the kernel (an afxdp queue's fill and RX rings: lendBuffers[backend]
// each), added to the default pool so that forwarding and the control
// plane keep defaultPoolSize to work with. With queues ports' queues
// spread over workers (queue q to worker q%workers), a worker serves up
// to ceil(queues/workers) queues of each port, and each lends its share.
func lentBuffers(c *config.Config, queues, workers int) int {
	workers = max(workers, 1)
	perWorker := max((queues+workers-1)/workers, 1)
	n := 0
	for i := range c.Interfaces {
		n += lendBuffers[c.Interfaces[i].Backend] * perWorker
	}
	return n
}

// lendBuffers is, by backend, the buffers one queue of a port lends the
// kernel out of its worker's pool (set by the backends that do).
var lendBuffers = map[config.Backend]int{}

func open(c *config.Config, ic *config.Interface, queues int, env openEnv) (*opened, error) {
	o, ok := openers[ic.Backend]
	if !ok {
		return nil, fmt.Errorf("backend %s is not available in this build (available: %s)", ic.Backend, available())
	}
	if uo := umemOpeners[ic.Backend]; uo != nil {
		o = func(c *config.Config, ic *config.Interface, queues int) (*opened, error) {
			return uo(c, ic, queues, env)
		}
	}
	if ic.Device == "" || (ic.Backend != config.AFPacket && ic.Backend != config.AFXDP && ic.Backend != config.TAP) {
		return o(c, ic, queues)
	}
	// One softnet per device: a second router on the same device would
	// answer every packet again (devlock). The lock is held until the
	// port is closed, or the process dies.
	l, err := devlock.Acquire(ic.Device)
	if err != nil {
		return nil, err
	}
	op, err := o(c, ic, queues)
	if err != nil {
		l.Release()
		return nil, err
	}
	closePort := op.close
	op.close = func() error {
		err := closePort()
		l.Release()
		return err
	}
	return op, nil
}

// warnForeignSockets warns about each afpacket device on which another
// program has AF_PACKET sockets (devlock.ForeignPacketSockets): a router
// that is not softnet, or one older than its device locks, would answer
// every packet too. tcpdump or a DHCP client are harmless, hence a warning,
// not a refusal. Called once the ports are open, in their namespace.
func warnForeignSockets(log *slog.Logger, ifaces []*iface) {
	for _, ifc := range ifaces {
		if ifc.cfg.Backend != config.AFPacket {
			continue
		}
		d, err := net.InterfaceByName(ifc.cfg.Device)
		if err != nil {
			continue
		}
		if n, err := devlock.ForeignPacketSockets(d.Index); err == nil && n > 0 {
			log.Warn("another program has AF_PACKET sockets on this device: if it forwards or answers packets too (a router that is not softnet, an older softnet), every packet is handled twice and pings show DUP!; tcpdump or a DHCP client are harmless (see ss -0 -p)",
				"interface", ifc.cfg.Name, "device", ifc.cfg.Device, "sockets", n)
		}
	}
}

// DefaultMAC is the MAC of an interface that has neither a configured MAC
// nor a device's: locally administered unicast (02:...), the rest taken
// from a hash of the name, so it is stable across runs.
func DefaultMAC(name string) [6]byte {
	h := fnv.New64a()
	h.Write([]byte(name))
	s := h.Sum64()
	return [6]byte{0x02, byte(s >> 32), byte(s >> 24), byte(s >> 16), byte(s >> 8), byte(s)}
}
