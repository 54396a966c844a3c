//go:build !linux

package afxdp

import (
	"errors"

	"github.com/softnet/softnet/pkt"
)

// Port is unavailable off Linux.
type Port struct{}

// Open fails off Linux: AF_XDP is a Linux socket family.
func Open(dev string, o Options) (*Port, error) {
	return nil, errors.New("afxdp: AF_XDP needs Linux; use backend: tap or pcap")
}

func (p *Port) Name() string                                     { return "" }
func (p *Port) Close() error                                     { return nil }
func (p *Port) MAC() [6]byte                                     { return [6]byte{} }
func (p *Port) MTU() int                                         { return 0 }
func (p *Port) Queues() int                                      { return 0 }
func (p *Port) Stats() Stats                                     { return Stats{} }
func (p *Port) LinkUp() bool                                     { return false }
func (p *Port) TxQueues() int                                    { return 0 }
func (p *Port) Recv(queue int, v *pkt.Batch, pool *pkt.Pool) int { return 0 }
func (p *Port) Send(queue int, v *pkt.Batch, pool *pkt.Pool) int {
	pool.PutBatch(v)
	return 0
}

// MaxFrame is the largest frame a UMEM chunk of chunk bytes receives.
func MaxFrame(chunk int) int { return chunk - 256 }
