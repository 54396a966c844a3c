package bench

import (
	"context"
	"fmt"
	"net"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/softnet/softnet/internal/netns"
	"github.com/softnet/softnet/internal/pcapfilter"
	"github.com/softnet/softnet/lab"
)

// linuxTaps is the taps scenario's Linux anchor: kernel forwarding on the
// veth topology (host A ─ router ─ host B, trafgen's 64-byte flood on cpu
// 0, as the veth scenario's) with n ETH_P_ALL packet sockets bound to the
// router's ingress veth, each with TapsFilter attached (SO_ATTACH_FILTER,
// the same classic BPF softnet runs), which matches none of the flood:
// every frame runs through every socket's filter. It returns B's receive
// rate for each n. Needs root and the lab's tools.
func linuxTaps(ctx context.Context, d time.Duration, ns []int, logf func(string, ...any)) (mpps []float64, err error) {
	raw, err := pcapfilter.Compile(TapsFilter)
	if err != nil {
		return nil, err
	}
	filters := make([]unix.SockFilter, len(raw))
	for i, r := range raw {
		filters[i] = unix.SockFilter{Code: r.Op, Jt: r.Jt, Jf: r.Jf, K: r.K}
	}
	prog := unix.SockFprog{Len: uint16(len(filters)), Filter: unsafe.SliceData(filters)}
	t, err := freshLab(ctx)
	if err != nil {
		return nil, err
	}
	defer func() {
		if cerr := t.Close(); cerr != nil && err == nil {
			err = cerr
		}
	}()
	if err := t.KernelForwarding(ctx, true); err != nil {
		return nil, err
	}
	if p, err := lab.RunPing(ctx, t.A, lab.AddrB.Addr().String(), 3, 100*time.Millisecond); err != nil || p.Received == 0 {
		return nil, fmt.Errorf("taps: Linux does not forward between the namespaces (%v): %s", err, p.Output)
	}
	for _, n := range ns {
		var fds []int
		err := netns.Do(t.R, func() error {
			ifi, err := net.InterfaceByName(lab.DevRA)
			if err != nil {
				return err
			}
			for range n {
				fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, int(htons(unix.ETH_P_ALL)))
				if err != nil {
					return fmt.Errorf("packet socket %d of %d: %w", len(fds)+1, n, err)
				}
				fds = append(fds, fd)
				if err := unix.SetsockoptSockFprog(fd, unix.SOL_SOCKET, unix.SO_ATTACH_FILTER, &prog); err != nil {
					return fmt.Errorf("SO_ATTACH_FILTER: %w", err)
				}
				if err := unix.Bind(fd, &unix.SockaddrLinklayer{Protocol: htons(unix.ETH_P_ALL), Ifindex: ifi.Index}); err != nil {
					return err
				}
			}
			return nil
		})
		if err == nil {
			logf("taps: Linux forwarding with %d packet sockets on %s, trafgen on cpu 0, %v", n, lab.DevRA, d)
			var f lab.Flood
			f, err = t.RunFlood(ctx, d, 64, 0)
			mpps = append(mpps, f.Mpps)
		}
		for _, fd := range fds {
			unix.Close(fd)
		}
		if err != nil {
			return mpps, err
		}
	}
	return mpps, nil
}
