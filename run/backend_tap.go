package run

import (
	"github.com/softnet/softnet/config"
	"github.com/softnet/softnet/port/tap"
)

func init() {
	register(config.TAP, func(_ *config.Config, ic *config.Interface, queues int) (*opened, error) {
		// The device's MAC is the kernel's end of the link, not softnet's:
		// the interface takes the configured MAC or DefaultMAC, never it.
		p, err := tap.Open(ic.Device, tap.Options{Queues: queues, MTU: ic.MTU, Up: true})
		if err != nil {
			return nil, err
		}
		return &opened{
			port:   p,
			queues: queues,
			stats: func() PortStats {
				s := p.Stats()
				return PortStats{Up: s.Up, LastError: s.LastError, Reopens: s.Reattaches,
					PortDrops: portDrops("tx-dropped", s.TxDropped, "errors", s.Errors)}
			},
			close: p.Close,
		}, nil
	})
}
