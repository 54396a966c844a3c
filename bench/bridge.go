package bench

import (
	"net/netip"

	"github.com/softnet/softnet/control"
	"github.com/softnet/softnet/dp"
	"github.com/softnet/softnet/pkt"
)

// ScenarioBridge is ip4-forward's frames switched instead of routed: in0
// and out0 are the members of bridge br0 (with a BVI holding the
// router's table, so the setup costs the same), and the frames are
// addressed to BridgePeerMAC, which each worker learns on out0 before the
// run. Compare with ip4-forward (bridge/ip4-forward).
const ScenarioBridge = "bridge"

// BridgePeerMAC is the bridge scenario's destination, learned on out0.
var BridgePeerMAC = [6]byte{0x02, 0, 0, 0, 0x03, 0x01}

// NewBridge builds the bridge scenario (see ScenarioBridge); frames are
// ip4-forward frames, re-addressed to BridgePeerMAC.
func NewBridge(prefixes []netip.Prefix, frames [][]byte, workers int) (*Forward, error) {
	r := control.New(control.Options{})
	in, err := r.AddInterface(control.IfaceConfig{Name: "in0", MAC: InMAC})
	if err != nil {
		return nil, err
	}
	out, err := r.AddInterface(control.IfaceConfig{Name: "out0", MAC: OutMAC})
	if err != nil {
		return nil, err
	}
	if _, err := r.AddBridge(control.BridgeConfig{Name: "br0", Members: []string{"in0", "out0"},
		BVI: control.IfaceConfig{Name: "bvi0", MAC: [6]byte{0x02, 0, 0, 0, 0x04, 1}, Addrs: []netip.Prefix{OutAddr}}}); err != nil {
		return nil, err
	}
	bvi := r.InterfaceIndex("bvi0")
	for i := 1; i <= NextHops; i++ {
		if err := r.AddNeighbor(bvi, Gateway(i), GatewayMAC(i)); err != nil {
			return nil, err
		}
	}
	if err := r.AddRoutes(prefixes, func(i int) netip.Addr { return Gateway(1 + i%NextHops) }); err != nil {
		return nil, err
	}
	r.Publish()
	bf := make([][]byte, len(frames))
	buf := make([]byte, 0, len(frames)*len(frames[0]))
	for i, f := range frames {
		buf = append(buf, f...)
		g := buf[len(buf)-len(f):]
		copy(g[0:6], BridgePeerMAC[:])
		bf[i] = g
	}
	f := &Forward{Router: r, Routes: r.Routes(), frames: bf, in: in, out: out, txIf: out}
	f.prepare = func(w *dp.Worker) {
		// One frame from BridgePeerMAC on out0: the worker learns it.
		var v pkt.Batch
		b := w.Pool().Get()
		g := b.Reset(60)
		copy(g, bf[0][:60])
		copy(g[0:6], InMAC[:])
		copy(g[6:12], BridgePeerMAC[:])
		v.Push(b)
		w.Process(out, &v)
	}
	f.attach(workers, nil, false)
	return f, nil
}
