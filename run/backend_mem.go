package run

import (
	"github.com/softnet/softnet/config"
	"github.com/softnet/softnet/port/mem"
)

// MemCap is how many sent frames a mem port keeps for Take; beyond it,
// frames are counted and discarded so a long run does not grow.
const MemCap = 4096

func init() {
	register(config.Mem, func(_ *config.Config, ic *config.Interface, _ int) (*opened, error) {
		q := mem.NewQueue(ic.Name)
		q.Cap = MemCap
		return &opened{
			port:   q,
			queues: 1,
			stats:  func() PortStats { return PortStats{Up: true} },
			close:  q.Close,
		}, nil
	})
}
