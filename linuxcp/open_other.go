//go:build !linux

package linuxcp

import "errors"

// DefaultRcvBuf is the notification socket's receive buffer.
const DefaultRcvBuf = 256 << 20

// Open needs Linux's rtnetlink.
func Open(ns string, rcvbuf int) (Source, error) {
	return nil, errors.New("linux_cp: netlink needs Linux")
}
