package netns

import "syscall"

// procAttr puts the child in its own process group and has the kernel
// kill it if the caller dies.
func procAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
