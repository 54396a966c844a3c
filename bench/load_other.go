//go:build !linux

package bench

import "time"

type cpuTimes struct{}

func readCPUTimes() cpuTimes { return cpuTimes{} }

func otherLoad(a, b cpuTimes, elapsed time.Duration) (other, steal float64) { return 0, 0 }

func cpuSeconds(int) (float64, bool) { return 0, false }
