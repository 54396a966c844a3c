package afpacket

import (
	"errors"
	"fmt"
	"unsafe"

	"golang.org/x/sys/unix"
)

// ifreq is struct ifreq: the interface name and a 24-byte union.
type ifreq struct {
	name [unix.IFNAMSIZ]byte
	data [24]byte
}

// ifreqPtr is struct ifreq with the union used as a pointer (ifr_data),
// as SIOCETHTOOL takes it. Keeping the field an unsafe.Pointer lets the
// garbage collector see the pointee for the duration of the call.
type ifreqPtr struct {
	name [unix.IFNAMSIZ]byte
	data unsafe.Pointer
	_    [16]byte
}

func newIfreq(dev string) (*ifreq, error) {
	if len(dev) == 0 || len(dev) >= unix.IFNAMSIZ {
		return nil, fmt.Errorf("afpacket: %q: bad interface name: use 1 to %d characters", dev, unix.IFNAMSIZ-1)
	}
	r := &ifreq{}
	copy(r.name[:], dev)
	return r, nil
}

func ioctl(fd int, req uintptr, arg unsafe.Pointer) error {
	_, _, e := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), req, uintptr(arg))
	if e != 0 {
		return e
	}
	return nil
}

// devInfo is what a port needs to know about its device.
type devInfo struct {
	index int
	flags uint32
	mtu   int
	mac   [6]byte
}

// lookup reads dev's index, flags, MTU and MAC with ioctls on fd (any
// socket of the netns dev lives in).
func lookup(fd int, dev string) (devInfo, error) {
	var d devInfo
	r, err := newIfreq(dev)
	if err != nil {
		return d, err
	}
	if err := ioctl(fd, unix.SIOCGIFINDEX, unsafe.Pointer(r)); err != nil {
		return d, err
	}
	d.index = int(*(*int32)(unsafe.Pointer(&r.data[0])))
	if err := ioctl(fd, unix.SIOCGIFFLAGS, unsafe.Pointer(r)); err != nil {
		return d, err
	}
	d.flags = uint32(*(*uint16)(unsafe.Pointer(&r.data[0])))
	if err := ioctl(fd, unix.SIOCGIFMTU, unsafe.Pointer(r)); err != nil {
		return d, err
	}
	d.mtu = int(*(*int32)(unsafe.Pointer(&r.data[0])))
	if err := ioctl(fd, unix.SIOCGIFHWADDR, unsafe.Pointer(r)); err != nil {
		return d, err
	}
	copy(d.mac[:], r.data[2:8]) // struct sockaddr: sa_family, then sa_data
	return d, nil
}

// devMTU reads dev's MTU with one ioctl on fd (a socket of dev's netns).
func devMTU(fd int, dev string) (int, error) {
	r, err := newIfreq(dev)
	if err != nil {
		return 0, err
	}
	if err := ioctl(fd, unix.SIOCGIFMTU, unsafe.Pointer(r)); err != nil {
		return 0, err
	}
	return int(*(*int32)(unsafe.Pointer(&r.data[0]))), nil
}

// linkUp reports whether dev has its carrier: ETHTOOL_GLINK (the driver's
// netif_carrier_ok, what `ip link` shows as LOWER_UP or NO-CARRIER, set
// at once when a veth peer goes down or up), or for a device without it
// the IFF_RUNNING flag (which follows the carrier through the kernel's
// link watch, up to a second later). An error means the device cannot be
// read (gone).
func linkUp(fd int, dev string) (bool, error) {
	v, err := ethtool(fd, dev, unix.ETHTOOL_GLINK, 0)
	if err == nil {
		return v != 0, nil
	}
	d, err := lookup(fd, dev)
	if err != nil {
		return false, err
	}
	return d.flags&unix.IFF_UP != 0 && d.flags&unix.IFF_RUNNING != 0, nil
}

// ethtool_value, the argument of the legacy single-feature commands.
type ethtoolValue struct {
	cmd  uint32
	data uint32
}

