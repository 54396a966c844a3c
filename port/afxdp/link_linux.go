package afxdp

import (
	"unsafe"

	"golang.org/x/sys/unix"
)

// LinkUp reports whether the device is up with its carrier: the driver's
// carrier (ETHTOOL_GLINK, which changes at once when a veth peer goes down
// or up), or for a device without it IFF_UP and IFF_RUNNING (IFF_RUNNING
// follows the carrier through the kernel's link watch, up to a second
// late, and reads false for a moment after an XDP program is attached to
// a veth). For the control plane's link watcher, not the data path.
func (p *Port) LinkUp() bool {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return false
	}
	defer unix.Close(fd)
	var name [unix.IFNAMSIZ]byte
	copy(name[:], p.dev)
	ifr, err := unix.NewIfreq(p.dev)
	if err != nil {
		return false
	}
	if err := unix.IoctlIfreq(fd, unix.SIOCGIFFLAGS, ifr); err != nil || ifr.Uint16()&unix.IFF_UP == 0 {
		return false // gone or administratively down
	}
	v := struct{ cmd, data uint32 }{cmd: unix.ETHTOOL_GLINK}
	r := struct {
		name [unix.IFNAMSIZ]byte
		data unsafe.Pointer
		_    [16]byte
	}{name: name, data: unsafe.Pointer(&v)}
	if _, _, e := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), unix.SIOCETHTOOL, uintptr(unsafe.Pointer(&r))); e == 0 {
		return v.data != 0
	}
	return ifr.Uint16()&unix.IFF_RUNNING != 0
}
