package lab

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"runtime"
	"sync/atomic"
	"time"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"
	"golang.org/x/sys/unix"

	"github.com/softnet/softnet/internal/netns"
)

// The XDP generator: the cheapest source this machine has for the veth
// flood. An XDP program run by BPF_PROG_RUN in live-frames mode
// (BPF_F_TEST_XDP_LIVE_FRAMES, Linux 5.18+) redirects one prebuilt frame
// into host A's veth (a0) again and again: no socket, no skb on the
// sending side, the frame handed to the peer (ra) as an xdp_frame in
// batches (XDPGenBatch per run of the kernel's loop). The receiving veth
// must have NAPI for that, i.e. an XDP program: softnet's own on AF_XDP,
// otherwise the XDP_PASS program XDPGenFlood attaches to ra for the run.
// The program counts what it redirects in a map and stops redirecting
// (XDP_DROP, which only recycles the page) once a limit is reached, so
// the count it reports is exact whatever the syscall's interruptions.

// XDPGenBatch is the frames per batch of the kernel's live-frames loop
// (BatchSize; the kernel's most).
const XDPGenBatch = 256

// xdpGenRepeat is the repeat count of one BPF_PROG_RUN call: short enough
// that a stop is seen within milliseconds.
const xdpGenRepeat = 1 << 16

// FloodFrame is the flood's frame of size bytes (without FCS, at least
// 42): Ethernet to router, IPv4 from host A to FloodDst (checksum set, TTL
// 64), UDP 4000 → 9, zero payload: what the trafgen flood sends.
func FloodFrame(router string, size int) ([]byte, error) {
	if size < 42 || size > 1514 {
		return nil, fmt.Errorf("flood frame of %d bytes: use 42..1514", size)
	}
	dst, err := net.ParseMAC(router)
	if err != nil || len(dst) != 6 {
		return nil, fmt.Errorf("router MAC %q: want an Ethernet address like %s", router, MACRA)
	}
	src, _ := net.ParseMAC(MACA)
	b := make([]byte, size)
	copy(b[0:6], dst)
	copy(b[6:12], src)
	binary.BigEndian.PutUint16(b[12:], 0x0800)
	ip := b[14:34]
	ip[0] = 0x45
	binary.BigEndian.PutUint16(ip[2:], uint16(size-14))
	ip[8], ip[9] = 64, 17
	a, d := AddrA.Addr().As4(), FloodDst.As4()
	copy(ip[12:16], a[:])
	copy(ip[16:20], d[:])
	var sum uint32
	for i := 0; i < len(ip); i += 2 {
		sum += uint32(binary.BigEndian.Uint16(ip[i:]))
	}
	for sum > 0xffff {
		sum = sum>>16 + sum&0xffff
	}
	binary.BigEndian.PutUint16(ip[10:], ^uint16(sum))
	udp := b[34:]
	binary.BigEndian.PutUint16(udp[0:], 4000)
	binary.BigEndian.PutUint16(udp[2:], 9)
	binary.BigEndian.PutUint16(udp[4:], uint16(len(udp)))
	return b, nil
}

// XDPGen sends frames into a veth by BPF_PROG_RUN (see above). Make it
// with NewXDPGen, run Send, Close it.
type XDPGen struct {
	ns    string
	frame []byte
	prog  *ebpf.Program
	state *ebpf.Map // one entry: {sent, limit uint64}
	stop  atomic.Bool
	cpu   time.Duration // the sending thread's CPU time in the last Send
}

