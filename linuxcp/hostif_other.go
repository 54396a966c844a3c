//go:build !linux

package linuxcp

import "errors"

// HostIfs are the open host interfaces of one namespace (Linux only).
type HostIfs struct{}

// OpenHostIfs needs Linux's TAP devices.
func OpenHostIfs(ns string, hs []HostIf, send func(iface int, frame []byte) error) (*HostIfs, error) {
	return nil, errors.New("linux_cp host interfaces need Linux (TAP devices)")
}

func (h *HostIfs) Write(iface int, frame []byte) {}
func (h *HostIfs) SetUp(iface int, up bool)      {}
func (h *HostIfs) Stats() []HostIfStats          { return nil }
func (h *HostIfs) Close() error                  { return nil }
