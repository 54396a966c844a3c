package run

import (
	"github.com/softnet/softnet/config"
	"github.com/softnet/softnet/port/afpacket"
)

func init() {
	register(config.AFPacket, func(_ *config.Config, ic *config.Interface, queues int) (*opened, error) {
		// Promiscuous: a router sees frames for its own MAC, which is the
		// device's only when the config gives none. ARP gets a queue of
		// its own (the last, polled like the others), so that a flood
		// filling the data rings cannot starve neighbour resolution.
		p, err := afpacket.Open(ic.Device, afpacket.Options{Queues: queues, Promisc: true, ControlQueue: true, StackDrop: ic.StackDrop})
		if err != nil {
			return nil, err
		}
		return &opened{
			port:   p,
			queues: p.Queues(),
			mac:    p.MAC(),
			mtu:    p.MTU(),
			stats: func() PortStats {
				s := p.Stats()
				return PortStats{Up: s.Up, LastError: s.LastError, KernelDrops: s.KernelDrops, Reopens: s.Reopens,
					PortDrops: portDrops("rx-oversize", s.RxOversize, "rx-csum-partial", s.RxCsumPartial,
						"tx-ring-full", s.TxRingFull, "tx-busy", s.TxBusy, "tx-bad-length", s.TxBadLength,
						"tx-down", s.TxDown, "tx-no-carrier", s.TxNoCarrier, "errors", s.Errors),
					PortCounters: portDrops("rx-csum-finished", s.RxCsumFinished, "rx-gso-split", s.RxGSOSplit)}
			},
			close: p.Close,
		}, nil
	})
}