func ethtool(fd int, dev string, cmd, data uint32) (uint32, error) {
	v := &ethtoolValue{cmd: cmd, data: data}
	r := &ifreqPtr{data: unsafe.Pointer(v)}
	copy(r.name[:], dev)
	err := ioctl(fd, unix.SIOCETHTOOL, unsafe.Pointer(r))
	return v.data, err
}

const ethFlagLRO = 1 << 15 // ETH_FLAG_LRO in ETHTOOL_GFLAGS/SFLAGS

// Legacy ethtool "get" commands, for tests and checks.
const (
	ethtoolGTXCSUM = 0x16
	ethtoolGTSO    = 0x1e
	ethtoolGGSO    = 0x23
	ethtoolGGRO    = 0x2b
)

// setOffloads turns the given legacy ethtool features off on dev. A
// feature the device cannot change (EOPNOTSUPP) is skipped: it is then
// fixed off or the device does not have it.
func setOffloads(dev string, cmds []uint32, lro bool) error {
	if _, err := newIfreq(dev); err != nil {
		return err
	}
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return explain(dev, "socket for ethtool", err)
	}
	defer unix.Close(fd)
	for _, c := range cmds {
		if _, err := ethtool(fd, dev, c, 0); err != nil && !unsupported(err) {
			return explain(dev, "ethtool", err)
		}
	}
	if lro {
		flags, err := ethtool(fd, dev, unix.ETHTOOL_GFLAGS, 0)
		if err != nil {
			if unsupported(err) {
				return nil
			}
			return explain(dev, "ethtool get flags", err)
		}
		if flags&ethFlagLRO != 0 {
			if _, err := ethtool(fd, dev, unix.ETHTOOL_SFLAGS, flags&^ethFlagLRO); err != nil && !unsupported(err) {
				return explain(dev, "ethtool lro off", err)
			}
		}
	}
	return nil
}

func unsupported(err error) bool {
	return errors.Is(err, unix.EOPNOTSUPP) || errors.Is(err, unix.EINVAL)
}

// DisableOffloads turns off TSO, GSO, GRO, LRO, tx-checksumming and
// rx-checksumming on dev (the legacy ETHTOOL_S* commands; tx-checksumming
// off also takes scatter-gather and every TSO variant with it). A port
// does not need it: Recv splits super-packets and finishes partial
// checksums (doc.go, Offloads). Called on the peers of the veths a port
// is opened on (for veth they are made by the sending device), it keeps
// every frame MTU-sized with its checksums complete, for measuring
// without that work. It acts in the calling thread's network namespace.
func DisableOffloads(dev string) error {
	return setOffloads(dev, []uint32{
		unix.ETHTOOL_STSO, unix.ETHTOOL_SGSO, unix.ETHTOOL_SGRO,
		unix.ETHTOOL_STXCSUM, unix.ETHTOOL_SRXCSUM,
	}, true)
}

// explain wraps a syscall error with the device, what failed and what to
// do about it.
func explain(dev, what string, err error) error {
	var hint string
	switch {
	case errors.Is(err, unix.ENODEV), errors.Is(err, unix.ENXIO):
		hint = "no such interface: create it or fix the name"
	case errors.Is(err, unix.EPERM), errors.Is(err, unix.EACCES):
		hint = "operation not permitted: run as root (or with CAP_NET_RAW and CAP_NET_ADMIN)"
	case errors.Is(err, unix.ENETDOWN):
		hint = "interface is down: ip link set dev " + dev + " up"
	case errors.Is(err, unix.ENOMEM):
		hint = "out of memory for the ring: use smaller Options.BlockSize/BlockCount/TxFrames"
	case errors.Is(err, unix.EINVAL):
		hint = "invalid argument: check the ring options (BlockSize a multiple of the page size)"
	default:
		hint = err.Error()
	}
	return fmt.Errorf("afpacket: %s: %s: %s (%v)", dev, what, hint, err)
}
