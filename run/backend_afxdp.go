package run

import (
	"github.com/softnet/softnet/config"
	"github.com/softnet/softnet/port/afxdp"
)

func init() {
	lendBuffers[config.AFXDP] = afxdp.DefaultFillFrames
	registerUMEM(config.AFXDP, func(_ *config.Config, ic *config.Interface, queues int, env openEnv) (*opened, error) {
		// The UMEM is the router's arena (4096-byte chunks: see
		// arenaOptions); the port logs once which XDP mode and socket
		// mode it got, and why.
		p, err := afxdp.Open(ic.Device, afxdp.Options{Queues: queues, Arena: env.arena, Logger: env.log.With("interface", ic.Name)})
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
				return PortStats{Up: s.DownQueues == 0 && p.LinkUp(), LastError: s.LastError, Reopens: s.Reopens, KernelDrops: s.KernelDrops,
					PortDrops: portDrops("tx-ring-full", s.TxRingFull, "foreign-buffer", s.Foreign, "fill-pool-empty", s.FillEmpty, "tx-down", s.TxDown)}
			},
			close: p.Close,
		}, nil
	})
}
