package afxdp

import (
	"errors"
	"fmt"
	"os"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"
	"github.com/cilium/ebpf/link"
	"golang.org/x/sys/unix"
)

// Attach modes, as Options.Mode and Port.Mode name them.
const (
	ModeAuto    = ""        // native, else generic (the reason logged)
	ModeNative  = "native"  // the driver runs the program (XDP_FLAGS_DRV_MODE)
	ModeGeneric = "generic" // the stack runs it on the skb (XDP_FLAGS_SKB_MODE): any device, slower
)

// xdpProgram is the redirect program: each frame goes to the XDP socket
// in the XSKMAP entry of the queue it arrived on; where that entry is
// empty (a queue softnet has no socket on), bpf_redirect_map's flags
// argument makes it XDP_PASS, so the frame goes to the stack as without
// softnet.
//
//	r2 = ctx->rx_queue_index
//	r1 = &xskmap
//	r3 = XDP_PASS
//	return bpf_redirect_map(r1, r2, r3)
func xdpProgram(xsks *ebpf.Map) asm.Instructions {
	const rxQueueIndex = 16 // offsetof(struct xdp_md, rx_queue_index)
	return asm.Instructions{
		asm.LoadMem(asm.R2, asm.R1, rxQueueIndex, asm.Word),
		asm.LoadMapPtr(asm.R1, xsks.FD()),
		asm.Mov.Imm(asm.R3, 2), // XDP_PASS
		asm.FnRedirectMap.Call(),
		asm.Return(),
	}
}

// program is a loaded redirect program, its XSKMAP and its link.
type program struct {
	xsks *ebpf.Map
	prog *ebpf.Program
	link link.Link
	mode string
	why  string // why this mode (logged once)
}

// attach loads the program with an XSKMAP of queues entries and links it
// to device ifindex in mode (ModeAuto: native, else generic). The link is
// a BPF link: it goes away with softnet's last file descriptor of it, so
// a killed softnet leaves no program on the device.
func attach(dev string, ifindex, queues int, mode string) (*program, error) {
	xsks, err := ebpf.NewMap(&ebpf.MapSpec{Name: "softnet_xsks", Type: ebpf.XSKMap, KeySize: 4, ValueSize: 4, MaxEntries: uint32(queues)})
	if err != nil {
		return nil, explain("creating the XSKMAP", err)
	}
	prog, err := ebpf.NewProgram(&ebpf.ProgramSpec{Name: "softnet_xsk", Type: ebpf.XDP, License: "GPL", Instructions: xdpProgram(xsks)})
	if err != nil {
		xsks.Close()
		return nil, explain("loading the XDP program", err)
	}
	p := &program{xsks: xsks, prog: prog}
	try := func(m string, flags link.XDPAttachFlags) error {
		l, err := link.AttachXDP(link.XDPOptions{Program: prog, Interface: ifindex, Flags: flags})
		if err == nil {
			p.link, p.mode = l, m
		}
		return err
	}
	switch mode {
	case ModeNative:
		if err = try(ModeNative, link.XDPDriverMode); err == nil {
			p.why = "asked for (mode: native)"
		}
	case ModeGeneric:
		if err = try(ModeGeneric, link.XDPGenericMode); err == nil {
			p.why = "asked for (mode: generic)"
		}
	default:
		nerr := try(ModeNative, link.XDPDriverMode)
		if nerr == nil {
			p.why = "the driver runs XDP programs"
			break
		}
		if err = try(ModeGeneric, link.XDPGenericMode); err == nil {
			p.why = fmt.Sprintf("the driver cannot run XDP programs (native attach: %v)", nerr)
		}
	}
	if err != nil {
		p.close()
		return nil, explain(fmt.Sprintf("attaching the XDP program to %s", dev), err)
	}
	return p, nil
}

// setSocket puts socket fd in the XSKMAP entry of queue.
func (p *program) setSocket(queue, fd int) error {
	if err := p.xsks.Update(uint32(queue), uint32(fd), ebpf.UpdateAny); err != nil {
		return fmt.Errorf("XSKMAP entry %d: %w", queue, err)
	}
	return nil
}

func (p *program) close() {
	if p.link != nil {
		p.link.Close()
	}
	p.prog.Close()
	p.xsks.Close()
}

// explain turns a BPF error into one that names what is missing.
func explain(what string, err error) error {
	switch {
	case errors.Is(err, unix.EPERM) || errors.Is(err, os.ErrPermission):
		return fmt.Errorf("%s: %w: needs CAP_BPF and CAP_NET_ADMIN (run softnet as root), and, on kernels before 5.11, a RLIMIT_MEMLOCK large enough for BPF maps (ulimit -l unlimited)", what, err)
	case errors.Is(err, ebpf.ErrNotSupported) || errors.Is(err, unix.EINVAL) || errors.Is(err, unix.ENOSYS):
		return fmt.Errorf("%s: %w: this kernel lacks what AF_XDP needs (BPF links for XDP: Linux 5.9 or later, XSKMAP: CONFIG_XDP_SOCKETS); use backend: afpacket", what, err)
	case errors.Is(err, unix.EOPNOTSUPP):
		return fmt.Errorf("%s: %w: the device's driver does not support this XDP mode; leave mode to softnet (it falls back to generic XDP) or use backend: afpacket", what, err)
	case errors.Is(err, unix.EBUSY) || errors.Is(err, unix.EEXIST):
		return fmt.Errorf("%s: %w: another XDP program is attached to the device (ip link show; ip link set dev DEV xdp off removes a legacy one)", what, err)
	}
	return fmt.Errorf("%s: %w", what, err)
}
