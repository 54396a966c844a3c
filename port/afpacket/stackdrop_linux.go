package afpacket

import (
	"errors"
	"fmt"
	"net"
	"os"
	"sync"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"
	"github.com/cilium/ebpf/link"
	"golang.org/x/sys/unix"
)

// stackDrop is Options.StackDrop's tc ingress program: it returns
// TC_ACT_SHOT for every frame. The kernel hands a received frame to the
// packet sockets bound with ETH_P_ALL (every queue's, the control
// queue's too) before it runs tc ingress, so softnet still gets each
// frame; only the namespace's own stack no longer does (see doc.go,
// Stack drop). Attached through a tcx BPF link: it goes away when the
// port closes or softnet dies, and with the device.
type stackDrop struct {
	mu      sync.Mutex // queues reopen on their own goroutines
	prog    *ebpf.Program
	link    link.Link
	ifindex int
}

// attachStackDrop attaches the drop program to the device as it is now,
// unless it already is on that device (a deleted and re-created device
// has a new index and no program). At Open and after a queue reopens.
func (p *Port) attachStackDrop() error {
	d := p.drop
	d.mu.Lock()
	defer d.mu.Unlock()
	ifc, err := net.InterfaceByName(p.name)
	if err != nil {
		return fmt.Errorf("afpacket: %s: stack drop: %w", p.name, err)
	}
	if d.link != nil && d.ifindex == ifc.Index {
		return nil
	}
	if d.prog == nil {
		d.prog, err = ebpf.NewProgram(&ebpf.ProgramSpec{Name: "softnet_shot", Type: ebpf.SchedCLS, License: "GPL",
			Instructions: asm.Instructions{asm.Mov.Imm(asm.R0, 2) /* TC_ACT_SHOT */, asm.Return()}})
		if err != nil {
			return stackDropErr(p.name, "loading the tc drop program", err)
		}
	}
	l, err := link.AttachTCX(link.TCXOptions{Program: d.prog, Attach: ebpf.AttachTCXIngress, Interface: ifc.Index})
	if err != nil {
		return stackDropErr(p.name, "attaching the tc ingress drop program", err)
	}
	if d.link != nil {
		d.link.Close()
	}
	d.link, d.ifindex = l, ifc.Index
	return nil
}

// closeStackDrop detaches and unloads the program.
func (p *Port) closeStackDrop() {
	d := p.drop
	if d == nil {
		return
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.link != nil {
		d.link.Close()
		d.link = nil
	}
	if d.prog != nil {
		d.prog.Close()
		d.prog = nil
	}
}

func stackDropErr(dev, what string, err error) error {
	hint := "or set stack_drop: false"
	switch {
	case errors.Is(err, unix.EPERM) || errors.Is(err, os.ErrPermission):
		hint = "needs CAP_BPF and CAP_NET_ADMIN (run softnet as root), " + hint
	case errors.Is(err, ebpf.ErrNotSupported) || errors.Is(err, unix.EINVAL) || errors.Is(err, unix.ENOSYS):
		hint = "needs Linux 6.6 or later (tcx BPF links), " + hint
	}
	return fmt.Errorf("afpacket: %s: stack drop: %s: %w (%s)", dev, what, err, hint)
}
