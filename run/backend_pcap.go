package run

import (
	"github.com/softnet/softnet/config"
	"github.com/softnet/softnet/port/pcapfile"
)

func init() {
	register(config.PCAP, func(c *config.Config, ic *config.Interface, _ int) (*opened, error) {
		p, err := pcapfile.Open(c.Path(ic.RX), c.Path(ic.TX), pcapfile.Options{Loop: ic.Loop, Rate: ic.Rate, Limit: ic.Limit})
		if err != nil {
			return nil, err
		}
		return &opened{
			port:   p,
			queues: 1, // the file is replayed on queue 0
			stats: func() PortStats {
				s := p.Stats()
				return PortStats{Up: true, LastError: s.LastError,
					PortDrops: portDrops("rx-skipped", s.Skipped, "errors", s.Errors)}
			},
			done:  p.Done,
			flush: p.Flush,
			close: p.Close,
		}, nil
	})
}
