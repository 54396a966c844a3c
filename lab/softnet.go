package lab

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/softnet/softnet/internal/netns"
)

// RouterConfig is the `softnet run` config for the lab's router: two
// AF_PACKET interfaces on ra and rb with softnet's own MACs (see
// MACSoftnetA), the links' MTU (1500 here; StartSoftnet uses the
// topology's), the router addresses, and only the flood's sink route and neighbour (see FloodNet):
// both host subnets are connected and softnet resolves hosts A and B with
// ARP.
func RouterConfig(workers int) string { return routerConfig(workers, 1500, "", false, Extra{}) }

// Extra is what a test adds to the router's config (Topology.Extra):
// interface entries (e.g. VLAN sub-interfaces of ra and rb) and neighbour
// entries, each one YAML flow mapping.
type Extra struct {
	Interfaces, Neighbors []string
	// IPv6 adds the router's IPv6 addresses (AddrRA6, AddrRB6) to ra and
	// rb; the hosts get theirs from Topology.EnableIPv6. RA turns Router
	// Advertisements on on rb (router_advertisements: true), so host B
	// autoconfigures an address on fd11:2::/64.
	IPv6, RA bool
}

func routerConfig(workers, mtu int, backend string, stackDrop bool, x Extra) string {
	if workers <= 0 {
		workers = 1
	}
	if backend == "" {
		backend = "afpacket"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "# softnet lab router (generated)\nworkers: %d\ninterfaces:\n", workers)
	for _, i := range []struct {
		dev, mac, addr string
	}{{DevRA, MACSoftnetA, AddrRA.String()}, {DevRB, MACSoftnetB, AddrRB.String()}} {
		if x.IPv6 {
			a6 := AddrRA6
			if i.dev == DevRB {
				a6 = AddrRB6
			}
			i.addr += ", " + a6.String()
		}
		fmt.Fprintf(&b, "  - name: %s\n    backend: %s\n    device: %s\n    mac: \"%s\"\n    mtu: %d\n    addresses: [%s]\n", i.dev, backend, i.dev, i.mac, mtu, i.addr)
		if stackDrop {
			b.WriteString("    stack_drop: true\n")
		}
		if x.RA && i.dev == DevRB {
			b.WriteString("    router_advertisements: true\n")
		}
	}
	for _, ic := range x.Interfaces {
		fmt.Fprintf(&b, "  - %s\n", ic)
	}
	// The flood's sink next hop (see FloodNet).
	fmt.Fprintf(&b, "routes:\n  - {prefix: %s, via: %s}\n", FloodNet, Sink)
	fmt.Fprintf(&b, "neighbors:\n  - {interface: %s, address: %s, mac: \"%s\"}\n", DevRB, Sink, SinkMAC)
	for _, nb := range x.Neighbors {
		fmt.Fprintf(&b, "  - %s\n", nb)
	}
	return b.String()
}

// Softnet is a `softnet run` process serving as the lab's router.
type Softnet struct {
	Config string // path of its config file
	API    string // path of its API socket (in the lab's directory)
	Log    string // path of its standard error (its log)
	Out    string // path of its standard output (the final counters)
	CPU    int    // the CPU it is pinned to, -1 for none
	cmd    *exec.Cmd
	done   chan struct{}
	err    error
}

// StartSoftnet starts bin (the softnet binary) as `run -c CONFIG` in the
// router namespace, pinned to cpu (-1: not pinned), with extra arguments
// and its API on s.API (a later --api in extra wins), and waits until it answers a ping from host A on the router's address.
func (t *Topology) StartSoftnet(ctx context.Context, bin string, workers, cpu int, extra ...string) (*Softnet, error) {
	s := &Softnet{Config: filepath.Join(t.Dir, "router.yaml"), API: filepath.Join(t.Dir, "softnet.sock"), Log: filepath.Join(t.Dir, "softnet.log"), Out: filepath.Join(t.Dir, "softnet.out"), CPU: cpu, done: make(chan struct{})}
	if err := os.WriteFile(s.Config, []byte(routerConfig(workers, t.MTU, t.Backend, t.StackDrop, t.Extra)+t.ExtraTop), 0o644); err != nil {
		return nil, err
	}
	logf, err := os.Create(s.Log)
	if err != nil {
		return nil, err
	}
	defer logf.Close()
	outf, err := os.Create(s.Out)
	if err != nil {
		return nil, err
	}
	defer outf.Close()
	// Its own API socket, so that labs and tests running at once (and a
	// router on the default socket) do not collide.
	args := append([]string{"run", "-c", s.Config, "--api", s.API}, extra...)
	name := bin
	if cpu >= 0 {
		name, args = "taskset", append([]string{"-c", strconv.Itoa(cpu), bin}, args...)
	}
	// Not tied to ctx: Stop ends it, so that its final counters are
	// printed and collected.
	s.cmd = netns.Command(context.Background(), t.R, name, args...)
	s.cmd.Stdout, s.cmd.Stderr = outf, logf
	if err := s.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start softnet: %w", err)
	}
	go func() { s.err = s.cmd.Wait(); close(s.done) }()
	// A full table (the soak's) takes 15 s and more to load on a
	// loaded 2-core machine before the API listens.
	deadline := time.Now().Add(startWithin)
	for {
		if !s.Alive() {
			return nil, fmt.Errorf("softnet exited at start (%v): %s", s.err, s.Output())
		}
		// Ready when it forwards (answers ping) and its API accepts: the
		// data plane can answer before run has opened the API socket (a
		// full table is still loading), and callers go on with API calls.
		p, err := RunPing(ctx, t.A, AddrRA.Addr().String(), 1, 200*time.Millisecond)
		if err == nil && p.Received == 1 && apiListens(s.API) {
			return s, nil
		}
		if ctx.Err() != nil || time.Now().After(deadline) {
			s.Stop()
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			return nil, fmt.Errorf("softnet does not answer ping on %s, or its API does not listen, after %v; its output:\n%s", AddrRA.Addr(), startWithin, s.Output())
		}
	}
}

