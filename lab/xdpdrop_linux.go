package lab

import (
	"fmt"
	"net"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"
	"github.com/cilium/ebpf/link"

	"github.com/softnet/softnet/internal/netns"
)

// DropAtRouter attaches an XDP program that drops every frame (XDP_DROP,
// built with cilium/ebpf's asm) to the router's ingress veth (ra), in
// native mode, and returns the function that detaches it. While it is
// attached a flood measures what the source alone pushes into the
// router's ingress veth (Flood.RouterRxMpps): the cost left on the
// sending CPU is trafgen, the a0→ra hand-off and the cheapest receive
// there is, so no router behind ra can show more (the veth scenario's
// generator_limit_mpps). The program is held by a BPF link: it goes away
// with the process.
func (t *Topology) DropAtRouter() (detach func() error, err error) {
	return t.attachAtRouter("softnet_drop", 1 /* XDP_DROP */)
}

// attachAtRouter attaches an XDP program returning verdict to ra (native
// mode) through a BPF link.
func (t *Topology) attachAtRouter(name string, verdict int32) (detach func() error, err error) {
	prog, err := ebpf.NewProgram(&ebpf.ProgramSpec{Name: name, Type: ebpf.XDP, License: "GPL",
		Instructions: asm.Instructions{asm.Mov.Imm(asm.R0, verdict), asm.Return()}})
	if err != nil {
		return nil, fmt.Errorf("loading the XDP program %s: %w (needs root and a kernel with BPF)", name, err)
	}
	var l link.Link
	err = netns.Do(t.R, func() error {
		ifc, err := net.InterfaceByName(DevRA)
		if err != nil {
			return err
		}
		l, err = link.AttachXDP(link.XDPOptions{Program: prog, Interface: ifc.Index, Flags: link.XDPDriverMode})
		return err
	})
	if err != nil {
		prog.Close()
		return nil, fmt.Errorf("attaching the XDP program %s to %s in %s (native mode): %w", name, DevRA, t.R, err)
	}
	return func() error {
		err := l.Close()
		prog.Close()
		return err
	}, nil
}
