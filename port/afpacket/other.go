//go:build !linux

package afpacket

import (
	"errors"

	"github.com/softnet/softnet/pkt"
)

// Port is an AF_PACKET port. AF_PACKET exists only on Linux.
type Port struct{}

var errNotLinux = errors.New("afpacket: AF_PACKET needs Linux: use another port backend on this system")

// Open always fails outside Linux.
func Open(dev string, o Options) (*Port, error) { return nil, errNotLinux }

// DisableOffloads always fails outside Linux.
func DisableOffloads(dev string) error { return errNotLinux }

func (p *Port) Name() string                                     { return "" }
func (p *Port) Recv(queue int, v *pkt.Batch, pool *pkt.Pool) int { return 0 }
func (p *Port) Send(queue int, v *pkt.Batch, pool *pkt.Pool) int {
	pool.PutBatch(v)
	return 0
}
func (p *Port) Close() error { return nil }
func (p *Port) Stats() Stats { return Stats{} }
func (p *Port) MAC() [6]byte { return [6]byte{} }
func (p *Port) MTU() int     { return 0 }
func (p *Port) Queues() int  { return 0 }

// TxQueues returns 0: there is no queue.
func (p *Port) TxQueues() int { return 0 }

// WaitFD returns -1: there is no descriptor to wait on.
func (p *Port) WaitFD(queue int) int { return -1 }