// NewXDPGen loads the generator's program redirecting frame to dev in
// namespace ns.
func NewXDPGen(ns, dev string, frame []byte) (*XDPGen, error) {
	if len(frame) < 14 {
		return nil, fmt.Errorf("xdp generator: a %d-byte frame has no Ethernet header", len(frame))
	}
	var ifindex int
	if err := netns.Do(ns, func() error {
		ifc, err := net.InterfaceByName(dev)
		if err == nil {
			ifindex = ifc.Index
		}
		return err
	}); err != nil {
		return nil, fmt.Errorf("xdp generator: %s in %s: %w", dev, ns, err)
	}
	state, err := ebpf.NewMap(&ebpf.MapSpec{Name: "softnet_gen", Type: ebpf.Array, KeySize: 4, ValueSize: 16, MaxEntries: 1})
	if err != nil {
		return nil, fmt.Errorf("xdp generator: its map: %w (needs root and a kernel with BPF)", err)
	}
	// The kernel recycles the live frames' pages without copying the
	// frame in again, and whoever received a frame may have rewritten it
	// in place (Linux forwarding rewrites the MACs and the TTL): the
	// program writes the headers (all but the zero payload) back first.
	hdr := min(len(frame), 42)
	restore := asm.Instructions{
		asm.LoadMem(asm.R2, asm.R1, 0, asm.Word), // data
		asm.LoadMem(asm.R3, asm.R1, 4, asm.Word), // data_end
		asm.Mov.Reg(asm.R4, asm.R2),
		asm.Add.Imm(asm.R4, int32(hdr)),
		asm.JGT.Reg(asm.R4, asm.R3, "drop"),
	}
	for off := 0; off < hdr; {
		switch {
		case hdr-off >= 4:
			restore = append(restore, asm.StoreImm(asm.R2, int16(off), int64(int32(binary.LittleEndian.Uint32(frame[off:]))), asm.Word))
			off += 4
		case hdr-off >= 2:
			restore = append(restore, asm.StoreImm(asm.R2, int16(off), int64(binary.LittleEndian.Uint16(frame[off:])), asm.Half))
			off += 2
		default:
			restore = append(restore, asm.StoreImm(asm.R2, int16(off), int64(frame[off]), asm.Byte))
			off++
		}
	}
	prog, err := ebpf.NewProgram(&ebpf.ProgramSpec{Name: "softnet_gen", Type: ebpf.XDP, License: "GPL", Instructions: append(restore, asm.Instructions{
		// r0 = &state[0]
		asm.StoreImm(asm.R10, -4, 0, asm.Word),
		asm.Mov.Reg(asm.R2, asm.R10),
		asm.Add.Imm(asm.R2, -4),
		asm.LoadMapPtr(asm.R1, state.FD()),
		asm.FnMapLookupElem.Call(),
		asm.JEq.Imm(asm.R0, 0, "drop"),
		// if sent >= limit: drop; else sent++ and redirect to ifindex.
		asm.LoadMem(asm.R1, asm.R0, 0, asm.DWord),
		asm.LoadMem(asm.R2, asm.R0, 8, asm.DWord),
		asm.JGE.Reg(asm.R1, asm.R2, "drop"),
		asm.Add.Imm(asm.R1, 1),
		asm.StoreMem(asm.R0, 0, asm.R1, asm.DWord),
		asm.Mov.Imm(asm.R1, int32(ifindex)),
		asm.Mov.Imm(asm.R2, 0),
		asm.FnRedirect.Call(),
		asm.Return(),
		asm.Mov.Imm(asm.R0, 1).WithSymbol("drop"), // XDP_DROP
		asm.Return(),
	}...)})
	if err != nil {
		state.Close()
		return nil, fmt.Errorf("xdp generator: loading its program: %w (needs root and a kernel with BPF)", err)
	}
	return &XDPGen{ns: ns, frame: frame, prog: prog, state: state}, nil
}

// Close unloads the program.
func (g *XDPGen) Close() error {
	return errors.Join(g.prog.Close(), g.state.Close())
}

// Sent is what the generator redirected so far in its current Send.
func (g *XDPGen) Sent() (uint64, error) {
	var v [2]uint64
	if err := g.state.Lookup(uint32(0), &v); err != nil {
		return 0, fmt.Errorf("xdp generator: reading its count: %w", err)
	}
	return v[0], nil
}

// CPUTime is the CPU time (user and system, with the softirq work the
// kernel charged to it) the sending thread used in the last Send.
func (g *XDPGen) CPUTime() time.Duration { return g.cpu }

// Stop makes a running Send return.
func (g *XDPGen) Stop() { g.stop.Store(true) }

