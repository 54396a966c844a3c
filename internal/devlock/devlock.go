// Package devlock keeps two softnet processes off one network device.
//
// Two routers reading and writing the same device through AF_PACKET (or
// attached to the same TAP device) both answer every frame: each ping
// gets a duplicate reply (DUP!), every ARP request two answers, and
// nothing says why. Acquire takes an exclusive flock(2) on a lock file
// named after the device's network namespace and name,
// /run/softnet/lock/<netns inode>-<device>, and holds it for the life of
// the port; the kernel releases it when the process dies, however it
// dies, so a crashed router never blocks the next one. A second process
// asking for the same device gets an error naming the device and the
// holder's pid (written in the file).
//
// A program that is not softnet can still hold the device through its own
// AF_PACKET socket; ForeignPacketSockets counts those, for a warning.
//
// The namespace is the calling thread's (/proc/thread-self/ns/net), the
// one the port's sockets are opened in. Hot path: no (once per port).
// Acquire and Release are safe from any goroutine; a Lock is released
// once, by its owner.
package devlock

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// Dir is where the lock files live. When it cannot be created (softnet
// running unprivileged, with only CAP_NET_RAW and CAP_NET_ADMIN) the locks
// go to a softnet-lock directory under os.TempDir instead.
var Dir = "/run/softnet/lock"

// Lock is a held device lock.
type Lock struct {
	f    *os.File
	path string
}

// ErrBusy is what Acquire's error is (errors.Is) when another process
// holds the device.
var ErrBusy = errors.New("device in use by another softnet")

type busyError string

func (e busyError) Error() string        { return string(e) }
func (e busyError) Is(target error) bool { return target == ErrBusy }

// Acquire locks device dev of the calling thread's network namespace for
// this process, or fails with an error wrapping ErrBusy that names the
// device and the process that holds it, and what to do.
func Acquire(dev string) (*Lock, error) {
	if dev == "" || strings.ContainsAny(dev, "/\x00") {
		return nil, fmt.Errorf("devlock: bad device name %q", dev)
	}
	ns := "0"
	var st unix.Stat_t
	if err := unix.Stat("/proc/thread-self/ns/net", &st); err == nil {
		ns = strconv.FormatUint(st.Ino, 10)
	} else if err := unix.Stat("/proc/self/ns/net", &st); err == nil {
		ns = strconv.FormatUint(st.Ino, 10)
	}
	dir := Dir
	if err := os.MkdirAll(dir, 0o755); err != nil {
		dir = filepath.Join(os.TempDir(), "softnet-lock")
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, fmt.Errorf("devlock: cannot create %s or %s: %v", Dir, dir, err)
		}
	}
	path := filepath.Join(dir, ns+"-"+dev)
	for range 10 {
		f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
		if err != nil {
			return nil, fmt.Errorf("devlock: %s: %v", path, err)
		}
		if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
			b, _ := os.ReadFile(path)
			f.Close()
			if !errors.Is(err, unix.EWOULDBLOCK) {
				return nil, fmt.Errorf("devlock: flock %s: %v", path, err)
			}
			pid := strings.TrimSpace(string(b))
			if pid == "" {
				pid = "unknown"
			}
			return nil, busyError(fmt.Sprintf("device %s (network namespace %s) is already used by another softnet process, pid %s (lock %s); "+
				"two routers on one device answer every packet twice (ping shows DUP!): stop that router first (kill %s), or give this one other devices",
				dev, ns, pid, path, pid))
		}
		// The holder before us may have removed the file between our
		// open and our flock: then we hold a lock on a name nobody sees.
		var fst, pst unix.Stat_t
		if unix.Fstat(int(f.Fd()), &fst) != nil || unix.Stat(path, &pst) != nil || fst.Ino != pst.Ino {
			f.Close()
			continue
		}
		_ = f.Truncate(0)
		_, _ = f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
		return &Lock{f: f, path: path}, nil
	}
	return nil, fmt.Errorf("devlock: %s keeps changing under us: another process is starting and stopping on device %s; try again", path, dev)
}

// Release removes the lock file and releases the lock. It is safe on a
// nil Lock and to call twice.
func (l *Lock) Release() error {
	if l == nil || l.f == nil {
		return nil
	}
	// Removed while still held, so nobody can take the old file's lock
	// and believe it owns the device (Acquire checks the name again).
	_ = os.Remove(l.path)
	err := l.f.Close()
	l.f = nil
	return err
}

// Path is the lock file.
func (l *Lock) Path() string { return l.path }

// ForeignPacketSockets counts the AF_PACKET sockets bound to interface
// ifindex of the calling thread's network namespace that this process
// does not own (/proc/thread-self/net/packet, less the sockets among
// /proc/self/fd): tcpdump, a DHCP client, or another router (a softnet
// older than these locks, another user-space stack) that would answer
// the same packets. It cannot tell which, so callers warn rather than
// refuse. Sockets bound to every interface (ifindex 0) are not counted.
func ForeignPacketSockets(ifindex int) (int, error) {
	b, err := os.ReadFile("/proc/thread-self/net/packet")
	if err != nil {
		if b, err = os.ReadFile("/proc/self/net/packet"); err != nil {
			return 0, err
		}
	}
	ours := map[string]bool{}
	if fds, err := os.ReadDir("/proc/self/fd"); err == nil {
		for _, fd := range fds {
			if l, err := os.Readlink(filepath.Join("/proc/self/fd", fd.Name())); err == nil && strings.HasPrefix(l, "socket:[") {
				ours[strings.TrimSuffix(strings.TrimPrefix(l, "socket:["), "]")] = true
			}
		}
	}
	n := 0
	lines := strings.Split(string(b), "\n")
	for _, line := range lines[1:] {
		// sk RefCnt Type Proto Iface R Rmem User Inode
		f := strings.Fields(line)
		if len(f) < 9 {
			continue
		}
		if ix, err := strconv.Atoi(f[4]); err != nil || ix != ifindex || ifindex == 0 {
			continue
		}
		if !ours[f[8]] {
			n++
		}
	}
	return n, nil
}
