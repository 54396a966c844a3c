package dp

import (
	"errors"
	"fmt"
	"io/fs"
)

// NiceError is the kernel's refusal of Options.Nice: the worker's thread
// keeps the nice value it had, Have (the process's: 0, or 5 under
// nice -n 5). Err is the system call's error (EPERM, EACCES: no
// CAP_SYS_NICE), or errors.ErrUnsupported off Linux (Have is 0 then).
type NiceError struct {
	Want, Have int
	Err        error
}

func (e *NiceError) Error() string {
	switch {
	case errors.Is(e.Err, errors.ErrUnsupported):
		return fmt.Sprintf("worker nice %d: a thread's nice value needs Linux", e.Want)
	case errors.Is(e.Err, fs.ErrPermission):
		return fmt.Sprintf("worker nice %d: %v: a nice value below the thread's own (%d) needs root (CAP_SYS_NICE) or a RLIMIT_NICE that allows it", e.Want, e.Err, e.Have)
	}
	return fmt.Sprintf("worker nice %d: %v (the thread stays at nice %d)", e.Want, e.Err, e.Have)
}

func (e *NiceError) Unwrap() error { return e.Err }
