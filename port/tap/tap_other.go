//go:build !linux

package tap

import (
	"errors"

	"github.com/softnet/softnet/pkt"
)

// Port is a TAP port; on this OS it cannot be opened.
type Port struct{}

// Open fails: TAP ports need Linux.
func Open(name string, o Options) (*Port, error) {
	return nil, errors.New("tap: TAP ports need Linux (/dev/net/tun)")
}

// Name implements port.Port.
func (p *Port) Name() string { return "" }

// Recv implements port.Port: it receives nothing.
func (p *Port) Recv(queue int, v *pkt.Batch, pool *pkt.Pool) int { return 0 }

// Send implements port.Port: it frees every buffer.
// TxQueues returns 0: there is no queue.
func (p *Port) TxQueues() int { return 0 }

func (p *Port) Send(queue int, v *pkt.Batch, pool *pkt.Pool) int {
	pool.PutBatch(v)
	return 0
}

// WaitFD returns -1: there is no descriptor to wait on.
func (p *Port) WaitFD(queue int) int { return -1 }

// Close does nothing.
func (p *Port) Close() error { return nil }

// Stats returns zero counters.
func (p *Port) Stats() Stats { return Stats{} }

// MAC returns the zero address.
func (p *Port) MAC() [6]byte { return [6]byte{} }
