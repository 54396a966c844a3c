package lab

import (
	"context"
	"encoding/binary"
	"fmt"
	"net"
	"time"

	"golang.org/x/sys/unix"

	"github.com/softnet/softnet/internal/netns"
)

// ARPProbe is what ProbeARP saw.
type ARPProbe struct {
	Sent     int `json:"sent"`
	Answered int `json:"answered"` // replies from the router's address
}

// ProbeARP sends n ARP requests for the router's address on host A's link,
// one every interval, from a raw socket in host A's namespace (so they
// share the link with whatever else A sends, such as a flood), and counts
// the router's replies. It waits 200 ms after the last request for late
// replies.
func (t *Topology) ProbeARP(ctx context.Context, n int, interval time.Duration) (ARPProbe, error) {
	var p ARPProbe
	mac, err := net.ParseMAC(MACA)
	if err != nil {
		return p, err
	}
	fd, ifindex := -1, 0
	err = netns.Do(t.A, func() error {
		ifc, err := net.InterfaceByName(DevA)
		if err != nil {
			return err
		}
		ifindex = ifc.Index
		fd, err = unix.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, int(htons(unix.ETH_P_ARP)))
		if err != nil {
			return err
		}
		return unix.Bind(fd, &unix.SockaddrLinklayer{Protocol: htons(unix.ETH_P_ARP), Ifindex: ifindex})
	})
	if fd >= 0 {
		defer unix.Close(fd)
	}
	if err != nil {
		return p, fmt.Errorf("arp probe socket in %s: %w", t.A, err)
	}
	src, router := AddrA.Addr().As4(), AddrRA.Addr().As4()
	req := make([]byte, 42)
	for i := range 6 {
		req[i] = 0xff
	}
	copy(req[6:12], mac)
	binary.BigEndian.PutUint16(req[12:], unix.ETH_P_ARP)
	copy(req[14:], []byte{0, 1, 8, 0, 6, 4, 0, 1})
	copy(req[22:28], mac)
	copy(req[28:32], src[:])
	copy(req[38:42], router[:])
	to := &unix.SockaddrLinklayer{Ifindex: ifindex, Halen: 6, Addr: [8]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}}
	buf := make([]byte, 2048)
	drain := func(until time.Time) {
		for time.Now().Before(until) {
			m, _, err := unix.Recvfrom(fd, buf, 0)
			if err != nil {
				time.Sleep(time.Millisecond)
				continue
			}
			// An ARP reply (op 2) from the router's address to us.
			if m >= 42 && binary.BigEndian.Uint16(buf[20:]) == 2 && string(buf[28:32]) == string(router[:]) && string(buf[38:42]) == string(src[:]) {
				p.Answered++
			}
		}
	}
	next := time.Now()
	for i := 0; i < n && ctx.Err() == nil; i++ {
		if err := unix.Sendto(fd, req, 0, to); err == nil {
			p.Sent++
		}
		next = next.Add(interval)
		drain(next)
	}
	drain(time.Now().Add(200 * time.Millisecond))
	return p, ctx.Err()
}

func htons(v uint16) uint16 { return v<<8 | v>>8 }
