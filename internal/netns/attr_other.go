//go:build !linux

package netns

import (
	"fmt"
	"syscall"
)

// procAttr puts the child in its own process group (there is no
// parent-death signal outside Linux; namespaces are Linux's anyway).
func procAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}

// Do fails outside Linux: there are no network namespaces to enter.
func Do(ns string, f func() error) error {
	return fmt.Errorf("netns: entering namespace %q needs Linux network namespaces", ns)
}