// startWithin is how long StartSoftnet waits for softnet to forward and
// listen.
const startWithin = 60 * time.Second

// apiListens reports whether a softnet accepts connections on the API
// socket path.
func apiListens(path string) bool {
	c, err := net.DialTimeout("unix", path, time.Second)
	if err != nil {
		return false
	}
	c.Close()
	return true
}

// Alive reports whether the process is still running.
func (s *Softnet) Alive() bool {
	select {
	case <-s.done:
		return false
	default:
		return true
	}
}

// Pid is the process id of softnet.
func (s *Softnet) Pid() int { return s.cmd.Process.Pid }

// Output returns what softnet printed so far: its log, then its
// standard output.
func (s *Softnet) Output() string {
	l, _ := os.ReadFile(s.Log)
	o, _ := os.ReadFile(s.Out)
	return string(l) + string(o)
}

// Counters reads the final counters softnet printed when it stopped.
func (s *Softnet) Counters() Counters {
	o, _ := os.ReadFile(s.Out)
	return ParseCounters(string(o))
}

// Counters are the final counters of `softnet run`.
type Counters struct {
	Interfaces  []IfaceCounters   `json:"interfaces"`
	Drops       map[string]uint64 `json:"drops"`        // by stage/reason
	KernelDrops uint64            `json:"kernel_drops"` // AF_PACKET ring drops, all interfaces
	ICMPErrors  map[string]uint64 `json:"icmp_errors"`  // sent, by kind
	EchoReplies uint64            `json:"echo_replies"`
	// Polls, BusyPolls (polls that filled a batch) and Livelocks (busy
	// polls while the ring kept filling), summed over the workers.
	Polls     uint64 `json:"polls"`
	BusyPolls uint64 `json:"busy_polls"`
	Livelocks uint64 `json:"livelocks"`
}

// IfaceCounters is one interface's line of the final counters.
type IfaceCounters struct {
	Name                                   string
	RxPackets, RxBytes, TxPackets, TxBytes uint64
	KernelDrops                            uint64
}

var (
	dropLineRE = regexp.MustCompile(`^\s+([a-z0-9-]+/[a-z0-9-]+)\s+(\d+)$`)
	icmpKindRE = regexp.MustCompile(`([a-z-]+) (\d+)`)
)

// ParseCounters parses the final report of `softnet run` (its standard
// output): the interface table, "drops:" lines of stage/reason and count,
// "icmp errors sent: kind n, kind n", "icmp echo replies: n".
func ParseCounters(out string) Counters {
	c := Counters{Drops: map[string]uint64{}, ICMPErrors: map[string]uint64{}}
	inTable := false
	for _, l := range strings.Split(out, "\n") {
		f := strings.Fields(l)
		switch {
		case strings.Contains(l, "rx packets") && strings.Contains(l, "kernel drops"):
			inTable = true
			continue
		case len(f) == 0:
			inTable = false
		case inTable && len(f) == 6:
			var n [5]uint64
			for i := range n {
				n[i], _ = strconv.ParseUint(f[i+1], 10, 64)
			}
			c.Interfaces = append(c.Interfaces, IfaceCounters{Name: f[0], RxPackets: n[0], RxBytes: n[1], TxPackets: n[2], TxBytes: n[3], KernelDrops: n[4]})
			c.KernelDrops += n[4]
		case strings.HasPrefix(l, "icmp errors sent:"):
			for _, m := range icmpKindRE.FindAllStringSubmatch(l[len("icmp errors sent:"):], -1) {
				c.ICMPErrors[m[1]], _ = strconv.ParseUint(m[2], 10, 64)
			}
		case strings.HasPrefix(l, "polls:"):
			fmt.Sscanf(l, "polls: %d busy %d livelocks %d", &c.Polls, &c.BusyPolls, &c.Livelocks)
		case strings.HasPrefix(l, "icmp echo replies:"):
			c.EchoReplies, _ = strconv.ParseUint(strings.TrimSpace(l[len("icmp echo replies:"):]), 10, 64)
		default:
			if m := dropLineRE.FindStringSubmatch(l); m != nil {
				c.Drops[m[1]], _ = strconv.ParseUint(m[2], 10, 64)
			}
		}
	}
	return c
}

// Stop interrupts softnet (SIGINT: it prints its counters and exits),
// kills it after 5 s, and returns its output and its exit error (nil for
// a clean exit or death by our SIGINT).
func (s *Softnet) Stop() (string, error) {
	if s.Alive() {
		s.cmd.Process.Signal(os.Interrupt)
		select {
		case <-s.done:
		case <-time.After(5 * time.Second):
			s.cmd.Process.Kill()
			<-s.done
			return s.Output(), errors.New("softnet did not exit within 5 s of SIGINT; killed")
		}
	}
	var ee *exec.ExitError
	if errors.As(s.err, &ee) {
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() && ws.Signal() == syscall.SIGINT {
			return s.Output(), nil
		}
	}
	return s.Output(), s.err
}