// Send redirects the frame count times (0: until Stop or ctx ends) from
// a thread in the generator's namespace pinned to cpu (-1: not pinned),
// and returns how many it sent: exactly count unless stopped early or a
// run failed.
func (g *XDPGen) Send(ctx context.Context, count uint64, cpu int) (uint64, error) {
	limit := count
	if limit == 0 {
		limit = ^uint64(0)
	}
	if err := g.state.Put(uint32(0), [2]uint64{0, limit}); err != nil {
		return 0, fmt.Errorf("xdp generator: resetting its count: %w", err)
	}
	g.stop.Store(false)
	err := netns.Do(g.ns, func() error {
		if cpu >= 0 {
			var old, set unix.CPUSet
			if err := unix.SchedGetaffinity(0, &old); err != nil {
				return fmt.Errorf("pinning to cpu %d: %w", cpu, err)
			}
			set.Set(cpu)
			if err := unix.SchedSetaffinity(0, &set); err != nil {
				return fmt.Errorf("pinning to cpu %d: %w", cpu, err)
			}
			defer unix.SchedSetaffinity(0, &old)
		}
		runtime.LockOSThread() // netns.Do holds it already; explicit for the pin
		defer runtime.UnlockOSThread()
		var r0 unix.Rusage
		unix.Getrusage(unix.RUSAGE_THREAD, &r0)
		defer func() {
			var r1 unix.Rusage
			unix.Getrusage(unix.RUSAGE_THREAD, &r1)
			g.cpu = time.Duration(r1.Utime.Nano() + r1.Stime.Nano() - r0.Utime.Nano() - r0.Stime.Nano())
		}()
		for !g.stop.Load() && ctx.Err() == nil {
			sent, err := g.Sent()
			if err != nil {
				return err
			}
			if sent >= limit {
				return nil
			}
			rep := uint64(xdpGenRepeat)
			if limit-sent < rep {
				rep = limit - sent
			}
			if _, err := g.prog.Run(&ebpf.RunOptions{Data: g.frame, Repeat: uint32(rep), Flags: unix.BPF_F_TEST_XDP_LIVE_FRAMES, BatchSize: XDPGenBatch}); err != nil {
				return fmt.Errorf("BPF_PROG_RUN in live-frames mode: %w (needs Linux 5.18 or later)", err)
			}
		}
		return nil
	})
	sent, serr := g.Sent()
	if err == nil {
		err = serr
	}
	if err != nil {
		return sent, fmt.Errorf("xdp generator into %s: %w", g.ns, err)
	}
	return sent, nil
}

// PassAtRouter attaches an XDP_PASS program to the router's ingress veth
// (ra) in native mode and returns the function that detaches it: the
// frames of the XDP generator reach a veth only if it has an XDP program
// (its NAPI), and this one hands every frame to the stack (Linux
// forwarding, softnet on AF_PACKET) unchanged.
func (t *Topology) PassAtRouter() (detach func() error, err error) {
	return t.attachAtRouter("softnet_pass", 2 /* XDP_PASS */)
}

// RunXDPFlood is RunFlood with the XDP generator as the source instead of
// trafgen: the same frames, from a thread pinned to cpu in host A's
// namespace, the same counting on the veths. Flood.Sent is then what the
// generator redirected into a0 (by its own count), which a0's counters
// confirm. ra must have an XDP program (PassAtRouter, DropAtRouter or
// softnet's on AF_XDP), or the veth drops every frame.
func (t *Topology) RunXDPFlood(ctx context.Context, dur time.Duration, size, cpu int) (Flood, error) {
	router, err := t.RouterMAC(ctx)
	if err != nil {
		return Flood{}, err
	}
	frame, err := FloodFrame(router, size)
	if err != nil {
		return Flood{}, err
	}
	g, err := NewXDPGen(t.A, DevA, frame)
	if err != nil {
		return Flood{}, err
	}
	defer g.Close()
	var sent uint64
	exited := make(chan error, 1)
	defer func() {
		g.Stop()
	}()
	f, err := t.floodWindow(ctx, dur, size, cpu, nil, func() (<-chan error, error) {
		go func() {
			n, err := g.Send(ctx, 0, cpu)
			sent = n
			exited <- err
		}()
		return exited, nil
	}, g.Stop, func(err error) error {
		return fmt.Errorf("the xdp generator stopped early: %v", err)
	})
	if err != nil {
		g.Stop()
		return f, err
	}
	f.Sent = sent
	f.setSenderCPU(g.CPUTime())
	if f.Sent > f.Received {
		f.Lost = f.Sent - f.Received
	} else {
		f.Lost = 0
	}
	if f.Sent > 0 {
		f.LossPct = 100 * float64(f.Lost) / float64(f.Sent)
	}
	return f, nil
}
