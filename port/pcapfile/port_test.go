package pcapfile

import "github.com/softnet/softnet/port"

var _ port.Port = (*Port)(nil)
