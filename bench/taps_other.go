//go:build !linux

package bench

import (
	"context"
	"errors"
	"time"
)

func linuxTaps(context.Context, time.Duration, []int, func(string, ...any)) ([]float64, error) {
	return nil, errors.New("the Linux anchor needs Linux")
}
